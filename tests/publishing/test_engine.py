"""The engine end to end: API → job → worker → emulator over HTTP, including the fault drills
(rate-limit storms, a post stored before a timeout, revoked tokens)."""

from __future__ import annotations

import asyncio
import itertools
import time
from datetime import timedelta

from sqlalchemy import text
from tests.publishing.conftest import connect_account, wait_for_post_status

from t21.emulators.base import Fault
from t21.kit import clock


def soon(seconds: float = 0.5) -> str:
    return (clock.utcnow() + timedelta(seconds=seconds)).isoformat()


async def setup(register, http, platforms=("x", "linkedin")):
    alice = await register(on=http)
    brand = await alice.create_brand()
    accounts = {p: await connect_account(http, alice, brand["id"], p) for p in platforms}
    return alice, brand, accounts


async def test_scheduled_post_is_published_on_time_on_every_network(
    register, http, worker, fresh_networks, db
) -> None:
    alice, brand, _ = await setup(register, http)
    when = clock.utcnow() + timedelta(hours=1)
    post = (
        await alice.post(
            "/api/v1/posts",
            json={
                "brandId": brand["id"],
                "content": "Launch day! #t21",
                "scheduledFor": when.isoformat(),
                "platforms": ["x", "linkedin"],
            },
        )
    ).json()
    # Not before its time: the worker's queuer looks every 0.2 s, and sends nothing.
    await asyncio.sleep(0.5)
    assert fresh_networks.requests("x", "POST", r"/2/tweets") == []
    assert fresh_networks.requests("linkedin", "POST", r"/rest/posts") == []
    came_due = time.time()  # the real moment T21's clock reaches `when`
    clock.advance_to(when)
    done = await wait_for_post_status(alice, post["id"], {"PUBLISHED"})
    assert all(t["status"] == "PUBLISHED" and t["platformPostId"] for t in done["targets"])
    tweets = fresh_networks.requests("x", "POST", r"/2/tweets")
    shares = fresh_networks.requests("linkedin", "POST", r"/rest/posts")
    assert len(tweets) == 1 and len(shares) == 1
    assert tweets[0].json_body()["text"] == "Launch day! #t21"
    # Started on time (the queuer polls every 0.2 s), and not before the clock reached it.
    lag = tweets[0].at - came_due
    assert -0.05 <= lag < 2.0, lag
    async with db.engine.connect() as conn:
        attempts = (await conn.execute(text("SELECT outcome FROM publish_attempts"))).scalars().all()
        emails = (await conn.execute(text("SELECT template FROM email_messages"))).scalars().all()
        notes = (await conn.execute(text("SELECT kind FROM notifications"))).scalars().all()
    assert sorted(attempts) == ["published", "published"]
    assert "post_published" in emails and "post.published" in notes


async def test_x_thread_is_published_in_order(register, http, worker, fresh_networks) -> None:
    alice, brand, _ = await setup(register, http, platforms=("x",))
    post = (
        await alice.post(
            "/api/v1/posts",
            json={
                "brandId": brand["id"],
                "content": "A thread 🧵",
                "thread": ["Part two", "Part three"],
                "scheduledFor": "now",
                "platforms": ["x"],
            },
        )
    ).json()
    done = await wait_for_post_status(alice, post["id"], {"PUBLISHED"})
    target = done["targets"][0]
    tweets = [r.json_body() for r in fresh_networks.requests("x", "POST", r"/2/tweets")]
    assert [t["text"] for t in tweets] == ["A thread 🧵", "Part two", "Part three"]
    assert tweets[1]["reply"]["in_reply_to_tweet_id"] == target["platformPostId"]
    assert tweets[2]["reply"]["in_reply_to_tweet_id"] == target["threadPostIds"][0]
    assert len(target["threadPostIds"]) == 2


async def test_cancel_before_the_time_publishes_nothing(register, http, worker, fresh_networks) -> None:
    alice, brand, _ = await setup(register, http, platforms=("x",))
    post = (
        await alice.post(
            "/api/v1/posts",
            json={"brandId": brand["id"], "content": "Never", "scheduledFor": soon(60), "platforms": ["x"]},
        )
    ).json()
    assert (await alice.delete(f"/api/v1/posts/{post['id']}")).json()["status"] == "CANCELLED"
    clock.advance(61)  # past its time: a second of the worker's polls to (not) send it
    await asyncio.sleep(1.0)
    assert fresh_networks.requests("x", "POST", r"/2/tweets") == []


