"""Email verification over HTTP on real PostgreSQL: the sign-up link (only its hash stored), its
expiry, resending with a cool-down, and T21_REQUIRE_VERIFIED_EMAIL holding back connecting
accounts, publishing and inviting with 403 email_not_verified."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text

from t21.config import Environment, Settings
from t21.kit.crypto import sha256_hex
from tests.auth.conftest import emails_to
from tests.conftest import AppFactory, assert_error, client_for

VERIFY = "/api/v1/auth/verify-email"
RESEND = "/api/v1/auth/verify-email/resend"
LINK = re.compile(r"/verify-email\?token=([A-Za-z0-9_\-]+)")


async def verification_links(db: Any, address: str) -> list[str]:
    found = [LINK.search(e["text_body"]) for e in await emails_to(db, address, "verify_email")]
    return [m.group(1) for m in found if m]


async def test_sign_up_sends_a_link_that_verifies_the_address(client, register, db) -> None:
    ada = await register(email="ada@example.com")
    assert ada.user["emailVerified"] is False
    assert (await ada.get("/api/v1/auth/me")).json()["emailVerified"] is False
    [token] = await verification_links(db, "ada@example.com")
    [email] = await emails_to(db, "ada@example.com", "verify_email")
    assert email["subject"] == "Confirm your email address for T21"
    assert f"http://testserver/verify-email?token={token}" in email["text_body"]
    async with db.engine.connect() as conn:
        stored = (
            await conn.execute(
                text("SELECT token_hash FROM account_tokens WHERE purpose = 'email_verification'")
            )
        ).scalar_one()
    assert stored == sha256_hex(token)

    verified = await client.post(VERIFY, json={"token": token})  # no sign-in needed
    assert verified.status_code == 200, verified.text
    assert verified.json()["emailVerified"] is True and verified.json()["id"] == ada.id
    assert (await ada.get("/api/v1/auth/me")).json()["emailVerified"] is True
    # Opening the link again (a second click, a mail scanner) changes nothing and says so.
    assert (await client.post(VERIFY, json={"token": token})).json()["emailVerified"] is True
    assert_error(await client.post(VERIFY, json={"token": "made-up"}), 400, "invalid_verification_token")
    assert_error(await ada.post(RESEND), 409, "email_already_verified")


async def test_an_expired_link_is_refused_and_a_new_one_can_be_asked_after_the_cool_down(
    client, register, db
) -> None:
    ada = await register(email="late@example.com")
    [old] = await verification_links(db, "late@example.com")
    # The sign-up email was just sent: a resend now is held back, with the wait.
    body = assert_error(await ada.post(RESEND), 429, "verification_cooldown")
    assert 0 < body["details"]["retryAfter"] <= 60

    # Two days later (the link lives 48 hours; the cool-down is long over).
    async with db.engine.begin() as conn:
        await conn.execute(
            text(
                "UPDATE account_tokens SET created_at = created_at - interval '49 hours', "
                "expires_at = expires_at - interval '49 hours'"
            )
        )
    assert_error(await client.post(VERIFY, json={"token": old}), 410, "verification_token_expired")
    resent = await ada.post(RESEND)
    assert resent.status_code == 202, resent.text
    links = await verification_links(db, "late@example.com")
    assert len(links) == 2 and links[1] != old
    assert (await client.post(VERIFY, json={"token": links[1]})).json()["emailVerified"] is True


async def test_required_verification_holds_back_connecting_publishing_and_inviting(
    app_factory: AppFactory, register, db
) -> None:
    app = await app_factory(require_verified_email=True)
    async with client_for(app) as http:
        ada = await register(email="strict@example.com", on=http)
        brand = await ada.create_brand()  # writing drafts and brands is fine
        draft = await ada.post("/api/v1/posts", json={"brandId": brand["id"], "content": "Draft"})
        assert draft.status_code == 201, draft.text
        org = (await ada.post("/api/v1/organizations", json={"name": "Studio"})).json()

        later = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
        refused = [
            await ada.get("/api/v1/social-accounts/connect/x", params={"brandId": brand["id"]}),
            await ada.post(
                "/api/v1/posts",
                json={"brandId": brand["id"], "content": "Hi", "scheduledFor": later, "platforms": ["x"]},
            ),
            await ada.post(f"/api/v1/posts/{draft.json()['id']}/publish-now"),
            await ada.post(
                f"/api/v1/organizations/{org['id']}/invitations",
                json={"email": "mo@example.com", "role": "editor"},
            ),
        ]
        for response in refused:
            body = assert_error(response, 403, "email_not_verified")
            assert "Confirm your email address" in body["error"]

        [token] = await verification_links(db, "strict@example.com")
        assert (await http.post(VERIFY, json={"token": token})).status_code == 200
        invite = await ada.post(
            f"/api/v1/organizations/{org['id']}/invitations",
            json={"email": "mo@example.com", "role": "editor"},
        )
        assert invite.status_code == 201, invite.text
        connect = await ada.get("/api/v1/social-accounts/connect/x", params={"brandId": brand["id"]})
        assert connect.status_code == 200, connect.text


def test_verification_is_required_by_default_in_production_only() -> None:
    assert Settings(env=Environment.production).verified_email_required is True
    assert Settings(env=Environment.development).verified_email_required is False
    assert Settings(env=Environment.test).verified_email_required is False
    assert Settings(env=Environment.production, require_verified_email=False).verified_email_required is False
