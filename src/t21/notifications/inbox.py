"""Rules of the in-app inbox and of who may open a live socket."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import jwt
from sqlalchemy.ext.asyncio import AsyncSession

from t21.auth.dependencies import API_KEY_PREFIX
from t21.auth.repository import ApiKeyRepository
from t21.auth.scopes import Scope
from t21.auth.sessions import ensure_session_open
from t21.auth.tokens import decode_access_token_with_iat, ensure_not_revoked
from t21.config import Settings
from t21.errors import Forbidden, NotFound, Unauthorized
from t21.kit.clock import utcnow
from t21.kit.pagination import decode_cursor, encode_cursor
from t21.notifications.live import publish_live_event
from t21.notifications.repository import NotificationRepository
from t21.notifications.schemas import NotificationList, NotificationOut, ReadAllOut
from t21.users.repository import UserRepository


class InboxService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.repo = NotificationRepository(session)

    async def page(
        self, user_id: uuid.UUID, *, unread_only: bool, cursor: str | None, limit: int
    ) -> NotificationList:
        after = decode_cursor(cursor, (datetime, uuid.UUID)) if cursor else None
        rows = await self.repo.page(user_id, unread_only=unread_only, after=after, limit=limit + 1)
        next_cursor = None
        if len(rows) > limit:
            rows = rows[:limit]
            next_cursor = encode_cursor(rows[-1].created_at, rows[-1].id)
        return NotificationList(
            data=[NotificationOut.model_validate(r) for r in rows],
            next_cursor=next_cursor,
            unread_count=await self.repo.unread_count(user_id),
        )

    async def mark_read(self, user_id: uuid.UUID, notification_id: uuid.UUID) -> NotificationOut:
        # Filtered by owner in the query: someone else's notification is simply not found.
        note = await self.repo.get_for_user(user_id, notification_id)
        if note is None:
            raise NotFound("Notification not found", code="notification_not_found")
        was_unread = note.read_at is None
        await self.repo.mark_read(note, utcnow())
        if was_unread:
            await self._announce(user_id, [str(note.id)])
        return NotificationOut.model_validate(note)

    async def mark_all_read(self, user_id: uuid.UUID) -> ReadAllOut:
        updated = await self.repo.mark_all_read(user_id, utcnow())
        if updated:
            await self._announce(user_id, None)
        return ReadAllOut(updated=updated, unread_count=0)

    async def _announce(self, user_id: uuid.UUID, ids: list[str] | None) -> None:
        # The person's other open tabs update their badge without polling.
        unread = await self.repo.unread_count(user_id)
        await publish_live_event(
            self.session,
            [user_id],
            "notifications.read",
            {"ids": ids, "all": ids is None, "unreadCount": unread},
        )


@dataclass(frozen=True)
class SocketIdentity:
    user_id: uuid.UUID
    # When the access token dies, so does the socket (unless re-authenticated); API keys: None.
    expires_at: datetime | None
    # The API key it was opened with: revoking the key closes the socket (api_key.revoked).
    api_key_id: uuid.UUID | None = None
    # The refresh-token family of the access token (its `sid` claim): revoking that session on
    # the sessions page closes the socket (session.revoked).
    session_id: uuid.UUID | None = None


async def authenticate_socket(session: AsyncSession, settings: Settings, token: str) -> SocketIdentity:
    """The same credentials as the REST API. Raises Unauthorized/Forbidden (their message becomes
    the close reason)."""
    token = token.strip()
    if not token:
        raise Unauthorized("Authentication required")
    if token.startswith(API_KEY_PREFIX):
        key = await ApiKeyRepository(session).get_active_by_secret(token)
        if key is None or await UserRepository(session).get(key.user_id) is None:
            raise Unauthorized("Invalid or revoked API key", code="invalid_api_key")
        if Scope.notifications_read.value not in key.scopes:
            raise Forbidden("This API key lacks the 'notifications:read' scope", code="insufficient_scope")
        return SocketIdentity(key.user_id, None, key.id)
    user_id, issued_at = decode_access_token_with_iat(token, settings)
    user = await UserRepository(session).get(user_id)
    if user is None:
        raise Unauthorized("Invalid access token", code="invalid_token")
    ensure_not_revoked(issued_at, user.sessions_revoked_at)
    # Signature and expiry were verified just above; this only reads the claim.
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    session_id = await ensure_session_open(session, user_id, claims)
    return SocketIdentity(user_id, datetime.fromtimestamp(int(claims["exp"]), UTC), session_id=session_id)
