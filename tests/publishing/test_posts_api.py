"""The posts API without a worker: validation, drafts, scheduling, edits, quota, idempotency,
time zones."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from tests.conftest import assert_error
from tests.plans import BILLING_ON
from tests.publishing.conftest import connect_account


def future(minutes: int = 60) -> str:
    return (datetime.now(UTC) + timedelta(minutes=minutes)).isoformat()


async def setup_brand(register, http, platforms=("x", "linkedin")):
    alice = await register(on=http)
    brand = await alice.create_brand(timeZone="Europe/Paris")
    accounts = {p: await connect_account(http, alice, brand["id"], p) for p in platforms}
    return alice, brand, accounts


async def jobs_for(db, target_ids):
    async with db.engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT j.id, j.status, j.scheduled_at, j.lock FROM procrastinate_jobs j "
                "JOIN social_posts s ON s.job_id = j.id WHERE s.id = ANY(:ids)"
            ),
            {"ids": target_ids},
        )
        return rows.all()


async def test_schedule_creates_post_and_targets_and_a_job_only_for_due_work(register, http, db) -> None:
    """A post for later is stored with its targets and no job (the worker's queuer writes it when
    the post comes due: a job written now would hold the account's earlier-due posts behind it);
    a post for now gets its jobs in the same transaction, each under its account's lock."""
    alice, brand, accounts = await setup_brand(register, http)
    later = await alice.post(
        "/api/v1/posts",
        json={
            "brandId": brand["id"],
            "content": "Hello from T21 #launch",
            "scheduledFor": future(30),
            "platforms": ["x", "linkedin"],
        },
    )
    assert later.status_code == 201, later.text
    post = later.json()
    assert post["status"] == "SCHEDULED" and sorted(post["platforms"]) == ["linkedin", "x"]
    assert len(post["targets"]) == 2 and {t["status"] for t in post["targets"]} == {"SCHEDULED"}
    assert await jobs_for(db, [t["id"] for t in post["targets"]]) == []

    now = await alice.post(
        "/api/v1/posts",
        json={
            "brandId": brand["id"],
            "content": "Right now",
            "scheduledFor": "now",
            "platforms": ["x", "linkedin"],
        },
    )
    assert now.status_code == 201, now.text
    jobs = await jobs_for(db, [t["id"] for t in now.json()["targets"]])
    assert len(jobs) == 2 and all(j.status == "todo" for j in jobs)
    assert {j.lock for j in jobs} == {f"account:{a['id']}" for a in accounts.values()}


async def test_failed_validation_leaves_nothing_behind(register, http, db) -> None:
    alice, brand, _ = await setup_brand(register, http)
    response = await alice.post(
        "/api/v1/posts",
        json={
            "brandId": brand["id"],
            "content": "x" * 281,
            "scheduledFor": future(),
            "platforms": ["x"],
        },
    )
    body = assert_error(response, 422, "content_invalid")
    assert body["details"][0]["platform"] == "x" and body["details"][0]["code"] == "too_long"
    async with db.engine.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM posts"))).scalar_one() == 0
        assert (
            await conn.execute(
                text("SELECT count(*) FROM procrastinate_jobs WHERE task_name = 't21.publish_social_post'")
            )
        ).scalar_one() == 0
        assert (await conn.execute(text("SELECT posts_this_month FROM users"))).scalar_one() == 0


async def test_per_network_override_lets_long_linkedin_text_through(register, http) -> None:
    alice, brand, _ = await setup_brand(register, http)
    response = await alice.post(
        "/api/v1/posts",
        json={
            "brandId": brand["id"],
            "content": "A long LinkedIn article. " * 40,
            "scheduledFor": future(),
            "platforms": ["x", "linkedin"],
            "overrides": {"x": {"content": "Short version for X"}},
        },
    )
    assert response.status_code == 201, response.text


async def test_instagram_needs_media(register, http) -> None:
    alice, brand, _ = await setup_brand(register, http, platforms=("instagram",))
    response = await alice.post(
        "/api/v1/posts",
        json={
            "brandId": brand["id"],
            "content": "Caption",
            "scheduledFor": future(),
            "platforms": ["instagram"],
        },
    )
    assert assert_error(response, 422, "content_invalid")["details"][0]["code"] == "media_required"


async def test_draft_then_schedule_then_reschedule_moves_the_job(register, http, db) -> None:
    alice, brand, _ = await setup_brand(register, http)
    draft = (
        await alice.post(
            "/api/v1/posts", json={"brandId": brand["id"], "content": "Draft", "platforms": ["x"]}
        )
    ).json()
    assert draft["status"] == "DRAFT" and draft["scheduledFor"] is None
    assert await jobs_for(db, [t["id"] for t in draft["targets"]]) == []

    scheduled = (await alice.patch(f"/api/v1/posts/{draft['id']}", json={"scheduledFor": future(60)})).json()
    assert scheduled["status"] == "SCHEDULED"
    assert await jobs_for(db, [scheduled["targets"][0]["id"]]) == []  # its job comes when it is due

    now = await alice.post(f"/api/v1/posts/{draft['id']}/publish-now")
    assert now.status_code == 200, now.text
    first_job = (await jobs_for(db, [scheduled["targets"][0]["id"]]))[0]

    later = future(120)
    moved = await alice.patch(
        f"/api/v1/posts/{draft['id']}", json={"scheduledFor": later, "content": "Edited"}
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["content"] == "Edited"
    assert moved.json()["scheduledFor"] is not None
    # The due job is gone with the move; the post waits, jobless, for its new time.
    assert await jobs_for(db, [scheduled["targets"][0]["id"]]) == []
    async with db.engine.connect() as conn:
        old = (
            await conn.execute(
                text("SELECT count(*) FROM procrastinate_jobs WHERE id = :id"), {"id": first_job.id}
            )
        ).scalar_one()
    assert old == 0
    # Quota counted once, not per edit.
    async with db.engine.connect() as conn:
        assert (await conn.execute(text("SELECT posts_this_month FROM users"))).scalar_one() == 1


async def test_cancel_releases_quota_and_job(register, http, db) -> None:
    alice, brand, _ = await setup_brand(register, http)
    post = (
        await alice.post(
            "/api/v1/posts",
            json={"brandId": brand["id"], "content": "Soon", "scheduledFor": future(), "platforms": ["x"]},
        )
    ).json()
    cancelled = await alice.delete(f"/api/v1/posts/{post['id']}")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "CANCELLED"
    assert await jobs_for(db, [post["targets"][0]["id"]]) == []
    async with db.engine.connect() as conn:
        assert (await conn.execute(text("SELECT posts_this_month FROM users"))).scalar_one() == 0
    # A cancelled post can be deleted for good.
    assert (await alice.delete(f"/api/v1/posts/{post['id']}")).status_code == 204
    assert_error(await alice.get(f"/api/v1/posts/{post['id']}"), 404, "post_not_found")


@pytest.fixture
async def billed_http(app_factory: Any, fresh_networks: Any) -> AsyncIterator[httpx.AsyncClient]:
    """Plan limits apply only with billing on (no Stripe keys: nothing is limited)."""
    from tests.conftest import client_for
    from tests.publishing.conftest import PUBLISHING_SETTINGS

    app = await app_factory(sandbox_url=fresh_networks.url, **PUBLISHING_SETTINGS, **BILLING_ON)
    async with client_for(app) as c:
        yield c


async def test_quota_exceeded_is_402_with_limit_and_reset(register, billed_http, db) -> None:
    alice, brand, _ = await setup_brand(register, billed_http, platforms=("x",))
    async with db.engine.begin() as conn:
        await conn.execute(text("UPDATE users SET posts_this_month = 30"))
    response = await alice.post(
        "/api/v1/posts",
        json={
            "brandId": brand["id"],
            "content": "One too many",
            "scheduledFor": future(),
            "platforms": ["x"],
        },
    )
    body = assert_error(response, 402, "quota_exceeded")
    assert body["details"]["limit"] == 30 and body["details"]["resetsAt"].startswith(
        (datetime.now(UTC).replace(day=28) + timedelta(days=4)).strftime("%Y-%m")
    )
    # Drafts do not count.
    draft = await alice.post(
        "/api/v1/posts", json={"brandId": brand["id"], "content": "Draft", "platforms": ["x"]}
    )
    assert draft.status_code == 201


async def test_concurrent_posts_never_overspend_the_quota(register, billed_http, db) -> None:
    import asyncio

    alice, brand, _ = await setup_brand(register, billed_http, platforms=("x",))
    async with db.engine.begin() as conn:
        await conn.execute(text("UPDATE users SET posts_this_month = 25"))
    responses = await asyncio.gather(
        *[
            alice.post(
                "/api/v1/posts",
                json={
                    "brandId": brand["id"],
                    "content": f"Post {i}",
                    "scheduledFor": future(),
                    "platforms": ["x"],
                },
            )
            for i in range(12)
        ]
    )
    assert sorted(r.status_code for r in responses) == [201] * 5 + [402] * 7
    async with db.engine.connect() as conn:
        assert (await conn.execute(text("SELECT posts_this_month FROM users"))).scalar_one() == 30


async def test_idempotency_key(register, http, db) -> None:
    alice, brand, _ = await setup_brand(register, http, platforms=("x",))
    body = {"brandId": brand["id"], "content": "Once", "scheduledFor": future(), "platforms": ["x"]}
    first = await alice.post("/api/v1/posts", json=body, headers={"Idempotency-Key": "abc-123"})
    again = await alice.post("/api/v1/posts", json=body, headers={"Idempotency-Key": "abc-123"})
    assert first.status_code == again.status_code == 201 and first.json() == again.json()
    other = await alice.post(
        "/api/v1/posts", json={**body, "content": "Other"}, headers={"Idempotency-Key": "abc-123"}
    )
    assert_error(other, 409, "idempotency_key_reused")
    async with db.engine.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM posts"))).scalar_one() == 1


async def test_local_time_in_brand_zone_and_dst(register, http) -> None:
    alice, brand, _ = await setup_brand(register, http, platforms=("x",))
    year = datetime.now(UTC).year + 1
    ok = await alice.post(
        "/api/v1/posts",
        json={
            "brandId": brand["id"],
            "content": "Summer",
            "scheduledFor": f"{year}-07-01T09:00:00",
            "platforms": ["x"],
        },
    )
    assert ok.status_code == 201
    assert datetime.fromisoformat(ok.json()["scheduledFor"]) == datetime(
        year, 7, 1, 7, 0, tzinfo=UTC
    )  # CEST = UTC+2
    winter = await alice.post(
        "/api/v1/posts",
        json={
            "brandId": brand["id"],
            "content": "Winter",
            "scheduledFor": f"{year}-01-15T09:00:00",
            "platforms": ["x"],
        },
    )
    assert datetime.fromisoformat(winter.json()["scheduledFor"]) == datetime(
        year, 1, 15, 8, 0, tzinfo=UTC
    )  # CET
    # The last Sunday of March 02:30 does not exist in Paris; the last Sunday of October 02:30 happens twice.
    march = max(d for d in (datetime(year, 3, day) for day in range(25, 32)) if d.weekday() == 6)
    october = max(d for d in (datetime(year, 10, day) for day in range(25, 32)) if d.weekday() == 6)
    gap = await alice.post(
        "/api/v1/posts",
        json={
            "brandId": brand["id"],
            "content": "Gap",
            "platforms": ["x"],
            "scheduledFor": f"{march:%Y-%m-%d}T02:30:00",
        },
    )
    assert_error(gap, 422, "nonexistent_local_time")
    overlap = await alice.post(
        "/api/v1/posts",
        json={
            "brandId": brand["id"],
            "content": "Twice",
            "platforms": ["x"],
            "scheduledFor": f"{october:%Y-%m-%d}T02:30:00",
        },
    )
    body = assert_error(overlap, 422, "ambiguous_local_time")
    assert len(body["details"]["options"]) == 2
    # An explicit offset resolves it; another zone can be named per post.
    explicit = await alice.post(
        "/api/v1/posts",
        json={
            "brandId": brand["id"],
            "content": "Twice",
            "platforms": ["x"],
            "scheduledFor": f"{october:%Y-%m-%d}T02:30:00+01:00",
        },
    )
    assert explicit.status_code == 201
    ny = await alice.post(
        "/api/v1/posts",
        json={
            "brandId": brand["id"],
            "content": "NY",
            "platforms": ["x"],
            "scheduledFor": f"{year}-07-01T09:00:00",
            "timeZone": "America/New_York",
        },
    )
    assert datetime.fromisoformat(ny.json()["scheduledFor"]) == datetime(year, 7, 1, 13, 0, tzinfo=UTC)


async def test_bad_input(register, http) -> None:
    alice, brand, _ = await setup_brand(register, http, platforms=("x",))
    url = "/api/v1/posts"
    bid = brand["id"]
    assert_error(
        await alice.post(
            url,
            json={"brandId": bid, "content": "x", "scheduledFor": "2001-01-01T00:00:00Z", "platforms": ["x"]},
        ),
        422,
        "schedule_in_past",
    )
    assert_error(
        await alice.post(url, json={"brandId": bid, "content": "x", "scheduledFor": "tomorrow"}), 422
    )
    assert_error(await alice.post(url, json={"brandId": bid, "content": "x", "platforms": ["myspace"]}), 422)
    assert_error(
        await alice.post(
            url, json={"brandId": bid, "content": "x", "scheduledFor": future(), "platforms": ["instagram"]}
        ),
        422,
        "invalid_targets",
    )
    assert_error(
        await alice.post(url, json={"brandId": bid, "content": "x", "scheduledFor": future()}),
        422,
        "no_targets",
    )
    assert_error(await alice.post(url, json={"brandId": bid, "content": "x", "timeZone": "Moon/Base"}), 422)
    assert_error(await alice.post(url, json={"content": "x"}), 422)
    assert_error(
        await alice.post(
            url,
            json={
                "brandId": bid,
                "content": "x",
                "socialAccountIds": ["00000000-0000-0000-0000-000000000000"],
                "scheduledFor": future(),
            },
        ),
        422,
        "invalid_targets",
    )
    assert_error(await alice.get("/api/v1/posts", params={"cursor": "garbage!"}), 400, "invalid_cursor")
    assert_error(await alice.get("/api/v1/posts", params={"limit": 0}), 422)


async def test_list_filters_calendar_range_search_and_cursor(register, http) -> None:
    alice, brand, _ = await setup_brand(register, http, platforms=("x",))
    base = datetime.now(UTC) + timedelta(days=2)
    for i in range(5):
        await alice.post(
            "/api/v1/posts",
            json={
                "brandId": brand["id"],
                "content": f"Calendar {i} {'sale' if i % 2 else ''}",
                "scheduledFor": (base + timedelta(hours=i)).isoformat(),
                "platforms": ["x"],
            },
        )
    await alice.post("/api/v1/posts", json={"brandId": brand["id"], "content": "A draft", "platforms": ["x"]})
    page1 = (
        await alice.get(
            "/api/v1/posts",
            params={"from": base.isoformat(), "to": (base + timedelta(days=1)).isoformat(), "limit": 3},
        )
    ).json()
    assert [p["content"][:10] for p in page1["data"]] == ["Calendar 0", "Calendar 1", "Calendar 2"]
    page2 = (
        await alice.get(
            "/api/v1/posts",
            params={
                "from": base.isoformat(),
                "to": (base + timedelta(days=1)).isoformat(),
                "limit": 3,
                "cursor": page1["nextCursor"],
            },
        )
    ).json()
    assert [p["content"][:10] for p in page2["data"]] == ["Calendar 3", "Calendar 4"] and page2[
        "nextCursor"
    ] is None
    assert len((await alice.get("/api/v1/posts", params={"status": "DRAFT"})).json()["data"]) == 1
    assert len((await alice.get("/api/v1/posts", params={"q": "sale"})).json()["data"]) == 2
    assert len((await alice.get("/api/v1/posts", params={"platform": "linkedin"})).json()["data"]) == 0
    newest = (await alice.get("/api/v1/posts", params={"limit": 2})).json()
    assert newest["data"][0]["content"] == "A draft" and newest["nextCursor"]


async def test_validate_endpoint_counts_per_network(register, http) -> None:
    alice = await register(on=http)
    response = await alice.post(
        "/api/v1/posts/validate",
        json={"content": "日本語 https://example.com/a/b #tag", "platforms": ["x", "instagram", "linkedin"]},
    )
    assert response.status_code == 200
    results = response.json()["results"]
    assert results["x"]["length"] == 3 * 2 + 1 + 23 + 1 + 4 and results["x"]["limit"] == 280
    assert results["instagram"]["ok"] is False  # needs media
    assert results["linkedin"]["ok"] is True and results["linkedin"]["hashtags"] == 1
    with_media = await alice.post(
        "/api/v1/posts/validate",
        json={
            "content": "hi",
            "platforms": ["instagram"],
            "media": [{"kind": "image", "contentType": "image/jpeg"}],
        },
    )
    assert with_media.json()["ok"] is True


async def test_duplicate_and_stranger_isolation(register, http) -> None:
    alice, brand, _ = await setup_brand(register, http, platforms=("x",))
    post = (
        await alice.post(
            "/api/v1/posts",
            json={"brandId": brand["id"], "content": "Mine", "scheduledFor": future(), "platforms": ["x"]},
        )
    ).json()
    copy = await alice.post(f"/api/v1/posts/{post['id']}/duplicate")
    assert copy.status_code == 201 and copy.json()["status"] == "DRAFT" and copy.json()["content"] == "Mine"
    bob = await register(on=http)
    pid = post["id"]
    for method, url, body in [
        ("GET", f"/api/v1/posts/{pid}", None),
        ("PATCH", f"/api/v1/posts/{pid}", {"content": "pwned"}),
        ("DELETE", f"/api/v1/posts/{pid}", None),
        ("POST", f"/api/v1/posts/{pid}/duplicate", None),
        ("POST", f"/api/v1/posts/{pid}/publish-now", None),
        ("POST", f"/api/v1/posts/{pid}/retry", {}),
        ("POST", "/api/v1/posts", {"brandId": brand["id"], "content": "in their brand"}),
    ]:
        response = await http.request(method, url, json=body, headers=bob.headers)
        assert response.status_code == 404, (method, url, response.text)
    assert (await bob.get("/api/v1/posts")).json()["data"] == []


async def test_after_a_downgrade_over_limit_brands_take_drafts_but_not_schedules(
    app_factory, register, fresh_networks, db
):
    from tests.conftest import client_for
    from tests.publishing.conftest import PUBLISHING_SETTINGS

    app = await app_factory(
        default_tier="PRO", sandbox_url=fresh_networks.url, **PUBLISHING_SETTINGS, **BILLING_ON
    )
    async with client_for(app) as http:
        alice = await register(on=http)
        first = await alice.create_brand(name="First")
        second = await alice.create_brand(name="Second")
        for brand in (first, second):
            await connect_account(http, alice, brand["id"], "x")
    async with db.engine.begin() as conn:  # the downgrade (as the subscription webhook writes it)
        await conn.execute(text("UPDATE users SET subscription_tier = 'FREE'"))
    async with client_for(app) as http:
        alice.client = http
        body = {"content": "After downgrade", "scheduledFor": future(), "platforms": ["x"]}
        ok = await alice.post("/api/v1/posts", json={**body, "brandId": first["id"]})
        assert ok.status_code == 201, ok.text
        refused = await alice.post("/api/v1/posts", json={**body, "brandId": second["id"]})
        assert_error(refused, 402, "brand_read_only")
        draft = await alice.post(
            "/api/v1/posts", json={"brandId": second["id"], "content": "Kept as a draft"}
        )
        assert draft.status_code == 201
