"""The one place that decides which brands a person may see, and in which role.

A personal brand is its owner's alone (role owner). An organization's brand is visible to every
member, with the member's role. Everything tenant-scoped (posts, accounts, media, analytics, AI
generations) reaches its rows through a brand, so it reuses `visible_brand_ids`.
"""

from __future__ import annotations

import uuid

from sqlalchemy import ColumnElement, Select, and_, case, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from t21.brands.models import Brand
from t21.enums import Role
from t21.organizations.models import TeamMember

_ROLE_RANK = {r.value: r.rank for r in Role}


def _role_rank_expr() -> ColumnElement[int]:
    return case(*[(TeamMember.role == role, rank) for role, rank in _ROLE_RANK.items()], else_=-1)


def visible_brand_ids(user_id: uuid.UUID, min_role: Role = Role.viewer) -> Select[tuple[uuid.UUID]]:
    """Ids of brands `user_id` may act on with at least `min_role`."""
    personal = select(Brand.id).where(Brand.user_id == user_id)
    via_org = (
        select(Brand.id)
        .join(TeamMember, TeamMember.organization_id == Brand.organization_id)
        .where(TeamMember.user_id == user_id, _role_rank_expr() >= min_role.rank)
    )
    return personal.union_all(via_org)  # type: ignore[return-value]


class BrandRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get_with_role(self, user_id: uuid.UUID, brand_id: uuid.UUID) -> tuple[Brand, Role] | None:
        stmt = (
            select(Brand, TeamMember.role)
            .outerjoin(
                TeamMember,
                and_(TeamMember.organization_id == Brand.organization_id, TeamMember.user_id == user_id),
            )
            .where(Brand.id == brand_id, or_(Brand.user_id == user_id, TeamMember.id.is_not(None)))
        )
        row = (await self.session.execute(stmt)).first()
        if row is None:
            return None
        brand, role = row
        return brand, Role.owner if brand.user_id == user_id else Role(role)

    async def visible_time_zone(self, user_id: uuid.UUID, brand_id: uuid.UUID) -> str | None:
        """The brand's time zone if `user_id` may see it (any role), else None: one small row, for
        reads that need nothing else of the brand."""
        member = select(TeamMember.id).where(
            TeamMember.organization_id == Brand.organization_id, TeamMember.user_id == user_id
        )
        stmt = select(Brand.time_zone).where(
            Brand.id == brand_id, or_(Brand.user_id == user_id, member.exists())
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def list_visible(
        self, user_id: uuid.UUID, *, organization_id: uuid.UUID | None = None, personal_only: bool = False
    ) -> list[tuple[Brand, Role]]:
        stmt = (
            select(Brand, func.coalesce(TeamMember.role, literal(Role.owner.value)))
            .outerjoin(
                TeamMember,
                and_(TeamMember.organization_id == Brand.organization_id, TeamMember.user_id == user_id),
            )
            .where(or_(Brand.user_id == user_id, TeamMember.id.is_not(None)))
            .order_by(Brand.created_at, Brand.id)
        )
        if organization_id is not None:
            stmt = stmt.where(Brand.organization_id == organization_id)
        if personal_only:
            stmt = stmt.where(Brand.user_id == user_id)
        rows = (await self.session.execute(stmt)).all()
        return [(brand, Role(role)) for brand, role in rows]

    async def count_for_owner(self, *, user_id: uuid.UUID | None, organization_id: uuid.UUID | None) -> int:
        stmt = select(func.count()).select_from(Brand)
        if organization_id is not None:
            stmt = stmt.where(Brand.organization_id == organization_id)
        else:
            stmt = stmt.where(Brand.user_id == user_id)
        return int((await self.session.execute(stmt)).scalar_one())

    async def audience_ids(self, brand: Brand) -> list[uuid.UUID]:
        """Everyone whose brand list shows this brand."""
        if brand.user_id is not None:
            return [brand.user_id]
        rows = await self.session.execute(
            select(TeamMember.user_id).where(TeamMember.organization_id == brand.organization_id)
        )
        return list(rows.scalars())

    async def add(self, brand: Brand) -> Brand:
        self.session.add(brand)
        await self.session.flush()
        return brand

    async def delete(self, brand: Brand) -> None:
        await self.session.delete(brand)
