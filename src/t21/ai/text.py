"""Text surgery on generated posts: hashtags, markdown and length limits.

Models are told the rules, but they do not always follow them, so everything a network would
reject (too long, markdown on LinkedIn, hashtags the user did not want) is enforced here on the
model's output. All functions are pure and work on any script, not just Latin text.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

__all__ = [
    "extract_hashtags",
    "fit_to_limit",
    "hashtag_spans",
    "strip_hashtags",
    "strip_markdown",
]

HASH_SIGNS = frozenset("#＃")
# Joiners are needed inside Persian/Indic words; the middle dots appear in Catalan and Japanese tags.
_EXTRA_TAG_CHARS = frozenset("\u200c\u200d\u00b7\u30fb_")

# Anything that looks like a link: a hashtag-looking "#frag" inside it is a URL fragment.
_URL_RE = re.compile(
    r"(?:[a-z][a-z0-9+.-]*://|www\.)\S+"
    r"|\b[\w-]+(?:\.[\w-]+)*\.[a-z]{2,}(?::\d+)?/\S*",
    re.IGNORECASE,
)


def _is_tag_char(ch: str) -> bool:
    if ch in _EXTRA_TAG_CHARS:
        return True
    category = unicodedata.category(ch)
    # Letters, combining marks (Devanagari vowel signs, Thai tone marks...) and decimal digits.
    return category[0] in "LM" or category == "Nd"


def _has_letter(body: str) -> bool:
    return any(unicodedata.category(ch)[0] in "LM" for ch in body)


def _url_spans(text: str) -> list[tuple[int, int]]:
    return [m.span() for m in _URL_RE.finditer(text)]


def _inside(pos: int, spans: list[tuple[int, int]]) -> bool:
    return any(start <= pos < end for start, end in spans)


def _next_sign(text: str, start: int) -> int:
    """Index of the next hash sign (either width) at or after `start`, -1 if none."""
    ascii_sign = text.find("#", start)
    wide_sign = text.find("＃", start)
    if ascii_sign < 0 or 0 <= wide_sign < ascii_sign:
        return wide_sign
    return ascii_sign


def hashtag_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of every hashtag in `text`, the sign included.

    Follows the rules people know from the networks: the sign must not be glued to a preceding
    word ("C#", "foo#bar") or be part of an HTML entity ("&#39;"), the tag needs at least one
    letter ("#1" is a rank, not a tag), and a tag running straight into another sign or "://"
    is not a tag at all.
    """
    if "#" not in text and "＃" not in text:
        return []
    urls = _url_spans(text)
    spans: list[tuple[int, int]] = []
    i = 0
    n = len(text)
    while i < n:
        start = _next_sign(text, i)
        if start < 0:
            break
        prev = text[start - 1] if start > 0 else ""
        j = start + 1
        while j < n and _is_tag_char(text[j]):
            j += 1
        body = text[start + 1 : j]
        glued = bool(prev) and (_is_tag_char(prev) or prev == "&" or prev in HASH_SIGNS)
        runs_on = j < n and (text[j] in HASH_SIGNS or text.startswith("://", j))
        if body and not glued and not runs_on and _has_letter(body) and not _inside(start, urls):
            spans.append((start, j))
        i = max(j, start + 1)
    return spans


def extract_hashtags(text: str) -> list[str]:
    """Hashtags in order of first appearance, with a leading '#', deduplicated case-insensitively.

    The first spelling wins ("#SummerSale" then "#summersale" gives ["#SummerSale"]), since the
    author's first casing is usually the deliberate one. A full-width sign is normalised to '#'.
    """
    seen: set[str] = set()
    tags: list[str] = []
    for start, end in hashtag_spans(text):
        tag = "#" + text[start + 1 : end]
        key = unicodedata.normalize("NFKC", tag).casefold()
        if key not in seen:
            seen.add(key)
            tags.append(tag)
    return tags


_SPACE_BEFORE_PUNCT = re.compile(r"[ \t]+([,.;:!?…。！？、])")
_HSPACE_RUN = re.compile(r"[ \t\u00a0]{2,}")
_BLANK_LINES = re.compile(r"\n{3,}")


