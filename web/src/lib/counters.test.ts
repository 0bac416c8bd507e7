import { describe, expect, it } from "vitest";
import vectors from "./counter-vectors.json";
import { codePointLength, countFor, hashtags, mentions, urlSpans, xWeightedLength } from "./counters";

describe("counter vectors shared with the server", () => {
  it.each(vectors.vectors.map((v) => [v.name, v] as const))("%s", (_name, vector) => {
    expect({
      xWeightedLength: xWeightedLength(vector.text),
      codePointLength: codePointLength(vector.text),
      hashtags: hashtags(vector.text).length,
      mentions: mentions(vector.text).length,
    }).toEqual({
      xWeightedLength: vector.xWeightedLength,
      codePointLength: vector.codePointLength,
      hashtags: vector.hashtags,
      mentions: vector.mentions,
    });
  });
});

describe("X weighting", () => {
  it("counts any URL as 23 whatever its length", () => {
    expect(xWeightedLength("https://example.com")).toBe(23);
    expect(xWeightedLength(`https://example.com/${"x".repeat(200)}`)).toBe(23);
  });

  it("keeps sentence punctuation out of a URL", () => {
    const text = "see https://t21.app.";
    expect(urlSpans(text)).toEqual([[4, 19]]);
    expect(xWeightedLength(text)).toBe(4 + 23 + 1);
  });

  it("weighs a ZWJ family as one emoji", () => {
    expect(xWeightedLength("👨‍👩‍👧‍👦")).toBe(2);
  });

  it("normalises to NFC before counting", () => {
    expect(xWeightedLength("e\u0301")).toBe(1);
    expect(codePointLength("e\u0301")).toBe(1);
  });
});

describe("countFor", () => {
  it("flags X over 280", () => {
    expect(countFor("x", "a".repeat(280)).over).toBe(false);
    expect(countFor("x", "a".repeat(281)).over).toBe(true);
  });

  it("checks Instagram hashtags as well as length", () => {
    const tags = Array.from({ length: 31 }, (_, i) => `#t${i}`).join(" ");
    const count = countFor("instagram", tags);
    expect(count.over).toBe(true);
    expect(count.limits.find((l) => l.label === "hashtags")).toEqual({ label: "hashtags", used: 31, max: 30 });
  });

  it("allows LinkedIn 3000 code points", () => {
    expect(countFor("linkedin", "字".repeat(3000)).over).toBe(false);
    expect(countFor("linkedin", "字".repeat(3001)).over).toBe(true);
  });
});
