import { describe, expect, it } from "vitest";
import { HEATMAP_ROWS, heatmapGrid, type BestTimeCell } from "./heatmap";

const NAMES = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];

/** The API's shape: every ISO weekday (1 = Monday … 7 = Sunday) × 24 hours, empty ones with sampleSize 0. */
function apiCells(filled: Record<string, { rate: number; samples?: number }>): BestTimeCell[] {
  const cells: BestTimeCell[] = [];
  for (let weekday = 1; weekday <= 7; weekday++) {
    for (let hour = 0; hour < 24; hour++) {
      const f = filled[`${weekday}:${hour}`];
      cells.push({ weekday, weekdayName: NAMES[weekday - 1]!, hour, sampleSize: f ? (f.samples ?? 3) : 0, engagementRate: f?.rate ?? 0, avgEngagements: 0 });
    }
  }
  return cells;
}

describe("heatmapGrid", () => {
  it("puts the API's ISO weekdays on their rows, Sunday (7) included", () => {
    const grid = heatmapGrid(apiCells({ "1:9": { rate: 0.02 }, "7:18": { rate: 0.05 }, "6:0": { rate: 0.01 } }));
    expect(grid).toHaveLength(7);
    expect(HEATMAP_ROWS.map((r) => r.label)).toEqual(["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]);
    const sunday = grid[6]!;
    expect(sunday[18]).toMatchObject({ kind: "data", weekday: 7, hour: 18, strength: 1 });
    expect(grid[0]![9]).toMatchObject({ kind: "data", weekday: 1, hour: 9 });
    expect(grid[5]![0]).toMatchObject({ kind: "data", weekday: 6, hour: 0 });
    // Each row's cells carry that row's weekday, whatever order the API sends them in.
    grid.forEach((row, i) => row.forEach((cell) => expect(cell.weekday).toBe(i + 1)));
  });

  it("tells hours without posts (no data) from hours with a low rate", () => {
    const grid = heatmapGrid(apiCells({ "2:10": { rate: 0.1 }, "2:11": { rate: 0 }, "2:12": { rate: 0.001 } }));
    const tuesday = grid[1]!;
    expect(tuesday[10]).toMatchObject({ kind: "data", strength: 1 });
    // Measured, and nobody engaged: low, not "no data".
    expect(tuesday[11]).toMatchObject({ kind: "data", strength: 0.15 });
    expect(tuesday[12]!.kind).toBe("data");
    expect(tuesday[13]).toEqual({ kind: "none", weekday: 2, hour: 13 });
    expect(grid.flat().filter((c) => c.kind === "data")).toHaveLength(3);
  });

  it("treats missing cells as no data and an all-zero week without dividing by zero", () => {
    const grid = heatmapGrid([{ weekday: 3, weekdayName: "Wednesday", hour: 8, sampleSize: 2, engagementRate: 0, avgEngagements: 0 }]);
    expect(grid[2]![8]).toMatchObject({ kind: "data", strength: 0.15 });
    expect(grid[2]![9]!.kind).toBe("none");
    expect(grid[6]!.every((c) => c.kind === "none")).toBe(true);
  });
});
