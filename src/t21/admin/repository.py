from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Select, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from t21.brands.models import Brand
from t21.kit.pagination import keyset_page
from t21.social_accounts.models import SocialAccount
from t21.users.models import User


def _this_month(counter: Any) -> Any:
    """A usage counter, or 0 when it still holds an earlier month (it is reset lazily)."""
    return case((User.usage_period_start >= func.date_trunc("month", func.now()), counter), else_=0)


def _with_usage() -> Select[Any]:
    brands = select(func.count()).where(Brand.user_id == User.id).correlate(User).scalar_subquery()
    accounts = (
        select(func.count())
        .select_from(SocialAccount)
        .join(Brand, Brand.id == SocialAccount.brand_id)
        .where(Brand.user_id == User.id)
        .correlate(User)
        .scalar_subquery()
    )
    return select(
        User,
        brands.label("brands"),
        accounts.label("social_accounts"),
        _this_month(User.posts_this_month).label("posts_this_month"),
        _this_month(User.ai_credits_used).label("ai_credits_used"),
    )


class AdminRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def list_users(
        self, search: str | None, after: tuple[datetime, uuid.UUID] | None, limit: int
    ) -> list[Any]:
        """Newest first; `search` matches a part of the email address or the name."""
        stmt = _with_usage()
        if search:
            pattern = "%" + search.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            stmt = stmt.where(
                func.lower(User.email).like(pattern, escape="\\")
                | func.lower(User.name).like(pattern, escape="\\")
            )
        rows = await self.session.execute(
            keyset_page(stmt, User.created_at, User.id, after, limit, descending=True)
        )
        return list(rows)

    async def user_with_usage(self, user_id: uuid.UUID) -> Any | None:
        return (await self.session.execute(_with_usage().where(User.id == user_id))).first()
