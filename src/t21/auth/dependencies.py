"""Who is calling: a person with an access token, or a third-party client with an API key."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

import structlog
from fastapi import Depends, Request
from sqlalchemy import update

from t21.auth.models import ApiKey
from t21.auth.repository import ApiKeyRepository
from t21.auth.scopes import ALL_SCOPES, Scope
from t21.auth.tokens import decode_access_token
from t21.errors import Forbidden, Unauthorized
from t21.kit.clock import utcnow
from t21.kit.deps import SessionDep, SettingsDep
from t21.users.models import User
from t21.users.repository import UserRepository

API_KEY_PREFIX = "t21_"
# Writing last_used_at on every call would turn reads into writes; a minute's precision is enough.
LAST_USED_PRECISION = timedelta(minutes=1)


@dataclass
class Principal:
    user: User
    scopes: frozenset[str]
    api_key: ApiKey | None = None


def bearer_token(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Authentication required: send 'Authorization: Bearer <token>'")
    return token.strip()


async def get_principal(request: Request, session: SessionDep, settings: SettingsDep) -> Principal:
    token = bearer_token(request)
    if token.startswith(API_KEY_PREFIX):
        key = await ApiKeyRepository(session).get_active_by_secret(token)
        if key is None:
            raise Unauthorized("Invalid or revoked API key", code="invalid_api_key")
        now = utcnow()
        if key.last_used_at is None or now - key.last_used_at > LAST_USED_PRECISION:
            await session.execute(update(ApiKey).where(ApiKey.id == key.id).values(last_used_at=now))
        user = await UserRepository(session).get(key.user_id)
        if user is None:
            raise Unauthorized("Invalid or revoked API key", code="invalid_api_key")
        principal = Principal(user=user, scopes=frozenset(key.scopes), api_key=key)
    else:
        user_id = decode_access_token(token, settings)
        found = await UserRepository(session).get(user_id)
        if found is None:
            raise Unauthorized("Invalid access token", code="invalid_token")
        principal = Principal(user=found, scopes=ALL_SCOPES)
    request.state.user_id = str(principal.user.id)
    structlog.contextvars.bind_contextvars(user_id=str(principal.user.id))
    return principal


def scoped(scope: Scope) -> Callable[..., Awaitable[Principal]]:
    """Dependency: the caller, who must hold `scope`."""

    async def _require(principal: Principal = Depends(get_principal)) -> Principal:
        if scope not in principal.scopes:
            if scope is Scope.session:
                raise Forbidden("API keys cannot do this; sign in instead", code="session_required")
            raise Forbidden(f"This API key lacks the '{scope.value}' scope", code="insufficient_scope")
        return principal

    return _require
