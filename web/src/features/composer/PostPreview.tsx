import type { Network } from "../../lib/counters";
import { PLATFORM_NAMES } from "../accounts/accountQueries";
import { textFor, type ComposerState } from "./composerState";

/** Hashtags, mentions and links stand out the way the networks show them. */
function RichText({ text }: { text: string }) {
  const parts = text.split(/((?:https?:\/\/|www\.)\S+|[#@][\p{L}\p{N}_]+)/u);
  return (
    <p className="preview-text">
      {parts.map((part, i) => (i % 2 === 1 ? <span key={i} style={{ color: "var(--brand)" }}>{part}</span> : part))}
    </p>
  );
}

function NetworkPreview({ network, state, brandName }: { network: Network; state: ComposerState; brandName: string }) {
  const text = textFor(state, network);
  const thread = network === "x" ? state.xThread.filter((t) => t.trim()) : [];
  const handle = brandName.toLowerCase().replace(/[^a-z0-9]+/g, "");
  return (
    <article className="preview" aria-label={`${PLATFORM_NAMES[network]} preview`}>
      <header className="row" style={{ gap: 8 }}>
        <span className="logo-mark" aria-hidden="true" style={{ borderRadius: network === "linkedin" ? 6 : "50%" }}>
          {brandName.slice(0, 1).toUpperCase()}
        </span>
        <div>
          <strong>{brandName}</strong>
          <div className="small muted">{network === "linkedin" ? "Company page · now" : `@${handle || "brand"} · now`}</div>
        </div>
        <span className="badge badge-plain" style={{ marginLeft: "auto" }}>
          {PLATFORM_NAMES[network]}
        </span>
      </header>
      {network === "instagram" && state.media.length === 0 && <div className="alert alert-warning small">Instagram posts need an image or a video.</div>}
      {network === "instagram" && state.media[0] && <img src={state.media[0].previewUrl} alt="" style={{ width: "100%", borderRadius: 6 }} />}
      {text ? <RichText text={text} /> : <p className="muted">Your text appears here.</p>}
      {network !== "instagram" && state.media.length > 0 && (
        <div className="media-grid">
          {state.media.slice(0, 4).map((m) => (m.contentType.startsWith("video/") ? <video key={m.id} src={m.previewUrl} muted /> : <img key={m.id} src={m.previewUrl} alt="" />))}
        </div>
      )}
      {thread.map((part, i) => (
        <div key={i} style={{ borderLeft: "2px solid var(--border)", paddingLeft: 10 }}>
          <RichText text={part} />
        </div>
      ))}
    </article>
  );
}

export function PostPreview({ state, brandName }: { state: ComposerState; brandName: string }) {
  if (state.networks.length === 0) return <p className="muted">Pick a network to preview the post.</p>;
  return (
    <div className="stack" style={{ gap: 12 }}>
      {state.networks.map((network) => (
        <NetworkPreview key={network} network={network} state={state} brandName={brandName} />
      ))}
    </div>
  );
}
