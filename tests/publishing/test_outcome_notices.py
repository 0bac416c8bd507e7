"""What users are told matches what happened (issue 14): the live event names the post's outcome
(published, partly published, failed), each target's outcome is announced to the author once
(a retry of the targets that did not go out announces only those), and networks are named as
they write themselves: X, Instagram, LinkedIn."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
from collections.abc import AsyncIterator
from typing import Any

import psycopg
from sqlalchemy import text
from tests.publishing.conftest import connect_account, wait_for, wait_for_post_status

from t21.db.urls import libpq_url
from t21.emulators.base import Fault
from t21.notifications.live import LIVE_CHANNEL

LINKEDIN_POSTS = r"/rest/posts"
X_TWEETS = r"/2/tweets"


def linkedin_rejects(count: int = 1) -> Fault:
    """LinkedIn refuses the post's content (a 422: no retry can help until something changes)."""
    return Fault(
        match=f"POST {LINKEDIN_POSTS}",
        kind="status",
        status=422,
        count=count,
        body={
            "status": 422,
            "code": "UNPROCESSABLE_ENTITY",
            "serviceErrorCode": 100,
            "message": "ERROR :: /commentary :: the organization may not post this content",
        },
    )


def x_is_slow() -> Fault:
    """X answers late, so the post's roll-up happens on X's success (the fast path's writer)."""
    return Fault(match=f"POST {X_TWEETS}", kind="latency", seconds=0.6, count=1)


@contextlib.asynccontextmanager
async def live_events(database_url: str) -> AsyncIterator[list[dict[str, Any]]]:
    """Every live event sent while the block runs, as the hub would forward them."""
    events: list[dict[str, Any]] = []
    conn = await psycopg.AsyncConnection.connect(libpq_url(database_url), autocommit=True)
    await conn.execute(f"LISTEN {LIVE_CHANNEL}")

    async def listen() -> None:
        async for note in conn.notifies():
            message = json.loads(note.payload)
            events.extend(message["events"] if "events" in message else [message["event"]])

    task = asyncio.create_task(listen())
    try:
        yield events
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await conn.close()


def of_post(events: list[dict[str, Any]], post_id: str) -> list[str]:
    return [e["type"] for e in events if e.get("postId") == post_id]


async def notices_for(db: Any, user_id: str) -> list[tuple[str, str]]:
    async with db.engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT kind, title FROM notifications WHERE user_id = :u ORDER BY created_at, title"),
            {"u": user_id},
        )
        return [(kind, title) for kind, title in rows.all()]


async def post_emails_to(db: Any, address: str) -> list[tuple[str, str, str]]:
    async with db.engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT template, subject, text_body FROM email_messages "
                "WHERE to_address = :to AND template LIKE 'post%' ORDER BY created_at, subject"
            ),
            {"to": address},
        )
        return [(template, subject, body) for template, subject, body in rows.all()]


async def setup(register: Any, http: Any, platforms: tuple[str, ...]) -> tuple[Any, dict[str, Any]]:
    alice = await register(on=http)
    brand = await alice.create_brand()
    for platform in platforms:
        await connect_account(http, alice, brand["id"], platform)
    return alice, brand


async def publish_now(alice: Any, brand: dict[str, Any], platforms: list[str], **extra: Any) -> str:
    created = await alice.post(
        "/api/v1/posts",
        json={"brandId": brand["id"], "content": "Launch day", "scheduledFor": "now", "platforms": platforms}
        | extra,
    )
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


