import { useMutation, useQueries, useQueryClient } from "@tanstack/react-query";
import { useEffect, useMemo, useReducer, useRef, useState } from "react";
import { Link, useSearchParams } from "react-router";
import { api } from "../../api/client";
import { useCapabilities } from "../../api/capabilities";
import { NetworkError, unwrap } from "../../api/errors";
import { Button } from "../../components/Button";
import { PageHeader } from "../../components/PageHeader";
import { EmptyState, ErrorState, LoadingRows, NotAvailableYet } from "../../components/States";
import { useToast } from "../../components/Toasts";
import { countFor, type Network } from "../../lib/counters";
import { formatDateTime } from "../../lib/format";
import { BrandPicker, useSelectedBrand } from "../brands/BrandPicker";
import type { Brand } from "../brands/brandQueries";
import { PLATFORM_NAMES, useSocialAccounts } from "../accounts/accountQueries";
import { postKey, type Post } from "../posts/postQueries";
import { AiAssist } from "./AiAssist";
import { debouncer, discardDraft, draftKey, loadDraft, sameContent, saveDraft } from "./autosave";
import { ComposerEditor, type EditorTab } from "./ComposerEditor";
import { composerReducer, emptyComposer, isUploading, localInputValue, NETWORKS, overridesFor, stateFromPost, textFor, type ComposerState, type UploadedMedia } from "./composerState";
import { LeaveGuard } from "./LeaveGuard";
import { MediaPicker } from "./MediaPicker";
import { composerErrors } from "./postErrors";
import { PostPreview } from "./PostPreview";
import { SchedulePanel, type SubmitKind } from "./SchedulePanel";
import { useServerValidation } from "./useServerValidation";
import { useBestTimes } from "../analytics/analyticsQueries";
import { zonedParts } from "../../lib/calendar";

const AUTOSAVE_MS = 800;

