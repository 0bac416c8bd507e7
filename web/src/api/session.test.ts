import { describe, expect, it, vi } from "vitest";
import { AuthSession, REFRESH_TOKEN_KEY, type CrossTabLock } from "./session";

const BASE = "http://t21.test/api/v1";
const noLock: CrossTabLock = (_name, task) => task();

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
}

const expired = () => json(401, { error: "Token expired", code: "token_expired", details: null });

/**
 * A fake API: access tokens "a1", "a2"... are valid only when they are the newest; refresh tokens
 * rotate "r1" → "r2" → ...; reusing an old refresh token answers refresh_token_reused.
 */
function fakeServer() {
  let generation = 1;
  const calls: Array<{ url: string; auth: string | null; body: string }> = [];
  let refreshGate: Promise<void> = Promise.resolve();
  let refreshFails: Response | null = null;
  const fetch = vi.fn(async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const request = input instanceof Request ? input : new Request(String(input), init);
    const body = await request.text();
    calls.push({ url: request.url, auth: request.headers.get("Authorization"), body });
    const path = new URL(request.url).pathname.replace("/api/v1", "");
    if (path === "/auth/refresh") {
      await refreshGate;
      if (refreshFails) return refreshFails;
      const { refreshToken } = JSON.parse(body) as { refreshToken: string };
      if (refreshToken !== `r${generation}`) {
        return json(401, { error: "Refresh token reused", code: "refresh_token_reused", details: null });
      }
      generation += 1;
      return json(200, { tokens: { accessToken: `a${generation}`, refreshToken: `r${generation}` } });
    }
    if (path === "/auth/logout") return new Response(null, { status: 204 });
    if (request.headers.get("Authorization") !== `Bearer a${generation}`) return expired();
    return json(200, { path, body });
  });
  return {
    fetch,
    calls,
    refreshCalls: () => calls.filter((c) => c.url.endsWith("/auth/refresh")).length,
    holdRefresh(): () => void {
      let release!: () => void;
      refreshGate = new Promise<void>((resolve) => (release = resolve));
      return release;
    },
    failRefreshWith(response: Response) {
      refreshFails = response;
    },
  };
}

function signedInSession(server: ReturnType<typeof fakeServer>, accessToken = "stale") {
  const session = new AuthSession({ baseUrl: BASE, fetch: server.fetch, storage: localStorage, lock: noLock });
  session.signIn({ accessToken, refreshToken: "r1" });
  return session;
}

const get = (path: string) => new Request(`${BASE}${path}`);

