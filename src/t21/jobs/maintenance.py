"""Periodic housekeeping: the publish sweep, stalled-job recovery, monthly usage reset."""

from __future__ import annotations

from t21.jobs.app import app
from t21.jobs.context import resources


@app.periodic(cron="* * * * * */15", periodic_id="sweep")
@app.task(name="t21.sweep_due_posts", queue="default", queueing_lock="sweep")
async def sweep_due_posts(timestamp: int) -> None:
    """Re-enqueue due social posts that have no live job, and recover jobs of dead workers."""
    from t21.publishing.sweep import run_sweep

    await run_sweep(resources())


@app.periodic(cron="5 0 1 * *", periodic_id="usage-reset")
@app.task(name="t21.reset_monthly_usage", queue="default", queueing_lock="usage-reset")
async def reset_monthly_usage(timestamp: int) -> None:
    from t21.quotas.tasks import reset_usage_counters

    await reset_usage_counters(resources())
