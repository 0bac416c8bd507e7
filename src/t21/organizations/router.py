from __future__ import annotations

import uuid

from fastapi import Depends, Request, Response, status

from t21.auth.dependencies import Principal, scoped
from t21.auth.scopes import Scope
from t21.cache import cache_of
from t21.kit.deps import SessionDep, SettingsDep
from t21.kit.routing import make_router
from t21.kit.schemas import ListResponse
from t21.organizations.schemas import (
    InvitationAccept,
    InvitationCreate,
    InvitationCreated,
    InvitationOut,
    MemberOut,
    OrganizationCreate,
    OrganizationOut,
    OrganizationUpdate,
    RoleChange,
)
from t21.organizations.service import OrganizationService

router = make_router(prefix="/organizations", tags=["organizations"])
invitations_router = make_router(prefix="/invitations", tags=["organizations"])

Reader = Depends(scoped(Scope.organizations_read))
Member = Depends(scoped(Scope.session))


@router.post("", status_code=status.HTTP_201_CREATED, response_model=OrganizationOut)
async def create_organization(
    body: OrganizationCreate, session: SessionDep, settings: SettingsDep, principal: Principal = Member
) -> OrganizationOut:
    return await OrganizationService(session, settings).create(principal.user, body)


@router.get("", response_model=ListResponse[OrganizationOut])
async def list_organizations(
    session: SessionDep, settings: SettingsDep, principal: Principal = Reader
) -> ListResponse[OrganizationOut]:
    return ListResponse[OrganizationOut](
        data=await OrganizationService(session, settings).list_for_user(principal.user)
    )


@router.get("/{org_id}", response_model=OrganizationOut)
async def get_organization(
    org_id: uuid.UUID, session: SessionDep, settings: SettingsDep, principal: Principal = Reader
) -> OrganizationOut:
    return await OrganizationService(session, settings).get(principal.user, org_id)


@router.patch("/{org_id}", response_model=OrganizationOut)
async def update_organization(
    org_id: uuid.UUID,
    body: OrganizationUpdate,
    session: SessionDep,
    settings: SettingsDep,
    principal: Principal = Member,
) -> OrganizationOut:
    """Rename it, or require two-factor authentication of its members (admin or owner)."""
    return await OrganizationService(session, settings).update(principal.user, org_id, body)


@router.delete("/{org_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_organization(
    request: Request,
    org_id: uuid.UUID,
    session: SessionDep,
    settings: SettingsDep,
    principal: Principal = Member,
) -> Response:
    await OrganizationService(session, settings, cache_of(request)).delete(principal.user, org_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{org_id}/members", response_model=ListResponse[MemberOut])
async def list_members(
    org_id: uuid.UUID, session: SessionDep, settings: SettingsDep, principal: Principal = Reader
) -> ListResponse[MemberOut]:
    members = await OrganizationService(session, settings).members(principal.user, org_id)
    return ListResponse[MemberOut](data=members)


@router.patch("/{org_id}/members/{user_id}", response_model=MemberOut)
async def change_member_role(
    request: Request,
    org_id: uuid.UUID,
    user_id: uuid.UUID,
    body: RoleChange,
    session: SessionDep,
    settings: SettingsDep,
    principal: Principal = Member,
) -> MemberOut:
    return await OrganizationService(session, settings, cache_of(request)).change_role(
        principal.user, org_id, user_id, body.role
    )


@router.delete("/{org_id}/members/{user_id}", status_code=status.HTTP_204_NO_CONTENT)
async def remove_member(
    request: Request,
    org_id: uuid.UUID,
    user_id: uuid.UUID,
    session: SessionDep,
    settings: SettingsDep,
    principal: Principal = Member,
) -> Response:
    await OrganizationService(session, settings, cache_of(request)).remove_member(
        principal.user, org_id, user_id
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{org_id}/invitations", status_code=status.HTTP_201_CREATED, response_model=InvitationCreated)
async def invite_member(
    org_id: uuid.UUID,
    body: InvitationCreate,
    session: SessionDep,
    settings: SettingsDep,
    principal: Principal = Member,
) -> InvitationCreated:
    return await OrganizationService(session, settings).invite(principal.user, org_id, body)


@router.get("/{org_id}/invitations", response_model=ListResponse[InvitationOut])
async def list_invitations(
    org_id: uuid.UUID, session: SessionDep, settings: SettingsDep, principal: Principal = Member
) -> ListResponse[InvitationOut]:
    items = await OrganizationService(session, settings).invitations(principal.user, org_id)
    return ListResponse[InvitationOut](data=items)


@router.delete("/{org_id}/invitations/{invitation_id}", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_invitation(
    org_id: uuid.UUID,
    invitation_id: uuid.UUID,
    session: SessionDep,
    settings: SettingsDep,
    principal: Principal = Member,
) -> Response:
    await OrganizationService(session, settings).revoke_invitation(principal.user, org_id, invitation_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@invitations_router.post("/accept", response_model=OrganizationOut)
async def accept_invitation(
    request: Request,
    body: InvitationAccept,
    session: SessionDep,
    settings: SettingsDep,
    principal: Principal = Member,
) -> OrganizationOut:
    return await OrganizationService(session, settings, cache_of(request)).accept(principal.user, body.token)
