from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest

from t21.auth.tokens import create_access_token
from tests.conftest import PASSWORD, assert_error


async def test_register_login_me(client, register) -> None:
    account = await register(email="Alice@Example.com", name="Alice")
    assert account.user["email"] == "alice@example.com"
    assert account.user["subscriptionTier"] == "FREE"
    me = await account.get("/api/v1/auth/me")
    assert me.status_code == 200
    assert me.json()["id"] == account.id

    login = await client.post("/api/v1/auth/login", json={"email": "ALICE@example.com", "password": PASSWORD})
    assert login.status_code == 200
    assert set(login.json()) == {"user", "tokens"}
    assert set(login.json()["tokens"]) >= {"accessToken", "refreshToken"}


async def test_duplicate_email_is_409_case_insensitively(client, register) -> None:
    await register(email="bob@example.com")
    response = await client.post(
        "/api/v1/auth/register", json={"email": "BOB@example.com", "password": PASSWORD, "name": "Bob"}
    )
    assert_error(response, 409, "email_taken")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "not-an-email", "password": PASSWORD, "name": "X"}, "body.email"),
        ({"email": "a@example.com", "password": "short", "name": "X"}, "body.password"),
        ({"email": "a@example.com", "password": "é" * 40, "name": "X"}, "body.password"),  # 80 bytes > 72
        ({"email": "a@example.com", "password": PASSWORD, "name": "   "}, "body.name"),
        ({"email": "a@example.com", "password": PASSWORD}, "body.name"),
        (
            {"email": "a@example.com", "password": PASSWORD, "name": "X", "timeZone": "Mars/Base"},
            "body.timeZone",
        ),
        ({"email": "a@example.com", "password": PASSWORD, "name": "X", "admin": True}, "body.admin"),
    ],
)
async def test_register_bad_input_is_422_with_field(client, body, field) -> None:
    response = await client.post("/api/v1/auth/register", json=body)
    error = assert_error(response, 422, "validation_error")
    assert field in [d["field"] for d in error["details"]], error


async def test_password_error_says_why(client) -> None:
    response = await client.post(
        "/api/v1/auth/register", json={"email": "a@example.com", "password": "é" * 40, "name": "X"}
    )
    assert "72 bytes" in json.dumps(response.json())


async def test_login_same_answer_for_unknown_email_and_wrong_password(client, register) -> None:
    await register(email="carol@example.com")
    wrong = await client.post(
        "/api/v1/auth/login", json={"email": "carol@example.com", "password": "nope-nope"}
    )
    unknown = await client.post(
        "/api/v1/auth/login", json={"email": "nobody@example.com", "password": "nope-nope"}
    )
    assert_error(wrong, 401, "invalid_credentials")
    assert_error(unknown, 401, "invalid_credentials")
    assert wrong.json() == unknown.json()


async def test_refresh_rotates_and_old_token_dies(client, register) -> None:
    account = await register()
    first = await client.post("/api/v1/auth/refresh", json={"refreshToken": account.refresh_token})
    assert first.status_code == 200
    new_refresh = first.json()["tokens"]["refreshToken"]
    assert new_refresh != account.refresh_token
    # The new access token works.
    me = await client.get(
        "/api/v1/auth/me", headers={"Authorization": f"Bearer {first.json()['tokens']['accessToken']}"}
    )
    assert me.status_code == 200


async def test_refresh_reuse_revokes_the_whole_family(client, register) -> None:
    account = await register()
    rotated = await client.post("/api/v1/auth/refresh", json={"refreshToken": account.refresh_token})
    newest = rotated.json()["tokens"]["refreshToken"]
    # An attacker replays the old token: 401, and the family dies...
    reuse = await client.post("/api/v1/auth/refresh", json={"refreshToken": account.refresh_token})
    assert_error(reuse, 401, "refresh_token_reused")
    # ...so the legitimate newest token no longer works either.
    after = await client.post("/api/v1/auth/refresh", json={"refreshToken": newest})
    assert_error(after, 401, "refresh_token_reused")


