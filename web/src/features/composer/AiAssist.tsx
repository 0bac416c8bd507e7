import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useRef, useState, type FormEvent } from "react";
import { api, type Schemas } from "../../api/client";
import { errorMessage, unwrap } from "../../api/errors";
import { Button } from "../../components/Button";
import { SelectField, TextAreaField } from "../../components/Field";
import type { Network } from "../../lib/counters";
import { formatDateTime } from "../../lib/format";
import { PLATFORM_NAMES } from "../accounts/accountQueries";
import { streamGeneration, type StreamResult } from "./aiStream";

interface AiAssistProps {
  brandId: string;
  defaultNetwork: Network;
  /** True when the editor is empty: a finished draft then goes straight into it. */
  editorEmpty: boolean;
  /** The editor's text, for rewrites. */
  currentText: string;
  onUse(text: string, generationId: string | null, network: Network): void;
  onAddHashtag(tag: string): void;
}

type Variant = Schemas["VariantOut"];
type Generation = Schemas["GenerationOut"];

const NETWORK_LIST = ["x", "instagram", "linkedin"] as const;
const VARIANTS = 3;

/** How a rewrite should change the text: the API's free-text `tone`. */
const REWRITES = {
  shorter: { label: "Shorter", tone: "Much shorter and punchier; keep the key message and any link" },
  formal: { label: "More formal", tone: "Professional and formal" },
  casual: { label: "More casual", tone: "Casual, friendly and conversational" },
  playful: { label: "More playful", tone: "Playful and witty, with energy" },
  network: { label: "Same tone, adapted to the network", tone: null },
} as const;
type RewriteKind = keyof typeof REWRITES;

function useGenerations(brandId: string) {
  return useQuery({
    queryKey: ["ai-generations", brandId],
    queryFn: async () => (await unwrap(api.GET("/api/v1/ai/generations", { params: { query: { brandId, limit: 10 } } }))).data,
  });
}

/** Credits one draft costs on this plan, learnt from the brand's last charged generation (1 until then). */
export function creditsPerDraft(history: readonly Pick<Generation, "creditsCharged" | "variants">[] | undefined): number {
  const charged = history?.find((g) => g.creditsCharged > 0);
  return charged ? Math.max(1, Math.round(charged.creditsCharged / Math.max(1, charged.variants.length))) : 1;
}

function credits(n: number): string {
  return `${n} AI credit${n === 1 ? "" : "s"}`;
}

interface Answer {
  title: string;
  list: Variant[];
  generationId: string;
  network: Network;
}

