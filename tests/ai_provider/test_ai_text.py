"""Hashtags, markdown and length fitting on model output, with property tests across scripts."""

from __future__ import annotations

import unicodedata

from hypothesis import example, given, settings
from hypothesis import strategies as st

from t21.ai.text import extract_hashtags, fit_to_limit, strip_hashtags, strip_markdown

SENTENCE_ENDS = ".!?…。！？"

# Letters (and marks where the script needs them) from scripts people tag in.
SCRIPTS = {
    "latin": "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZéüßçñøÅ",
    "cyrillic": "абвгдежзийклмнопрстуфхцчшщыэюяАБВГДЖЗ",
    "greek": "αβγδεζηθικλμνξοπρστυφχψωΣΩΔ",
    "arabic": "ابتثجحخدذرزسشصضطظعغفقكلمنهوي",
    "devanagari": "कखगघचछजझटठडढणतथदधनपफबभमयरलवशसह\u093e\u093f\u0940\u0941\u0947\u094d",
    "cjk": "東京旅行日本語写真猫犬春夏秋冬",
    "hangul": "한국어여행사진고양이",
    "thai": "กขคงจฉชซญดตถทนบปผพฟมยรลวสหอ\u0e31\u0e34\u0e35\u0e48",
}


def is_letter(ch: str) -> bool:
    return unicodedata.category(ch)[0] == "L"


@st.composite
def tag_bodies(draw: st.DrawFn) -> str:
    alphabet = draw(st.sampled_from(sorted(SCRIPTS.values())))
    body = draw(st.text(alphabet=alphabet + "_0123456789", min_size=1, max_size=12))
    # A tag needs a letter; put one first so marks never start a tag.
    return draw(st.sampled_from([c for c in alphabet if is_letter(c)])) + body


def key(tag: str) -> str:
    return unicodedata.normalize("NFKC", tag).casefold()


plain_words = st.text(alphabet="abcdefghij klmnop", min_size=0, max_size=20).map(str.strip)


@given(st.lists(st.tuples(tag_bodies(), plain_words), min_size=1, max_size=8))
@example([("Summer", "hello"), ("summer", ""), ("SUMMER", "x")])
@example([("Straße", ""), ("STRASSE", "")])
def test_hashtags_in_any_script_deduplicated_first_case_wins(pairs: list[tuple[str, str]]) -> None:
    text = " ".join(f"#{body} {words}" for body, words in pairs)
    expected: list[str] = []
    for body, _ in pairs:
        if key("#" + body) not in {key(t) for t in expected}:
            expected.append("#" + body)
    assert extract_hashtags(text) == expected


@given(st.text(alphabet="abcxyz-_0123", min_size=1, max_size=10), tag_bodies())
def test_url_fragments_are_not_hashtags(fragment: str, body: str) -> None:
    text = (
        f"Read https://example.com/page#{fragment} and www.t21.example/#{fragment} "
        f"or example.org/docs#{fragment} #{body}"
    )
    assert extract_hashtags(text) == [f"#{body}"]


def test_what_is_not_a_hashtag() -> None:
    text = "We're #1, C# and F#, foo#bar, &#39;quoted&#39;, #123 #_ #a#b ##double, price #42!"
    assert extract_hashtags(text) == []


def test_hashtag_edges() -> None:
    assert extract_hashtags("(#Launch) #día_1, #日本。#東京") == ["#Launch", "#día_1", "#日本", "#東京"]
    assert extract_hashtags("full width ＃タグ here") == ["#タグ"]
    # Persian tags need the zero-width non-joiner inside the word.
    assert extract_hashtags("#می\u200cخواهم") == ["#می\u200cخواهم"]


@given(st.lists(st.one_of(tag_bodies().map(lambda b: "#" + b), plain_words), max_size=12), st.booleans())
def test_strip_hashtags_leaves_none_and_keeps_the_words(parts: list[str], newline: bool) -> None:
    text = (" " if not newline else "\n").join(parts)
    stripped = strip_hashtags(text)
    assert extract_hashtags(stripped) == []
    for word in " ".join(p for p in parts if not p.startswith("#")).split():
        assert word in stripped


def test_strip_hashtags_trailing_blocks_go_inline_words_stay() -> None:
    text = "Loving the #sunshine today.\nBig news! #launch #startup\n\n#coffee #berlin #tag"
    assert strip_hashtags(text) == "Loving the sunshine today.\nBig news!"
    assert strip_hashtags("Our #OatLatte is here, try it! #coffee") == "Our OatLatte is here, try it!"
    assert strip_hashtags("No tags here,  spacing   kept.") == "No tags here,  spacing   kept."
    assert strip_hashtags("Line one\n\n#a · #b\n\nLine two #x") == "Line one\n\nLine two"


