"""Live events for open browser tabs. Written with pg_notify inside the business transaction, so
an event goes out only if the change it announces committed; every API instance LISTENs and
forwards to its own WebSocket clients (the hub lives in notifications/hub.py).

The publishing worker's hot path is the exception (`LiveEventBatch`): PostgreSQL serialises
every committing transaction that sent a NOTIFY (one lock, held through the commit's WAL flush,
keeps the queue in commit order), which made each publish's outcome wait behind the others' in
a spike (measured: four backends on average waiting on that lock). There the event is handed
over after its transaction committed, and many go out in one short transaction. Still never an
event for a change that did not commit; one that did may lose its event if the worker dies in
the few milliseconds between, which live events tolerate (they are hints to refresh; the REST API
is the source of truth)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Sequence
from typing import Any

import psycopg_pool
import structlog
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

log = structlog.get_logger(__name__)

LIVE_CHANNEL = "t21_live"
# Closes the sockets opened with that key (notifications/socket.py); others just see it.
API_KEY_REVOKED = "api_key.revoked"
# Closes every socket of the user opened with an access token (a password reset ended their
# sessions); sockets opened with an API key stay, as the key does.
SESSIONS_REVOKED = "user.sessions_revoked"
# Closes the sockets opened with an access token of one of these refresh-token families
# (`sessionIds`: a session revoked on the sessions page, auth/sessions.py).
SESSION_REVOKED = "session.revoked"
# How long a batch waits for company once its first event arrived: a spike's outcomes share a
# NOTIFY transaction, and an event still reaches the browser well within a frame or two.
BATCH_SECONDS = 0.01
# PostgreSQL refuses NOTIFY payloads of 8000 bytes or more; events carry ids and short fields.
MAX_PAYLOAD = 7900


def live_message(user_ids: Sequence[object], events: list[dict[str, Any]]) -> str | None:
    """One NOTIFY payload carrying one or more events for the same users (the hub forwards each
    event as its own WebSocket message). None when nobody is concerned."""
    if not user_ids:
        return None
    users = [str(u) for u in user_ids]
    message = json.dumps(
        {"users": users, "events": events} if len(events) > 1 else {"users": users, "event": events[0]},
        default=str,
        separators=(",", ":"),
    )
    if len(message.encode()) > MAX_PAYLOAD:
        short = [
            {
                "type": e["type"],
                "truncated": True,
                **{k: v for k, v in e.items() if k in ("postId", "status")},
            }
            for e in events
        ]
        message = json.dumps({"users": users, "events": short}, default=str, separators=(",", ":"))
    return message


async def publish_live_event(
    session: AsyncSession, user_ids: list[uuid.UUID], event_type: str, payload: dict[str, Any]
) -> None:
    message = live_message(user_ids, [{"type": event_type, **payload}])
    if message is not None:
        await session.execute(
            text("SELECT pg_notify(:channel, :message)"), {"channel": LIVE_CHANNEL, "message": message}
        )


# %b: the messages travel as a binary array (the text form escapes every quote of every JSON
# payload, in Python: ~8 % of a publishing worker's CPU in a spike).
NOTIFY_EACH = "SELECT pg_notify(%s, m) FROM unnest(%b::text[]) WITH ORDINALITY AS u(m, n) ORDER BY n"


class LiveEventBatch:
    """Live messages (`live_message` payloads) sent after their change committed, in the order
    given, many per NOTIFY transaction, on `pool` (autocommit connections)."""

    def __init__(self, pool: psycopg_pool.AsyncConnectionPool[Any]) -> None:
        self._pool = pool
        self._pending: list[str] = []
        self._arrived = asyncio.Event()
        self._closing = False
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="t21-live-events")

    def send(self, message: str) -> None:
        self._pending.append(message)
        self._arrived.set()

    async def _run(self) -> None:
        while True:
            await self._arrived.wait()
            if not self._closing:
                await asyncio.sleep(BATCH_SECONDS)
            self._arrived.clear()
            await self.flush()
            if self._closing and not self._pending:
                return

    async def flush(self) -> None:
        batch, self._pending = self._pending, []
        if not batch:
            return
        try:
            async with self._pool.connection() as conn:
                await conn.execute(NOTIFY_EACH, (LIVE_CHANNEL, batch))
        except Exception as exc:
            log.warning("live_events_dropped", count=len(batch), error=f"{type(exc).__name__}: {exc}"[:200])

    async def close(self) -> None:
        """Send what is waiting, then stop."""
        self._closing = True
        self._arrived.set()
        if self._task is not None:
            await self._task
            self._task = None
        await self.flush()
