import type { ComposerState } from "./composerState";

/**
 * The composer's local copy: one per brand (and per post being edited), in localStorage, so a
 * reload, a crash or a lost connection does not lose what was written. Only what the user typed
 * is kept; uploads still in flight (local- ids, object URLs) are not.
 */
export interface SavedDraft {
  version: 1;
  savedAt: number;
  state: ComposerState;
}

const PREFIX = "t21.composer.";
/** A week: older copies are more confusing than useful. */
export const MAX_AGE_MS = 7 * 24 * 3600_000;

export function draftKey(brandId: string, postId?: string | null): string {
  return `${PREFIX}${brandId}${postId ? `.${postId}` : ""}`;
}

/** Nothing typed yet: not worth keeping (networks alone are the defaults). */
export function isBlank(state: ComposerState): boolean {
  return (
    state.text.trim() === "" &&
    Object.values(state.custom).every((t) => !t || t.trim() === "") &&
    state.xThread.every((t) => t.trim() === "") &&
    state.media.every((m) => m.id.startsWith("local-")) &&
    state.scheduleLocal === ""
  );
}

/** The state as it may be stored: finished uploads only, shown from their server URLs (a blob:
 * URL dies with the page). */
function storable(state: ComposerState): ComposerState {
  const media = state.media
    .filter((m) => !m.id.startsWith("local-"))
    .map((m) => (m.previewUrl.startsWith("blob:") ? { ...m, previewUrl: m.serverUrl ?? "" } : m))
    .filter((m) => m.previewUrl !== "");
  return { ...state, media };
}

export function saveDraft(key: string, state: ComposerState, storage: Storage = localStorage, now = Date.now()): void {
  try {
    if (isBlank(state)) storage.removeItem(key);
    else storage.setItem(key, JSON.stringify({ version: 1, savedAt: now, state: storable(state) } satisfies SavedDraft));
  } catch {
    // Full or disabled storage: the draft still lives in memory; nothing to tell the user here.
  }
}

export function loadDraft(key: string, storage: Storage = localStorage, now = Date.now()): SavedDraft | null {
  let raw: string | null;
  try {
    raw = storage.getItem(key);
  } catch {
    return null;
  }
  if (!raw) return null;
  try {
    const saved = JSON.parse(raw) as Partial<SavedDraft>;
    const state = saved.state;
    if (saved.version !== 1 || typeof saved.savedAt !== "number" || !state || typeof state.text !== "string" || now - saved.savedAt > MAX_AGE_MS) {
      storage.removeItem(key);
      return null;
    }
    const restored: ComposerState = {
      text: state.text,
      custom: state.custom ?? {},
      xThread: Array.isArray(state.xThread) ? state.xThread : [],
      networks: Array.isArray(state.networks) ? state.networks : [],
      media: Array.isArray(state.media) ? state.media : [],
      aiGenerationId: state.aiGenerationId ?? null,
      scheduleLocal: typeof state.scheduleLocal === "string" ? state.scheduleLocal : "",
    };
    return isBlank(restored) ? null : { version: 1, savedAt: saved.savedAt, state: restored };
  } catch {
    storage.removeItem(key);
    return null;
  }
}

export function discardDraft(key: string, storage: Storage = localStorage): void {
  try {
    storage.removeItem(key);
  } catch {
    // ignore
  }
}

/** Calls `save` once `ms` after the last `schedule`; `flush` saves now (page hide, unmount). */
export function debouncer(save: () => void, ms: number) {
  let timer: ReturnType<typeof setTimeout> | null = null;
  return {
    schedule() {
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => {
        timer = null;
        save();
      }, ms);
    },
    flush() {
      if (!timer) return;
      clearTimeout(timer);
      timer = null;
      save();
    },
    cancel() {
      if (timer) clearTimeout(timer);
      timer = null;
    },
  };
}

/** Same content, ignoring the ticked networks (those follow the connected accounts). */
export function sameContent(a: ComposerState, b: ComposerState): boolean {
  const pick = (s: ComposerState) => JSON.stringify([s.text, s.custom, s.xThread.filter((t) => t.trim()), s.media.map((m) => m.id), s.scheduleLocal]);
  return pick(a) === pick(b);
}
