"""The AI endpoints over HTTP: T21 (in-process, ASGI) calls a real OpenRouter emulator served on
loopback, so the real OpenRouter client, retries and SSE parsing run unchanged."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import text

from t21.emulators.base import Emulator, Fault, RunningServer
from t21.emulators.openrouter import create_app
from tests.conftest import Account, AppFactory
from tests.plans import BILLING_ON

API_KEY = "sk-or-test"
GENERATE = "/api/v1/ai/generate-content"
STREAM = "/api/v1/ai/generate-content/stream"
REWRITE = "/api/v1/ai/rewrite"
COMPLETIONS = r"/api/v1/chat/completions"


@pytest.fixture(scope="session")
def openrouter_server() -> Iterator[RunningServer]:
    with RunningServer(create_app()) as server:
        yield server


@pytest.fixture
def emulator(openrouter_server: RunningServer) -> Iterator[Emulator]:
    emu: Emulator = openrouter_server.app.state.emulator
    emu.reset()
    yield emu
    emu.reset()


def ai_settings(server: RunningServer, **overrides: Any) -> dict[str, Any]:
    """The loopback emulator with a key, and billing on: the credit tests count against the FREE
    plan, which applies only with billing on (tests/ai/test_self_hosted.py covers billing off)."""
    return {
        "openrouter_base_url": f"{server.url}/api/v1",
        "openrouter_api_key": API_KEY,
        **BILLING_ON,
        **overrides,
    }


@pytest.fixture
async def app(app_factory: AppFactory, openrouter_server: RunningServer, emulator: Emulator) -> Any:
    """Overrides the root `app`: every test here talks to the loopback emulator with a key."""
    return await app_factory(**ai_settings(openrouter_server))


@pytest.fixture
async def account(register: Any) -> Account:
    account: Account = await register()
    return account


@pytest.fixture
async def brand(account: Account) -> dict[str, Any]:
    return await account.create_brand(
        name="Bean There",
        toneOfVoice="warm, witty",
        targetAudience="coffee lovers",
        description="A small roastery in Leeds",
        website="https://beanthere.example",
    )


def completions(emulator: Emulator) -> list[dict[str, Any]]:
    return [r.json_body() for r in emulator.requests_to("POST", COMPLETIONS)]


def system_prompt(body: dict[str, Any]) -> str:
    return "\n".join(m["content"] for m in body["messages"] if m["role"] == "system")


def script_answer(emulator: Emulator, *contents: str, count: int = 1, finish_reason: str = "stop") -> None:
    """The next `count` completions answer exactly `contents` (one choice each), as a model would;
    finish_reason "length" as one stopped by `max_tokens`."""
    body = {
        "id": "gen-scripted",
        "model": "openai/gpt-4o-mini",
        "choices": [
            {"index": i, "finish_reason": finish_reason, "message": {"role": "assistant", "content": c}}
            for i, c in enumerate(contents)
        ],
        "usage": {"prompt_tokens": 10, "completion_tokens": 20, "total_tokens": 30, "cost": 0.0001},
    }
    emulator.add_fault(Fault(match=f"POST {COMPLETIONS}", kind="status", status=200, body=body, count=count))


def parse_sse(raw: str) -> list[tuple[str, Any]]:
    """[(event, data)] in order; comment lines come out as ("comment", text)."""
    events: list[tuple[str, Any]] = []
    for block in raw.split("\n\n"):
        if not block.strip():
            continue
        name, data = "message", []
        for line in block.split("\n"):
            if line.startswith(":"):
                events.append(("comment", line[1:].strip()))
            elif line.startswith("event:"):
                name = line.partition(":")[2].strip()
            elif line.startswith("data:"):
                data.append(line.partition(":")[2].strip())
        if data:
            events.append((name, json.loads("\n".join(data))))
    return events


class Ledger:
    """Reads credits and generations straight from the database."""

    def __init__(self, db: Any) -> None:
        self.db = db

    async def scalar(self, sql: str, **params: Any) -> Any:
        async with self.db.engine.connect() as conn:
            return (await conn.execute(text(sql), params)).scalar()

    async def credits_used(self, user_id: str) -> int:
        return int(
            await self.scalar("SELECT ai_credits_used FROM users WHERE id = :id", id=uuid.UUID(user_id))
        )

    async def set_credits_used(self, user_id: str, used: int) -> None:
        async with self.db.engine.begin() as conn:
            await conn.execute(
                text("UPDATE users SET ai_credits_used = :used WHERE id = :id"),
                {"used": used, "id": uuid.UUID(user_id)},
            )

    async def generations(self) -> int:
        return int(await self.scalar("SELECT count(*) FROM ai_generations"))


@pytest.fixture
def ledger(db: Any) -> Ledger:
    return Ledger(db)
