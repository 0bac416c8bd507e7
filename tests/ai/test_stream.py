"""POST /ai/generate-content/stream: relayed deltas, a validated `done`, errors without charge."""

from __future__ import annotations

from typing import Any

import pytest

from t21.ai import service as ai_service
from t21.emulators.base import Emulator, Fault
from t21.enums import Platform
from t21.platforms.validation import validate_content
from tests.ai.conftest import STREAM, Ledger, completions, parse_sse
from tests.conftest import Account, assert_error


async def test_stream_relays_deltas_then_done(
    account: Account, brand: dict[str, Any], emulator: Emulator, ledger: Ledger
) -> None:
    response = await account.post(
        STREAM,
        json={
            "brandId": brand["id"],
            "prompt": "Our new oat flat white",
            "platform": "x",
        },
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["x-accel-buffering"] == "no"
    events = parse_sse(response.text)
    deltas = [data["text"] for name, data in events if name == "delta"]
    assert len(deltas) > 3
    name, done = events[-1]
    assert name == "done"
    # The provider's keep-alive comments are not relayed as text.
    assert "OPENROUTER PROCESSING" not in "".join(deltas)
    assert done["content"] == "".join(deltas).strip()
    assert validate_content(Platform.x, done["content"]).ok
    assert done["hashtags"]
    assert all(t in done["content"] for t in done["hashtags"])
    assert done["creditsRemaining"] == 19
    assert done["model"] == "openai/gpt-4o-mini"
    assert done["usage"]["totalTokens"] > 0
    assert completions(emulator)[0]["stream"] is True
    assert await ledger.credits_used(account.id) == 1
    stored = (await account.get(f"/api/v1/ai/generations/{done['generationId']}")).json()
    assert stored["content"] == done["content"]
    assert stored["creditsCharged"] == 1


async def test_stream_skips_provider_keepalives_and_sends_its_own(
    account: Account, brand: dict[str, Any], emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The provider thinks for 0.6 s, sending ": OPENROUTER PROCESSING" comments meanwhile; our
    # stream sends its own keep-alive every 0.1 s of silence.
    emulator.store["delay_seconds"] = 0.6
    monkeypatch.setattr(ai_service, "HEARTBEAT_SECONDS", 0.1)
    response = await account.post(
        STREAM, json={"brandId": brand["id"], "prompt": "Latte art class", "platform": "x"}
    )
    assert response.status_code == 200, response.text
    events = parse_sse(response.text)
    comments = [data for name, data in events if name == "comment"]
    assert len(comments) >= 3
    assert set(comments) == {"keep-alive"}
    assert events[-1][0] == "done"
    first_delta = next(i for i, (name, _) in enumerate(events) if name == "delta")
    assert all(name == "comment" for name, _ in events[:first_delta])


async def test_mid_stream_error_charges_nothing(
    account: Account, brand: dict[str, Any], emulator: Emulator, ledger: Ledger
) -> None:
    emulator.store["stream_error_after"] = 2
    response = await account.post(
        STREAM, json={"brandId": brand["id"], "prompt": "Decaf done right", "platform": "x"}
    )
    assert response.status_code == 200, response.text
    events = parse_sse(response.text)
    assert [name for name, _ in events] == ["delta", "delta", "error"]
    error = events[-1][1]
    assert error["code"] == "ai_unavailable"
    assert error["error"]
    assert await ledger.credits_used(account.id) == 0
    assert await ledger.generations() == 0


async def test_dropped_stream_charges_nothing(
    account: Account, brand: dict[str, Any], emulator: Emulator, ledger: Ledger
) -> None:
    emulator.store["stream_drop_after"] = 1
    response = await account.post(
        STREAM, json={"brandId": brand["id"], "prompt": "Iced coffee", "platform": "x"}
    )
    events = parse_sse(response.text)
    assert events[-1][0] == "error"
    assert events[-1][1]["code"] == "ai_unavailable"
    assert await ledger.credits_used(account.id) == 0
    assert await ledger.generations() == 0


async def test_stream_failure_before_first_byte_is_an_error_event(
    account: Account, brand: dict[str, Any], emulator: Emulator, ledger: Ledger
) -> None:
    emulator.add_fault(Fault(match="POST /api/v1/chat/completions", kind="status", status=403))
    response = await account.post(
        STREAM, json={"brandId": brand["id"], "prompt": "Something", "platform": "x"}
    )
    ((name, data),) = parse_sse(response.text)
    assert name == "error"
    assert data["code"] == "ai_content_refused"
    assert data["details"]["reason"] == "violence"
    assert await ledger.credits_used(account.id) == 0


async def test_stream_done_carries_the_fitted_text(
    account: Account, brand: dict[str, Any], emulator: Emulator
) -> None:
    response = await account.post(
        STREAM,
        json={
            "brandId": brand["id"],
            "prompt": "Harvest festival [emulator:overshoot]",
            "platform": "x",
        },
    )
    events = parse_sse(response.text)
    streamed = "".join(data["text"] for name, data in events if name == "delta")
    done = events[-1][1]
    assert not validate_content(Platform.x, streamed).ok  # the model overshot...
    assert validate_content(Platform.x, done["content"]).ok  # ...the done event does not
    assert len(completions(emulator)) == 1  # a stream does not ask twice


async def test_stream_keep_hashtags_false_and_linkedin_markdown(
    account: Account, brand: dict[str, Any], emulator: Emulator
) -> None:
    emulator.store["markdown"] = True
    response = await account.post(
        STREAM,
        json={
            "brandId": brand["id"],
            "prompt": "What we learned opening a second shop",
            "platform": "linkedin",
            "keepHashtags": False,
        },
    )
    done = parse_sse(response.text)[-1][1]
    assert "**" not in done["content"]
    assert "#" not in done["content"]
    assert done["hashtags"]


async def test_stream_checks_before_streaming(
    account: Account, brand: dict[str, Any], emulator: Emulator, ledger: Ledger
) -> None:
    body = {"brandId": brand["id"], "prompt": "Hi", "platform": "x"}
    assert_error(await account.post(STREAM, json={**body, "variants": 2}), 422, "validation_error")
    await ledger.set_credits_used(account.id, 20)
    assert_error(await account.post(STREAM, json=body), 402, "quota_exceeded")
    assert completions(emulator) == []