export function AiAssist({ brandId, defaultNetwork, editorEmpty, currentText, onUse, onAddHashtag }: AiAssistProps) {
  const queryClient = useQueryClient();
  const [prompt, setPrompt] = useState("");
  const [network, setNetwork] = useState<Network>(defaultNetwork);
  const [rewriteKind, setRewriteKind] = useState<RewriteKind>("shorter");
  const [rewriteFor, setRewriteFor] = useState<Network>(defaultNetwork);
  const [streamed, setStreamed] = useState("");
  const [result, setResult] = useState<StreamResult | null>(null);
  const [answer, setAnswer] = useState<Answer | null>(null);
  // undefined: not known yet; null: unlimited (billing off).
  const [remaining, setRemaining] = useState<number | null | undefined>(undefined);
  const abort = useRef<AbortController | null>(null);
  const history = useGenerations(brandId);
  const perDraft = creditsPerDraft(history.data);

  const afterCall = (creditsRemaining: number | null | undefined) => {
    setRemaining(creditsRemaining);
    void queryClient.invalidateQueries({ queryKey: ["ai-generations", brandId] });
    void queryClient.invalidateQueries({ queryKey: ["subscription"] });
  };

  const generate = useMutation({
    mutationFn: async () => {
      abort.current?.abort();
      abort.current = new AbortController();
      setStreamed("");
      setResult(null);
      setAnswer(null);
      await streamGeneration(
        { brandId, prompt: prompt.trim(), platform: network, keepHashtags: true, variants: 1 },
        {
          onDelta: (text) => setStreamed((s) => s + text),
          onDone: (done) => {
            setResult(done);
            setStreamed(done.content);
            afterCall(done.creditsRemaining);
            if (editorEmpty) onUse(done.content, done.generationId, network);
          },
        },
        abort.current.signal,
      );
    },
  });

  const showAnswer = (title: string, res: Schemas["GenerationResult"], forNetwork: Network) => {
    setStreamed("");
    setResult(null);
    setAnswer({ title, list: res.variants.length ? res.variants : [{ content: res.content, hashtags: res.hashtags }], generationId: res.generationId, network: forNetwork });
    afterCall(res.creditsRemaining);
  };

  const moreVariants = useMutation({
    mutationFn: () => unwrap(api.POST("/api/v1/ai/generate-content", { body: { brandId, prompt: prompt.trim(), platform: network, variants: VARIANTS, keepHashtags: true } })),
    onSuccess: (res) => showAnswer("Variants", res, network),
  });

  const rewrite = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST("/api/v1/ai/rewrite", {
          body: { brandId, text: currentText, targetPlatform: rewriteFor, keepHashtags: true, variants: 1, tone: REWRITES[rewriteKind].tone },
        }),
      ),
    onSuccess: (res) => showAnswer(`${REWRITES[rewriteKind].label} · for ${PLATFORM_NAMES[rewriteFor]}`, res, rewriteFor),
  });

  const submit = (event: FormEvent) => {
    event.preventDefault();
    generate.mutate();
  };
  const busy = generate.isPending || moreVariants.isPending || rewrite.isPending;
  const failure = generate.error ?? moreVariants.error ?? rewrite.error;
  const past = (history.data ?? []).filter((g) => g.content.trim() !== "");
  return (
    <section className="card stack" aria-labelledby="ai-title">
      <div className="row" style={{ justifyContent: "space-between" }}>
        <h2 id="ai-title">AI assistant</h2>
        {remaining !== undefined && (
          <span className="small muted" data-testid="ai-credits">
            {remaining === null ? "Unlimited AI credits" : `${credits(remaining)} left this month`}
          </span>
        )}
      </div>
      <form className="form" onSubmit={submit} noValidate>
        <TextAreaField label="What should the post be about?" name="prompt" rows={3} value={prompt} onChange={(e) => setPrompt(e.target.value)} hint="Written in the brand’s tone of voice, for its audience." />
        <SelectField label="Write for" value={network} onChange={(e) => setNetwork(e.target.value as Network)}>
          {NETWORK_LIST.map((n) => (
            <option key={n} value={n}>
              {PLATFORM_NAMES[n]}
            </option>
          ))}
        </SelectField>
        <div className="form-actions">
          <Button type="submit" variant="primary" busy={generate.isPending} disabled={!prompt.trim() || busy} title={`Uses ${credits(perDraft)}`}>
            Generate
          </Button>
          <Button onClick={() => moreVariants.mutate()} busy={moreVariants.isPending} disabled={!prompt.trim() || busy} aria-describedby="ai-cost">
            {VARIANTS} variants
          </Button>
        </div>
        <p className="hint" id="ai-cost" style={{ margin: 0 }}>
          Generate uses {credits(perDraft)}; {VARIANTS} variants use {credits(VARIANTS * perDraft)}.
        </p>
      </form>

      <div className="stack" style={{ gap: 8, borderTop: "1px solid var(--border)", paddingTop: 12 }}>
        <h3 style={{ margin: 0 }}>Rewrite the current text</h3>
        <div className="row" style={{ alignItems: "flex-end" }}>
          <div style={{ flex: "1 1 150px" }}>
            <SelectField label="How" value={rewriteKind} onChange={(e) => setRewriteKind(e.target.value as RewriteKind)}>
              {(Object.keys(REWRITES) as RewriteKind[]).map((k) => (
                <option key={k} value={k}>
                  {REWRITES[k].label}
                </option>
              ))}
            </SelectField>
          </div>
          <div style={{ flex: "1 1 120px" }}>
            <SelectField label="For" value={rewriteFor} onChange={(e) => setRewriteFor(e.target.value as Network)}>
              {NETWORK_LIST.map((n) => (
                <option key={n} value={n}>
                  {PLATFORM_NAMES[n]}
                </option>
              ))}
            </SelectField>
          </div>
        </div>
        <div className="row">
          <Button onClick={() => rewrite.mutate()} busy={rewrite.isPending} disabled={!currentText.trim() || busy}>
            Rewrite
          </Button>
          <span className="small muted">{currentText.trim() ? `Uses ${credits(perDraft)}.` : "Write or generate some text first."}</span>
        </div>
      </div>

      {failure && (
        <div className="alert alert-error" role="alert">
          {errorMessage(failure)}
        </div>
      )}
      {(streamed || generate.isPending) && (
        <div className="preview" aria-live="polite" aria-busy={generate.isPending}>
          <p className="preview-text" data-testid="ai-draft">
            {streamed || <span className="muted">Writing…</span>}
          </p>
          {result && (
            <>
              {result.hashtags.length > 0 && (
                <div className="row" aria-label="Suggested hashtags">
                  {result.hashtags.map((tag) => (
                    <button key={tag} type="button" className="badge badge-plain badge-info" style={{ border: 0, cursor: "pointer" }} onClick={() => onAddHashtag(tag)} aria-label={`Add hashtag ${tag}`}>
                      {tag.startsWith("#") ? tag : `#${tag}`}
                    </button>
                  ))}
                </div>
              )}
              <div className="row" style={{ justifyContent: "flex-end" }}>
                <Button size="sm" onClick={() => onUse(result.content, result.generationId, network)}>
                  Use this text
                </Button>
              </div>
            </>
          )}
        </div>
      )}
      {answer && (
        <div className="stack" style={{ gap: 8 }}>
          <strong className="small">{answer.title}</strong>
          <ul className="stack" style={{ listStyle: "none", margin: 0, padding: 0, gap: 8 }} aria-label={answer.title.startsWith("Variants") ? "Variants" : "Rewrite"}>
            {answer.list.map((variant, index) => (
              <li key={index} className="preview" data-testid="ai-answer">
                <p className="preview-text">{variant.content}</p>
                <div>
                  <Button size="sm" onClick={() => onUse(variant.content, answer.generationId, answer.network)}>
                    {answer.list.length > 1 ? `Use variant ${index + 1}` : "Use this text"}
                  </Button>
                </div>
              </li>
            ))}
          </ul>
        </div>
      )}

      <details className="stack" data-testid="ai-history">
        <summary className="small" style={{ cursor: "pointer" }}>
          Earlier drafts for this brand{history.data ? ` (${past.length})` : ""}
        </summary>
        {history.isError && (
          <div className="alert alert-error row" role="alert" style={{ justifyContent: "space-between" }}>
            <span>{errorMessage(history.error)}</span>
            <Button size="sm" onClick={() => void history.refetch()}>
              Try again
            </Button>
          </div>
        )}
        {history.data && past.length === 0 && <p className="small muted">Nothing generated for this brand yet.</p>}
        <ul className="stack" style={{ listStyle: "none", margin: "8px 0 0", padding: 0, gap: 8 }} aria-label="Earlier drafts">
          {past.map((g) => (
            <li key={g.id} className="preview">
              <span className="small muted">
                {g.kind === "rewrite" ? "Rewrite" : "Draft"} for {(PLATFORM_NAMES as Record<string, string>)[g.platform] ?? g.platform} · {formatDateTime(g.createdAt)}
              </span>
              <p className="preview-text" style={{ margin: "4px 0" }}>
                {g.content}
              </p>
              <div>
                <Button size="sm" onClick={() => onUse(g.content, g.id, (NETWORK_LIST as readonly string[]).includes(g.platform) ? (g.platform as Network) : network)}>
                  Use again
                </Button>
              </div>
            </li>
          ))}
        </ul>
      </details>
    </section>
  );
}
