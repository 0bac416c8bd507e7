"""Running the worker: `t21 worker` (its own process) or in-process beside the API (`t21 serve`)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from typing import Any

import httpx
import psycopg_pool
import structlog

from t21.config import Settings, get_settings
from t21.db.database import Database, resolve_database_url
from t21.db.urls import libpq_url
from t21.jobs.app import app as task_app
from t21.jobs.context import JobResources, set_resources

log = structlog.get_logger(__name__)

# Scheduled jobs are found by polling (LISTEN/NOTIFY only fires at insert time), so the polling
# interval bounds publish lag: half a second keeps "within 1 s of its scheduled time".
FETCH_POLLING_INTERVAL = 0.5
QUEUES = ["publish", "default", "email", "analytics"]


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def build_http_client() -> httpx.AsyncClient:
    return httpx.AsyncClient(
        timeout=httpx.Timeout(30.0, connect=5.0),
        limits=httpx.Limits(max_connections=200, max_keepalive_connections=50),
        follow_redirects=False,
    )


class Worker:
    """One Procrastinate worker with T21's resources installed."""

    def __init__(
        self,
        settings: Settings,
        *,
        database_url: str | None = None,
        concurrency: int | None = None,
        install_signal_handlers: bool = False,
        queues: list[str] | None = None,
    ) -> None:
        self.settings = settings
        self.url = database_url or resolve_database_url(settings)
        self.concurrency = concurrency or settings.worker_concurrency
        self.install_signal_handlers = install_signal_handlers
        self.queues = queues
        self._task: asyncio.Task[None] | None = None
        self._resources: JobResources | None = None

    def _pool(self) -> psycopg_pool.AsyncConnectionPool:
        return psycopg_pool.AsyncConnectionPool(
            libpq_url(self.url),
            kwargs={"application_name": "t21-worker"},
            min_size=2,
            max_size=max(4, self.concurrency // 2 + 2),
            open=False,
            # Hands out only live connections, so the worker rides out a PostgreSQL restart.
            check=psycopg_pool.AsyncConnectionPool.check_connection,
        )

    async def run(self) -> None:
        db = Database.connect(self.settings, self.url)
        self._resources = JobResources(settings=self.settings, db=db, http=build_http_client())
        set_resources(self._resources)
        # The module-level app itself is opened (on our pool) because its periodic tasks and
        # deferrers are bound to it; an App copy made with with_connector would not carry them.
        pool = self._pool()
        await pool.open(wait=True, timeout=30)
        try:
            async with task_app.open_async(pool=pool):
                log.info("worker_started", name=worker_name(), concurrency=self.concurrency)
                await task_app.run_worker_async(
                    queues=self.queues or QUEUES,
                    name=worker_name(),
                    concurrency=self.concurrency,
                    fetch_job_polling_interval=FETCH_POLLING_INTERVAL,
                    install_signal_handlers=self.install_signal_handlers,
                    shutdown_graceful_timeout=20,
                    update_heartbeat_interval=5,
                    stalled_worker_timeout=self.settings.worker_stalled_seconds,
                    delete_jobs="successful",
                    wait=True,
                )
        finally:
            await pool.close()
            # Procrastinate keeps a reference to an external pool after closing; drop it so the
            # app can be opened again in this process (tests, restarts of the in-process worker).
            task_app.connector._async_pool = None  # type: ignore[attr-defined]
            task_app.connector._pool_externally_set = False  # type: ignore[attr-defined]
            await self._resources.http.aclose()
            await db.dispose()
            set_resources(None)

    async def start(self, _app: Any = None) -> None:
        self._task = asyncio.create_task(self.run(), name="t21-worker")

    async def stop(self, _app: Any = None) -> None:
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._task
        self._task = None


def in_process_worker_lifecycle() -> Worker | None:
    settings = get_settings()
    if not settings.worker_in_process:
        return None
    return Worker(settings)