def test_strip_markdown_for_linkedin() -> None:
    text = (
        "## Why we did it\n\n"
        "**Bold claim** and *soft* and _gentle_ and ***both*** and ~~old~~.\n"
        "- first point\n"
        "* second point\n"
        "> quoted wisdom\n"
        "See [our site](https://t21.example) and [https://a.example](https://a.example), `code`.\n"
        "---\n"
        "snake_case_name stays, #my_tag stays, 2*3*4 stays, \\*literal\\*"
    )
    assert strip_markdown(text) == (
        "Why we did it\n\n"
        "Bold claim and soft and gentle and both and old.\n"
        "• first point\n"
        "• second point\n"
        "quoted wisdom\n"
        "See our site (https://t21.example) and https://a.example, code.\n\n"
        "snake_case_name stays, #my_tag stays, 2*3*4 stays, *literal*"
    )


# --- fit_to_limit -----------------------------------------------------------------------------


def weighted(text: str) -> int:
    """X-like weighting: CJK and other wide code points count double."""
    return sum(1 if ord(ch) <= 4351 else 2 for ch in text)


words = st.text(alphabet="abcdefghijklmnopqrstuvwxyzäöüçé'", min_size=1, max_size=12)
tokens = st.one_of(
    words,
    words.map(lambda w: w + ","),
    words.map(lambda w: w + "."),
    words.map(lambda w: w + "!"),
    words.map(lambda w: "#" + w + "x"),
    st.just("https://t21.example/a-long/path#frag"),
    st.just("—"),
)
texts = st.lists(tokens, min_size=1, max_size=40).map(" ".join)


def ends_cleanly(text: str, result: str) -> bool:
    core = result.removesuffix("…")
    if not text.startswith(core):
        return False
    if len(core) == len(text) or not core:
        return True
    # Never between two letters of one word (a cut may drop trailing commas or dashes).
    return not (core[-1].isalnum() and text[len(core)].isalnum())


@settings(max_examples=300)
@given(texts, st.integers(min_value=0, max_value=300), st.sampled_from([len, weighted]))
def test_fit_to_limit_properties(text: str, limit: int, measure: object) -> None:
    assert callable(measure)
    result = fit_to_limit(text, limit, measure)
    assert measure(result) <= limit
    if measure(text) <= limit:
        assert result == text
        return
    assert ends_cleanly(text, result)
    core = result.removesuffix("…")
    kept = core.split()
    original = text.split()
    # Whole words only: every kept token is the token at that position, the last one possibly
    # without trailing punctuation.
    if kept:
        assert kept[:-1] == original[: len(kept) - 1]
        assert original[len(kept) - 1].startswith(kept[-1])
        assert kept[-1].rstrip(",;:–—-/") == original[len(kept) - 1].rstrip(",;:–—-/")
    # No half hashtags or half links survive.
    assert set(extract_hashtags(result)) <= set(extract_hashtags(text))
    for token in kept:
        if token.startswith("https://"):
            assert token.rstrip(",") == "https://t21.example/a-long/path#frag"
    # A result either ends a sentence or is marked as cut.
    assert result == "" or result[-1] in SENTENCE_ENDS


@given(
    st.lists(
        st.text(alphabet="東京日本語写真猫犬春夏秋冬ひらがなカタカナ", min_size=1, max_size=15),
        min_size=1,
        max_size=8,
    ),
    st.integers(min_value=1, max_value=80),
)
def test_fit_to_limit_cjk_without_spaces(sentences: list[str], limit: int) -> None:
    text = "".join(s + "。" for s in sentences) + "#東京旅行"
    result = fit_to_limit(text, limit, weighted)
    assert weighted(result) <= limit
    assert text.startswith(result.removesuffix("…"))
    # The tag at the end is kept whole or dropped, never cut into a different tag.
    assert extract_hashtags(result) in ([], ["#東京旅行"])


def test_fit_prefers_a_sentence_boundary() -> None:
    text = "We roast every bean by hand in Berlin. Now our oat-milk latte is in all stores! Come by."
    assert (
        fit_to_limit(text, 85)
        == "We roast every bean by hand in Berlin. Now our oat-milk latte is in all stores!"
    )
    assert fit_to_limit(text, 60) == "We roast every bean by hand in Berlin."


def test_fit_falls_back_to_words_with_an_ellipsis() -> None:
    text = "A tiny start. Then one very long sentence that keeps going without any stop at all"
    result = fit_to_limit(text, 50)
    assert result == "A tiny start. Then one very long sentence that…"
    assert fit_to_limit("Coffee, tea, cocoa and more", 13) == "Coffee, tea…"
    assert fit_to_limit("Supercalifragilistic", 10) == ""


def test_fit_never_leaves_a_hashtag_fragment() -> None:
    text = "Big launch today for everyone #SummerCollection2026 #BerlinCoffee"
    for limit in range(1, len(text)):
        result = fit_to_limit(text, limit)
        assert len(result) <= limit
        for tag in extract_hashtags(result):
            assert tag in ("#SummerCollection2026", "#BerlinCoffee")
        assert not result.rstrip("…").endswith("#")


def test_fit_with_closing_quotes_and_cjk_terminators() -> None:
    assert fit_to_limit('She said "wow." Then more text here', 20) == 'She said "wow."'
    assert fit_to_limit("今日は晴れ。明日は雨です。", 14, weighted) == "今日は晴れ。"
