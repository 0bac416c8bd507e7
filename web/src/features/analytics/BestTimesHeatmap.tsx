import type { BestTimes } from "./analyticsQueries";
import { HEATMAP_ROWS, heatmapGrid } from "./heatmap";
import "./heatmap.css";

/**
 * Weekday × hour of publication (the API's ISO weekdays, Monday first), shaded by engagement rate
 * relative to the best hour. Hours with no published post are hatched "no data", not faint.
 */
export function BestTimesHeatmap({ data }: { data: BestTimes }) {
  const grid = heatmapGrid(data.cells);
  return (
    <div className="stack" style={{ gap: 8 }}>
      <div className="table-wrap">
        <div className="heatmap" role="img" aria-label="Engagement by weekday and hour of publication" style={{ minWidth: 520 }} data-testid="best-times-heatmap">
          <span />
          {Array.from({ length: 24 }, (_, h) => (
            <span key={h} className="muted" style={{ textAlign: "center" }}>
              {h % 3 === 0 ? h : ""}
            </span>
          ))}
          {HEATMAP_ROWS.map(({ label }, d) => (
            <div key={label} style={{ display: "contents" }}>
              <span className="muted">{label}</span>
              {grid[d]!.map((c) =>
                c.kind === "none" ? (
                  <span key={c.hour} className="cell no-data" data-weekday={c.weekday} data-hour={c.hour} title={`${label} ${c.hour}:00 — no data (nothing published)`} />
                ) : (
                  <span
                    key={c.hour}
                    className="cell"
                    data-weekday={c.weekday}
                    data-hour={c.hour}
                    style={{ opacity: c.strength }}
                    title={`${label} ${c.hour}:00 — ${(c.cell.engagementRate * 100).toFixed(1)}% engagement, ${c.cell.sampleSize} post${c.cell.sampleSize === 1 ? "" : "s"}`}
                  />
                ),
              )}
            </div>
          ))}
        </div>
      </div>
      <div className="heatmap-legend" aria-hidden="true">
        <span>
          <span className="swatch no-data" />
          No data
        </span>
        <span>
          <span className="swatch" style={{ opacity: 0.15 }} />
          Low
        </span>
        <span>
          <span className="swatch" style={{ opacity: 0.55 }} />
          Medium
        </span>
        <span>
          <span className="swatch" />
          High engagement
        </span>
      </div>
      {data.suggestions.length > 0 ? (
        <p className="small">
          Best times to post ({data.timeZone.replace(/_/g, " ")}):{" "}
          {data.suggestions.slice(0, 3).map((s, i) => (
            <span key={`${s.weekday}-${s.hour}`}>
              {i > 0 && ", "}
              <strong>
                {s.weekdayName} {String(s.hour).padStart(2, "0")}:00
              </strong>
              {s.lowConfidence && <span className="muted"> (few posts yet)</span>}
            </span>
          ))}
        </p>
      ) : (
        <p className="small muted">Suggestions appear once a few posts have been published and measured.</p>
      )}
    </div>
  );
}