describe("AuthSession.fetch", () => {
  it("sends the access token as a bearer token", async () => {
    const server = fakeServer();
    const session = signedInSession(server, "a1");
    const response = await session.fetch(get("/brands"));
    expect(response.status).toBe(200);
    expect(server.calls[0]?.auth).toBe("Bearer a1");
    expect(server.refreshCalls()).toBe(0);
  });

  it("refreshes once on token_expired and retries the original request with its body", async () => {
    const server = fakeServer();
    const session = signedInSession(server);
    const response = await session.fetch(
      new Request(`${BASE}/brands`, { method: "POST", body: JSON.stringify({ name: "Acme" }) }),
    );
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ path: "/brands", body: '{"name":"Acme"}' });
    expect(server.refreshCalls()).toBe(1);
    expect(localStorage.getItem(REFRESH_TOKEN_KEY)).toBe("r2");
    expect(session.currentAccessToken).toBe("a2");
  });

  it("shares one refresh between concurrent 401s (single flight)", async () => {
    const server = fakeServer();
    const session = signedInSession(server);
    const release = server.holdRefresh();
    const pending = Promise.all([session.fetch(get("/a")), session.fetch(get("/b")), session.fetch(get("/c"))]);
    await vi.waitFor(() => expect(server.refreshCalls()).toBe(1));
    release();
    const responses = await pending;
    expect(responses.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(server.refreshCalls()).toBe(1);
  });

  it("retries only once: a second 401 is returned, not looped", async () => {
    const server = fakeServer();
    const session = signedInSession(server);
    // Every protected call answers token_expired, even with the new token.
    server.fetch.mockImplementation(async (input: RequestInfo | URL) => {
      const url = input instanceof Request ? input.url : String(input);
      if (url.endsWith("/auth/refresh")) return json(200, { tokens: { accessToken: "a9", refreshToken: "r9" } });
      return expired();
    });
    const response = await session.fetch(get("/brands"));
    expect(response.status).toBe(401);
    const urls = server.fetch.mock.calls.map(([input]) => (input instanceof Request ? input.url : String(input)));
    expect(urls).toEqual([`${BASE}/brands`, `${BASE}/auth/refresh`, `${BASE}/brands`]);
  });

  it("signs out when the refresh token was reused", async () => {
    const server = fakeServer();
    const session = signedInSession(server);
    localStorage.setItem(REFRESH_TOKEN_KEY, "r0-dead");
    const listener = vi.fn();
    session.subscribe(listener);
    const response = await session.fetch(get("/brands"));
    expect(response.status).toBe(401);
    expect(listener).toHaveBeenCalledWith(false, "expired");
    expect(localStorage.getItem(REFRESH_TOKEN_KEY)).toBeNull();
    expect(session.hasSession).toBe(false);
  });

  it("keeps the session when the refresh fails with a server error", async () => {
    const server = fakeServer();
    const session = signedInSession(server);
    server.failRefreshWith(json(503, { error: "down", code: "service_unavailable", details: null }));
    const response = await session.fetch(get("/brands"));
    expect(response.status).toBe(401);
    expect(localStorage.getItem(REFRESH_TOKEN_KEY)).toBe("r1");
  });

  it("does not sign out on a wrong current password (401 invalid_credentials)", async () => {
    const server = fakeServer();
    const session = signedInSession(server, "a1");
    server.fetch.mockResolvedValueOnce(json(401, { error: "wrong", code: "invalid_credentials", details: null }));
    const response = await session.fetch(get("/auth/password"));
    expect(response.status).toBe(401);
    expect(session.hasSession).toBe(true);
    expect(server.refreshCalls()).toBe(0);
  });

  it("gets an access token first after a reload (only the refresh token survived)", async () => {
    const server = fakeServer();
    localStorage.setItem(REFRESH_TOKEN_KEY, "r1");
    const session = new AuthSession({ baseUrl: BASE, fetch: server.fetch, storage: localStorage, lock: noLock });
    const response = await session.fetch(get("/auth/me"));
    expect(response.status).toBe(200);
    expect(server.calls.map((c) => new URL(c.url).pathname)).toEqual(["/api/v1/auth/refresh", "/api/v1/auth/me"]);
  });
});

describe("AuthSession.signOut", () => {
  it("revokes the refresh token on the server and clears everything", async () => {
    const server = fakeServer();
    const session = signedInSession(server, "a1");
    const listener = vi.fn();
    session.subscribe(listener);
    await session.signOut();
    const logout = server.calls.find((c) => c.url.endsWith("/auth/logout"));
    expect(JSON.parse(logout?.body ?? "{}")).toEqual({ refreshToken: "r1" });
    expect(localStorage.getItem(REFRESH_TOKEN_KEY)).toBeNull();
    expect(session.currentAccessToken).toBeNull();
    expect(listener).toHaveBeenCalledWith(false, "user");
  });

  it("follows a sign-out in another tab", () => {
    const server = fakeServer();
    const session = signedInSession(server, "a1");
    const listener = vi.fn();
    session.subscribe(listener);
    session.handleStorageEvent(new StorageEvent("storage", { key: REFRESH_TOKEN_KEY, newValue: null }));
    expect(listener).toHaveBeenCalledWith(false, "elsewhere");
    expect(session.currentAccessToken).toBeNull();
  });
});
