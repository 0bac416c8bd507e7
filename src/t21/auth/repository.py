from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from t21.auth.models import AccountToken, ApiKey, RefreshToken, TokenPurpose
from t21.kit.clock import utcnow
from t21.kit.crypto import sha256_hex
from t21.users.models import User


class RefreshTokenRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get_by_secret_for_update(self, secret: str) -> RefreshToken | None:
        # Row lock: two concurrent refreshes with the same token must not both rotate it.
        result = await self.session.execute(
            select(RefreshToken).where(RefreshToken.token_hash == sha256_hex(secret)).with_for_update()
        )
        return result.scalar_one_or_none()

    async def add(self, token: RefreshToken) -> None:
        self.session.add(token)
        await self.session.flush()

    async def revoke_family(self, family_id: uuid.UUID, at: datetime) -> None:
        await self.session.execute(
            update(RefreshToken)
            .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=at)
        )

    async def revoke_all_for_user(self, user_id: uuid.UUID, at: datetime) -> None:
        await self.session.execute(
            update(RefreshToken)
            .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=at)
        )


class ApiKeyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get_active_by_secret(self, secret: str) -> ApiKey | None:
        now = utcnow()
        result = await self.session.execute(
            select(ApiKey)
            # A disabled person's keys stop working (and work again when they are re-enabled).
            .join(User, User.id == ApiKey.user_id)
            .where(
                ApiKey.key_hash == sha256_hex(secret),
                ApiKey.revoked_at.is_(None),
                or_(ApiKey.expires_at.is_(None), ApiKey.expires_at > now),
                User.disabled_at.is_(None),
            )
        )
        return result.scalar_one_or_none()

    async def list_for_user(self, user_id: uuid.UUID) -> list[ApiKey]:
        result = await self.session.execute(
            select(ApiKey).where(ApiKey.user_id == user_id).order_by(ApiKey.created_at.desc())
        )
        return list(result.scalars())

    async def get_for_user(self, user_id: uuid.UUID, key_id: uuid.UUID) -> ApiKey | None:
        result = await self.session.execute(
            select(ApiKey).where(ApiKey.id == key_id, ApiKey.user_id == user_id)
        )
        return result.scalar_one_or_none()

    async def add(self, key: ApiKey) -> None:
        self.session.add(key)
        await self.session.flush()


class AccountTokenRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, token: AccountToken) -> None:
        self.session.add(token)
        await self.session.flush()

    async def get_by_secret_for_update(self, secret: str, purpose: TokenPurpose) -> AccountToken | None:
        # Row lock: two confirmations with the same link must not both spend it.
        result = await self.session.execute(
            select(AccountToken)
            .where(AccountToken.token_hash == sha256_hex(secret), AccountToken.purpose == purpose)
            .with_for_update()
        )
        return result.scalar_one_or_none()

    async def latest_created_at(self, user_id: uuid.UUID, purpose: TokenPurpose) -> datetime | None:
        result = await self.session.execute(
            select(func.max(AccountToken.created_at)).where(
                AccountToken.user_id == user_id, AccountToken.purpose == purpose
            )
        )
        return result.scalar_one_or_none()

    async def spend_all_for_user(self, user_id: uuid.UUID, purpose: TokenPurpose, at: datetime) -> None:
        """Every open token of this purpose becomes used (an older link dies with the new password)."""
        await self.session.execute(
            update(AccountToken)
            .where(
                AccountToken.user_id == user_id,
                AccountToken.purpose == purpose,
                AccountToken.used_at.is_(None),
            )
            .values(used_at=at)
        )
