import { statusLabel, type PostStatus } from "../lib/status";

/** A post status with the same colour everywhere (lists, calendar, composer). */
export function StatusBadge({ status }: { status: PostStatus | string }) {
  return <span className={`badge status-${status}`}>{statusLabel(status)}</span>;
}