async def test_edit_before_the_time_publishes_the_new_text_at_the_new_time(
    register, http, worker, fresh_networks
) -> None:
    alice, brand, _ = await setup(register, http, platforms=("x",))
    post = (
        await alice.post(
            "/api/v1/posts",
            json={
                "brandId": brand["id"],
                "content": "Old text",
                "scheduledFor": soon(60),
                "platforms": ["x"],
            },
        )
    ).json()
    edited = await alice.patch(
        f"/api/v1/posts/{post['id']}", json={"content": "New text", "scheduledFor": soon(120)}
    )
    assert edited.status_code == 200, edited.text
    clock.advance(61)  # past the old time: nothing goes out
    await asyncio.sleep(0.5)
    assert fresh_networks.requests("x", "POST", r"/2/tweets") == []
    clock.advance(60)  # past the new time
    await wait_for_post_status(alice, post["id"], {"PUBLISHED"})
    assert [r.json_body()["text"] for r in fresh_networks.requests("x", "POST", r"/2/tweets")] == ["New text"]


async def test_rate_limit_storm_waits_for_the_reset_without_hammering(
    register, http, worker, fresh_networks
) -> None:
    alice, brand, _ = await setup(register, http, platforms=("x",))
    fresh_networks.emulator("x").add_fault(
        Fault(match="POST /2/tweets", kind="rate_limit", count=3, reset_in=1.0)
    )
    post = (
        await alice.post(
            "/api/v1/posts",
            json={"brandId": brand["id"], "content": "Patience", "scheduledFor": "now", "platforms": ["x"]},
        )
    ).json()
    done = await wait_for_post_status(alice, post["id"], {"PUBLISHED"}, timeout=20)
    calls = fresh_networks.requests("x", "POST", r"/2/tweets")
    # Three refusals, one success: each retry waited for the reset instead of hammering.
    assert len(calls) == 4, [c.at for c in calls]
    # The network announced reset = whole second of (refusal time + 1 s); no retry came earlier.
    for refused, retry in itertools.pairwise(calls):
        assert retry.at >= int(refused.at + 1.0) - 0.01, (refused.at, retry.at)
    assert done["targets"][0]["attempts"] == 1  # waiting for a rate limit is not a failed attempt


async def test_post_stored_before_a_timeout_is_reconciled_not_duplicated(
    register, http, worker, fresh_networks
) -> None:
    alice, brand, _ = await setup(register, http, platforms=("x",))
    # The network stores the tweet, then answers too late (our timeout is 2 s in these tests).
    fresh_networks.emulator("x").add_fault(
        Fault(match="POST /2/tweets", kind="timeout_after_store", seconds=4)
    )
    post = (
        await alice.post(
            "/api/v1/posts",
            json={
                "brandId": brand["id"],
                "content": "Exactly once",
                "scheduledFor": "now",
                "platforms": ["x"],
            },
        )
    ).json()
    done = await wait_for_post_status(alice, post["id"], {"PUBLISHED"}, timeout=30)
    stored = [t for t in fresh_networks.emulator("x").tweets().values() if t.text == "Exactly once"]  # type: ignore[attr-defined]
    assert len(stored) == 1
    assert done["targets"][0]["platformPostId"] == stored[0].id
    assert len(fresh_networks.requests("x", "POST", r"/2/tweets")) == 1
    assert fresh_networks.requests("x", "GET", r"/2/users/[^/]+/tweets")  # it asked the network first


