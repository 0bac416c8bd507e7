"""Resolving a brand for an action: 404 when the caller cannot see it, 403 when they can see it
but their role is too low for the action (t21.organizations.roles.ROLE_MATRIX), or when the
brand's organization requires two-factor authentication the caller has not turned on
(two_factor_required; reads stay allowed)."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from t21.brands.models import Brand
from t21.brands.repository import BrandRepository
from t21.enums import Role
from t21.errors import NotFound
from t21.organizations.roles import Action, ensure_allowed
from t21.two_factor.service import ensure_org_two_factor


async def require_brand(
    session: AsyncSession, user_id: uuid.UUID, brand_id: uuid.UUID, action: Action
) -> tuple[Brand, Role]:
    found = await BrandRepository(session).get_with_role(user_id, brand_id)
    if found is None:
        raise NotFound("Brand not found", code="brand_not_found")
    brand, role = found
    ensure_allowed(role, action, on="brand")
    await ensure_org_two_factor(session, user_id, brand.organization_id, action)
    return brand, role
