"""Queries on social accounts and OAuth states. Tenancy goes through `visible_brand_ids`, so a
caller never reaches an account of a brand they cannot see."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from t21.brands.models import Brand
from t21.brands.repository import BrandScopedRepository
from t21.enums import Platform, SocialAccountStatus
from t21.posts.models import SocialPost
from t21.quotas.service import BillingOwner
from t21.social_accounts.models import OAuthState, SocialAccount


class SocialAccountRepository(BrandScopedRepository[SocialAccount]):
    model = SocialAccount

    # --- reads on behalf of a person -----------------------------------------------------------

    async def list_visible(
        self,
        user_id: uuid.UUID,
        *,
        brand_id: uuid.UUID | None,
        after: tuple[datetime, uuid.UUID] | None,
        limit: int,
    ) -> list[SocialAccount]:
        """Oldest first, keyset-paginated on (created_at, id)."""
        return await self.visible_page(user_id, brand_id=brand_id, after=after, limit=limit, descending=False)

    # --- writes and lookups of the connect flow ------------------------------------------------

    async def get_for_update(self, account_id: uuid.UUID) -> SocialAccount | None:
        stmt = select(SocialAccount).where(SocialAccount.id == account_id).with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def find_identity(
        self, brand_id: uuid.UUID, platform: Platform, platform_user_id: str
    ) -> SocialAccount | None:
        stmt = (
            select(SocialAccount)
            .where(
                SocialAccount.brand_id == brand_id,
                SocialAccount.platform == platform,
                SocialAccount.platform_user_id == platform_user_id,
            )
            .with_for_update()
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def add(self, account: SocialAccount) -> SocialAccount:
        self.session.add(account)
        await self.session.flush()
        return account

    async def delete(self, account: SocialAccount) -> None:
        await self.session.delete(account)
        await self.session.flush()

    async def has_posts(self, account_id: uuid.UUID) -> bool:
        stmt = select(exists().where(SocialPost.social_account_id == account_id))
        return bool((await self.session.execute(stmt)).scalar())

    async def lock_owner(self, owner: BillingOwner) -> None:
        """Serialises concurrent connects of one tenant, so two callbacks cannot both take the
        last free slot of the plan."""
        model = owner.model
        await self.session.execute(select(model.id).where(model.id == owner.id).with_for_update())

    async def count_holding_tokens(self, owner: BillingOwner) -> int:
        """Accounts counted against the plan: those across the owner's brands that still hold
        tokens. An account removed by its team but kept for its posts' history holds none and
        takes no slot; one the network disconnected keeps its slot until it is removed."""
        column = Brand.organization_id if owner.kind == "organization" else Brand.user_id
        stmt = (
            select(func.count())
            .select_from(SocialAccount)
            .join(Brand, Brand.id == SocialAccount.brand_id)
            .where(column == owner.id, SocialAccount.access_token_encrypted.is_not(None))
        )
        return int((await self.session.execute(stmt)).scalar_one())

    # --- token lifecycle (jobs) ----------------------------------------------------------------

    async def ids_due_for_refresh(
        self, *, refresh_before: datetime, instagram_before: datetime
    ) -> list[uuid.UUID]:
        """Connected accounts whose access token runs out soon and that the network lets us renew:
        accounts with a refresh token (X, LinkedIn partners), and Instagram long-lived tokens
        (renewed with the access token itself)."""
        stmt = (
            select(SocialAccount.id)
            .where(
                SocialAccount.status == SocialAccountStatus.CONNECTED,
                SocialAccount.access_token_encrypted.is_not(None),
                SocialAccount.token_expires_at.is_not(None),
                or_(
                    (SocialAccount.platform == Platform.instagram)
                    & (SocialAccount.token_expires_at <= instagram_before),
                    (SocialAccount.platform != Platform.instagram)
                    & SocialAccount.refresh_token_encrypted.is_not(None)
                    & (SocialAccount.token_expires_at <= refresh_before),
                ),
            )
            .order_by(SocialAccount.token_expires_at)
        )
        return list((await self.session.execute(stmt)).scalars())

    async def lock_if_unlocked(self, account_id: uuid.UUID) -> SocialAccount | None:
        """The account, row-locked; None if it is gone or another worker holds it (that worker
        is refreshing it, and a second refresh would burn X's single-use refresh token)."""
        stmt = select(SocialAccount).where(SocialAccount.id == account_id).with_for_update(skip_locked=True)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def ids_to_warn_of_expiry(
        self, *, platform: Platform, expiring_before: datetime, now: datetime
    ) -> list[uuid.UUID]:
        """Connected accounts with no way to renew their token that lapse before
        `expiring_before` and have not been warned yet."""
        stmt = select(SocialAccount.id).where(
            SocialAccount.platform == platform,
            SocialAccount.status == SocialAccountStatus.CONNECTED,
            SocialAccount.access_token_encrypted.is_not(None),
            SocialAccount.refresh_token_encrypted.is_(None),
            SocialAccount.token_expires_at > now,
            SocialAccount.token_expires_at <= expiring_before,
            SocialAccount.expiry_warning_sent_at.is_(None),
        )
        return list((await self.session.execute(stmt)).scalars())

    async def mark_lapsed_expired(self, now: datetime) -> int:
        """Accounts whose token ran out with no refresh token: EXPIRED (they were warned)."""
        result = await self.session.execute(
            update(SocialAccount)
            .where(
                SocialAccount.status == SocialAccountStatus.CONNECTED,
                SocialAccount.refresh_token_encrypted.is_(None),
                SocialAccount.platform != Platform.instagram,
                SocialAccount.token_expires_at <= now,
            )
            .values(
                status=SocialAccountStatus.EXPIRED,
                last_error="The network's authorization ran out; reconnect the account to keep publishing",
            )
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    # --- key rotation ------------------------------------------------------------------------

    async def encrypted_batch(self, after: uuid.UUID | None, limit: int) -> Sequence[SocialAccount]:
        stmt = select(SocialAccount).where(
            or_(
                SocialAccount.access_token_encrypted.is_not(None),
                SocialAccount.refresh_token_encrypted.is_not(None),
            )
        )
        if after is not None:
            stmt = stmt.where(SocialAccount.id > after)
        stmt = stmt.order_by(SocialAccount.id).limit(limit).with_for_update()
        return list((await self.session.execute(stmt)).scalars())


class OAuthStateRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, state: OAuthState) -> OAuthState:
        self.session.add(state)
        await self.session.flush()
        return state

    async def get_by_hash_for_update(self, state_hash: str) -> OAuthState | None:
        """Locked, so two callbacks racing with one state cannot both pass the single-use check."""
        stmt = select(OAuthState).where(OAuthState.state_hash == state_hash).with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def delete_stale(self, before: datetime) -> int:
        result = await self.session.execute(delete(OAuthState).where(OAuthState.expires_at < before))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def verifier_batch(self, after: uuid.UUID | None, limit: int) -> Sequence[OAuthState]:
        stmt = select(OAuthState).where(OAuthState.code_verifier_encrypted.is_not(None))
        if after is not None:
            stmt = stmt.where(OAuthState.id > after)
        stmt = stmt.order_by(OAuthState.id).limit(limit).with_for_update()
        return list((await self.session.execute(stmt)).scalars())
