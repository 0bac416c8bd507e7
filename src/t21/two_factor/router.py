"""/me/2fa: turn two-factor authentication on and off, and renew the recovery codes."""

from __future__ import annotations

from fastapi import Depends, Request, Response, status

from t21.auth.dependencies import Principal, scoped
from t21.auth.scopes import Scope
from t21.errors import ErrorResponse
from t21.kit.deps import SessionDep, SettingsDep
from t21.kit.routing import make_router
from t21.two_factor.schemas import (
    RecoveryCodesOut,
    SecondFactorIn,
    TwoFactorDisableIn,
    TwoFactorEnableIn,
    TwoFactorSetupOut,
    TwoFactorStatus,
)
from t21.two_factor.service import TwoFactorService

router = make_router(prefix="/me/2fa", tags=["two-factor"])

Person = Depends(scoped(Scope.session))
CODE_ERRORS: dict[int | str, dict[str, object]] = {
    401: {"model": ErrorResponse, "description": "invalid_two_factor_code or invalid_recovery_code"},
    429: {"model": ErrorResponse, "description": "Too many codes tried for this person"},
}


def _service(request: Request, session: SessionDep, settings: SettingsDep) -> TwoFactorService:
    return TwoFactorService(session, settings, getattr(request.app.state, "rate_limiter", None))


@router.get("", response_model=TwoFactorStatus)
async def two_factor_status(
    session: SessionDep, settings: SettingsDep, principal: Principal = Person
) -> TwoFactorStatus:
    enabled, left = await TwoFactorService(session, settings).status(principal.user)
    return TwoFactorStatus(enabled=enabled, recovery_codes_left=left)


@router.post(
    "/setup",
    response_model=TwoFactorSetupOut,
    responses={409: {"model": ErrorResponse, "description": "Already on (two_factor_already_enabled)"}},
)
async def setup_two_factor(
    session: SessionDep, settings: SettingsDep, principal: Principal = Person
) -> TwoFactorSetupOut:
    """A new secret (replacing one not confirmed yet). Nothing changes at sign-in until it is
    confirmed with a code (POST /me/2fa/enable)."""
    setup = await TwoFactorService(session, settings).setup(principal.user)
    return TwoFactorSetupOut(secret=setup.secret, otpauth_uri=setup.uri)


@router.post("/enable", response_model=RecoveryCodesOut, responses=CODE_ERRORS)
async def enable_two_factor(
    body: TwoFactorEnableIn,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: Principal = Person,
) -> RecoveryCodesOut:
    """Turns it on with a code from the app; answers the ten recovery codes, shown this once."""
    codes = await _service(request, session, settings).enable(principal.user, body.code)
    return RecoveryCodesOut(recovery_codes=codes)


@router.post("/disable", status_code=status.HTTP_204_NO_CONTENT, responses=CODE_ERRORS)
async def disable_two_factor(
    body: TwoFactorDisableIn,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: Principal = Person,
) -> Response:
    await _service(request, session, settings).disable(
        principal.user, body.password, body.code, body.recovery_code
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/recovery-codes", response_model=RecoveryCodesOut, responses=CODE_ERRORS)
async def regenerate_recovery_codes(
    body: SecondFactorIn,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: Principal = Person,
) -> RecoveryCodesOut:
    """Ten new recovery codes; the old ones stop working."""
    codes = await _service(request, session, settings).regenerate(
        principal.user, body.code, body.recovery_code
    )
    return RecoveryCodesOut(recovery_codes=codes)
