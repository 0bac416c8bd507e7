"""PostgreSQL LISTEN on a dedicated connection, reconnecting forever: the one loop behind the
live hub, its Redis relay and the hot cache."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import Any

import psycopg
import structlog

from t21.kit.backoff import Backoff

log = structlog.get_logger(__name__)

# A silent half-open connection would wait forever on notifies(); check it this often.
HEALTH_CHECK_SECONDS = 30.0


async def listen_forever(
    url: str,
    channel: str,
    deliver: Callable[[str], Awaitable[None] | None],
    *,
    application_name: str,
    on_state: Callable[[bool], None] | None = None,
    before_listen: Callable[[psycopg.AsyncConnection[Any]], Awaitable[None]] | None = None,
    errors: tuple[type[BaseException], ...] = (psycopg.Error, OSError),
    lost_event: str = "listener_lost",
    health_check_seconds: float = HEALTH_CHECK_SECONDS,
) -> None:
    """Hand every NOTIFY payload of `channel` to `deliver` until cancelled. `on_state(True)` once
    listening, `on_state(False)` when the connection is lost (what was notified meanwhile is
    missed: callers that cache must start over). `before_listen` runs on each new connection
    before LISTEN (the relay waits there for its advisory lock). A failure in `errors` is
    logged as `lost_event` and retried with backoff; anything else propagates."""
    backoff = Backoff()
    while True:
        try:
            async with await psycopg.AsyncConnection.connect(
                url, autocommit=True, application_name=application_name, connect_timeout=5
            ) as conn:
                backoff.reset()
                if before_listen is not None:
                    await before_listen(conn)
                await conn.execute(f"LISTEN {channel}")
                if on_state is not None:
                    on_state(True)
                while True:
                    async for note in conn.notifies(timeout=health_check_seconds):
                        delivered = deliver(note.payload)
                        if inspect.isawaitable(delivered):
                            await delivered
                    await conn.execute("SELECT 1")
        except errors as exc:
            log.warning(lost_event, channel=channel, error=type(exc).__name__)
        finally:
            if on_state is not None:
                on_state(False)
        await asyncio.sleep(backoff.next())