async def test_other_login_sessions_survive_a_reuse(client, register) -> None:
    account = await register()
    other = await client.post("/api/v1/auth/login", json={"email": account.email, "password": PASSWORD})
    await client.post("/api/v1/auth/refresh", json={"refreshToken": account.refresh_token})
    await client.post("/api/v1/auth/refresh", json={"refreshToken": account.refresh_token})
    still = await client.post(
        "/api/v1/auth/refresh", json={"refreshToken": other.json()["tokens"]["refreshToken"]}
    )
    assert still.status_code == 200


async def test_unknown_refresh_token(client) -> None:
    assert_error(
        await client.post("/api/v1/auth/refresh", json={"refreshToken": "garbage"}),
        401,
        "invalid_refresh_token",
    )


async def test_logout_revokes_refresh_token(client, register) -> None:
    account = await register()
    response = await client.post("/api/v1/auth/logout", json={"refreshToken": account.refresh_token})
    assert response.status_code == 204
    after = await client.post("/api/v1/auth/refresh", json={"refreshToken": account.refresh_token})
    assert after.status_code == 401


async def test_expired_access_token_answers_token_expired(client, register, settings) -> None:
    account = await register()
    expired = create_access_token(account.id, settings, ttl_seconds=-5)  # type: ignore[arg-type]
    response = await client.get("/api/v1/brands", headers={"Authorization": f"Bearer {expired}"})
    body = assert_error(response, 401, "token_expired")
    assert body["error"] == "Token expired"


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def _claims(user_id: str, settings) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "sub": user_id,
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(minutes=5)).timestamp()),
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "typ": "access",
    }


async def test_alg_none_token_is_refused(client, register, settings) -> None:
    account = await register()
    token = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(_claims(account.id, settings))}."
    assert_error(
        await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"}),
        401,
        "invalid_token",
    )


async def test_token_signed_with_another_key_is_refused(client, register, settings) -> None:
    account = await register()
    token = jwt.encode(_claims(account.id, settings), "another-key-" + "y" * 32, algorithm="HS256")
    assert_error(
        await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"}),
        401,
        "invalid_token",
    )


async def test_wrong_audience_or_issuer_is_refused(client, register, settings) -> None:
    account = await register()
    for change in ({"aud": "someone-else"}, {"iss": "evil"}):
        token = jwt.encode(
            {**_claims(account.id, settings), **change}, settings.jwt_secret, algorithm="HS256"
        )
        assert (
            await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
        ).status_code == 401


async def test_hs512_token_with_our_key_is_refused(client, register, settings) -> None:
    account = await register()
    token = jwt.encode(_claims(account.id, settings), settings.jwt_secret, algorithm="HS512")
    assert (
        await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    ).status_code == 401


async def test_missing_or_malformed_authorization(client) -> None:
    assert_error(await client.get("/api/v1/brands"), 401, "unauthorized")
    assert_error(await client.get("/api/v1/brands", headers={"Authorization": "Basic abc"}), 401)
    assert_error(await client.get("/api/v1/brands", headers={"Authorization": "Bearer not.a.jwt"}), 401)


async def test_change_password_ends_other_sessions(client, register) -> None:
    account = await register()
    response = await account.post(
        "/api/v1/auth/password", json={"currentPassword": PASSWORD, "newPassword": "a brand new secret"}
    )
    assert response.status_code == 204
    assert (
        await client.post("/api/v1/auth/refresh", json={"refreshToken": account.refresh_token})
    ).status_code == 401
    ok = await client.post(
        "/api/v1/auth/login", json={"email": account.email, "password": "a brand new secret"}
    )
    assert ok.status_code == 200


async def test_passwords_are_stored_hashed(client, register, db) -> None:
    from sqlalchemy import text

    account = await register()
    async with db.engine.connect() as conn:
        stored = (
            await conn.execute(text("SELECT password_hash FROM users WHERE id = :id"), {"id": account.id})
        ).scalar_one()
        refresh = (await conn.execute(text("SELECT token_hash FROM refresh_tokens"))).scalars().all()
    assert stored.startswith("$2b$") and PASSWORD not in stored
    assert account.refresh_token not in refresh
