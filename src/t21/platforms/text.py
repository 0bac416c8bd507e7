"""Counting rules the networks apply to post text, and the PKCE pair for OAuth.

X weighs text with twitter-text v3 (see platform-apis.md): after NFC normalisation, code points in
a few ranges weigh 1, every other code point weighs 2, every URL weighs 23 whatever its length, and
an emoji *sequence* (ZWJ family, flag, keycap, skin-tone variant, presentation form) weighs 2 as a
whole. Instagram and LinkedIn count code points after NFC.

The emoji and URL recognisers use the standard library only (no `regex` dependency): pictographs
are recognised by their Unicode blocks, URLs by scheme or by a known top-level domain.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import unicodedata

X_MAX_WEIGHT = 280
X_URL_WEIGHT = 23
# twitter-text v3 `ranges` with weight 100 (i.e. 1 character); everything else weighs 200 (2).
X_LIGHT_RANGES = ((0, 4351), (8192, 8205), (8208, 8223), (8242, 8247))
X_EMOJI_WEIGHT = 2

_ZWJ = 0x200D
_VS15, _VS16 = 0xFE0E, 0xFE0F
_KEYCAP = 0x20E3
_KEYCAP_BASES = frozenset(map(ord, "0123456789#*"))
_TAG_RANGE = (0xE0020, 0xE007E)
_TAG_CANCEL = 0xE007F

# Extended_Pictographic, by block: enough to tell where an emoji sequence starts.
_PICTOGRAPHIC_RANGES = (
    (0x00A9, 0x00A9),
    (0x00AE, 0x00AE),
    (0x203C, 0x203C),
    (0x2049, 0x2049),
    (0x2122, 0x2122),
    (0x2139, 0x2139),
    (0x2194, 0x2199),
    (0x21A9, 0x21AA),
    (0x231A, 0x231B),
    (0x2328, 0x2328),
    (0x23CF, 0x23CF),
    (0x23E9, 0x23F3),
    (0x23F8, 0x23FA),
    (0x24C2, 0x24C2),
    (0x25AA, 0x25AB),
    (0x25B6, 0x25B6),
    (0x25C0, 0x25C0),
    (0x25FB, 0x25FE),
    (0x2600, 0x27BF),
    (0x2934, 0x2935),
    (0x2B05, 0x2B07),
    (0x2B1B, 0x2B1C),
    (0x2B50, 0x2B50),
    (0x2B55, 0x2B55),
    (0x3030, 0x3030),
    (0x303D, 0x303D),
    (0x3297, 0x3297),
    (0x3299, 0x3299),
    (0x1F000, 0x1FAFF),
    (0x1FC00, 0x1FFFD),
)
_REGIONAL_INDICATORS = (0x1F1E6, 0x1F1FF)
_SKIN_TONES = (0x1F3FB, 0x1F3FF)

# Generic top-level domains people write bare (example.com), then every country code.
_TLD_ALTERNATION = (
    "com|net|org|info|biz|edu|gov|mil|int|name|pro|aero|coop|museum|mobi|jobs|travel|tel|asia|app|"
    "dev|xyz|online|site|tech|store|blog|shop|club|news|art|live|page|cloud|design|agency|email|"
    "social|media|link|world|today|space|website|digital|studio|network|global|company|solutions|"
    "group|life|fun|top|vip|wiki|ac|ad|ae|af|ag|ai|al|am|ao|aq|ar|as|at|au|aw|ax|az|ba|bb|bd|be|bf|"
    "bg|bh|bi|bj|bm|bn|bo|br|bs|bt|bw|by|bz|ca|cc|cd|cf|cg|ch|ci|ck|cl|cm|cn|co|cr|cu|cv|cw|cx|cy|cz|"
    "de|dj|dk|dm|do|dz|ec|ee|eg|er|es|et|eu|fi|fj|fk|fm|fo|fr|ga|gd|ge|gf|gg|gh|gi|gl|gm|gn|gp|gq|gr|"
    "gs|gt|gu|gw|gy|hk|hm|hn|hr|ht|hu|id|ie|il|im|in|io|iq|ir|is|it|je|jm|jo|jp|ke|kg|kh|ki|km|kn|kp|"
    "kr|kw|ky|kz|la|lb|lc|li|lk|lr|ls|lt|lu|lv|ly|ma|mc|md|me|mg|mh|mk|ml|mm|mn|mo|mp|mq|mr|ms|mt|mu|"
    "mv|mw|mx|my|mz|na|nc|ne|nf|ng|ni|nl|no|np|nr|nu|nz|om|pa|pe|pf|pg|ph|pk|pl|pm|pn|pr|ps|pt|pw|py|"
    "qa|re|ro|rs|ru|rw|sa|sb|sc|sd|se|sg|sh|si|sk|sl|sm|sn|so|sr|ss|st|sv|sx|sy|sz|tc|td|tf|tg|th|tj|"
    "tk|tl|tm|tn|to|tr|tt|tv|tw|tz|ua|ug|uk|us|uy|uz|va|vc|ve|vg|vi|vn|vu|wf|ws|ye|yt|za|zm|zw"
)
_URL = re.compile(
    r"(?<![\w@.\-/])"
    r"(?:https?://[^\s<>\"']+"
    rf"|(?:[a-z0-9](?:[a-z0-9-]{{0,61}}[a-z0-9])?\.)+(?:{_TLD_ALTERNATION})(?![\w-])(?::\d{{1,5}})?(?:/[^\s<>\"']*)?)",
    re.IGNORECASE,
)
# Punctuation that ends a sentence rather than the link it follows.
_URL_TRAILING = ".,:;!?'\")]}"

HASHTAG = re.compile(r"(?<![\w&#])#(\w+)")
MENTION = re.compile(r"(?<![\w@])@([A-Za-z0-9._]{1,30})")


def _in(ranges: tuple[tuple[int, int], ...], cp: int) -> bool:
    return any(low <= cp <= high for low, high in ranges)


def _is_pictographic(cp: int) -> bool:
    return _in(_PICTOGRAPHIC_RANGES, cp)


def normalise(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def url_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of every URL in `text`, trailing sentence punctuation excluded."""
    spans = []
    for match in _URL.finditer(text):
        start, end = match.span()
        while end > start and text[end - 1] in _URL_TRAILING:
            end -= 1
        if text[start:end].lower().rstrip("/") in ("http:", "https:"):
            continue
        spans.append((start, end))
    return spans


