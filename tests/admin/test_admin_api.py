"""The instance admin API (issue 17): only for admins signed in with an access token; listing
and searching people with their usage; disabling one ends every credential they hold at once
(access and refresh tokens, API keys) and refuses sign-in with 403 account_disabled until they
are enabled again; resending a verification email queues it in the outbox; and the CLI's
create-user --admin / make-admin."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import text

from tests.auth.conftest import emails_to
from tests.conftest import PASSWORD, assert_error

USERS = "/api/v1/admin/users"


async def make_admin(db: Any, user_id: str) -> None:
    async with db.engine.begin() as conn:
        await conn.execute(text("UPDATE users SET is_admin = true WHERE id = :id"), {"id": user_id})


async def test_only_admins_signed_in_with_a_token_may_use_it(client, register, db) -> None:
    boss = await register(email="boss@example.com")
    eve = await register(email="eve@example.com")
    await make_admin(db, boss.id)
    assert (await boss.get("/api/v1/auth/me")).json()["isAdmin"] is True
    assert (await eve.get("/api/v1/auth/me")).json()["isAdmin"] is False
    for method, url in [
        ("GET", USERS),
        ("GET", f"{USERS}/{boss.id}"),
        ("POST", f"{USERS}/{boss.id}/disable"),
        ("POST", f"{USERS}/{boss.id}/enable"),
        ("POST", f"{USERS}/{boss.id}/resend-verification"),
    ]:
        assert_error(await client.request(method, url, headers=eve.headers), 403, "admin_only")
        assert_error(await client.request(method, url), 401)
    # Even an admin's API key cannot: a leaked script key must not lock people out.
    key = await boss.post("/api/v1/api-keys", json={"name": "k", "scopes": ["brands:read"]})
    assert key.status_code == 201, key.text
    headers = {"Authorization": f"Bearer {key.json()['key']}"}
    assert_error(await client.get(USERS, headers=headers), 403, "session_required")
    assert (await boss.get(f"{USERS}/{eve.id}")).json()["email"] == "eve@example.com"


async def test_list_search_page_and_usage(client, register, db) -> None:
    boss = await register(email="boss@example.com", name="The Boss")
    await make_admin(db, boss.id)
    people = [await register(email=f"person{i}@example.com", name=f"Person {i}") for i in range(4)]
    await people[0].create_brand(name="One")
    await people[0].create_brand(name="Two")
    async with db.engine.begin() as conn:
        await conn.execute(
            text("UPDATE users SET posts_this_month = 7, ai_credits_used = 12 WHERE id = :id"),
            {"id": people[0].id},
        )

    seen: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = (await boss.get(USERS, params=params)).json()
        assert len(page["data"]) <= 2
        seen += page["data"]
        cursor = page["nextCursor"]
        if not cursor:
            break
    assert [u["email"] for u in seen] == [f"person{i}@example.com" for i in (3, 2, 1, 0)] + [
        "boss@example.com"
    ]
    assert seen[-1]["isAdmin"] is True and seen[0]["isAdmin"] is False

    found = (await boss.get(USERS, params={"search": "PERSON0"})).json()
    assert [u["email"] for u in found["data"]] == ["person0@example.com"] and found["nextCursor"] is None
    usage = found["data"][0]["usage"]
    assert usage["brands"] == 2 and usage["socialAccounts"] == 0
    assert usage["postsThisMonth"] == 7 and usage["aiCreditsUsed"] == 12
    assert usage["lastLoginAt"] is None  # signed up, never signed in since
    assert found["data"][0]["disabled"] is False and found["data"][0]["emailVerified"] is False
    # A wildcard in the search is a literal character.
    assert (await boss.get(USERS, params={"search": "%"})).json()["data"] == []
    assert [u["name"] for u in (await boss.get(USERS, params={"search": "boss"})).json()["data"]] == [
        "The Boss"
    ]

    await client.post("/api/v1/auth/login", json={"email": "person1@example.com", "password": PASSWORD})
    one = (await boss.get(f"{USERS}/{people[1].id}")).json()
    assert one["usage"]["lastLoginAt"] is not None
    assert_error(await boss.get(f"{USERS}/00000000-0000-0000-0000-000000000000"), 404, "user_not_found")


async def test_disabling_refuses_every_credential_and_enabling_restores_sign_in(client, register, db) -> None:
    boss = await register(email="boss@example.com")
    await make_admin(db, boss.id)
    ada = await register(email="ada@example.com")
    key = await ada.post("/api/v1/api-keys", json={"name": "k", "scopes": ["brands:read"]})
    assert key.status_code == 201, key.text
    key_headers = {"Authorization": f"Bearer {key.json()['key']}"}
    assert (await client.get("/api/v1/brands", headers=key_headers)).status_code == 200
    assert (await ada.get("/api/v1/brands")).status_code == 200  # the access token is known (cached)

    disabled = await boss.post(f"{USERS}/{ada.id}/disable")
    assert disabled.status_code == 200, disabled.text
    assert disabled.json()["disabled"] is True and disabled.json()["disabledAt"]

    # The existing access token, on a hot read (brands) and a full one (me).
    assert_error(await ada.get("/api/v1/brands"), 403, "account_disabled")
    assert_error(await ada.get("/api/v1/auth/me"), 403, "account_disabled")
    refreshed = await client.post("/api/v1/auth/refresh", json={"refreshToken": ada.refresh_token})
    assert refreshed.status_code in (401, 403), refreshed.text
    assert_error(await client.get("/api/v1/brands", headers=key_headers), 401, "invalid_api_key")
    login = {"email": "ada@example.com", "password": PASSWORD}
    assert_error(await client.post("/api/v1/auth/login", json=login), 403, "account_disabled")
    # A wrong password says nothing about the account.
    wrong = {"email": "ada@example.com", "password": "not the password"}
    assert_error(await client.post("/api/v1/auth/login", json=wrong), 401, "invalid_credentials")
    async with db.engine.connect() as conn:
        open_families = (
            await conn.execute(
                text("SELECT count(*) FROM refresh_tokens WHERE user_id = :id AND revoked_at IS NULL"),
                {"id": ada.id},
            )
        ).scalar_one()
    assert open_families == 0
    assert (await boss.get(f"{USERS}/{ada.id}")).json()["disabled"] is True
    assert_error(await boss.post(f"{USERS}/{boss.id}/disable"), 409, "cannot_disable_self")

    enabled = await boss.post(f"{USERS}/{ada.id}/enable")
    assert enabled.status_code == 200 and enabled.json()["disabled"] is False
    again = await client.post("/api/v1/auth/login", json=login)
    assert again.status_code == 200, again.text
    fresh = {"Authorization": f"Bearer {again.json()['tokens']['accessToken']}"}
    assert (await client.get("/api/v1/brands", headers=fresh)).status_code == 200
    # The key was never revoked: it works again.
    assert (await client.get("/api/v1/brands", headers=key_headers)).status_code == 200
    # The sessions that were ended stay ended.
    assert_error(await ada.get("/api/v1/auth/me"), 401)


async def test_resend_verification_queues_an_email(client, register, db) -> None:
    boss = await register(email="boss@example.com")
    await make_admin(db, boss.id)
    ada = await register(email="ada@example.com")
    assert len(await emails_to(db, "ada@example.com", "verify_email")) == 1
    # No cool-down for an admin asking on the person's behalf.
    sent = await boss.post(f"{USERS}/{ada.id}/resend-verification")
    assert sent.status_code == 202, sent.text
    assert len(await emails_to(db, "ada@example.com", "verify_email")) == 2
    async with db.engine.begin() as conn:
        await conn.execute(text("UPDATE users SET email_verified_at = now() WHERE id = :id"), {"id": ada.id})
    assert_error(await boss.post(f"{USERS}/{ada.id}/resend-verification"), 409, "email_already_verified")


def test_cli_create_user_admin_and_make_admin(database_url: str, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "T21_DATABASE_URL": database_url,
        "T21_DATA_DIR": str(tmp_path),
        "T21_BCRYPT_ROUNDS": "4",
    }
    cli = [sys.executable, "-m", "t21.cli"]

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*cli, *args], capture_output=True, text=True, env=env)

    made = run(
        "create-user",
        "--email",
        "Root@Example.com",
        "--name",
        "Root",
        "--password",
        "long enough pw",
        "--admin",
    )
    assert made.returncode == 0, made.stderr
    said = " ".join(made.stderr.split())  # the console wraps long lines
    assert "created root@example.com" in said and "as an instance admin" in said
    plain = run("create-user", "--email", "pat@example.com", "--name", "Pat", "--password", "long enough pw")
    assert plain.returncode == 0, plain.stderr

    import psycopg

    from t21.db.urls import libpq_url

    def admins() -> set[str]:
        with psycopg.connect(libpq_url(database_url)) as conn:
            return {r[0] for r in conn.execute("SELECT email FROM users WHERE is_admin")}

    assert admins() == {"root@example.com"}
    with psycopg.connect(libpq_url(database_url)) as conn:  # the operator vouches for the address
        assert conn.execute("SELECT bool_and(email_verified_at IS NOT NULL) FROM users").fetchone() == (True,)
    promoted = run("make-admin", "pat@example.com")
    assert promoted.returncode == 0, promoted.stderr
    assert admins() == {"root@example.com", "pat@example.com"}
    assert run("make-admin", "pat@example.com", "--revoke").returncode == 0
    assert admins() == {"root@example.com"}
    missing = run("make-admin", "nobody@example.com")
    assert missing.returncode == 1 and "no user" in missing.stderr
