"""Fixtures for the accounts tests: the X, Instagram and LinkedIn emulators on loopback, an app
configured with (emulated) credentials for them, and a helper that walks the OAuth connect flow
the way a browser does, following every redirect with one httpx client."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from tests.conftest import Account, AppFactory

from t21.emulators import instagram, linkedin, x
from t21.emulators.base import RunningServer
from t21.emulators.social import SocialEmulator
from t21.jobs.context import JobResources

PLATFORMS = ("x", "instagram", "linkedin")
TESTSERVER = "http://testserver"


@dataclass
class Emulated:
    server: RunningServer

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def emulator(self) -> SocialEmulator:
        emulator: SocialEmulator = self.server.app.state.emulator
        return emulator

    def tokens(self, kind: str | None = None) -> list[str]:
        with self.emulator.lock:
            return [t.value for t in self.emulator.store["tokens"].values() if kind is None or t.kind == kind]


@pytest.fixture(scope="session")
def emulator_servers() -> Iterator[dict[str, Emulated]]:
    servers = {
        "x": RunningServer(x.create_app()).start(),
        "instagram": RunningServer(instagram.create_app()).start(),
        "linkedin": RunningServer(linkedin.create_app()).start(),
    }
    yield {name: Emulated(server) for name, server in servers.items()}
    for server in servers.values():
        server.stop()


@pytest.fixture
def emulators(emulator_servers: dict[str, Emulated]) -> dict[str, Emulated]:
    for emulated in emulator_servers.values():
        emulated.emulator.reset()
    # Not part of the emulator's resettable state; tests that want partner tokens switch it on.
    emulator_servers["linkedin"].emulator.issue_refresh_tokens = False  # type: ignore[attr-defined]
    return emulator_servers


def network_settings(emulators: dict[str, Emulated]) -> dict[str, Any]:
    """Real (not sandbox) credentials, with every network's base URL pointing at its emulator."""
    return {
        "x_client_id": "t21-test-x",
        "x_client_secret": "x-secret",
        "x_api_base": emulators["x"].url,
        "x_auth_base": emulators["x"].url,
        "instagram_app_id": "t21-test-ig",
        "instagram_app_secret": "ig-secret",
        "instagram_api_base": emulators["instagram"].url,
        "instagram_auth_base": emulators["instagram"].url,
        "linkedin_client_id": "t21-test-li",
        "linkedin_client_secret": "li-secret",
        "linkedin_api_base": emulators["linkedin"].url,
        "linkedin_auth_base": emulators["linkedin"].url,
        "platform_poll_interval": 0.01,
        "platform_timeout_seconds": 5.0,
    }


@pytest.fixture
async def net_app(app_factory: AppFactory, emulators: dict[str, Emulated]) -> Any:
    return await app_factory(**network_settings(emulators))


def browser_for(app: Any) -> httpx.AsyncClient:
    """One client that reaches the app in-process at http://testserver and everything else
    (the emulators) over real HTTP, following redirects like a browser."""
    return httpx.AsyncClient(
        mounts={
            TESTSERVER: httpx.ASGITransport(app=app, raise_app_exceptions=False),
            "all://": httpx.AsyncHTTPTransport(),
        },
        follow_redirects=True,
        base_url=TESTSERVER,
    )


@pytest.fixture
async def http(net_app: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with browser_for(net_app) as client:
        yield client


@dataclass
class Landing:
    """Where the browser ended up after the network's consent page."""

    response: httpx.Response

    @property
    def query(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(urlsplit(str(self.response.url)).query).items()}

    @property
    def path(self) -> str:
        return urlsplit(str(self.response.url)).path

    @property
    def callback_url(self) -> str:
        """The callback the network redirected to (to replay it)."""
        for hop in self.response.history:
            location = hop.headers.get("location", "")
            if "/social-accounts/callback/" in location:
                return location
        raise AssertionError("no callback in the redirect chain")


async def start_connect(person: Account, platform: str, brand_id: str) -> str:
    response = await person.get(f"/api/v1/social-accounts/connect/{platform}", params={"brandId": brand_id})
    assert response.status_code == 200, response.text
    url: str = response.json()["authorizationUrl"]
    return url


async def follow(browser: httpx.AsyncClient, authorization_url: str, **extra: str) -> Landing:
    """Open the authorization URL and follow every redirect: network -> T21 callback -> web app."""
    if extra:
        authorization_url += "&" + "&".join(f"{k}={v}" for k, v in extra.items())
    response = await browser.get(authorization_url)
    return Landing(response)


async def connect(
    browser: httpx.AsyncClient, person: Account, platform: str, brand_id: str, **extra: str
) -> str:
    """The whole flow; returns the new account's id."""
    landing = await follow(browser, await start_connect(person, platform, brand_id), **extra)
    assert landing.path == "/accounts", landing.response.url
    assert landing.query.get("connected") == platform, landing.query
    return landing.query["accountId"]


def job_resources(app: Any, http: httpx.AsyncClient) -> JobResources:
    return JobResources(settings=app.state.settings, db=app.state.db, http=http)


def new_email() -> str:
    return f"user-{uuid.uuid4().hex[:10]}@example.com"