def _emoji_end(cps: list[int], i: int) -> int:
    """Index just past the emoji sequence starting at `i`, or `i` if none starts there."""
    n = len(cps)
    cp = cps[i]
    if _REGIONAL_INDICATORS[0] <= cp <= _REGIONAL_INDICATORS[1]:
        if i + 1 < n and _REGIONAL_INDICATORS[0] <= cps[i + 1] <= _REGIONAL_INDICATORS[1]:
            return i + 2
        return i + 1
    if cp in _KEYCAP_BASES:
        j = i + 1
        if j < n and cps[j] == _VS16:
            j += 1
        return j + 1 if j < n and cps[j] == _KEYCAP else i
    if not _is_pictographic(cp):
        return i
    j = _element_end(cps, i)
    while j + 1 < n and cps[j] == _ZWJ and _is_pictographic(cps[j + 1]):
        j = _element_end(cps, j + 1)
    # A text-style pictograph (©, ™, ↔ …) without any emoji modifier is plain text.
    if j == i + 1 and cp < 0x1F000 and not (0x2600 <= cp <= 0x27BF or 0x2B00 <= cp <= 0x2BFF):
        return i
    return j


def _element_end(cps: list[int], i: int) -> int:
    """One pictograph with its variation selector, skin tone and tag sequence (subdivision flags)."""
    n = len(cps)
    j = i + 1
    if j < n and cps[j] in (_VS15, _VS16):
        j += 1
    if j < n and _SKIN_TONES[0] <= cps[j] <= _SKIN_TONES[1]:
        j += 1
    if j < n and _TAG_RANGE[0] <= cps[j] <= _TAG_RANGE[1]:
        k = j
        while k < n and _TAG_RANGE[0] <= cps[k] <= _TAG_RANGE[1]:
            k += 1
        if k < n and cps[k] == _TAG_CANCEL:
            j = k + 1
    if j < n and cps[j] == _KEYCAP:
        j += 1
    return j


def _code_point_weight(cp: int) -> int:
    return 1 if _in(X_LIGHT_RANGES, cp) else 2


def _weigh_plain(segment: str) -> int:
    cps = [ord(c) for c in segment]
    total = 0
    i = 0
    while i < len(cps):
        end = _emoji_end(cps, i)
        if end > i:
            total += X_EMOJI_WEIGHT
            i = end
        else:
            total += _code_point_weight(cps[i])
            i += 1
    return total


def x_weighted_length(text: str) -> int:
    """Length of `text` as X counts it against the 280 limit (twitter-text v3)."""
    text = normalise(text)
    total = 0
    position = 0
    for start, end in url_spans(text):
        total += _weigh_plain(text[position:start]) + X_URL_WEIGHT
        position = end
    return total + _weigh_plain(text[position:])


def code_point_length(text: str) -> int:
    return len(normalise(text))


def hashtags(text: str) -> list[str]:
    return HASHTAG.findall(normalise(text))


def mentions(text: str) -> list[str]:
    return MENTION.findall(normalise(text))


def pkce_pair() -> tuple[str, str]:
    """(code_verifier, S256 code_challenge) per RFC 7636: 43–128 unreserved characters."""
    verifier = secrets.token_urlsafe(64)[:96]
    return verifier, pkce_challenge(verifier)


def pkce_challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
