"""Property tests for the counting rules: X's weighted length (twitter-text v3), code points for
Instagram and LinkedIn, and LinkedIn little-text escaping."""

from __future__ import annotations

import unicodedata

import httpx
from hypothesis import given
from hypothesis import strategies as st

from t21.emulators.linkedin import parse_little_text
from t21.platforms.base import ConnectorConfig
from t21.platforms.instagram import InstagramConnector
from t21.platforms.linkedin import escape_little_text, unescape_little_text
from t21.platforms.text import code_point_length, pkce_challenge, pkce_pair, x_weighted_length

# No '.', ':' or '/': these words can never form a URL.
ASCII_WORDS = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E, exclude_characters="./:")
)
CJK = st.text(alphabet=st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF), min_size=1)
EMOJI_SEQUENCES = [
    "👍",
    "👍🏽",  # skin tone
    "👨‍👩‍👧‍👦",  # ZWJ family
    "🧑🏿‍🚀",  # skin tone + ZWJ
    "🏳️‍🌈",  # presentation selector + ZWJ
    "🇫🇷",  # flag
    "🏴󠁧󠁢󠁳󠁣󠁴󠁿",  # subdivision flag (tag sequence)
    "1️⃣",  # keycap
    "#️⃣",
    "❤️",
    "©️",
    "☀",
]
# validate() is pure: a connector that never sends anything is enough.
INSTAGRAM = InstagramConnector(
    ConnectorConfig("id", None, "http://127.0.0.1:9", "http://127.0.0.1:9", "http://127.0.0.1:9/cb"),
    httpx.AsyncClient(),
)
URLS = st.builds(
    lambda scheme, labels, tld, path: f"{scheme}{'.'.join(labels)}.{tld}{path}",
    st.sampled_from(["https://", "http://", ""]),
    st.lists(st.from_regex(r"[a-z0-9]{1,20}", fullmatch=True), min_size=1, max_size=3),
    st.sampled_from(["com", "org", "io", "dev", "co", "fr", "de"]),
    st.from_regex(r"(/[A-Za-z0-9_\-]{0,30}){0,3}", fullmatch=True),
)


@given(ASCII_WORDS)
def test_ascii_weighs_one_per_character(text: str) -> None:
    assert x_weighted_length(text) == len(text)


@given(ASCII_WORDS, CJK)
def test_cjk_weighs_two(ascii_part: str, cjk: str) -> None:
    assert x_weighted_length(ascii_part + cjk) == len(ascii_part) + 2 * len(cjk)


@given(st.lists(st.tuples(st.sampled_from(EMOJI_SEQUENCES), ASCII_WORDS), max_size=10))
def test_each_emoji_sequence_weighs_two(pieces: list[tuple[str, str]]) -> None:
    text = "".join(f" {emoji} {words}" for emoji, words in pieces)
    expected = sum(2 + 2 + len(words) for _, words in pieces)  # two spaces + the emoji + the words
    assert x_weighted_length(text) == expected


@given(ASCII_WORDS, URLS, ASCII_WORDS)
def test_any_url_weighs_23(before: str, url: str, after: str) -> None:
    assert x_weighted_length(f"{before} {url} {after}") == len(before) + 1 + 23 + 1 + len(after)


@given(st.text(), st.text())
def test_whitespace_separated_text_adds_up_so_appending_never_shortens(first: str, second: str) -> None:
    joined = x_weighted_length(f"{first} {second}")
    assert joined == x_weighted_length(first) + 1 + x_weighted_length(second)
    assert joined >= x_weighted_length(first)


def test_weights_of_the_light_ranges_and_normalisation() -> None:
    assert x_weighted_length("\u2018quoted\u2019") == 8  # 8216/8217 are in 8208-8223
    assert x_weighted_length("\u2032") == 1  # prime, 8242
    assert x_weighted_length("\u2030") == 2  # per mille, 8240: outside every light range
    assert x_weighted_length("e\u0301") == 1  # NFC makes it one é
    assert x_weighted_length("界" * 140) == 280


@given(st.text())
def test_instagram_counts_code_points_after_nfc(text: str) -> None:
    assert code_point_length(text) == len(unicodedata.normalize("NFC", text))
    result = InstagramConnector.validate(
        InstagramConnector.__new__(InstagramConnector), text, media=[("image", "image/jpeg")]
    )
    assert result.length == code_point_length(text)
    assert ("too_long" in {i.code for i in result.issues}) == (result.length > 2200)


@given(st.text())
def test_little_text_escaping_is_never_cut_and_reads_back_unchanged(text: str) -> None:
    escaped = escape_little_text(text)
    kept, rendered = parse_little_text(escaped)
    assert kept == escaped
    assert rendered == text
    assert unescape_little_text(escaped) == text


def test_pkce_matches_rfc_7636() -> None:
    assert (
        pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")
        == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    )
    verifier, challenge = pkce_pair()
    assert 43 <= len(verifier) <= 128
    assert challenge == pkce_challenge(verifier)
