"""The engine's hot path (publishing/drain.py): one account's due posts drained by the job that
holds the account's lock, never two in flight, in schedule order; a drained post that must wait
keeps its place; the author's emails are sent by one coalesced job, each email once."""

from __future__ import annotations

import itertools
from datetime import timedelta

from sqlalchemy import text
from tests.publishing.conftest import connect_account, wait_for, wait_for_post_status

from t21.emulators.base import Fault
from t21.kit import clock


async def _posts_due_together(alice, brand, count: int, *, prefix: str) -> list[str]:
    """`count` posts of the account due a millisecond apart, ten minutes ahead; once all are
    stored, the clock is moved to when the last one is due (the worker's queuer reads it)."""
    at = clock.utcnow() + timedelta(minutes=10)
    ids = []
    for i in range(count):
        created = await alice.post(
            "/api/v1/posts",
            json={
                "brandId": brand["id"],
                "content": f"{prefix} #{i}",
                "scheduledFor": (at + timedelta(milliseconds=i)).isoformat(),
                "platforms": ["x"],
            },
        )
        assert created.status_code == 201, created.text
        ids.append(created.json()["id"])
    clock.advance_to(at + timedelta(milliseconds=count))
    return ids


async def test_one_accounts_due_posts_go_out_one_at_a_time_in_order(
    register, http, worker, fresh_networks, db
) -> None:
    alice = await register(on=http)
    brand = await alice.create_brand()
    await connect_account(http, alice, brand["id"], "x")
    # Every tweet takes 0.2 s: two publishes of the account in flight would overlap.
    fresh_networks.emulator("x").add_fault(
        Fault(match="POST /2/tweets", kind="latency", seconds=0.2, count=None)
    )
    ids = await _posts_due_together(alice, brand, 5, prefix="Drained")
    for post_id in ids:
        await wait_for_post_status(alice, post_id, {"PUBLISHED"}, timeout=30)
    calls = fresh_networks.requests("x", "POST", r"/2/tweets")
    assert [c.json_body()["text"] for c in calls] == [f"Drained #{i}" for i in range(5)]
    for before, after in itertools.pairwise(calls):
        assert after.at - before.at >= 0.19, (before.at, after.at)
    async with db.engine.connect() as conn:
        attempts = (await conn.execute(text("SELECT outcome, worker FROM publish_attempts"))).all()
        jobs = (
            await conn.execute(
                text("SELECT count(*) FROM procrastinate_jobs WHERE task_name = 't21.publish_social_post'")
            )
        ).scalar_one()
        live = (
            await conn.execute(text("SELECT count(*) FROM social_posts WHERE job_id IS NOT NULL"))
        ).scalar_one()
        spans = (
            await conn.execute(
                text("SELECT started_at, finished_at FROM publish_attempts ORDER BY started_at")
            )
        ).all()
    assert sorted(o for o, _ in attempts) == ["published"] * 5 and all(w for _, w in attempts)
    assert (jobs, live) == (0, 0)  # the drained posts' jobs are gone, none left dangling
    # Each claim is recorded after the previous outcome, and the drain sends a post's claim in
    # the same transaction as the previous post's outcome (snapshot.NextClaim): same instant.
    assert all(after[0] >= before[1] for before, after in itertools.pairwise(spans))
    assert any(after[0] == before[1] for before, after in itertools.pairwise(spans)), spans


async def test_a_drained_post_that_is_rate_limited_keeps_its_place(
    register, http, worker, fresh_networks
) -> None:
    alice = await register(on=http)
    brand = await alice.create_brand()
    await connect_account(http, alice, brand["id"], "x")
    emulator = fresh_networks.emulator("x")
    # The first tweet goes through (after 0.2 s, so the others are due and drained by its job);
    # the second is refused with a reset one second later.
    emulator.add_fault(Fault(match="POST /2/tweets", kind="latency", seconds=0.2, count=1))
    emulator.add_fault(Fault(match="POST /2/tweets", kind="rate_limit", count=1, reset_in=1.0))
    ids = await _posts_due_together(alice, brand, 3, prefix="Limited")
    for post_id in ids:
        await wait_for_post_status(alice, post_id, {"PUBLISHED"}, timeout=30)
    calls = fresh_networks.requests("x", "POST", r"/2/tweets")
    texts = [c.json_body()["text"] for c in calls]
    # #1 refused, then retried before #2 (its place kept), and nothing before the reset.
    assert texts == ["Limited #0", "Limited #1", "Limited #1", "Limited #2"], texts
    assert calls[2].at >= int(calls[1].at + 1.0) - 0.01
    assert len({t.text for t in emulator.tweets().values()}) == 3  # type: ignore[attr-defined]


