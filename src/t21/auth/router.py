from __future__ import annotations

import uuid

from fastapi import Depends, Request, Response, status

from t21.auth.dependencies import Principal, get_principal, scoped
from t21.auth.recovery import confirm_reset, request_reset, reset_requested
from t21.auth.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyOut,
    AuthOut,
    ChangePasswordIn,
    LoginIn,
    LogoutIn,
    PasswordResetConfirmIn,
    PasswordResetIn,
    PasswordResetRequested,
    RefreshIn,
    RefreshOut,
    RegisterIn,
    VerifyEmailIn,
)
from t21.auth.scopes import Scope
from t21.auth.service import ApiKeyService, AuthService
from t21.auth.sessions import client_ip
from t21.auth.verification import resend_verification, verify_email
from t21.errors import ErrorResponse
from t21.kit.deps import SessionDep, SettingsDep
from t21.kit.routing import make_router
from t21.kit.schemas import ListResponse
from t21.two_factor.schemas import LoginSecondStepIn, TwoFactorChallengeOut
from t21.two_factor.service import TwoFactorService, create_challenge
from t21.users.schemas import UserOut, UserUpdate

router = make_router(prefix="/auth", tags=["auth"])
api_keys_router = make_router(prefix="/api-keys", tags=["api-keys"])


@router.post("/register", status_code=status.HTTP_201_CREATED, response_model=AuthOut)
async def register(body: RegisterIn, request: Request, session: SessionDep, settings: SettingsDep) -> AuthOut:
    user, tokens = await AuthService(session, settings, ip_address=client_ip(request)).register(
        body, request.headers.get("user-agent")
    )
    return AuthOut(user=UserOut.model_validate(user), tokens=tokens)


@router.post("/login", response_model=AuthOut | TwoFactorChallengeOut)
async def login(
    body: LoginIn, request: Request, session: SessionDep, settings: SettingsDep
) -> AuthOut | TwoFactorChallengeOut:
    """`{user, tokens}`; for a person who uses two-factor, `{twoFactorRequired: true, challenge,
    expiresIn}` instead (no tokens): send the challenge and a code to POST /auth/login/2fa."""
    user, tokens = await AuthService(session, settings, ip_address=client_ip(request)).login(
        str(body.email), body.password, request.headers.get("user-agent")
    )
    if tokens is None:
        challenge, ttl = create_challenge(user, settings)
        return TwoFactorChallengeOut(challenge=challenge, expires_in=ttl)
    return AuthOut(user=UserOut.model_validate(user), tokens=tokens)


@router.post(
    "/login/2fa",
    response_model=AuthOut,
    responses={
        401: {
            "model": ErrorResponse,
            "description": "invalid_two_factor_code, invalid_recovery_code or "
            "invalid_two_factor_challenge (expired: sign in again)",
        },
        429: {"model": ErrorResponse, "description": "Too many codes tried, from this IP or for this person"},
    },
)
async def login_second_step(
    body: LoginSecondStepIn, request: Request, session: SessionDep, settings: SettingsDep
) -> AuthOut:
    """The second step of signing in with two-factor: the challenge and a 6-digit code (or a
    recovery code, which then stops working)."""
    limiter = getattr(request.app.state, "rate_limiter", None)
    user = await TwoFactorService(session, settings, limiter).complete_login(
        body.challenge, body.code, body.recovery_code
    )
    tokens = await AuthService(session, settings, ip_address=client_ip(request)).complete_login(
        user, request.headers.get("user-agent")
    )
    return AuthOut(user=UserOut.model_validate(user), tokens=tokens)


@router.post("/refresh", response_model=RefreshOut)
async def refresh(
    body: RefreshIn, request: Request, session: SessionDep, settings: SettingsDep
) -> RefreshOut:
    tokens = await AuthService(session, settings, ip_address=client_ip(request)).refresh(
        body.refresh_token, request.headers.get("user-agent")
    )
    return RefreshOut(tokens=tokens)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(body: LogoutIn, session: SessionDep, settings: SettingsDep) -> Response:
    await AuthService(session, settings).logout(body.refresh_token)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/password-reset",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=PasswordResetRequested,
    responses={429: {"model": ErrorResponse, "description": "Too many from this IP or for this address"}},
)
async def request_password_reset(
    body: PasswordResetIn, request: Request, session: SessionDep, settings: SettingsDep
) -> PasswordResetRequested:
    """Emails a single-use link to `/reset-password?token=...` (valid 30 minutes) if an account
    uses this address. The answer is the same either way."""
    limiter = getattr(request.app.state, "rate_limiter", None)
    await request_reset(session, settings, limiter, str(body.email))
    return PasswordResetRequested(message=reset_requested(settings))


