import { describe, expect, it } from "vitest";
import { addMonths, dayKeyIn, monthGrid, moveToDay, weekDays } from "./calendar";

describe("calendar arithmetic", () => {
  it("lays a month out in whole Monday-first weeks", () => {
    const grid = monthGrid("2025-02-14"); // Feb 2025 starts on a Saturday
    expect(grid[0]).toBe("2025-01-27");
    expect(grid.at(-1)).toBe("2025-03-02");
    expect(grid.length % 7).toBe(0);
  });

  it("gives the week of a day, Monday to Sunday", () => {
    expect(weekDays("2025-03-30")).toEqual(["2025-03-24", "2025-03-25", "2025-03-26", "2025-03-27", "2025-03-28", "2025-03-29", "2025-03-30"]);
  });

  it("adds months across years", () => {
    expect(addMonths("2025-12-15", 1)).toBe("2026-01-01");
    expect(addMonths("2025-01-15", -1)).toBe("2024-12-01");
  });

  it("buckets an instant into the brand's day, not the browser's", () => {
    expect(dayKeyIn("2025-06-30T20:00:00Z", "Asia/Tokyo")).toBe("2025-07-01");
    expect(dayKeyIn("2025-06-30T20:00:00Z", "America/Los_Angeles")).toBe("2025-06-30");
  });

  it("keeps the wall-clock time when moving a post to another day (across a DST change)", () => {
    // 09:00 in Paris on 28 March 2025 (UTC+1) moved to 31 March (UTC+2) stays 09:00 local.
    expect(moveToDay("2025-03-28T08:00:00Z", "Europe/Paris", "2025-03-31")).toBe("2025-03-31T09:00:00");
  });
});
