"""Disabling a person ends everything they hold at once: refresh-token families are revoked,
access tokens issued before now are refused (users.sessions_revoked_at, as after a password
reset), and the auth dependency refuses a disabled person's access tokens and API keys (their
keys stay unrevoked, so re-enabling gives them back); live sockets close on every instance once
the change commits. Re-enabling lets them sign in again; their old sessions stay ended."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from t21.admin.repository import AdminRepository
from t21.admin.schemas import AdminUsage, AdminUserOut
from t21.auth.dependencies import forget_known_user
from t21.auth.models import ApiKey
from t21.auth.repository import RefreshTokenRepository
from t21.auth.verification import send_verification
from t21.config import Settings
from t21.errors import Conflict, NotFound
from t21.kit.clock import utcnow
from t21.kit.pagination import decode_cursor, encode_cursor
from t21.notifications.live import API_KEY_REVOKED, SESSIONS_REVOKED, publish_live_event
from t21.users.models import User
from t21.users.repository import UserRepository

log = structlog.get_logger(__name__)


def admin_user_out(row: Any) -> AdminUserOut:
    user: User = row[0]
    return AdminUserOut(
        id=user.id,
        email=user.email,
        name=user.name,
        email_verified=user.email_verified,
        is_admin=user.is_admin,
        disabled=user.disabled_at is not None,
        disabled_at=user.disabled_at,
        subscription_tier=user.subscription_tier,
        created_at=user.created_at,
        usage=AdminUsage(
            brands=row.brands,
            social_accounts=row.social_accounts,
            posts_this_month=row.posts_this_month,
            ai_credits_used=row.ai_credits_used,
            last_login_at=user.last_login_at,
        ),
    )


class AdminService:
    def __init__(self, session: AsyncSession, settings: Settings) -> None:
        self.session = session
        self.settings = settings
        self.repo = AdminRepository(session)
        self.users = UserRepository(session)

    async def list_users(
        self, search: str | None, cursor: str | None, limit: int
    ) -> tuple[list[AdminUserOut], str | None]:
        after: tuple[datetime, uuid.UUID] | None = None
        if cursor:
            created_at, last_id = decode_cursor(cursor, (datetime, uuid.UUID))
            after = (created_at, last_id)
        rows = await self.repo.list_users(search.strip() if search else None, after, limit + 1)
        next_cursor = None
        if len(rows) > limit:
            rows = rows[:limit]
            next_cursor = encode_cursor(rows[-1][0].created_at, rows[-1][0].id)
        return [admin_user_out(r) for r in rows], next_cursor

    async def user(self, user_id: uuid.UUID) -> AdminUserOut:
        row = await self.repo.user_with_usage(user_id)
        if row is None:
            raise NotFound("User not found", code="user_not_found")
        return admin_user_out(row)

    async def _get(self, user_id: uuid.UUID) -> User:
        user = await self.users.get(user_id)
        if user is None:
            raise NotFound("User not found", code="user_not_found")
        return user

    async def disable(self, admin: User, user_id: uuid.UUID) -> AdminUserOut:
        if user_id == admin.id:
            raise Conflict("You cannot disable your own account", code="cannot_disable_self")
        user = await self._get(user_id)
        if user.disabled_at is None:
            now = utcnow()
            user.disabled_at = now
            user.sessions_revoked_at = now  # access tokens issued before now: refused everywhere
            forget_known_user(user.id)
            await RefreshTokenRepository(self.session).revoke_all_for_user(user.id, now)
            # Sockets opened with an access token and those opened with one of the person's API
            # keys close on every instance once this commits.
            await publish_live_event(
                self.session, [user.id], SESSIONS_REVOKED, {"reason": "account_disabled"}
            )
            key_ids = await self.session.scalars(
                select(ApiKey.id).where(ApiKey.user_id == user.id, ApiKey.revoked_at.is_(None))
            )
            for key_id in key_ids:
                await publish_live_event(self.session, [user.id], API_KEY_REVOKED, {"apiKeyId": str(key_id)})
            await self.session.flush()
            log.info("user_disabled", user_id=str(user.id), by=str(admin.id))
        return await self.user(user.id)

    async def enable(self, admin: User, user_id: uuid.UUID) -> AdminUserOut:
        user = await self._get(user_id)
        if user.disabled_at is not None:
            user.disabled_at = None
            forget_known_user(user.id)
            await self.session.flush()
            log.info("user_enabled", user_id=str(user.id), by=str(admin.id))
        return await self.user(user.id)

    async def resend_verification(self, user_id: uuid.UUID) -> None:
        """A new link now (no cool-down: an admin asks on the person's behalf)."""
        user = await self._get(user_id)
        if user.email_verified_at is not None:
            raise Conflict("This email address is already confirmed", code="email_already_verified")
        await send_verification(self.session, self.settings, user)


async def set_admin(session: AsyncSession, email: str, *, admin: bool = True) -> User | None:
    """For the CLI (t21 make-admin)."""
    user = await UserRepository(session).get_by_email(email)
    if user is not None:
        user.is_admin = admin
    return user
