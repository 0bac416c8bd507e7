"""Resolving the database (configured or embedded) and applying migrations."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Any

import psycopg
import psycopg_pool
from alembic.config import Config
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from t21.config import Settings
from t21.db.session import create_engine, create_sessionmaker

_embedded_url: str | None = None


def resolve_database_url(settings: Settings) -> str:
    """T21_DATABASE_URL when set; otherwise the embedded PostgreSQL under T21_DATA_DIR."""
    global _embedded_url
    if settings.database_url:
        return settings.database_url
    if _embedded_url is None:
        from t21.db.embedded import start_embedded_postgres

        _embedded_url = start_embedded_postgres(settings.data_dir)
    return _embedded_url


def migrations_dir() -> Path:
    return Path(str(resources.files("t21") / "migrations"))


def alembic_config(database_url: str) -> Config:

    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir()))
    cfg.attributes["database_url"] = database_url
    return cfg


# Any bigint, the same for every T21 process: migrations of one database run one at a time.
MIGRATION_LOCK_KEY = 0x7432_316D_6967  # "t21mig"
MIGRATION_LOCK_POLL_SECONDS = 0.5


def _try_lock(conn: Any) -> bool:
    row = conn.execute("SELECT pg_try_advisory_lock(%s)", (MIGRATION_LOCK_KEY,)).fetchone()
    return bool(row and row[0])


def migrate(database_url: str) -> None:
    """Apply every pending migration (ours, then Procrastinate's schema), holding a PostgreSQL
    advisory lock for the whole run, so that several instances starting at once migrate once:
    the others wait, then find nothing left to do."""
    import psycopg
    from alembic import command

    from t21.db.urls import libpq_url

    with psycopg.connect(libpq_url(database_url), autocommit=True, application_name="t21-migrate") as lock:
        # Polled, not waited for in one statement: a waiting statement is a running transaction,
        # and the holder's CREATE INDEX CONCURRENTLY waits for every running transaction of the
        # database, so the two would wait on each other until the lock timeout.
        while not _try_lock(lock):
            time.sleep(MIGRATION_LOCK_POLL_SECONDS)
        try:
            command.upgrade(alembic_config(database_url), "head")
        finally:
            lock.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK_KEY,))


class SchemaState(StrEnum):
    CURRENT = "current"
    BEHIND = "behind"  # migrations pending: `t21 migrate`
    AHEAD = "ahead"  # migrated by a newer T21 than this code


@dataclass(frozen=True)
class Schema:
    state: SchemaState
    database: tuple[str, ...]
    code: tuple[str, ...]


def schema_state(database_url: str) -> Schema:
    """Where the database's schema stands against this code's migrations. A revision this code
    does not know was written by a newer T21: running older code on it would misread its tables."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from sqlalchemy import create_engine as create_sync_engine
    from sqlalchemy import pool

    from t21.db.urls import sqlalchemy_url

    script = ScriptDirectory.from_config(alembic_config(database_url))
    engine = create_sync_engine(sqlalchemy_url(database_url), poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            heads = tuple(sorted(MigrationContext.configure(conn).get_current_heads()))
    finally:
        engine.dispose()
    code = tuple(sorted(script.get_heads()))
    known = {revision.revision for revision in script.walk_revisions()}
    if any(head not in known for head in heads):
        state = SchemaState.AHEAD
    elif set(heads) == set(code):
        state = SchemaState.CURRENT
    else:
        state = SchemaState.BEHIND
    return Schema(state, heads, code)


def current_revision_is_head(database_url: str) -> bool:
    return schema_state(database_url).state == SchemaState.CURRENT


@dataclass
class Database:
    url: str
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    # Read-only work: the replica when one is configured, else autocommit sessions on the primary
    # (a read needs no BEGIN/COMMIT round trips; a list and its details may come from two snapshots).
    read_sessionmaker: async_sessionmaker[AsyncSession]
    replica_engine: AsyncEngine | None = None
    read_url: str | None = None
    _pools: dict[str, psycopg_pool.AsyncConnectionPool] = field(default_factory=dict, init=False, repr=False)
    _pool_size: int = field(default=10, init=False, repr=False)
    _pools_lock: asyncio.Lock = field(default_factory=asyncio.Lock, init=False, repr=False)

    @classmethod
    def connect(cls, settings: Settings, url: str | None = None) -> Database:
        # Every mapped class must be known before the first query: foreign keys between features
        # resolve through the shared metadata (a worker imports fewer modules than the API).
        import t21.db.models  # noqa: F401

        url = url or resolve_database_url(settings)
        engine = create_engine(url, pool_size=settings.database_pool_size)
        sessionmaker = create_sessionmaker(engine)
        replica_engine = None
        if settings.database_replica_url:
            replica_engine = create_engine(
                settings.database_replica_url, pool_size=settings.database_pool_size
            )
            reads = create_sessionmaker(replica_engine)
        else:
            reads = create_sessionmaker(engine.execution_options(isolation_level="AUTOCOMMIT"))
        database = cls(
            url=url,
            engine=engine,
            sessionmaker=sessionmaker,
            read_sessionmaker=reads,
            replica_engine=replica_engine,
            read_url=settings.database_replica_url or url,
        )
        database._pool_size = settings.database_pool_size
        return database

    # Plain psycopg connections (autocommit) for the hottest statements: checking one out of
    # psycopg's pool costs a fraction of an SQLAlchemy session's checkout. A connection that broke
    # (a restart) is dropped by the pool when it comes back.

    def read_connection(self) -> AbstractAsyncContextManager[psycopg.AsyncConnection[Any]]:
        """On the read database (the replica when configured): list pages."""
        return self._connection("read", self.read_url or self.url)

    def primary_connection(self) -> AbstractAsyncContextManager[psycopg.AsyncConnection[Any]]:
        """On the primary, each statement its own transaction: one-statement writes (the AI
        charge) and reads that must see them."""
        return self._connection("primary", self.url)

    @asynccontextmanager
    async def _connection(self, name: str, url: str) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        pool = self._pools.get(name) or await self._open_pool(name, url)
        async with pool.connection() as conn:
            yield conn

    async def _open_pool(self, name: str, url: str) -> psycopg_pool.AsyncConnectionPool:
        async with self._pools_lock:
            pool = self._pools.get(name)
            if pool is None:
                from t21.db.urls import libpq_url

                pool = psycopg_pool.AsyncConnectionPool(
                    libpq_url(url),
                    min_size=1,
                    max_size=self._pool_size,
                    kwargs={"autocommit": True, "application_name": f"t21-{name}"},
                    open=False,
                )
                await pool.open(wait=False)
                self._pools[name] = pool
            return pool

    async def dispose(self) -> None:
        pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            await pool.close()
        await self.engine.dispose()
        if self.replica_engine is not None:
            await self.replica_engine.dispose()
