"""Overdue posts (issue #14): due, not sent 60 s after their time, shown with the reason T21 knows;
the oldest one's age on /metrics; /readyz failing when no worker takes due work.

The reason is a pure function (property-tested here over times, zones and states); the API tests
put a target's time in the past with SQL or move the clock, never sleep."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from tests.publishing.conftest import connect_account, wait_for

from t21.emulators.base import Fault
from t21.enums import SocialAccountStatus, SocialPostStatus
from t21.publishing import overdue as overdue_module
from t21.publishing.overdue import GRACE, OverdueReason, TargetFacts, local_clock, overdue_reason

ZONES = [
    "UTC",
    "Europe/Paris",
    "America/New_York",
    "America/Sao_Paulo",
    "Asia/Kolkata",
    "Australia/Lord_Howe",  # a 30-minute DST shift
    "Pacific/Chatham",  # +12:45 / +13:45
    "America/St_Johns",  # -03:30 / -02:30
]
RATE_LIMIT_ERRORS = [
    "X rate limit reached: Too Many Requests",
    "Instagram is throttling T21: Application request limit reached",
    "LinkedIn is throttling T21: Resource level throttle limit exceeded",
    "Instagram's publishing limit of 25 posts per 24 hours is reached",
]
OTHER_ERRORS = ["X was unreachable: connection refused", "LinkedIn answered 503 after sending"]

moments = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2035, 12, 31), timezones=st.just(UTC)
)


@st.composite
def facts_and_now(draw: st.DrawFn) -> tuple[TargetFacts, datetime]:
    scheduled_for = draw(moments)
    now = scheduled_for + timedelta(seconds=draw(st.integers(-86_400, 3 * 86_400)))
    job_status = draw(st.sampled_from([None, "todo", "doing", "failed", "succeeded", "cancelled"]))
    # The job's wait on the database's clock: due already (<= 0) or up to two days ahead.
    job_wait = (
        timedelta(seconds=draw(st.integers(-7_200, 2 * 86_400)), microseconds=draw(st.integers(0, 999_999)))
        if job_status is not None
        else None
    )
    facts = TargetFacts(
        target_id=uuid.uuid4(),
        status=draw(st.sampled_from([s.value for s in SocialPostStatus])),
        scheduled_for=scheduled_for,
        platform=draw(st.sampled_from(["x", "instagram", "linkedin"])),
        error=draw(st.sampled_from([None, *RATE_LIMIT_ERRORS, *OTHER_ERRORS])),
        error_code=draw(st.sampled_from([None, "rate_limited", "network_unavailable"])),
        account_status=draw(st.sampled_from([s.value for s in SocialAccountStatus])),
        account_name=draw(st.sampled_from([None, "acme"])),
        time_zone=draw(st.sampled_from(ZONES)),
        job_id=None if job_status is None else draw(st.integers(1, 10**9)),
        job_status=job_status,
        job_wait=job_wait,
        earlier_waiting=draw(st.integers(0, 3)),
        worker_alive=draw(st.booleans()),
    )
    return facts, now


def wall_clock(moment: datetime, zone: str) -> datetime:
    """The wall time in `zone` through tzinfo.fromutc, not astimezone (an independent route)."""
    tz = ZoneInfo(zone)
    return tz.fromutc(moment.astimezone(UTC).replace(tzinfo=tz))


@settings(max_examples=600, deadline=None)
@given(facts_and_now())
def test_overdue_reason_properties(case: tuple[TargetFacts, datetime]) -> None:
    facts, now = case
    assert facts.scheduled_for is not None
    result = overdue_reason(facts, now)
    due = facts.status in ("SCHEDULED", "PUBLISHING")
    if not due or now < facts.scheduled_for + GRACE:
        # Never overdue before its time + 60 s, and never once it is out of the due states.
        assert result is None
        return
    assert result is not None
    assert result.since == facts.scheduled_for + GRACE <= now
    assert result.message and "None" not in result.message and result.message.endswith(".")
    if facts.account_status != "CONNECTED":
        assert result.reason is OverdueReason.account_disconnected
        return
    if not facts.worker_alive:
        assert result.reason is OverdueReason.no_worker
        return
    wait = facts.job_wait
    waiting = facts.job_status == "todo" and wait is not None and wait > timedelta(0)
    if result.reason is OverdueReason.rate_limited:
        assert waiting and (facts.error_code == "rate_limited" or facts.error in RATE_LIMIT_ERRORS)
        assert wait is not None
        # "until HH:MM" in the brand's zone: the wait's end, rounded up to the minute.
        end = now + wait
        if end.second or end.microsecond:
            end = end.replace(second=0, microsecond=0) + timedelta(minutes=1)
        local = wall_clock(end, facts.time_zone)
        assert f"until {local:%H:%M}." in result.message or f"until {local:%a} {local.day} " in result.message
        assert result.message.endswith(f" {local:%H:%M}.")
        assert timedelta(0) <= end - (now + wait) < timedelta(minutes=1)
    elif waiting and (facts.error_code == "rate_limited" or facts.error in RATE_LIMIT_ERRORS):
        raise AssertionError(f"a rate-limit wait read as {result.reason}")
    if facts.status == "PUBLISHING":
        assert result.reason in (
            OverdueReason.publishing,
            OverdueReason.reconciling,
            OverdueReason.rate_limited,
        )
    if facts.job_id is None and facts.status == "SCHEDULED":
        # No job yet on a due target: a worker's queuer gives it one. Waiting, never "unknown".
        assert result.reason in (OverdueReason.queued, OverdueReason.retrying)


def test_until_is_the_brands_wall_clock_across_dst() -> None:
    now = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)  # Paris jumps 02:00 CET -> 03:00 CEST at 01:00 UTC
    assert local_clock(datetime(2026, 3, 29, 0, 58, tzinfo=UTC), "Europe/Paris", now) == "01:58"
    assert local_clock(datetime(2026, 3, 29, 0, 59, 30, tzinfo=UTC), "Europe/Paris", now) == "03:00"
    assert local_clock(datetime(2026, 3, 29, 1, 5, tzinfo=UTC), "Europe/Paris", now) == "03:05"
    # Still Saturday evening in New York at `now`: Sunday's 10:05 carries its day.
    sunday = datetime(2026, 3, 29, 14, 5, tzinfo=UTC)
    assert local_clock(sunday, "America/New_York", now) == "Sun 29 Mar 10:05"
    assert local_clock(datetime(2026, 3, 29, 0, 45, tzinfo=UTC), "America/New_York", now) == "20:45"
    # Another day in the brand's zone says which.
    assert local_clock(datetime(2026, 3, 30, 9, 0, tzinfo=UTC), "Europe/Paris", now) == "Mon 30 Mar 11:00"


def test_rate_limit_message() -> None:
    now = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
    facts = TargetFacts(
        target_id=uuid.uuid4(),
        status="SCHEDULED",
        scheduled_for=now - timedelta(minutes=3),
        platform="x",
        error="X rate limit reached: Too Many Requests",
        error_code=None,
        account_status="CONNECTED",
        account_name="acme",
        time_zone="Europe/Paris",
        job_id=7,
        job_status="todo",
        job_wait=timedelta(minutes=5),
        earlier_waiting=0,
        worker_alive=True,
    )
    result = overdue_reason(facts, now)
    assert result is not None and result.reason is OverdueReason.rate_limited
    assert result.message == "Waiting for X's rate limit until 14:05."


# ---- through the API ---------------------------------------------------------------------------


async def scheduled_post(register, http, platform: str = "x", zone: str = "Europe/Paris"):
    alice = await register(on=http)
    brand = await alice.create_brand(timeZone=zone)
    account = await connect_account(http, alice, brand["id"], platform)
    response = await alice.post(
        "/api/v1/posts",
        json={
            "brandId": brand["id"],
            "content": "Late, and T21 says why",
            "scheduledFor": (datetime.now(UTC) + timedelta(minutes=10)).isoformat(),
            "platforms": [platform],
        },
    )
    assert response.status_code == 201, response.text
    return alice, brand, account, response.json()


async def move_into_past(db, post_id: str, seconds: float) -> datetime:
    """The post's time `seconds` ago, as if it had been scheduled then and nothing sent it."""
    at = datetime.now(UTC) - timedelta(seconds=seconds)
    async with db.engine.begin() as conn:
        params = {"at": at, "id": post_id}
        await conn.execute(text("UPDATE posts SET scheduled_for = :at WHERE id = :id"), params)
        await conn.execute(text("UPDATE social_posts SET scheduled_for = :at WHERE post_id = :id"), params)
    return at


