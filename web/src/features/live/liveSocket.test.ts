import { afterEach, describe, expect, it, vi } from "vitest";
import { LiveSocket, parsePostEvent } from "./liveSocket";

/** Just enough of a WebSocket to drive LiveSocket from the test. */
class FakeSocket {
  sent: string[] = [];
  onopen: (() => void) | null = null;
  onmessage: ((event: { data: string }) => void) | null = null;
  onclose: ((event: { code: number }) => void) | null = null;
  send(data: string) {
    this.sent.push(data);
  }
  close() {}
  open() {
    this.onopen?.();
  }
  receive(message: unknown) {
    this.onmessage?.({ data: JSON.stringify(message) });
  }
  closeWith(code: number) {
    this.onclose?.({ code });
  }
}

afterEach(() => vi.useRealTimers());

describe("LiveSocket", () => {
  it("authenticates with the first message, answers pings and forwards events", async () => {
    const sockets: FakeSocket[] = [];
    const onEvent = vi.fn();
    const live = new LiveSocket({
      url: "ws://t21.test/api/v1/ws",
      getToken: async () => "access-1",
      onEvent,
      createSocket: () => {
        const socket = new FakeSocket();
        sockets.push(socket);
        return socket as unknown as WebSocket;
      },
    });
    live.start();
    await vi.waitFor(() => expect(sockets).toHaveLength(1));
    const socket = sockets[0]!;
    socket.open();
    expect(JSON.parse(socket.sent[0]!)).toEqual({ type: "auth", token: "access-1" });
    socket.receive({ type: "ready", userId: "u1" });
    socket.receive({ type: "ping" });
    expect(JSON.parse(socket.sent[1]!)).toEqual({ type: "pong" });
    socket.receive({ type: "post.published", postId: "p1", status: "PUBLISHED" });
    expect(onEvent).toHaveBeenCalledTimes(1);
    live.stop();
  });

  it("gets a fresh token and reconnects after a 4401 close", async () => {
    vi.useFakeTimers();
    const sockets: FakeSocket[] = [];
    const getToken = vi.fn(async (force: boolean) => (force ? "fresh" : "stale"));
    const live = new LiveSocket({
      url: "ws://t21.test/api/v1/ws",
      getToken,
      onEvent: () => undefined,
      createSocket: () => {
        const socket = new FakeSocket();
        sockets.push(socket);
        return socket as unknown as WebSocket;
      },
    });
    live.start();
    await vi.waitFor(() => expect(sockets).toHaveLength(1));
    sockets[0]!.closeWith(4401);
    await vi.advanceTimersByTimeAsync(1_000);
    await vi.waitFor(() => expect(sockets).toHaveLength(2));
    expect(getToken).toHaveBeenLastCalledWith(true);
    sockets[1]!.open();
    expect(JSON.parse(sockets[1]!.sent[0]!)).toEqual({ type: "auth", token: "fresh" });
    live.stop();
  });
});

describe("parsePostEvent", () => {
  it("reads the server's flat shape and the nested {post} shape", () => {
    expect(parsePostEvent({ type: "post.failed", postId: "p1", status: "FAILED", target: { error: "boom" } })).toMatchObject({ postId: "p1", status: "FAILED" });
    expect(parsePostEvent({ type: "post.updated", post: { id: "p2", status: "PUBLISHING" } })).toMatchObject({ postId: "p2", status: "PUBLISHING" });
    expect(parsePostEvent({ type: "notification.created" })).toBeNull();
    expect(parsePostEvent({ type: "post.published" })).toBeNull();
  });
});
