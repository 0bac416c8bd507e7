"""The worker's queuer: every target that comes due gets its publish job within a poll.

scheduling.py says why a scheduled target has no job until it is due. Each worker process runs
this loop; the statement (jobs/queue.py) skips rows another worker holds, so several workers
never queue a target twice. It sleeps until the next target comes due, or at most POLL_SECONDS,
so a post scheduled a moment ago for a moment later is not missed either.
"""

from __future__ import annotations

import asyncio

import structlog

from t21.jobs.context import JobResources, job_connection
from t21.jobs.queue import queue_due_targets
from t21.kit.backoff import jittered
from t21.kit.clock import utcnow

log = structlog.get_logger(__name__)

# The longest a due target waits for its job (Procrastinate's own fetch poll is the same).
POLL_SECONDS = 0.2
# Targets queued per statement; a spike of due posts is taken in several statements back to back.
BATCH = 2000


async def queue_due_once(res: JobResources) -> float:
    """Queue every due target (in batches) and return how long to sleep before the next look."""
    while True:
        async with job_connection(res) as conn:
            result = await queue_due_targets(conn, now=utcnow(), limit=BATCH)
        if result.queued:
            log.info("due_targets_queued", count=result.queued)
        if result.queued < BATCH:
            break
    if result.next_due is None:
        return POLL_SECONDS
    return min(POLL_SECONDS, max(0.0, (result.next_due - utcnow()).total_seconds()))


async def queue_due_targets_forever(res: JobResources) -> None:
    """Until cancelled. A database outage is waited out with backoff, never ends the loop."""
    failures = 0
    while True:
        try:
            wait = await queue_due_once(res)
            failures = 0
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            failures += 1
            wait = jittered(failures, base=0.5, cap=10.0)
            log.warning("due_queuer_failed", error=f"{type(exc).__name__}: {exc}"[:300], retry_in=wait)
        await asyncio.sleep(wait)
