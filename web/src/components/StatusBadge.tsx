import { displayLabel, statusClass, type Overdue, type PostStatus } from "../lib/status";

/** A post status with the same colour everywhere (lists, calendar, composer). An overdue post or
 * target reads "Overdue", with the reason in its tooltip (callers show it in full beside it). */
export function StatusBadge({ status, overdue }: { status: PostStatus | string; overdue?: Overdue | null | undefined }) {
  return (
    <span
      className={`badge ${statusClass(status, overdue)}`}
      title={overdue ? overdue.message : undefined}
      data-overdue-reason={overdue?.reason}
    >
      {displayLabel(status, overdue)}
    </span>
  );
}
