"""Security suite: T21 served by uvicorn on loopback (real HTTP and WebSockets) with every outside
network emulated, and helpers to build a tenant with one of everything."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from t21.emulators.base import RunningServer
from t21.main import create_app
from tests.conftest import Account, make_settings
from tests.security._support import PNG, Sandbox

WEBHOOK_SECRET = "whsec_security"


@pytest.fixture(scope="session")
def sandbox() -> Iterator[Sandbox]:
    box = Sandbox().start()
    yield box
    box.stop()


@pytest.fixture(scope="session")
def stripe_server() -> Iterator[RunningServer]:
    from t21.emulators.stripe import create_app as create_stripe_app

    with RunningServer(create_stripe_app(webhook_secret=WEBHOOK_SECRET)) as server:
        yield server


def billing_settings(stripe_url: str) -> dict[str, Any]:
    from t21.emulators.stripe import DEFAULT_PRICE_BUSINESS, DEFAULT_PRICE_PRO

    return {
        "stripe_secret_key": "sk_test_security",
        "stripe_webhook_secret": WEBHOOK_SECRET,
        "stripe_api_base": stripe_url,
        "stripe_price_pro": DEFAULT_PRICE_PRO,
        "stripe_price_business": DEFAULT_PRICE_BUSINESS,
    }


@pytest.fixture
def fresh_sandbox(sandbox: Sandbox) -> Sandbox:
    sandbox.reset()
    return sandbox


Serve = Callable[..., Awaitable[RunningServer]]


@pytest.fixture
async def serve(
    database_url: str, session_tmp: Path, fresh_sandbox: Sandbox, stripe_server: RunningServer
) -> AsyncIterator[Serve]:
    """T21 served on loopback; the app owns its database pool, on the server thread's loop."""
    servers: list[RunningServer] = []

    async def _serve(**overrides: Any) -> RunningServer:
        values = {
            "default_tier": "BUSINESS",
            **fresh_sandbox.settings(),
            **billing_settings(stripe_server.url),
            **overrides,
        }
        app = create_app(make_settings(database_url, session_tmp, **values))
        server = await asyncio.to_thread(RunningServer(app).start)
        servers.append(server)
        return server

    yield _serve
    for server in servers:
        await asyncio.to_thread(server.stop)


async def connect_sandbox_account(http: httpx.AsyncClient, who: Account, brand_id: str, platform: str) -> Any:
    started = await who.get(f"/api/v1/social-accounts/connect/{platform}", params={"brandId": brand_id})
    assert started.status_code == 200, started.text
    async with httpx.AsyncClient(follow_redirects=False) as browser:
        approve = await browser.get(started.json()["authorizationUrl"])
    callback = urlsplit(approve.headers["location"])
    done = await http.get(
        f"{callback.path}?{callback.query}", headers={"Accept": "application/json", **who.headers}
    )
    assert done.status_code == 200, done.text
    return done.json()


async def upload_png(who: Account, brand_id: str) -> Any:
    response = await who.post(
        "/api/v1/media", files={"file": ("a.png", PNG, "image/png")}, data={"brandId": brand_id}
    )
    assert response.status_code == 201, response.text
    return response.json()
