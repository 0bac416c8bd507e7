/** Post statuses (DESIGN.md §4) and how we name them. Colours live in CSS as .status-<STATUS>. */
export const POST_STATUSES = [
  "DRAFT",
  "PENDING_APPROVAL",
  "SCHEDULED",
  "PUBLISHING",
  "PUBLISHED",
  "PARTIALLY_PUBLISHED",
  "FAILED",
  "NEEDS_ATTENTION",
  "UNKNOWN",
  "CANCELLED",
] as const;

export type PostStatus = (typeof POST_STATUSES)[number];

const LABELS: Record<PostStatus, string> = {
  DRAFT: "Draft",
  PENDING_APPROVAL: "Awaiting approval",
  SCHEDULED: "Scheduled",
  PUBLISHING: "Publishing",
  PUBLISHED: "Published",
  PARTIALLY_PUBLISHED: "Partly published",
  FAILED: "Failed",
  NEEDS_ATTENTION: "Needs attention",
  UNKNOWN: "Outcome unknown",
  CANCELLED: "Cancelled",
};

export function statusLabel(status: string): string {
  return (LABELS as Record<string, string>)[status] ?? status;
}

/** A due post (or target) still not sent a minute after its time, and the reason T21 knows
 * (publishing/overdue.py on the server). */
export interface Overdue {
  since: string;
  reason: string;
  message: string;
}

export const OVERDUE_LABEL = "Overdue";

/** The badge's words: "Overdue" wins over the status it is stuck in. */
export function displayLabel(status: string, overdue?: Overdue | null): string {
  return overdue ? OVERDUE_LABEL : statusLabel(status);
}

/** The CSS class that colours a badge or a calendar chip. */
export function statusClass(status: string, overdue?: Overdue | null): string {
  return overdue ? "status-OVERDUE" : `status-${status}`;
}

/** Only posts not yet handed to a network may be moved in the calendar. */
export function canReschedule(status: string): boolean {
  return status === "DRAFT" || status === "SCHEDULED" || status === "PENDING_APPROVAL";
}
