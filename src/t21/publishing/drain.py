"""The publish job's entry: one account's due posts, published one after another by the job
that holds the account's lock.

The job of an account's publish holds that account's Procrastinate lock (only one job per lock
can be `doing`: procrastinate_jobs_lock_idx_v1 is a unique index). While it holds it, it takes
over the account's due jobs in the order Procrastinate's fetch would run them (take_due: the run
of due publish jobs at the head of the lock, by priority then id, up to the first that is not
due or not takeable): their rows are deleted and their targets' job_id becomes this job's, in
one statement, and it publishes them one after another (attempt.py). One account still never has
two publishes in flight (everything runs under the one lock), its posts keep their order, and a
spike costs one Procrastinate fetch per account instead of one per post. A post it cannot finish
gets its own job back (_give_back / _requeue); if the worker dies, the sweep (sweep.py)
re-enqueues the due posts whose job (this one) is gone. While it drains, each post's claim is
sent with the previous post's outcome in one transaction (snapshot.NextClaim).
"""

from __future__ import annotations

import contextlib
import time
import uuid
from datetime import timedelta

from psycopg.rows import dict_row

from t21.db.session import transaction
from t21.jobs.context import JobResources, job_connection
from t21.kit.clock import utcnow
from t21.posts.models import SocialPost
from t21.publishing.attempt import claim_fast, publish_claimed, publish_slow, this_worker
from t21.publishing.outcome import RetryLater
from t21.publishing.queries import TAKE_DUE
from t21.publishing.scheduling import defer_publish_job, schedule_target
from t21.publishing.snapshot import TERMINAL, Fallback, NextClaim, Snapshot

# How many of its account's due posts one job may publish after its own,
# and for how long, before it lets Procrastinate hand the account's next job out again.
DRAIN_MAX_POSTS = 500


DRAIN_MAX_SECONDS = 60.0


async def publish_social_post(
    res: JobResources, social_post_id: str, job_id: int | None, lock: str | None = None
) -> None:
    """Publish the job's target, then, still holding the account's lock, the account's other due
    posts (see above: one account never has two publishes in flight).

    Those are taken over before the job's own publish: their queued jobs then leave Procrastinate
    at once instead of after a network round trip, and every fetch in a spike would otherwise
    walk past them (its lock check visits each queued job of a busy account; measured: ~14 ms a
    fetch, 14 % of the database's time in a 10,000-post spike). Should the own publish have to
    wait (RetryLater), they get their jobs back behind it: Procrastinate runs none of a lock's
    jobs while an earlier one waits, whatever its time."""
    deadline = time.monotonic() + DRAIN_MAX_SECONDS
    taken: list[uuid.UUID] = []
    if job_id is not None and lock is not None:
        taken = await take_due(res, account_lock=lock, job_id=job_id, limit=DRAIN_MAX_POSTS)
    try:
        claimed = await _publish_one(res, uuid.UUID(social_post_id), job_id)
    except BaseException:
        if taken and job_id is not None:
            with contextlib.suppress(Exception):
                await _give_back(res, taken, job_id)
        raise
    if job_id is None:
        return
    published = await _publish_in_turn(res, taken, job_id, deadline)
    if published is not None and claimed is not None and lock is not None:
        await _drain(res, lock, job_id, deadline, published)


async def _drain(res: JobResources, lock: str, job_id: int, deadline: float, published: int) -> None:
    """This job holds the account's Procrastinate lock (procrastinate_jobs_lock_idx_v1: one
    `doing` job per lock): it takes over the account's jobs that came due meanwhile
    (take_due) and publishes their posts one after another, so the account still never
    has two publishes in flight and its posts go out in Procrastinate's order."""
    while published < DRAIN_MAX_POSTS and time.monotonic() < deadline:
        taken = await take_due(res, account_lock=lock, job_id=job_id, limit=DRAIN_MAX_POSTS - published)
        if not taken:
            return
        done = await _publish_in_turn(res, taken, job_id, deadline)
        if done is None:
            return
        published += done


