"""Running the worker: `t21 worker` (its own process) or in-process beside the API (`t21 serve`)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import time
from typing import Any

import httpx
import procrastinate
import psycopg_pool
import structlog

from t21.config import Settings, get_settings
from t21.db.database import Database, resolve_database_url
from t21.db.urls import libpq_url
from t21.jobs.app import app as task_app
from t21.jobs.context import JobResources, set_resources
from t21.kit.http import http_client
from t21.notifications.live import LiveEventBatch
from t21.publishing.queueing import queue_due_targets_forever

log = structlog.get_logger(__name__)

# Scheduled jobs are found by polling (LISTEN/NOTIFY only fires at insert time), so the polling
# interval bounds publish lag. 0.2 s: publish lag p99 stays well under 1 s even when no other
# job's insert (its NOTIFY wakes the worker) happens to come by; an idle poll is one cheap query.
FETCH_POLLING_INTERVAL = 0.2
# Backoff between restarts after Procrastinate stopped by itself (seconds).
RESTART_DELAY_FIRST = 1.0
RESTART_DELAY_MAX = 30.0
QUEUES = ["publish", "default", "email", "analytics"]


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def build_http_client() -> httpx.AsyncClient:
    """The client every job calls the networks with (t21.kit.http: aiohttp's pool, errors mapped
    so that only a request that never left is a connect error). One publish per social account
    is in flight, so a few hundred connections cover any concurrency a worker runs."""
    return http_client(max_connections=256)


class Worker:
    """One Procrastinate worker with T21's resources installed."""

    def __init__(
        self,
        settings: Settings,
        *,
        database_url: str | None = None,
        concurrency: int | None = None,
        queues: list[str] | None = None,
    ) -> None:
        self.settings = settings
        self.url = database_url or resolve_database_url(settings)
        self.concurrency = concurrency or settings.worker_concurrency
        self.queues = queues
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._resources: JobResources | None = None

    def _pool(self) -> psycopg_pool.AsyncConnectionPool:
        return psycopg_pool.AsyncConnectionPool(
            libpq_url(self.url),
            kwargs={"application_name": "t21-worker"},
            min_size=2,
            # Fetches run one at a time and publishing statements have their own pool: a dozen
            # is plenty even at a concurrency of a hundred (max_connections is shared).
            max_size=max(4, min(self.concurrency // 2 + 2, 12)),
            open=False,
            # Hands out only live connections, so the worker rides out a PostgreSQL restart.
            check=psycopg_pool.AsyncConnectionPool.check_connection,
        )

    async def run(self) -> None:
        """Run until stop() is called. Procrastinate stops by itself when it loses its database
        connection (a PostgreSQL restart or failover); this loop starts it again, with backoff,
        so a worker never silently goes away."""
        db = Database.connect(self.settings, self.url)
        # The publishing engine's hot path runs plain SQL on autocommit connections of its own
        # (publishing/queries.py); Procrastinate's fetches keep their pool to themselves.
        # No check on checkout (a round trip per statement group): a connection that died with
        # a PostgreSQL restart fails its statement, the pool drops it and the job is retried.
        pool = psycopg_pool.AsyncConnectionPool(
            libpq_url(self.url),
            kwargs={"autocommit": True, "application_name": "t21-worker-jobs"},
            min_size=1,
            # Statements are short and no connection is held across a network call: a few
            # connections serve many concurrent publishes (PostgreSQL's max_connections is shared).
            max_size=max(4, min(self.concurrency // 2, 16)),
            open=False,
        )
        await pool.open(wait=False)
        live = LiveEventBatch(pool)
        live.start()
        self._resources = JobResources(
            settings=self.settings,
            db=db,
            http=build_http_client(),
            pool=pool,
            live=live,
        )
        set_resources(self._resources)
        # Scheduled targets get their publish job only when due (publishing/scheduling.py).
        queuer = asyncio.create_task(queue_due_targets_forever(self._resources), name="t21-due-queuer")
        delay = RESTART_DELAY_FIRST
        try:
            while not self._stopping:
                started = time.monotonic()
                try:
                    await self._run_once()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    log.warning("worker_crashed", error=f"{type(exc).__name__}: {exc}"[:300])
                if self._stopping:
                    break
                if time.monotonic() - started > RESTART_DELAY_MAX * 2:
                    delay = RESTART_DELAY_FIRST  # it ran fine for a while: this is a new incident
                log.warning("worker_restarting", in_seconds=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, RESTART_DELAY_MAX)
        finally:
            queuer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await queuer
            await self._resources.http.aclose()
            await live.close()
            await pool.close()
            await db.dispose()
            set_resources(None)

    async def _run_once(self) -> None:
        # The module-level app itself is opened (on our pool) because its periodic tasks and
        # deferrers are bound to it; an App copy made with with_connector would not carry them.
        pool = self._pool()
        try:
            await pool.open(wait=True, timeout=30)
            # A fresh connector for each run (App.replace_connector, Procrastinate's public API):
            # a connector opened on an external pool keeps that pool after closing (close_async
            # leaves external pools alone), so it could not be opened again on the next run's.
            # The app's own connector, never opened, is back once the run ends.
            with task_app.replace_connector(procrastinate.PsycopgConnector()):
                async with task_app.open_async(pool=pool):
                    log.info("worker_started", name=worker_name(), concurrency=self.concurrency)
                    await task_app.run_worker_async(
                        queues=self.queues or QUEUES,
                        name=worker_name(),
                        concurrency=self.concurrency,
                        fetch_job_polling_interval=FETCH_POLLING_INTERVAL,
                        # Signals are ours (see serve_forever): Procrastinate stopping by itself must
                        # be told apart from a requested stop.
                        install_signal_handlers=False,
                        shutdown_graceful_timeout=20,
                        update_heartbeat_interval=5,
                        stalled_worker_timeout=self.settings.worker_stalled_seconds,
                        delete_jobs="successful",
                        wait=True,
                    )
        finally:
            await pool.close()

    async def start(self, _app: Any = None) -> None:
        self._stopping = False
        self._task = asyncio.create_task(self.run(), name="t21-worker")

    async def stop(self, _app: Any = None) -> None:
        """Graceful: Procrastinate finishes running jobs (up to 20 s) when its task is cancelled."""
        self._stopping = True
        if self._resources is not None:
            # Long-running jobs (a publishing drain) look at this to finish early.
            self._resources.extras["stopping"] = True
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._task
        self._task = None

    async def serve_forever(self) -> None:
        """`t21 worker`: run until SIGINT or SIGTERM."""
        loop = asyncio.get_running_loop()
        stopped = asyncio.Event()

        def request_stop() -> None:
            log.info("worker_stop_requested")
            loop.create_task(self.stop()).add_done_callback(lambda _: stopped.set())

        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, request_stop)
        await self.start()
        if self._task is None:
            raise RuntimeError("the worker task did not start")
        waiting_for_stop = asyncio.ensure_future(stopped.wait())
        done, _ = await asyncio.wait([self._task, waiting_for_stop], return_when=asyncio.FIRST_COMPLETED)
        if self._task is not None and self._task in done:
            waiting_for_stop.cancel()
            self._task.result()  # run() only ends by itself on an error: let it surface
        else:
            await waiting_for_stop


def in_process_worker_lifecycle() -> Worker | None:
    settings = get_settings()
    if not settings.worker_in_process:
        return None
    return Worker(settings)
