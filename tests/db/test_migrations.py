"""Upgrades that several instances can run at once, and code that will not run on a database a
newer T21 has migrated (issue #23, "Upgrades")."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg

from t21.db.database import MIGRATION_LOCK_KEY, SchemaState, migrate, schema_state
from t21.db.scratch import scratch_database
from t21.db.urls import libpq_url


def test_concurrent_migrations_wait_for_each_other_and_migrate_once(pg_server_url: str) -> None:
    with scratch_database(pg_server_url, "t21_migrate") as url:
        # Another instance holds the migration lock: this one must wait, not migrate beside it.
        with psycopg.connect(libpq_url(url), autocommit=True) as other:
            other.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK_KEY,))
            done = threading.Event()
            errors: list[BaseException] = []

            def run() -> None:
                try:
                    migrate(url)
                except BaseException as exc:  # reported below
                    errors.append(exc)
                finally:
                    done.set()

            threads = [threading.Thread(target=run) for _ in range(2)]
            for thread in threads:
                thread.start()
            time.sleep(1.0)
            assert not done.is_set(), "a migration ran while another instance held the lock"
            assert schema_state(url).state == SchemaState.BEHIND
            other.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK_KEY,))
        for thread in threads:
            thread.join(timeout=120)
        assert errors == []
        assert schema_state(url).state == SchemaState.CURRENT
        with psycopg.connect(libpq_url(url)) as conn:
            assert conn.execute("SELECT count(*) FROM alembic_version").fetchone() == (1,)


def test_api_and_worker_refuse_a_database_newer_than_their_code(database_url: str, tmp_path: Path) -> None:
    env = {**os.environ, "T21_DATABASE_URL": database_url, "T21_DATA_DIR": str(tmp_path)}
    with psycopg.connect(libpq_url(database_url), autocommit=True) as conn:
        (current,) = conn.execute("SELECT version_num FROM alembic_version").fetchone() or ("",)
        conn.execute("UPDATE alembic_version SET version_num = '9999_from_the_future'")
        try:
            assert schema_state(database_url).state == SchemaState.AHEAD
            for command in (["api", "--port", "1"], ["worker"], ["serve", "--port", "1"], ["migrate"]):
                run = subprocess.run(
                    [sys.executable, "-m", "t21.cli", *command],
                    capture_output=True,
                    text=True,
                    env=env,
                    timeout=120,
                )
                assert run.returncode == 3, (command, run.returncode, run.stderr[-2000:])
                assert "migrated by a newer T21" in run.stderr and "9999_from_the_future" in run.stderr
        finally:
            conn.execute("UPDATE alembic_version SET version_num = %s", (current,))
    assert schema_state(database_url).state == SchemaState.CURRENT
