"""The backup drill (issue #23): populate, back up while T21 runs, restore into an empty database
and data directory, and find everything identical: rows, media, tokens still decryptable, and the
scheduled post published on time, exactly once, by a worker on the restored database."""

from __future__ import annotations

import tarfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import select

from t21.db.database import Database
from t21.db.scratch import scratch_database
from t21.db.urls import libpq_url
from t21.jobs.runner import Worker
from t21.ops.backup import BackupError, backup, read_manifest, restore
from t21.social_accounts.models import SocialAccount
from t21.social_accounts.tokens import read_tokens
from tests.conftest import make_settings
from tests.media.conftest import jpeg
from tests.publishing.conftest import connect_account, wait_for

# Compared row for row after the restore (Procrastinate's tables too: a due post's job survives).
TABLES = (
    "users",
    "brands",
    "social_accounts",
    "posts",
    "social_posts",
    "media_assets",
    "refresh_tokens",
    "procrastinate_jobs",
)


def _rows(url: str, table: str) -> list[tuple[object, ...]]:
    with psycopg.connect(libpq_url(url)) as conn:
        return [tuple(row) for row in conn.execute(f'SELECT * FROM "{table}" ORDER BY 1').fetchall()]


async def test_backup_then_restore_into_an_empty_install_loses_nothing(
    register, http, pub_app, fresh_networks, database_url: str, pg_server_url: str, tmp_path: Path
) -> None:
    settings = pub_app.state.settings
    alice = await register(on=http)
    brand = await alice.create_brand()
    await connect_account(http, alice, brand["id"], "x")
    uploaded = await alice.post(
        "/api/v1/media",
        data={"brandId": brand["id"]},
        files={"file": ("photo.jpg", jpeg(320, 240), "image/jpeg")},
    )
    assert uploaded.status_code == 201, uploaded.text
    due = datetime.now(UTC) + timedelta(seconds=6)
    scheduled = await alice.post(
        "/api/v1/posts",
        json={
            "brandId": brand["id"],
            "content": "Restored & on time",
            "scheduledFor": due.isoformat(),
            "platforms": ["x"],
        },
    )
    assert scheduled.status_code == 201, scheduled.text
    draft = await alice.post(
        "/api/v1/posts", json={"brandId": brand["id"], "content": "A draft", "platforms": ["x"]}
    )
    assert draft.status_code == 201, draft.text

    archive = tmp_path / "t21-backup.tar"
    manifest = backup(settings, database_url, archive)
    assert manifest.counts["posts"] == 2 and manifest.counts["social_accounts"] == 1
    assert read_manifest(archive) == manifest
    assert any(name.startswith("media/") for name in manifest.sha256)

    restored_dir = tmp_path / "restored"
    with scratch_database(pg_server_url, "t21_restore") as restored_url:
        restored_settings = make_settings(
            restored_url, restored_dir, sandbox_url=fresh_networks.url, platform_poll_interval=0.01
        )
        restore(restored_settings, restored_url, archive)

        for table in TABLES:
            assert _rows(restored_url, table) == _rows(database_url, table), f"{table} differs after restore"
        for name in manifest.sha256:
            if name.startswith("media/"):
                original = (settings.data_dir / name).read_bytes()
                assert (restored_dir / name).read_bytes() == original

        db = Database.connect(restored_settings, restored_url)
        try:
            async with db.sessionmaker() as session:
                account = (await session.execute(select(SocialAccount))).scalar_one()
                assert read_tokens(restored_settings, account).access_token  # still decryptable
        finally:
            await db.dispose()

        # Restoring over a database that is not empty is refused without --force.
        with pytest.raises(BackupError, match="not empty"):
            restore(restored_settings, restored_url, archive)

        # A worker on the restored install publishes the scheduled post at its time, once.
        worker = Worker(restored_settings, database_url=restored_url, concurrency=4)
        await worker.start()
        try:

            async def published() -> bool:
                with psycopg.connect(libpq_url(restored_url)) as conn:
                    row = conn.execute(
                        "SELECT status FROM posts WHERE id = %s", (scheduled.json()["id"],)
                    ).fetchone()
                return bool(row and row[0] == "PUBLISHED")

            await wait_for(published, timeout=30)
        finally:
            await worker.stop()
        time.sleep(0.3)
        sent = [
            r
            for r in fresh_networks.requests("x", "POST", r"/2/tweets")
            if r.json_body()["text"] == "Restored & on time"
        ]
        assert len(sent) == 1
        assert sent[0].at >= due.timestamp()


def test_a_damaged_archive_is_refused_before_anything_is_touched(
    pub_app, database_url: str, pg_server_url: str, tmp_path: Path
) -> None:
    settings = pub_app.state.settings
    archive = tmp_path / "good.tar"
    backup(settings, database_url, archive)
    damaged = tmp_path / "damaged.tar"
    with tarfile.open(archive) as source, tarfile.open(damaged, "w") as target:
        for member in source.getmembers():
            data = source.extractfile(member).read()  # type: ignore[union-attr]
            if member.name == "database.dump":
                data = data[:-1] + bytes([data[-1] ^ 0xFF])
            member.size = len(data)
            import io

            target.addfile(member, io.BytesIO(data))
    with scratch_database(pg_server_url, "t21_restore") as url:
        with pytest.raises(BackupError, match="checksum"):
            restore(make_settings(url, tmp_path / "restored"), url, damaged)
        with psycopg.connect(libpq_url(url)) as conn:
            assert conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone() == (
                0,
            )