async def sql(db, statement: str, **params) -> None:
    async with db.engine.begin() as conn:
        await conn.execute(text(statement), params)


async def a_worker_heartbeats(db) -> None:
    await sql(db, "INSERT INTO procrastinate_workers (last_heartbeat) VALUES (now())")


async def give_job(db, post_id: str, status: str, at: datetime, error: str | None = None) -> None:
    """The post's targets get a publish job in `status`, scheduled at `at` (and `error`)."""
    async with db.engine.begin() as conn:
        job_id = (
            await conn.execute(
                text(
                    "INSERT INTO procrastinate_jobs (queue_name, task_name, lock, args, status, scheduled_at)"
                    " SELECT 'publish', 't21.publish_social_post', 'test',"
                    " jsonb_build_object('social_post_id', id::text), :status, :at"
                    " FROM social_posts WHERE post_id = :id LIMIT 1 RETURNING id"
                ),
                {"status": status, "at": at, "id": post_id},
            )
        ).scalar_one()
        await conn.execute(
            text("UPDATE social_posts SET job_id = :job, error = :error WHERE post_id = :id"),
            {"job": job_id, "error": error, "id": post_id},
        )


async def test_a_post_past_its_time_with_no_worker_is_overdue_everywhere(register, http, db) -> None:
    alice, brand, _, post = await scheduled_post(register, http)
    fresh = (await alice.get(f"/api/v1/posts/{post['id']}")).json()
    assert fresh["overdue"] is None and fresh["targets"][0]["overdue"] is None

    # Due, but within the minute's grace: not yet overdue.
    await move_into_past(db, post["id"], 30)
    assert (await alice.get(f"/api/v1/posts/{post['id']}")).json()["overdue"] is None

    at = await move_into_past(db, post["id"], 61)
    body = (await alice.get(f"/api/v1/posts/{post['id']}")).json()
    target = body["targets"][0]
    assert target["overdue"]["reason"] == "no_worker"
    assert "worker" in target["overdue"]["message"]
    assert datetime.fromisoformat(target["overdue"]["since"]) == at + GRACE
    assert body["overdue"] == target["overdue"]

    # The list and the calendar range say the same as the single post.
    listed = (await alice.get("/api/v1/posts", params={"brandId": brand["id"]})).json()["data"]
    assert listed[0]["overdue"] == body["overdue"] and listed[0]["targets"] == body["targets"]
    window = {
        "brandId": brand["id"],
        "from": (at - timedelta(days=1)).isoformat(),
        "to": (at + timedelta(days=1)).isoformat(),
    }
    calendar = (await alice.get("/api/v1/posts", params=window)).json()["data"]
    assert [p["overdue"] for p in calendar] == [body["overdue"]]


