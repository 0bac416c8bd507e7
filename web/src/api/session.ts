/**
 * The signed-in session: where tokens live, how an expired access token is renewed, how we sign out.
 *
 * - The access token lives in memory only (a variable in this object), so an XSS payload cannot lift
 *   it from storage and it never outlives the tab.
 * - The refresh token is persisted in **localStorage**, as the seed's auth flow says ("store tokens in
 *   localStorage/secure storage"), so a reload or a new tab stays signed in. We chose localStorage
 *   over sessionStorage on purpose: the server rotates refresh tokens and revokes the whole family
 *   when a dead one is reused. sessionStorage is *copied* into a duplicated tab, so two tabs would
 *   hold the same token and the second refresh would sign the user out everywhere. With one shared
 *   localStorage entry, read fresh inside a cross-tab lock (Web Locks API), tabs refresh one after
 *   another with the newest token instead.
 * - A 401 `token_expired` triggers ONE refresh shared by every request that hit it (single flight),
 *   then each original request is retried once. A refresh the server refuses (reused, expired,
 *   invalid) signs out; a refresh that fails on the network does not (the server may be restarting).
 */

export const REFRESH_TOKEN_KEY = "t21.refreshToken";

export interface SessionTokens {
  accessToken: string;
  refreshToken: string;
}

export type SignOutReason = "user" | "expired" | "elsewhere";

export type SessionListener = (signedIn: boolean, reason?: SignOutReason) => void;

/** Runs `task` while holding a lock shared with other tabs (navigator.locks), or just runs it. */
export type CrossTabLock = <T>(name: string, task: () => Promise<T>) => Promise<T>;

export interface AuthSessionOptions {
  /** Absolute or root-relative base of the API, e.g. "/api/v1". */
  baseUrl: string;
  fetch?: typeof fetch;
  storage?: Storage;
  lock?: CrossTabLock;
}

// 401 codes that mean "the token we sent is no good" (as opposed to wrong password, bad API key...).
const DEAD_TOKEN_CODES = new Set(["invalid_token", "unauthorized"]);

const browserLock: CrossTabLock = async (name, task) => {
  if (typeof navigator === "undefined" || !navigator.locks) return task();
  let result!: Awaited<ReturnType<typeof task>>;
  await navigator.locks.request(name, async () => {
    result = await task();
  });
  return result;
};

export class RefreshRefused extends Error {
  constructor(readonly code: string | undefined) {
    super(`Refresh refused (${code ?? "unknown"})`);
  }
}

async function errorCode(response: Response): Promise<string | undefined> {
  try {
    const body: unknown = await response.clone().json();
    if (body && typeof body === "object" && "code" in body && typeof body.code === "string") return body.code;
  } catch {
    // Not JSON: no code.
  }
  return undefined;
}

export class AuthSession {
  private accessToken: string | null = null;
  private refreshInFlight: Promise<string> | null = null;
  private readonly listeners = new Set<SessionListener>();
  private readonly baseUrl: string;
  private readonly fetchImpl: typeof fetch;
  private readonly storage: Storage;
  private readonly lock: CrossTabLock;

  constructor(options: AuthSessionOptions) {
    this.baseUrl = options.baseUrl.replace(/\/$/, "");
    // Looked up at call time (tests stub the global), and called on globalThis so the browser's
    // fetch keeps its `this` (it throws "Illegal invocation" otherwise).
    this.fetchImpl = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.storage = options.storage ?? localStorage;
    this.lock = options.lock ?? browserLock;
  }

  /** True when there is a session to resume (a refresh token), even before the first refresh. */
  get hasSession(): boolean {
    return this.accessToken !== null || this.storage.getItem(REFRESH_TOKEN_KEY) !== null;
  }

  get currentAccessToken(): string | null {
    return this.accessToken;
  }

