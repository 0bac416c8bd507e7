"""Publishing tests: the three network emulators served on loopback as the sandbox, a real
Procrastinate worker on the test database, and helpers to connect accounts through the API."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest
from fastapi import FastAPI
from tests.conftest import Account, AppFactory, client_for, make_settings

from t21.emulators.base import Emulator, RunningServer
from t21.jobs.runner import Worker


class Networks:
    """The emulators behind one loopback server: /x, /instagram, /linkedin."""

    def __init__(self) -> None:
        from t21.emulators import instagram, linkedin, x

        self.apps = {
            "x": x.create_app(),
            "instagram": instagram.create_app(),
            "linkedin": linkedin.create_app(),
        }
        root = FastAPI()
        for name, app in self.apps.items():
            root.mount(f"/{name}", app)
        self.server = RunningServer(root).start()
        self.url = self.server.url

    def emulator(self, platform: str) -> Emulator:
        emulator: Emulator = self.apps[platform].state.emulator
        return emulator

    def reset(self) -> None:
        for name in self.apps:
            self.emulator(name).reset()

    def requests(self, platform: str, method: str, path_pattern: str) -> list[Any]:
        return self.emulator(platform).requests_to(method, path_pattern)

    async def control(self, platform: str, path: str, body: dict[str, Any]) -> httpx.Response:
        async with httpx.AsyncClient() as http:
            return await http.post(f"{self.url}/{platform}/_emulator/{path}", json=body)


@pytest.fixture(scope="session")
def networks() -> Iterator[Networks]:
    nets = Networks()
    yield nets
    nets.server.stop()


@pytest.fixture
def fresh_networks(networks: Networks) -> Networks:
    networks.reset()
    return networks


PUBLISHING_SETTINGS: dict[str, Any] = {
    "platform_poll_interval": 0.01,
    "platform_timeout_seconds": 2.0,
}


@pytest.fixture
async def pub_app(app_factory: AppFactory, fresh_networks: Networks) -> Any:
    return await app_factory(sandbox_url=fresh_networks.url, **PUBLISHING_SETTINGS)


@pytest.fixture
async def http(pub_app: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(pub_app) as c:
        yield c


@pytest.fixture
async def worker(database_url: str, session_tmp: Any, fresh_networks: Networks) -> AsyncIterator[Worker]:
    settings = make_settings(database_url, session_tmp, sandbox_url=fresh_networks.url, **PUBLISHING_SETTINGS)
    running = Worker(settings, database_url=database_url, concurrency=8)
    await running.start()
    yield running
    await running.stop()


async def connect_account(
    http: httpx.AsyncClient, who: Account, brand_id: str, platform: str
) -> dict[str, Any]:
    """The whole OAuth dance: our connect URL → the emulator's authorize page (auto-approves) →
    its redirect to our callback, which we deliver to the app."""
    started = await who.get(f"/api/v1/social-accounts/connect/{platform}", params={"brandId": brand_id})
    assert started.status_code == 200, started.text
    async with httpx.AsyncClient(follow_redirects=False) as browser:
        approve = await browser.get(started.json()["authorizationUrl"])
    assert approve.status_code in (302, 303), approve.text
    callback = urlparse(approve.headers["location"])
    done = await http.get(
        f"{callback.path}?{callback.query}", headers={"Accept": "application/json", **who.headers}
    )
    assert done.status_code == 200, done.text
    return dict(done.json())


async def wait_for(predicate: Callable[[], Any], *, timeout: float = 15.0, interval: float = 0.05) -> Any:
    """Poll an async predicate until it returns something truthy (or fail with its last value)."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = await predicate()
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s; last value: {last!r}")


async def wait_for_post_status(
    who: Account, post_id: str, statuses: set[str], timeout: float = 15.0
) -> dict[str, Any]:
    async def check() -> dict[str, Any] | None:
        body = (await who.get(f"/api/v1/posts/{post_id}")).json()
        return body if body["status"] in statuses else None

    try:
        return dict(await wait_for(check, timeout=timeout))
    except AssertionError:
        body = (await who.get(f"/api/v1/posts/{post_id}")).json()
        raise AssertionError(f"post stayed {body['status']}: {body}") from None