async def test_moving_the_clock_makes_a_post_overdue(register, http, db, clock) -> None:
    alice, _, _, post = await scheduled_post(register, http)
    await a_worker_heartbeats(db)
    scheduled_for = datetime.fromisoformat(post["scheduledFor"])
    clock.advance_to(scheduled_for + timedelta(seconds=59))
    assert (await alice.get(f"/api/v1/posts/{post['id']}")).json()["overdue"] is None
    clock.advance_to(scheduled_for + timedelta(seconds=61))
    body = (await alice.get(f"/api/v1/posts/{post['id']}")).json()
    # A live worker, and the target has no job yet (no queuer runs here): queued, never lost.
    assert body["overdue"]["reason"] == "queued", body["overdue"]
    assert body["overdue"]["message"] == "Waiting for a free publishing worker."
    assert datetime.fromisoformat(body["overdue"]["since"]) == scheduled_for + GRACE
    # /metrics and /readyz read the same moved clock.
    clock.advance_to(scheduled_for + timedelta(minutes=3))
    assert 180 <= metric((await http.get("/metrics")).text, "t21_publish_oldest_overdue_seconds") < 240
    assert (await http.get("/readyz")).json()["checks"]["publishing"]["ok"] is False


async def test_a_disconnected_account_is_the_reason(register, http, db) -> None:
    alice, _, account, post = await scheduled_post(register, http, platform="linkedin")
    await move_into_past(db, post["id"], 120)
    await sql(db, "UPDATE social_accounts SET status = 'DISCONNECTED' WHERE id = :id", id=account["id"])
    overdue = (await alice.get(f"/api/v1/posts/{post['id']}")).json()["overdue"]
    assert overdue["reason"] == "account_disconnected"
    assert "LinkedIn account" in overdue["message"] and "reconnect" in overdue["message"]


