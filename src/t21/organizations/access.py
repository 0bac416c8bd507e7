from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from t21.enums import Role
from t21.errors import NotFound
from t21.organizations.models import Organization, TeamMember
from t21.organizations.roles import Action, ensure_allowed
from t21.two_factor.service import ensure_org_two_factor


async def require_membership(
    session: AsyncSession, user_id: uuid.UUID, organization_id: uuid.UUID, action: Action
) -> tuple[Organization, Role]:
    """404 for non-members (no existence leak), 403 for members whose role is too low for
    `action` (t21.organizations.roles.ROLE_MATRIX) and for members without two-factor when the
    organization requires it and `action` is more than reading (two_factor_required)."""
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
    ensure_allowed(role, action, on="organization")
    await ensure_org_two_factor(session, user_id, org.id, action)
    return org, role
