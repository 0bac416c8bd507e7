"""In-app notifications (and their emails) for the people a brand's events concern."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from t21.brands.models import Brand
from t21.enums import Role
from t21.notifications.emails import queue_email
from t21.notifications.models import Notification
from t21.organizations.models import TeamMember
from t21.users.models import User


async def brand_audience(session: AsyncSession, brand: Brand, min_role: Role = Role.viewer) -> list[User]:
    """The owner of a personal brand, or the organization's members with at least `min_role`."""
    if brand.user_id is not None:
        user = await session.get(User, brand.user_id)
        return [user] if user else []
    rows = await session.execute(
        select(User, TeamMember.role)
        .join(TeamMember, TeamMember.user_id == User.id)
        .where(TeamMember.organization_id == brand.organization_id)
    )
    return [user for user, role in rows.all() if Role(role).at_least(min_role)]


async def notify(
    session: AsyncSession,
    users: list[User],
    *,
    kind: str,
    title: str,
    body: str = "",
    data: dict[str, Any] | None = None,
    email_template: str | None = None,
    email_context: dict[str, str] | None = None,
) -> list[uuid.UUID]:
    ids = []
    for user in users:
        note = Notification(user_id=user.id, kind=kind, title=title[:300], body=body, data=data or {})
        session.add(note)
        await session.flush()
        ids.append(note.id)
        if email_template is not None:
            await queue_email(session, user.email, email_template, **(email_context or {}))
    return ids