async def test_a_rate_limit_says_until_when_in_the_brands_zone(register, http, db) -> None:
    alice, _, _, post = await scheduled_post(register, http, zone="America/New_York")
    await a_worker_heartbeats(db)
    await move_into_past(db, post["id"], 300)
    # Half past a minute, so the rounding up is the next minute whatever a few milliseconds do.
    reset = (datetime.now(UTC) + timedelta(minutes=7)).replace(second=30, microsecond=0)
    await give_job(db, post["id"], "todo", reset, error="X rate limit reached: Too Many Requests")
    overdue = (await alice.get(f"/api/v1/posts/{post['id']}")).json()["overdue"]
    local = (reset + timedelta(seconds=30)).astimezone(ZoneInfo("America/New_York"))
    assert overdue["reason"] == "rate_limited"
    assert overdue["message"].startswith("Waiting for X's rate limit until ")
    assert f"{local:%H:%M}." in overdue["message"]


async def test_a_page_of_overdue_posts_costs_one_query(register, http, db, monkeypatch) -> None:
    alice, brand, _, _ = await scheduled_post(register, http)
    for _ in range(3):
        response = await alice.post(
            "/api/v1/posts",
            json={
                "brandId": brand["id"],
                "content": "Another",
                "scheduledFor": (datetime.now(UTC) + timedelta(minutes=10)).isoformat(),
                "platforms": ["x"],
            },
        )
        assert response.status_code == 201
    await sql(db, "UPDATE social_posts SET scheduled_for = now() - interval '5 minutes'")
    calls: list[int] = []
    real = overdue_module.fetch_facts

    async def counted(connection, ids, **kw):
        calls.append(len(ids))
        return await real(connection, ids, **kw)

    monkeypatch.setattr(overdue_module, "fetch_facts", counted)
    page = (await alice.get("/api/v1/posts", params={"brandId": brand["id"]})).json()["data"]
    assert len(page) == 4 and all(p["overdue"]["reason"] == "no_worker" for p in page)
    assert calls == [4]
    # The earliest due of one account goes first; the others wait behind it.
    await a_worker_heartbeats(db)
    calls.clear()
    page = (await alice.get("/api/v1/posts", params={"brandId": brand["id"]})).json()["data"]
    assert sorted(p["overdue"]["reason"] for p in page) == ["queued"] * 4
    assert sum("Queued behind" in p["overdue"]["message"] for p in page) == 3
    assert calls == [4]


# ---- operators -----------------------------------------------------------------------------------


def metric(body: str, name: str) -> float:
    for line in body.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not exported")


async def test_metrics_export_the_oldest_overdue_age(register, http, db) -> None:
    _, _, _, post = await scheduled_post(register, http)
    assert metric((await http.get("/metrics")).text, "t21_publish_oldest_overdue_seconds") == 0
    await move_into_past(db, post["id"], 30)  # due, not yet overdue
    assert metric((await http.get("/metrics")).text, "t21_publish_oldest_overdue_seconds") == 0
    await move_into_past(db, post["id"], 90)
    age = metric((await http.get("/metrics")).text, "t21_publish_oldest_overdue_seconds")
    assert 90 <= age < 150


async def test_metrics_count_a_post_stuck_publishing(register, http, db) -> None:
    """Being sent or reconciled for minutes after its time is overdue too (found through its job)."""
    _, _, _, post = await scheduled_post(register, http)
    await move_into_past(db, post["id"], 300)
    await sql(db, "UPDATE social_posts SET status = 'PUBLISHING' WHERE post_id = :id", id=post["id"])
    await give_job(db, post["id"], "doing", datetime.now(UTC))
    age = metric((await http.get("/metrics")).text, "t21_publish_oldest_overdue_seconds")
    assert 300 <= age < 360


async def test_readyz_fails_when_no_worker_takes_due_work(register, http, db) -> None:
    _, _, _, post = await scheduled_post(register, http)
    await a_worker_heartbeats(db)
    ready = await http.get("/readyz")
    assert ready.json()["checks"]["publishing"]["ok"] is True  # nothing due

    await move_into_past(db, post["id"], 100)  # due, waited less than 2 minutes
    assert (await http.get("/readyz")).json()["checks"]["publishing"]["ok"] is True

    await move_into_past(db, post["id"], 130)
    ready = await http.get("/readyz")
    assert ready.status_code == 503
    check = ready.json()["checks"]["publishing"]
    assert check["ok"] is False and "no worker has taken due posts" in check["detail"]
    assert ready.json()["checks"]["worker"]["ok"] is True  # heart-beating, yet nothing is taken

    # Taken by a worker (its job runs): fine again.
    await give_job(db, post["id"], "doing", datetime.now(UTC))
    assert (await http.get("/readyz")).json()["checks"]["publishing"]["ok"] is True


