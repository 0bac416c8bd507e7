"""The live WebSocket protocol (`GET /api/v1/ws`).

    client → {"type": "auth", "token": "<access token or t21_ API key>"}   within 10 s
             (or `?token=` on the URL; the first message is preferred: URLs end up in logs)
    server → {"type": "ready", "userId": ...}
    server → {"type": "post.published", ...} and every other event for this user
    server → {"type": "ping"} every 25 s        client → {"type": "ping"} → {"type": "pong"}
    client → {"type": "auth", "token": ...} again at any time, to extend the socket's life with
             a fresh access token (same user only)

Close codes: 4401 not authenticated / token invalid or expired / API key revoked / the user's
sessions ended by a password reset / this session revoked on the sessions page (the reason says
which),
4403 not allowed (API key without notifications:read, another user's token), 1013 too slow to
keep up (reconnect and refetch), 1012 server restarting.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog
from starlette.websockets import WebSocket, WebSocketDisconnect

from t21.db.session import transaction
from t21.errors import Forbidden, T21Error
from t21.kit.clock import utcnow
from t21.notifications.hub import LiveClient, LiveHub
from t21.notifications.inbox import SocketIdentity, authenticate_socket
from t21.notifications.live import API_KEY_REVOKED, SESSION_REVOKED, SESSIONS_REVOKED

log = structlog.get_logger(__name__)

AUTH_TIMEOUT_SECONDS = 10.0
KEEPALIVE_SECONDS = 25.0
# A socket opened while the hub is still connecting waits this long before "ready".
READY_WAIT_SECONDS = 3.0
CLOSE_UNAUTHORIZED = 4401
CLOSE_FORBIDDEN = 4403


class _Refused(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass
class _State:
    identity: SocketIdentity


def _parse(message: Mapping[str, Any]) -> dict[str, Any] | None:
    raw = message.get("text")
    if raw is None and message.get("bytes") is not None:
        raw = message["bytes"].decode("utf-8", "replace")
    try:
        data = json.loads(raw or "")
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


async def _authenticate(websocket: WebSocket, token: str) -> SocketIdentity:
    async with transaction(websocket.app.state.db.sessionmaker) as session:
        try:
            return await authenticate_socket(session, websocket.app.state.settings, token)
        except Forbidden as exc:
            raise _Refused(CLOSE_FORBIDDEN, exc.message) from None
        except T21Error as exc:
            raise _Refused(CLOSE_UNAUTHORIZED, exc.message) from None


async def _first_identity(websocket: WebSocket, query_token: str | None) -> SocketIdentity:
    if query_token:
        return await _authenticate(websocket, query_token)
    try:
        message = await asyncio.wait_for(websocket.receive(), AUTH_TIMEOUT_SECONDS)
    except TimeoutError:
        raise _Refused(
            CLOSE_UNAUTHORIZED, 'Authentication timeout: send {"type":"auth","token":...}'
        ) from None
    if message["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(message.get("code", 1000))
    data = _parse(message)
    if data is None or data.get("type") != "auth" or not isinstance(data.get("token"), str):
        raise _Refused(CLOSE_UNAUTHORIZED, 'Expected {"type":"auth","token":...} first')
    return await _authenticate(websocket, data["token"])


async def _close(websocket: WebSocket, code: int, reason: str) -> None:
    with contextlib.suppress(Exception):  # the peer may be gone already
        await websocket.close(code=code, reason=reason[:120])


async def _send_loop(websocket: WebSocket, client: LiveClient, state: _State) -> None:
    while True:
        message = await client.queue.get()
        if API_KEY_REVOKED in message and _revokes_this_key(message, state):
            client.close(CLOSE_UNAUTHORIZED, "API key revoked")
            return
        if SESSIONS_REVOKED in message and _ends_this_session(message, state):
            client.close(CLOSE_UNAUTHORIZED, "Signed out: the password was reset")
            return
        if SESSION_REVOKED in message and _revokes_this_session(message, state):
            client.close(CLOSE_UNAUTHORIZED, "Signed out: this session was revoked")
            return
        await websocket.send_text(message)


def _ends_this_session(message: str, state: _State) -> bool:
    """A socket opened with an access token ends with its user's sessions; one opened with an API
    key lives as long as the key."""
    if state.identity.api_key_id is not None:
        return False
    with contextlib.suppress(ValueError):
        return bool(json.loads(message).get("type") == SESSIONS_REVOKED)
    return False


def _revokes_this_session(message: str, state: _State) -> bool:
    session_id = state.identity.session_id
    if session_id is None:
        return False
    with contextlib.suppress(ValueError):
        event = json.loads(message)
        return bool(event.get("type") == SESSION_REVOKED and str(session_id) in event.get("sessionIds", ()))
    return False


def _revokes_this_key(message: str, state: _State) -> bool:
    key_id = state.identity.api_key_id
    if key_id is None:
        return False
    with contextlib.suppress(ValueError):
        event = json.loads(message)
        return bool(event.get("type") == API_KEY_REVOKED and event.get("apiKeyId") == str(key_id))
    return False


async def _receive_loop(websocket: WebSocket, client: LiveClient, state: _State) -> None:
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
        data = _parse(message) or {}
        if data.get("type") == "ping":
            client.offer('{"type":"pong"}')
        elif data.get("type") == "auth" and isinstance(data.get("token"), str):
            try:
                fresh = await _authenticate(websocket, data["token"])
            except _Refused as exc:
                client.close(exc.code, exc.reason)
                return
            if fresh.user_id != state.identity.user_id:
                client.close(CLOSE_FORBIDDEN, "A socket stays with the user who opened it")
                return
            state.identity = fresh
            client.offer('{"type":"reauthenticated"}')


async def _keepalive_loop(client: LiveClient, state: _State) -> None:
    """Pings every 25 s (idle proxies cut silent sockets) and ends the socket when its token
    expires without a re-auth."""
    while not client.closed.is_set():
        wait = KEEPALIVE_SECONDS
        expires: datetime | None = state.identity.expires_at
        if expires is not None:
            remaining = (expires - utcnow()).total_seconds()
            if remaining <= 0:
                client.close(CLOSE_UNAUTHORIZED, "Token expired")
                return
            wait = min(wait, remaining)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(client.closed.wait(), wait)
            return
        if wait == KEEPALIVE_SECONDS:
            client.offer('{"type":"ping"}')


async def serve_socket(websocket: WebSocket, query_token: str | None) -> None:
    await websocket.accept()
    hub: LiveHub = websocket.app.state.live_hub
    try:
        identity = await _first_identity(websocket, query_token)
    except _Refused as exc:
        await _close(websocket, exc.code, exc.reason)
        return
    except WebSocketDisconnect:
        return
    state = _State(identity)
    client = hub.register(identity.user_id)
    tasks: list[asyncio.Task[None]] = []
    try:
        await hub.wait_listening(READY_WAIT_SECONDS)
        await websocket.send_text(json.dumps({"type": "ready", "userId": str(identity.user_id)}))
        tasks = [
            asyncio.create_task(_send_loop(websocket, client, state)),
            asyncio.create_task(_receive_loop(websocket, client, state)),
            asyncio.create_task(_keepalive_loop(client, state)),
        ]
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        if client.closed.is_set():
            await _close(websocket, client.close_code, client.close_reason)
    except WebSocketDisconnect:
        pass
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        hub.unregister(client)
