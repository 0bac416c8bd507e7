import type { BestTimes } from "./analyticsQueries";

export type BestTimeCell = BestTimes["cells"][number];

/** Rows top to bottom, Monday first — the API's ISO weekday (1 = Monday … 7 = Sunday) of each row. */
export const HEATMAP_ROWS = [
  { weekday: 1, label: "Mon" },
  { weekday: 2, label: "Tue" },
  { weekday: 3, label: "Wed" },
  { weekday: 4, label: "Thu" },
  { weekday: 5, label: "Fri" },
  { weekday: 6, label: "Sat" },
  { weekday: 7, label: "Sun" },
] as const;

export type HeatCell =
  /** No post was published in this hour: nothing is known, which is not the same as "low". */
  | { kind: "none"; weekday: number; hour: number }
  /** `strength` in [0.15, 1]: the share of the best cell's engagement rate, with a visible floor. */
  | { kind: "data"; weekday: number; hour: number; strength: number; cell: BestTimeCell };

/**
 * The 7 × 24 grid the heatmap draws, from the API's cells (ISO weekdays, hours in the brand's zone).
 * A cell with no sample (or absent) is "no data"; among cells with data the rate is scaled to the best.
 */
export function heatmapGrid(cells: readonly BestTimeCell[]): HeatCell[][] {
  const byKey = new Map(cells.map((c) => [`${c.weekday}:${c.hour}`, c]));
  const withData = cells.filter((c) => c.sampleSize > 0);
  const max = Math.max(0, ...withData.map((c) => c.engagementRate));
  return HEATMAP_ROWS.map(({ weekday }) =>
    Array.from({ length: 24 }, (_, hour): HeatCell => {
      const cell = byKey.get(`${weekday}:${hour}`);
      if (!cell || cell.sampleSize <= 0) return { kind: "none", weekday, hour };
      const strength = max > 0 ? 0.15 + 0.85 * (cell.engagementRate / max) : 0.15;
      return { kind: "data", weekday, hour, strength, cell };
    }),
  );
}