async def test_readyz_reads_a_moved_clock(register, http, db, clock) -> None:
    _, _, _, post = await scheduled_post(register, http)
    scheduled_for = datetime.fromisoformat(post["scheduledFor"])
    clock.advance_to(scheduled_for + timedelta(minutes=1))
    assert (await http.get("/readyz")).json()["checks"]["publishing"]["ok"] is True
    clock.advance_to(scheduled_for + timedelta(minutes=3))
    assert (await http.get("/readyz")).json()["checks"]["publishing"]["ok"] is False


async def test_an_account_waiting_on_a_rate_limit_keeps_readyz_green(register, http, db) -> None:
    alice, brand, _, post = await scheduled_post(register, http)
    later = await alice.post(
        "/api/v1/posts",
        json={
            "brandId": brand["id"],
            "content": "Behind the limited one",
            "scheduledFor": (datetime.now(UTC) + timedelta(minutes=10)).isoformat(),
            "platforms": ["x"],
        },
    )
    assert later.status_code == 201
    await sql(db, "UPDATE social_posts SET scheduled_for = now() - interval '10 minutes'")
    await sql(
        db,
        "UPDATE social_posts SET scheduled_for = now() - interval '11 minutes' WHERE post_id = :id",
        id=post["id"],
    )
    await a_worker_heartbeats(db)
    await give_job(
        db, post["id"], "todo", datetime.now(UTC) + timedelta(minutes=10), error="X rate limit reached"
    )
    assert (await http.get("/readyz")).json()["checks"]["publishing"]["ok"] is True
    behind = (await alice.get(f"/api/v1/posts/{later.json()['id']}")).json()["overdue"]
    assert behind["reason"] == "queued" and "Queued behind 1 earlier post" in behind["message"]


@pytest.mark.parametrize("status", ["PUBLISHED", "FAILED", "CANCELLED", "UNKNOWN"])
async def test_a_target_out_of_the_due_states_is_never_overdue(register, http, db, status) -> None:
    alice, _, _, post = await scheduled_post(register, http)
    await move_into_past(db, post["id"], 600)
    await sql(db, "UPDATE social_posts SET status = :s WHERE post_id = :id", s=status, id=post["id"])
    body = (await alice.get(f"/api/v1/posts/{post['id']}")).json()
    assert body["overdue"] is None and body["targets"][0]["overdue"] is None


async def test_a_real_rate_limit_from_the_network_is_the_reason(
    register, http, db, worker, fresh_networks
) -> None:
    """End to end: X answers 429 with a reset 10 minutes away, the worker puts the post back to
    wait for it; once the post is a minute past its time, the API says so, with the reset time."""
    alice = await register(on=http)
    brand = await alice.create_brand(timeZone="Asia/Kolkata")
    await connect_account(http, alice, brand["id"], "x")
    fresh_networks.emulator("x").add_fault(
        Fault(match="POST /2/tweets", kind="rate_limit", count=None, reset_in=600.0)
    )
    post = (
        await alice.post(
            "/api/v1/posts",
            json={"brandId": brand["id"], "content": "Patience", "scheduledFor": "now", "platforms": ["x"]},
        )
    ).json()

    async def waiting_for_the_reset() -> Any:
        async with db.engine.connect() as conn:
            return (
                await conn.execute(
                    text(
                        "SELECT j.scheduled_at FROM social_posts s"
                        " JOIN procrastinate_jobs j ON j.id = s.job_id"
                        " WHERE s.post_id = :id AND s.status = 'SCHEDULED' AND s.error IS NOT NULL"
                        " AND j.status = 'todo' AND j.scheduled_at > now()"
                    ),
                    {"id": post["id"]},
                )
            ).scalar_one_or_none()

    reset_at = await wait_for(waiting_for_the_reset, timeout=20)
    assert (await alice.get(f"/api/v1/posts/{post['id']}")).json()["overdue"] is None  # not a minute late yet
    await move_into_past(db, post["id"], 90)
    overdue = (await alice.get(f"/api/v1/posts/{post['id']}")).json()["overdue"]
    assert overdue["reason"] == "rate_limited", overdue
    ceil = reset_at.replace(second=0, microsecond=0) + timedelta(minutes=1)
    accepted = {f"{m.astimezone(ZoneInfo('Asia/Kolkata')):%H:%M}." for m in (reset_at, ceil)}
    assert overdue["message"].startswith("Waiting for X's rate limit until ")
    assert any(overdue["message"].endswith(a) for a in accepted), (overdue["message"], accepted)
