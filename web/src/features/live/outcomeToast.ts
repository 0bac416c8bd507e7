import { PLATFORM_NAMES, type Platform } from "../accounts/accountQueries";
import type { PostEvent, PostEventTarget } from "./liveSocket";

export interface OutcomeToast {
  message: string;
  kind: "success" | "error";
}

function networkName(platform: string | undefined): string {
  return platform && platform in PLATFORM_NAMES ? PLATFORM_NAMES[platform as Platform] : (platform ?? "a network");
}

function names(targets: PostEventTarget[]): string {
  return [...new Set(targets.map((t) => networkName(t.platform)))].join(", ");
}

/**
 * What a post's outcome event says, as it happened: "Published on X", "Partly published: X ok,
 * LinkedIn failed", "Failed on LinkedIn: <the network's reason>". Null for events that are not an
 * outcome (post.updated). Cancelled targets are left out; the event's own target stands in when
 * the server sent no list.
 */
export function outcomeToast(event: PostEvent): OutcomeToast | null {
  const all = (event.targets?.length ? event.targets : event.target ? [event.target] : []).filter(
    (t) => t.status !== "CANCELLED",
  );
  const published = all.filter((t) => t.status === "PUBLISHED");
  const missed = all.filter((t) => t.status === "FAILED" || t.status === "UNKNOWN");
  switch (event.type) {
    case "post.published":
      return { message: published.length ? `Published on ${names(published)}` : "Post published", kind: "success" };
    case "post.partially_published": {
      const parts = [
        ...published.map((t) => `${networkName(t.platform)} ok`),
        ...missed.map((t) => `${networkName(t.platform)} ${t.status === "UNKNOWN" ? "not confirmed" : "failed"}`),
      ];
      return { message: parts.length ? `Partly published: ${parts.join(", ")}` : "Partly published", kind: "error" };
    }
    case "post.failed": {
      // The event's target is the last to fail: its reason is the post's only when it is the only one.
      const reason = event.target?.error && missed.length <= 1 ? `: ${event.target.error}` : "";
      return { message: missed.length ? `Failed on ${names(missed)}${reason}` : `A post failed to publish${reason}`, kind: "error" };
    }
    case "post.needs_attention": {
      const unsure = all.filter((t) => t.status === "UNKNOWN");
      return {
        message: `Not confirmed on ${names(unsure.length ? unsure : missed)}: check the network before retrying`,
        kind: "error",
      };
    }
    default:
      return null;
  }
}
