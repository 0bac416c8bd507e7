"""Who is calling: a person with an access token, or a third-party client with an API key."""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from fastapi import Request
from sqlalchemy import select, update

from t21.admin.errors import AccountDisabled
from t21.auth.models import ApiKey
from t21.auth.repository import ApiKeyRepository
from t21.auth.scopes import ALL_SCOPES, Scope
from t21.auth.tokens import decode_access_token_with_iat, ensure_not_revoked
from t21.config import Settings
from t21.errors import Forbidden, Unauthorized
from t21.kit.clock import utcnow
from t21.kit.routing import get_session
from t21.users.models import User
from t21.users.repository import UserRepository

API_KEY_PREFIX = "t21_"
# Writing last_used_at on every call would turn reads into writes; a minute's precision is enough.
LAST_USED_PRECISION = timedelta(minutes=1)


@dataclass
class Principal:
    """Who is calling. `user` is the caller's row, loaded by `scoped()`; `caller()` skips that
    query for hot reads that only need the id (that the person exists is checked at most every
    KNOWN_USER_SECONDS)."""

    user_id: uuid.UUID
    scopes: frozenset[str]
    api_key: ApiKey | None = None
    loaded_user: User | None = None

    @property
    def user(self) -> User:
        if self.loaded_user is None:
            raise RuntimeError("this route resolved its caller without the user row: use scoped()")
        return self.loaded_user


def bearer_token(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Authentication required: send 'Authorization: Bearer <token>'")
    return token.strip()


async def _identify(request: Request, settings: Settings, *, load_user: bool) -> Principal:
    token = bearer_token(request)
    issued_at: float | None = None  # of an access token
    if token.startswith(API_KEY_PREFIX):
        session = await get_session(request)
        key = await ApiKeyRepository(session).get_active_by_secret(token)
        if key is None:
            raise Unauthorized("Invalid or revoked API key", code="invalid_api_key")
        now = utcnow()
        if key.last_used_at is None or now - key.last_used_at > LAST_USED_PRECISION:
            await session.execute(update(ApiKey).where(ApiKey.id == key.id).values(last_used_at=now))
        principal = Principal(user_id=key.user_id, scopes=frozenset(key.scopes), api_key=key)
    else:
        user_id, issued_at = decode_access_token_with_iat(token, settings)
        principal = Principal(user_id=user_id, scopes=ALL_SCOPES)
        if not load_user:
            await _ensure_user_exists(request, principal.user_id, issued_at)
    if load_user:
        user = await UserRepository(await get_session(request)).get(principal.user_id)
        if user is None:
            if principal.api_key is not None:
                raise Unauthorized("Invalid or revoked API key", code="invalid_api_key")
            raise Unauthorized("Invalid access token", code="invalid_token")
        if user.disabled_at is not None:
            raise AccountDisabled()
        if issued_at is not None:
            ensure_not_revoked(issued_at, user.sessions_revoked_at)
        principal.loaded_user = user
        _KNOWN_USERS[user.id] = (time.monotonic() + KNOWN_USER_SECONDS, user.sessions_revoked_at)
    request.state.user_id = str(principal.user_id)
    structlog.contextvars.bind_contextvars(user_id=str(principal.user_id))
    return principal


# People whose row was seen recently (and when their sessions were last ended), so that a hot read
# (caller()) costs no query: a signature must not outlive the account it names, nor a password
# reset, and this bounds how long it can (by this many seconds, on another API instance).
KNOWN_USER_SECONDS = 30.0
_KNOWN_USERS: dict[uuid.UUID, tuple[float, datetime | None]] = {}
_KNOWN_USERS_MAX = 50_000


def forget_known_user(user_id: uuid.UUID) -> None:
    """This instance reads the person's row again on their next request (their sessions were just
    ended); other instances do within KNOWN_USER_SECONDS."""
    _KNOWN_USERS.pop(user_id, None)


async def _ensure_user_exists(request: Request, user_id: uuid.UUID, issued_at: float) -> None:
    now = time.monotonic()
    known = _KNOWN_USERS.get(user_id)
    if known is not None and known[0] > now:
        ensure_not_revoked(issued_at, known[1])
        return
    session = await get_session(request)
    row = (
        await session.execute(
            select(User.id, User.sessions_revoked_at, User.disabled_at).where(User.id == user_id)
        )
    ).first()
    if row is None:
        raise Unauthorized("Invalid access token", code="invalid_token")
    if row.disabled_at is not None:
        raise AccountDisabled()  # disabling also sets sessions_revoked_at: the cache stays correct
    ensure_not_revoked(issued_at, row.sessions_revoked_at)
    if len(_KNOWN_USERS) >= _KNOWN_USERS_MAX:
        _KNOWN_USERS.clear()
    _KNOWN_USERS[user_id] = (now + KNOWN_USER_SECONDS, row.sessions_revoked_at)


async def get_principal(request: Request) -> Principal:
    return await _identify(request, request.app.state.settings, load_user=True)


async def get_caller(request: Request) -> Principal:
    """The caller without their user row: for an access token, no database round trip once the
    person was seen in the last KNOWN_USER_SECONDS; an API key is always looked up (revocation
    takes effect at once)."""
    return await _identify(request, request.app.state.settings, load_user=False)


def _require_scope(principal: Principal, scope: Scope) -> Principal:
    if scope not in principal.scopes:
        if scope is Scope.session:
            raise Forbidden("API keys cannot do this; sign in instead", code="session_required")
        raise Forbidden(f"This API key lacks the '{scope.value}' scope", code="insufficient_scope")
    return principal


# Each is one flat dependency on purpose: FastAPI's cost per request grows with every nested one.


def scoped(scope: Scope) -> Callable[..., Awaitable[Principal]]:
    """Dependency: the caller with their user row, who must hold `scope`."""

    async def _require(request: Request) -> Principal:
        return _require_scope(await get_principal(request), scope)

    return _require


async def require_caller(request: Request, scope: Scope) -> Principal:
    """`caller(scope)` called from inside a handler: one FastAPI dependency fewer to resolve on
    the very hottest route (the brand list the web app asks for on every page)."""
    return _require_scope(await get_caller(request), scope)


def caller(scope: Scope) -> Callable[..., Awaitable[Principal]]:
    """Dependency: the caller (id and scopes only, `principal.user` unavailable), holding `scope`."""

    async def _require(request: Request) -> Principal:
        return _require_scope(await get_caller(request), scope)

    return _require
