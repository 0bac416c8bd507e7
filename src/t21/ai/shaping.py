"""Turning a model's answer into a post the network accepts.

Models are told each network's rules but do not always follow them, so the answer is checked with
the very rules POST /posts applies (`t21.platforms.validation`) and repaired here:

- LinkedIn shows markdown literally: it is converted to plain text.
- Instagram refuses more than 30 hashtags: the last ones go.
- Hashtags are extracted (deduplicated, first spelling kept) and, when the caller does not want
  them in the text, stripped from it.
- Too long: the caller first asks the model once more for a shorter version (see
  `AIService`); what is still too long is trimmed here at a sentence boundary, or at the last
  whole word with "…", never inside a word, hashtag or link, keeping a closing block of hashtags
  when there is room for it.

Everything here is pure and synchronous.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

from t21.ai.text import extract_hashtags, fit_to_limit, hashtag_spans, strip_hashtags, strip_markdown
from t21.enums import Platform
from t21.platforms.base import ValidationResult
from t21.platforms.text import X_URL_WEIGHT, code_point_length, url_spans, x_weighted_length
from t21.platforms.validation import validate_content

# Instagram validation insists on media; a generated caption always goes with some, so the check
# runs as if there were one image and only the caption's own problems count.
_CAPTION_MEDIA = [("image", "image/jpeg")]
# (opening, closing) quotation marks a model may wrap its whole answer in.
_WRAPPERS = {'"': '"', "“": "”", "«": "»"}
_QUOTES = frozenset('"“”«»')
_HSPACE_RUN = re.compile(r"[ \t]{2,}")
_SPACE_BEFORE_PUNCT = re.compile(r"[ \t]+([,.;:!?…])")


@dataclass(frozen=True)
class Draft:
    content: str
    hashtags: list[str]


def measure(platform: Platform) -> Callable[[str], int]:
    """How the network counts length: X weighs (emoji and CJK double, links 23), others count code points."""
    return x_length if platform is Platform.x else code_point_length


def x_length(text: str) -> int:
    """`x_weighted_length`, with a fast path for the common all-ASCII post: every ASCII character
    weighs 1 on X and none starts an emoji sequence, so only links (23 each, whatever their
    length) differ from the plain length. The general walk costs ~0.4 ms per post."""
    if text.isascii():
        return len(text) + sum(X_URL_WEIGHT - (end - start) for start, end in url_spans(text))
    return x_weighted_length(text)


@cache
def hard_limit(platform: Platform) -> int:
    # The connector's own limit, so this can never disagree with POST /posts.
    return validate(platform, "x").limit


# The bound on what a model may write for one answer (`max_tokens`), so its length and its cost
# are never open-ended. English runs 3 to 4 characters a token, so a post at the network's limit
# is about limit / 3 tokens; the headroom covers hashtags, a wrapper the model adds despite being
# told not to (quotation marks, a preamble), scripts that take more tokens per character, and an
# answer somewhat over the limit (which `AIService` asks again or trims: cutting it here would only
# lose its end). Variants are separate choices (`n`), each bounded on its own, so the bound does not
# grow with them. Without a network (none of today's calls), the default.
CHARS_PER_TOKEN = 3
TOKEN_HEADROOM = 1.5
TOKEN_EXTRA = 64
DEFAULT_MAX_TOKENS = 1024


@cache
def max_tokens(platform: Platform | None) -> int:
    """`max_tokens` for one answer written for `platform` (X 204, Instagram 1,164, LinkedIn 1,564)."""
    if platform is None:
        return DEFAULT_MAX_TOKENS
    return math.ceil(hard_limit(platform) / CHARS_PER_TOKEN * TOKEN_HEADROOM) + TOKEN_EXTRA


def validate(platform: Platform, text: str) -> ValidationResult:
    media = _CAPTION_MEDIA if platform is Platform.instagram else None
    return validate_content(platform, text, media=media)


def issue_codes(platform: Platform, text: str) -> set[str]:
    return {issue.code for issue in validate(platform, text).issues}


def clean(platform: Platform, raw: str) -> str:
    """Network-specific clean-up that does not depend on length."""
    text = raw.strip()
    # Some models wrap the whole answer in quotation marks despite being told not to. Only a
    # pair with no other quotation mark between is a wrapper; otherwise the post quotes someone.
    if len(text) >= 2 and _WRAPPERS.get(text[0]) == text[-1] and not _QUOTES & set(text[1:-1]):
        text = text[1:-1].strip()
    if platform is Platform.linkedin:
        text = strip_markdown(text)
    if platform is Platform.instagram:
        text = cap_hashtags(text, platform)
    return text


def cap_hashtags(text: str, platform: Platform) -> str:
    """Remove hashtags from the end until the network's hashtag rule passes."""
    while "too_many_hashtags" in issue_codes(platform, text):
        spans = hashtag_spans(text)
        if not spans:
            break
        text = _remove_tag(text, spans, len(spans) - 1)
    return text


