"""Forgot password over HTTP on real PostgreSQL: the link by email (only its hash stored), single
use, 30 minutes; the same answer for unknown addresses; rate limits per IP and per address; a
reset ends every session (refresh tokens, live sockets)."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from t21.auth.tasks import password_reset_job
from t21.emulators.base import RunningServer
from t21.jobs.context import JobResources
from t21.kit.crypto import sha256_hex
from t21.main import create_app
from tests.auth.conftest import emails_to, reset_link
from tests.conftest import PASSWORD, AppFactory, assert_error, client_for, make_settings

RESET = "/api/v1/auth/password-reset"
CONFIRM = "/api/v1/auth/password-reset/confirm"
NEW_PASSWORD = "a brand new passphrase"


async def run_reset_jobs(db: Any, settings: Any) -> list[str]:
    """Run the waiting password reset jobs as the worker would; returns their addresses."""
    async with db.engine.begin() as conn:
        rows = await conn.execute(
            text(
                "UPDATE procrastinate_jobs SET status = 'succeeded' "
                "WHERE task_name = 't21.send_password_reset' AND status = 'todo' RETURNING args->>'email'"
            )
        )
        addresses = [r[0] for r in rows]
    async with httpx.AsyncClient() as http:
        for address in addresses:
            await password_reset_job(JobResources(settings=settings, db=db, http=http), address)
    return addresses


async def count(db: Any, sql: str) -> int:
    async with db.engine.connect() as conn:
        return int((await conn.execute(text(sql))).scalar_one())


async def test_forgot_password_from_email_to_new_password(client, register, db, email_worker) -> None:
    alice = await register(email="alice@example.com")
    other_session = (
        await client.post("/api/v1/auth/login", json={"email": alice.email, "password": PASSWORD})
    ).json()["tokens"]

    asked = await client.post(RESET, json={"email": "Alice@Example.com"})
    assert asked.status_code == 202, asked.text
    token = await reset_link(db, "alice@example.com")
    [email] = await emails_to(db, "alice@example.com", "password_reset")
    assert email["subject"] == "Reset your T21 password"
    assert f"http://testserver/reset-password?token={token}" in email["text_body"]
    assert "30 minutes" in email["text_body"]
    # Only the token's hash is stored, for 30 minutes.
    async with db.engine.connect() as conn:
        stored = (
            await conn.execute(
                text(
                    "SELECT token_hash, expires_at - created_at AS ttl, used_at FROM account_tokens "
                    "WHERE purpose = 'password_reset'"
                )
            )
        ).one()
    assert stored.token_hash == sha256_hex(token) and token not in stored.token_hash
    assert timedelta(minutes=29) < stored.ttl <= timedelta(minutes=30, seconds=5)
    assert stored.used_at is None

    assert (await alice.get("/api/v1/auth/me")).status_code == 200
    assert (await alice.get("/api/v1/brands")).status_code == 200
    done = await client.post(CONFIRM, json={"token": token, "password": NEW_PASSWORD})
    assert done.status_code == 204, done.text
    # The access token from before is refused at once, on full and on hot (cached) reads alike.
    assert_error(await alice.get("/api/v1/auth/me"), 401, "session_revoked")
    assert_error(await alice.get("/api/v1/brands"), 401, "session_revoked")

    # The new password works, the old one does not.
    old = await client.post("/api/v1/auth/login", json={"email": alice.email, "password": PASSWORD})
    assert_error(old, 401)
    new = await client.post("/api/v1/auth/login", json={"email": alice.email, "password": NEW_PASSWORD})
    assert new.status_code == 200
    fresh = {"Authorization": f"Bearer {new.json()['tokens']['accessToken']}"}
    assert (await client.get("/api/v1/auth/me", headers=fresh)).status_code == 200
    # Every refresh token from before is dead.
    for refresh in (alice.refresh_token, other_session["refreshToken"]):
        assert_error(await client.post("/api/v1/auth/refresh", json={"refreshToken": refresh}), 401)
    # The link is spent: a second use is refused, and the password stays.
    again = await client.post(CONFIRM, json={"token": token, "password": "yet another passphrase"})
    assert_error(again, 410, "reset_token_used")
    relog = await client.post("/api/v1/auth/login", json={"email": alice.email, "password": NEW_PASSWORD})
    assert relog.status_code == 200
    # And the person hears that their password changed.
    assert len(await emails_to(db, "alice@example.com", "password_changed")) == 1


async def test_the_answer_is_the_same_whether_or_not_the_address_exists(
    client, register, db, settings
) -> None:
    await register(email="known@example.com")
    known = await client.post(RESET, json={"email": "known@example.com"})
    unknown = await client.post(RESET, json={"email": "nobody@example.com"})
    assert (known.status_code, known.json()) == (unknown.status_code, unknown.json())
    assert known.status_code == 202 and "If an account uses this address" in known.json()["message"]
    # The requests did the same work: one job each, nothing looked up or written for either yet.
    assert await count(db, "SELECT count(*) FROM account_tokens WHERE purpose = 'password_reset'") == 0
    assert await count(db, "SELECT count(*) FROM email_messages WHERE template = 'password_reset'") == 0
    assert sorted(await run_reset_jobs(db, settings)) == ["known@example.com", "nobody@example.com"]
    # Only the job knows: one email, to the account that exists.
    assert await count(db, "SELECT count(*) FROM account_tokens WHERE purpose = 'password_reset'") == 1
    assert len(await emails_to(db, "known@example.com", "password_reset")) == 1
    assert await emails_to(db, "nobody@example.com", "password_reset") == []


async def test_an_expired_link_is_refused(client, register, db, settings, clock) -> None:
    alice = await register()
    assert (await client.post(RESET, json={"email": alice.email})).status_code == 202
    await run_reset_jobs(db, settings)
    token = await reset_link(db, alice.email)
    clock.advance(31 * 60)
    expired = await client.post(CONFIRM, json={"token": token, "password": NEW_PASSWORD})
    body = assert_error(expired, 410, "reset_token_expired")
    assert "expired" in body["error"]
    clock.reset()
    login = await client.post("/api/v1/auth/login", json={"email": alice.email, "password": PASSWORD})
    assert login.status_code == 200


async def test_unknown_tokens_and_weak_passwords_are_refused(client, register, db, settings) -> None:
    alice = await register()
    await client.post(RESET, json={"email": alice.email})
    await run_reset_jobs(db, settings)
    token = await reset_link(db, alice.email)
    assert_error(
        await client.post(CONFIRM, json={"token": "not-a-token", "password": NEW_PASSWORD}),
        400,
        "invalid_reset_token",
    )
    assert_error(await client.post(CONFIRM, json={"token": token, "password": "short"}), 422)
    assert_error(await client.post(RESET, json={"email": "not an email"}), 422)
    # The refused attempts did not spend the link.
    assert (await client.post(CONFIRM, json={"token": token, "password": NEW_PASSWORD})).status_code == 204


async def test_a_newer_password_kills_older_links(client, register, db, settings) -> None:
    alice = await register()
    await client.post(RESET, json={"email": alice.email})
    await client.post(RESET, json={"email": alice.email})
    await run_reset_jobs(db, settings)
    first, second = await reset_link(db, alice.email, 1), await reset_link(db, alice.email, 2)
    assert first != second
    assert (await client.post(CONFIRM, json={"token": second, "password": NEW_PASSWORD})).status_code == 204
    assert_error(
        await client.post(CONFIRM, json={"token": first, "password": PASSWORD}), 410, "reset_token_used"
    )


async def test_rate_limited_per_address_whatever_the_address(app_factory: AppFactory, register) -> None:
    app = await app_factory(rate_limit_password_reset="2/hour", rate_limit_auth="100/minute")
    async with client_for(app) as http:
        await register(email="limited@example.com", on=http)
        for address in ("limited@example.com", "ghost@example.com"):
            for _ in range(2):
                assert (await http.post(RESET, json={"email": address})).status_code == 202
        # The third ask for either address is refused the same way (no hint of which exists),
        # however the address is written.
        known = await http.post(RESET, json={"email": "LIMITED@example.com"})
        ghost = await http.post(RESET, json={"email": "ghost@example.com"})
        for refused in (known, ghost):
            body = assert_error(refused, 429, "rate_limited")
            assert body["details"]["retryAfter"] > 0 and int(refused.headers["Retry-After"]) > 0
        assert known.json() == ghost.json()
        # Other addresses are not held back by these.
        assert (await http.post(RESET, json={"email": "third@example.com"})).status_code == 202


async def test_rate_limited_per_ip(app_factory: AppFactory) -> None:
    app = await app_factory(rate_limit_auth="3/minute")
    async with client_for(app) as http:
        statuses = [
            (await http.post(RESET, json={"email": f"p{i}@example.com"})).status_code for i in range(4)
        ]
        assert statuses == [202, 202, 202, 429]
        guesses = [
            (await http.post(CONFIRM, json={"token": f"guess-{i}", "password": NEW_PASSWORD})).status_code
            for i in range(4)
        ]
        assert guesses == [400, 400, 400, 429]


async def test_a_reset_closes_the_live_sockets_of_the_sessions_it_ends(
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
            access = registered.json()["tokens"]["accessToken"]
            key = (
                await http.post(
                    "/api/v1/api-keys",
                    json={"name": "live", "scopes": ["notifications:read"]},
                    headers={"Authorization": f"Bearer {access}"},
                )
            ).json()["key"]
            ws_url = server.url.replace("http://", "ws://") + "/api/v1/ws"
            by_token, by_key = await connect(ws_url), await connect(ws_url)
            for ws, secret in ((by_token, access), (by_key, key)):
                await ws.send(json.dumps({"type": "auth", "token": secret}))
                assert json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "ready"

            assert (await http.post(RESET, json={"email": "sam@example.com"})).status_code == 202
            await run_reset_jobs(db, settings)
            token = await reset_link(db, "sam@example.com")
            assert (
                await http.post(CONFIRM, json={"token": token, "password": NEW_PASSWORD})
            ).status_code == 204

            try:
                await asyncio.wait_for(by_token.recv(), 5)
                raise AssertionError("the socket opened with the access token stayed open")
            except ConnectionClosed:
                pass
            assert (by_token.close_code, by_token.close_reason) == (
                4401,
                "Signed out: the password was reset",
            )
            # Reopening it with the same access token is refused too.
            async with connect(ws_url) as again:
                await again.send(json.dumps({"type": "auth", "token": access}))
                try:
                    await asyncio.wait_for(again.recv(), 5)
                    raise AssertionError("a socket opened with the old access token")
                except ConnectionClosed:
                    pass
                assert again.close_code == 4401 and "password was reset" in (again.close_reason or "")
            # The API key outlives the password: its socket hears the event and stays.
            event = json.loads(await asyncio.wait_for(by_key.recv(), 5))
            assert event == {"type": "user.sessions_revoked", "reason": "password_reset"}
            await by_key.send(json.dumps({"type": "ping"}))
            assert json.loads(await asyncio.wait_for(by_key.recv(), 5))["type"] == "pong"
            await by_key.close()
    finally:
        await asyncio.to_thread(server.stop)
