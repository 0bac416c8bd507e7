"""Process-wide resources for jobs: set once when a worker (or `t21 serve`) starts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import psycopg
import psycopg_pool

from t21.config import Settings
from t21.db.database import Database
from t21.notifications.live import LiveEventBatch


@dataclass
class JobResources:
    settings: Settings
    db: Database
    http: httpx.AsyncClient
    extras: dict[str, Any] = field(default_factory=dict)
    # Autocommit psycopg connections for the publishing engine's hot path (set by the worker;
    # without it the engine opens a connection per statement group, slower but the same).
    pool: psycopg_pool.AsyncConnectionPool[Any] | None = None
    # Live events of the publishing hot path, sent after commit in batches (set by the worker;
    # without it each is sent right after its own commit).
    live: LiveEventBatch | None = None


@asynccontextmanager
async def job_connection(res: JobResources) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
    """An autocommit psycopg connection for a job's plain-SQL statements: the worker's pool, else
    (a bare JobResources, as tests build) a connection of its own."""
    if res.pool is not None:
        async with res.pool.connection() as conn:
            yield conn
        return
    from t21.db.urls import libpq_url

    conn = await psycopg.AsyncConnection.connect(libpq_url(res.db.url), autocommit=True)
    try:
        yield conn
    finally:
        await conn.close()


_resources: JobResources | None = None


def set_resources(resources: JobResources | None) -> None:
    global _resources
    _resources = resources


def resources() -> JobResources:
    if _resources is None:
        raise RuntimeError("job resources are not set: jobs run inside `t21 worker` or `t21 serve`")
    return _resources
