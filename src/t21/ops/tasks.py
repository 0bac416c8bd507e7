"""Scheduled backups: `T21_BACKUP_CRON` (a cron expression in UTC), keeping `T21_BACKUP_KEEP`
archives in `T21_BACKUP_DIR`, each also copied to S3/R2 under `backups/` when media live there.

Procrastinate's periodic tasks are fixed when the worker starts, so one task runs every minute
and decides from the setting whether a backup is due: due when the cron's last fire time is
later than the newest archive (a backup missed while no worker ran is taken at the next minute).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import structlog
from croniter import croniter

from t21.config import Settings
from t21.db.database import resolve_database_url
from t21.jobs.app import app
from t21.jobs.context import resources
from t21.ops.backup import backup, default_backup_path, latest_backup

log = structlog.get_logger(__name__)


def backup_due(settings: Settings, now: datetime) -> bool:
    if not settings.backup_cron:
        return False
    last_fire = croniter(settings.backup_cron, now).get_prev(datetime)
    found = latest_backup(settings)
    if found is None:
        return True
    return datetime.fromisoformat(found[1].created_at) < last_fire


def prune_backups(settings: Settings) -> list[Path]:
    """Delete all but the newest `backup_keep` archives; returns what was deleted."""
    archives = sorted(settings.backup_dir_path.glob("t21-backup-*.tar"), reverse=True)
    doomed = archives[settings.backup_keep :]
    for path in doomed:
        path.unlink(missing_ok=True)
    return doomed


def _upload(settings: Settings, path: Path) -> None:
    from t21.media.storage import _s3_client

    _s3_client(settings).upload_file(str(path), settings.s3_bucket, f"backups/{path.name}")


def run_scheduled_backup(settings: Settings, now: datetime) -> Path | None:
    """Take the backup if one is due (blocking: pg_dump and file copies)."""
    if not backup_due(settings, now):
        return None
    target = default_backup_path(settings, now)
    manifest = backup(settings, resolve_database_url(settings), target)
    if settings.s3_bucket:
        _upload(settings, target)
    pruned = prune_backups(settings)
    log.info("backup_taken", path=str(target), parts=len(manifest.sha256), pruned=len(pruned))
    return target


@app.periodic(cron="* * * * *", periodic_id="backup")
@app.task(name="t21.backup_if_due", queue="default", queueing_lock="backup")
async def backup_if_due(timestamp: int) -> None:
    settings = resources().settings
    if settings.backup_cron:
        await asyncio.to_thread(run_scheduled_backup, settings, datetime.now(UTC))
