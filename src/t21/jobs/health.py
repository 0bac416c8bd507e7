"""Worker liveness for /readyz: a silent dead worker must be visible."""

from __future__ import annotations

from fastapi import FastAPI, Request
from sqlalchemy import text

from t21.health import register_readiness_check

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


def install(app: FastAPI) -> None:
    register_readiness_check("worker", _worker_check)
