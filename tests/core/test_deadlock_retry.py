"""A request that loses a deadlock is run again; when the replays are used up it answers 409
conflict_retry, never the 503 of a database outage (db/locking.py, kit/routing.py).

The deadlocks are real: a second connection plays the worker's claim, which locks a target and
then its post (the reverse of the API's post-then-targets order), against a PATCH of the post."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from t21.db.urls import libpq_url
from t21.kit import routing
from tests.conftest import assert_error


async def scheduled_post(register: Any, database_url: str) -> tuple[Any, dict[str, Any]]:
    """A post scheduled for tomorrow with one target, on an account written straight to the
    database (no network is involved in editing a post)."""
    alice = await register()
    brand = await alice.create_brand()
    async with await psycopg.AsyncConnection.connect(libpq_url(database_url), autocommit=True) as conn:
        await conn.execute(
            "INSERT INTO social_accounts (id, brand_id, platform, platform_user_id, status, "
            "access_token_encrypted) VALUES (gen_random_uuid(), %s, 'x', 'x-1', 'CONNECTED', 'unused')",
            (brand["id"],),
        )
    created = await alice.post(
        "/api/v1/posts",
        json={
            "brandId": brand["id"],
            "content": "Before",
            "scheduledFor": (datetime.now(UTC) + timedelta(days=1)).isoformat(),
            "platforms": ["x"],
        },
    )
    assert created.status_code == 201, created.text
    post = created.json()
    assert len(post["targets"]) == 1
    return alice, post


class ClaimStandIn:
    """A connection that locks like the worker's claim: the target's row, then its post."""

    def __init__(self, database_url: str, post: dict[str, Any]) -> None:
        self.url = libpq_url(database_url)
        self.post_id = post["id"]
        self.target_id = post["targets"][0]["id"]

    async def __aenter__(self) -> ClaimStandIn:
        self.conn = await psycopg.AsyncConnection.connect(self.url, autocommit=True)
        # The request, not this connection, must be the one the deadlock detector picks (the
        # setting needs a superuser, as the test server's is).
        await self.conn.execute("SET deadlock_timeout = '60s'")
        self.watch = await psycopg.AsyncConnection.connect(self.url, autocommit=True)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.conn.close()
        await self.watch.close()

    async def begin_and_lock_target(self) -> None:
        await self.conn.execute("BEGIN")
        await self.conn.execute("SELECT id FROM social_posts WHERE id = %s FOR UPDATE", (self.target_id,))

    async def request_waits_for_the_target(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            cur = await self.watch.execute(
                "SELECT query FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND pid <> %s",
                (self.conn.info.backend_pid,),
            )
            waiting = [row[0] for row in await cur.fetchall()]
            if waiting:
                assert all("social_posts" in q and "FOR UPDATE" in q for q in waiting), waiting
                return
            await asyncio.sleep(0.01)
        raise AssertionError("the request never waited for the target's lock")

    async def close_the_cycle(self) -> None:
        """Lock the post the request holds: a deadlock, which the request loses; this statement
        then goes through."""
        await self.conn.execute("UPDATE posts SET updated_at = now() WHERE id = %s", (self.post_id,))

    async def rollback(self) -> None:
        await self.conn.execute("ROLLBACK")


async def test_a_request_that_loses_a_deadlock_is_replayed_and_succeeds(
    register: Any, database_url: str
) -> None:
    alice, post = await scheduled_post(register, database_url)
    async with ClaimStandIn(database_url, post) as worker:
        await worker.begin_and_lock_target()
        edit = asyncio.create_task(alice.patch(f"/api/v1/posts/{post['id']}", json={"content": "After"}))
        await worker.request_waits_for_the_target()
        await worker.close_the_cycle()
        # The request's first run was rolled back by the deadlock detector (else the statement
        # above could not have locked the post); its replay waits for this transaction.
        assert not edit.done()
        await asyncio.sleep(0.2)
        await worker.rollback()
        response = await asyncio.wait_for(edit, 10)
    assert response.status_code == 200, response.text
    assert response.json()["content"] == "After"


async def test_a_request_that_keeps_losing_deadlocks_answers_409_not_503(
    register: Any, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(routing, "MAX_REPLAYS", 1)
    # Long enough for the stand-in to lock the target again before the replay starts.
    monkeypatch.setattr(routing, "replay_delay", lambda replay: 0.5)
    alice, post = await scheduled_post(register, database_url)
    async with ClaimStandIn(database_url, post) as worker:
        edit = None
        for _ in range(1 + routing.MAX_REPLAYS):
            await worker.begin_and_lock_target()
            if edit is None:
                edit = asyncio.create_task(
                    alice.patch(f"/api/v1/posts/{post['id']}", json={"content": "After"})
                )
            await worker.request_waits_for_the_target()
            await worker.close_the_cycle()
            await worker.rollback()
        assert edit is not None
        response = await asyncio.wait_for(edit, 10)
    body = assert_error(response, 409, "conflict_retry")
    assert "try again" in body["error"]
    assert response.headers["retry-after"] == "1"
    assert (await alice.get(f"/api/v1/posts/{post['id']}")).json()["content"] == "Before"
