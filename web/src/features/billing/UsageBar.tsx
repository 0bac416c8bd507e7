import { useId } from "react";
import { formatNumber } from "../../lib/format";

/** Used vs allowed this period; `limit` null means unlimited. */
export function UsageBar({ label, used, limit }: { label: string; used: number; limit: number | null }) {
  const id = useId();
  const share = limit ? Math.min(1, used / limit) : 0;
  const over = limit !== null && used > limit;
  return (
    <div className="stack" style={{ gap: 4 }}>
      <div className="row small" style={{ justifyContent: "space-between" }}>
        <span id={id}>{label}</span>
        <span className={over ? "field-error" : "muted"}>
          {formatNumber(used)} / {limit === null ? "unlimited" : formatNumber(limit)}
        </span>
      </div>
      {limit !== null && (
        <div className={`meter${over || share >= 1 ? " over" : ""}`} role="meter" aria-labelledby={id} aria-valuemin={0} aria-valuemax={limit} aria-valuenow={used}>
          <span style={{ width: `${share * 100}%` }} />
        </div>
      )}
    </div>
  );
}