def strip_hashtags(text: str) -> str:
    """Remove hashtags and tidy what is left.

    Tags that trail a line (the usual "...great news! #launch #startup" block, or a line made
    only of tags) are removed entirely. A tag in the middle of a sentence ("we love #coffee
    mornings") keeps its word and loses only the sign, because deleting it would break the
    sentence.
    """
    spans = hashtag_spans(text)
    if not spans:
        return text
    out: list[str] = []
    cursor = 0
    for index, (start, end) in enumerate(spans):
        out.append(text[cursor:start])
        # The mark lets tidying touch only the lines we changed, not the author's own spacing.
        out.append(_MARK if _trails_line(text, spans, index) else _MARK + text[start + 1 : end])
        cursor = end
    out.append(text[cursor:])
    lines: list[str] = []
    for line in "".join(out).split("\n"):
        if _MARK not in line:
            lines.append(line)
            continue
        line = line.replace(_MARK, "")
        line = _HSPACE_RUN.sub(" ", line)
        line = _SPACE_BEFORE_PUNCT.sub(r"\1", line).strip()
        # What is left of a line of tags is at most separators ("#a · #b"): drop the line.
        if all(unicodedata.category(ch).startswith("P") or ch.isspace() for ch in line):
            continue
        lines.append(line)
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


_MARK = "\x00"


def _trails_line(text: str, spans: list[tuple[int, int]], index: int) -> bool:
    """True when only whitespace, punctuation and further hashtags follow this tag on its line."""
    pos = spans[index][1]
    following = iter(spans[index + 1 :])
    nxt = next(following, None)
    while pos < len(text) and text[pos] != "\n":
        if nxt is not None and pos == nxt[0]:
            pos = nxt[1]
            nxt = next(following, None)
            continue
        ch = text[pos]
        if not (ch.isspace() or unicodedata.category(ch).startswith("P")):
            return False
        pos += 1
    return True


# --- markdown ---------------------------------------------------------------------------------

_FENCE = re.compile(r"^\s*(```|~~~).*$", re.MULTILINE)
_HEADER = re.compile(r"^[ \t]{0,3}#{1,6}[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$", re.MULTILINE)
_SETEXT_RULE = re.compile(r"^[ \t]*(?:[-*_][ \t]*){3,}$", re.MULTILINE)
_BLOCKQUOTE = re.compile(r"^[ \t]{0,3}>[ \t]?", re.MULTILINE)
_BULLET = re.compile(r"^([ \t]*)[-*+][ \t]+", re.MULTILINE)
_IMAGE = re.compile(r"!\[([^\]]*)\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
_LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
_BOLD = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1", re.DOTALL)
_STRIKE = re.compile(r"~~(?=\S)(.+?)(?<=\S)~~", re.DOTALL)
_ITALIC_STAR = re.compile(r"(?<![\w*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])")
# Underscore italics only at word edges: snake_case words and #my_tag must survive.
_ITALIC_UNDERSCORE = re.compile(r"(?<![\w_])_(?=\S)([^_\n]+?)(?<=\S)_(?![\w_])")
_CODE = re.compile(r"`([^`\n]+)`")
_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!>~|])")


