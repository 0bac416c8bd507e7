/**
 * Per-network text counters, a line-by-line port of the server's `t21/platforms/text.py`.
 *
 * The composer shows these live while the user types; the server (POST /posts/validate) stays the
 * authority. Both sides check themselves against the same vectors in `counter-vectors.json`, so a
 * rule change on one side that the other misses fails a test instead of confusing a user.
 *
 * X (twitter-text v3): after NFC, code points in a few ranges weigh 1, all others weigh 2, every URL
 * weighs 23 whatever its length, and an emoji *sequence* (ZWJ family, flag, keycap, skin tone,
 * presentation form) weighs 2 as a whole. Instagram and LinkedIn count code points after NFC.
 *
 * Porting notes: Python's `\w` is Unicode-aware while JavaScript's is ASCII-only, so `\w` becomes
 * `[\p{L}\p{N}_]` with the `u` flag. URL spans are UTF-16 offsets here and code-point offsets in
 * Python; each side only uses its own offsets to slice its own strings, so the totals agree.
 */

export const X_MAX_WEIGHT = 280;
export const X_URL_WEIGHT = 23;
export const X_EMOJI_WEIGHT = 2;
export const INSTAGRAM_CAPTION_LIMIT = 2200;
export const INSTAGRAM_MAX_HASHTAGS = 30;
export const INSTAGRAM_MAX_MENTIONS = 20;
export const LINKEDIN_COMMENTARY_LIMIT = 3000;

type Range = readonly [number, number];

// twitter-text v3 `ranges` with weight 100 (one character); everything else weighs 200 (two).
const X_LIGHT_RANGES: readonly Range[] = [
  [0, 4351],
  [8192, 8205],
  [8208, 8223],
  [8242, 8247],
];

const ZWJ = 0x200d;
const VS15 = 0xfe0e;
const VS16 = 0xfe0f;
const KEYCAP = 0x20e3;
const KEYCAP_BASES = new Set([..."0123456789#*"].map((c) => c.codePointAt(0)));
const TAG_RANGE: Range = [0xe0020, 0xe007e];
const TAG_CANCEL = 0xe007f;
const REGIONAL_INDICATORS: Range = [0x1f1e6, 0x1f1ff];
const SKIN_TONES: Range = [0x1f3fb, 0x1f3ff];

// Extended_Pictographic, by block: enough to tell where an emoji sequence starts.
const PICTOGRAPHIC_RANGES: readonly Range[] = [
  [0x00a9, 0x00a9],
  [0x00ae, 0x00ae],
  [0x203c, 0x203c],
  [0x2049, 0x2049],
  [0x2122, 0x2122],
  [0x2139, 0x2139],
  [0x2194, 0x2199],
  [0x21a9, 0x21aa],
  [0x231a, 0x231b],
  [0x2328, 0x2328],
  [0x23cf, 0x23cf],
  [0x23e9, 0x23f3],
  [0x23f8, 0x23fa],
  [0x24c2, 0x24c2],
  [0x25aa, 0x25ab],
  [0x25b6, 0x25b6],
  [0x25c0, 0x25c0],
  [0x25fb, 0x25fe],
  [0x2600, 0x27bf],
  [0x2934, 0x2935],
  [0x2b05, 0x2b07],
  [0x2b1b, 0x2b1c],
  [0x2b50, 0x2b50],
  [0x2b55, 0x2b55],
  [0x3030, 0x3030],
  [0x303d, 0x303d],
  [0x3297, 0x3297],
  [0x3299, 0x3299],
  [0x1f000, 0x1faff],
  [0x1fc00, 0x1fffd],
];

