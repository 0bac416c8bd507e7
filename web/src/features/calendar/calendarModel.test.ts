import { describe, expect, it } from "vitest";
import type { Post } from "../posts/postQueries";
import { attentionReason, instantOf, layoutDay, localString, matches, shiftLocal, snapMinutes, toEntries, toLocal, zoneOffsetMinutes } from "./calendarModel";

function post(over: Partial<Post> & { id: string }): Post {
  return {
    brandId: "b",
    userId: null,
    content: "hello",
    status: "SCHEDULED",
    scheduledFor: null,
    timeZone: null,
    platforms: ["x"],
    overrides: {},
    thread: [],
    mediaIds: [],
    aiGenerated: false,
    aiGenerationId: null,
    publishedAt: null,
    createdAt: "2026-01-01T00:00:00Z",
    updatedAt: "2026-01-01T00:00:00Z",
    targets: [],
    overdue: null,
    ...over,
  } as Post;
}

describe("wall-clock time in the brand's zone", () => {
  it("finds offsets on both sides of DST", () => {
    expect(zoneOffsetMinutes(Date.parse("2026-01-15T12:00:00Z"), "Europe/Paris")).toBe(60);
    expect(zoneOffsetMinutes(Date.parse("2026-07-15T12:00:00Z"), "Europe/Paris")).toBe(120);
    expect(zoneOffsetMinutes(Date.parse("2026-07-15T12:00:00Z"), "America/New_York")).toBe(-240);
    expect(zoneOffsetMinutes(Date.parse("2026-07-15T12:00:00Z"), "Asia/Kolkata")).toBe(330);
  });

  it("turns a wall-clock time into the instant, DST-correct", () => {
    expect(instantOf({ day: "2026-03-28", minutes: 9 * 60 }, "Europe/Paris").toISOString()).toBe("2026-03-28T08:00:00.000Z");
    expect(instantOf({ day: "2026-03-29", minutes: 9 * 60 }, "Europe/Paris").toISOString()).toBe("2026-03-29T07:00:00.000Z");
    // 02:30 does not exist on 29 March in Paris: read as the server does (03:30 summer time).
    expect(instantOf({ day: "2026-03-29", minutes: 150 }, "Europe/Paris").toISOString()).toBe("2026-03-29T01:30:00.000Z");
    // 02:30 happens twice on 25 October: the first (summer) one.
    expect(instantOf({ day: "2026-10-25", minutes: 150 }, "Europe/Paris").toISOString()).toBe("2026-10-25T00:30:00.000Z");
    expect(instantOf({ day: "2026-11-01", minutes: 23 * 60 + 45 }, "America/New_York").toISOString()).toBe("2026-11-02T04:45:00.000Z");
    expect(instantOf({ day: "2026-12-03", minutes: 0 }, "Asia/Tokyo").toISOString()).toBe("2026-12-02T15:00:00.000Z");
  });

  it("reads an instant back as day and minutes in the zone", () => {
    expect(toLocal("2026-03-29T07:00:00Z", "Europe/Paris")).toEqual({ day: "2026-03-29", minutes: 540 });
    expect(toLocal("2026-12-02T15:00:00Z", "Asia/Tokyo")).toEqual({ day: "2026-12-03", minutes: 0 });
  });

  it("moves by 15-minute steps and days across midnight", () => {
    expect(shiftLocal({ day: "2026-12-03", minutes: 23 * 60 + 45 }, 15)).toEqual({ day: "2026-12-04", minutes: 0 });
    expect(shiftLocal({ day: "2026-12-01", minutes: 0 }, -15)).toEqual({ day: "2026-11-30", minutes: 23 * 60 + 45 });
    expect(shiftLocal({ day: "2026-12-31", minutes: 600 }, 24 * 60)).toEqual({ day: "2027-01-01", minutes: 600 });
    expect(snapMinutes(14 * 60 + 29)).toBe(14 * 60 + 15);
    expect(snapMinutes(-20)).toBe(0);
    expect(snapMinutes(24 * 60 + 5)).toBe(23 * 60 + 45);
    expect(localString({ day: "2026-12-03", minutes: 9 * 60 + 15 })).toBe("2026-12-03T09:15:00");
  });
});

describe("entries, filters and reasons", () => {
  const failed = post({
    id: "f",
    status: "FAILED",
    scheduledFor: "2026-12-03T01:00:00Z",
    platforms: ["linkedin"],
    targets: [{ id: "t", socialAccountId: "acc-li", platform: "linkedin", status: "FAILED", scheduledFor: null, platformPostId: null, platformPostUrl: null, threadPostIds: [], publishedAt: null, error: "Token expired", errorCode: "auth", attempts: 3 }],
  });
  const overdue = post({ id: "o", scheduledFor: "2026-12-03T00:00:00Z", overdue: { since: "2026-12-03T00:01:00Z", reason: "no_worker", message: "No worker is running" } });

  it("places posts in the zone, in time order, cancelled ones left out", () => {
    const entries = toEntries([failed, overdue, post({ id: "c", status: "CANCELLED", scheduledFor: "2026-12-03T02:00:00Z" }), post({ id: "d", status: "DRAFT" })], "Asia/Tokyo");
    expect(entries.map((e) => [e.post.id, e.local.day, e.time])).toEqual([
      ["o", "2026-12-03", "09:00"],
      ["f", "2026-12-03", "10:00"],
    ]);
    expect(entries[0]!.movable).toBe(true);
    expect(entries[1]!.movable).toBe(false);
  });

  it("filters by account, network and status (Overdue included)", () => {
    expect(matches(failed, { accountId: "acc-li" })).toBe(true);
    expect(matches(overdue, { accountId: "acc-li" })).toBe(false);
    expect(matches(failed, { network: "x" })).toBe(false);
    expect(matches(overdue, { network: "x" })).toBe(true);
    expect(matches(overdue, { status: "OVERDUE" })).toBe(true);
    expect(matches(failed, { status: "OVERDUE" })).toBe(false);
    expect(matches(failed, { status: "FAILED" })).toBe(true);
  });

  it("says why a post needs attention", () => {
    expect(attentionReason(overdue)).toBe("No worker is running");
    expect(attentionReason(failed)).toBe("Token expired");
    expect(attentionReason(post({ id: "ok" }))).toBeNull();
  });

  it("puts overlapping items side by side", () => {
    const at = (id: string, minutes: number) => ({ post: post({ id }), instant: "", local: { day: "2026-12-03", minutes }, time: "", movable: true });
    const layout = layoutDay([at("a", 600), at("b", 600), at("c", 615), at("d", 700)]);
    expect(layout.get("a")).toEqual({ col: 0, cols: 3 });
    expect(layout.get("b")).toEqual({ col: 1, cols: 3 });
    expect(layout.get("c")).toEqual({ col: 2, cols: 3 });
    expect(layout.get("d")).toEqual({ col: 0, cols: 1 });
  });
});
