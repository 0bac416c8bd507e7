"""The one place that decides which brands a person may see, and in which role.

A personal brand is its owner's alone (role owner). An organization's brand is visible to every
member, with the member's role. Everything tenant-scoped (posts, accounts, media, analytics, AI
generations) reaches its rows through a brand, so it reuses `visible_brand_ids`.
"""

from __future__ import annotations

import functools
import uuid
from datetime import datetime
from typing import Any, ClassVar, Generic, Protocol, TypeVar, cast

from sqlalchemy import BindParameter, ColumnElement, Select, and_, bindparam, case, func, literal, or_, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped

from t21.brands.models import Brand
from t21.enums import Role
from t21.kit.pagination import keyset_page
from t21.organizations.models import TeamMember

_ROLE_RANK = {r: r.rank for r in Role}


def _role_rank_expr() -> ColumnElement[int]:
    return case(*[(TeamMember.role == role, rank) for role, rank in _ROLE_RANK.items()], else_=-1)


def visible_brand_ids(
    user_id: uuid.UUID | BindParameter[Any], min_role: Role = Role.viewer
) -> Select[tuple[uuid.UUID]]:
    """Ids of brands `user_id` may act on with at least `min_role`."""
    personal = select(Brand.id).where(Brand.user_id == user_id)
    via_org = (
        select(Brand.id)
        .join(TeamMember, TeamMember.organization_id == Brand.organization_id)
        .where(TeamMember.user_id == user_id, _role_rank_expr() >= min_role.rank)
    )
    return personal.union_all(via_org)  # type: ignore[return-value]


@functools.cache
def visible_brand_ids_sql(min_role: Role = Role.viewer) -> tuple[str, dict[str, Any]]:
    """`visible_brand_ids` for raw-SQL readers on psycopg (posts/repository.py's list pages):
    the same statement compiled once, with the caller's id as `%(user)s`, and the constant
    parameters it needs (prefixed `vb_` so they cannot meet the reader's own)."""
    statement = visible_brand_ids(bindparam("user", type_=postgresql.UUID), min_role)
    compiled = statement.compile(dialect=postgresql.psycopg.dialect())
    sql = str(compiled)
    constants: dict[str, Any] = {}
    for name, value in compiled.params.items():
        if name == "user":
            continue
        sql = sql.replace(f"%({name})s", f"%(vb_{name})s")
        constants[f"vb_{name}"] = value
    return sql, constants


class BrandOwned(Protocol):
    id: Mapped[uuid.UUID]
    brand_id: Mapped[uuid.UUID]
    created_at: Mapped[datetime]


ModelT = TypeVar("ModelT", bound=BrandOwned)


class BrandScopedRepository(Generic[ModelT]):
    """Reads of rows that belong to a brand, on behalf of a person: every one starts from
    `visible_statement` (Polar's `get_readable_statement`), so a row of a brand the person cannot
    see is never found (and the API answers 404, never 403: no existence leak)."""

    model: ClassVar[type[Any]]

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def visible_statement(self, user_id: uuid.UUID, min_role: Role = Role.viewer) -> Select[Any]:
        return select(self.model).where(self.model.brand_id.in_(visible_brand_ids(user_id, min_role)))

    async def get_visible(
        self, user_id: uuid.UUID, row_id: uuid.UUID, *, min_role: Role = Role.viewer, for_update: bool = False
    ) -> ModelT | None:
        """`for_update`: the row locked (db/locking.py says in which order rows are locked)."""
        stmt = self.visible_statement(user_id, min_role).where(self.model.id == row_id)
        if for_update:
            # populate_existing: a row this session read before the lock is overwritten with the
            # row as locked (the identity map would otherwise keep the older values).
            stmt = stmt.with_for_update().execution_options(populate_existing=True)
        return cast("ModelT | None", (await self.session.execute(stmt)).scalar_one_or_none())

    async def visible_page(
        self,
        user_id: uuid.UUID,
        *,
        brand_id: uuid.UUID | None,
        after: tuple[datetime, uuid.UUID] | None,
        limit: int,
        descending: bool,
    ) -> list[ModelT]:
        """One keyset page on (created_at, id), optionally of one brand: stable under inserts."""
        stmt = self.visible_statement(user_id)
        if brand_id is not None:
            stmt = stmt.where(self.model.brand_id == brand_id)
        stmt = keyset_page(stmt, self.model.created_at, self.model.id, after, limit, descending=descending)
        return cast("list[ModelT]", list((await self.session.execute(stmt)).scalars()))


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
