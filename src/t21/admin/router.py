"""/api/v1/admin: instance administration, for instance admins signed in with an access token.
API keys are refused (403 session_required) even an admin's: a key leaked from a script must not
be able to lock people out of the install. Everyone else gets 403 admin_only."""

from __future__ import annotations

import uuid

from fastapi import Depends, Query, Request, Response, status

from t21.admin.errors import AdminOnly
from t21.admin.schemas import AdminUserOut
from t21.admin.service import AdminService
from t21.auth.dependencies import Principal, get_principal
from t21.errors import ErrorResponse, Forbidden
from t21.kit.deps import SessionDep, SettingsDep
from t21.kit.routing import make_router
from t21.kit.schemas import ListResponse

router = make_router(prefix="/admin", tags=["admin"])


async def instance_admin(request: Request) -> Principal:
    principal = await get_principal(request)
    if principal.api_key is not None:
        raise Forbidden("API keys cannot use the admin API; sign in instead", code="session_required")
    if not principal.user.is_admin:
        raise AdminOnly()
    return principal


AdminDep = Depends(instance_admin)


@router.get("/users", response_model=ListResponse[AdminUserOut])
async def list_users(
    session: SessionDep,
    settings: SettingsDep,
    search: str | None = Query(default=None, max_length=320, description="Part of the email or name"),
    cursor: str | None = Query(default=None),
    limit: int = Query(default=50, ge=1, le=200),
    principal: Principal = AdminDep,
) -> ListResponse[AdminUserOut]:
    """Every person on this instance, newest first, with their usage."""
    data, next_cursor = await AdminService(session, settings).list_users(search, cursor, limit)
    return ListResponse[AdminUserOut](data=data, next_cursor=next_cursor)


@router.get("/users/{user_id}", response_model=AdminUserOut)
async def get_user(
    user_id: uuid.UUID, session: SessionDep, settings: SettingsDep, principal: Principal = AdminDep
) -> AdminUserOut:
    return await AdminService(session, settings).user(user_id)


@router.post(
    "/users/{user_id}/disable",
    response_model=AdminUserOut,
    responses={409: {"model": ErrorResponse, "description": "Your own account (cannot_disable_self)"}},
)
async def disable_user(
    user_id: uuid.UUID, session: SessionDep, settings: SettingsDep, principal: Principal = AdminDep
) -> AdminUserOut:
    """The person can no longer sign in; their sessions, API keys and live sockets stop at once."""
    return await AdminService(session, settings).disable(principal.user, user_id)


@router.post("/users/{user_id}/enable", response_model=AdminUserOut)
async def enable_user(
    user_id: uuid.UUID, session: SessionDep, settings: SettingsDep, principal: Principal = AdminDep
) -> AdminUserOut:
    return await AdminService(session, settings).enable(principal.user, user_id)


@router.post(
    "/users/{user_id}/resend-verification",
    status_code=status.HTTP_202_ACCEPTED,
    response_class=Response,
    responses={409: {"model": ErrorResponse, "description": "Already verified (email_already_verified)"}},
)
async def resend_verification(
    user_id: uuid.UUID, session: SessionDep, settings: SettingsDep, principal: Principal = AdminDep
) -> Response:
    await AdminService(session, settings).resend_verification(user_id)
    return Response(status_code=status.HTTP_202_ACCEPTED)
