"""JWT forgery and algorithm confusion, beyond tests/core/test_auth.py (which covers alg none,
another key, wrong aud/iss, HS512 with our key, expiry and malformed headers). Refresh-token
reuse (family revocation) is tests/core/test_auth.py::test_refresh_reuse_revokes_the_whole_family.

Every forged token gets a 401 `invalid_token` (never 200, 403, 404 or 5xx), on REST and on the
live WebSocket; the control token (same claims, correctly signed) is accepted, so each case
proves the one change it makes is what gets it refused."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.conftest import assert_error


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def forge(header: dict[str, Any], claims: dict[str, Any], key: bytes | None) -> str:
    """A JWS by hand (PyJWT refuses to build most of these): HMAC-SHA256 over the signing input
    with `key`, whatever `alg` the header claims; no signature when key is None."""
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    signature = b"" if key is None else hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"


def claims_for(user_id: str, settings: Any, **changes: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    claims = {
        "sub": user_id,
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(minutes=5)).timestamp()),
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "jti": uuid.uuid4().hex,
        "typ": "access",
    }
    for name, value in changes.items():
        if value is None:
            claims.pop(name, None)
        else:
            claims[name] = value
    return claims


HS256 = {"alg": "HS256", "typ": "JWT"}
DROP = None


def cases(secret: bytes) -> list[tuple[str, dict[str, Any], dict[str, Any], bytes | None]]:
    """(name, header, claim changes, signing key)."""
    attacker = b"attacker-chosen-key"
    return [
        # Algorithm confusion: RS256/ES256/PS256 headers over an HMAC with our secret used as the
        # "public key" (the classic RS256→HS256 downgrade), and `none` in every spelling.
        ("rs256-header-hmac-with-our-secret", {"alg": "RS256", "typ": "JWT"}, {}, secret),
        ("es256-header-hmac-with-our-secret", {"alg": "ES256", "typ": "JWT"}, {}, secret),
        ("ps256-header-hmac-with-our-secret", {"alg": "PS256", "typ": "JWT"}, {}, secret),
        ("none-lowercase-no-sig", {"alg": "none"}, {}, None),
        ("None-capitalised-no-sig", {"alg": "None"}, {}, None),
        ("NONE-uppercase-no-sig", {"alg": "NONE"}, {}, None),
        ("nOnE-mixed-with-sig", {"alg": "nOnE"}, {}, secret),
        ("no-alg-at-all", {"typ": "JWT"}, {}, secret),
        ("hs256-signature-stripped", HS256, {}, None),
        # Key injection through the header: kid pointing at a file or a SQL payload whose
        # content the attacker knows, jwk/jku/x5u carrying the attacker's own key.
        ("kid-path-traversal-empty-key", {**HS256, "kid": "../../../../../../dev/null"}, {}, b""),
        ("kid-sql-injection", {**HS256, "kid": "x' UNION SELECT 'attacker-chosen-key' --"}, {}, attacker),
        ("kid-command-injection", {**HS256, "kid": "key|echo attacker-chosen-key"}, {}, attacker),
        ("embedded-jwk", {**HS256, "jwk": {"kty": "oct", "k": b64(attacker)}}, {}, attacker),
        ("jku-attacker-url", {**HS256, "jku": "http://127.0.0.1:1/jwks.json"}, {}, attacker),
        ("x5u-attacker-url", {**HS256, "x5u": "http://127.0.0.1:1/cert.pem"}, {}, attacker),
        ("empty-key", HS256, {}, b""),
        # Claims: each required one missing or wrong, with a valid signature.
        ("no-exp", HS256, {"exp": DROP}, secret),
        ("no-iat", HS256, {"iat": DROP}, secret),
        ("no-sub", HS256, {"sub": DROP}, secret),
        ("no-aud", HS256, {"aud": DROP}, secret),
        ("no-iss", HS256, {"iss": DROP}, secret),
        ("not-yet-valid-nbf", HS256, {"nbf": 4102444800}, secret),
        ("refresh-typ-confusion", HS256, {"typ": "refresh"}, secret),
        ("no-typ", HS256, {"typ": DROP}, secret),
        ("sub-not-a-uuid", HS256, {"sub": "admin"}, secret),
        ("sub-sql-injection", HS256, {"sub": "' OR '1'='1"}, secret),
        ("sub-integer", HS256, {"sub": 1}, secret),
        ("sub-unknown-user", HS256, {"sub": str(uuid.uuid4())}, secret),
        ("aud-list-without-ours", HS256, {"aud": ["t21-admin", "other"]}, secret),
        ("expired-long-ago", HS256, {"exp": 1, "iat": 0}, secret),
    ]


@pytest.fixture
async def victim(register) -> Any:
    return await register()


async def test_control_token_forged_the_same_way_is_accepted(client, victim, settings) -> None:
    """The forging helper makes tokens the API accepts when nothing is wrong with them."""
    token = forge(HS256, claims_for(victim.id, settings), settings.jwt_secret.encode())
    me = await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200, me.text
    assert me.json()["id"] == victim.id


async def test_every_forged_token_is_401(client, victim, settings) -> None:
    """One app for all the cases (each is one request triple): the failures list names them."""
    failures = []
    for name, header, changes, key in cases(settings.jwt_secret.encode()):
        token = forge(header, claims_for(victim.id, settings, **changes), key)
        for method, url in (
            ("GET", "/api/v1/auth/me"),
            ("GET", "/api/v1/brands"),
            ("PATCH", "/api/v1/auth/me"),
        ):
            response = await client.request(
                method, url, headers={"Authorization": f"Bearer {token}"}, json={"name": "pwned"}
            )
            body = response.json() if response.content else {}
            if response.status_code != 401 or body.get("code") not in ("invalid_token", "token_expired"):
                failures.append((name, method, url, response.status_code, body))
    assert not failures, failures
    assert (await victim.get("/api/v1/auth/me")).json()["name"] != "pwned"


@pytest.mark.parametrize(
    "token",
    [
        "t21_" + "A" * 40,  # API-key shaped, unknown
        "t21_" + "eyJhbGciOiJIUzI1NiJ9.e30.",  # API-key prefix smuggling a JWT
        "x" * 8000,  # oversized
        "a.b.c.d",  # four segments
        "..",  # empty segments
        "eyJhbGciOiJIUzI1NiJ9.!!!.###",  # not base64
    ],
    ids=["unknown-key", "prefix-smuggle", "oversized", "four-segments", "empty-segments", "not-base64"],
)
async def test_garbage_credentials_are_401(client, token) -> None:
    response = await client.get("/api/v1/brands", headers={"Authorization": f"Bearer {token}"})
    assert_error(response, 401)


async def test_token_of_a_deleted_person_is_refused(client, register, db) -> None:
    """A still-valid signature does not outlive the account it names."""
    from sqlalchemy import text

    person = await register()
    async with db.engine.begin() as conn:
        await conn.execute(text("DELETE FROM users WHERE id = :id"), {"id": person.id})
    assert_error(await person.get("/api/v1/auth/me"), 401, "invalid_token")


async def test_token_of_a_deleted_person_is_refused_by_hot_reads_once_the_memory_expires(
    client, register, db, monkeypatch
) -> None:
    """Hot reads (GET /brands) skip the user row and remember that a person exists for
    KNOWN_USER_SECONDS; past that, a deleted account's token is refused there too."""
    from sqlalchemy import text

    from t21.auth import dependencies

    person = await register()
    assert (await person.get("/api/v1/brands")).status_code == 200
    async with db.engine.begin() as conn:
        await conn.execute(text("DELETE FROM users WHERE id = :id"), {"id": person.id})
    monkeypatch.setattr(dependencies, "KNOWN_USER_SECONDS", 0.0)
    monkeypatch.setattr(dependencies, "_KNOWN_USERS", {})
    assert_error(await person.get("/api/v1/brands"), 401, "invalid_token")


@pytest.mark.slow
async def test_forged_tokens_cannot_open_the_live_socket(serve, register, settings) -> None:
    """The WebSocket authenticates with the same rules: alg none, RS256-confusion and refresh-typ
    tokens are closed with 4401 before any event flows."""
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed

    server = await serve()
    async with httpx.AsyncClient(base_url=server.url) as http:
        person = await register(on=http)
    secret = server.app.state.settings.jwt_secret.encode()
    app_settings = server.app.state.settings
    forged = [
        forge({"alg": "none"}, claims_for(person.id, app_settings), None),
        forge({"alg": "RS256"}, claims_for(person.id, app_settings), secret),
        forge(HS256, claims_for(person.id, app_settings, typ="refresh"), secret),
        forge({**HS256, "kid": "../../dev/null"}, claims_for(person.id, app_settings), b""),
    ]
    url = server.url.replace("http://", "ws://") + "/api/v1/ws"
    for token in forged:
        async with connect(url) as ws:
            await ws.send(json.dumps({"type": "auth", "token": token}))
            try:
                message = await ws.recv()
            except ConnectionClosed:
                message = None
            assert message is None, f"socket answered {message!r} to a forged token"
            assert ws.close_code == 4401, (ws.close_code, ws.close_reason)