function NetworkChoice({ connected, selected, onToggle, error }: { connected: Network[]; selected: Network[]; onToggle(n: Network): void; error?: string | undefined }) {
  return (
    <fieldset className="field" style={{ border: 0, padding: 0, margin: 0 }} aria-describedby={error ? "networks-error" : undefined} aria-invalid={error ? true : undefined}>
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
      {error && (
        <p className="field-error" id="networks-error">
          {error}
        </p>
      )}
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

/** A stored post's media, for previews: the post only holds their ids. */
function useMediaPreviews(media: UploadedMedia[], dispatch: (action: { type: "hydrateMedia"; media: UploadedMedia[] }) => void) {
  const missing = media.filter((m) => m.previewUrl === "").map((m) => m.id);
  const results = useQueries({
    queries: missing.map((id) => ({
      queryKey: ["media", id],
      queryFn: () => unwrap(api.GET("/api/v1/media/{media_id}", { params: { path: { media_id: id } } })),
      staleTime: Infinity,
    })),
  });
  const loaded = results.flatMap((r) => (r.data ? [{ id: r.data.id, kind: r.data.kind, contentType: r.data.contentType, previewUrl: r.data.url, filename: r.data.filename ?? "", serverUrl: r.data.url }] : []));
  const loadedKey = loaded.map((m) => m.id).join(",");
  useEffect(() => {
    if (loaded.length) dispatch({ type: "hydrateMedia", media: loaded });
    // eslint-disable-next-line react-hooks/exhaustive-deps -- the ids say everything
  }, [loadedKey]);
}

/** The accounts a post goes to: the ones it already has per network; for a newly ticked network,
 * its connected accounts (as POST /posts does with `platforms`). */
function accountIdsFor(networks: Network[], accounts: Array<{ id: string; platform: string; status: string }>, post: Post | undefined): string[] {
  return networks.flatMap((network) => {
    const kept = post?.targets.filter((t) => t.platform === network).map((t) => t.socialAccountId) ?? [];
    if (kept.length) return kept;
    return accounts.filter((a) => a.platform === network && a.status === "CONNECTED").map((a) => a.id);
  });
}

function sameState(a: ComposerState, b: ComposerState, withNetworks: boolean): boolean {
  return sameContent(a, b) && (!withNetworks || a.networks.join() === b.networks.join());
}

export interface ComposerProps {
  brand: Brand;
  canUseAi: boolean;
  canUpload: boolean;
  canSuggest: boolean;
  /** Edit this stored post (draft or scheduled) instead of writing a new one. */
  post?: Post | undefined;
  onSaved?(post: Post): void;
}

export function Composer({ brand, canUseAi, canUpload, canSuggest, post, onSaved }: ComposerProps) {
  const zone = post?.timeZone ?? brand.timeZone;
  const storageKey = draftKey(brand.id, post?.id);
  // What is saved in T21: the empty composer, or the stored post.
  // A calendar slot opens a new post at its time: /compose?at=<ISO instant> (features/calendar).
  const [params] = useSearchParams();
  const at = post ? null : params.get("at");
  const initial = useMemo(() => (post ? stateFromPost(post, zone) : at && !Number.isNaN(Date.parse(at)) ? { ...emptyComposer, scheduleLocal: localInputValue(at, zone) } : emptyComposer), [post?.id, at]); // eslint-disable-line react-hooks/exhaustive-deps
  const [restored, setRestored] = useState(() => {
    const saved = loadDraft(storageKey);
    return saved && !sameContent(saved.state, initial) ? saved : null;
  });
  // A restored copy keeps its text; a time asked for in the address (a calendar slot) wins.
  const [state, dispatch] = useReducer(composerReducer, undefined, () =>
    restored ? { ...restored.state, scheduleLocal: initial.scheduleLocal || restored.state.scheduleLocal } : initial,
  );
  const baseline = useRef<ComposerState>(initial);
  const [tab, setTab] = useState<EditorTab>("all");
  const accounts = useSocialAccounts(brand.id);
  const queryClient = useQueryClient();
  const toast = useToast();
  // One key per post being written: a double click or a retried request cannot create it twice.
  const idempotencyKey = useRef(crypto.randomUUID());
  const [waitingForNetwork, setWaitingForNetwork] = useState<SubmitKind | null>(null);
  const [localScheduleError, setLocalScheduleError] = useState<string | null>(null);

  const connected = NETWORKS.filter((n) => accounts.data?.some((a) => a.platform === n && a.status === "CONNECTED"));
  const connectedKey = connected.join(",");
  useEffect(() => {
    // A new post starts with every connected network ticked; a stored or restored one keeps its own.
    if (post || restored) return;
    dispatch({ type: "setNetworks", networks: connectedKey ? (connectedKey.split(",") as Network[]) : [] });
    // eslint-disable-next-line react-hooks/exhaustive-deps -- only when the connected set changes
  }, [connectedKey, brand.id]);

  useMediaPreviews(state.media, dispatch);

  const dirty = !sameState(state, baseline.current, Boolean(post));

  // The local copy: a moment after each change, and at once when the page is hidden or left.
  const latest = useRef({ state, dirty });
  latest.current = { state, dirty };
  const autosave = useMemo(
    () =>
      debouncer(() => {
        if (latest.current.dirty) saveDraft(storageKey, latest.current.state);
        else discardDraft(storageKey);
      }, AUTOSAVE_MS),
    [storageKey],
  );
  useEffect(() => {
    autosave.schedule();
  }, [state, autosave]);
  useEffect(() => {
    const flush = () => autosave.flush();
    window.addEventListener("pagehide", flush);
    return () => {
      window.removeEventListener("pagehide", flush);
      autosave.flush();
    };
  }, [autosave]);

  const validation = useServerValidation(brand.id, state, true);
  const suggestions = useSuggestedTimes(brand, canSuggest);
  const overLimit = state.networks.some((n) => countFor(n, textFor(state, n)).over);

  const save = useMutation({
    mutationFn: async (kind: SubmitKind) => {
      if (typeof navigator !== "undefined" && navigator.onLine === false) throw new NetworkError(new TypeError("offline"));
      const scheduledFor = kind === "now" ? "now" : kind === "schedule" ? state.scheduleLocal : null;
      if (!post) {
        return unwrap(
          api.POST("/api/v1/posts", {
            params: { header: { "Idempotency-Key": idempotencyKey.current } },
            body: {
              brandId: brand.id,
              content: state.text,
              platforms: state.networks,
              mediaIds: state.media.filter((m) => !m.id.startsWith("local-")).map((m) => m.id),
              overrides: overridesFor(state),
              scheduledFor,
              timeZone: zone,
              aiGenerationId: state.aiGenerationId,
            },
          }),
        );
      }
      return unwrap(
        api.PATCH("/api/v1/posts/{post_id}", {
          params: { path: { post_id: post.id } },
          body: {
            content: state.text,
            overrides: overridesFor(state),
            // The thread lives in X's override (overridesFor); none left at the top level.
            thread: [],
            mediaIds: state.media.filter((m) => !m.id.startsWith("local-")).map((m) => m.id),
            socialAccountIds: accountIdsFor(state.networks, accounts.data ?? [], post),
            timeZone: zone,
            unschedule: kind === "draft",
            ...(kind === "draft" ? {} : { scheduledFor }),
          },
        }),
      );
    },
    onMutate: (kind) => {
      setWaitingForNetwork(null);
      if (kind === "now" && navigator.onLine !== false) toast.show("Publishing now…");
    },
    onSuccess: async (saved, kind) => {
      discardDraft(storageKey);
      setRestored(null);
      if (post) {
        baseline.current = state;
      } else {
        idempotencyKey.current = crypto.randomUUID();
        const fresh = { ...emptyComposer, networks: state.networks };
        baseline.current = fresh;
        dispatch({ type: "reset", networks: state.networks });
        setTab("all");
      }
      // The answer first, then a refetch: a live event may already have moved the post on
      // (published within a second of "Publish now"), and the answer must not overwrite that.
      if (post) queryClient.setQueryData(postKey(post.id), saved);
      await queryClient.invalidateQueries({ queryKey: ["posts"] });
      // "now" was told on the click (onMutate): the outcome's live toast can beat this answer.
      if (kind === "draft") toast.show(post && post.status !== "DRAFT" ? "Moved to drafts" : "Draft saved", "success");
      else if (kind === "schedule") toast.show(`${post?.status === "SCHEDULED" ? "Rescheduled" : "Scheduled"} for ${formatDateTime(saved.scheduledFor ?? "", zone)} (${zone})`, "success");
      onSaved?.(saved);
    },
    onError: (error, kind) => {
      if (error instanceof NetworkError) setWaitingForNetwork(kind);
    },
  });

  // Saved while offline: try again as soon as the browser is back online.
  const mutate = save.mutate;
  useEffect(() => {
    if (!waitingForNetwork) return;
    // Back online, or the server answers again: try every 15 s too, as "online" may never fire.
    const retry = () => mutate(waitingForNetwork);
    window.addEventListener("online", retry);
    const timer = setInterval(retry, 15_000);
    return () => {
      window.removeEventListener("online", retry);
      clearInterval(timer);
    };
  }, [waitingForNetwork, mutate]);

  const submit = (kind: SubmitKind) => {
    setLocalScheduleError(null);
    if (kind === "schedule" && state.scheduleLocal && state.scheduleLocal < localInputValue(new Date().toISOString(), zone)) {
      setLocalScheduleError("That time has already passed. Pick a time in the future, or publish now.");
      return;
    }
    save.mutate(kind);
  };

  // Offline, TanStack Query holds the save (isPaused) and sends it when the connection is back.
  const offline = save.isPaused || waitingForNetwork !== null;
  const errors = offline ? composerErrors(new NetworkError(null), zone) : save.isError ? composerErrors(save.error, zone) : {};
  const scheduleError = localScheduleError ?? errors.schedule;

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
      <LeaveGuard when={dirty && !save.isPending} />
      <div className="stack-lg">
        {restored && (
          <div className="alert alert-info row" role="status" style={{ justifyContent: "space-between" }} data-testid="restored-draft">
            <span>
              Restored your unsaved draft from {formatDateTime(new Date(restored.savedAt).toISOString())}.
            </span>
            <Button
              size="sm"
              onClick={() => {
                discardDraft(storageKey);
                setRestored(null);
                const back = post ? initial : { ...emptyComposer, networks: connected };
                baseline.current = back;
                dispatch({ type: "replaceAll", state: back });
              }}
            >
              Discard
            </Button>
          </div>
        )}
        <section className="card stack" aria-label="Post">
          {accounts.data && connected.length === 0 && (
            <div className="alert alert-info">
              No connected accounts for {brand.name} yet. <Link to="/accounts">Connect one</Link> to publish; you can still save drafts.
            </div>
          )}
          {errors.form && (
            <div className={`alert ${offline ? "alert-warning" : "alert-error"}`} role="alert" data-testid="composer-error">
              {errors.form}
              {offline && <span className="small"> Waiting for the connection…</span>}
            </div>
          )}
          <NetworkChoice connected={connected} selected={state.networks} onToggle={(network) => dispatch({ type: "toggleNetwork", network })} error={errors.networks} />
          <ComposerEditor state={state} dispatch={dispatch} tab={tab} onTab={setTab} serverIssues={validation.issues} textError={errors.text} threadError={errors.thread} />
          {canUpload ? <MediaPicker brandId={brand.id} media={state.media} dispatch={dispatch} /> : <p className="small muted">Media upload is not available on this server yet.</p>}
          {errors.media && (
            <p className="field-error" role="alert">
              {errors.media}
            </p>
          )}
        </section>
        <SchedulePanel
          timeZone={zone}
          value={state.scheduleLocal}
          onChange={(scheduleLocal) => {
            setLocalScheduleError(null);
            dispatch({ type: "setSchedule", scheduleLocal });
          }}
          onSubmit={submit}
          busy={save.isPending ? (save.variables ?? null) : null}
          canPublish={blockedReason === null}
          blockedReason={blockedReason}
          suggestions={suggestions}
          error={scheduleError}
          mode={!post ? "new" : post.status === "DRAFT" ? "draft" : "scheduled"}
        />
      </div>
      <div className="stack-lg">
        {canUseAi && (
          <AiAssist
            brandId={brand.id}
            defaultNetwork={state.networks[0] ?? "x"}
            editorEmpty={state.text.trim() === ""}
            currentText={state.text}
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
  const { brand, isPending, error, retry } = useSelectedBrand();
  const caps = capabilities.data;
  return (
    <div className="page" style={{ maxWidth: 1200 }}>
      <PageHeader title="Compose" description="Write once, tailor per network, schedule in the brand’s time zone." actions={<BrandPicker />} />
      {capabilities.isPending || isPending ? (
        <LoadingRows rows={2} height={240} label="Loading composer" />
      ) : capabilities.isError || error ? (
        <ErrorState error={capabilities.error ?? error} onRetry={() => (capabilities.isError ? void capabilities.refetch() : retry())} />
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