@router.post(
    "/password-reset/confirm",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={
        400: {"model": ErrorResponse, "description": "Unknown token (invalid_reset_token)"},
        410: {"model": ErrorResponse, "description": "reset_token_used or reset_token_expired"},
    },
)
async def confirm_password_reset(
    body: PasswordResetConfirmIn, session: SessionDep, settings: SettingsDep
) -> Response:
    """Sets the new password, spends the link, and signs the person out everywhere (every
    refresh token revoked, live sockets closed)."""
    await confirm_reset(session, settings, body.token, body.password)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/verify-email",
    response_model=UserOut,
    responses={
        400: {"model": ErrorResponse, "description": "Unknown token (invalid_verification_token)"},
        410: {"model": ErrorResponse, "description": "verification_token_expired or verification_token_used"},
    },
)
async def confirm_email(body: VerifyEmailIn, session: SessionDep) -> UserOut:
    """Marks the address verified (the link from the sign-up email; no sign-in needed: it may be
    opened on another device). Opening it again once verified answers the same."""
    return UserOut.model_validate(await verify_email(session, body.token))


@router.post(
    "/verify-email/resend",
    status_code=status.HTTP_202_ACCEPTED,
    response_class=Response,
    responses={
        409: {"model": ErrorResponse, "description": "Already verified (email_already_verified)"},
        429: {"model": ErrorResponse, "description": "Within the cool-down (verification_cooldown)"},
    },
)
async def resend_verification_email(
    session: SessionDep, settings: SettingsDep, principal: Principal = Depends(scoped(Scope.session))
) -> Response:
    await resend_verification(session, settings, principal.user)
    return Response(status_code=status.HTTP_202_ACCEPTED)


@router.get("/me", response_model=UserOut)
async def me(principal: Principal = Depends(get_principal)) -> UserOut:
    return UserOut.model_validate(principal.user)


@router.patch("/me", response_model=UserOut)
async def update_me(body: UserUpdate, principal: Principal = Depends(scoped(Scope.session))) -> UserOut:
    if body.name is not None:
        principal.user.name = body.name
    if body.time_zone is not None:
        principal.user.time_zone = body.time_zone
    return UserOut.model_validate(principal.user)


@router.post("/password", status_code=status.HTTP_204_NO_CONTENT)
async def change_password(
    body: ChangePasswordIn,
    session: SessionDep,
    settings: SettingsDep,
    principal: Principal = Depends(scoped(Scope.session)),
) -> Response:
    await AuthService(session, settings).change_password(
        principal.user, body.current_password, body.new_password
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@api_keys_router.post("", status_code=status.HTTP_201_CREATED, response_model=ApiKeyCreated)
async def create_api_key(
    body: ApiKeyCreate,
    session: SessionDep,
    settings: SettingsDep,
    principal: Principal = Depends(scoped(Scope.session)),
) -> ApiKeyCreated:
    key, secret = await ApiKeyService(session, settings).create(principal.user, body)
    return ApiKeyCreated.model_validate({**ApiKeyOut.model_validate(key).model_dump(), "key": secret})


@api_keys_router.get("", response_model=ListResponse[ApiKeyOut])
async def list_api_keys(
    session: SessionDep, settings: SettingsDep, principal: Principal = Depends(scoped(Scope.session))
) -> ListResponse[ApiKeyOut]:
    keys = await ApiKeyService(session, settings).list_for_user(principal.user)
    return ListResponse[ApiKeyOut](data=[ApiKeyOut.model_validate(k) for k in keys])


@api_keys_router.delete("/{key_id}", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_api_key(
    key_id: uuid.UUID,
    session: SessionDep,
    settings: SettingsDep,
    principal: Principal = Depends(scoped(Scope.session)),
) -> Response:
    await ApiKeyService(session, settings).revoke(principal.user, key_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
