"""The live WebSocket over real HTTP (uvicorn) with the `websockets` client: authentication,
delivery only to the right user and only after commit, and fan-out across API instances
(PostgreSQL LISTEN/NOTIFY by default, the Redis relay when T21_REDIS_URL is set)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from t21.auth.tokens import create_access_token
from t21.db.session import transaction
from t21.emulators.base import RunningServer
from t21.main import create_app
from t21.notifications import socket as live_socket
from t21.notifications.hub import LiveHub, RedisRelaySource
from t21.notifications.live import publish_live_event
from t21.notifications.service import notify
from t21.users.models import User
from tests.conftest import make_settings

from .conftest import eventually, register_over_http

Serve = Callable[..., Awaitable[RunningServer]]


@pytest.fixture
async def serve(database_url: str, session_tmp: Path) -> AsyncIterator[Serve]:
    servers: list[RunningServer] = []

    async def _serve(**overrides: Any) -> RunningServer:
        # The app owns its database engine: it runs on the server thread's event loop.
        app = create_app(make_settings(database_url, session_tmp, default_tier="PRO", **overrides))
        server = await asyncio.to_thread(RunningServer(app).start)
        servers.append(server)
        return server

    yield _serve
    for server in servers:
        await asyncio.to_thread(server.stop)


def ws_url(server: RunningServer, query: str = "") -> str:
    return server.url.replace("http://", "ws://") + "/api/v1/ws" + query


def hub_of(server: RunningServer) -> LiveHub:
    hub: LiveHub = server.app.state.live_hub
    return hub


async def recv(ws: ClientConnection, timeout: float = 5.0) -> dict[str, Any]:
    return dict(json.loads(await asyncio.wait_for(ws.recv(), timeout)))


async def open_socket(server: RunningServer, token: str) -> ClientConnection:
    ws = await connect(ws_url(server))
    await ws.send(json.dumps({"type": "auth", "token": token}))
    ready = await recv(ws)
    assert ready["type"] == "ready", ready
    return ws


async def closed_with(ws: ClientConnection) -> tuple[int | None, str | None]:
    with pytest.raises(ConnectionClosed):
        await asyncio.wait_for(ws.recv(), 5)
    return ws.close_code, ws.close_reason


async def publish(
    db: Any, user_ids: list[str], event_type: str, *, commit: bool = True, **payload: Any
) -> None:
    async with db.sessionmaker() as session:
        await publish_live_event(session, [uuid.UUID(u) for u in user_ids], event_type, payload)
        if commit:
            await session.commit()
        else:
            await session.rollback()


async def test_auth_by_first_message_and_by_query(serve, db) -> None:
    server = await serve()
    alice = await register_over_http(server.url, "alice@example.com")
    token = alice["tokens"]["accessToken"]

    ws = await open_socket(server, token)
    async with await connect(ws_url(server, f"?token={token}")) as by_query:
        assert (await recv(by_query))["type"] == "ready"
        await by_query.send(json.dumps({"type": "ping"}))
        assert await recv(by_query) == {"type": "pong"}
    await ws.close()


@pytest.mark.parametrize("token", ["not-a-jwt", "t21_not_a_key", "expired"])
async def test_bad_tokens_close_with_4401(serve, token) -> None:
    server = await serve()
    alice = await register_over_http(server.url, "alice@example.com")
    if token == "expired":
        settings = server.app.state.settings
        token = create_access_token(uuid.UUID(alice["user"]["id"]), settings, ttl_seconds=-30)
    async with connect(ws_url(server)) as ws:
        await ws.send(json.dumps({"type": "auth", "token": token}))
        code, reason = await closed_with(ws)
    assert code == 4401
    assert reason in ("Invalid access token", "Invalid or revoked API key", "Token expired")
    if token.count(".") == 2:
        assert reason == "Token expired"
    async with connect(ws_url(server, f"?token={token}")) as ws:
        assert (await closed_with(ws))[0] == 4401


async def test_first_message_must_be_auth_within_the_timeout(serve, monkeypatch) -> None:
    server = await serve()
    async with connect(ws_url(server)) as ws:
        await ws.send(json.dumps({"type": "ping"}))
        assert await closed_with(ws) == (4401, 'Expected {"type":"auth","token":...} first')
    monkeypatch.setattr(live_socket, "AUTH_TIMEOUT_SECONDS", 0.2)
    async with connect(ws_url(server)) as ws:
        code, reason = await closed_with(ws)
    assert code == 4401
    assert reason is not None
    assert reason.startswith("Authentication timeout")


async def test_api_keys_need_the_notifications_scope(serve) -> None:
    import httpx

    server = await serve()
    alice = await register_over_http(server.url, "alice@example.com")
    auth = {"Authorization": f"Bearer {alice['tokens']['accessToken']}"}
    async with httpx.AsyncClient(base_url=server.url, headers=auth) as http:
        reader = await http.post("/api/v1/api-keys", json={"name": "live", "scopes": ["notifications:read"]})
        other = await http.post("/api/v1/api-keys", json={"name": "other", "scopes": ["brands:read"]})
    ws = await open_socket(server, reader.json()["key"])
    await ws.close()
    async with connect(ws_url(server)) as refused:
        await refused.send(json.dumps({"type": "auth", "token": other.json()["key"]}))
        code, reason = await closed_with(refused)
    assert code == 4403
    assert reason is not None
    assert "notifications:read" in reason


async def test_revoking_an_api_key_closes_the_sockets_opened_with_it_on_every_instance(serve) -> None:
    import httpx

    first, second = await serve(), await serve()
    alice = await register_over_http(first.url, "alice@example.com")
    auth = {"Authorization": f"Bearer {alice['tokens']['accessToken']}"}
    async with httpx.AsyncClient(base_url=first.url, headers=auth) as http:
        made = (
            await http.post("/api/v1/api-keys", json={"name": "live", "scopes": ["notifications:read"]})
        ).json()
        keep = (
            await http.post("/api/v1/api-keys", json={"name": "keep", "scopes": ["notifications:read"]})
        ).json()
        by_key = await open_socket(second, made["key"])  # the other instance
        by_other_key = await open_socket(second, keep["key"])
        by_token = await open_socket(first, alice["tokens"]["accessToken"])
        revoked = await http.delete(f"/api/v1/api-keys/{made['id']}")
        assert revoked.status_code in (200, 204), revoked.text
    code, reason = await closed_with(by_key)
    assert (code, reason) == (4401, "API key revoked")
    # Sockets opened otherwise stay open and just hear about it.
    for ws in (by_other_key, by_token):
        event = await recv(ws)
        assert event == {"type": "api_key.revoked", "apiKeyId": made["id"]}
        await ws.send(json.dumps({"type": "ping"}))
        assert (await recv(ws))["type"] == "pong"
        await ws.close()


async def test_events_reach_only_their_users_and_only_when_committed(serve, db) -> None:
    server = await serve()
    alice = await register_over_http(server.url, "alice@example.com")
    bob = await register_over_http(server.url, "bob@example.com")
    alice_id, bob_id = alice["user"]["id"], bob["user"]["id"]
    a_ws = await open_socket(server, alice["tokens"]["accessToken"])
    a_ws2 = await open_socket(server, alice["tokens"]["accessToken"])  # a second tab
    b_ws = await open_socket(server, bob["tokens"]["accessToken"])

    await publish(db, [alice_id], "post.failed", postId="never", commit=False)  # rolled back
    await publish(db, [alice_id], "post.published", postId="p1", status="PUBLISHED")
    await publish(db, [bob_id], "post.updated", postId="p2")

    # Each socket's first event is its own committed one: the rolled-back event never came, and
    # Bob did not get Alice's (it was published before his).
    assert await recv(a_ws) == {"type": "post.published", "postId": "p1", "status": "PUBLISHED"}
    assert await recv(a_ws2) == {"type": "post.published", "postId": "p1", "status": "PUBLISHED"}
    assert await recv(b_ws) == {"type": "post.updated", "postId": "p2"}

    await publish(db, [alice_id, bob_id], "post.updated", postId="shared")  # a team event
    assert (await recv(a_ws))["postId"] == "shared"
    assert (await recv(b_ws))["postId"] == "shared"
    for ws in (a_ws, a_ws2, b_ws):
        await ws.close()
    await eventually(lambda: _zero(hub_of(server).connection_count()))


async def _zero(value: int) -> bool:
    return value == 0


async def test_socket_closes_when_its_token_expires(serve, monkeypatch) -> None:
    server = await serve()
    alice = await register_over_http(server.url, "alice@example.com")
    token = create_access_token(uuid.UUID(alice["user"]["id"]), server.app.state.settings, ttl_seconds=2)
    ws = await open_socket(server, token)
    code, reason = await closed_with(ws)
    assert (code, reason) == (4401, "Token expired")


async def _make_notification(db: Any, user_id: str) -> str:
    async with transaction(db.sessionmaker) as session:
        user = await session.get(User, uuid.UUID(user_id))
        assert user is not None
        (note_id,) = await notify(session, [user], kind="post.published", title="Live")
    return str(note_id)


@pytest.mark.parametrize("transport", ["postgres", "redis"])
async def test_event_from_one_instance_reaches_a_client_of_another(serve, db, transport, request) -> None:
    overrides: dict[str, Any] = {}
    if transport == "redis":
        overrides["redis_url"] = request.getfixturevalue("redis_url")
    instance_a = await serve(**overrides)
    instance_b = await serve(**overrides)
    alice = await register_over_http(instance_a.url, "alice@example.com")
    note_id = await _make_notification(db, alice["user"]["id"])
    if transport == "redis":
        sources = [hub_of(s).source for s in (instance_a, instance_b)]
        assert all(isinstance(s, RedisRelaySource) for s in sources)

        async def one_relay() -> bool:
            return sum(s.is_relay for s in sources) == 1  # type: ignore[attr-defined]

        await eventually(one_relay)

    ws = await open_socket(instance_b, alice["tokens"]["accessToken"])
    import httpx

    # A real API action on instance A, whose transaction publishes a live event.
    async with httpx.AsyncClient(base_url=instance_a.url) as http:
        response = await http.post(
            f"/api/v1/notifications/{note_id}/read",
            headers={"Authorization": f"Bearer {alice['tokens']['accessToken']}"},
        )
        assert response.status_code == 200
    event = await recv(ws)
    assert event == {"type": "notifications.read", "ids": [note_id], "all": False, "unreadCount": 0}
    await ws.close()


async def test_app_starts_while_the_database_is_unreachable(session_tmp: Path) -> None:
    """The hub retries in the background; the app starts and answers HTTP meanwhile."""
    import httpx

    app = create_app(make_settings("postgresql://postgres@127.0.0.1:1/nowhere", session_tmp))
    server = await asyncio.to_thread(RunningServer(app).start)
    try:
        async with httpx.AsyncClient(base_url=server.url) as http:
            assert (await http.get("/healthz")).status_code == 200
        hub = hub_of(server)
        assert not hub.listening
        assert hub._task is not None
        assert not hub._task.done()
    finally:
        await asyncio.to_thread(server.stop)


async def test_listener_reconnects_after_losing_its_connection(serve, db) -> None:
    server = await serve()
    alice = await register_over_http(server.url, "alice@example.com")
    ws = await open_socket(server, alice["tokens"]["accessToken"])
    hub = hub_of(server)
    assert hub.listening
    from sqlalchemy import text

    listeners = text(
        "SELECT pid FROM pg_stat_activity "
        "WHERE application_name = 't21-live' AND datname = current_database()"
    )

    async def listener_pids() -> set[int]:
        async with db.engine.connect() as conn:
            return set((await conn.execute(listeners)).scalars())

    (before,) = await listener_pids()
    # What a PostgreSQL restart looks like from the hub: its connection is cut.
    async with db.engine.connect() as conn:
        await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": before})

    async def relistening() -> bool:
        pids = await listener_pids()
        return bool(pids) and before not in pids and hub.listening

    await eventually(relistening, timeout=10)
    await publish(db, [alice["user"]["id"]], "post.published", postId="after-restart")
    assert (await recv(ws))["postId"] == "after-restart"
    await ws.close()


async def _true(value: bool) -> bool:
    return value
