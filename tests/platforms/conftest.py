"""The three network emulators served over real HTTP on loopback for the session, state reset per
test, and connectors built by `build_connector` against them exactly as sandbox accounts are."""

from __future__ import annotations

import struct
import uuid
import zlib
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from t21.config import Settings
from t21.emulators import instagram as instagram_emulator
from t21.emulators import linkedin as linkedin_emulator
from t21.emulators import x as x_emulator
from t21.emulators.base import Emulator, RunningServer
from t21.enums import Platform
from t21.jobs.runner import build_http_client
from t21.platforms.base import Connector, MediaFile, PublishProgress, TokenSet
from t21.platforms.registry import build_connector
from t21.platforms.text import pkce_pair

# Short enough that a `timeout_after_store` fault of FAULT_DELAY trips it; long enough for loopback
# on a busy CI machine (0.5 s was flaky there).
CLIENT_TIMEOUT = 2.0
FAULT_DELAY = 4.0
POLL_INTERVAL = 0.01


class RecordingProgress(PublishProgress):
    """Remembers what a connector reported, in order, as the publishing engine would store it."""

    def __init__(self) -> None:
        self.events: list[tuple[str, Any]] = []

    async def container_created(self, container_id: str) -> None:
        self.events.append(("container", container_id))

    async def part_published(self, index: int, platform_post_id: str) -> None:
        self.events.append(("part", (index, platform_post_id)))


@pytest.fixture
def progress() -> RecordingProgress:
    return RecordingProgress()


@pytest.fixture(scope="session")
def test_settings() -> Settings:
    return Settings(public_url="https://t21.example", linkedin_version="202510")


def _serve(app: Any) -> Iterator[RunningServer]:
    with RunningServer(app) as server:
        yield server


@pytest.fixture(scope="session")
def x_server() -> Iterator[RunningServer]:
    yield from _serve(x_emulator.create_app())


@pytest.fixture(scope="session")
def instagram_server() -> Iterator[RunningServer]:
    yield from _serve(instagram_emulator.create_app())


@pytest.fixture(scope="session")
def linkedin_server() -> Iterator[RunningServer]:
    yield from _serve(linkedin_emulator.create_app())


def _fresh(server: RunningServer) -> Iterator[Any]:
    emulator: Emulator = server.app.state.emulator
    emulator.reset()
    yield emulator
    emulator.reset()


@pytest.fixture
def x_emu(x_server: RunningServer) -> Iterator[x_emulator.XEmulator]:
    yield from _fresh(x_server)


@pytest.fixture
def ig_emu(instagram_server: RunningServer) -> Iterator[instagram_emulator.InstagramEmulator]:
    yield from _fresh(instagram_server)


@pytest.fixture
def li_emu(linkedin_server: RunningServer) -> Iterator[linkedin_emulator.LinkedInEmulator]:
    yield from _fresh(linkedin_server)


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    """The client the worker publishes with, so its error mapping is what these tests see."""
    async with build_http_client() as client:
        yield client


def connector_for(platform: Platform, url: str, settings: Settings, http: httpx.AsyncClient) -> Connector:
    return build_connector(
        platform,
        settings,
        http,
        sandbox=True,
        sandbox_base_url=url,
        timeout=CLIENT_TIMEOUT,
        poll_interval=POLL_INTERVAL,
    )


@pytest.fixture
def x(x_server: RunningServer, x_emu: Any, test_settings: Settings, http: httpx.AsyncClient) -> Connector:
    return connector_for(Platform.x, x_server.url, test_settings, http)


@pytest.fixture
def instagram(
    instagram_server: RunningServer, ig_emu: Any, test_settings: Settings, http: httpx.AsyncClient
) -> Connector:
    return connector_for(Platform.instagram, instagram_server.url, test_settings, http)


@pytest.fixture
def linkedin(
    linkedin_server: RunningServer, li_emu: Any, test_settings: Settings, http: httpx.AsyncClient
) -> Connector:
    return connector_for(Platform.linkedin, linkedin_server.url, test_settings, http)


async def connect(connector: Connector, http: httpx.AsyncClient, **extra_query: str) -> TokenSet:
    """The whole OAuth dance: authorization URL, the (auto-approving) consent redirect, code exchange."""
    state = "state-123"
    verifier, challenge = pkce_pair() if connector.uses_pkce else (None, None)
    url = connector.authorization_url(state=state, code_challenge=challenge)
    if extra_query:
        url += "&" + "&".join(f"{k}={v}" for k, v in extra_query.items())
    answer = await http.get(url, follow_redirects=False)
    assert answer.status_code == 302, answer.text
    location = urlsplit(answer.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == connector.config.redirect_uri
    query = parse_qs(location.query)
    assert query["state"] == [state]
    return await connector.exchange_code(code=query["code"][0], code_verifier=verifier)


async def add_fault(server: RunningServer, http: httpx.AsyncClient, **spec: Any) -> None:
    answer = await http.post(f"{server.url}/_emulator/faults", json=spec)
    assert answer.status_code == 200, answer.text


async def control(server: RunningServer, http: httpx.AsyncClient, path: str, body: Any = None) -> None:
    answer = await http.post(f"{server.url}/_emulator/{path}", json=body or {})
    assert answer.status_code == 200, answer.text


def tiny_png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
        + chunk(b"IEND", b"")
    )


def media_file(
    kind: str = "image", content_type: str = "image/jpeg", data: bytes | None = None, **extra: Any
) -> MediaFile:
    payload = data if data is not None else tiny_png()

    async def load() -> bytes:
        return payload

    return MediaFile(
        kind=kind,
        content_type=content_type,
        size_bytes=len(payload),
        public_url=f"https://media.t21.example/{uuid.uuid4().hex}.{'mp4' if kind == 'video' else 'jpg'}",
        load=load,
        **extra,
    )
