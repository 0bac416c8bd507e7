import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useEffect, useReducer, useRef, useState } from "react";
import { Link } from "react-router";
import { api } from "../../api/client";
import { useCapabilities } from "../../api/capabilities";
import { unwrap } from "../../api/errors";
import { FormError } from "../../components/FormError";
import { PageHeader } from "../../components/PageHeader";
import { EmptyState, LoadingRows, NotAvailableYet } from "../../components/States";
import { useToast } from "../../components/Toasts";
import { countFor, type Network } from "../../lib/counters";
import { formatDateTime } from "../../lib/format";
import { BrandPicker, useSelectedBrand } from "../brands/BrandPicker";
import type { Brand } from "../brands/brandQueries";
import { PLATFORM_NAMES, useSocialAccounts } from "../accounts/accountQueries";
import { AiAssist } from "./AiAssist";
import { ComposerEditor, type EditorTab } from "./ComposerEditor";
import { composerReducer, emptyComposer, isUploading, NETWORKS, overridesFor, textFor } from "./composerState";
import { MediaPicker } from "./MediaPicker";
import { PostPreview } from "./PostPreview";
import { SchedulePanel, type SubmitKind } from "./SchedulePanel";
import { useServerValidation } from "./useServerValidation";
import { useBestTimes } from "../analytics/analyticsQueries";
import { zonedParts } from "../../lib/calendar";

function NetworkChoice({ connected, selected, onToggle }: { connected: Network[]; selected: Network[]; onToggle(n: Network): void }) {
  return (
    <fieldset className="field" style={{ border: 0, padding: 0, margin: 0 }}>
      <legend className="label" style={{ fontWeight: 600, fontSize: "0.875rem", marginBottom: 4 }}>
        Publish to
      </legend>
      <div className="row">
        {NETWORKS.map((network) => {
          const available = connected.includes(network);
          return (
            <label key={network} className="checkbox" style={{ opacity: available ? 1 : 0.55 }}>
              <input type="checkbox" checked={selected.includes(network)} disabled={!available} onChange={() => onToggle(network)} />
              {PLATFORM_NAMES[network]}
              {!available && <span className="small muted">(not connected)</span>}
            </label>
          );
        })}
      </div>
    </fieldset>
  );
}

/** Up to three best-time slots as datetime-local values in the brand's zone. */
function useSuggestedTimes(brand: Brand, enabled: boolean) {
  const best = useBestTimes(brand.id, enabled);
  return (best.data?.suggestions ?? []).slice(0, 3).map((slot) => {
    const { day, time } = zonedParts(slot.nextAt, brand.timeZone);
    return { label: `${slot.weekdayName.slice(0, 3)} ${time.slice(0, 5)}`, value: `${day}T${time.slice(0, 5)}` };
  });
}