// Generic top-level domains people write bare (example.com), then every country code.
const TLD_ALTERNATION =
  "com|net|org|info|biz|edu|gov|mil|int|name|pro|aero|coop|museum|mobi|jobs|travel|tel|asia|app|" +
  "dev|xyz|online|site|tech|store|blog|shop|club|news|art|live|page|cloud|design|agency|email|" +
  "social|media|link|world|today|space|website|digital|studio|network|global|company|solutions|" +
  "group|life|fun|top|vip|wiki|ac|ad|ae|af|ag|ai|al|am|ao|aq|ar|as|at|au|aw|ax|az|ba|bb|bd|be|bf|" +
  "bg|bh|bi|bj|bm|bn|bo|br|bs|bt|bw|by|bz|ca|cc|cd|cf|cg|ch|ci|ck|cl|cm|cn|co|cr|cu|cv|cw|cx|cy|cz|" +
  "de|dj|dk|dm|do|dz|ec|ee|eg|er|es|et|eu|fi|fj|fk|fm|fo|fr|ga|gd|ge|gf|gg|gh|gi|gl|gm|gn|gp|gq|gr|" +
  "gs|gt|gu|gw|gy|hk|hm|hn|hr|ht|hu|id|ie|il|im|in|io|iq|ir|is|it|je|jm|jo|jp|ke|kg|kh|ki|km|kn|kp|" +
  "kr|kw|ky|kz|la|lb|lc|li|lk|lr|ls|lt|lu|lv|ly|ma|mc|md|me|mg|mh|mk|ml|mm|mn|mo|mp|mq|mr|ms|mt|mu|" +
  "mv|mw|mx|my|mz|na|nc|ne|nf|ng|ni|nl|no|np|nr|nu|nz|om|pa|pe|pf|pg|ph|pk|pl|pm|pn|pr|ps|pt|pw|py|" +
  "qa|re|ro|rs|ru|rw|sa|sb|sc|sd|se|sg|sh|si|sk|sl|sm|sn|so|sr|ss|st|sv|sx|sy|sz|tc|td|tf|tg|th|tj|" +
  "tk|tl|tm|tn|to|tr|tt|tv|tw|tz|ua|ug|uk|us|uy|uz|va|vc|ve|vg|vi|vn|vu|wf|ws|ye|yt|za|zm|zw";

// Python's Unicode `\w`.
const WORD = String.raw`\p{L}\p{N}_`;

const URL_PATTERN = new RegExp(
  String.raw`(?<![${WORD}@.\-/])` +
    String.raw`(?:https?://[^\s<>"']+` +
    String.raw`|(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?:${TLD_ALTERNATION})(?![${WORD}-])(?::\p{Nd}{1,5})?(?:/[^\s<>"']*)?)`,
  "giu",
);

// Punctuation that ends a sentence rather than the link it follows.
const URL_TRAILING = new Set([...".,:;!?'\")]}"]);

const HASHTAG = new RegExp(String.raw`(?<![${WORD}&#])#([${WORD}]+)`, "gu");
const MENTION = /(?<![\p{L}\p{N}_@])@([A-Za-z0-9._]{1,30})/gu;

function inRanges(ranges: readonly Range[], cp: number): boolean {
  return ranges.some(([low, high]) => low <= cp && cp <= high);
}

function inRange([low, high]: Range, cp: number): boolean {
  return low <= cp && cp <= high;
}

export function normalise(text: string): string {
  return text.normalize("NFC");
}

/** [start, end) UTF-16 offsets of every URL in `text`, trailing sentence punctuation excluded. */
export function urlSpans(text: string): Array<[number, number]> {
  const spans: Array<[number, number]> = [];
  for (const match of text.matchAll(URL_PATTERN)) {
    const start = match.index;
    let end = start + match[0].length;
    while (end > start && URL_TRAILING.has(text[end - 1] ?? "")) end -= 1;
    const candidate = text.slice(start, end).toLowerCase().replace(/\/+$/, "");
    if (candidate === "http:" || candidate === "https:") continue;
    spans.push([start, end]);
  }
  return spans;
}

