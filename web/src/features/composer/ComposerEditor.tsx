import { useId, useRef, type Dispatch, type KeyboardEvent } from "react";
import { Button } from "../../components/Button";
import type { Network } from "../../lib/counters";
import { PLATFORM_NAMES } from "../accounts/accountQueries";
import { textFor, type ComposerAction, type ComposerState } from "./composerState";
import { NetworkCounter } from "./NetworkCounters";

export type EditorTab = "all" | Network;

interface ComposerEditorProps {
  state: ComposerState;
  dispatch: Dispatch<ComposerAction>;
  tab: EditorTab;
  onTab(tab: EditorTab): void;
  /** Server answers from POST /posts/validate, per network. */
  serverIssues: Partial<Record<Network, string[]>>;
  /** Why the last save was refused, for the text or the thread, in plain words. */
  textError?: string | undefined;
  threadError?: string | undefined;
}

function tabLabel(tab: EditorTab): string {
  return tab === "all" ? "All networks" : PLATFORM_NAMES[tab];
}

/** Tabs per the WAI-ARIA pattern: arrow keys move between them, only the active one is in tab order. */
function Tabs({ tabs, active, onTab, idBase }: { tabs: EditorTab[]; active: EditorTab; onTab(tab: EditorTab): void; idBase: string }) {
  const refs = useRef<Array<HTMLButtonElement | null>>([]);
  const onKeyDown = (event: KeyboardEvent, index: number) => {
    const delta = event.key === "ArrowRight" ? 1 : event.key === "ArrowLeft" ? -1 : 0;
    if (!delta) return;
    event.preventDefault();
    const next = (index + delta + tabs.length) % tabs.length;
    onTab(tabs[next]!);
    refs.current[next]?.focus();
  };
  return (
    <div className="tabs" role="tablist" aria-label="Text per network">
      {tabs.map((tab, index) => (
        <button
          key={tab}
          ref={(el) => {
            refs.current[index] = el;
          }}
          type="button"
          role="tab"
          className="tab"
          id={`${idBase}-tab-${tab}`}
          aria-selected={tab === active}
          aria-controls={`${idBase}-panel`}
          tabIndex={tab === active ? 0 : -1}
          onClick={() => onTab(tab)}
          onKeyDown={(e) => onKeyDown(e, index)}
        >
          {tabLabel(tab)}
        </button>
      ))}
    </div>
  );
}

function ThreadEditor({ thread, dispatch }: { thread: string[]; dispatch: Dispatch<ComposerAction> }) {
  const set = (index: number, value: string) => dispatch({ type: "setThread", thread: thread.map((t, i) => (i === index ? value : t)) });
  return (
    <div className="stack" style={{ gap: 8 }}>
      {thread.map((part, index) => (
        <div key={index} className="field">
          <label htmlFor={`thread-${index}`}>Thread post {index + 2}</label>
          <textarea id={`thread-${index}`} className="textarea" value={part} onChange={(e) => set(index, e.target.value)} />
          <div className="row" style={{ justifyContent: "space-between" }}>
            <NetworkCounter network="x" text={part} />
            <Button size="sm" variant="ghost" onClick={() => dispatch({ type: "setThread", thread: thread.filter((_, i) => i !== index) })}>
              Remove
            </Button>
          </div>
        </div>
      ))}
      <div>
        <Button size="sm" onClick={() => dispatch({ type: "setThread", thread: [...thread, ""] })} disabled={thread.length >= 24}>
          + Add to thread
        </Button>
      </div>
    </div>
  );
}

export function ComposerEditor({ state, dispatch, tab, onTab, serverIssues, textError, threadError }: ComposerEditorProps) {
  const idBase = useId();
  const tabs: EditorTab[] = ["all", ...state.networks];
  const active = tabs.includes(tab) ? tab : "all";
  const network = active === "all" ? null : active;
  const customised = network ? state.custom[network] !== undefined : false;
  return (
    <div className="stack" style={{ gap: 12 }}>
      <Tabs tabs={tabs} active={active} onTab={onTab} idBase={idBase} />
      <div id={`${idBase}-panel`} role="tabpanel" aria-labelledby={`${idBase}-tab-${active}`} className="stack" style={{ gap: 12 }}>
        {network === null ? (
          <>
            <div className="field">
              <label htmlFor={`${idBase}-text`}>Post text</label>
              <textarea
                id={`${idBase}-text`}
                className="textarea"
                rows={7}
                value={state.text}
                placeholder="What do you want to share?"
                aria-invalid={textError ? true : undefined}
                aria-describedby={textError ? `${idBase}-text-error` : undefined}
                onChange={(e) => dispatch({ type: "setText", text: e.target.value })}
              />
              {textError && (
                <p className="field-error" id={`${idBase}-text-error`}>
                  {textError}
                </p>
              )}
            </div>
            {state.networks.length === 0 && <p className="small muted">Pick at least one network below to see its limits.</p>}
            {state.networks.map((n) => (
              <div key={n} className="row" style={{ justifyContent: "space-between" }}>
                <strong className="small">{PLATFORM_NAMES[n]}</strong>
                <NetworkCounter network={n} text={textFor(state, n)} />
              </div>
            ))}
          </>
        ) : (
          <>
            <label className="checkbox">
              <input type="checkbox" checked={customised} onChange={(e) => dispatch({ type: "setCustom", network, text: e.target.checked ? state.text : null })} />
              Write different text for {PLATFORM_NAMES[network]}
            </label>
            <div className="field">
              <label htmlFor={`${idBase}-custom`}>Text for {PLATFORM_NAMES[network]}</label>
              <textarea id={`${idBase}-custom`} className="textarea" rows={7} value={textFor(state, network)} readOnly={!customised} aria-describedby={`${idBase}-custom-hint`} onChange={(e) => dispatch({ type: "setCustom", network, text: e.target.value })} />
              <p className="hint" id={`${idBase}-custom-hint`}>
                {customised ? "Only this network gets this text." : "Same as “All networks”. Tick the box above to change it for this network only."}
              </p>
            </div>
            <NetworkCounter network={network} text={textFor(state, network)} />
            {textError && <p className="field-error">{textError}</p>}
            {network === "x" && (
              <>
                <h3>Thread</h3>
                <ThreadEditor thread={state.xThread} dispatch={dispatch} />
                {threadError && <p className="field-error">{threadError}</p>}
              </>
            )}
          </>
        )}
        {Object.entries(serverIssues).map(([n, issues]) =>
          issues.length > 0 ? (
            <div key={n} className="alert alert-warning" role="status">
              <strong>{PLATFORM_NAMES[n as Network]}:</strong> {issues.join(" ")}
            </div>
          ) : null,
        )}
      </div>
    </div>
  );
}