function Composer({ brand, canUseAi, canUpload, canSuggest }: { brand: Brand; canUseAi: boolean; canUpload: boolean; canSuggest: boolean }) {
  const [state, dispatch] = useReducer(composerReducer, emptyComposer);
  const [tab, setTab] = useState<EditorTab>("all");
  const accounts = useSocialAccounts(brand.id);
  const queryClient = useQueryClient();
  const toast = useToast();
  // One key per post being written: a double click or a retried request cannot create it twice.
  const idempotencyKey = useRef(crypto.randomUUID());

  const connected = NETWORKS.filter((n) => accounts.data?.some((a) => a.platform === n && a.status === "CONNECTED"));
  const connectedKey = connected.join(",");
  useEffect(() => {
    // Start with every connected network ticked; the user unticks what they do not want.
    dispatch({ type: "setNetworks", networks: connectedKey ? (connectedKey.split(",") as Network[]) : [] });
  }, [connectedKey, brand.id]);

  const validation = useServerValidation(brand.id, state, true);
  const suggestions = useSuggestedTimes(brand, canSuggest);
  const overLimit = state.networks.some((n) => countFor(n, textFor(state, n)).over);

  const create = useMutation({
    mutationFn: (kind: SubmitKind) =>
      unwrap(
        api.POST("/api/v1/posts", {
          params: { header: { "Idempotency-Key": idempotencyKey.current } },
          body: {
            brandId: brand.id,
            content: state.text,
            platforms: state.networks,
            mediaIds: state.media.map((m) => m.id),
            overrides: overridesFor(state),
            scheduledFor: kind === "now" ? "now" : kind === "schedule" ? state.scheduleLocal : null,
            timeZone: brand.timeZone,
            aiGenerationId: state.aiGenerationId,
          },
        }),
      ),
    onSuccess: async (post, kind) => {
      idempotencyKey.current = crypto.randomUUID();
      dispatch({ type: "reset", networks: state.networks });
      setTab("all");
      await queryClient.invalidateQueries({ queryKey: ["posts"] });
      if (kind === "draft") toast.show("Draft saved", "success");
      else if (kind === "now") toast.show("Publishing now…");
      else toast.show(`Scheduled for ${formatDateTime(post.scheduledFor ?? "", brand.timeZone)} (${brand.timeZone})`, "success");
    },
  });

  const uploading = isUploading(state);
  const blockedReason =
    connected.length === 0
      ? "Connect a social account for this brand to publish."
      : state.networks.length === 0
        ? "Pick at least one network."
        : overLimit
          ? "The text is over a network’s limit."
          : uploading
            ? "Waiting for uploads to finish."
            : null;

  return (
    <div className="composer-grid">
      <div className="stack-lg">
        <section className="card stack" aria-label="Post">
          {accounts.data && connected.length === 0 && (
            <div className="alert alert-info">
              No connected accounts for {brand.name} yet. <Link to="/accounts">Connect one</Link> to publish; you can still save drafts.
            </div>
          )}
          <NetworkChoice connected={connected} selected={state.networks} onToggle={(network) => dispatch({ type: "toggleNetwork", network })} />
          <FormError error={create.error} fields={[]} />
          <ComposerEditor state={state} dispatch={dispatch} tab={tab} onTab={setTab} serverIssues={validation.issues} />
          {canUpload ? <MediaPicker brandId={brand.id} media={state.media} dispatch={dispatch} /> : <p className="small muted">Media upload is not available on this server yet.</p>}
        </section>
        <SchedulePanel timeZone={brand.timeZone} value={state.scheduleLocal} onChange={(scheduleLocal) => dispatch({ type: "setSchedule", scheduleLocal })} onSubmit={(kind) => create.mutate(kind)} busy={create.isPending ? (create.variables ?? null) : null} canPublish={blockedReason === null} blockedReason={blockedReason} suggestions={suggestions} />
      </div>
      <div className="stack-lg">
        {canUseAi && (
          <AiAssist
            brandId={brand.id}
            defaultNetwork={state.networks[0] ?? "x"}
            editorEmpty={state.text.trim() === ""}
            onUse={(text, generationId, network) => dispatch({ type: "useAiText", text, generationId, network })}
            onAddHashtag={(tag) => dispatch({ type: "setText", text: `${state.text.trimEnd()} ${tag.startsWith("#") ? tag : `#${tag}`}` })}
          />
        )}
        <section className="card stack" aria-labelledby="preview-title">
          <h2 id="preview-title">Preview</h2>
          <PostPreview state={state} brandName={brand.name} />
        </section>
      </div>
    </div>
  );
}

export function ComposerPage() {
  const capabilities = useCapabilities();
  const { brand, isPending } = useSelectedBrand();
  const caps = capabilities.data;
  return (
    <div className="page" style={{ maxWidth: 1200 }}>
      <PageHeader title="Compose" description="Write once, tailor per network, schedule in the brand’s time zone." actions={<BrandPicker />} />
      {capabilities.isPending || isPending ? (
        <LoadingRows rows={2} height={240} label="Loading composer" />
      ) : !caps?.has("post", "/api/v1/posts") ? (
        <NotAvailableYet feature="Scheduling posts" />
      ) : !brand ? (
        <EmptyState icon="◆" title="Create a brand first" action={<Link className="btn btn-primary" to="/brands/new">Create a brand</Link>}>
          Posts are written for a brand: its voice, audience and time zone.
        </EmptyState>
      ) : (
        <Composer key={brand.id} brand={brand} canUseAi={caps.has("post", "/api/v1/ai/generate-content/stream")} canUpload={caps.has("post", "/api/v1/media")} canSuggest={caps.has("get", "/api/v1/analytics/brands/{brand_id}/best-times")} />
      )}
    </div>
  );
}
