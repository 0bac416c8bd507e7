import { describe, expect, it, vi } from "vitest";
import { debouncer, discardDraft, draftKey, isBlank, loadDraft, MAX_AGE_MS, sameContent, saveDraft } from "./autosave";
import { emptyComposer, type ComposerState } from "./composerState";

function memoryStorage(): Storage {
  const data = new Map<string, string>();
  return {
    get length() {
      return data.size;
    },
    clear: () => data.clear(),
    getItem: (k) => data.get(k) ?? null,
    key: (i) => [...data.keys()][i] ?? null,
    removeItem: (k) => void data.delete(k),
    setItem: (k, v) => void data.set(k, String(v)),
  };
}

const written: ComposerState = { ...emptyComposer, text: "Cold brew Monday", networks: ["x"], scheduleLocal: "2026-12-24T09:30" };

describe("the composer's local copy", () => {
  it("is kept per brand, and per post being edited", () => {
    expect(draftKey("b1")).not.toBe(draftKey("b2"));
    expect(draftKey("b1", "p1")).not.toBe(draftKey("b1"));
  });

  it("round-trips what was typed", () => {
    const storage = memoryStorage();
    saveDraft(draftKey("b1"), written, storage, 1000);
    const saved = loadDraft(draftKey("b1"), storage, 2000);
    expect(saved?.savedAt).toBe(1000);
    expect(saved?.state).toEqual(written);
    expect(loadDraft(draftKey("b2"), storage)).toBeNull();
  });

  it("forgets a blank composer instead of restoring nothing", () => {
    const storage = memoryStorage();
    saveDraft("k", written, storage);
    saveDraft("k", { ...emptyComposer, networks: ["x", "linkedin"] }, storage);
    expect(storage.getItem("k")).toBeNull();
    expect(isBlank({ ...emptyComposer, networks: ["x"] })).toBe(true);
    expect(isBlank({ ...emptyComposer, custom: { x: "only on X" } })).toBe(false);
  });

  it("keeps finished uploads with their server URL, never a dead blob: URL or an upload in flight", () => {
    const storage = memoryStorage();
    saveDraft(
      "k",
      {
        ...written,
        media: [
          { id: "m1", kind: "image", contentType: "image/png", previewUrl: "blob:http://x/1", filename: "a.png", serverUrl: "https://t21/media/m1.png" },
          { id: "m2", kind: "image", contentType: "image/png", previewUrl: "blob:http://x/2", filename: "b.png" },
          { id: "local-3", kind: "image", contentType: "image/png", previewUrl: "blob:http://x/3", filename: "c.png" },
        ],
      },
      storage,
    );
    expect(loadDraft("k", storage)?.state.media.map((m) => [m.id, m.previewUrl])).toEqual([["m1", "https://t21/media/m1.png"]]);
  });

  it("drops copies that are too old or unreadable", () => {
    const storage = memoryStorage();
    saveDraft("k", written, storage, 0);
    expect(loadDraft("k", storage, MAX_AGE_MS + 1)).toBeNull();
    expect(storage.getItem("k")).toBeNull();
    storage.setItem("k", "{not json");
    expect(loadDraft("k", storage)).toBeNull();
    storage.setItem("k", JSON.stringify({ version: 99, savedAt: 0, state: written }));
    expect(loadDraft("k", storage, 1)).toBeNull();
  });

  it("can be discarded", () => {
    const storage = memoryStorage();
    saveDraft("k", written, storage);
    discardDraft("k", storage);
    expect(loadDraft("k", storage)).toBeNull();
  });

  it("survives a storage that refuses writes", () => {
    const storage = { ...memoryStorage(), setItem: () => { throw new DOMException("full", "QuotaExceededError"); } } as Storage;
    expect(() => saveDraft("k", written, storage)).not.toThrow();
  });

  it("compares content, not the ticked networks", () => {
    expect(sameContent(written, { ...written, networks: ["linkedin"] })).toBe(true);
    expect(sameContent(written, { ...written, text: "Other" })).toBe(false);
    expect(sameContent(written, { ...written, scheduleLocal: "2026-12-24T10:00" })).toBe(false);
  });
});

describe("debouncer", () => {
  it("saves once after the last change, and at once on flush", () => {
    vi.useFakeTimers();
    const save = vi.fn();
    const d = debouncer(save, 500);
    d.schedule();
    vi.advanceTimersByTime(300);
    d.schedule();
    vi.advanceTimersByTime(300);
    expect(save).not.toHaveBeenCalled();
    vi.advanceTimersByTime(200);
    expect(save).toHaveBeenCalledTimes(1);
    d.schedule();
    d.flush();
    expect(save).toHaveBeenCalledTimes(2);
    d.flush();
    expect(save).toHaveBeenCalledTimes(2);
    vi.useRealTimers();
  });
});
