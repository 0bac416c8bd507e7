/** Post statuses (DESIGN.md §4) and how we name them. Colours live in CSS as .status-<STATUS>. */
export const POST_STATUSES = [
  "DRAFT",
  "PENDING_APPROVAL",
  "SCHEDULED",
  "PUBLISHING",
  "PUBLISHED",
  "PARTIALLY_PUBLISHED",
  "FAILED",
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
  UNKNOWN: "Outcome unknown",
  CANCELLED: "Cancelled",
};

export function statusLabel(status: string): string {
  return (LABELS as Record<string, string>)[status] ?? status;
}

/** Only posts not yet handed to a network may be moved in the calendar. */
export function canReschedule(status: string): boolean {
  return status === "DRAFT" || status === "SCHEDULED" || status === "PENDING_APPROVAL";
}
