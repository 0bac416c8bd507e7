"""Organizations and teams. Roles: owner > admin > editor > viewer. Viewers read, editors write
posts, admins manage brands, accounts and members, only the owner deletes the organization or
changes billing."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from t21.auth.verification import ensure_email_verified
from t21.cache import HotCache, invalidate_after_commit
from t21.config import Settings
from t21.enums import Role
from t21.errors import Conflict, Forbidden, NotFound, ValidationFailed
from t21.kit.clock import utcnow
from t21.kit.crypto import random_token, sha256_hex
from t21.notifications.emails import queue_email
from t21.organizations.access import require_membership
from t21.organizations.models import Invitation, Organization, TeamMember
from t21.organizations.repository import OrganizationRepository
from t21.organizations.roles import Action
from t21.organizations.schemas import (
    InvitationCreate,
    InvitationCreated,
    InvitationOut,
    MemberOut,
    OrganizationCreate,
    OrganizationOut,
    OrganizationUpdate,
)
from t21.quotas.service import ensure_below_limit, owner_of_org
from t21.two_factor.service import TwoFactorRequired, two_factor_enabled
from t21.users.models import User
from t21.users.repository import normalise_email

INVITATION_TTL = timedelta(days=7)


def org_out(org: Organization, role: str) -> OrganizationOut:
    return OrganizationOut(
        id=org.id,
        name=org.name,
        owner_id=org.owner_id,
        subscription_tier=org.subscription_tier,
        role=role,
        require_two_factor=org.require_two_factor,
        created_at=org.created_at,
    )


class OrganizationService:
    def __init__(self, session: AsyncSession, settings: Settings, cache: HotCache | None = None) -> None:
        self.session = session
        self.settings = settings
        self.orgs = OrganizationRepository(session)
        self.cache = cache

    async def _brand_lists_changed(self, user_ids: list[uuid.UUID]) -> None:
        """Membership decides which organization brands a person sees."""
        if self.cache is not None:
            await invalidate_after_commit(self.session, self.cache, user_ids)

    async def create(self, user: User, data: OrganizationCreate) -> OrganizationOut:
        org = Organization(name=data.name, owner_id=user.id, subscription_tier=self.settings.default_tier)
        self.session.add(org)
        await self.session.flush()
        self.session.add(TeamMember(organization_id=org.id, user_id=user.id, role=Role.owner))
        await self.session.flush()
        await self.session.refresh(org)
        return org_out(org, Role.owner)

    async def list_for_user(self, user: User) -> list[OrganizationOut]:
        return [org_out(org, role) for org, role in await self.orgs.list_for_user(user.id)]

    async def get(self, user: User, org_id: uuid.UUID) -> OrganizationOut:
        org, role = await require_membership(self.session, user.id, org_id, Action.view_organization)
        return org_out(org, role)

    async def update(self, user: User, org_id: uuid.UUID, data: OrganizationUpdate) -> OrganizationOut:
        org, role = await require_membership(self.session, user.id, org_id, Action.edit_organization)
        if data.name is not None:
            org.name = data.name
        if data.require_two_factor is not None:
            if data.require_two_factor and not await two_factor_enabled(self.session, user.id):
                raise TwoFactorRequired(
                    "Turn on two-factor authentication for yourself before requiring it of the members",
                )
            org.require_two_factor = data.require_two_factor
        await self.session.flush()
        return org_out(org, role)

    async def delete(self, user: User, org_id: uuid.UUID) -> None:
        org, _ = await require_membership(self.session, user.id, org_id, Action.delete_organization)
        await self._brand_lists_changed([member.user_id for member, _ in await self.orgs.members(org.id)])
        await self.session.delete(org)

    async def members(self, user: User, org_id: uuid.UUID) -> list[MemberOut]:
        await require_membership(self.session, user.id, org_id, Action.view_organization)
        return [
            MemberOut(user_id=u.id, email=u.email, name=u.name, role=m.role, joined_at=m.created_at)
            for m, u in await self.orgs.members(org_id)
        ]

    async def invite(self, user: User, org_id: uuid.UUID, data: InvitationCreate) -> InvitationCreated:
        await ensure_email_verified(self.session, self.settings, user.id)
        org, role = await require_membership(self.session, user.id, org_id, Action.invite_members)
        if not role.at_least(data.role):
            raise Forbidden("You cannot invite someone with a higher role than yours")
        email = normalise_email(str(data.email))
        await self.orgs.lock(org.id)
        for _member, member_user in await self.orgs.members(org.id):
            if member_user.email == email:
                raise Conflict("This person is already a member", code="already_member")
        if await self.orgs.open_invitation(org.id, email) is not None:
            raise Conflict("An invitation for this email is already open", code="invitation_exists")
        plan = owner_of_org(org).plan(self.settings)
        ensure_below_limit(await self.orgs.seats_taken(org.id), plan, "team_seats", "team seats")
        token = random_token(24)
        invitation = Invitation(
            organization_id=org.id,
            email=email,
            role=data.role,
            token_hash=sha256_hex(token),
            invited_by_id=user.id,
            expires_at=utcnow() + INVITATION_TTL,
        )
        self.session.add(invitation)
        await self.session.flush()
        await self.session.refresh(invitation)
        url = f"{self.settings.base_url}/invitations/accept?token={token}"
        await queue_email(
            self.session,
            email,
            "team_invite",
            organization=org.name,
            inviter=user.name,
            role=data.role.value,
            url=url,
        )
        return InvitationCreated.model_validate(
            {**InvitationOut.model_validate(invitation).model_dump(), "accept_url": url, "token": token}
        )

    async def invitations(self, user: User, org_id: uuid.UUID) -> list[InvitationOut]:
        await require_membership(self.session, user.id, org_id, Action.invite_members)
        return [InvitationOut.model_validate(i) for i in await self.orgs.invitations(org_id)]

    async def revoke_invitation(self, user: User, org_id: uuid.UUID, invitation_id: uuid.UUID) -> None:
        await require_membership(self.session, user.id, org_id, Action.invite_members)
        invitation = await self.session.get(Invitation, invitation_id)
        if invitation is None or invitation.organization_id != org_id:
            raise NotFound("Invitation not found")
        invitation.revoked_at = utcnow()

    async def accept(self, user: User, token: str) -> OrganizationOut:
        invitation = await self.orgs.invitation_by_hash(sha256_hex(token))
        # One answer for unknown, used, revoked and expired: the token is a secret.
        if (
            invitation is None
            or invitation.accepted_at is not None
            or invitation.revoked_at is not None
            or invitation.expires_at <= utcnow()
        ):
            raise NotFound("This invitation is not valid any more", code="invitation_invalid")
        if invitation.email != normalise_email(user.email):
            raise Forbidden(
                "This invitation was sent to another email address", code="invitation_email_mismatch"
            )
        if await self.orgs.member(invitation.organization_id, user.id) is not None:
            raise Conflict("You are already a member", code="already_member")
        invitation.accepted_at = utcnow()
        await self._brand_lists_changed([user.id])
        self.session.add(
            TeamMember(organization_id=invitation.organization_id, user_id=user.id, role=invitation.role)
        )
        await self.session.flush()
        org = await self.session.get(Organization, invitation.organization_id)
        if org is None:
            raise RuntimeError("an invitation whose organization is gone (the foreign key cascades)")
        return org_out(org, invitation.role)

    async def change_role(
        self, user: User, org_id: uuid.UUID, member_id: uuid.UUID, new_role: Role
    ) -> MemberOut:
        _, actor_role = await require_membership(self.session, user.id, org_id, Action.change_member_roles)
        member = await self.orgs.member(org_id, member_id)
        if member is None:
            raise NotFound("Member not found")
        if member.role == Role.owner or new_role is Role.owner:
            raise ValidationFailed("The owner's role cannot be changed here", code="owner_role_fixed")
        if not actor_role.at_least(new_role):
            raise Forbidden("You cannot grant a role higher than yours")
        member.role = new_role
        await self._brand_lists_changed([member_id])
        await self.session.flush()
        user_row = await self.session.get(User, member_id)
        if user_row is None:
            raise RuntimeError(f"member {member_id} has no user row")
        return MemberOut(
            user_id=user_row.id,
            email=user_row.email,
            name=user_row.name,
            role=member.role,
            joined_at=member.created_at,
        )

    async def remove_member(self, user: User, org_id: uuid.UUID, member_id: uuid.UUID) -> None:
        # Anyone may leave; removing someone else needs admin.
        action = Action.leave_organization if member_id == user.id else Action.remove_members
        await require_membership(self.session, user.id, org_id, action)
        member = await self.orgs.member(org_id, member_id)
        if member is None:
            raise NotFound("Member not found")
        if member.role == Role.owner:
            raise ValidationFailed(
                "The owner cannot be removed; delete the organization instead", code="owner_cannot_leave"
            )
        await self._brand_lists_changed([member_id])
        await self.session.delete(member)
