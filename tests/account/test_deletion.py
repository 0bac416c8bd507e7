"""Deleting one's account (issue 17): DELETE /me {password}. A wrong password and an organization
owned with other members are refused; otherwise the Stripe subscription is cancelled (the Stripe
emulator sees it), scheduled posts lose their jobs, the social tokens are revoked at the network
(the X sandbox emulator sees it), the rows and the media files go, every session ends."""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text

from t21.account.tasks import delete_files_job
from t21.db.session import transaction
from t21.emulators.base import RunningServer, free_port
from t21.emulators.stripe import create_app as create_stripe_app
from t21.jobs.context import JobResources
from t21.main import create_app
from t21.posts.models import SocialPost
from t21.publishing.scheduling import defer_publish_job
from tests.account.conftest import seed_post
from tests.billing._support import (
    WEBHOOK_PATH,
    WEBHOOK_SECRET,
    billing_settings,
    checkout,
    pay,
    stripe_object,
)
from tests.conftest import PASSWORD, assert_error, make_settings
from tests.publishing.conftest import wait_for

ME = "/api/v1/me"


async def delete_me(who: Any, password: str) -> httpx.Response:
    return await who.client.request("DELETE", ME, json={"password": password}, headers=who.headers)


async def count(db: Any, sql: str, **params: Any) -> int:
    async with db.engine.connect() as conn:
        return int((await conn.execute(text(sql), params)).scalar_one())


async def test_wrong_password_and_an_organization_with_members_are_refused(client, register, db) -> None:
    alice = await register(email="alice@example.com")
    bob = await register(email="bob@example.com")
    assert_error(await delete_me(alice, "not my password"), 403, "invalid_password")
    assert_error(await client.request("DELETE", ME, json={"password": PASSWORD}), 401)

    org = (await alice.post("/api/v1/organizations", json={"name": "Alice Co"})).json()
    await alice.create_brand(name="Team brand", organizationId=org["id"])
    async with db.engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO team_members (id, organization_id, user_id, role, created_at, updated_at) "
                "VALUES (gen_random_uuid(), :org, :user, 'editor', now(), now())"
            ),
            {"org": org["id"], "user": bob.id},
        )
    refused = assert_error(await delete_me(alice, PASSWORD), 409, "owns_organization_with_members")
    assert refused["details"]["organizations"] == [{"id": org["id"], "name": "Alice Co"}]
    assert await count(db, "SELECT count(*) FROM users WHERE id = :id", id=alice.id) == 1

    # Once Bob has left, the organization is Alice's alone and goes with her.
    async with db.engine.begin() as conn:
        await conn.execute(text("DELETE FROM team_members WHERE user_id = :user"), {"user": bob.id})
    deleted = await delete_me(alice, PASSWORD)
    assert deleted.status_code == 200, deleted.text
    assert deleted.json()["deletedOrganizations"] == 1 and deleted.json()["deletedBrands"] == 1
    assert await count(db, "SELECT count(*) FROM users WHERE id = :id", id=alice.id) == 0
    assert await count(db, "SELECT count(*) FROM organizations WHERE id = :id", id=org["id"]) == 0
    assert await count(db, "SELECT count(*) FROM refresh_tokens WHERE user_id = :id", id=alice.id) == 0
    # Her tokens are refused; Bob is untouched.
    assert (await alice.get("/api/v1/auth/me")).status_code == 401
    refresh = await client.post("/api/v1/auth/refresh", json={"refreshToken": alice.refresh_token})
    assert refresh.status_code == 401
    assert (await bob.get("/api/v1/auth/me")).status_code == 200


@pytest.fixture
def stripe_server() -> Iterator[RunningServer]:
    with RunningServer(create_stripe_app(webhook_secret=WEBHOOK_SECRET)) as server:
        yield server


@pytest.fixture
def served(
    database_url: str, tmp_path: Path, stripe_server: RunningServer
) -> Iterator[tuple[RunningServer, Any]]:
    """The whole app on loopback with billing on (the Stripe emulator) and the in-app network
    sandboxes (no network credentials)."""
    port = free_port()
    settings = make_settings(
        database_url,
        tmp_path,
        public_url=f"http://127.0.0.1:{port}",
        platform_poll_interval=0.01,
        **billing_settings(stripe_server.url),
    )
    app = create_app(settings)
    with RunningServer(app, port=port) as server:
        yield server, app