/** Index just past the emoji sequence starting at `i`, or `i` if none starts there. */
function emojiEnd(cps: number[], i: number): number {
  const n = cps.length;
  const cp = cps[i]!;
  if (inRange(REGIONAL_INDICATORS, cp)) {
    const next = cps[i + 1];
    return next !== undefined && inRange(REGIONAL_INDICATORS, next) ? i + 2 : i + 1;
  }
  if (KEYCAP_BASES.has(cp)) {
    let j = i + 1;
    if (j < n && cps[j] === VS16) j += 1;
    return j < n && cps[j] === KEYCAP ? j + 1 : i;
  }
  if (!inRanges(PICTOGRAPHIC_RANGES, cp)) return i;
  let j = elementEnd(cps, i);
  while (j + 1 < n && cps[j] === ZWJ && inRanges(PICTOGRAPHIC_RANGES, cps[j + 1]!)) {
    j = elementEnd(cps, j + 1);
  }
  // A text-style pictograph (©, ™, ↔ …) without any emoji modifier is plain text.
  const isEmojiBlock = (0x2600 <= cp && cp <= 0x27bf) || (0x2b00 <= cp && cp <= 0x2bff);
  if (j === i + 1 && cp < 0x1f000 && !isEmojiBlock) return i;
  return j;
}

/** One pictograph with its variation selector, skin tone and tag sequence (subdivision flags). */
function elementEnd(cps: number[], i: number): number {
  const n = cps.length;
  let j = i + 1;
  if (j < n && (cps[j] === VS15 || cps[j] === VS16)) j += 1;
  if (j < n && inRange(SKIN_TONES, cps[j]!)) j += 1;
  if (j < n && inRange(TAG_RANGE, cps[j]!)) {
    let k = j;
    while (k < n && inRange(TAG_RANGE, cps[k]!)) k += 1;
    if (k < n && cps[k] === TAG_CANCEL) j = k + 1;
  }
  if (j < n && cps[j] === KEYCAP) j += 1;
  return j;
}

function codePoints(text: string): number[] {
  return Array.from(text, (c) => c.codePointAt(0)!);
}

function weighPlain(segment: string): number {
  const cps = codePoints(segment);
  let total = 0;
  let i = 0;
  while (i < cps.length) {
    const end = emojiEnd(cps, i);
    if (end > i) {
      total += X_EMOJI_WEIGHT;
      i = end;
    } else {
      total += inRanges(X_LIGHT_RANGES, cps[i]!) ? 1 : 2;
      i += 1;
    }
  }
  return total;
}

/** Length of `text` as X counts it against the 280 limit (twitter-text v3). */
export function xWeightedLength(text: string): number {
  const normalised = normalise(text);
  let total = 0;
  let position = 0;
  for (const [start, end] of urlSpans(normalised)) {
    total += weighPlain(normalised.slice(position, start)) + X_URL_WEIGHT;
    position = end;
  }
  return total + weighPlain(normalised.slice(position));
}

export function codePointLength(text: string): number {
  return codePoints(normalise(text)).length;
}

export function hashtags(text: string): string[] {
  return Array.from(normalise(text).matchAll(HASHTAG), (m) => m[1]!);
}

export function mentions(text: string): string[] {
  return Array.from(normalise(text).matchAll(MENTION), (m) => m[1]!);
}

export type Network = "x" | "instagram" | "linkedin";

export interface CounterLimit {
  /** What is counted, for the label next to the number ("characters", "hashtags"). */
  label: string;
  used: number;
  max: number;
}

export interface NetworkCount {
  network: Network;
  /** The main length counter, first; secondary limits after it. */
  limits: CounterLimit[];
  over: boolean;
}

/** Every limit the composer shows for one network. */
export function countFor(network: Network, text: string): NetworkCount {
  let limits: CounterLimit[];
  switch (network) {
    case "x":
      limits = [{ label: "characters", used: xWeightedLength(text), max: X_MAX_WEIGHT }];
      break;
    case "instagram":
      limits = [
        { label: "characters", used: codePointLength(text), max: INSTAGRAM_CAPTION_LIMIT },
        { label: "hashtags", used: hashtags(text).length, max: INSTAGRAM_MAX_HASHTAGS },
        { label: "mentions", used: mentions(text).length, max: INSTAGRAM_MAX_MENTIONS },
      ];
      break;
    case "linkedin":
      limits = [{ label: "characters", used: codePointLength(text), max: LINKEDIN_COMMENTARY_LIMIT }];
      break;
  }
  return { network, limits, over: limits.some((l) => l.used > l.max) };
}