async def _publish_in_turn(
    res: JobResources, taken: list[uuid.UUID], job_id: int, deadline: float
) -> int | None:
    """Publish taken posts in order. How many, or None when the drain must end (out of time,
    shutting down, or a rate limit): whatever it did not publish has its own job again."""
    ahead: NextClaim | None = None  # this post's claim, if sent with the last outcome
    for index, target_id in enumerate(taken):
        try:
            claimed_ahead = ahead if ahead is not None and ahead.done else None
            if claimed_ahead is None and _out_of_turn(res, deadline):
                # Out of time, or the worker is shutting down (it waits for running jobs only so
                # long): the rest get their jobs back rather than wait for the sweep.
                await _give_back(res, taken[index:], job_id)
                return None
            ahead = None
            if index + 1 < len(taken) and not _out_of_turn(res, deadline):
                ahead = NextClaim(taken[index + 1], job_id, this_worker())
            await _publish_one(res, target_id, job_id, claimed_ahead=claimed_ahead, then=ahead)
        except RetryLater as exc:
            # The post keeps its place ahead of the account's others (a rate limit is the
            # account's), and the rest wait behind it; the drain ends.
            await _requeue(res, target_id, job_id, exc.delay)
            await _give_back(res, taken[index + 1 :], job_id)
            return None
        except BaseException:
            # Best effort: the sweep re-enqueues any due post left without a live job.
            with contextlib.suppress(Exception):
                await _give_back(res, taken[index + 1 :], job_id)
            raise
    return len(taken)


def _out_of_turn(res: JobResources, deadline: float) -> bool:
    """The drain must stop: out of time, or the worker is shutting down."""
    return time.monotonic() > deadline or bool(res.extras.get("stopping"))


async def _publish_one(
    res: JobResources,
    target_id: uuid.UUID,
    job_id: int | None,
    *,
    claimed_ahead: NextClaim | None = None,
    then: NextClaim | None = None,
) -> Snapshot | None:
    """Publish one target: through the one-statement claim when it applies (or the claim that
    was sent with the previous post's outcome, `claimed_ahead`), else the ORM path
    (reconciliation, a disconnected account, not due). `then`: the next post's claim, to send
    with this one's outcome. The fast claim, when it was made."""
    if claimed_ahead is not None:
        if claimed_ahead.fallback:
            await publish_slow(res, target_id, job_id)
            return None
        claimed = claimed_ahead.claimed
    else:
        try:
            claimed = await claim_fast(
                res, job_id=job_id, now=utcnow(), worker=this_worker(), target_id=target_id
            )
        except Fallback:
            await publish_slow(res, target_id, job_id)
            return None
    if claimed is not None:
        await publish_claimed(res, claimed, then=then)
    return claimed


async def take_due(res: JobResources, *, account_lock: str, job_id: int, limit: int) -> list[uuid.UUID]:
    """The longest run of due publish jobs at the head of `account_lock` (Procrastinate's order:
    priority, then id; the first job that is not due, not a publish or whose target is not
    waiting ends the run, exactly as it would block the lock), at most `limit`: their job rows
    are deleted and their targets become this job's (job_id), in one statement. The caller, which
    holds the lock, publishes them in the order returned."""
    async with job_connection(res) as conn, conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(TAKE_DUE, {"lock": account_lock, "job": job_id, "limit": limit})
        return [row["id"] for row in await cur.fetchall()]


async def _give_back(res: JobResources, target_ids: list[uuid.UUID], job_id: int) -> None:
    """Taken posts this job will not publish get jobs of their own again, in the same order."""
    if not target_ids:
        return
    async with transaction(res.db.sessionmaker) as session:
        for target_id in target_ids:
            target = await session.get(SocialPost, target_id, with_for_update=True)
            if target is None or target.status in TERMINAL or target.job_id != job_id:
                continue
            await schedule_target(session, target, utcnow())


async def _requeue(res: JobResources, target_id: uuid.UUID, job_id: int, delay: float) -> None:
    async with transaction(res.db.sessionmaker) as session:
        target = await session.get(SocialPost, target_id, with_for_update=True)
        if target is None or target.status in TERMINAL or target.job_id != job_id:
            return
        # Ahead of the account's other jobs, as the Procrastinate retry of its own job would
        # have been: the account's later posts wait behind it (a rate limit is the account's).
        await defer_publish_job(session, target, at=utcnow() + timedelta(seconds=delay), priority=1)
