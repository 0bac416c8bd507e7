import { session, type Schemas } from "../../api/client";
import { ApiError, NetworkError } from "../../api/errors";
import { readSse } from "../../lib/sse";

export type StreamRequest = Schemas["StreamRequest"];
/** The `done` event carries the generate-content result (without variants: a stream writes one). */
export type StreamResult = Omit<Schemas["GenerationResult"], "variants">;

export interface StreamHandlers {
  onDelta(text: string): void;
  onDone(result: StreamResult): void;
}

/**
 * POST /ai/generate-content/stream. Events: `delta` {text} while the model writes, then `done` with
 * the cleaned post, or `error` {error, code}. Errors before the stream starts are plain JSON.
 * Goes through the session's fetch, so an expired access token is refreshed like any other call.
 */
export async function streamGeneration(body: StreamRequest, handlers: StreamHandlers, signal?: AbortSignal): Promise<void> {
  const request = new Request("/api/v1/ai/generate-content/stream", {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "text/event-stream" },
    body: JSON.stringify(body),
    signal,
  });
  let response: Response;
  try {
    response = await session.fetch(request);
  } catch (cause) {
    throw new NetworkError(cause);
  }
  if (!response.ok || !response.body) {
    throw new ApiError(response.status, await response.json().catch(() => null));
  }
  for await (const event of readSse(response.body, signal)) {
    const data: unknown = JSON.parse(event.data);
    if (event.event === "delta") handlers.onDelta((data as { text: string }).text);
    else if (event.event === "done") handlers.onDone(data as StreamResult);
    else if (event.event === "error") throw new ApiError(502, data);
  }
}
