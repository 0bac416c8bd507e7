"""Routers whose every request is one transaction, committed before the answer leaves."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.routing import APIRoute
from sqlalchemy.ext.asyncio import AsyncSession

from t21.errors import ERROR_RESPONSES, T21Error


class TransactionalRoute(APIRoute):
    """Gives the request one session, opened on first use (a request answered from memory never
    touches the pool); commits it when the handler answers < 400, rolls back otherwise.
    Committing here (not in a yield-dependency) means a failed commit becomes an error answer
    instead of a success the database never saw."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def run_in_transaction(request: Request) -> Response:
            request.state.session = None
            try:
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
            finally:
                session = request.state.session
                request.state.session = None
                if session is not None:
                    await session.close()

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
