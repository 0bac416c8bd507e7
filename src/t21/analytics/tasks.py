"""Procrastinate tasks of analytics: a picker every minute, one collection job per account.

The work is in analytics.collection (plain async functions tests call directly); these wrappers
only add scheduling, locks and retries."""

from __future__ import annotations

import uuid
from datetime import datetime

import procrastinate
import structlog
from procrastinate.exceptions import AlreadyEnqueued

from t21.analytics.collection import collect_account, due_account_ids
from t21.db.session import transaction
from t21.jobs.app import app, defer_in_transaction
from t21.jobs.context import JobResources, resources

log = structlog.get_logger(__name__)


def account_lock(account_id: uuid.UUID | str) -> str:
    return f"analytics:{account_id}"


# A job that crashes (database restart, a bug) is retried a few times; reads are idempotent
# (same-day snapshots are upserted, rollup increments are computed from what is stored).
@app.task(
    name="t21.analytics.collect_account",
    queue="analytics",
    retry=procrastinate.RetryStrategy(max_attempts=3, exponential_wait=30),
)
async def collect_account_metrics(account_id: str) -> None:
    await collect_account(resources(), uuid.UUID(account_id))


async def enqueue_due_collections(res: JobResources, *, now: datetime | None = None) -> int:
    """Defer one collection job per account with due posts. `lock` keeps an account's jobs from
    running side by side; `queueing_lock` keeps at most one waiting, so a slow account is not
    queued again every minute."""
    deferred = 0
    account_ids = await due_account_ids(res, now=now)
    if not account_ids:
        return 0
    async with transaction(res.db.sessionmaker) as session:
        for account_id in account_ids:
            key = account_lock(account_id)
            try:
                # A savepoint each: one account already queued must not abort the others.
                async with session.begin_nested():
                    await defer_in_transaction(
                        session,
                        collect_account_metrics,
                        lock=key,
                        queueing_lock=key,
                        account_id=str(account_id),
                    )
                deferred += 1
            except AlreadyEnqueued:
                continue
    if deferred:
        log.info("metrics_collections_queued", accounts=deferred)
    return deferred


@app.periodic(cron="* * * * *", periodic_id="analytics-pick")
@app.task(
    name="t21.analytics.pick_due", queue="analytics", queueing_lock="analytics-pick", lock="analytics-pick"
)
async def pick_due_collections(timestamp: int) -> None:
    await enqueue_due_collections(resources())