async def test_a_partly_published_post_is_announced_as_such_and_its_retry_announces_only_the_rest(
    register, http, worker, fresh_networks, db, database_url
) -> None:
    alice, brand = await setup(register, http, ("x", "linkedin"))
    fresh_networks.emulator("linkedin").add_fault(linkedin_rejects())
    fresh_networks.emulator("x").add_fault(x_is_slow())
    async with live_events(database_url) as events:
        post_id = await publish_now(alice, brand, ["x", "linkedin"])
        partial = await wait_for_post_status(alice, post_id, {"PARTIALLY_PUBLISHED", "PUBLISHED", "FAILED"})
        assert partial["status"] == "PARTIALLY_PUBLISHED", partial
        await wait_for(lambda: _has(events, post_id, "post.partially_published"))
        await asyncio.sleep(0.2)  # nothing else is on its way
        assert "post.published" not in of_post(events, post_id)
        assert "post.failed" not in of_post(events, post_id)
        outcome = next(e for e in events if e["type"] == "post.partially_published")
        assert sorted((t["platform"], t["status"]) for t in outcome["targets"]) == [
            ("linkedin", "FAILED"),
            ("x", "PUBLISHED"),
        ]
    assert sorted(await notices_for(db, alice.id)) == [
        ("post.failed", "Not published on LinkedIn"),
        ("post.published", "Published on X"),
    ]
    emails = await post_emails_to(db, alice.email)
    assert sorted((t, s) for t, s, _ in emails) == [
        ("post_failed", "A post could not be published on LinkedIn"),
        ("post_published", "Published on X"),
    ]
    assert "was not published on LinkedIn" in next(b for t, _, b in emails if t == "post_failed")
    assert len(fresh_networks.requests("x", "POST", X_TWEETS)) == 1
    assert len(fresh_networks.requests("linkedin", "POST", LINKEDIN_POSTS)) == 1

    # Fixed on LinkedIn's side (the fault was one-off): retry sends LinkedIn only.
    async with live_events(database_url) as events:
        retried = await alice.post(f"/api/v1/posts/{post_id}/retry", json={})
        assert retried.status_code == 200, retried.text
        assert {t["platform"]: t["status"] for t in retried.json()["targets"]} == {
            "x": "PUBLISHED",
            "linkedin": "SCHEDULED",
        }
        await wait_for_post_status(alice, post_id, {"PUBLISHED"})
        await wait_for(lambda: _has(events, post_id, "post.published"))
    assert len(fresh_networks.requests("x", "POST", X_TWEETS)) == 1
    assert len(fresh_networks.requests("linkedin", "POST", LINKEDIN_POSTS)) == 2
    # Exactly one more notice and one more email: LinkedIn's; X was announced already.
    assert sorted(await notices_for(db, alice.id)) == [
        ("post.failed", "Not published on LinkedIn"),
        ("post.published", "Published on LinkedIn"),
        ("post.published", "Published on X"),
    ]
    assert sorted((t, s) for t, s, _ in await post_emails_to(db, alice.email)) == [
        ("post_failed", "A post could not be published on LinkedIn"),
        ("post_published", "Published on LinkedIn"),
        ("post_published", "Published on X"),
    ]


async def test_a_retry_that_fails_again_announces_that_failure_and_not_the_published_target_again(
    register, http, worker, fresh_networks, db, database_url
) -> None:
    """The retried target's second failure is its own outcome (the engine's writer announces it);
    the target that went out the first time is not announced again."""
    alice, brand = await setup(register, http, ("x", "linkedin"))
    fresh_networks.emulator("linkedin").add_fault(linkedin_rejects(count=2))
    fresh_networks.emulator("x").add_fault(x_is_slow())
    post_id = await publish_now(alice, brand, ["x", "linkedin"])
    await wait_for_post_status(alice, post_id, {"PARTIALLY_PUBLISHED"})
    async with live_events(database_url) as events:
        retried = await alice.post(f"/api/v1/posts/{post_id}/retry", json={})
        assert retried.status_code == 200, retried.text
        await wait_for(lambda: _requests(fresh_networks, "linkedin", LINKEDIN_POSTS, 2))
        await wait_for_post_status(alice, post_id, {"PARTIALLY_PUBLISHED"})
        await wait_for(lambda: _has(events, post_id, "post.partially_published"))
        assert "post.published" not in of_post(events, post_id)
    assert len(fresh_networks.requests("x", "POST", X_TWEETS)) == 1
    assert sorted(await notices_for(db, alice.id)) == [
        ("post.failed", "Not published on LinkedIn"),
        ("post.failed", "Not published on LinkedIn"),
        ("post.published", "Published on X"),
    ]
    assert [s for t, s, _ in await post_emails_to(db, alice.email) if t == "post_published"] == [
        "Published on X"
    ]


async def test_a_post_that_failed_everywhere_is_announced_as_failed(
    register, http, worker, fresh_networks, db, database_url
) -> None:
    alice, brand = await setup(register, http, ("linkedin",))
    fresh_networks.emulator("linkedin").add_fault(linkedin_rejects())
    async with live_events(database_url) as events:
        post_id = await publish_now(alice, brand, ["linkedin"])
        await wait_for_post_status(alice, post_id, {"FAILED"})
        await wait_for(lambda: _has(events, post_id, "post.failed"))
        assert "post.published" not in of_post(events, post_id)
    assert await notices_for(db, alice.id) == [("post.failed", "Not published on LinkedIn")]
    ((template, subject, body),) = await post_emails_to(db, alice.email)
    assert (template, subject) == ("post_failed", "A post could not be published on LinkedIn")
    assert "was not published on LinkedIn" in body


