"""Writing and moving publish jobs, always inside the caller's transaction."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from t21.jobs.app import defer_in_transaction
from t21.posts.models import SocialPost


def account_lock(social_account_id: object) -> str:
    """One lock per social account: its posts go out one at a time, in schedule order, so a
    network's per-user rate limit and thread ordering are respected."""
    return f"account:{social_account_id}"


async def schedule_target(
    session: AsyncSession, target: SocialPost, at: datetime, *, priority: int | None = None
) -> int:
    """`priority` above the default (0) puts the job at the head of its account's lock, ahead of
    jobs written before it: Procrastinate runs a lock's jobs by priority, then id."""
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
        await session.execute(
            text("SELECT procrastinate_cancel_job_v1(:id, false, true)"), {"id": target.job_id}
        )
        target.job_id = None
