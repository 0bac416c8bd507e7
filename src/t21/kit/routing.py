"""Routers whose every request is one transaction, committed before the answer leaves."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Coroutine
from typing import Any

import structlog
from fastapi import APIRouter, Request, Response
from fastapi.routing import APIRoute
from sqlalchemy.ext.asyncio import AsyncSession

from t21.db.locking import lost_concurrency_race, replay_allowed
from t21.errors import ERROR_RESPONSES, T21Error

log = structlog.get_logger(__name__)


# A request whose transaction lost a deadlock or a serialization race (db/locking.py) is run again
# this many times, after a short jittered pause (the other transaction is finishing meanwhile).
MAX_REPLAYS = 3
REPLAY_BASE_DELAY = 0.02


def replay_delay(replay: int) -> float:
    """Full jitter over 20, 40, 80 ms: requests that deadlocked together do not meet again."""
    return random.uniform(0, REPLAY_BASE_DELAY * 2 ** (replay - 1))


class TransactionalRoute(APIRoute):
    """Gives the request one session, opened on first use (a request answered from memory never
    touches the pool); commits it when the handler answers < 400, rolls back otherwise.
    Committing here (not in a yield-dependency) means a failed commit becomes an error answer
    instead of a success the database never saw.

    A transaction that lost a deadlock or a serialization race was rolled back whole by the
    database. It is run again here, where it is owned, rather than inside a service: a replay
    starts from a fresh session (no ORM object read before the failure survives into the new
    transaction, and no lock is held while it waits), and it repeats the whole unit of work,
    dependencies included, as if the request had arrived a moment later. Only a unit of work that
    declared itself replayable (db/locking.allow_replay: its effects all go through this
    session) is run again; a handler that called a network or committed half-way may not be, and
    answers 409 conflict_retry at once. The body is read once and kept by the Request object, so
    the replay parses the same bytes."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def run_once(request: Request) -> Response:
            try:
                response = await handler(request)
            except T21Error as exc:
                session = request.state.session
                if session is not None:
                    await (session.commit() if exc.commit_transaction else session.rollback())
                raise
            except BaseException:
                if request.state.session is not None:
                    await request.state.session.rollback()
                raise
            session = request.state.session
            if session is not None:
                if response.status_code < 400:
                    await session.commit()
                    from t21.cache import run_after_commit

                    await run_after_commit(session)
                else:
                    await session.rollback()
            return response

        async def run_in_transaction(request: Request) -> Response:
            replays = 0
            while True:
                request.state.session = None
                try:
                    return await run_once(request)
                except Exception as exc:
                    session = request.state.session
                    if not (
                        replays < MAX_REPLAYS
                        and lost_concurrency_race(exc)
                        and session is not None
                        and replay_allowed(session)
                    ):
                        raise
                finally:
                    session = request.state.session
                    request.state.session = None
                    if session is not None:
                        await session.close()
                replays += 1
                log.info("request_replayed", path=request.url.path, replay=replays)
                await asyncio.sleep(replay_delay(replays))

        return run_in_transaction


def make_router(**kwargs: Any) -> APIRouter:
    kwargs.setdefault("responses", ERROR_RESPONSES)
    return APIRouter(route_class=TransactionalRoute, **kwargs)


async def get_session(request: Request) -> AsyncSession:
    """The request's session, opened on first use and committed by TransactionalRoute."""
    # async: FastAPI runs sync dependencies in a thread pool, a hop every request would pay.
    try:
        session: AsyncSession | None = request.state.session
    except AttributeError:
        raise RuntimeError("a session is only available on routes made by make_router()") from None
    if session is None:
        session = request.app.state.db.sessionmaker()
        request.state.session = session
    return session


async def release_connection(session: AsyncSession) -> None:
    """End the request's read phase before a long wait on an external service (an AI provider):
    what was done so far (reads, an API key's last-used stamp) is committed and the connection goes
    back to the pool; the session begins a new transaction on its next use, and the route class
    commits that one as usual. Without this, every request waiting on the provider holds a pooled
    connection and a burst of them starves every other endpoint."""
    await session.commit()