def _remove_tag(text: str, spans: list[tuple[int, int]], index: int) -> str:
    start, end = spans[index]
    rest_of_line = text[end:].split("\n", 1)[0]
    if rest_of_line.strip(" \t.,;:!?·•|") == "":
        # A closing tag goes entirely; one inside a sentence keeps its word (dropping it would
        # break the sentence).
        text = text[:start] + text[end:]
    else:
        text = text[:start] + text[start + 1 : end] + text[end:]
    lines = [_SPACE_BEFORE_PUNCT.sub(r"\1", _HSPACE_RUN.sub(" ", line)).rstrip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def shape(platform: Platform, text: str, *, keep_hashtags: bool) -> Draft:
    """The cleaned text with or without its hashtags; length is not touched."""
    tags = extract_hashtags(text)
    if keep_hashtags:
        return Draft(text, tags)
    return Draft(strip_hashtags(text), tags)


def too_long(platform: Platform, content: str) -> bool:
    return measure(platform)(content) > hard_limit(platform)


def fit(platform: Platform, draft: Draft, *, keep_hashtags: bool) -> Draft:
    """Trim to the network's limit. A closing block of hashtags is kept whole when the body can
    still say something in what is left (at least half the room)."""
    limit = hard_limit(platform)
    count = measure(platform)
    text = draft.content
    if count(text) <= limit:
        return draft
    body, separator, tail = split_closing_hashtags(text)
    fitted = ""
    if keep_hashtags and tail:
        room = limit - count(separator + tail)
        if room * 2 >= limit:
            body = fit_to_limit(body, room, count)
            fitted = f"{body}{separator}{tail}" if body else ""
    if not fitted:
        fitted = fit_to_limit(text, limit, count)
    tags = extract_hashtags(fitted) if keep_hashtags else draft.hashtags
    return Draft(fitted, tags)


def split_closing_hashtags(text: str) -> tuple[str, str, str]:
    """(body, separator, tail): the tail is the run of hashtags that ends the text, with only
    spaces and separators between them ("... today! #launch #coffee")."""
    spans = hashtag_spans(text)
    start = len(text)
    for span_start, span_end in reversed(spans):
        between = text[span_end:start]
        if any(not (ch.isspace() or unicodedata.category(ch).startswith("P")) for ch in between):
            break
        start = span_start
    if start == len(text) or not spans:
        return text, "", ""
    body = text[:start].rstrip()
    separator = text[len(body) : start]
    if not body:
        return text, "", ""
    return body, "\n\n" if "\n" in separator else " ", text[start:].strip()


def finish(platform: Platform, raw: str, *, keep_hashtags: bool) -> Draft:
    """clean → shape → fit, for callers that cannot ask the model again (streams)."""
    return fit(
        platform,
        shape(platform, clean(platform, raw), keep_hashtags=keep_hashtags),
        keep_hashtags=keep_hashtags,
    )
