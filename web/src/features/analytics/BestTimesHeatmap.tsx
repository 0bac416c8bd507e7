import type { BestTimes } from "./analyticsQueries";

const DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

/** Weekday × hour of publication, shaded by engagement rate; empty cells had no posts. */
export function BestTimesHeatmap({ data }: { data: BestTimes }) {
  const max = Math.max(0, ...data.cells.map((c) => c.engagementRate));
  const cell = (weekday: number, hour: number) => data.cells.find((c) => c.weekday === weekday && c.hour === hour);
  // Weekday numbering follows the server: detect whether Monday is 0 or 1 from the names it sends.
  const mondayIndex = data.cells.find((c) => c.weekdayName.startsWith("Mon"))?.weekday ?? 0;
  return (
    <div className="stack" style={{ gap: 8 }}>
      <div className="table-wrap">
        <div className="heatmap" role="img" aria-label="Engagement by weekday and hour of publication" style={{ minWidth: 520 }}>
          <span />
          {Array.from({ length: 24 }, (_, h) => (
            <span key={h} className="muted" style={{ textAlign: "center" }}>
              {h % 3 === 0 ? h : ""}
            </span>
          ))}
          {DAYS.map((day, d) => (
            <div key={day} style={{ display: "contents" }}>
              <span className="muted">{day}</span>
              {Array.from({ length: 24 }, (_, h) => {
                const c = cell((mondayIndex + d) % 7, h);
                const strength = c && max > 0 ? 0.12 + 0.88 * (c.engagementRate / max) : 0;
                return (
                  <span
                    key={h}
                    className="cell"
                    style={{ opacity: c ? strength : 1, background: c ? undefined : "var(--surface-2)" }}
                    title={c ? `${day} ${h}:00 — ${(c.engagementRate * 100).toFixed(1)}% engagement, ${c.sampleSize} posts` : `${day} ${h}:00 — no posts`}
                  />
                );
              })}
            </div>
          ))}
        </div>
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
