"""/healthz: the process answers. /readyz: it can do its job (database reachable, schema
current; more checks are registered by features such as the worker heartbeat and Redis)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from t21.db.database import current_revision_is_head

router = APIRouter(include_in_schema=True, tags=["health"])

ReadinessCheck = Callable[[Request], Awaitable[tuple[bool, str]]]
_checks: dict[str, ReadinessCheck] = {}


def register_readiness_check(name: str, check: ReadinessCheck) -> None:
    _checks[name] = check


async def _database(request: Request) -> tuple[bool, str]:
    try:
        async with request.app.state.db.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception as exc:
        return False, f"unreachable: {type(exc).__name__}"
    state = request.app.state
    if not getattr(state, "schema_current", False):
        state.schema_current = await anyio.to_thread.run_sync(current_revision_is_head, state.db.url)
    return (True, "ok") if state.schema_current else (False, "migrations pending: run `t21 migrate`")


register_readiness_check("database", _database)


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "A dependency is down (see checks)"}})
async def readyz(request: Request) -> JSONResponse:
    results: dict[str, Any] = {}
    ready = True
    for name, check in _checks.items():
        ok, detail = await check(request)
        results[name] = {"ok": ok, "detail": detail}
        ready = ready and ok
    return JSONResponse(
        {"status": "ready" if ready else "not_ready", "checks": results}, status_code=200 if ready else 503
    )
