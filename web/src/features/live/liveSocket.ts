/**
 * The live connection to GET /api/v1/ws: authenticates with the first message (tokens in URLs end up
 * in logs), reconnects with backoff, and gets a fresh access token when the server closes with 4401.
 *
 * WebSocket messages are not part of the OpenAPI spec, so their shape is described here from the
 * server's protocol (t21/notifications/socket.py) and checked at runtime before use.
 */

/** A post's outcome events: published everywhere, on some of its networks, or on none. */
export const POST_OUTCOME_TYPES = [
  "post.published",
  "post.partially_published",
  "post.failed",
  "post.needs_attention",
] as const;
const POST_EVENT_TYPES: readonly string[] = [...POST_OUTCOME_TYPES, "post.updated"];

export interface PostEventTarget {
  platform?: string;
  status?: string;
  error?: string | null;
  platformPostUrl?: string | null;
}

export interface PostEvent {
  type: (typeof POST_OUTCOME_TYPES)[number] | "post.updated";
  postId: string;
  brandId?: string;
  status?: string;
  /** The target whose change this event carries. */
  target?: PostEventTarget;
  /** Every target of the post as it stands (platform and status). */
  targets?: PostEventTarget[];
}

export type LiveEvent = PostEvent | { type: "notification.created" | string; [key: string]: unknown };

export interface LiveSocketOptions {
  url: string;
  /** The current access token, refreshed if needed; null when signed out. */
  getToken(forceRefresh: boolean): Promise<string | null>;
  onEvent(event: LiveEvent): void;
  onStatus?(status: "connecting" | "live" | "offline"): void;
  createSocket?: (url: string) => WebSocket;
}

const CLOSE_UNAUTHORIZED = 4401;
const CLOSE_FORBIDDEN = 4403;
const MAX_BACKOFF_MS = 30_000;

export function parsePostEvent(data: unknown): PostEvent | null {
  if (!data || typeof data !== "object") return null;
  const record = data as Record<string, unknown>;
  const type = record.type;
  if (typeof type !== "string" || !POST_EVENT_TYPES.includes(type)) return null;
  // The brief's older shape nests the post ({post: {id, status}}); the server sends postId flat.
  const nested = record.post && typeof record.post === "object" ? (record.post as Record<string, unknown>) : undefined;
  const postId = typeof record.postId === "string" ? record.postId : typeof nested?.id === "string" ? nested.id : null;
  if (!postId) return null;
  const status = typeof record.status === "string" ? record.status : typeof nested?.status === "string" ? nested.status : undefined;
  const targets = Array.isArray(record.targets)
    ? record.targets.filter((t): t is PostEventTarget => Boolean(t) && typeof t === "object")
    : undefined;
  return {
    type: type as PostEvent["type"],
    postId,
    brandId: typeof record.brandId === "string" ? record.brandId : undefined,
    status,
    target: record.target && typeof record.target === "object" ? (record.target as PostEvent["target"]) : undefined,
    targets,
  };
}

export class LiveSocket {
  private socket: WebSocket | null = null;
  private stopped = false;
  private attempts = 0;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private needFreshToken = false;

  constructor(private readonly options: LiveSocketOptions) {}

  start(): void {
    this.stopped = false;
    void this.connect();
  }

  stop(): void {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.socket?.close(1000, "bye");
    this.socket = null;
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    this.options.onStatus?.("connecting");
    const token = await this.options.getToken(this.needFreshToken).catch(() => null);
    this.needFreshToken = false;
    if (this.stopped) return;
    if (!token) {
      this.scheduleReconnect();
      return;
    }
    const socket = (this.options.createSocket ?? ((url) => new WebSocket(url)))(this.options.url);
    this.socket = socket;
    socket.onopen = () => socket.send(JSON.stringify({ type: "auth", token }));
    socket.onmessage = (message) => {
      let data: unknown;
      try {
        data = JSON.parse(String(message.data));
      } catch {
        return;
      }
      if (!data || typeof data !== "object") return;
      const type = (data as { type?: unknown }).type;
      if (type === "ready") {
        this.attempts = 0;
        this.options.onStatus?.("live");
      } else if (type === "ping") {
        socket.send(JSON.stringify({ type: "pong" }));
      } else if (typeof type === "string" && type !== "pong" && type !== "reauthenticated") {
        this.options.onEvent(data as LiveEvent);
      }
    };
    socket.onclose = (event) => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.options.onStatus?.("offline");
      if (this.stopped || event.code === CLOSE_FORBIDDEN) return;
      if (event.code === CLOSE_UNAUTHORIZED) this.needFreshToken = true;
      this.scheduleReconnect();
    };
  }

  private scheduleReconnect(): void {
    if (this.stopped) return;
    const delay = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** this.attempts);
    this.attempts += 1;
    this.retryTimer = setTimeout(() => void this.connect(), delay);
  }
}

export function liveSocketUrl(location: Location = window.location): string {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}/api/v1/ws`;
}