async def test_deletion_cancels_revokes_and_removes(register, served, stripe_server, db) -> None:
    server, app = served
    settings = app.state.settings
    async with (
        httpx.AsyncClient(base_url=server.url, follow_redirects=True, timeout=30) as browser,
        httpx.AsyncClient(base_url=stripe_server.url, timeout=30) as stripe,
    ):
        (await stripe.post("/_emulator/reset")).raise_for_status()
        hook = {"url": f"{server.url}{WEBHOOK_PATH}", "secret": WEBHOOK_SECRET}
        (await stripe.post("/_emulator/webhook-config", json=hook)).raise_for_status()
        ada = await register(on=browser, email="ada@example.com")
        other = await register(on=browser, email="other@example.com")

        # A PRO subscription, bought through checkout; the webhook records it.
        session_id, paid = await pay(stripe, await checkout(ada))
        assert paid.status_code in (200, 303), paid.text
        subscription_id = str(
            (await stripe_object(stripe, f"checkout/sessions/{session_id}"))["subscription"]
        )
        await wait_for(
            lambda: count(
                db, "SELECT count(*) FROM subscriptions WHERE stripe_subscription_id = :s", s=subscription_id
            )
        )

        # A brand with an X account connected through the sandbox, a media file, a scheduled post.
        brand = await ada.create_brand(name="Ada's brand")
        started = (await ada.get("/api/v1/social-accounts/connect/x", params={"brandId": brand["id"]})).json()
        await browser.get(started["authorizationUrl"])
        [account] = (await ada.get("/api/v1/social-accounts")).json()["data"]
        x_emulator = app.state.sandbox_apps["x"].state.emulator
        live_tokens = [t for t in x_emulator.store["tokens"].values() if t.kind == "access" and not t.revoked]
        assert len(live_tokens) == 1
        png = (
            b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4"
            b"\x89\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7V\xbd\xfa\x00\x00\x00\x00IEND\xaeB`\x82"
        )
        uploaded = await ada.post(
            "/api/v1/media",
            data={"brandId": brand["id"]},
            files={"file": ("dot.png", io.BytesIO(png), "image/png")},
        )
        assert uploaded.status_code == 201, uploaded.text
        media_key = await count_text(
            db, "SELECT storage_key FROM media_assets WHERE id = :id", id=uploaded.json()["id"]
        )
        media_file = Path(settings.data_dir) / "media" / media_key
        assert media_file.exists()
        scheduled = await ada.post(
            "/api/v1/posts",
            json={
                "brandId": brand["id"],
                "content": "Later",
                "scheduledFor": (datetime.now(UTC) + timedelta(days=2)).isoformat(),
                "socialAccountIds": [account["id"]],
            },
        )
        assert scheduled.status_code == 201, scheduled.text
        # Its target gets its publish job when due; give it one now, as the queuer would.
        async with transaction(db.sessionmaker) as session:
            target = (
                await session.scalars(
                    select(SocialPost).where(SocialPost.post_id == uuid.UUID(scheduled.json()["id"]))
                )
            ).one()
            job_id = await defer_publish_job(session, target, at=datetime.now(UTC) + timedelta(hours=1))
        todo = "SELECT count(*) FROM procrastinate_jobs WHERE id = :j AND status = 'todo'"
        assert await count(db, todo, j=job_id) == 1
        # Another person's post in another brand stays.
        other_brand = await other.create_brand(name="Other brand")
        await seed_post(db, other_brand["id"], content="Not Ada's", remote_id="OTHER-1")

        deleted = await delete_me(ada, PASSWORD)
        assert deleted.status_code == 200, deleted.text
        report = deleted.json()
        assert report["cancelledSubscriptions"] == [subscription_id]
        assert report["cancelledPosts"] == 1
        assert report["revokedAccounts"] == 1 and report["revocationFailures"] == []
        assert report["deletedBrands"] == 1

        # Stripe cancelled the subscription; the X sandbox revoked the token.
        assert (await stripe_object(stripe, f"subscriptions/{subscription_id}"))["status"] == "canceled"
        assert live_tokens[0].revoked
        assert len(x_emulator.requests_to("POST", "/2/oauth2/revoke")) == 1
        # The publish job is gone with the post; the rows are gone.
        assert await count(db, todo, j=job_id) == 0
        for table, column in (
            ("users", "id"),
            ("brands", "user_id"),
            ("refresh_tokens", "user_id"),
            ("subscriptions", "user_id"),
        ):
            assert await count(db, f"SELECT count(*) FROM {table} WHERE {column} = :id", id=ada.id) == 0, (
                table
            )
        assert await count(db, "SELECT count(*) FROM posts WHERE brand_id = :b", b=brand["id"]) == 0
        assert await count(db, "SELECT count(*) FROM social_accounts WHERE brand_id = :b", b=brand["id"]) == 0
        assert await count(db, "SELECT count(*) FROM posts WHERE brand_id = :b", b=other_brand["id"]) == 1
        assert (await ada.get("/api/v1/auth/me")).status_code == 401

        # The files go in the job deferred with the deletion.
        args = await count_text(
            db,
            "SELECT args::text FROM procrastinate_jobs WHERE task_name = 't21.delete_account_files' "
            "AND args->>'user_id' = :id",
            id=ada.id,
        )
        assert media_key in args
        removed = await delete_files_job(
            JobResources(settings=settings, db=db, http=browser), ada.id, [media_key]
        )
        assert removed == 1 and not media_file.exists()


async def count_text(db: Any, sql: str, **params: Any) -> str:
    async with db.engine.connect() as conn:
        return str((await conn.execute(text(sql), params)).scalar_one())


async def test_nothing_is_deleted_when_stripe_cannot_cancel(app_factory, register, db) -> None:
    # Billing on, but Stripe does not answer (nothing listens on that port).
    app = await app_factory(**{**billing_settings(f"http://127.0.0.1:{free_port()}")})
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, raise_app_exceptions=False), base_url="http://testserver"
    ) as http:
        ada = await register(on=http, email="ada@example.com")
        async with db.engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO subscriptions (id, user_id, stripe_subscription_id, tier, status, "
                    "cancel_at_period_end, created_at, updated_at) "
                    "VALUES (gen_random_uuid(), :u, 'sub_unreachable', 'PRO', 'active', false, now(), now())"
                ),
                {"u": ada.id},
            )
        assert_error(await delete_me(ada, PASSWORD), 503, "subscription_not_cancelled")
        assert await count(db, "SELECT count(*) FROM users WHERE id = :id", id=ada.id) == 1
        assert (await ada.get("/api/v1/auth/me")).status_code == 200
