import { useMutation } from "@tanstack/react-query";
import { useRef, useState, type FormEvent } from "react";
import { api, type Schemas } from "../../api/client";
import { errorMessage, unwrap } from "../../api/errors";
import { Button } from "../../components/Button";
import { SelectField, TextAreaField } from "../../components/Field";
import type { Network } from "../../lib/counters";
import { PLATFORM_NAMES } from "../accounts/accountQueries";
import { streamGeneration, type StreamResult } from "./aiStream";

interface AiAssistProps {
  brandId: string;
  defaultNetwork: Network;
  /** True when the editor is empty: a finished draft then goes straight into it. */
  editorEmpty: boolean;
  onUse(text: string, generationId: string | null, network: Network): void;
  onAddHashtag(tag: string): void;
}

type Variant = Schemas["VariantOut"];

export function AiAssist({ brandId, defaultNetwork, editorEmpty, onUse, onAddHashtag }: AiAssistProps) {
  const [prompt, setPrompt] = useState("");
  const [network, setNetwork] = useState<Network>(defaultNetwork);
  const [streamed, setStreamed] = useState("");
  const [result, setResult] = useState<StreamResult | null>(null);
  const [variants, setVariants] = useState<{ list: Variant[]; generationId: string } | null>(null);
  const abort = useRef<AbortController | null>(null);

  const generate = useMutation({
    mutationFn: async () => {
      abort.current?.abort();
      abort.current = new AbortController();
      setStreamed("");
      setResult(null);
      setVariants(null);
      await streamGeneration(
        { brandId, prompt: prompt.trim(), platform: network, keepHashtags: true, variants: 1 },
        {
          onDelta: (text) => setStreamed((s) => s + text),
          onDone: (done) => {
            setResult(done);
            setStreamed(done.content);
            if (editorEmpty) onUse(done.content, done.generationId, network);
          },
        },
        abort.current.signal,
      );
    },
  });

  const moreVariants = useMutation({
    mutationFn: () => unwrap(api.POST("/api/v1/ai/generate-content", { body: { brandId, prompt: prompt.trim(), platform: network, variants: 3, keepHashtags: true } })),
    onSuccess: (res) => setVariants({ list: res.variants.length ? res.variants : [{ content: res.content, hashtags: res.hashtags }], generationId: res.generationId }),
  });

  const submit = (event: FormEvent) => {
    event.preventDefault();
    generate.mutate();
  };
  const busy = generate.isPending || moreVariants.isPending;
  return (
    <section className="card stack" aria-labelledby="ai-title">
      <h2 id="ai-title">AI assistant</h2>
      <form className="form" onSubmit={submit} noValidate>
        <TextAreaField label="What should the post be about?" name="prompt" rows={3} value={prompt} onChange={(e) => setPrompt(e.target.value)} hint="Written in the brand’s tone of voice, for its audience." />
        <SelectField label="Write for" value={network} onChange={(e) => setNetwork(e.target.value as Network)}>
          {(["x", "instagram", "linkedin"] as const).map((n) => (
            <option key={n} value={n}>
              {PLATFORM_NAMES[n]}
            </option>
          ))}
        </SelectField>
        <div className="form-actions">
          <Button type="submit" variant="primary" busy={generate.isPending} disabled={!prompt.trim() || busy}>
            Generate
          </Button>
          <Button onClick={() => moreVariants.mutate()} busy={moreVariants.isPending} disabled={!prompt.trim() || busy}>
            3 variants
          </Button>
        </div>
      </form>
      {(generate.isError || moreVariants.isError) && (
        <div className="alert alert-error" role="alert">
          {errorMessage(generate.error ?? moreVariants.error)}
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
              <div className="row" style={{ justifyContent: "space-between" }}>
                <span className="small muted">{result.creditsRemaining} AI credits left this month</span>
                <Button size="sm" onClick={() => onUse(result.content, result.generationId, network)}>
                  Use this text
                </Button>
              </div>
            </>
          )}
        </div>
      )}
      {variants && (
        <ul className="stack" style={{ listStyle: "none", margin: 0, padding: 0, gap: 8 }} aria-label="Variants">
          {variants.list.map((variant, index) => (
            <li key={index} className="preview">
              <p className="preview-text">{variant.content}</p>
              <div>
                <Button size="sm" onClick={() => onUse(variant.content, variants.generationId, network)}>
                  Use variant {index + 1}
                </Button>
              </div>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
