"""Tokens at rest and over time: encryption (no plaintext in a database dump), key rotation, the
refresh job (X rotation, Instagram long-lived renewal, failures), and LinkedIn expiry warnings."""

from __future__ import annotations

import asyncio
import os
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select, text
from tests.accounts.conftest import (
    PLATFORMS,
    browser_for,
    connect,
    job_resources,
    network_settings,
    start_connect,
)
from tests.conftest import TEST_FERNET_KEY, make_settings

from t21.emulators.base import Fault
from t21.notifications.models import EmailMessage, Notification
from t21.social_accounts.models import OAuthState, SocialAccount
from t21.social_accounts.tasks import (
    expire_lapsed_connections,
    purge_oauth_states,
    refresh_expiring_tokens,
    warn_expiring_connections,
)
from t21.social_accounts.tokens import read_tokens, token_vault

ROOT = Path(__file__).resolve().parents[2]


async def _account(db: Any, account_id: str) -> SocialAccount:
    async with db.sessionmaker() as session:
        account = await session.get(SocialAccount, account_id)
        assert account is not None
        return account


async def _set_expiry(db: Any, account_id: str, delta: timedelta) -> None:
    async with db.sessionmaker() as session:
        await session.execute(
            text("UPDATE social_accounts SET token_expires_at = :at WHERE id = :id"),
            {"at": datetime.now(UTC) + delta, "id": account_id},
        )
        await session.commit()


# --- encryption at rest --------------------------------------------------------------------------


