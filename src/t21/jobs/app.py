"""The job queue: Procrastinate on the same PostgreSQL as the data (DESIGN section 1).

Tasks are registered on one module-level App at import time. Deferring happens on the caller's
own database connection, so a job exists if and only if the transaction that needed it commits.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import procrastinate
from sqlalchemy.ext.asyncio import AsyncSession

from t21.kit.clock import wall

# Modules whose import registers tasks (each feature's tasks.py).
TASK_MODULES = [
    "t21.publishing.tasks",
    "t21.notifications.tasks",
    "t21.jobs.maintenance",
    "t21.social_accounts.tasks",
    "t21.analytics.tasks",
    "t21.ops.tasks",
    "t21.auth.tasks",
    "t21.account.tasks",
]

# An unopened connector is enough to build queries for deferring on an external connection;
# the worker opens its own pool (see runner.py).
app = procrastinate.App(connector=procrastinate.PsycopgConnector(), import_paths=TASK_MODULES)


async def raw_connection(session: AsyncSession) -> Any:
    """The psycopg connection under this session's transaction."""
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    return raw.driver_connection


async def defer_in_transaction(
    session: AsyncSession,
    task: procrastinate.tasks.Task[Any, Any, Any],
    *,
    schedule_at: datetime | None = None,
    lock: str | None = None,
    queueing_lock: str | None = None,
    priority: int | None = None,
    **kwargs: Any,
) -> int:
    """Insert the job inside the session's transaction and return its id."""
    options: dict[str, Any] = {"connection": await raw_connection(session)}
    if schedule_at is not None:
        # A business time (t21.kit.clock); Procrastinate compares it with the database's now().
        options["schedule_at"] = wall(schedule_at)
    if lock is not None:
        options["lock"] = lock
    if queueing_lock is not None:
        options["queueing_lock"] = queueing_lock
    if priority is not None:
        options["priority"] = priority
    job_id: int = await task.configure(**options).defer_async(**kwargs)
    return job_id
