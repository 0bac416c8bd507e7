from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from t21.kit.clock import utcnow
from t21.organizations.models import Invitation, Organization, TeamMember
from t21.users.models import User


class OrganizationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def list_for_user(self, user_id: uuid.UUID) -> list[tuple[Organization, str]]:
        rows = await self.session.execute(
            select(Organization, TeamMember.role)
            .join(TeamMember, TeamMember.organization_id == Organization.id)
            .where(TeamMember.user_id == user_id)
            .order_by(Organization.created_at)
        )
        return [(org, role) for org, role in rows.all()]

    async def members(self, organization_id: uuid.UUID) -> list[tuple[TeamMember, User]]:
        rows = await self.session.execute(
            select(TeamMember, User)
            .join(User, User.id == TeamMember.user_id)
            .where(TeamMember.organization_id == organization_id)
            .order_by(TeamMember.created_at)
        )
        return [(m, u) for m, u in rows.all()]

    async def member(self, organization_id: uuid.UUID, user_id: uuid.UUID) -> TeamMember | None:
        result = await self.session.execute(
            select(TeamMember)
            .where(TeamMember.organization_id == organization_id, TeamMember.user_id == user_id)
            .with_for_update()
        )
        return result.scalar_one_or_none()

    async def seats_taken(self, organization_id: uuid.UUID) -> int:
        """Members plus open invitations: an invitation reserves its seat."""
        members = (
            select(func.count()).select_from(TeamMember).where(TeamMember.organization_id == organization_id)
        )
        invites = (
            select(func.count())
            .select_from(Invitation)
            .where(
                Invitation.organization_id == organization_id,
                Invitation.accepted_at.is_(None),
                Invitation.revoked_at.is_(None),
                Invitation.expires_at > utcnow(),
            )
        )
        return int((await self.session.execute(members)).scalar_one()) + int(
            (await self.session.execute(invites)).scalar_one()
        )

    async def lock(self, organization_id: uuid.UUID) -> None:
        # Serialises seat-consuming changes so two concurrent invites cannot both take the last seat.
        await self.session.execute(
            select(Organization.id).where(Organization.id == organization_id).with_for_update()
        )

    async def invitations(self, organization_id: uuid.UUID) -> list[Invitation]:
        rows = await self.session.execute(
            select(Invitation)
            .where(
                Invitation.organization_id == organization_id,
                Invitation.revoked_at.is_(None),
                Invitation.accepted_at.is_(None),
            )
            .order_by(Invitation.created_at.desc())
        )
        return list(rows.scalars())

    async def invitation_by_hash(self, token_hash: str) -> Invitation | None:
        result = await self.session.execute(
            select(Invitation).where(Invitation.token_hash == token_hash).with_for_update()
        )
        return result.scalar_one_or_none()

    async def open_invitation(self, organization_id: uuid.UUID, email: str) -> Invitation | None:
        result = await self.session.execute(
            select(Invitation).where(
                Invitation.organization_id == organization_id,
                Invitation.email == email,
                Invitation.accepted_at.is_(None),
                Invitation.revoked_at.is_(None),
            )
        )
        return result.scalar_one_or_none()
