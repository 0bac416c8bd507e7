"""The sessions page (issue 17): each refresh-token family is one signed-in session, with the
device (User-Agent) and IP of its latest token and when it was last used (its latest refresh).
A person lists theirs, revokes one, or revokes every other one.

Access tokens carry their family as the `sid` claim, so the caller's own session is marked and a
revoked session's live sockets close at once, on every instance (a `session.revoked` live event;
a socket cannot re-authenticate with a token of a revoked family). The REST API keeps accepting
an access token already issued to a revoked session until it expires
(`access_token_ttl_seconds`, 15 minutes by default): checking the family on every request would
cost a query on the hottest routes. The session cannot be refreshed, so it ends then."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any

import jwt
from fastapi import Depends, Request, Response, status
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from t21.auth.dependencies import Principal, scoped
from t21.auth.models import RefreshToken
from t21.auth.repository import RefreshTokenRepository
from t21.auth.scopes import Scope
from t21.errors import BadRequest, ErrorResponse, NotFound, Unauthorized
from t21.kit.clock import utcnow
from t21.kit.deps import SessionDep
from t21.kit.routing import make_router
from t21.kit.schemas import ListResponse, Schema
from t21.notifications.live import SESSION_REVOKED, publish_live_event

USER_AGENT_MAX = 300


def trim_user_agent(user_agent: str | None) -> str | None:
    """Whitespace collapsed, at most 300 characters; None when empty."""
    return " ".join((user_agent or "").split())[:USER_AGENT_MAX] or None


def client_ip(request: Request) -> str | None:
    """The peer's address as the server sees it (behind a proxy, uvicorn's --proxy-headers and
    --forwarded-allow-ips make it the client's)."""
    return request.client.host if request.client else None


_BROWSERS = (
    ("Edg/", "Edge"),
    ("OPR/", "Opera"),
    ("Firefox/", "Firefox"),
    ("Chrome/", "Chrome"),
    ("Chromium/", "Chromium"),
    ("Safari/", "Safari"),
)
_SYSTEMS = (
    ("Android", "Android"),
    ("iPhone", "iOS"),
    ("iPad", "iPadOS"),
    ("Windows", "Windows"),
    ("CrOS", "ChromeOS"),
    ("Mac OS X", "macOS"),
    ("Macintosh", "macOS"),
    ("Linux", "Linux"),
)
_PRODUCT = re.compile(r"^([A-Za-z][\w.\-]{0,40})")


def describe_device(user_agent: str | None) -> str:
    """A short human label ("Firefox on Linux") for a User-Agent; the raw value is listed too."""
    if not user_agent:
        return "Unknown device"
    browser = next((name for marker, name in _BROWSERS if marker in user_agent), None)
    system = next((name for marker, name in _SYSTEMS if marker in user_agent), None)
    if browser and system:
        return f"{browser} on {system}"
    if browser or system:
        return browser or system or ""
    product = _PRODUCT.match(user_agent)
    return product.group(1) if product else "Unknown device"


def _sid(claims: dict[str, Any]) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(claims["sid"])) if claims.get("sid") else None
    except ValueError:
        return None


