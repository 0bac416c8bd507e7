import { describe, expect, it } from "vitest";
import { parsePostEvent } from "./liveSocket";
import { outcomeToast } from "./outcomeToast";

/** The server's event (t21/publishing/fastpath.py post_event), through the app's own parser. */
function event(type: string, status: string, targets: Array<[string, string]>, error: string | null = null) {
  const last = targets[targets.length - 1]!;
  const parsed = parsePostEvent({
    type,
    postId: "p1",
    brandId: "b1",
    status,
    target: { id: "t9", platform: last[0], status: last[1], platformPostId: null, platformPostUrl: null, error },
    targets: targets.map(([platform, targetStatus], i) => ({ id: `t${i}`, platform, status: targetStatus })),
  });
  if (!parsed) throw new Error(`${type} was not read as a post event`);
  return parsed;
}

describe("outcomeToast", () => {
  it("never says failed while a network may have the post: it asks to check first", () => {
    expect(outcomeToast(event("post.needs_attention", "NEEDS_ATTENTION", [["linkedin", "UNKNOWN"], ["x", "FAILED"]]))).toEqual({
      message: "Not confirmed on LinkedIn: check the network before retrying",
      kind: "error",
    });
  });

  it("says published only when every network took the post, naming each as it writes itself", () => {
    expect(outcomeToast(event("post.published", "PUBLISHED", [["x", "PUBLISHED"]]))).toEqual({
      message: "Published on X",
      kind: "success",
    });
    expect(
      outcomeToast(event("post.published", "PUBLISHED", [["linkedin", "PUBLISHED"], ["instagram", "PUBLISHED"], ["x", "CANCELLED"]]))
        ?.message,
    ).toBe("Published on LinkedIn, Instagram");
  });

  it("says partly published, with what went out where", () => {
    const toast = outcomeToast(
      event("post.partially_published", "PARTIALLY_PUBLISHED", [["x", "PUBLISHED"], ["linkedin", "FAILED"]], "Rejected"),
    );
    expect(toast).toEqual({ message: "Partly published: X ok, LinkedIn failed", kind: "error" });
    expect(
      outcomeToast(event("post.partially_published", "PARTIALLY_PUBLISHED", [["instagram", "PUBLISHED"], ["x", "UNKNOWN"]]))?.message,
    ).toBe("Partly published: Instagram ok, X not confirmed");
  });

  it("says failed, with the network's reason when one network refused", () => {
    expect(outcomeToast(event("post.failed", "FAILED", [["linkedin", "FAILED"]], "Duplicate post"))).toEqual({
      message: "Failed on LinkedIn: Duplicate post",
      kind: "error",
    });
    expect(outcomeToast(event("post.failed", "FAILED", [["x", "FAILED"], ["linkedin", "FAILED"]], "Duplicate post"))?.message).toBe(
      "Failed on X, LinkedIn",
    );
  });

  it("says nothing for a change that is not an outcome, and copes with a truncated event", () => {
    expect(outcomeToast(event("post.updated", "PUBLISHING", [["x", "PUBLISHING"]]))).toBeNull();
    const truncated = parsePostEvent({ type: "post.partially_published", truncated: true, postId: "p1", status: "PARTIALLY_PUBLISHED" });
    expect(truncated && outcomeToast(truncated)).toEqual({ message: "Partly published", kind: "error" });
  });
});
