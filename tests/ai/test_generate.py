"""POST /ai/generate-content: the seed's flow, per-network shaping, hashtags, variants, models."""

from __future__ import annotations

from typing import Any

import pytest

from t21.ai.shaping import split_closing_hashtags
from t21.emulators.base import Emulator
from t21.emulators.openrouter import parse_spec, write_post
from t21.enums import Platform
from t21.platforms.text import code_point_length, x_weighted_length
from t21.platforms.validation import validate_content
from tests.ai.conftest import GENERATE, Ledger, completions, script_answer, system_prompt
from tests.conftest import Account, assert_error


def passes(platform: str, content: str) -> bool:
    media = [("image", "image/jpeg")] if platform == "instagram" else None
    return validate_content(Platform(platform), content, media=media).ok


async def test_seed_flow(account: Account, brand: dict[str, Any], emulator: Emulator, ledger: Ledger) -> None:
    response = await account.post(
        GENERATE,
        json={
            "brandId": brand["id"],
            "prompt": "Announce our new single-origin espresso blend from Ethiopia",
            "platform": "x",
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {
        "content",
        "hashtags",
        "variants",
        "creditsRemaining",
        "generationId",
        "model",
        "usage",
        "emulated",
    }
    assert passes("x", body["content"])
    assert "Ethiopia" in body["content"] or "espresso" in body["content"].lower()
    assert body["hashtags"]
    assert all(tag.startswith("#") and tag in body["content"] for tag in body["hashtags"])
    assert body["variants"] == [{"content": body["content"], "hashtags": body["hashtags"]}]
    assert body["creditsRemaining"] == 19  # FREE: 20 a month, 1 per call
    assert body["model"] == "openai/gpt-4o-mini"
    assert body["emulated"] is False  # a key is configured: T21 cannot know it is an emulator
    usage = body["usage"]
    assert usage["promptTokens"] > 0
    assert usage["completionTokens"] > 0
    assert usage["totalTokens"] == usage["promptTokens"] + usage["completionTokens"]
    assert float(usage["cost"]) > 0

    # What went to the provider: the brand's voice, the network's limit, our key and app headers.
    (request,) = emulator.requests_to("POST", r"/api/v1/chat/completions")
    assert request.headers["authorization"] == "Bearer sk-or-test"
    assert request.headers["x-title"] == "T21"
    sent = request.json_body()
    system = system_prompt(sent)
    for expected in (
        "Bean There",
        "warm, witty",
        "coffee lovers",
        "Hard limit: 280 characters",
        "Platform: x",
        "Language: en",
    ):
        assert expected in system
    assert sent["model"] == "openai/gpt-4o-mini"

    # Charged once, and stored with everything needed to audit it.
    assert await ledger.credits_used(account.id) == 1
    stored = (await account.get(f"/api/v1/ai/generations/{body['generationId']}")).json()
    assert stored["prompt"].startswith("Announce our new single-origin")
    assert stored["content"] == body["content"]
    assert stored["brandId"] == brand["id"]
    assert stored["userId"] == account.id
    assert stored["creditsCharged"] == 1
    assert stored["kind"] == "generate"
    assert stored["platform"] == "x"
    assert stored["totalTokens"] == usage["totalTokens"]
    assert stored["cost"] == usage["cost"]


async def test_language_defaults_to_the_brand_and_can_be_overridden(
    account: Account, emulator: Emulator
) -> None:
    brand = await account.create_brand(name="Kaffeehaus", language="de")
    first = await account.post(
        GENERATE, json={"brandId": brand["id"], "prompt": "Neue Röstung", "platform": "linkedin"}
    )
    assert first.status_code == 200, first.text
    second = await account.post(
        GENERATE,
        json={"brandId": brand["id"], "prompt": "New roast", "platform": "linkedin", "language": "fr"},
    )
    assert second.status_code == 200, second.text
    sent = completions(emulator)
    assert "Language: de (German)" in system_prompt(sent[0])
    assert "Language: fr (French)" in system_prompt(sent[1])


@pytest.mark.parametrize(
    ("platform", "measure", "limit"),
    [
        ("x", x_weighted_length, 280),
        ("linkedin", code_point_length, 3000),
        ("instagram", code_point_length, 2200),
    ],
)
async def test_overshoot_is_asked_again_shorter(
    account: Account, brand: dict[str, Any], emulator: Emulator, platform: str, measure: Any, limit: int
) -> None:
    response = await account.post(
        GENERATE,
        json={
            "brandId": brand["id"],
            "prompt": "Our autumn menu is here [emulator:overshoot]",
            "platform": platform,
        },
    )
    assert response.status_code == 200, response.text
    content = response.json()["content"]
    assert measure(content) <= limit
    assert passes(platform, content)
    first, second = completions(emulator)
    assert f"Hard limit: {limit} characters" in system_prompt(first)
    # The second request is a rewrite of the first answer with a lower limit.
    assert "Task: rewrite" in system_prompt(second)
    assert f"Hard limit: {int(limit * 0.9)} characters" in system_prompt(second)
    # The provider's tokens for both calls are accounted for; the user pays one call.
    assert response.json()["creditsRemaining"] == 19


async def test_x_overshoot_twice_is_trimmed_by_weighted_length_at_a_boundary(
    account: Account, brand: dict[str, Any], emulator: Emulator
) -> None:
    emulator.store["overshoot"] = True  # the model overshoots the retry as well
    prompt = "東京の新しいカフェ 渋谷コーヒー祭り 🎉"
    response = await account.post(GENERATE, json={"brandId": brand["id"], "prompt": prompt, "platform": "x"})
    assert response.status_code == 200, response.text
    content = response.json()["content"]
    assert len(completions(emulator)) == 2
    assert x_weighted_length(content) <= 280
    assert passes("x", content)
    # CJK and emoji count double on X: measuring code points would have let this through.
    assert any("\u3040" <= ch <= "\u9fff" for ch in content)
    assert code_point_length(content) < x_weighted_length(content)
    # What the model answered the second time (the emulator is deterministic): the result is a
    # prefix of it cut at a word boundary, with its closing hashtags kept whole.
    spec = parse_spec(completions(emulator)[1]["messages"])
    spec.overshoot = True
    raw = write_post(spec)
    raw_body, _, raw_tail = split_closing_hashtags(raw)
    body, _, tail = split_closing_hashtags(content)
    assert tail == raw_tail
    assert tail.startswith("#")
    kept = body.removesuffix("…")
    assert kept
    assert raw_body.startswith(kept)
    assert raw_body[len(kept)] == " " or kept.endswith((".", "!", "?"))


async def test_trimming_keeps_the_closing_hashtags_and_whole_words(
    account: Account, brand: dict[str, Any], emulator: Emulator
) -> None:
    sentence = "Our roastery opens its doors this Saturday for a cupping session with the whole team."
    raw = " ".join([sentence] * 6) + " #CoffeeLovers #Leeds"
    script_answer(emulator, raw, count=2)  # the answer and the retry both overshoot
    response = await account.post(
        GENERATE, json={"brandId": brand["id"], "prompt": "Open day", "platform": "x"}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert passes("x", body["content"])
    assert body["content"].endswith("team. #CoffeeLovers #Leeds")
    assert body["content"].startswith(sentence)
    assert body["hashtags"] == ["#CoffeeLovers", "#Leeds"]


async def test_linkedin_markdown_is_stripped(
    account: Account, brand: dict[str, Any], emulator: Emulator
) -> None:
    emulator.store["markdown"] = True
    response = await account.post(
        GENERATE,
        json={
            "brandId": brand["id"],
            "prompt": "Lessons from ten years of roasting",
            "platform": "linkedin",
        },
    )
    assert response.status_code == 200, response.text
    content = response.json()["content"]
    assert "**" not in content
    assert "\n- " not in content
    assert not content.startswith("- ")
    assert "•" in content  # bullets become plain-text bullets LinkedIn readers expect
    assert passes("linkedin", content)


async def test_hashtags_deduplicated_case_preserved_and_kept(
    account: Account, brand: dict[str, Any], emulator: Emulator
) -> None:
    script_answer(emulator, "Fresh beans for #SummerSale days! Grab a bag. #summersale #Café #SummerSale")
    response = await account.post(GENERATE, json={"brandId": brand["id"], "prompt": "Sale", "platform": "x"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["hashtags"] == ["#SummerSale", "#Café"]
    assert "#Café" in body["content"]


async def test_keep_hashtags_false_strips_them_but_lists_them(
    account: Account, brand: dict[str, Any], emulator: Emulator
) -> None:
    response = await account.post(
        GENERATE,
        json={
            "brandId": brand["id"],
            "prompt": "Launch of our #ColdBrew cans",
            "platform": "instagram",
            "keepHashtags": False,
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert "#" not in body["content"]
    assert (
        "ColdBrew" in body["content"] or "cans" in body["content"]
    )  # a tag inside a sentence keeps its word
    assert "#ColdBrew" in body["hashtags"]
    # The model is still asked for hashtags: they are moved out of the text, not done without.
    assert "Hashtags: at most 30" in system_prompt(completions(emulator)[0])


async def test_instagram_keeps_at_most_30_hashtags(
    account: Account, brand: dict[str, Any], emulator: Emulator
) -> None:
    tags = " ".join(f"#tag{i}coffee" for i in range(40))
    script_answer(emulator, f"✨ New beans in the shop.\n\nCome say hi!\n\n{tags}")
    response = await account.post(
        GENERATE, json={"brandId": brand["id"], "prompt": "New beans", "platform": "instagram"}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert len(body["hashtags"]) == 30
    assert body["hashtags"][0] == "#tag0coffee"
    assert body["hashtags"][-1] == "#tag29coffee"
    assert "#tag30coffee" not in body["content"]
    assert passes("instagram", body["content"])


async def test_variants_in_one_call(
    account: Account, brand: dict[str, Any], emulator: Emulator, ledger: Ledger
) -> None:
    response = await account.post(
        GENERATE,
        json={
            "brandId": brand["id"],
            "prompt": "Weekend opening hours change",
            "platform": "x",
            "variants": 3,
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    contents = [v["content"] for v in body["variants"]]
    assert len(contents) == 3
    assert len(set(contents)) == 3
    assert body["content"] == contents[0]
    assert body["hashtags"] == body["variants"][0]["hashtags"]
    assert all(passes("x", c) for c in contents)
    (sent,) = completions(emulator)
    assert sent["n"] == 3
    # Three variants cost three calls' credits.
    assert body["creditsRemaining"] == 17
    assert await ledger.credits_used(account.id) == 3
    stored = (await account.get(f"/api/v1/ai/generations/{body['generationId']}")).json()
    assert stored["variants"] == contents
    assert stored["creditsCharged"] == 3


async def test_model_choice_is_limited_to_the_allow_list(
    app_factory: Any, openrouter_server: Any, emulator: Emulator, register: Any
) -> None:
    from tests.ai.conftest import ai_settings
    from tests.conftest import client_for

    app = await app_factory(
        **ai_settings(openrouter_server, ai_allowed_models=["anthropic/claude-3.5-haiku"])
    )
    async with client_for(app) as http:
        person = await register(on=http)
        brand = await person.create_brand()
        refused = await person.post(
            GENERATE,
            json={"brandId": brand["id"], "prompt": "Hi", "platform": "x", "model": "openai/gpt-5-pro"},
        )
        details = assert_error(refused, 422, "model_not_allowed")["details"]
        assert details["allowedModels"] == ["openai/gpt-4o-mini", "anthropic/claude-3.5-haiku"]
        assert completions(emulator) == []
        chosen = await person.post(
            GENERATE,
            json={
                "brandId": brand["id"],
                "prompt": "Hi there",
                "platform": "x",
                "model": "anthropic/claude-3.5-haiku",
            },
        )
        assert chosen.status_code == 200, chosen.text
        assert chosen.json()["model"] == "anthropic/claude-3.5-haiku"
        assert completions(emulator)[0]["model"] == "anthropic/claude-3.5-haiku"


async def test_fallback_model_answers_when_the_primary_is_down(
    app_factory: Any, openrouter_server: Any, emulator: Emulator, register: Any
) -> None:
    from tests.ai.conftest import ai_settings
    from tests.conftest import client_for

    app = await app_factory(**ai_settings(openrouter_server, ai_fallback_models=["mistralai/mistral-small"]))
    emulator.store["unavailable_models"] = ["openai/gpt-4o-mini"]
    async with client_for(app) as http:
        person = await register(on=http)
        brand = await person.create_brand()
        response = await person.post(
            GENERATE, json={"brandId": brand["id"], "prompt": "Hello", "platform": "x"}
        )
        assert response.status_code == 200, response.text
        assert response.json()["model"] == "mistralai/mistral-small"
        assert completions(emulator)[0]["models"] == ["mistralai/mistral-small"]


async def test_rewrite_adapts_to_another_network_and_tone(
    account: Account, brand: dict[str, Any], emulator: Emulator, ledger: Ledger
) -> None:
    original = (
        "After ten years of roasting we learned three things. First, freshness beats origin. "
        "Second, customers notice consistency. Third, a good grinder matters more than a fancy machine. "
        "#coffee #roasting"
    )
    response = await account.post(
        "/api/v1/ai/rewrite",
        json={
            "brandId": brand["id"],
            "text": original,
            "targetPlatform": "x",
            "tone": "playful",
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert passes("x", body["content"])
    assert body["creditsRemaining"] == 19
    system = system_prompt(completions(emulator)[0])
    assert "Task: rewrite" in system
    assert "Tone of voice: playful" in system
    assert "Platform: x" in system
    stored = (await account.get(f"/api/v1/ai/generations/{body['generationId']}")).json()
    assert stored["kind"] == "rewrite"
    assert stored["prompt"] == original
    assert stored["platform"] == "x"
    assert await ledger.credits_used(account.id) == 1


@pytest.mark.parametrize(
    "change",
    [
        {"prompt": ""},
        {"prompt": "   \n\t "},
        {"prompt": "x" * 4001},
        {"platform": "tiktok"},
        {"variants": 0},
        {"variants": 6},
        {"language": "not a language"},
        {"surprise": True},
    ],
)
async def test_bad_input_is_refused_before_any_provider_call(
    account: Account, brand: dict[str, Any], emulator: Emulator, change: dict[str, Any]
) -> None:
    body = {"brandId": brand["id"], "prompt": "A good brief", "platform": "x", **change}
    assert_error(await account.post(GENERATE, json=body), 422, "validation_error")
    assert completions(emulator) == []


async def test_longest_prompt_is_accepted(account: Account, brand: dict[str, Any]) -> None:
    prompt = ("Coffee " * 700)[:4000]
    response = await account.post(
        GENERATE, json={"brandId": brand["id"], "prompt": prompt, "platform": "linkedin"}
    )
    assert response.status_code == 200, response.text


async def test_rewrite_bad_input(account: Account, brand: dict[str, Any]) -> None:
    for change in ({"text": ""}, {"text": " "}, {"text": "a" * 10001}, {"targetPlatform": "myspace"}):
        body = {"brandId": brand["id"], "text": "Some post", "targetPlatform": "x", **change}
        assert_error(await account.post("/api/v1/ai/rewrite", json=body), 422, "validation_error")


async def test_server_timing_reports_the_providers_time(
    account: Account, brand: dict[str, Any], emulator: Emulator
) -> None:
    emulator.store["delay_seconds"] = 0.25
    response = await account.post(GENERATE, json={"brandId": brand["id"], "prompt": "Hello", "platform": "x"})
    assert response.status_code == 200, response.text
    timing = response.headers["server-timing"]
    assert timing.startswith("provider;dur=")
    provider_ms = float(timing.split("dur=")[1].split(";")[0])
    assert 250 <= provider_ms < 2000
