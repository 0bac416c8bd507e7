"""One OpenRouter emulator served over real HTTP for the whole session; state reset per test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from t21.emulators.base import Emulator, RunningServer
from t21.emulators.openrouter import create_app
from t21.integrations.openrouter import OpenRouterClient


class SleepRecorder:
    """Stands in for asyncio.sleep so retry waits are observable and cost no time."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


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


@pytest.fixture
def sleeps() -> SleepRecorder:
    return SleepRecorder()


@pytest.fixture
async def client(
    openrouter_server: RunningServer, emulator: Emulator, sleeps: SleepRecorder
) -> AsyncIterator[OpenRouterClient]:
    ai = OpenRouterClient(
        f"{openrouter_server.url}/api/v1",
        "sk-or-test-key",
        app_url="https://t21.example",
        app_title="T21",
        timeout=5.0,
        max_retries=2,
        backoff_base=0.01,
        sleep=sleeps,
    )
    yield ai
    await ai.aclose()