async def test_server_error_without_storing_is_retried_after_reconciliation(
    register, http, worker, fresh_networks
) -> None:
    # On X, which lets T21 read the account's tweets: the read, once X has settled, proves the
    # tweet absent, so it is sent again. (LinkedIn lets only partner apps read posts back: there
    # the same fault ends UNKNOWN, see test_reconcile.py.)
    alice, brand, _ = await setup(register, http, platforms=("x",))
    fresh_networks.emulator("x").add_fault(Fault(match="POST /2/tweets", kind="status", status=503, count=1))
    post = (
        await alice.post(
            "/api/v1/posts",
            json={
                "brandId": brand["id"],
                "content": "Second time lucky",
                "scheduledFor": "now",
                "platforms": ["x"],
            },
        )
    ).json()
    done = await wait_for_post_status(alice, post["id"], {"PUBLISHED"}, timeout=30)
    assert done["targets"][0]["attempts"] == 2
    assert len(fresh_networks.requests("x", "POST", r"/2/tweets")) == 2
    assert fresh_networks.requests("x", "GET", r"/2/users/[^/]+/tweets")  # reconciled before re-sending
    assert len(fresh_networks.emulator("x").tweets()) == 1  # type: ignore[attr-defined]


async def test_content_rejected_fails_at_once_with_the_networks_message(
    register, http, worker, fresh_networks
) -> None:
    alice, brand, _ = await setup(register, http, platforms=("x",))
    fresh_networks.emulator("x").add_fault(
        Fault(
            match="POST /2/tweets",
            kind="status",
            status=403,
            body={
                "title": "Forbidden",
                "detail": "You are not allowed to create a Tweet with duplicate content.",
                "type": "about:blank",
                "status": 403,
            },
        )
    )
    post = (
        await alice.post(
            "/api/v1/posts",
            json={"brandId": brand["id"], "content": "Dup", "scheduledFor": "now", "platforms": ["x"]},
        )
    ).json()
    done = await wait_for_post_status(alice, post["id"], {"FAILED"})
    assert "duplicate content" in done["targets"][0]["error"]
    assert len(fresh_networks.requests("x", "POST", r"/2/tweets")) == 1


async def test_revoked_token_fails_disconnects_and_emails(register, http, worker, fresh_networks, db) -> None:
    alice, brand, accounts = await setup(register, http, platforms=("x",))
    fresh_networks.emulator("x").add_fault(Fault(match="*", kind="revoked_token", count=None))
    post = (
        await alice.post(
            "/api/v1/posts",
            json={"brandId": brand["id"], "content": "Nope", "scheduledFor": "now", "platforms": ["x"]},
        )
    ).json()
    done = await wait_for_post_status(alice, post["id"], {"FAILED"})
    assert "Reconnect" in done["targets"][0]["error"]
    account = (await alice.get(f"/api/v1/social-accounts/{accounts['x']['id']}")).json()
    assert account["status"] == "DISCONNECTED"
    async with db.engine.connect() as conn:
        templates = (await conn.execute(text("SELECT template FROM email_messages"))).scalars().all()
    assert "account_disconnected" in templates and "post_failed" in templates
    # Scheduling on a disconnected account is refused up front.
    again = await alice.post(
        "/api/v1/posts",
        json={"brandId": brand["id"], "content": "x", "scheduledFor": "now", "platforms": ["x"]},
    )
    assert again.status_code == 422 and again.json()["code"] == "account_disconnected"


async def test_retry_resends_only_failed_targets(register, http, worker, fresh_networks) -> None:
    alice, brand, _ = await setup(register, http)
    fresh_networks.emulator("x").add_fault(
        Fault(
            match="POST /2/tweets",
            kind="status",
            status=400,
            body={"title": "Invalid Request", "detail": "Bad text", "type": "about:blank", "status": 400},
        )
    )
    post = (
        await alice.post(
            "/api/v1/posts",
            json={
                "brandId": brand["id"],
                "content": "Half",
                "scheduledFor": "now",
                "platforms": ["x", "linkedin"],
            },
        )
    ).json()
    partial = await wait_for_post_status(alice, post["id"], {"PARTIALLY_PUBLISHED"})
    assert {t["platform"]: t["status"] for t in partial["targets"]} == {
        "x": "FAILED",
        "linkedin": "PUBLISHED",
    }
    retried = await alice.post(f"/api/v1/posts/{post['id']}/retry", json={})
    assert retried.status_code == 200, retried.text
    await wait_for_post_status(alice, post["id"], {"PUBLISHED"})
    assert len(fresh_networks.requests("linkedin", "POST", r"/rest/posts")) == 1
    assert len(fresh_networks.requests("x", "POST", r"/2/tweets")) == 2
    # Republishing a published post needs an explicit choice.
    nothing = await alice.post(f"/api/v1/posts/{post['id']}/retry", json={})
    assert nothing.status_code == 409 and "republishPublished" in nothing.json()["error"]