async def test_a_post_published_everywhere_names_each_network_as_it_writes_itself(
    register, http, worker, fresh_networks, db, database_url
) -> None:
    from tests.media.conftest import jpeg

    alice, brand = await setup(register, http, ("x", "instagram"))
    uploaded = await alice.post(
        "/api/v1/media",
        data={"brandId": brand["id"]},
        files={"file": ("photo.jpg", jpeg(800, 600), "image/jpeg")},
    )
    assert uploaded.status_code == 201, uploaded.text
    async with live_events(database_url) as events:
        # One network alone (the fast path's one-statement success), then two together.
        alone = await publish_now(alice, brand, ["instagram"], mediaIds=[uploaded.json()["id"]])
        await wait_for_post_status(alice, alone, {"PUBLISHED"})
        both = await publish_now(alice, brand, ["x", "instagram"], mediaIds=[uploaded.json()["id"]])
        await wait_for_post_status(alice, both, {"PUBLISHED"})
        for post_id in (alone, both):
            await wait_for(functools.partial(_has, events, post_id, "post.published"))
            assert of_post(events, post_id).count("post.published") == 1
    assert sorted(await notices_for(db, alice.id)) == [
        ("post.published", "Published on Instagram"),
        ("post.published", "Published on Instagram, X"),
    ]
    emails = await post_emails_to(db, alice.email)
    assert sorted(s for _, s, _ in emails) == ["Published on Instagram", "Published on Instagram, X"]
    assert all("live on Instagram" in body for _, _, body in emails), emails


async def _has(events: list[dict[str, Any]], post_id: str, event_type: str) -> bool:
    return event_type in of_post(events, post_id)


async def _requests(networks: Any, platform: str, path: str, count: int) -> bool:
    return len(networks.requests(platform, "POST", path)) >= count


def test_a_targets_outcome_is_announced_once_and_again_only_once_it_was_sent_again() -> None:
    from dataclasses import dataclass
    from datetime import UTC, datetime, timedelta

    from t21.publishing.notices import unannounced

    @dataclass
    class Target:
        status: str
        scheduled_for: datetime | None = None
        notified_status: str | None = None
        notified_at: datetime | None = None

    at = datetime(2026, 12, 3, 12, tzinfo=UTC)
    assert not unannounced(Target("PUBLISHING", at))
    assert unannounced(Target("PUBLISHED", at))
    assert not unannounced(Target("PUBLISHED", at, "PUBLISHED", at + timedelta(seconds=2)))
    assert unannounced(Target("PUBLISHED", at, "FAILED", at + timedelta(seconds=2)))  # a new outcome
    # Retried (or republished) after its notice: scheduled_for is the moment that was asked.
    assert unannounced(Target("FAILED", at + timedelta(minutes=5), "FAILED", at + timedelta(seconds=2)))
    assert not unannounced(Target("CANCELLED", at, None, None))


def test_every_email_names_the_network_as_it_writes_itself() -> None:
    from t21.notifications.emails import render

    reconnect = render("account_disconnected", platform="linkedin", account="Ada", reason="revoked", url="u")
    assert reconnect.subject == "Reconnect your LinkedIn account" and "on LinkedIn" in reconnect.text
    assert render("post_published", platform="x", brand="B", url="u").subject == "Published on X"
    unknown = render("post_unknown", platform="instagram", brand="B", reason="No answer", url="u")
    assert unknown.subject == "Check your post on Instagram" and "No answer" in unknown.text


def test_the_published_email_links_to_the_network_and_to_the_post_in_t21() -> None:
    import uuid
    from dataclasses import dataclass

    from t21.notifications.emails import render
    from t21.publishing.notices import author_notices

    @dataclass(frozen=True)
    class Out:
        id: uuid.UUID
        platform: str
        status: str
        error: str | None
        platform_post_url: str | None

    post_id, brand_id = uuid.uuid4(), uuid.uuid4()
    [notice] = author_notices(
        [Out(uuid.uuid4(), "x", "PUBLISHED", None, "https://x.com/t21/status/1")],
        post_id=post_id,
        brand_id=brand_id,
        brand_name="Acme",
        content="Launch day",
        base_url="https://t21.example",
    )
    email = render(notice.template, **notice.context)
    assert "See it on X: https://x.com/t21/status/1" in email.text
    assert f"Open the post in T21: https://t21.example/posts/{post_id}" in email.text
    assert 'href="https://x.com/t21/status/1"' in email.html
    assert f'href="https://t21.example/posts/{post_id}"' in email.html
