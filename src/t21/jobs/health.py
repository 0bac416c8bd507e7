"""Worker liveness for /readyz: a silent dead worker must be visible, and so must workers that
heart-beat but publish nothing (stuck, or looking at the wrong queue)."""

from __future__ import annotations

from fastapi import FastAPI, Request
from sqlalchemy import text

from t21.health import register_readiness_check
from t21.kit.clock import utcnow
from t21.publishing.overdue import UNTAKEN_LIMIT, oldest_untaken_due

# Workers heart-beat every 5 s; three missed beats and we call them gone.
HEARTBEAT_STALE_SECONDS = 20


async def worker_heartbeat_age(request: Request) -> float | None:
    async with request.app.state.db.engine.connect() as conn:
        age = (
            await conn.execute(
                text("SELECT EXTRACT(EPOCH FROM now() - max(last_heartbeat)) FROM procrastinate_workers")
            )
        ).scalar_one_or_none()
    return float(age) if age is not None else None


async def _worker_check(request: Request) -> tuple[bool, str]:
    try:
        age = await worker_heartbeat_age(request)
    except Exception as exc:
        return False, f"cannot read worker heartbeats: {type(exc).__name__}"
    if age is None:
        return False, "no worker has ever started: run `t21 worker` (or `t21 serve`)"
    if age > HEARTBEAT_STALE_SECONDS:
        return False, f"no worker heartbeat for {age:.0f}s: scheduled posts are not being published"
    return True, f"last heartbeat {age:.1f}s ago"


async def _publishing_check(request: Request) -> tuple[bool, str]:
    """Fails when due work has waited UNTAKEN_LIMIT and no worker took it (publishing/overdue.py
    says what counts); nothing due, or everything due being worked on, is fine."""
    now = utcnow()
    try:
        # The engine's pool, as the other checks: it fails at once when the database is down.
        async with request.app.state.db.engine.connect() as conn:
            raw = await conn.get_raw_connection()
            oldest = await oldest_untaken_due(raw.driver_connection, now)
    except Exception as exc:
        return False, f"cannot read due posts: {type(exc).__name__}"
    if oldest is None:
        return True, "no due post has waited for a worker"
    waited = (now - oldest).total_seconds()
    limit = UNTAKEN_LIMIT.total_seconds() / 60
    return False, (
        f"no worker has taken due posts for {limit:.0f} minutes (the oldest was due {waited / 60:.0f} "
        "minutes ago): scheduled posts are not going out; check that `t21 worker` runs and is not stuck"
    )


def install(app: FastAPI) -> None:
    register_readiness_check("worker", _worker_check)
    register_readiness_check("publishing", _publishing_check)
