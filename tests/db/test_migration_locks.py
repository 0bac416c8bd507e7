"""Upgrading a large install does not stop it (issue #23): from the last released revision to the
head, over a million targets, while T21 keeps writing, no write waits on a migration's lock for
as long as its lock_timeout."""

from __future__ import annotations

import threading
import time

import psycopg
import pytest
from alembic import command

from t21.db.database import SchemaState, alembic_config, schema_state
from t21.db.scratch import scratch_database
from t21.db.urls import libpq_url

# The revision the last release shipped with: everything after it runs on a live, large database.
RELEASED = "0004"
TARGETS = 1_000_000  # 1,000 posts x 1,000 accounts
# What T21's own statements tolerate before they give up: a migration must never hold a lock
# they need for this long.
WRITER_LOCK_TIMEOUT = "300ms"

SEED = """
INSERT INTO users (id, email, password_hash, name) VALUES (gen_random_uuid(), 'big@example.com', 'x', 'Big');
INSERT INTO brands (id, user_id, name) SELECT gen_random_uuid(), id, 'Big brand' FROM users;
INSERT INTO social_accounts (id, brand_id, platform, platform_user_id, username)
     SELECT gen_random_uuid(), b.id, 'x', 'u' || g, 'user' || g FROM brands b, generate_series(1, 1000) g;
INSERT INTO posts (id, brand_id, content, status)
     SELECT gen_random_uuid(), b.id, 'post ' || g, CASE WHEN g % 10 = 0 THEN 'PUBLISHED' ELSE 'SCHEDULED' END
       FROM brands b, generate_series(1, 1000) g;
INSERT INTO social_posts (id, post_id, social_account_id, platform, status)
     SELECT gen_random_uuid(), p.id, a.id, 'x',
            CASE WHEN p.status = 'PUBLISHED' THEN 'PUBLISHED' ELSE 'SCHEDULED' END
       FROM posts p CROSS JOIN social_accounts a;
INSERT INTO email_messages (id, to_address, subject, template, html, text_body)
     SELECT gen_random_uuid(), 'big@example.com', 's', 't', 'h', 'b' FROM generate_series(1, 20000);
ANALYZE;
"""


@pytest.mark.slow
def test_upgrading_a_million_targets_never_blocks_writes(pg_server_url: str) -> None:
    with scratch_database(pg_server_url, "t21_locks") as url:
        config = alembic_config(url)
        command.upgrade(config, RELEASED)
        with psycopg.connect(libpq_url(url), autocommit=True) as conn:
            conn.execute(SEED)
            (count,) = conn.execute("SELECT count(*) FROM social_posts").fetchone() or (0,)
            assert count == TARGETS
            # One waiting target and one published target (the backfill of 0006 rewrites those).
            watched = conn.execute(
                "(SELECT id FROM social_posts WHERE status = 'SCHEDULED' LIMIT 1) UNION ALL "
                "(SELECT id FROM social_posts WHERE status = 'PUBLISHED' LIMIT 1)"
            ).fetchall()
            target_ids = [row[0] for row in watched]

        finished = threading.Event()
        refused: list[str] = []
        writes = 0

        def keep_writing() -> None:
            """T21's kinds of writes on the tables the migrations touch, each allowed to wait for
            a lock only WRITER_LOCK_TIMEOUT."""
            nonlocal writes
            with psycopg.connect(libpq_url(url), autocommit=True) as conn:
                conn.execute(f"SET lock_timeout = '{WRITER_LOCK_TIMEOUT}'")
                while not finished.is_set():
                    try:
                        for target_id in target_ids:
                            conn.execute(
                                "UPDATE social_posts SET updated_at = now() WHERE id = %s", (target_id,)
                            )
                        conn.execute(
                            "INSERT INTO posts (id, brand_id, content) "
                            "SELECT gen_random_uuid(), brand_id, 'new' FROM posts LIMIT 1"
                        )
                        conn.execute(
                            "UPDATE posts SET updated_at = now() WHERE id = (SELECT id FROM posts LIMIT 1)"
                        )
                        conn.execute(
                            "INSERT INTO email_messages (id, to_address, subject, template, html, text_body) "
                            "VALUES (gen_random_uuid(), 'w@example.com', 's', 't', 'h', 'b')"
                        )
                        writes += 1
                    except psycopg.errors.LockNotAvailable as exc:
                        refused.append(str(exc).splitlines()[0])
                    time.sleep(0.02)

        writer = threading.Thread(target=keep_writing)
        writer.start()
        try:
            time.sleep(0.5)
            command.upgrade(config, "head")
        finally:
            finished.set()
            writer.join(timeout=60)
        assert schema_state(url).state == SchemaState.CURRENT
        assert writes > 0
        assert refused == [], (
            f"writes waited over {WRITER_LOCK_TIMEOUT} for a migration's lock: {refused[:3]}"
        )
        with psycopg.connect(libpq_url(url)) as conn:
            # The backfill of 0006 reached every finished target.
            (left,) = conn.execute(
                "SELECT count(*) FROM social_posts WHERE status = 'PUBLISHED' AND notified_status IS NULL"
            ).fetchone() or (0,)
            assert left == 0
