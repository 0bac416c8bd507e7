"""The job queue's own SQL, in one place, and Procrastinate's public API where it has one.

T21 writes to Procrastinate's tables directly only where a statement must do more than defer a
job: here, queue the publish jobs of every target that came due in the same statement that
marks the targets as queued, so that no target is ever queued twice and none is left behind.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg.rows import class_row
from sqlalchemy.ext.asyncio import AsyncSession

from t21.jobs.app import app, raw_connection

PUBLISH_TASK = "t21.publish_social_post"
PUBLISH_QUEUE = "publish"


def account_lock(social_account_id: object) -> str:
    """One Procrastinate lock per social account: its posts go out one at a time, in the order
    they came due, so a network's per-user rate limit and a thread's order are respected."""
    return f"account:{social_account_id}"


async def cancel_job_in_transaction(session: AsyncSession, job_id: int) -> None:
    """Drop a job that has not started, inside the caller's transaction. A job already running
    is left alone: it re-reads its target under lock and finds it is no longer its turn."""
    await app.job_manager.cancel_job_by_id_async(
        job_id, abort=False, delete_job=True, connection=await raw_connection(session)
    )


# Targets that came due and have no job get one, oldest first, each under its account's lock.
# The jobs are inserted in the order the targets came due (ids follow the ORDER BY), which is
# the order Procrastinate runs a lock's jobs in. SKIP LOCKED: several workers run this at once,
# and a target an API request is moving right now is taken at the next poll, with its new time.
QUEUE_DUE_TARGETS = """
WITH due AS (
    SELECT id, social_account_id, scheduled_for
      FROM social_posts
     WHERE status = 'SCHEDULED' AND job_id IS NULL AND scheduled_for <= %(now)s
     ORDER BY scheduled_for, id
     LIMIT %(limit)s
       FOR UPDATE SKIP LOCKED
),
jobs AS (
    INSERT INTO procrastinate_jobs (queue_name, task_name, priority, lock, args)
    SELECT %(queue)s, %(task)s, 0, 'account:' || due.social_account_id::text,
           jsonb_build_object('social_post_id', due.id::text)
      FROM due
     ORDER BY due.scheduled_for, due.id
 RETURNING id, (args->>'social_post_id')::uuid AS target_id
),
queued AS (
    UPDATE social_posts s SET job_id = jobs.id, updated_at = now()
      FROM jobs WHERE s.id = jobs.target_id
 RETURNING s.id
)
SELECT (SELECT count(*) FROM queued) AS queued,
       (SELECT min(scheduled_for) FROM social_posts
         WHERE status = 'SCHEDULED' AND job_id IS NULL AND scheduled_for > %(now)s) AS next_due
"""


@dataclass
class DueQueued:
    """How many targets got their job, and when the next waiting target comes due (if any)."""

    queued: int
    next_due: datetime | None


async def queue_due_targets(conn: Any, *, now: datetime, limit: int) -> DueQueued:
    """Run QUEUE_DUE_TARGETS on an autocommit psycopg connection (one statement, one commit)."""
    async with conn.cursor(row_factory=class_row(DueQueued)) as cur:
        await cur.execute(
            QUEUE_DUE_TARGETS, {"now": now, "limit": limit, "queue": PUBLISH_QUEUE, "task": PUBLISH_TASK}
        )
        row = await cur.fetchone()
    if row is None:  # an aggregate SELECT always returns its one row
        raise RuntimeError("QUEUE_DUE_TARGETS returned no row")
    return row
