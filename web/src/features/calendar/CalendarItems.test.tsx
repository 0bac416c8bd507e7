import { render, screen } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import type { Post } from "../posts/postQueries";
import { CalendarItem, type ItemHandlers } from "./CalendarItems";
import { toEntries } from "./calendarModel";

const RATE_LIMIT = { since: "2026-12-03T14:01:00Z", reason: "rate_limited" as const, message: "Waiting for X's rate limit until 15:05." };

function post(fields: Partial<Post> = {}): Post {
  return {
    id: "p1",
    brandId: "b1",
    userId: null,
    content: "Launch day",
    status: "SCHEDULED",
    scheduledFor: "2026-12-03T14:00:00Z",
    timeZone: "Europe/Paris",
    platforms: ["x", "linkedin"],
    overrides: {},
    thread: [],
    mediaIds: [],
    aiGenerated: false,
    aiGenerationId: null,
    publishedAt: null,
    createdAt: "2026-12-01T10:00:00Z",
    updatedAt: "2026-12-01T10:00:00Z",
    targets: [],
    overdue: null,
    ...fields,
  };
}

const handlers = (): ItemHandlers => ({ open: vi.fn(), dragStart: vi.fn(), dragEnd: vi.fn(), keyDown: vi.fn() });

describe("a calendar item", () => {
  it("colours an overdue chip and says why, with its networks and account", () => {
    const [entry] = toEntries([post({ overdue: RATE_LIMIT })], "Europe/Paris");
    render(<CalendarItem entry={entry!} account="@acme" handlers={handlers()} pending={false} variant="chip" />);
    const chip = screen.getByRole("button");
    expect(chip).toHaveClass("chip", "status-OVERDUE", "attention", "movable");
    expect(chip.getAttribute("aria-label")).toMatch(/^15:00 Overdue on X, LinkedIn as @acme — Waiting for X's rate limit until 15:05\. · Launch day/);
    expect(chip.title).toContain(RATE_LIMIT.message);
    expect(chip).toHaveAttribute("draggable", "true");
  });

  it("shows a failed post's error in the hour grid and does not let it be dragged", () => {
    const failed = post({
      status: "FAILED",
      targets: [{ id: "t", socialAccountId: "a", platform: "x", status: "FAILED", scheduledFor: null, platformPostId: null, platformPostUrl: null, threadPostIds: [], publishedAt: null, error: "Duplicate content", errorCode: "duplicate", attempts: 1, overdue: null }],
    });
    const [entry] = toEntries([failed], "Europe/Paris");
    const h = handlers();
    render(<CalendarItem entry={entry!} account="@acme" handlers={h} pending={false} variant="block" />);
    const item = screen.getByRole("button");
    expect(item).toHaveClass("cal-item", "status-FAILED");
    expect(item).toHaveTextContent("⚠ Duplicate content");
    expect(item).toHaveTextContent("@acme");
    expect(item).toHaveAttribute("draggable", "false");
    item.click();
    expect(h.open).toHaveBeenCalledWith("p1");
  });
});
