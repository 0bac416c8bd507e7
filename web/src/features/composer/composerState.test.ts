import { describe, expect, it } from "vitest";
import { overridesFor, stateFromPost } from "./composerState";

const stored = {
  content: "Launch day",
  platforms: ["linkedin", "x"],
  overrides: { x: { content: "Launch day 🚀", thread: ["Part two"] }, linkedin: {} },
  thread: [],
  mediaIds: ["m1"],
  scheduledFor: "2026-12-24T08:30:00Z",
  status: "SCHEDULED",
  aiGenerationId: null,
};

describe("a stored post in the composer", () => {
  it("opens with its texts, thread, media and its time of day in the brand's zone", () => {
    const state = stateFromPost(stored, "Europe/Paris");
    expect(state.text).toBe("Launch day");
    expect(state.custom).toEqual({ x: "Launch day 🚀" });
    expect(state.xThread).toEqual(["Part two"]);
    expect(state.networks).toEqual(["x", "linkedin"]);
    expect(state.media.map((m) => m.id)).toEqual(["m1"]);
    expect(state.scheduleLocal).toBe("2026-12-24T09:30");
    expect(stateFromPost(stored, "America/New_York").scheduleLocal).toBe("2026-12-24T03:30");
  });

  it("saves back the same overrides it opened with", () => {
    expect(overridesFor(stateFromPost(stored, "Europe/Paris"))).toEqual({ x: { content: "Launch day 🚀", thread: ["Part two"] } });
  });

  it("takes a top-level thread (posts made through the API) into X's thread", () => {
    const state = stateFromPost({ ...stored, overrides: {}, thread: ["Second", "Third"] }, "UTC");
    expect(state.xThread).toEqual(["Second", "Third"]);
  });

  it("leaves a draft's time empty", () => {
    expect(stateFromPost({ ...stored, status: "DRAFT", scheduledFor: null }, "UTC").scheduleLocal).toBe("");
  });
});
