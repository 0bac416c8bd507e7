"""Procrastinate tasks of the publishing engine."""

from __future__ import annotations

from datetime import timedelta

import procrastinate
from procrastinate.retry import BaseRetryStrategy, RetryDecision

from t21.jobs.app import app
from t21.jobs.context import resources
from t21.kit.backoff import jittered
from t21.kit.clock import utcnow, wall
from t21.publishing.outcome import RetryLater

# Unexpected errors (a database restart mid-job, a bug) retry a few times; the job is idempotent
# because every step re-reads the target under lock.
UNEXPECTED_ERROR_RETRIES = 6


class PublishRetryStrategy(BaseRetryStrategy):
    """RetryLater carries its own wait (a network's rate-limit reset, or backoff with jitter)."""

    def get_retry_decision(
        self, *, exception: BaseException, job: procrastinate.jobs.Job
    ) -> RetryDecision | None:
        if isinstance(exception, RetryLater):
            return RetryDecision(retry_at=wall(utcnow() + timedelta(seconds=exception.delay)))
        if job.attempts >= UNEXPECTED_ERROR_RETRIES:
            return None
        return RetryDecision(
            retry_at=wall(utcnow() + timedelta(seconds=jittered(job.attempts + 1, base=1.0, cap=60)))
        )


@app.task(name="t21.publish_social_post", queue="publish", pass_context=True, retry=PublishRetryStrategy())
async def publish_social_post(context: procrastinate.JobContext, social_post_id: str) -> None:
    from t21.publishing.drain import publish_social_post as run

    job = context.job
    await run(resources(), social_post_id, job.id if job else None, job.lock if job else None)
