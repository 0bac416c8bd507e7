import { describe, expect, it } from "vitest";
import { readSse, SseParser } from "./sse";

describe("SseParser", () => {
  it("splits named events, joins multi-line data and skips comments", () => {
    const parser = new SseParser();
    const events = parser.push(': keep-alive\n\nevent: delta\ndata: {"text":"Hel"}\n\nevent: done\ndata: line1\ndata: line2\n\n');
    expect(events).toEqual([
      { event: "delta", data: '{"text":"Hel"}' },
      { event: "done", data: "line1\nline2" },
    ]);
  });

  it("keeps partial events across chunks (a chunk may end mid-line)", () => {
    const parser = new SseParser();
    expect(parser.push("event: del")).toEqual([]);
    expect(parser.push('ta\r\ndata: {"te')).toEqual([]);
    expect(parser.push('xt":"lo"}\r\n\r\n')).toEqual([{ event: "delta", data: '{"text":"lo"}' }]);
  });

  it("names unnamed events 'message'", () => {
    expect(new SseParser().push("data: x\n\n")).toEqual([{ event: "message", data: "x" }]);
  });
});

describe("readSse", () => {
  it("reads a streamed body, including a last event without a trailing blank line", async () => {
    const encoder = new TextEncoder();
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(encoder.encode("event: delta\ndata: a\n\nevent: do"));
        controller.enqueue(encoder.encode("ne\ndata: b"));
        controller.close();
      },
    });
    const events = [];
    for await (const event of readSse(body)) events.push(event);
    expect(events).toEqual([
      { event: "delta", data: "a" },
      { event: "done", data: "b" },
    ]);
  });
});