async def _dump(database_url: str) -> str:
    """Everything in the database as text: pg_dump if installed, else every text-like column."""
    if shutil.which("pg_dump"):
        proc = await asyncio.create_subprocess_exec(
            "pg_dump",
            "--no-owner",
            database_url,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await proc.communicate()
        assert proc.returncode == 0, err.decode()
        return out.decode()
    chunks = []
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        columns = await (
            await conn.execute(
                "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public'"
            )
        ).fetchall()
        for table, column in columns:
            rows = await (await conn.execute(f'SELECT "{column}"::text FROM "{table}"')).fetchall()
            chunks += [row[0] for row in rows if row[0] is not None]
    return "\n".join(chunks)


async def test_database_dump_holds_no_plaintext_token(
    register, app_factory, emulators, db, database_url
) -> None:
    emulators["linkedin"].emulator.issue_refresh_tokens = True  # type: ignore[attr-defined]
    # PRO: room for a fourth account, the connect left in progress below.
    app = await app_factory(default_tier="PRO", **network_settings(emulators))
    async with browser_for(app) as http:
        owner = await register(on=http)
        brand = await owner.create_brand()
        ids = [await connect(http, owner, platform, brand["id"]) for platform in PLATFORMS]
        # Renew X once, so a rotated refresh token is in the database too.
        await _set_expiry(db, ids[0], timedelta(minutes=5))
        assert (await refresh_expiring_tokens(job_resources(app, http))).refreshed == 1
        # And a connect in progress: its PKCE verifier is a secret too.
        await start_connect(owner, "x", brand["id"])

    settings = app.state.settings
    secrets: list[str] = []
    for account_id in ids:
        tokens = read_tokens(settings, await _account(db, account_id))
        secrets.append(tokens.access_token)
        if tokens.refresh_token:
            secrets.append(tokens.refresh_token)
    # Sanity: what T21 stored is what the networks issued (so the search below is meaningful).
    issued = {t for platform in PLATFORMS for t in emulators[platform].tokens()}
    assert set(secrets) <= issued
    assert len(secrets) == 5  # three access tokens, X's and LinkedIn's refresh tokens
    async with db.sessionmaker() as session:
        states = (await session.execute(select(OAuthState))).scalars().all()
        verifiers = [
            token_vault(settings).decrypt(s.code_verifier_encrypted)
            for s in states
            if s.code_verifier_encrypted
        ]
    assert len(verifiers) == 2

    dump = await _dump(database_url)
    assert "social_accounts" in dump
    for secret in [*issued, *verifiers]:
        assert secret not in dump


# --- key rotation --------------------------------------------------------------------------------


async def _rotate_keys_cli(database_url: str, keys: str, tmp_path: Path) -> tuple[int, str, str]:
    env = {
        **os.environ,
        "T21_DATABASE_URL": database_url,
        "T21_ENCRYPTION_KEYS": keys,
        "T21_SECRET_KEY": "test-secret-key-" + "x" * 32,
        "T21_DATA_DIR": str(tmp_path),
        "T21_ENV": "test",
    }
    proc = await asyncio.create_subprocess_exec(
        str(ROOT / ".venv" / "bin" / "t21"),
        "rotate-keys",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_key_rotation(register, app_factory, emulators, db, database_url, tmp_path) -> None:
    old_key, new_key = TEST_FERNET_KEY, Fernet.generate_key().decode()
    app = await app_factory(default_tier="PRO", **network_settings(emulators))
    async with browser_for(app) as http:
        owner = await register(on=http)
        brand = await owner.create_brand()
        ids = [await connect(http, owner, platform, brand["id"]) for platform in PLATFORMS]
        pending = await start_connect(owner, "x", brand["id"])

    def settings_with(keys: str) -> Any:
        return make_settings(database_url, tmp_path, encryption_keys=keys)

    # A new key in front: old rows still decrypt.
    both = settings_with(f"{new_key},{old_key}")
    for account_id in ids:
        read_tokens(both, await _account(db, account_id))

    code, out, err = await _rotate_keys_cli(database_url, f"{new_key},{old_key}", tmp_path)
    assert code == 0, err
    assert "social accounts re-encrypted: 3" in out
    assert "oauth states re-encrypted: 2" in out  # the used X state and the pending one

    only_new, only_old = settings_with(new_key), settings_with(old_key)
    for account_id in ids:
        account = await _account(db, account_id)
        assert read_tokens(only_new, account).access_token == read_tokens(both, account).access_token
        with pytest.raises(ValueError, match="no configured key"):
            read_tokens(only_old, account)

    # The connect that was in progress completes on a server that has only the new key.
    rotated_app = await app_factory(
        default_tier="PRO", encryption_keys=new_key, **network_settings(emulators)
    )
    async with browser_for(rotated_app) as http:
        landing = await http.get(pending)
        assert "connected=x" in str(landing.url), landing.url

    # A key that opens nothing: reported, rows left alone, non-zero exit.
    stranger_key = Fernet.generate_key().decode()
    code, out, err = await _rotate_keys_cli(database_url, stranger_key, tmp_path)
    assert code == 1
    assert "no configured key opens social_account" in err
    account = await _account(db, ids[0])
    read_tokens(only_new, account)


# --- the refresh job -----------------------------------------------------------------------------


async def test_x_refresh_rotates_and_stores_the_new_refresh_token(
    register, http, net_app, emulators, db
) -> None:
    owner = await register(on=http)
    brand = await owner.create_brand()
    account_id = await connect(http, owner, "x", brand["id"])
    res = job_resources(net_app, http)
    settings = net_app.state.settings

    # Not due yet (X tokens live 2 hours): nothing happens.
    assert (await refresh_expiring_tokens(res)).refreshed == 0

    first = read_tokens(settings, await _account(db, account_id))
    for _ in range(2):
        before = read_tokens(settings, await _account(db, account_id))
        await _set_expiry(db, account_id, timedelta(minutes=10))
        outcome = await refresh_expiring_tokens(res)
        assert outcome.refreshed == 1, outcome
        after = read_tokens(settings, await _account(db, account_id))
        assert after.access_token != before.access_token
        assert after.refresh_token not in (None, before.refresh_token)
        assert after.expires_at is not None
        assert after.expires_at > datetime.now(UTC) + timedelta(hours=1)
        # The old refresh token is spent at X: only the stored new one works from now on (the
        # second round of this loop proves it was stored).
        emulator = emulators["x"].emulator
        assert emulator.token(before.refresh_token, "refresh").used  # type: ignore[union-attr]
    assert first.refresh_token != after.refresh_token
    account = (await owner.get(f"/api/v1/social-accounts/{account_id}")).json()
    assert account["status"] == "CONNECTED"


async def test_failed_refresh_disconnects_and_notifies(register, http, net_app, emulators, db) -> None:
    owner = await register(on=http)
    brand = await owner.create_brand(name="Bakery")
    account_id = await connect(http, owner, "x", brand["id"])
    tokens = read_tokens(net_app.state.settings, await _account(db, account_id))
    # The person removed T21 from their X apps: the whole grant is dead.
    emulators["x"].emulator.revoke_grant(tokens.access_token)
    await _set_expiry(db, account_id, timedelta(minutes=5))

    outcome = await refresh_expiring_tokens(job_resources(net_app, http))
    assert outcome.disconnected == 1, outcome

    shown = (await owner.get(f"/api/v1/social-accounts/{account_id}")).json()
    assert shown["status"] == "DISCONNECTED"
    assert shown["lastError"]
    async with db.sessionmaker() as session:
        emails = (
            (await session.execute(select(EmailMessage).where(EmailMessage.template != "verify_email")))
            .scalars()
            .all()
        )
        notes = (await session.execute(select(Notification))).scalars().all()
    assert [(e.to_address, e.template) for e in emails] == [(owner.email, "account_disconnected")]
    assert [(str(n.user_id), n.kind) for n in notes] == [(owner.id, "account.disconnected")]
    assert notes[0].data["socialAccountId"] == account_id

    # A disconnected account is not retried by the job.
    assert (await refresh_expiring_tokens(job_resources(net_app, http))).refreshed == 0


async def test_transient_refresh_failure_keeps_the_account(register, http, net_app, emulators, db) -> None:
    owner = await register(on=http)
    brand = await owner.create_brand()
    account_id = await connect(http, owner, "x", brand["id"])
    await _set_expiry(db, account_id, timedelta(minutes=5))
    emulators["x"].emulator.add_fault(Fault(match="POST /2/oauth2/token", kind="status", status=503))

    outcome = await refresh_expiring_tokens(job_resources(net_app, http))
    assert outcome.failed == 1, outcome
    shown = (await owner.get(f"/api/v1/social-accounts/{account_id}")).json()
    assert shown["status"] == "CONNECTED"
    assert "Could not renew" in shown["lastError"]

    # The next run succeeds and clears the error.
    assert (await refresh_expiring_tokens(job_resources(net_app, http))).refreshed == 1
    shown = (await owner.get(f"/api/v1/social-accounts/{account_id}")).json()
    assert shown["lastError"] is None
    async with db.sessionmaker() as session:
        assert (
            await session.execute(select(EmailMessage).where(EmailMessage.template != "verify_email"))
        ).scalars().all() == []


async def test_instagram_long_lived_token_is_renewed_in_its_last_week(
    register, http, net_app, emulators, db
) -> None:
    owner = await register(on=http)
    brand = await owner.create_brand()
    account_id = await connect(http, owner, "instagram", brand["id"])
    res = job_resources(net_app, http)

    await _set_expiry(db, account_id, timedelta(days=8))
    assert (await refresh_expiring_tokens(res)).refreshed == 0

    before = read_tokens(net_app.state.settings, await _account(db, account_id))
    await _set_expiry(db, account_id, timedelta(days=3))
    assert (await refresh_expiring_tokens(res)).refreshed == 1
    after = read_tokens(net_app.state.settings, await _account(db, account_id))
    assert after.access_token != before.access_token
    assert after.expires_at is not None
    assert after.expires_at > datetime.now(UTC) + timedelta(days=59)
    assert emulators["instagram"].emulator.requests_to("GET", "/refresh_access_token")


async def test_linkedin_partner_refresh_token_is_used(register, http, net_app, emulators, db) -> None:
    emulators["linkedin"].emulator.issue_refresh_tokens = True  # type: ignore[attr-defined]
    owner = await register(on=http)
    brand = await owner.create_brand()
    account_id = await connect(http, owner, "linkedin", brand["id"])
    before = read_tokens(net_app.state.settings, await _account(db, account_id))
    assert before.refresh_token
    await _set_expiry(db, account_id, timedelta(minutes=5))
    assert (await refresh_expiring_tokens(job_resources(net_app, http))).refreshed == 1
    after = read_tokens(net_app.state.settings, await _account(db, account_id))
    assert after.access_token != before.access_token
    # LinkedIn does not rotate: the same refresh token stays.
    assert after.refresh_token == before.refresh_token


async def test_linkedin_without_refresh_token_is_warned_once_then_expires(
    register, http, net_app, emulators, db
) -> None:
    owner = await register(on=http)
    brand = await owner.create_brand()
    account_id = await connect(http, owner, "linkedin", brand["id"])
    res = job_resources(net_app, http)

    # 60 days left: no warning; and no refresh attempt ever (there is no refresh token).
    assert await warn_expiring_connections(res) == 0
    await _set_expiry(db, account_id, timedelta(minutes=5))
    assert (await refresh_expiring_tokens(res)).refreshed == 0
    assert not emulators["linkedin"].emulator.requests_to("POST", "/accessToken")[1:]

    await _set_expiry(db, account_id, timedelta(days=8))
    assert await warn_expiring_connections(res) == 0
    await _set_expiry(db, account_id, timedelta(days=6))
    assert await warn_expiring_connections(res) == 1
    assert await warn_expiring_connections(res) == 0  # once
    async with db.sessionmaker() as session:
        emails = (
            (await session.execute(select(EmailMessage).where(EmailMessage.template != "verify_email")))
            .scalars()
            .all()
        )
        notes = (await session.execute(select(Notification))).scalars().all()
    assert [(e.to_address, e.template) for e in emails] == [(owner.email, "account_expiring")]
    assert "LinkedIn" in emails[0].subject
    assert [n.kind for n in notes] == ["account.expiring"]

    # Reconnecting starts a new 60-day grant and re-arms the warning.
    reconnect = (await owner.post(f"/api/v1/social-accounts/{account_id}/reconnect")).json()
    landing = await http.get(reconnect["authorizationUrl"])
    assert "connected=linkedin" in str(landing.url)
    assert (await _account(db, account_id)).expiry_warning_sent_at is None

    # Run out without reconnecting: EXPIRED.
    await _set_expiry(db, account_id, timedelta(minutes=-1))
    assert await expire_lapsed_connections(res) == 1
    assert (await owner.get(f"/api/v1/social-accounts/{account_id}")).json()["status"] == "EXPIRED"


async def test_old_oauth_states_are_purged(register, http, net_app, emulators, db) -> None:
    owner = await register(on=http)
    brand = await owner.create_brand()
    await start_connect(owner, "x", brand["id"])
    await start_connect(owner, "linkedin", brand["id"])
    async with db.sessionmaker() as session:
        await session.execute(
            text("UPDATE oauth_states SET expires_at = now() - interval '2 days' WHERE platform = 'x'")
        )
        await session.commit()
    assert await purge_oauth_states(job_resources(net_app, http)) == 1
    async with db.sessionmaker() as session:
        assert [s.platform for s in (await session.execute(select(OAuthState))).scalars()] == ["linkedin"]


async def test_periodic_tasks_are_registered() -> None:
    from t21.jobs.app import TASK_MODULES, app

    assert "t21.social_accounts.tasks" in TASK_MODULES
    import t21.social_accounts.tasks  # noqa: F401

    assert {"t21.refresh_social_tokens", "t21.social_account_hygiene"} <= set(app.tasks)
    periodic = {p.periodic_id for p in app.periodic_registry.periodic_tasks.values()}
    assert {"social-token-refresh", "social-account-hygiene"} <= periodic