def strip_markdown(text: str) -> str:
    """Markdown to plain text, for LinkedIn, which shows asterisks and pound signs literally.

    Bullets become "•" (plain text that LinkedIn readers expect), links become "text (url)",
    headers become their text; hashtags are left alone.
    """
    # Escaped characters are literal: hide them from the emphasis rules, restore them at the end.
    escaped: list[str] = []

    def _hide(match: re.Match[str]) -> str:
        escaped.append(match.group(1))
        return f"\ue000{len(escaped) - 1}\ue001"

    text = _ESCAPE.sub(_hide, text)
    text = _FENCE.sub("", text)
    text = _HEADER.sub(r"\1", text)
    text = _SETEXT_RULE.sub("", text)
    text = _BLOCKQUOTE.sub("", text)
    text = _BULLET.sub(r"\1• ", text)
    text = _IMAGE.sub(lambda m: m.group(1), text)
    text = _LINK.sub(
        lambda m: m.group(2) if m.group(1) == m.group(2) else f"{m.group(1)} ({m.group(2)})", text
    )
    text = _CODE.sub(r"\1", text)
    previous = None
    while previous != text:  # nested emphasis ("***both***") needs more than one pass
        previous = text
        text = _BOLD.sub(r"\2", text)
        text = _STRIKE.sub(r"\1", text)
        text = _ITALIC_STAR.sub(r"\1", text)
        text = _ITALIC_UNDERSCORE.sub(r"\1", text)
    text = re.sub("\ue000(\\d+)\ue001", lambda m: escaped[int(m.group(1))], text)
    lines = [line.rstrip() for line in text.split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


# --- length -----------------------------------------------------------------------------------

SENTENCE_ENDS = frozenset(".!?…。！？‼⁇⁈⁉")
_CLOSERS = frozenset("\"'”’»)]}」』）】")
_CJK_TERMINATORS = frozenset("。！？")
ELLIPSIS = "…"
# Left dangling at a cut they read as broken sentences ("We offer:…", "coffee, tea,…").
_TRAILING_JUNK = ",;:–—-/([{&+=*·•"


@dataclass(frozen=True)
class _Cut:
    end: int
    sentence: bool


def _is_cjk(ch: str) -> bool:
    cp = ord(ch)
    return (
        0x3040 <= cp <= 0x30FF  # kana
        or 0x3400 <= cp <= 0x4DBF
        or 0x4E00 <= cp <= 0x9FFF
        or 0xF900 <= cp <= 0xFAFF
        or 0x20000 <= cp <= 0x2FA1F
    )


def _cut_points(text: str) -> list[_Cut]:
    """Every place the text may end, in increasing order: after a sentence, or before a space.

    Between two CJK characters is also a word boundary (those scripts do not use spaces), except
    inside a hashtag or link, which must survive whole or not at all.
    """
    protected = hashtag_spans(text) + _url_spans(text)
    blocked = [False] * (len(text) + 1)
    for start, end in protected:
        for k in range(start + 1, end):
            blocked[k] = True
    cuts: dict[int, bool] = {}
    n = len(text)
    for i, ch in enumerate(text):
        if ch in SENTENCE_ENDS:
            end = i + 1
            while end < n and text[end] in _CLOSERS:
                end += 1
            at_break = ch in _CJK_TERMINATORS or end == n or text[end].isspace()
            if at_break and not blocked[end] and not (end < n and text[end] in SENTENCE_ENDS):
                cuts[end] = True
        if ch.isspace() and i > 0 and not text[i - 1].isspace() and not blocked[i]:
            cuts.setdefault(i, False)
        if i > 0 and _is_cjk(ch) and _is_cjk(text[i - 1]) and not blocked[i]:
            cuts.setdefault(i, False)
    cuts.pop(0, None)
    return [_Cut(end, sentence) for end, sentence in sorted(cuts.items())]


def _word_cut_text(text: str, end: int) -> str:
    head = text[:end].rstrip()
    while head and (head[-1] in _TRAILING_JUNK or head[-1].isspace()):
        head = head[:-1]
    if not head:
        return ""
    if head[-1] in SENTENCE_ENDS:
        return head
    return head + ELLIPSIS


def fit_to_limit(text: str, limit: int, measure: Callable[[str], int] = len) -> str:
    """The longest clean prefix of `text` whose `measure` is at most `limit`.

    A sentence boundary is preferred; if that would throw away more than half the room, the
    text is cut at the last whole word and marked with "…". Words, hashtags and links are never
    split: if not even the first word fits, the answer is "". `measure` lets callers use a
    network's own counting (X weighs CJK and emoji double and every link as 23).
    """
    if measure(text) <= limit:
        return text
    if limit <= 0:
        return ""
    cuts = _cut_points(text)
    best_sentence = _longest_fitting([c for c in cuts if c.sentence], text, limit, measure, sentence=True)
    if best_sentence is not None and measure(best_sentence) * 2 >= limit:
        return best_sentence
    best_word = _longest_fitting(cuts, text, limit, measure, sentence=False)
    candidates = [c for c in (best_sentence, best_word) if c]
    if not candidates:
        return ""
    return max(candidates, key=measure)


def drop_unfinished(text: str) -> str:
    """A text the model stopped writing mid-way (its token bound, finish_reason "length"), back to
    where it may end: its last whole sentence, or, when that would throw away more than half of
    it, its last whole word marked with "…". The last word counts as cut off unless a space
    follows it (a token can end inside a word, or inside a hashtag or link). "" when not even
    one whole word is left."""
    head = text.rstrip()
    if not head:
        return ""
    if head[-1] in SENTENCE_ENDS:
        return head
    cuts = _cut_points(head)
    if len(head) < len(text):
        cuts.append(_Cut(len(head), False))
    sentences = [c for c in cuts if c.sentence]
    if sentences and sentences[-1].end * 2 >= len(head):
        return head[: sentences[-1].end].rstrip()
    if not cuts:
        return ""
    last = cuts[-1]
    return head[: last.end].rstrip() if last.sentence else _word_cut_text(head, last.end)


def _longest_fitting(
    cuts: list[_Cut], text: str, limit: int, measure: Callable[[str], int], *, sentence: bool
) -> str | None:
    def render(cut: _Cut) -> str:
        return text[: cut.end].rstrip() if sentence or cut.sentence else _word_cut_text(text, cut.end)

    # Prefixes only grow, so measures are monotone in practice: binary search, then walk down
    # in case a caller's measure is not (a link completing can change X's count).
    lo, hi = 0, len(cuts) - 1
    found = -1
    while lo <= hi:
        mid = (lo + hi) // 2
        if measure(render(cuts[mid])) <= limit:
            found = mid
            lo = mid + 1
        else:
            hi = mid - 1
    for index in range(found if found >= 0 else len(cuts) - 1, -1, -1):
        candidate = render(cuts[index])
        if candidate and measure(candidate) <= limit:
            return candidate
    return None
