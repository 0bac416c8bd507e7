"""The safety net: nothing due is left without a live job.

Jobs are written with their posts, so in normal operation this finds nothing. It exists for the
cases no queue can rule out by itself: a job cancelled by hand, a worker killed while holding a
job (Procrastinate's stalled-job retry), a job that failed on a bug and gave up.
"""

from __future__ import annotations

from datetime import timedelta

import structlog
from sqlalchemy import and_, or_, select, text

from t21.db.session import transaction
from t21.enums import SocialPostStatus
from t21.jobs.app import app
from t21.jobs.context import JobResources
from t21.kit.clock import utcnow, wall
from t21.posts.models import SocialPost
from t21.publishing.scheduling import schedule_target

log = structlog.get_logger(__name__)

# A PUBLISHING target whose job is gone is reconciled after this long (its worker may be mid-call).
STUCK_AFTER = timedelta(minutes=2)
SWEEP_BATCH = 500


async def run_sweep(res: JobResources) -> int:
    await _retry_stalled_jobs(res)
    return await requeue_orphans(res)


async def requeue_orphans(res: JobResources) -> int:
    now = utcnow()
    no_live_job = text(
        "NOT EXISTS (SELECT 1 FROM procrastinate_jobs j WHERE j.id = social_posts.job_id "
        "AND j.status IN ('todo', 'doing'))"
    )
    async with transaction(res.db.sessionmaker) as session:
        rows = await session.execute(
            select(SocialPost)
            .where(
                or_(
                    and_(SocialPost.status == SocialPostStatus.SCHEDULED, SocialPost.scheduled_for <= now),
                    and_(
                        SocialPost.status == SocialPostStatus.PUBLISHING,
                        # updated_at is written by the database's now(): compare on its clock.
                        SocialPost.updated_at <= wall(now) - STUCK_AFTER,
                    ),
                ),
                or_(SocialPost.job_id.is_(None), no_live_job),
            )
            .order_by(SocialPost.scheduled_for)
            .limit(SWEEP_BATCH)
            .with_for_update(skip_locked=True)
        )
        orphans = list(rows.scalars())
        for target in orphans:
            await schedule_target(session, target, now)
    if orphans:
        log.warning("sweep_requeued", count=len(orphans))
    return len(orphans)


async def _retry_stalled_jobs(res: JobResources) -> None:
    """Jobs left 'doing' by a worker that stopped heart-beating (SIGKILL, lost machine) go back to
    'todo'; the engine reconciles whatever that worker may have sent."""
    manager = app.job_manager
    for job in await manager.get_stalled_jobs(seconds_since_heartbeat=res.settings.worker_stalled_seconds):
        await manager.retry_job(job)
        log.warning("stalled_job_retried", job_id=job.id, task=job.task_name)
