"""The emulator answers like OpenRouter and honours the prompt conventions our side relies on."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from t21.ai.prompts import BrandVoice, build_generation_messages, build_rewrite_messages
from t21.ai.text import extract_hashtags, fit_to_limit, strip_markdown
from t21.emulators.base import Emulator, Fault, RunningServer
from t21.emulators.openrouter import weighted_length
from t21.integrations.openrouter import OpenRouterClient

PATH = "/api/v1/chat/completions"
BRAND = BrandVoice(
    name="Bean There",
    tone_of_voice="warm",
    target_audience="commuters",
    description="Coffee roaster",
    website="https://beanthere.example",
)
BRIEFS = [
    "Announce our new oat-milk latte, available from Monday in all Berlin stores",
    "Share three tips for brewing better filter coffee at home, with a nod to our Ethiopian single origin",
    "Wir feiern zehn Jahre Rösterei mit einem Fest im Hinterhof am Samstag",
    "新しいオーツミルクラテが登場しました。ベルリンの全店舗で販売中です。",
    "x",
]
LIMITS = {"x": 280, "linkedin": 3000, "instagram": 2200}


@pytest.fixture
async def raw(openrouter_server: RunningServer, emulator: Emulator) -> Any:
    async with httpx.AsyncClient(base_url=openrouter_server.url) as http:
        yield http


@pytest.mark.parametrize("platform", ["x", "linkedin", "instagram"])
@pytest.mark.parametrize("language", ["en", "de", "fr", "es", "ja"])
async def test_answers_stay_within_the_hard_limit(
    client: OpenRouterClient, platform: str, language: str
) -> None:
    for brief in BRIEFS:
        messages = build_generation_messages(BRAND, brief, platform, language=language)
        done = await client.complete(messages, model="m/a", n=3)
        for text in done.variants:
            assert text
            assert weighted_length(text) <= LIMITS[platform]
            assert len(extract_hashtags(text)) <= {"x": 2, "linkedin": 3, "instagram": 30}[platform]
        assert len(set(done.variants)) == 3


async def test_answers_use_the_brief_brand_and_language(client: OpenRouterClient) -> None:
    messages = build_generation_messages(BRAND, BRIEFS[0], "linkedin", language="de")
    done = await client.complete(messages, model="m/a")
    assert "oat-milk latte" in done.content
    assert "Bean There" in done.content or "https://beanthere.example" in done.content
    assert any(word in done.content for word in (" und ", " wir ", " dich ", "Mehr"))
    assert "\n\n" in done.content  # LinkedIn: short paragraphs
    assert "**" not in done.content
    tags = extract_hashtags(done.content)
    assert tags
    assert done.content.rstrip().endswith(tags[-1])


async def test_hashtags_off_means_no_hashtags(client: OpenRouterClient) -> None:
    messages = build_generation_messages(BRAND, BRIEFS[0], "instagram", keep_hashtags=False)
    done = await client.complete(messages, model="m/a")
    assert extract_hashtags(done.content) == []


async def test_hashtags_from_the_brief_are_kept(client: OpenRouterClient) -> None:
    messages = build_generation_messages(BRAND, BRIEFS[0] + " #OatLatte", "x")
    done = await client.complete(messages, model="m/a")
    assert "#OatLatte" in extract_hashtags(done.content)


async def test_answers_are_deterministic(client: OpenRouterClient) -> None:
    messages = build_generation_messages(BRAND, BRIEFS[1], "instagram")
    first = await client.complete(messages, model="m/a", n=2)
    second = await client.complete(messages, model="m/a", n=2)
    assert first.variants == second.variants


async def test_overshoot_marker_breaks_the_limit_in_whole_sentences(client: OpenRouterClient) -> None:
    messages = build_generation_messages(BRAND, BRIEFS[0] + " [emulator:overshoot]", "x")
    done = await client.complete(messages, model="m/a")
    assert weighted_length(done.content) > 280
    assert "[emulator:" not in done.content
    # Our side can always recover: trimmed at a sentence, within the limit.
    trimmed = fit_to_limit(done.content, 280, weighted_length)
    assert weighted_length(trimmed) <= 280
    assert trimmed.endswith((".", "!", "?"))


async def test_overshoot_store_count_applies_once_so_asking_again_works(
    client: OpenRouterClient, emulator: Emulator
) -> None:
    emulator.store["overshoot"] = 1
    messages = build_generation_messages(BRAND, BRIEFS[0], "x")
    too_long = await client.complete(messages, model="m/a")
    assert weighted_length(too_long.content) > 280
    shortened = await client.complete(build_rewrite_messages(BRAND, too_long.content, "x"), model="m/a")
    assert weighted_length(shortened.content) <= 280


async def test_markdown_flag_gives_markdown_that_we_can_strip(
    client: OpenRouterClient, emulator: Emulator
) -> None:
    emulator.store["markdown"] = True
    done = await client.complete(build_generation_messages(BRAND, BRIEFS[1], "linkedin"), model="m/a")
    assert done.content.startswith("**")
    assert "\n- " in done.content
    plain = strip_markdown(done.content)
    assert "**" not in plain
    assert "\n- " not in plain


async def test_rewrite_keeps_the_original_message(client: OpenRouterClient) -> None:
    original = "Our oat-milk latte is here. Try it in every Berlin store from Monday! #coffee"
    done = await client.complete(build_rewrite_messages(BRAND, original, "linkedin"), model="m/a", n=2)
    assert done.variants[0].startswith("Our oat-milk latte is here.")
    assert "Try it in every Berlin store from Monday!" in done.variants[1]
    assert "#coffee" in extract_hashtags(done.variants[0])


async def test_moderation_fault_body(raw: httpx.AsyncClient, emulator: Emulator) -> None:
    emulator.add_fault(Fault(match=f"POST {PATH}", kind="status", status=403))
    response = await raw.post(PATH, json={"model": "m/a", "messages": [{"role": "user", "content": "hi"}]})
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == 403
    assert error["metadata"]["reasons"] == ["violence"]


async def test_rate_limit_fault_headers(raw: httpx.AsyncClient, emulator: Emulator) -> None:
    emulator.add_fault(Fault(match=f"POST {PATH}", kind="rate_limit", reset_in=30))
    response = await raw.post(PATH, json={"model": "m/a", "messages": [{"role": "user", "content": "hi"}]})
    assert response.status_code == 429
    assert response.headers["x-ratelimit-remaining"] == "0"
    reset_ms = int(response.headers["x-ratelimit-reset"])
    assert 25 <= reset_ms / 1000 - time.time() <= 31
    assert response.json()["error"]["code"] == 429


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"model": "m/a"}, "messages"),
        ({"model": "m/a", "messages": []}, "messages"),
        ({"messages": [{"role": "user", "content": "hi"}]}, "model"),
        ({"model": "m/a", "messages": [{"role": "user", "content": "hi"}], "n": 0}, "n must"),
    ],
)
async def test_bad_requests_get_openrouter_errors(raw: httpx.AsyncClient, payload: Any, message: str) -> None:
    response = await raw.post(PATH, json=payload)
    assert response.status_code == 400
    assert message in response.json()["error"]["message"]


async def test_delay_setting_and_store_control_route(raw: httpx.AsyncClient, emulator: Emulator) -> None:
    control = await raw.post("/_emulator/openrouter/store", json={"delay_seconds": 0.3})
    assert control.json()["store"]["delay_seconds"] == 0.3
    started = time.monotonic()
    response = await raw.post(PATH, json={"model": "m/a", "messages": [{"role": "user", "content": "hi"}]})
    assert response.status_code == 200
    assert time.monotonic() - started >= 0.3
    # Control calls are not recorded as API traffic.
    assert len(emulator.requests) == 1


async def test_content_parts_and_models_listing(raw: httpx.AsyncClient) -> None:
    parts = [{"type": "text", "text": "Announce our espresso tasting evening"}]
    response = await raw.post(
        "/v1/chat/completions", json={"model": "m/a", "messages": [{"role": "user", "content": parts}]}
    )
    assert "espresso" in response.json()["choices"][0]["message"]["content"].lower()
    models = await raw.get("/api/v1/models")
    assert {m["id"] for m in models.json()["data"]} >= {"openai/gpt-4o-mini"}
