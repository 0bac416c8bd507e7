"""The pure post-processing rules (t21.ai.shaping), on texts a model could plausibly write."""

from __future__ import annotations

from t21.ai.shaping import Draft, clean, fit, shape, split_closing_hashtags
from t21.enums import Platform
from t21.platforms.text import x_weighted_length
from t21.platforms.validation import validate_content


def test_wrapping_quotes_are_removed_but_quotations_kept() -> None:
    assert clean(Platform.x, '"Fresh beans are here!"') == "Fresh beans are here!"
    assert clean(Platform.x, "“Fresh beans are here!”") == "Fresh beans are here!"
    quoted = '"Best flat white in town," said a regular. "Agreed"'
    assert clean(Platform.x, quoted) == quoted


def test_linkedin_markdown_becomes_plain_text_other_networks_untouched() -> None:
    raw = "**Big news**\n\n- Fresh beans\n- New grinder\n\nRead [more](https://example.com)."
    assert (
        clean(Platform.linkedin, raw)
        == "Big news\n\n• Fresh beans\n• New grinder\n\nRead more (https://example.com)."
    )
    assert clean(Platform.x, "**Big news**") == "**Big news**"


def test_instagram_drops_hashtags_past_thirty_from_the_end() -> None:
    tags = " ".join(f"#beans{i}" for i in range(33))
    text = clean(Platform.instagram, f"We love #coffee mornings.\n\n{tags}")
    assert validate_content(Platform.instagram, text, media=[("image", "image/jpeg")]).ok
    assert "We love #coffee mornings." in text
    assert text.endswith("#beans28")


def test_split_closing_hashtags() -> None:
    assert split_closing_hashtags("Great day! #coffee #Leeds") == ("Great day!", " ", "#coffee #Leeds")
    assert split_closing_hashtags("Great day!\n\n#coffee #Leeds") == ("Great day!", "\n\n", "#coffee #Leeds")
    assert split_closing_hashtags("We love #coffee mornings.") == ("We love #coffee mornings.", "", "")
    assert split_closing_hashtags("#only #tags") == ("#only #tags", "", "")


def test_shape_without_hashtags_keeps_the_list() -> None:
    draft = shape(Platform.x, "We love #coffee mornings. #Leeds #Beans", keep_hashtags=False)
    assert draft == Draft("We love coffee mornings.", ["#coffee", "#Leeds", "#Beans"])


def test_fit_cuts_at_a_sentence_and_keeps_the_closing_tags() -> None:
    body = " ".join(f"Sentence number {i} is about our coffee." for i in range(12))
    draft = fit(Platform.x, Draft(f"{body} #Coffee #Leeds", ["#Coffee", "#Leeds"]), keep_hashtags=True)
    assert x_weighted_length(draft.content) <= 280
    assert draft.content.endswith("coffee. #Coffee #Leeds")
    assert draft.hashtags == ["#Coffee", "#Leeds"]


def test_fit_one_long_sentence_ends_on_a_whole_word_with_an_ellipsis() -> None:
    text = "Our " + " ".join(["wonderfully aromatic"] * 40) + " beans"
    draft = fit(Platform.x, Draft(text, []), keep_hashtags=True)
    assert draft.content.endswith("…")
    assert text.startswith(draft.content[:-1])
    assert text[len(draft.content) - 1] == " "  # the cut fell between two words


def test_x_length_fast_path_agrees_with_the_full_weighing() -> None:
    import random
    import string

    from t21.ai.shaping import x_length

    pieces = [
        "https://example.com/a",
        "t.co",
        "example.com",
        "http://x.io/path?q=1.",
        "www.beanthere.example",
        "#1",
        "#*",
        "a.b",
        "(https://t21.example/x)",
        "e-mail: a@b.co",
    ]
    rng = random.Random(5)
    for _ in range(500):
        words = [
            rng.choice(pieces)
            if rng.random() < 0.3
            else "".join(rng.choices(string.printable, k=rng.randint(1, 9)))
            for _ in range(rng.randint(0, 30))
        ]
        text = " ".join(words)
        assert x_length(text) == x_weighted_length(text), text
    for text in ("Café ☕ time", "日本語のポスト https://example.com", "👩‍💻 #launch"):
        assert x_length(text) == x_weighted_length(text)


def test_an_answer_cut_off_by_max_tokens_goes_back_to_where_it_may_end() -> None:
    from t21.ai.text import drop_unfinished

    # The last whole sentence, when it keeps at least half the text...
    assert drop_unfinished("We roast daily. Fresh bags every Monday. Our new blend tastes of cher") == (
        "We roast daily. Fresh bags every Monday."
    )
    # ...a half-written closing hashtag goes with the rest of the cut...
    assert (
        drop_unfinished("Great coffee today, really great. #Coffee #Ro")
        == "Great coffee today, really great."
    )
    # ...else the last whole word, marked; a word followed by a space is whole.
    assert drop_unfinished("Hi! We roast every bean by hand in small batches every morni") == (
        "Hi! We roast every bean by hand in small batches every…"
    )
    assert drop_unfinished("We roast beans daily and grind ") == "We roast beans daily and grind…"
    assert drop_unfinished("Finished.") == "Finished."
    assert drop_unfinished("Unfinis") == ""
    assert drop_unfinished("   ") == ""
