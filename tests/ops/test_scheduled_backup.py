"""Scheduled backups (T21_BACKUP_CRON): taken when the cron has fired since the newest archive,
pruned to T21_BACKUP_KEEP, and copied to S3/R2 when media live there (moto, a real S3 API)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pytest
from moto.server import ThreadedMotoServer
from pydantic import ValidationError

from t21.config import Settings
from t21.ops.tasks import backup_due, run_scheduled_backup
from tests.conftest import make_settings


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_backups_follow_the_cron_and_keep_the_newest(database_url: str, tmp_path: Path) -> None:
    settings = make_settings(database_url, tmp_path, backup_cron="0 3 * * *", backup_keep=2)
    day = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)
    assert backup_due(settings, day)  # none yet, and 03:00 has passed
    first = run_scheduled_backup(settings, day)
    assert first is not None and first.exists()
    # The archive records when it was taken (now, the wall clock): the cron fired before it.
    assert not backup_due(settings, day)
    assert run_scheduled_backup(settings, day + timedelta(hours=1)) is None
    taken = [first]
    for days in (1, 2, 3):
        # Each archive's created_at is the real time of the run, so move the schedule instead:
        # a cron firing every minute makes the next one due a minute after the last.
        moved = settings.model_copy(update={"backup_cron": "* * * * *"})
        later = datetime.now(UTC) + timedelta(minutes=days)
        path = run_scheduled_backup(moved, later)
        assert path is not None
        taken.append(path)
    kept = sorted(settings.backup_dir_path.glob("t21-backup-*.tar"))
    assert kept == sorted(taken)[-2:]


def test_no_cron_no_backup_and_a_bad_cron_is_refused(database_url: str, tmp_path: Path) -> None:
    settings = make_settings(database_url, tmp_path)
    assert run_scheduled_backup(settings, datetime.now(UTC)) is None
    with pytest.raises(ValidationError, match="cron"):
        Settings(backup_cron="every day at three")


def test_a_scheduled_backup_is_copied_to_s3(database_url: str, tmp_path: Path) -> None:
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        url = f"http://127.0.0.1:{port}"
        s3 = boto3.client(
            "s3", endpoint_url=url, region_name="us-east-1", aws_access_key_id="t", aws_secret_access_key="t"
        )
        s3.create_bucket(Bucket="t21-backups")
        settings = make_settings(
            database_url,
            tmp_path,
            backup_cron="* * * * *",
            s3_bucket="t21-backups",
            s3_endpoint_url=url,
            s3_region="us-east-1",
            s3_access_key_id="t",
            s3_secret_access_key="t",
        )
        path = run_scheduled_backup(settings, datetime.now(UTC) + timedelta(minutes=1))
        assert path is not None
        keys = [item["Key"] for item in s3.list_objects_v2(Bucket="t21-backups").get("Contents", [])]
        assert keys == [f"backups/{path.name}"]
        body = s3.get_object(Bucket="t21-backups", Key=keys[0])["Body"].read()
        assert body == path.read_bytes()
    finally:
        server.stop()