async def test_posts_taken_over_by_a_job_whose_own_post_must_wait_wait_behind_it(
    register, http, worker, fresh_networks
) -> None:
    """The job takes the account's other due posts over before its own publish; when that one
    is rate limited they get their jobs back, and run only after it, in order."""
    alice = await register(on=http)
    brand = await alice.create_brand()
    await connect_account(http, alice, brand["id"], "x")
    emulator = fresh_networks.emulator("x")
    emulator.add_fault(Fault(match="POST /2/tweets", kind="rate_limit", count=1, reset_in=1.0))
    ids = await _posts_due_together(alice, brand, 3, prefix="Behind")
    for post_id in ids:
        await wait_for_post_status(alice, post_id, {"PUBLISHED"}, timeout=30)
    calls = fresh_networks.requests("x", "POST", r"/2/tweets")
    texts = [c.json_body()["text"] for c in calls]
    assert texts == ["Behind #0", "Behind #0", "Behind #1", "Behind #2"], texts
    assert calls[1].at >= int(calls[0].at + 1.0) - 0.01  # nothing of the account before the reset
    assert len({t.text for t in emulator.tweets().values()}) == 3  # type: ignore[attr-defined]


async def test_the_authors_emails_are_coalesced_and_each_sent_once(
    register, http, worker, fresh_networks, db
) -> None:
    alice = await register(on=http)
    brand = await alice.create_brand()
    await connect_account(http, alice, brand["id"], "x")
    ids = await _posts_due_together(alice, brand, 4, prefix="Mailed")
    for post_id in ids:
        await wait_for_post_status(alice, post_id, {"PUBLISHED"}, timeout=30)

    async def settled() -> list[tuple[str, int]] | None:
        async with db.engine.connect() as conn:
            rows = (
                await conn.execute(
                    text(
                        "SELECT status, attempts FROM email_messages "
                        "WHERE template = 'post_published' AND to_address = :to"
                    ),
                    {"to": alice.email},
                )
            ).all()
        done = [(s, a) for s, a in rows]
        return done if len(done) == 4 and all(s != "PENDING" for s, _ in done) else None

    emails = await wait_for(settled, timeout=20)
    assert emails == [("STORED", 1)] * 4
    async with db.engine.connect() as conn:
        per_email_jobs = (
            await conn.execute(
                text("SELECT count(*) FROM procrastinate_jobs WHERE task_name = 't21.send_email'")
            )
        ).scalar_one()
        notes = (
            await conn.execute(text("SELECT count(*) FROM notifications WHERE kind = 'post.published'"))
        ).scalar_one()
    assert per_email_jobs == 0 and notes == 4


async def test_the_email_sweep_leaves_a_coalesced_send_alone(db, database_url, tmp_path) -> None:
    import uuid

    import httpx
    from tests.conftest import make_settings

    from t21.jobs.context import JobResources
    from t21.kit.clock import utcnow
    from t21.notifications import tasks

    email_id = uuid.uuid4()
    sql, params = tasks.coalesced_send_job("ada@example.com", utcnow())
    async with db.engine.begin() as conn:
        raw = await conn.get_raw_connection()
        pg = raw.driver_connection
        await pg.execute(
            "INSERT INTO email_messages (id, to_address, subject, template, html, text_body, created_at) "
            "VALUES (%s, 'ada@example.com', 's', 'welcome', 'h', 't', now() - interval '10 minutes')",
            (email_id,),
        )
        await pg.execute(sql, params)
        await pg.execute(sql, params)  # a second defer while one waits is a no-op (queueing lock)
    settings = make_settings(database_url, tmp_path)
    async with httpx.AsyncClient() as client:
        res = JobResources(settings=settings, db=db, http=client)
        assert await tasks.resend_stranded_emails(res) == 0  # the coalesced send will take it
        async with db.engine.begin() as conn:
            jobs = (
                await conn.execute(
                    text("SELECT count(*) FROM procrastinate_jobs WHERE task_name = 't21.send_emails_to'")
                )
            ).scalar_one()
            assert jobs == 1
            await conn.execute(text("DELETE FROM procrastinate_jobs"))
        assert await tasks.resend_stranded_emails(res) == 1  # its send is gone: the sweep steps in
        assert await tasks.deliver_coalesced(res, "ada@example.com") == 0  # owned by its own job now
