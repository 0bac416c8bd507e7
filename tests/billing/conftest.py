"""Billing over real HTTP: the Stripe emulator and a T21 app, each served by uvicorn on loopback.

The emulator's webhooks go to the served T21 app, whose Stripe SDK calls go to the emulator, so
the whole flow (checkout, the Pay button, signed webhooks, re-reads) crosses real sockets. The
served app opens its own database pool in its own event loop, on the test database.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from t21.emulators.base import RunningServer, free_port
from t21.emulators.stripe import create_app as create_stripe_app
from t21.main import create_app
from tests.billing._support import WEBHOOK_PATH, WEBHOOK_SECRET, billing_settings
from tests.conftest import make_settings


@pytest.fixture(scope="module")
def stripe_server() -> Iterator[RunningServer]:
    with RunningServer(create_stripe_app(webhook_secret=WEBHOOK_SECRET)) as server:
        yield server


@pytest.fixture(scope="module")
def t21_server(database_url: str, session_tmp: Path, stripe_server: RunningServer) -> Iterator[RunningServer]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    settings = make_settings(database_url, session_tmp, public_url=url, **billing_settings(stripe_server.url))
    with RunningServer(create_app(settings), port=port) as server:
        yield server


@pytest.fixture
async def stripe(stripe_server: RunningServer, t21_server: RunningServer) -> AsyncIterator[httpx.AsyncClient]:
    """A client on the Stripe emulator, reset, with webhooks going to the served T21 app."""
    async with httpx.AsyncClient(base_url=stripe_server.url, timeout=30) as client:
        (await client.post("/_emulator/reset")).raise_for_status()
        config = {"url": f"{t21_server.url}{WEBHOOK_PATH}", "secret": WEBHOOK_SECRET}
        (await client.post("/_emulator/webhook-config", json=config)).raise_for_status()
        yield client


@pytest.fixture
async def http(t21_server: RunningServer) -> AsyncIterator[httpx.AsyncClient]:
    """A client on the served T21 app (register people on it with `register(on=http)`)."""
    async with httpx.AsyncClient(base_url=t21_server.url, timeout=30) as client:
        yield client
