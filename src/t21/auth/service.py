"""Register, log in, refresh with rotation and reuse detection, log out; API keys."""

from __future__ import annotations

import uuid
from datetime import timedelta

import structlog
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from t21.admin.errors import AccountDisabled
from t21.auth.dependencies import API_KEY_PREFIX
from t21.auth.models import ApiKey, RefreshToken
from t21.auth.passwords import hash_password, verify_password
from t21.auth.repository import ApiKeyRepository, RefreshTokenRepository
from t21.auth.schemas import ApiKeyCreate, RegisterIn, TokensOut
from t21.auth.sessions import trim_user_agent
from t21.auth.tokens import create_access_token
from t21.auth.verification import send_verification
from t21.config import Settings
from t21.errors import Conflict, InvalidCredentials, NotFound, PaymentRequired, Unauthorized
from t21.kit.clock import utcnow
from t21.kit.crypto import random_token, sha256_hex
from t21.notifications.live import API_KEY_REVOKED, publish_live_event
from t21.quotas.service import user_has_feature
from t21.two_factor.service import two_factor_enabled
from t21.users.models import User
from t21.users.repository import UserRepository, normalise_email

log = structlog.get_logger(__name__)


class RefreshTokenReused(Unauthorized):
    code = "refresh_token_reused"
    message = "This refresh token was already used; every session of this sign-in was ended"
    commit_transaction = True  # the family revocation must stick although we answer 401


class AuthService:
    def __init__(self, session: AsyncSession, settings: Settings, *, ip_address: str | None = None) -> None:
        self.session = session
        self.settings = settings
        self.users = UserRepository(session)
        self.refresh_tokens = RefreshTokenRepository(session)
        # The caller's address, recorded on the refresh tokens issued (the sessions page).
        self.ip_address = ip_address

    async def register(self, data: RegisterIn, user_agent: str | None) -> tuple[User, TokensOut]:
        email = normalise_email(str(data.email))
        if await self.users.get_by_email(email) is not None:
            raise Conflict("An account with this email already exists", code="email_taken")
        user = User(
            email=email,
            password_hash=await hash_password(data.password, self.settings.bcrypt_rounds),
            name=data.name,
            time_zone=data.time_zone,
            subscription_tier=self.settings.default_tier,
        )
        try:
            async with self.session.begin_nested():
                await self.users.add(user)
        except IntegrityError:
            # Two registrations raced past the check; the unique index decided.
            raise Conflict("An account with this email already exists", code="email_taken") from None
        await send_verification(self.session, self.settings, user)
        tokens = await self._issue(user, family_id=uuid.uuid4(), user_agent=user_agent)
        return user, tokens

    async def login(self, email: str, password: str, user_agent: str | None) -> tuple[User, TokensOut | None]:
        """The person and their tokens; no tokens (None) when they use two-factor: the second
        step (POST /auth/login/2fa, two_factor.service) issues them."""
        user = await self.users.get_by_email(email)
        # Same work and same answer for an unknown email and a wrong password.
        if not await verify_password(password, user.password_hash if user else None) or user is None:
            raise InvalidCredentials()
        if user.disabled_at is not None:  # told only to whoever knows the password
            raise AccountDisabled()
        if await two_factor_enabled(self.session, user.id):
            return user, None
        return user, await self.complete_login(user, user_agent)

    async def complete_login(self, user: User, user_agent: str | None) -> TokensOut:
        if user.disabled_at is not None:  # disabled between the password and the second step
            raise AccountDisabled()
        user.last_login_at = utcnow()
        return await self._issue(user, family_id=uuid.uuid4(), user_agent=user_agent)

    async def refresh(self, secret: str, user_agent: str | None) -> TokensOut:
        token = await self.refresh_tokens.get_by_secret_for_update(secret)
        now = utcnow()
        if token is None:
            raise Unauthorized("Invalid refresh token", code="invalid_refresh_token")
        if token.rotated_at is not None or token.revoked_at is not None:
            await self.refresh_tokens.revoke_family(token.family_id, now)
            log.warning("refresh_token_reuse", user_id=str(token.user_id), family_id=str(token.family_id))
            raise RefreshTokenReused()
        if token.expires_at <= now:
            raise Unauthorized("Refresh token expired; sign in again", code="refresh_token_expired")
        user = await self.users.get(token.user_id)
        if user is None:
            raise Unauthorized("Invalid refresh token", code="invalid_refresh_token")
        if user.disabled_at is not None:
            raise AccountDisabled()
        token.rotated_at = now
        return await self._issue(user, family_id=token.family_id, user_agent=user_agent)

    async def logout(self, secret: str) -> None:
        token = await self.refresh_tokens.get_by_secret_for_update(secret)
        if token is not None:
            await self.refresh_tokens.revoke_family(token.family_id, utcnow())

    async def change_password(self, user: User, current: str, new: str) -> None:
        if not await verify_password(current, user.password_hash):
            raise InvalidCredentials("The current password is wrong")
        user.password_hash = await hash_password(new, self.settings.bcrypt_rounds)
        # A changed password ends every other session.
        await self.refresh_tokens.revoke_all_for_user(user.id, utcnow())

    async def _issue(self, user: User, *, family_id: uuid.UUID, user_agent: str | None) -> TokensOut:
        secret = random_token(32)
        await self.refresh_tokens.add(
            RefreshToken(
                user_id=user.id,
                family_id=family_id,
                token_hash=sha256_hex(secret),
                expires_at=utcnow() + timedelta(days=self.settings.refresh_token_ttl_days),
                user_agent=trim_user_agent(user_agent),
                ip_address=(self.ip_address or "")[:45] or None,
            )
        )
        return TokensOut(
            access_token=create_access_token(user.id, self.settings, session_id=family_id),
            refresh_token=secret,
            expires_in=self.settings.access_token_ttl_seconds,
        )


class ApiKeyService:
    def __init__(self, session: AsyncSession, settings: Settings) -> None:
        self.session = session
        self.settings = settings
        self.keys = ApiKeyRepository(session)

    async def create(self, user: User, data: ApiKeyCreate) -> tuple[ApiKey, str]:
        if not await user_has_feature(self.session, self.settings, user, "api_keys"):
            raise PaymentRequired(
                "API keys come with the PRO and BUSINESS plans",
                code="plan_feature_missing",
                details={"feature": "api_keys"},
            )
        secret = API_KEY_PREFIX + random_token(30)
        key = ApiKey(
            user_id=user.id,
            name=data.name,
            prefix=secret[:12],
            key_hash=sha256_hex(secret),
            scopes=data.scopes,
            expires_at=data.expires_at,
        )
        await self.keys.add(key)
        return key, secret

    async def list_for_user(self, user: User) -> list[ApiKey]:
        return await self.keys.list_for_user(user.id)

    async def revoke(self, user: User, key_id: uuid.UUID) -> None:
        key = await self.keys.get_for_user(user.id, key_id)
        if key is None:
            raise NotFound("API key not found")
        if key.revoked_at is None:
            key.revoked_at = utcnow()
            # Open live sockets opened with this key close at once, on every instance (the
            # event leaves only if the revocation commits).
            await publish_live_event(self.session, [user.id], API_KEY_REVOKED, {"apiKeyId": str(key.id)})
