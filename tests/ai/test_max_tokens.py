"""Every completion is bounded (`max_tokens`, from the target network's limit), and an answer the
bound cut off (finish_reason "length") is taken back to where it may end."""

from __future__ import annotations

from typing import Any

import pytest

from t21.ai import shaping
from t21.emulators.base import Emulator
from t21.enums import Platform
from tests.ai.conftest import GENERATE, REWRITE, STREAM, Ledger, completions, parse_sse, script_answer
from tests.ai.test_generate import passes
from tests.conftest import Account

# tokens ≈ characters / 3, with half as much again and 64 more of headroom (shaping.max_tokens)
BOUNDS = {"x": 204, "instagram": 1164, "linkedin": 1564}


@pytest.mark.parametrize("platform", sorted(BOUNDS))
async def test_each_networks_calls_send_its_bound(
    account: Account, brand: dict[str, Any], emulator: Emulator, platform: str
) -> None:
    limit = shaping.hard_limit(Platform(platform))
    assert limit / 3 < BOUNDS[platform] < limit  # room for a whole post, far from unbounded
    generate = {"brandId": brand["id"], "prompt": "Our autumn menu", "platform": platform}
    assert (await account.post(GENERATE, json=generate)).status_code == 200
    # Variants are separate choices (`n`), each bounded on its own.
    assert (await account.post(GENERATE, json={**generate, "variants": 3})).status_code == 200
    rewrite = {"brandId": brand["id"], "text": "We roast on Mondays.", "targetPlatform": platform}
    assert (await account.post(REWRITE, json=rewrite)).status_code == 200
    assert (await account.post(STREAM, json=generate)).status_code == 200
    # An overshooting answer is asked again shorter: that request is bounded too.
    overshoot = {**generate, "prompt": "Our autumn menu [emulator:overshoot]"}
    assert (await account.post(GENERATE, json=overshoot)).status_code == 200
    sent = completions(emulator)
    assert len(sent) == 6
    assert [body["max_tokens"] for body in sent] == [BOUNDS[platform]] * 6
    assert sent[1]["n"] == 3


def test_a_call_without_a_network_gets_the_default_bound() -> None:
    assert shaping.max_tokens(None) == shaping.DEFAULT_MAX_TOKENS == 1024


async def test_a_cut_off_answer_ends_at_its_last_whole_sentence(
    account: Account, brand: dict[str, Any], emulator: Emulator, ledger: Ledger
) -> None:
    script_answer(
        emulator,
        "We roast every bean by hand. Fresh bags land every Monday. Our new single origin tastes of cher",
        finish_reason="length",
    )
    response = await account.post(GENERATE, json={"brandId": brand["id"], "prompt": "Hi", "platform": "x"})
    assert response.status_code == 200, response.text
    assert response.json()["content"] == "We roast every bean by hand. Fresh bags land every Monday."
    assert await ledger.credits_used(account.id) == 1


async def test_the_emulator_cuts_at_max_tokens_and_t21_keeps_the_whole_part(
    account: Account, brand: dict[str, Any], emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a bound shorter than the post, the emulator stops at max_tokens with finish_reason
    "length" (as OpenAI-compatible servers do); T21 keeps what ends whole, for plain and streamed
    calls alike."""
    body = {"brandId": brand["id"], "prompt": "Flash sale on filter papers", "platform": "x"}
    full = (await account.post(GENERATE, json=body)).json()["content"]
    monkeypatch.setattr(shaping, "max_tokens", lambda platform: 12)
    cut = (await account.post(GENERATE, json=body)).json()["content"]
    streamed = parse_sse((await account.post(STREAM, json=body)).text)
    done = streamed[-1]
    assert done[0] == "done", streamed
    raw = "".join(data["text"] for name, data in streamed if name == "delta")
    assert len(raw.split()) == 12 and full.startswith(raw)  # the emulator stopped at the bound
    assert [b.get("max_tokens") for b in completions(emulator)[1:]] == [12, 12]
    for content in (cut, done[1]["content"]):
        assert content != full
        assert content[-1] in ".!?…"
        assert full.startswith(content.removesuffix("…"))
        assert passes("x", content)
