"""/api/v1/social-accounts: connect (OAuth), callback, list, show, reconnect, remove."""

from __future__ import annotations

import uuid
from typing import Annotated
from urllib.parse import urlencode

import httpx
import structlog
from fastapi import Depends, Query, Request, Response, status
from fastapi.responses import JSONResponse, RedirectResponse

from t21.auth.dependencies import Principal, get_caller, scoped
from t21.auth.scopes import Scope
from t21.config import Settings
from t21.enums import Platform
from t21.errors import T21Error
from t21.kit.deps import SessionDep, SettingsDep
from t21.kit.http import shared_client
from t21.kit.routing import make_router
from t21.kit.schemas import ListResponse
from t21.social_accounts.schemas import AuthorizationOut, NetworkOut, SocialAccountOut
from t21.social_accounts.service import SocialAccountService, account_out

log = structlog.get_logger(__name__)

router = make_router(prefix="/social-accounts", tags=["social accounts"])


# The API process's client (t21.kit.http, opened and closed with the app) for code exchanges,
# refreshes and revocations; connectors set their own timeouts and classify its errors.
HttpDep = Annotated[httpx.AsyncClient, Depends(shared_client)]


@router.get("/networks", response_model=ListResponse[NetworkOut])
async def list_networks(
    session: SessionDep,
    settings: SettingsDep,
    http: HttpDep,
    principal: Principal = Depends(scoped(Scope.accounts_read)),
) -> ListResponse[NetworkOut]:
    """The networks this server can connect, and which of them are sandboxes."""
    return ListResponse[NetworkOut](data=SocialAccountService(session, settings, http).networks())


@router.get("/connect/{platform}", response_model=AuthorizationOut)
async def connect(
    platform: Platform,
    session: SessionDep,
    settings: SettingsDep,
    http: HttpDep,
    brand_id: uuid.UUID = Query(alias="brandId"),
    principal: Principal = Depends(scoped(Scope.accounts_write)),
) -> AuthorizationOut:
    """Start connecting an account to a brand (admins): send the browser to `authorizationUrl`."""
    return await SocialAccountService(session, settings, http).start_connect(
        principal.user, platform, brand_id
    )


def _wants_json(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def _web_app_redirect(settings: Settings, params: dict[str, str]) -> RedirectResponse:
    return RedirectResponse(
        f"{settings.base_url}/accounts?{urlencode(params)}", status_code=status.HTTP_302_FOUND
    )


@router.get(
    "/callback/{platform}",
    response_model=None,
    responses={302: {"description": "To the web app: /accounts?connected=… or /accounts?error=…&message=…"}},
)
async def callback(
    platform: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    http: HttpDep,
    code: str | None = None,
    state: str | None = None,
    error: str | None = None,
    error_description: str | None = None,
) -> Response:
    """Where the network sends the browser back. No bearer token is needed (the state identifies
    the flow); a browser lands on the web app, a client that asks for JSON gets JSON."""
    as_json = _wants_json(request)
    try:
        caller_id = None
        if request.headers.get("authorization"):
            caller_id = (await get_caller(request)).user_id
        account = await SocialAccountService(session, settings, http).complete_connect(
            platform,
            state=state,
            code=code,
            error=error,
            error_description=error_description,
            caller_id=caller_id,
        )
    except T21Error as exc:
        if as_json:
            raise
        return _web_app_redirect(settings, {"error": exc.code, "message": exc.message})
    except Exception:
        if as_json:
            raise
        # A browser must land on a page that says what happened, never on a raw error body.
        log.exception("social_account_callback_failed", platform=platform)
        await session.rollback()
        return _web_app_redirect(
            settings,
            {
                "error": "internal_error",
                "message": "Something went wrong while connecting the account; try again.",
            },
        )
    if as_json:
        return JSONResponse(account_out(account).model_dump(mode="json", by_alias=True))
    return _web_app_redirect(settings, {"connected": account.platform, "accountId": str(account.id)})


@router.get("", response_model=ListResponse[SocialAccountOut])
async def list_accounts(
    session: SessionDep,
    settings: SettingsDep,
    http: HttpDep,
    brand_id: uuid.UUID | None = Query(default=None, alias="brandId"),
    cursor: str | None = None,
    limit: int = Query(default=50, ge=1, le=100),
    principal: Principal = Depends(scoped(Scope.accounts_read)),
) -> ListResponse[SocialAccountOut]:
    """Accounts of one brand, or of every brand the caller can see."""
    data, next_cursor = await SocialAccountService(session, settings, http).list(
        principal.user, brand_id=brand_id, cursor=cursor, limit=limit
    )
    return ListResponse[SocialAccountOut](data=data, next_cursor=next_cursor)


@router.get("/{account_id}", response_model=SocialAccountOut)
async def get_account(
    account_id: uuid.UUID,
    session: SessionDep,
    settings: SettingsDep,
    http: HttpDep,
    principal: Principal = Depends(scoped(Scope.accounts_read)),
) -> SocialAccountOut:
    return await SocialAccountService(session, settings, http).get(principal.user, account_id)


@router.post("/{account_id}/reconnect", response_model=AuthorizationOut)
async def reconnect(
    account_id: uuid.UUID,
    session: SessionDep,
    settings: SettingsDep,
    http: HttpDep,
    principal: Principal = Depends(scoped(Scope.accounts_write)),
) -> AuthorizationOut:
    """Authorize the same network account again (new tokens on the same row)."""
    return await SocialAccountService(session, settings, http).start_reconnect(principal.user, account_id)


@router.delete("/{account_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_account(
    account_id: uuid.UUID,
    session: SessionDep,
    settings: SettingsDep,
    http: HttpDep,
    principal: Principal = Depends(scoped(Scope.accounts_write)),
) -> Response:
    """Revoke at the network (best effort) and forget the tokens. An account with posts stays,
    DISCONNECTED and without tokens, for the posts' history; otherwise it is deleted."""
    await SocialAccountService(session, settings, http).disconnect(principal.user, account_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
