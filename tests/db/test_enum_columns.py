"""Status, tier and role columns are typed (t21.db.base.EnumText): Python reads enum members back
and cannot write a value outside the enum; the database keeps text under its CHECK constraint."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import StatementError

from t21.config import Tier
from t21.db.base import EnumText
from t21.db.database import Database
from t21.enums import PostStatus, Role, SubscriptionStatus
from t21.organizations.models import Organization, TeamMember
from t21.users.models import User


def test_bind_and_result_processing() -> None:
    column = EnumText(PostStatus, 24)
    dialect = postgresql.psycopg.dialect()
    bind: Any = column.bind_processor(dialect)  # fed wrong values on purpose below
    result = column.result_processor(dialect, None)
    assert bind is not None and result is not None
    assert bind(PostStatus.SCHEDULED) == "SCHEDULED" and type(bind(PostStatus.SCHEDULED)) is str
    assert bind("DRAFT") == "DRAFT"  # a member's exact value is accepted
    assert bind(None) is None
    assert result("PUBLISHED") is PostStatus.PUBLISHED
    assert result(None) is None
    with pytest.raises(ValueError, match=r"'scheduled' is not a PostStatus \(one of: DRAFT, "):
        bind("scheduled")
    with pytest.raises(ValueError, match="is not a PostStatus"):
        bind(Role.owner)  # another enum's member, even one that is a str
    # Same arguments, same cache key: statements using the type stay cacheable.
    assert EnumText(PostStatus, 24)._static_cache_key == column._static_cache_key
    assert EnumText(Role, 24)._static_cache_key != column._static_cache_key


async def test_read_back_as_members_and_bad_values_refused(db: Database) -> None:
    async with db.sessionmaker() as session:
        user = User(email="enum@example.com", password_hash="x", name="Enum", subscription_tier=Tier.PRO)
        session.add(user)
        await session.flush()
        org = Organization(name="Enum org", owner_id=user.id, subscription_tier="BUSINESS")
        session.add(org)
        await session.flush()
        session.add(TeamMember(organization_id=org.id, user_id=user.id, role=Role.admin))
        await session.commit()

    async with db.sessionmaker() as session:
        user = (await session.execute(select(User).where(User.email == "enum@example.com"))).scalar_one()
        assert type(user.subscription_tier) is Tier and user.subscription_tier is Tier.PRO
        assert user.subscription_status is None
        org = (
            await session.execute(select(Organization).where(Organization.owner_id == user.id))
        ).scalar_one()
        assert org.subscription_tier is Tier.BUSINESS  # written as its text value, read as the member
        member = (await session.execute(select(TeamMember).where(TeamMember.user_id == user.id))).scalar_one()
        assert type(member.role) is Role and member.role is Role.admin
        # Comparisons in SQL take members.
        found = await session.scalar(select(User.id).where(User.subscription_tier == Tier.PRO))
        assert found == user.id
        # The database still holds plain text.
        assert await session.scalar(
            text("SELECT role FROM team_members WHERE user_id = :id"), {"id": user.id}
        ) == ("admin")

        user.subscription_status = SubscriptionStatus.past_due
        await session.flush()
        user.subscription_tier = "GOLD"  # type: ignore[assignment]
        with pytest.raises(StatementError) as refused:
            await session.flush()
        # Refused in Python, before the statement reached PostgreSQL (no CHECK violation).
        assert isinstance(refused.value.orig, ValueError)
        assert "'GOLD' is not a Tier (one of: FREE, PRO, BUSINESS)" in str(refused.value)
        await session.rollback()
