"""When a target gets its publish job: only once it is due.

Posts of one social account go out one at a time (a network's per-user rate limit, a thread's
order), which Procrastinate's `lock` gives us: one running job per account. But Procrastinate
also runs no job of a lock while an *earlier* job of that lock is still waiting, whatever that
job's time, so a job written at scheduling time for a post due tomorrow would hold back every
post of the account scheduled after it and due sooner (the head-of-line bug of issue #14).

So the lock guards only due work: a target scheduled for later is stored with no job, and the
worker's queuer (publishing/queueing.py) gives it one the moment it comes due, in the order the
targets came due. A target that is already due (publish now, a retry, one taken back from a
drain) gets its job at once, in the caller's transaction. Jobs that wait on purpose (a rate
limit's reset, a backoff) still hold their account back: that wait is the account's.

Why not the other mechanisms: changing Procrastinate's fetch function to ignore jobs not yet
due means owning a copy of its SQL across its upgrades; taking an account lock at run time means
a second locking scheme beside Procrastinate's, and jobs that wait for it occupy worker slots.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from t21.jobs.app import defer_in_transaction
from t21.jobs.queue import account_lock, cancel_job_in_transaction
from t21.kit.clock import utcnow
from t21.posts.models import SocialPost


async def schedule_target(session: AsyncSession, target: SocialPost, at: datetime) -> None:
    """The target is to go out at `at`: its job is written now if it is due, else by the queuer
    when it comes due. The caller has cancelled any earlier job of the target."""
    target.job_id = None
    if at <= utcnow():
        await defer_publish_job(session, target)


async def defer_publish_job(
    session: AsyncSession, target: SocialPost, *, at: datetime | None = None, priority: int | None = None
) -> int:
    """Write the target's publish job in the caller's transaction. `at` in the future makes the
    account wait until then (a rate limit's reset); `priority` above the default (0) puts the job
    ahead of the account's jobs written before it (Procrastinate runs a lock's jobs by priority,
    then id)."""
    from t21.publishing.tasks import publish_social_post

    job_id = await defer_in_transaction(
        session,
        publish_social_post,
        schedule_at=at,
        lock=account_lock(target.social_account_id),
        priority=priority,
        social_post_id=str(target.id),
    )
    target.job_id = job_id
    return job_id


async def cancel_target_job(session: AsyncSession, target: SocialPost) -> None:
    """Drop the target's job if it has not started. A job already running re-reads the row under
    lock and sees that it is no longer its turn (job_id changed or status moved)."""
    if target.job_id is not None:
        await cancel_job_in_transaction(session, target.job_id)
        target.job_id = None
