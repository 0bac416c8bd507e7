"""Account jobs: building a data export (account/export.py)."""

from __future__ import annotations

import uuid

from t21.account.export import build_export
from t21.db.session import transaction
from t21.jobs.app import app
from t21.jobs.context import JobResources, resources


async def data_export_job(res: JobResources, user_id: str, export_id: str) -> str | None:
    async with transaction(res.db.sessionmaker) as session:
        return await build_export(session, res.settings, uuid.UUID(user_id), uuid.UUID(export_id))


@app.task(name="t21.build_data_export", queue="default")
async def build_data_export(user_id: str, export_id: str) -> None:
    await data_export_job(resources(), user_id, export_id)