  subscribe(listener: SessionListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  signIn(tokens: SessionTokens): void {
    this.accessToken = tokens.accessToken;
    this.storage.setItem(REFRESH_TOKEN_KEY, tokens.refreshToken);
    this.emit(true);
  }

  /** Forget everything locally and tell listeners (they clear caches and go to the login page). */
  clear(reason: SignOutReason): void {
    const wasSignedIn = this.hasSession;
    this.accessToken = null;
    this.refreshInFlight = null;
    this.storage.removeItem(REFRESH_TOKEN_KEY);
    if (wasSignedIn) this.emit(false, reason);
  }

  /** Revoke the refresh token on the server (best effort), then clear everything locally. */
  async signOut(): Promise<void> {
    const refreshToken = this.storage.getItem(REFRESH_TOKEN_KEY);
    this.clear("user");
    if (!refreshToken) return;
    try {
      await this.fetchImpl(`${this.baseUrl}/auth/logout`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ refreshToken }),
      });
    } catch {
      // Offline: the token is gone locally and expires on the server by itself.
    }
  }

  /** Another tab signed out (removed the shared refresh token): follow it. */
  handleStorageEvent(event: StorageEvent): void {
    if (event.key === REFRESH_TOKEN_KEY && event.newValue === null && this.accessToken !== null) {
      this.accessToken = null;
      this.emit(false, "elsewhere");
    }
  }

  /** A fresh access token. Concurrent callers share one request to POST /auth/refresh. */
  refresh(): Promise<string> {
    this.refreshInFlight ??= this.lock("t21-refresh", () => this.refreshNow()).finally(() => {
      this.refreshInFlight = null;
    });
    return this.refreshInFlight;
  }

  private async refreshNow(): Promise<string> {
    // Read inside the lock: another tab may have rotated the token while we waited.
    const refreshToken = this.storage.getItem(REFRESH_TOKEN_KEY);
    if (!refreshToken) {
      this.clear("expired");
      throw new RefreshRefused("no_refresh_token");
    }
    const response = await this.fetchImpl(`${this.baseUrl}/auth/refresh`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ refreshToken }),
    });
    if (!response.ok) {
      const code = await errorCode(response);
      // 4xx: the server refused this token (reused, expired, invalid) — the session is over.
      // 5xx: keep the session; the next request will try again.
      if (response.status < 500) this.clear("expired");
      throw new RefreshRefused(code);
    }
    const body = (await response.json()) as { tokens: SessionTokens };
    this.accessToken = body.tokens.accessToken;
    this.storage.setItem(REFRESH_TOKEN_KEY, body.tokens.refreshToken);
    return body.tokens.accessToken;
  }

  /**
   * The `fetch` the API client uses: adds the bearer token, renews it once on `token_expired` and
   * retries the original request once with the new token.
   */
  readonly fetch = async (request: Request): Promise<Response> => {
    if (this.accessToken === null && this.storage.getItem(REFRESH_TOKEN_KEY) !== null) {
      // After a reload only the refresh token survives: get an access token before the first call.
      await this.refresh().catch(() => undefined);
    }
    const retryCopy = request.clone();
    const sentToken = this.accessToken;
    const response = await this.fetchImpl(this.withToken(request, sentToken));
    if (response.status !== 401 || sentToken === null) return response;

    const code = await errorCode(response);
    if (code === "token_expired") {
      let token: string;
      try {
        // If another request already renewed the token while this one was in flight, reuse it.
        token = this.accessToken !== sentToken && this.accessToken !== null ? this.accessToken : await this.refresh();
      } catch {
        return response;
      }
      return this.fetchImpl(this.withToken(retryCopy, token));
    }
    if (code !== undefined && DEAD_TOKEN_CODES.has(code)) this.clear("expired");
    return response;
  };

  private withToken(request: Request, token: string | null): Request {
    if (token === null) return request;
    const headers = new Headers(request.headers);
    headers.set("Authorization", `Bearer ${token}`);
    return new Request(request, { headers });
  }

  private emit(signedIn: boolean, reason?: SignOutReason): void {
    for (const listener of this.listeners) listener(signedIn, reason);
  }
}
