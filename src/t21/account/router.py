"""`/me`: the person's own data (issue 17): export it, delete the account."""

from __future__ import annotations

import uuid
from typing import Annotated

import httpx
from fastapi import Depends, Query, Response, status
from pydantic import Field

from t21.account.deletion import delete_account
from t21.account.export import EXPORT_LINK_TTL_HOURS, load_export
from t21.auth.dependencies import Principal, scoped
from t21.auth.scopes import Scope
from t21.billing.router import Gateway
from t21.errors import ErrorResponse
from t21.integrations.stripe import StripeGateway
from t21.kit.deps import SessionDep, SettingsDep
from t21.kit.http import shared_client
from t21.kit.routing import make_router
from t21.kit.schemas import Schema, StrictInput

router = make_router(prefix="/me", tags=["account"])
_session_only = Depends(scoped(Scope.session))


class ExportRequested(Schema):
    export_id: uuid.UUID
    message: str


@router.post("/export", status_code=status.HTTP_202_ACCEPTED, response_model=ExportRequested)
async def request_export(session: SessionDep, principal: Principal = _session_only) -> ExportRequested:
    """Builds a zip of your brands, posts (with their targets and the networks' post ids), media
    list, analytics and AI generations (JSON and CSV) in the background, and emails you a link to
    download it (valid 72 hours)."""
    from t21.account.tasks import build_data_export
    from t21.jobs.app import defer_in_transaction

    export_id = uuid.uuid4()
    await defer_in_transaction(
        session, build_data_export, user_id=str(principal.user_id), export_id=str(export_id)
    )
    return ExportRequested(
        export_id=export_id,
        message=(
            "Your export is being prepared. We will email you a download link, valid "
            f"{EXPORT_LINK_TTL_HOURS} hours."
        ),
    )


@router.get(
    "/export/{export_id}",
    response_class=Response,
    responses={
        200: {"content": {"application/zip": {}}, "description": "The export"},
        403: {"model": ErrorResponse, "description": "invalid_export_link (tampered)"},
        404: {"model": ErrorResponse, "description": "export_not_found"},
        410: {"model": ErrorResponse, "description": "export_link_expired"},
    },
)
async def download_export(
    export_id: uuid.UUID, settings: SettingsDep, signature: str = Query(max_length=200)
) -> Response:
    """The link from the export email: no sign-in, the signature is the authorisation."""
    payload = await load_export(settings, export_id, signature)
    return Response(
        payload,
        media_type="application/zip",
        headers={
            "Content-Disposition": f'attachment; filename="t21-export-{export_id}.zip"',
            "Cache-Control": "private, no-store",
        },
    )


class DeleteAccountIn(StrictInput):
    password: str = Field(min_length=1, max_length=1024)


class RevocationFailure(Schema):
    account_id: uuid.UUID
    platform: str
    error: str


class AccountDeleted(Schema):
    cancelled_posts: int
    cancelled_subscriptions: list[str]
    revoked_accounts: int
    revocation_failures: list[RevocationFailure]
    deleted_brands: int
    deleted_organizations: int


@router.delete(
    "",
    response_model=AccountDeleted,
    responses={
        403: {"model": ErrorResponse, "description": "invalid_password"},
        409: {
            "model": ErrorResponse,
            "description": "owns_organization_with_members (details.organizations: transfer them first)",
        },
        503: {
            "model": ErrorResponse,
            "description": "subscription_not_cancelled: Stripe failed, nothing deleted",
        },
    },
)
async def delete_me(
    body: DeleteAccountIn,
    session: SessionDep,
    settings: SettingsDep,
    http: Annotated[httpx.AsyncClient, Depends(shared_client)],
    gateway: StripeGateway | None = Gateway,
    principal: Principal = _session_only,
) -> AccountDeleted:
    """Deletes your account after you re-enter your password: cancels your Stripe subscription
    (billing on) and your scheduled posts, removes your personal brands with their posts, accounts,
    media, analytics and AI generations (and organizations you own alone), signs out every session
    and revokes your social tokens at the networks that offer it (failures are listed)."""
    report = await delete_account(
        session, settings, principal.user, body.password, gateway=gateway, http=http
    )
    return AccountDeleted.model_validate(report, from_attributes=True)
