import { describe, expect, it } from "vitest";
import { slices } from "./calendarQueries";

describe("the calendar's window, fetched in slices", () => {
  it("cuts [from, to) into consecutive slices that cover it exactly", () => {
    const parts = slices("2026-11-29T00:00:00Z", "2027-01-12T00:00:00Z", 4);
    expect(parts).toHaveLength(4);
    expect(parts[0]![0]).toBe("2026-11-29T00:00:00.000Z");
    expect(parts[3]![1]).toBe("2027-01-12T00:00:00.000Z");
    for (let i = 1; i < parts.length; i++) expect(parts[i]![0]).toBe(parts[i - 1]![1]);
  });

  it("keeps a short window in one slice per hour at most", () => {
    expect(slices("2026-12-03T00:00:00Z", "2026-12-03T02:00:00Z", 4)).toEqual([
      ["2026-12-03T00:00:00.000Z", "2026-12-03T01:00:00.000Z"],
      ["2026-12-03T01:00:00.000Z", "2026-12-03T02:00:00.000Z"],
    ]);
  });
});
