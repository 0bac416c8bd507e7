import { ApiError, fieldName, NetworkError } from "../../api/errors";
import { PLATFORM_NAMES } from "../accounts/accountQueries";

/** The composer's controls an API error can point at; "form" is the summary at the top. */
export type ComposerField = "schedule" | "text" | "thread" | "networks" | "media" | "form";

export type ComposerErrors = Partial<Record<ComposerField, string>>;

function networkName(platform: unknown): string {
  return typeof platform === "string" ? ((PLATFORM_NAMES as Record<string, string>)[platform] ?? platform) : "";
}

function listOf(details: unknown): Array<Record<string, unknown>> {
  return Array.isArray(details) ? details.filter((d): d is Record<string, unknown> => Boolean(d) && typeof d === "object") : [];
}

function add(errors: ComposerErrors, field: ComposerField, message: string) {
  errors[field] = errors[field] ? `${errors[field]} ${message}` : message;
}

/** Request-validation (422 validation_error) field paths → the control that shows them. */
function forField(field: string, message: string, zone: string): [ComposerField, string] {
  const name = fieldName(field);
  if (name === "scheduledFor") return ["schedule", "Pick a valid date and time."];
  if (name === "timeZone") return ["schedule", `The time zone ${zone} is not recognised.`];
  if (name === "content" || name.startsWith("overrides")) {
    return ["text", /at most|too long|max/i.test(message) ? "The text is too long: 10,000 characters at most." : message];
  }
  if (name === "thread") return ["thread", /at most|max/i.test(message) ? "A thread has at most 25 posts." : message];
  if (name === "mediaIds") return ["media", /at most|max/i.test(message) ? "Attach at most 10 images or videos." : message];
  if (name === "platforms" || name === "socialAccountIds") return ["networks", "Pick at least one network to publish to."];
  return ["form", message];
}

/**
 * What went wrong with a save, in plain words, beside the control that caused it: the API's
 * codes and details (posts/service.py, kit/timezones.py) mapped to the composer's fields.
 * Unknown errors keep the server's sentence, in the form summary.
 */
export function composerErrors(error: unknown, timeZone: string): ComposerErrors {
  const errors: ComposerErrors = {};
  if (!error) return errors;
  const zone = timeZone.replace(/_/g, " ");
  if (error instanceof NetworkError) {
    add(errors, "form", "You are offline, so nothing was saved yet. Your changes are kept on this device; T21 saves them as soon as you are back online.");
    return errors;
  }
  if (!(error instanceof ApiError)) {
    add(errors, "form", error instanceof Error ? error.message : "Something went wrong. Try again.");
    return errors;
  }
  switch (error.code) {
    case "schedule_in_past":
      add(errors, "schedule", "That time has already passed. Pick a time in the future, or publish now.");
      break;
    case "nonexistent_local_time":
      add(errors, "schedule", `That time does not exist in ${zone} on that day: the clocks skip it for daylight saving. Pick another time.`);
      break;
    case "ambiguous_local_time":
      add(errors, "schedule", `That time happens twice in ${zone} on that day (the clocks go back). Pick a time outside the change.`);
      break;
    case "no_targets":
      add(errors, "networks", "Pick at least one network to publish to.");
      break;
    case "account_disconnected":
      add(errors, "networks", "An account of this post is disconnected. Reconnect it in Social accounts, then try again.");
      break;
    case "invalid_targets": {
      const lines = listOf(error.details).map((d) => (typeof d.message === "string" ? d.message : null)).filter(Boolean);
      add(errors, "networks", lines.length ? `${lines.join(". ")}.` : "Some of the chosen accounts do not belong to this brand.");
      break;
    }
    case "content_invalid": {
      const issues = listOf(error.details);
      if (issues.length === 0) add(errors, "text", "The text does not meet a network’s rules.");
      for (const issue of issues) {
        const message = typeof issue.message === "string" ? issue.message : "does not meet its rules";
        const code = typeof issue.code === "string" ? issue.code : "";
        const field: ComposerField = /media|image|video/i.test(code) ? "media" : /thread/i.test(code) ? "thread" : "text";
        const name = networkName(issue.platform);
        add(errors, field, name ? `${name}: ${message.replace(/\.?$/, ".")}` : message);
      }
      break;
    }
    case "post_not_editable":
      add(errors, "form", "This post has started publishing, so it can no longer be changed. Duplicate it to post it again.");
      break;
    case "post_not_found":
      add(errors, "form", "This post no longer exists: it was deleted, perhaps by a teammate.");
      break;
    case "conflict_retry":
      add(errors, "form", "Someone changed this post at the same moment. Try again.");
      break;
    case "validation_error": {
      const fields = Object.entries(error.fields);
      if (fields.length === 0) add(errors, "form", error.message);
      for (const [field, message] of fields) {
        const [target, sentence] = forField(field, message, zone);
        add(errors, target, sentence);
      }
      break;
    }
    default:
      add(errors, "form", error.message);
  }
  return errors;
}
