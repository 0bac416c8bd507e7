"""The sessions page over HTTP on real PostgreSQL: each refresh-token family with its device, IP
and last use; revoking one (never another person's), or every other one; a revoked session's
live sockets close and cannot reopen."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from t21.auth.sessions import describe_device, trim_user_agent
from t21.emulators.base import RunningServer
from t21.main import create_app
from tests.conftest import PASSWORD, assert_error, make_settings

SESSIONS = "/api/v1/me/sessions"
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"
)


async def login(client: httpx.AsyncClient, email: str, user_agent: str) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/auth/login",
        json={"email": email, "password": PASSWORD},
        headers={"User-Agent": user_agent},
    )
    assert response.status_code == 200, response.text
    return dict(response.json()["tokens"])


def bearer(tokens: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['accessToken']}"}


async def refresh(
    client: httpx.AsyncClient, tokens: dict[str, Any], user_agent: str = FIREFOX
) -> httpx.Response:
    return await client.post(
        "/api/v1/auth/refresh",
        json={"refreshToken": tokens["refreshToken"]},
        headers={"User-Agent": user_agent},
    )


def test_device_labels() -> None:
    assert describe_device(FIREFOX) == "Firefox on Linux"
    assert describe_device(IPHONE) == "Safari on iOS"
    assert describe_device("python-httpx/0.28.1") == "python-httpx"
    assert describe_device(None) == "Unknown device"
    assert trim_user_agent("  a \n b  " + "x" * 400) == ("a b " + "x" * 400)[:300]
    assert trim_user_agent("   ") is None


async def test_sessions_list_device_ip_and_last_use(client, register) -> None:
    alice = await register(email="alice@example.com")
    laptop = await login(client, alice.email, FIREFOX)
    phone = await login(client, alice.email, IPHONE)

    listed = await client.get(SESSIONS, headers=bearer(laptop))
    assert listed.status_code == 200, listed.text
    sessions = listed.json()["data"]
    assert len(sessions) == 3  # sign-up, laptop, phone
    assert [s["device"] for s in sessions[:2]] == ["Safari on iOS", "Firefox on Linux"]
    assert [s["current"] for s in sessions] == [False, True, False]
    laptop_session = sessions[1]
    assert laptop_session["userAgent"] == FIREFOX
    assert laptop_session["ipAddress"] == "127.0.0.1"
    assert laptop_session["signedInAt"] == laptop_session["lastUsedAt"]

    # A refresh keeps the session (same id), moves its last use and records the new device.
    renewed = await refresh(
        client, laptop, user_agent="Mozilla/5.0 (Windows NT 10.0) Chrome/131.0 Safari/537"
    )
    assert renewed.status_code == 200, renewed.text
    laptop = renewed.json()["tokens"]
    sessions = (await client.get(SESSIONS, headers=bearer(laptop))).json()["data"]
    assert len(sessions) == 3
    first = sessions[0]
    assert first["id"] == laptop_session["id"] and first["current"] is True
    assert first["device"] == "Chrome on Windows"
    assert first["lastUsedAt"] > laptop_session["lastUsedAt"]
    assert first["signedInAt"] == laptop_session["signedInAt"]

    # Only the person's own sessions; API keys cannot manage sessions.
    bob = await register(email="bob@example.com")
    assert len((await bob.get(SESSIONS)).json()["data"]) == 1
    assert (await client.get(SESSIONS)).status_code == 401
    # The phone marks its own session.
    from_phone = (await client.get(SESSIONS, headers=bearer(phone))).json()["data"]
    assert [s["device"] for s in from_phone if s["current"]] == ["Safari on iOS"]


async def test_revoke_one_session(client, register) -> None:
    alice = await register(email="alice@example.com")
    laptop = await login(client, alice.email, FIREFOX)
    phone = await login(client, alice.email, IPHONE)
    sessions = (await client.get(SESSIONS, headers=bearer(laptop))).json()["data"]
    phone_id = next(s["id"] for s in sessions if s["device"] == "Safari on iOS")

    # Another person's session is not found, and stays.
    bob = await register(email="bob@example.com")
    assert_error(await bob.delete(f"{SESSIONS}/{phone_id}"), 404, "session_not_found")
    assert_error(await bob.delete(f"{SESSIONS}/00000000-0000-0000-0000-000000000000"), 404)

    revoked = await client.delete(f"{SESSIONS}/{phone_id}", headers=bearer(laptop))
    assert revoked.status_code == 204, revoked.text
    assert_error(await refresh(client, phone), 401)
    remaining = (await client.get(SESSIONS, headers=bearer(laptop))).json()["data"]
    assert phone_id not in [s["id"] for s in remaining] and len(remaining) == 2
    # Revoking it again: no longer an open session.
    assert_error(await client.delete(f"{SESSIONS}/{phone_id}", headers=bearer(laptop)), 404)
    # The others still refresh.
    assert (await refresh(client, laptop)).status_code == 200
    assert (await refresh(client, {"refreshToken": alice.refresh_token})).status_code == 200


async def test_revoke_every_other_session(client, register) -> None:
    alice = await register(email="alice@example.com")
    laptop = await login(client, alice.email, FIREFOX)
    phone = await login(client, alice.email, IPHONE)
    bob = await register(email="bob@example.com")

    answer = await client.post(f"{SESSIONS}/revoke-others", headers=bearer(laptop))
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"revoked": 2}
    [left] = (await client.get(SESSIONS, headers=bearer(laptop))).json()["data"]
    assert left["current"] is True
    assert_error(await refresh(client, phone), 401)
    assert_error(await refresh(client, {"refreshToken": alice.refresh_token}), 401)
    assert (await refresh(client, laptop)).status_code == 200
    # Bob's session is untouched.
    assert (await refresh(client, {"refreshToken": bob.refresh_token})).status_code == 200
    again = await client.post(f"{SESSIONS}/revoke-others", headers=bearer(laptop))
    assert again.json() == {"revoked": 0}


async def test_revoking_a_session_closes_its_live_sockets_only(
    database_url: str, session_tmp: Path, db: Any
) -> None:
    settings = make_settings(database_url, session_tmp)
    server = await asyncio.to_thread(RunningServer(create_app(settings)).start)
    try:
        async with httpx.AsyncClient(base_url=server.url) as http:
            registered = await http.post(
                "/api/v1/auth/register",
                json={"email": "sam@example.com", "password": PASSWORD, "name": "Sam"},
            )
            assert registered.status_code == 201, registered.text
            kept = registered.json()["tokens"]
            phone = await login(http, "sam@example.com", IPHONE)
            ws_url = server.url.replace("http://", "ws://") + "/api/v1/ws"
            on_phone, on_laptop = await connect(ws_url), await connect(ws_url)
            for ws, tokens in ((on_phone, phone), (on_laptop, kept)):
                await ws.send(json.dumps({"type": "auth", "token": tokens["accessToken"]}))
                assert json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "ready"

            sessions = (await http.get(SESSIONS, headers=bearer(kept))).json()["data"]
            phone_id = next(s["id"] for s in sessions if not s["current"])
            assert (await http.delete(f"{SESSIONS}/{phone_id}", headers=bearer(kept))).status_code == 204

            try:
                await asyncio.wait_for(on_phone.recv(), 5)
                raise AssertionError("the revoked session's socket stayed open")
            except ConnectionClosed:
                pass
            assert (on_phone.close_code, on_phone.close_reason) == (
                4401,
                "Signed out: this session was revoked",
            )
            # Its access token cannot open a socket again.
            async with connect(ws_url) as again:
                await again.send(json.dumps({"type": "auth", "token": phone["accessToken"]}))
                try:
                    await asyncio.wait_for(again.recv(), 5)
                    raise AssertionError("a socket opened with the revoked session's token")
                except ConnectionClosed:
                    pass
                assert again.close_code == 4401
            # The other session's socket hears the event and stays.
            event = json.loads(await asyncio.wait_for(on_laptop.recv(), 5))
            assert event == {"type": "session.revoked", "sessionIds": [phone_id]}
            await on_laptop.send(json.dumps({"type": "ping"}))
            assert json.loads(await asyncio.wait_for(on_laptop.recv(), 5))["type"] == "pong"
            await on_laptop.close()
    finally:
        await asyncio.to_thread(server.stop)
