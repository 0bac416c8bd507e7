"""Account jobs: building a data export (account/export.py); removing a deleted account's files
(account/deletion.py)."""

from __future__ import annotations

import uuid

from t21.account.export import build_export, delete_account_files_now
from t21.db.session import transaction
from t21.jobs.app import app
from t21.jobs.context import JobResources, resources


async def data_export_job(res: JobResources, user_id: str, export_id: str) -> str | None:
    async with transaction(res.db.sessionmaker) as session:
        return await build_export(session, res.settings, uuid.UUID(user_id), uuid.UUID(export_id))


@app.task(name="t21.build_data_export", queue="default")
async def build_data_export(user_id: str, export_id: str) -> None:
    await data_export_job(resources(), user_id, export_id)


async def delete_files_job(res: JobResources, user_id: str, keys: list[str]) -> int:
    """The stored files of a deleted account: its brands' media, and its data exports."""
    return await delete_account_files_now(res.settings, uuid.UUID(user_id), keys)


@app.task(name="t21.delete_account_files", queue="default")
async def delete_account_files(user_id: str, keys: list[str]) -> None:
    await delete_files_job(resources(), user_id, keys)
