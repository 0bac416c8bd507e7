import { describe, expect, it } from "vitest";
import { ApiError, NetworkError } from "../../api/errors";
import { composerErrors } from "./postErrors";

const zone = "Europe/Paris";

describe("save errors beside the control that caused them", () => {
  it("puts a past time under the date picker, in plain words", () => {
    const error = new ApiError(422, {
      error: 'scheduledFor is in the past; pick a future time, "now", or leave it out for a draft',
      code: "schedule_in_past",
      details: { field: "scheduledFor", now: "2026-12-03T10:00:00Z" },
    });
    const errors = composerErrors(error, zone);
    expect(errors.schedule).toBe("That time has already passed. Pick a time in the future, or publish now.");
    expect(errors.form).toBeUndefined();
    expect(JSON.stringify(errors)).not.toMatch(/scheduledFor/);
  });

  it("explains daylight-saving gaps and repeats with the brand's zone", () => {
    expect(composerErrors(new ApiError(422, { error: "x", code: "nonexistent_local_time" }), "America/New_York").schedule).toMatch(/does not exist in America\/New York/);
    expect(composerErrors(new ApiError(422, { error: "x", code: "ambiguous_local_time" }), zone).schedule).toMatch(/happens twice/);
  });

  it("names the network for each content rule it breaks", () => {
    const error = new ApiError(422, {
      error: "The content does not meet the networks' rules: ...",
      code: "content_invalid",
      details: [
        { platform: "x", code: "too_long", message: "Too long for X: 300 of 280 characters" },
        { platform: "instagram", code: "media_required", message: "Instagram needs an image or a video" },
      ],
    });
    const errors = composerErrors(error, zone);
    expect(errors.text).toBe("X: Too long for X: 300 of 280 characters.");
    expect(errors.media).toBe("Instagram: Instagram needs an image or a video.");
  });

  it("sends account problems to the network choice", () => {
    expect(composerErrors(new ApiError(422, { error: "x", code: "no_targets", details: [{ field: "body.platforms", message: "required to schedule" }] }), zone).networks).toBe(
      "Pick at least one network to publish to.",
    );
    expect(composerErrors(new ApiError(422, { error: "x", code: "account_disconnected" }), zone).networks).toMatch(/Reconnect it/);
    expect(
      composerErrors(new ApiError(422, { error: "x", code: "invalid_targets", details: [{ field: "body.platforms", message: "This brand has no linkedin account connected" }] }), zone).networks,
    ).toBe("This brand has no linkedin account connected.");
  });

  it("maps request validation to fields without API names", () => {
    const error = new ApiError(422, {
      error: "Invalid request",
      code: "validation_error",
      details: [
        { field: "body.content", message: "String should have at most 10000 characters" },
        { field: "body.scheduledFor", message: "Input should be a valid datetime" },
        { field: "body.mediaIds", message: "List should have at most 10 items" },
      ],
    });
    expect(composerErrors(error, zone)).toEqual({
      text: "The text is too long: 10,000 characters at most.",
      schedule: "Pick a valid date and time.",
      media: "Attach at most 10 images or videos.",
    });
  });

  it("says a post that started publishing cannot change, and what to do", () => {
    expect(composerErrors(new ApiError(409, { error: "This post is publishing and can no longer be edited", code: "post_not_editable" }), zone).form).toMatch(/Duplicate it/);
  });

  it("says offline saves are kept and retried", () => {
    expect(composerErrors(new NetworkError(new TypeError("Failed to fetch")), zone).form).toMatch(/offline/);
  });

  it("keeps the server's sentence for anything else, and nothing for no error", () => {
    expect(composerErrors(new ApiError(402, { error: "You have used this month's 30 posts", code: "quota_exceeded" }), zone).form).toBe("You have used this month's 30 posts");
    expect(composerErrors(null, zone)).toEqual({});
  });
});