async def test_publish_now_and_expired_token_is_refreshed(register, http, worker, fresh_networks, db) -> None:
    alice, brand, _ = await setup(register, http, platforms=("x",))
    post = (
        await alice.post(
            "/api/v1/posts",
            json={"brandId": brand["id"], "content": "Later", "scheduledFor": soon(3600), "platforms": ["x"]},
        )
    ).json()
    fresh_networks.emulator("x").add_fault(Fault(match="POST /2/tweets", kind="expired_token", count=1))
    now = await alice.post(f"/api/v1/posts/{post['id']}/publish-now")
    assert now.status_code == 200, now.text
    await wait_for_post_status(alice, post["id"], {"PUBLISHED"})
    assert fresh_networks.requests("x", "POST", r"/2/oauth2/token")  # refreshed once
    async with db.engine.connect() as conn:
        status = (await conn.execute(text("SELECT status FROM social_accounts"))).scalar_one()
    assert status == "CONNECTED"


async def test_sweep_requeues_a_due_post_whose_job_vanished(
    register, http, worker, fresh_networks, db
) -> None:
    from t21.jobs.context import resources
    from t21.publishing.sweep import requeue_orphans

    alice, brand, _ = await setup(register, http, platforms=("x",))
    post = (
        await alice.post(
            "/api/v1/posts",
            json={
                "brandId": brand["id"],
                "content": "Lost job",
                "scheduledFor": soon(3600),
                "platforms": ["x"],
            },
        )
    ).json()
    async with db.engine.begin() as conn:
        # Simulate the failure the sweep exists for: the post is due and its job is gone (a job
        # deleted by hand, or given up on a bug); the queuer only looks at targets with no job.
        await conn.execute(
            text("UPDATE social_posts SET scheduled_for = now() - interval '1 minute', job_id = 987654321")
        )
    assert await requeue_orphans(resources()) == 1
    await wait_for_post_status(alice, post["id"], {"PUBLISHED"})
    assert len(fresh_networks.requests("x", "POST", r"/2/tweets")) == 1
    assert await requeue_orphans(resources()) == 0


async def test_instagram_carousel_with_uploaded_images(register, http, worker, fresh_networks) -> None:
    from tests.media.conftest import jpeg

    alice, brand, _ = await setup(register, http, platforms=("instagram",))
    media_ids = []
    for i in range(2):
        uploaded = await alice.post(
            "/api/v1/media",
            data={"brandId": brand["id"]},
            files={"file": (f"photo-{i}.jpg", jpeg(800 + i, 600), "image/jpeg")},
        )
        assert uploaded.status_code == 201, uploaded.text
        media_ids.append(uploaded.json()["id"])
    post = (
        await alice.post(
            "/api/v1/posts",
            json={
                "brandId": brand["id"],
                "content": "Two views #carousel",
                "mediaIds": media_ids,
                "scheduledFor": "now",
                "platforms": ["instagram"],
            },
        )
    ).json()
    done = await wait_for_post_status(alice, post["id"], {"PUBLISHED"})
    from urllib.parse import unquote_plus

    calls = fresh_networks.requests("instagram", "POST", r"/[^/]+/media")
    containers = [unquote_plus(r.query) for r in calls]
    bodies = [unquote_plus(r.body.decode()) for r in calls]
    # Two carousel items (each pointing at our signed public media URL), then the parent.
    assert sum("is_carousel_item" in (q + b) for q, b in zip(containers, bodies, strict=True)) == 2
    assert any("CAROUSEL" in (q + b) for q, b in zip(containers, bodies, strict=True))
    assert all(
        "/api/v1/media/public/" in (q + b)
        for q, b in zip(containers, bodies, strict=True)
        if "is_carousel_item" in (q + b)
    )
    assert len(fresh_networks.requests("instagram", "POST", r"/[^/]+/media_publish")) == 1
    assert done["targets"][0]["platformPostId"]
