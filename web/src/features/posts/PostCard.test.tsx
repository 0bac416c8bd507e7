import { screen, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { renderWithApp } from "../../test/render";
import { PostCard } from "./PostCard";
import { awaitingPublish, type Post, type SocialPost } from "./postQueries";

const NO_WORKER = {
  since: "2026-12-03T14:01:00Z",
  reason: "no_worker" as const,
  message: "No publishing worker is running, so nothing is being sent: an administrator needs to start one (t21 worker).",
};
const RATE_LIMIT = {
  since: "2026-12-03T14:01:00Z",
  reason: "rate_limited" as const,
  message: "Waiting for X's rate limit until 15:05.",
};

function target(fields: Partial<SocialPost> = {}): SocialPost {
  return {
    id: crypto.randomUUID(),
    socialAccountId: crypto.randomUUID(),
    platform: "x",
    status: "SCHEDULED",
    scheduledFor: "2026-12-03T14:00:00Z",
    platformPostId: null,
    platformPostUrl: null,
    threadPostIds: [],
    publishedAt: null,
    error: null,
    errorCode: null,
    attempts: 0,
    overdue: null,
    ...fields,
  };
}

function post(fields: Partial<Post> = {}): Post {
  return {
    id: crypto.randomUUID(),
    brandId: crypto.randomUUID(),
    userId: null,
    content: "Launch day",
    status: "SCHEDULED",
    scheduledFor: "2026-12-03T14:00:00Z",
    timeZone: "Europe/Paris",
    platforms: ["x"],
    overrides: {},
    thread: [],
    mediaIds: [],
    aiGenerated: false,
    aiGenerationId: null,
    publishedAt: null,
    createdAt: "2026-12-01T10:00:00Z",
    updatedAt: "2026-12-01T10:00:00Z",
    targets: [target()],
    overdue: null,
    ...fields,
  };
}

describe("overdue posts", () => {
  it("shows Overdue with the reason instead of Scheduled", () => {
    renderWithApp(<PostCard post={post({ overdue: NO_WORKER, targets: [target({ overdue: NO_WORKER })] })} />);
    const card = screen.getByTestId("post-card");
    const badges = within(card).getAllByText("Overdue", { selector: ".badge" });
    expect(badges).toHaveLength(2); // the post's and its target's
    expect(badges[0]).toHaveClass("status-OVERDUE");
    expect(badges[0]).toHaveAttribute("title", NO_WORKER.message);
    expect(within(card).queryByText("Scheduled", { selector: ".badge" })).toBeNull();
    const note = screen.getByTestId("overdue-note");
    expect(note).toHaveTextContent(NO_WORKER.message);
    expect(note).toHaveAttribute("data-reason", "no_worker");
    // The post's note says it once; the target line does not repeat it.
    expect(screen.queryByTestId("target-overdue")).toBeNull();
  });

  it("explains each target that is late for another reason", () => {
    const late = post({
      platforms: ["x", "linkedin"],
      overdue: NO_WORKER,
      targets: [target({ platform: "linkedin", overdue: NO_WORKER }), target({ overdue: RATE_LIMIT })],
    });
    renderWithApp(<PostCard post={late} />);
    expect(screen.getByTestId("overdue-note")).toHaveTextContent(NO_WORKER.message);
    expect(screen.getByTestId("target-overdue")).toHaveTextContent("Waiting for X's rate limit until 15:05.");
  });

  it("shows a post on time as its status, with no note", () => {
    renderWithApp(<PostCard post={post()} />);
    expect(screen.getAllByText("Scheduled", { selector: ".badge" })).toHaveLength(2);
    expect(screen.queryByText("Overdue")).toBeNull();
    expect(screen.queryByTestId("overdue-note")).toBeNull();
  });

  it("keeps looking at posts that are due or about to be, and only those", () => {
    const now = Date.parse("2026-12-03T14:00:00Z");
    expect(awaitingPublish(post({ scheduledFor: "2026-12-03T13:00:00Z" }), now)).toBe(true);
    expect(awaitingPublish(post({ scheduledFor: "2026-12-03T14:04:00Z" }), now)).toBe(true);
    expect(awaitingPublish(post({ scheduledFor: "2026-12-04T14:00:00Z" }), now)).toBe(false);
    expect(awaitingPublish(post({ status: "PUBLISHED", scheduledFor: "2026-12-03T13:00:00Z" }), now)).toBe(false);
  });
});
