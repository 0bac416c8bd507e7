from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from t21.enums import Role
from t21.errors import Forbidden, NotFound
from t21.organizations.models import Organization, TeamMember


async def require_membership(
    session: AsyncSession, user_id: uuid.UUID, organization_id: uuid.UUID, min_role: Role = Role.viewer
) -> tuple[Organization, Role]:
    """404 for non-members (no existence leak), 403 for members whose role is too low."""
    row = (
        await session.execute(
            select(Organization, TeamMember.role)
            .join(TeamMember, TeamMember.organization_id == Organization.id)
            .where(Organization.id == organization_id, TeamMember.user_id == user_id)
        )
    ).first()
    if row is None:
        raise NotFound("Organization not found", code="organization_not_found")
    org, role_value = row
    role = Role(role_value)
    if not role.at_least(min_role):
        raise Forbidden(f"This needs the {min_role.value} role or higher in the organization")
    return org, role
