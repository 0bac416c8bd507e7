import { zonedParts } from "../../lib/calendar";
import type { Network } from "../../lib/counters";

export const NETWORKS: readonly Network[] = ["x", "instagram", "linkedin"];

export interface UploadedMedia {
  id: string;
  kind: string;
  contentType: string;
  /** A local object URL while uploading, then the server's URL. */
  previewUrl: string;
  filename: string;
  /** The server's URL once uploaded (the preview may stay the local copy). */
  serverUrl?: string | undefined;
}

export interface ComposerState {
  /** The text every network gets unless it has its own. */
  text: string;
  /** Per-network replacement text; absent = use `text`. */
  custom: Partial<Record<Network, string>>;
  /** Tweets after the first, for an X thread. */
  xThread: string[];
  networks: Network[];
  media: UploadedMedia[];
  aiGenerationId: string | null;
  /** "YYYY-MM-DDTHH:mm[:ss]" in the brand's time zone; empty = not scheduled. */
  scheduleLocal: string;
}

export const emptyComposer: ComposerState = {
  text: "",
  custom: {},
  xThread: [],
  networks: [],
  media: [],
  aiGenerationId: null,
  scheduleLocal: "",
};

export type ComposerAction =
  | { type: "setText"; text: string }
  | { type: "setCustom"; network: Network; text: string | null }
  | { type: "setThread"; thread: string[] }
  | { type: "toggleNetwork"; network: Network }
  | { type: "setNetworks"; networks: Network[] }
  | { type: "addMedia"; media: UploadedMedia }
  | { type: "replaceMedia"; tempId: string; media: UploadedMedia }
  | { type: "removeMedia"; id: string }
  | { type: "useAiText"; text: string; generationId: string | null; network?: Network | undefined }
  | { type: "setSchedule"; scheduleLocal: string }
  | { type: "hydrateMedia"; media: UploadedMedia[] }
  | { type: "replaceAll"; state: ComposerState }
  | { type: "reset"; networks: Network[] };

export function composerReducer(state: ComposerState, action: ComposerAction): ComposerState {
  switch (action.type) {
    case "setText":
      return { ...state, text: action.text };
    case "setCustom": {
      const custom = { ...state.custom };
      if (action.text === null) delete custom[action.network];
      else custom[action.network] = action.text;
      return { ...state, custom };
    }
    case "setThread":
      return { ...state, xThread: action.thread };
    case "toggleNetwork":
      return {
        ...state,
        networks: state.networks.includes(action.network)
          ? state.networks.filter((n) => n !== action.network)
          : NETWORKS.filter((n) => n === action.network || state.networks.includes(n)),
      };
    case "setNetworks":
      return { ...state, networks: action.networks };
    case "addMedia":
      return { ...state, media: [...state.media, action.media] };
    case "replaceMedia":
      return { ...state, media: state.media.map((m) => (m.id === action.tempId ? action.media : m)) };
    case "removeMedia":
      return { ...state, media: state.media.filter((m) => m.id !== action.id) };
    case "useAiText":
      return action.network && state.custom[action.network] !== undefined
        ? { ...state, custom: { ...state.custom, [action.network]: action.text }, aiGenerationId: action.generationId }
        : { ...state, text: action.text, aiGenerationId: action.generationId };
    case "setSchedule":
      return { ...state, scheduleLocal: action.scheduleLocal };
    case "hydrateMedia": {
      const byId = new Map(action.media.map((m) => [m.id, m]));
      return { ...state, media: state.media.map((m) => (m.previewUrl === "" && byId.has(m.id) ? byId.get(m.id)! : m)) };
    }
    case "replaceAll":
      return action.state;
    case "reset":
      return { ...emptyComposer, networks: action.networks };
  }
}

/** What a network will actually publish: its own text if it has one, else the shared text. */
export function textFor(state: ComposerState, network: Network): string {
  return state.custom[network] ?? state.text;
}

/** The API's `overrides`: only networks with their own text, and X's thread. */
export function overridesFor(state: ComposerState) {
  const overrides: Partial<Record<Network, { content?: string; thread?: string[] }>> = {};
  for (const network of state.networks) {
    const custom = state.custom[network];
    if (custom !== undefined) overrides[network] = { content: custom };
  }
  const thread = state.xThread.filter((t) => t.trim() !== "");
  if (state.networks.includes("x") && thread.length > 0) overrides.x = { ...overrides.x, thread };
  return overrides;
}

export function isUploading(state: ComposerState): boolean {
  return state.media.some((m) => m.id.startsWith("local-"));
}

/** The fields of a stored post the composer edits (PostOut, loosely typed to stay independent). */
export interface EditablePost {
  content: string;
  platforms: string[];
  overrides: Record<string, unknown>;
  thread: string[];
  mediaIds: string[];
  scheduledFor: string | null;
  status: string;
  aiGenerationId?: string | null | undefined;
}

/** "YYYY-MM-DDTHH:mm" of an instant in a zone: what a datetime-local input holds. */
export function localInputValue(iso: string, timeZone: string): string {
  const { day, time } = zonedParts(iso, timeZone);
  return `${day}T${time.slice(0, 5)}`;
}

/** A stored post as composer state: its texts, thread, media (previews loaded later) and its
 * time of day in the brand's zone. The thread lives in X's override (see overridesFor). */
export function stateFromPost(post: EditablePost, timeZone: string): ComposerState {
  const overrides = post.overrides as Partial<Record<Network, { content?: string | null; thread?: string[] | null }>>;
  const custom: Partial<Record<Network, string>> = {};
  for (const network of NETWORKS) {
    const content = overrides[network]?.content;
    if (typeof content === "string") custom[network] = content;
  }
  return {
    text: post.content,
    custom,
    xThread: [...(overrides.x?.thread ?? post.thread ?? [])],
    networks: NETWORKS.filter((n) => post.platforms.includes(n)),
    media: post.mediaIds.map((id) => ({ id, kind: "image", contentType: "", previewUrl: "", filename: "" })),
    aiGenerationId: post.aiGenerationId ?? null,
    scheduleLocal: post.scheduledFor && post.status !== "DRAFT" ? localInputValue(post.scheduledFor, timeZone) : "",
  };
}