def current_session_id(request: Request) -> uuid.UUID | None:
    """The family of the caller's access token (verified already by the route's principal)."""
    _, _, token = request.headers.get("authorization", "").partition(" ")
    try:
        claims = jwt.decode(token.strip(), options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    return _sid(claims)


def _open(now: datetime) -> Any:
    """The live token of an open family: not rotated, not revoked, not expired (each open family
    has exactly one)."""
    return (
        RefreshToken.rotated_at.is_(None),
        RefreshToken.revoked_at.is_(None),
        RefreshToken.expires_at > now,
    )


class SessionRevoked(Unauthorized):
    code = "session_revoked"
    message = "This session was signed out; sign in again"


async def ensure_session_open(
    session: AsyncSession, user_id: uuid.UUID, claims: dict[str, Any]
) -> uuid.UUID | None:
    """For a live socket: the access token's session, refused if it was revoked (or signed out).
    Tokens issued before sessions were recorded in the token carry none and pass."""
    family_id = _sid(claims)
    if family_id is None:
        return None
    found = await session.scalar(
        select(RefreshToken.id)
        .where(RefreshToken.family_id == family_id, RefreshToken.user_id == user_id, *_open(utcnow()))
        .limit(1)
    )
    if found is None:
        raise SessionRevoked()
    return family_id


class SessionOut(Schema):
    id: uuid.UUID  # the refresh-token family
    device: str
    user_agent: str | None
    ip_address: str | None
    signed_in_at: datetime
    last_used_at: datetime
    expires_at: datetime
    current: bool


class RevokedOut(Schema):
    revoked: int


class CurrentSessionUnknown(BadRequest):
    code = "current_session_unknown"
    message = "This access token predates session tracking; refresh it and try again"


class SessionService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def list_open(self, user_id: uuid.UUID, current: uuid.UUID | None) -> list[SessionOut]:
        first = (
            select(RefreshToken.family_id, func.min(RefreshToken.created_at).label("signed_in_at"))
            .where(RefreshToken.user_id == user_id)
            .group_by(RefreshToken.family_id)
            .subquery()
        )
        rows = await self.session.execute(
            select(RefreshToken, first.c.signed_in_at)
            .join(first, first.c.family_id == RefreshToken.family_id)
            .where(RefreshToken.user_id == user_id, *_open(utcnow()))
            .order_by(RefreshToken.created_at.desc())
        )
        return [
            SessionOut(
                id=token.family_id,
                device=describe_device(token.user_agent),
                user_agent=token.user_agent,
                ip_address=token.ip_address,
                signed_in_at=signed_in_at,
                last_used_at=token.created_at,
                expires_at=token.expires_at,
                current=token.family_id == current,
            )
            for token, signed_in_at in rows
        ]

    async def _open_families(self, user_id: uuid.UUID) -> list[uuid.UUID]:
        result = await self.session.scalars(
            select(RefreshToken.family_id).where(RefreshToken.user_id == user_id, *_open(utcnow()))
        )
        return list(result)

    async def revoke(self, user_id: uuid.UUID, family_id: uuid.UUID) -> None:
        """404 for a session that is not the caller's, or no longer open."""
        if family_id not in await self._open_families(user_id):
            raise NotFound("Session not found", code="session_not_found")
        await self._revoke(user_id, [family_id])

    async def revoke_others(self, user_id: uuid.UUID, current: uuid.UUID | None) -> int:
        if current is None:
            raise CurrentSessionUnknown()
        others = [f for f in await self._open_families(user_id) if f != current]
        await self._revoke(user_id, others)
        return len(others)

    async def _revoke(self, user_id: uuid.UUID, families: list[uuid.UUID]) -> None:
        if not families:
            return
        repository = RefreshTokenRepository(self.session)
        now = utcnow()
        for family_id in families:
            await repository.revoke_family(family_id, now)
        # Their live sockets close on every instance once this commits.
        await publish_live_event(
            self.session, [user_id], SESSION_REVOKED, {"sessionIds": [str(f) for f in families]}
        )


router = make_router(prefix="/me/sessions", tags=["sessions"])
_session_only = Depends(scoped(Scope.session))


@router.get("", response_model=ListResponse[SessionOut])
async def list_sessions(
    request: Request, session: SessionDep, principal: Principal = _session_only
) -> ListResponse[SessionOut]:
    """The caller's signed-in sessions (open refresh-token families), the latest used first;
    `current` marks the one this request comes from."""
    found = await SessionService(session).list_open(principal.user_id, current_session_id(request))
    return ListResponse[SessionOut](data=found)


@router.delete(
    "/{session_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={404: {"model": ErrorResponse, "description": "Not one of the caller's open sessions"}},
)
async def revoke_session(
    session_id: uuid.UUID, session: SessionDep, principal: Principal = _session_only
) -> Response:
    """Signs that session out: its refresh token stops working and its live sockets close.
    An access token it already holds works until it expires (at most 15 minutes)."""
    await SessionService(session).revoke(principal.user_id, session_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/revoke-others",
    response_model=RevokedOut,
    responses={400: {"model": ErrorResponse, "description": "current_session_unknown"}},
)
async def revoke_other_sessions(
    request: Request, session: SessionDep, principal: Principal = _session_only
) -> RevokedOut:
    """Signs out every session but the caller's."""
    count = await SessionService(session).revoke_others(principal.user_id, current_session_id(request))
    return RevokedOut(revoked=count)
