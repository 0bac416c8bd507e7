"""Engines and sessions. One request or one job is one transaction; the caller that opened the
session commits (the route class or the job wrapper), never application code."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event, exc
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from t21.db.urls import sqlalchemy_url

# A connection back in the pool for longer than this is pinged before it is handed out again.
PING_AFTER_IDLE_SECONDS = 1.0
_RETURNED_AT = "t21_returned_at"


def create_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    engine = create_async_engine(
        sqlalchemy_url(url),
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_recycle=1800,
        # Statements' parameters (password hashes, emails, tokens) never reach error messages or logs.
        hide_parameters=True,
    )
    _ping_idle_connections(engine)
    return engine


def _ping_idle_connections(engine: AsyncEngine) -> None:
    """Reconnect by itself after a PostgreSQL restart, without paying a round trip per checkout.

    SQLAlchemy's pool_pre_ping pings on every checkout: under load that is one extra round trip
    per request (a third of a simple read's cost). A connection that was used a moment ago is alive
    or fails on its first statement; such a disconnect error makes SQLAlchemy invalidate the whole
    pool, so only requests already running at the moment of a restart see it. Connections that sat
    idle (where a restart or an idle timeout hides) are still pinged, as pre-ping would."""
    pool = engine.sync_engine.pool
    dialect = engine.sync_engine.dialect

    @event.listens_for(pool, "connect")
    def _fresh(dbapi_connection: Any, record: Any) -> None:
        record.info[_RETURNED_AT] = time.monotonic()

    @event.listens_for(pool, "checkin")
    def _returned(dbapi_connection: Any, record: Any) -> None:
        record.info[_RETURNED_AT] = time.monotonic()

    @event.listens_for(pool, "checkout")
    def _ping_if_idle(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        returned_at = record.info.get(_RETURNED_AT)
        if returned_at is not None and time.monotonic() - returned_at < PING_AFTER_IDLE_SECONDS:
            return
        try:
            alive = dialect.do_ping(dbapi_connection)
        except Exception as error:
            raise exc.DisconnectionError("connection lost while idle in the pool") from error
        if alive is False:
            raise exc.DisconnectionError("connection lost while idle in the pool")


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=True)


@asynccontextmanager
async def transaction(sessionmaker: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """A unit of work: commit when the block ends normally, roll back on any exception."""
    async with sessionmaker() as session:
        try:
            yield session
        except BaseException:
            await session.rollback()
            raise
        else:
            await session.commit()
