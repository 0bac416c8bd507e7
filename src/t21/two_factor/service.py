"""TOTP two-factor sign-in (issue 17): RFC 6238 codes (30-second steps, 6 digits, one step either
side accepted), ten one-time recovery codes, a signed short-lived challenge between the password
and the code at login, and organizations that require their members to use it.

A code is accepted once: the step it belongs to is stored, and that step and every earlier one is
refused afterwards (a code seen over a shoulder or replayed from a log is spent). Every check of a
code (login, enable, disable, new recovery codes) counts against the person's own limit
(T21_RATE_LIMIT_TWO_FACTOR), on top of the per-IP limit of the auth endpoints, so six digits
cannot be brute-forced from many addresses either."""

from __future__ import annotations

import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import jwt
import pyotp
import structlog
from limits import parse
from sqlalchemy import and_, delete, exists, func, not_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from t21.auth.passwords import verify_password
from t21.config import Settings
from t21.errors import Conflict, Forbidden, InvalidCredentials, RateLimited, Unauthorized
from t21.kit.clock import utcnow
from t21.kit.crypto import TokenVault, sha256_hex
from t21.organizations.models import Organization
from t21.organizations.roles import Action
from t21.two_factor.models import RecoveryCode, TwoFactor
from t21.users.models import User

log = structlog.get_logger(__name__)

STEP_SECONDS = 30
DIGITS = 6
WINDOW = 1  # steps accepted on either side of now (clock drift)
RECOVERY_CODE_COUNT = 10
CHALLENGE_TTL = timedelta(minutes=5)
CHALLENGE_TYPE = "2fa_challenge"
ISSUER = "T21"
# Recovery codes: 10 characters of an alphabet without look-alikes (about 50 bits), shown as
# xxxxx-xxxxx; case, dashes and spaces do not matter when typed back.
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


class TwoFactorCodeInvalid(Unauthorized):
    code = "invalid_two_factor_code"
    message = "That code is not valid. Enter the current 6-digit code from your authenticator app."


class RecoveryCodeInvalid(Unauthorized):
    code = "invalid_recovery_code"
    message = "That recovery code is not valid or was already used."


class ChallengeInvalid(Unauthorized):
    code = "invalid_two_factor_challenge"
    message = "This sign-in attempt expired or is not valid; sign in with your password again."


class TwoFactorRequired(Forbidden):
    code = "two_factor_required"
    message = (
        "This organization requires two-factor authentication: turn it on in Settings "
        "(POST /me/2fa/setup, then /me/2fa/enable) to act in it."
    )


_vaults: dict[tuple[str, ...], TokenVault] = {}


def _vault(settings: Settings) -> TokenVault:
    keys = tuple(settings.fernet_keys)
    if keys not in _vaults:
        _vaults[keys] = TokenVault(list(keys))
    return _vaults[keys]


def time_step(moment: datetime) -> int:
    return int(moment.timestamp()) // STEP_SECONDS


def matching_step(secret: str, code: str, last_used_step: int | None, now: datetime) -> int | None:
    """The time step `code` belongs to (now, or one step either side), unless it was used."""
    code = "".join(code.split())
    if len(code) != DIGITS or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS)
    current = time_step(now)
    found = None
    for step in range(current - WINDOW, current + WINDOW + 1):
        # Every candidate compared, in constant time: the answer's timing says nothing.
        if hmac.compare_digest(totp.generate_otp(step), code) and (
            last_used_step is None or step > last_used_step
        ):
            found = step
    return found


def normalise_recovery_code(code: str) -> str:
    return "".join(ch for ch in code.lower() if ch.isalnum())


def new_recovery_codes() -> list[str]:
    codes = []
    for _ in range(RECOVERY_CODE_COUNT):
        raw = "".join(secrets.choice(_ALPHABET) for _ in range(10))
        codes.append(f"{raw[:5]}-{raw[5:]}")
    return codes


def create_challenge(user: User, settings: Settings) -> tuple[str, int]:
    """A signed token saying "this person gave the right password", good for one second step
    within CHALLENGE_TTL. It names the password it was issued for (a hash of its hash), so a
    password change in between voids it; it is never an access token (`typ`, audience)."""
    now = utcnow()
    claims = {
        "sub": str(user.id),
        "typ": CHALLENGE_TYPE,
        "iat": int(now.timestamp()),
        "exp": int((now + CHALLENGE_TTL).timestamp()),
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience + ":2fa",
        "pwd": sha256_hex(user.password_hash)[:16],
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, settings.jwt_secret, algorithm="HS256"), int(CHALLENGE_TTL.total_seconds())


def read_challenge(token: str, settings: Settings) -> tuple[uuid.UUID, str]:
    """The person the challenge is for and its password mark. The expiry is checked on the
    business clock (t21.kit.clock), so tests can move it."""
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            settings.jwt_secret,
            algorithms=["HS256"],
            audience=settings.jwt_audience + ":2fa",
            issuer=settings.jwt_issuer,
            options={"require": ["exp", "sub", "typ"], "verify_exp": False, "verify_iat": False},
        )
        if claims.get("typ") != CHALLENGE_TYPE or int(claims["exp"]) <= utcnow().timestamp():
            raise ChallengeInvalid()
        return uuid.UUID(str(claims["sub"])), str(claims.get("pwd", ""))
    except (jwt.PyJWTError, ValueError, TypeError):
        raise ChallengeInvalid() from None


async def two_factor_enabled(session: AsyncSession, user_id: uuid.UUID) -> bool:
    return bool(
        await session.scalar(
            select(exists().where(TwoFactor.user_id == user_id, TwoFactor.enabled_at.is_not(None)))
        )
    )


# What a member without two-factor may still do in an organization that requires it: read, and
# leave. Everything else (every write on its brands, inviting, settings) answers 403
# two_factor_required until they turn it on.
READS_WITHOUT_TWO_FACTOR = frozenset(
    {
        Action.view_brand,
        Action.view_posts,
        Action.view_media,
        Action.view_ai_history,
        Action.view_social_accounts,
        Action.view_analytics,
        Action.view_organization,
        Action.view_plan,
        Action.leave_organization,
    }
)


async def ensure_org_two_factor(
    session: AsyncSession, user_id: uuid.UUID, organization_id: uuid.UUID | None, action: Action
) -> None:
    """403 two_factor_required when the organization requires 2FA, the person has none and
    `action` is more than reading. One small query, only for such actions on an organization."""
    if organization_id is None or action in READS_WITHOUT_TWO_FACTOR:
        return
    has_two_factor = exists().where(TwoFactor.user_id == user_id, TwoFactor.enabled_at.is_not(None))
    blocked = await session.scalar(
        select(and_(Organization.require_two_factor, not_(has_two_factor))).where(
            Organization.id == organization_id
        )
    )
    if blocked:
        raise TwoFactorRequired()


@dataclass
class Setup:
    secret: str
    uri: str


class TwoFactorService:
    def __init__(self, session: AsyncSession, settings: Settings, limiter: Any = None) -> None:
        self.session = session
        self.settings = settings
        self.limiter = limiter

    async def _row(self, user_id: uuid.UUID, *, for_update: bool = False) -> TwoFactor | None:
        stmt = select(TwoFactor).where(TwoFactor.user_id == user_id)
        if for_update:
            stmt = stmt.with_for_update().execution_options(populate_existing=True)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def _count_attempt(self, user_id: uuid.UUID) -> None:
        if self.limiter is None:
            return
        decision = await self.limiter.hit(parse(self.settings.rate_limit_two_factor), f"2fa:{user_id}")
        if not decision.allowed:
            retry_after = max(1, round(decision.reset_after))
            raise RateLimited(
                f"Too many two-factor codes tried; try again in {retry_after} seconds",
                details={"retryAfter": retry_after},
                headers={"Retry-After": str(retry_after)},
            )

    async def status(self, user: User) -> tuple[bool, int]:
        row = await self._row(user.id)
        if row is None or row.enabled_at is None:
            return False, 0
        left = await self.session.scalar(
            select(func.count())
            .select_from(RecoveryCode)
            .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
        )
        return True, int(left or 0)

    async def setup(self, user: User) -> Setup:
        row = await self._row(user.id, for_update=True)
        if row is not None and row.enabled_at is not None:
            raise Conflict(
                "Two-factor authentication is already on; turn it off first to change the app",
                code="two_factor_already_enabled",
            )
        secret = pyotp.random_base32()
        encrypted = _vault(self.settings).encrypt(secret)
        if row is None:
            self.session.add(TwoFactor(user_id=user.id, secret_encrypted=encrypted))
        else:
            row.secret_encrypted, row.last_used_step = encrypted, None
        await self.session.flush()
        uri = pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).provisioning_uri(
            name=user.email, issuer_name=ISSUER
        )
        return Setup(secret=secret, uri=uri)

    async def enable(self, user: User, code: str) -> list[str]:
        row = await self._row(user.id, for_update=True)
        if row is None:
            raise Conflict("Start with POST /me/2fa/setup", code="two_factor_not_set_up")
        if row.enabled_at is not None:
            raise Conflict("Two-factor authentication is already on", code="two_factor_already_enabled")
        await self._count_attempt(user.id)
        step = matching_step(self._secret(row), code, row.last_used_step, utcnow())
        if step is None:
            raise TwoFactorCodeInvalid()
        row.enabled_at, row.last_used_step = utcnow(), step
        log.info("two_factor_enabled", user_id=str(user.id))
        return await self._replace_recovery_codes(user.id)

    async def disable(self, user: User, password: str, code: str | None, recovery_code: str | None) -> None:
        if not await verify_password(password, user.password_hash):
            raise InvalidCredentials("The password is wrong", code="invalid_password")
        await self.verify(user.id, code, recovery_code)
        await self.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
        await self.session.execute(delete(TwoFactor).where(TwoFactor.user_id == user.id))
        log.info("two_factor_disabled", user_id=str(user.id))

    async def regenerate(self, user: User, code: str | None, recovery_code: str | None) -> list[str]:
        await self.verify(user.id, code, recovery_code)
        return await self._replace_recovery_codes(user.id)

    async def verify(self, user_id: uuid.UUID, code: str | None, recovery_code: str | None) -> None:
        """A valid, unused TOTP code or recovery code of the person's enabled second factor (the
        code is spent). Counts against the person's limit first."""
        row = await self._row(user_id, for_update=True)
        if row is None or row.enabled_at is None:
            raise Conflict("Two-factor authentication is off", code="two_factor_not_enabled")
        await self._count_attempt(user_id)
        if recovery_code is not None:
            spent = await self.session.scalar(
                update(RecoveryCode)
                .where(
                    RecoveryCode.user_id == user_id,
                    RecoveryCode.code_hash == sha256_hex(normalise_recovery_code(recovery_code)),
                    RecoveryCode.used_at.is_(None),
                )
                .values(used_at=utcnow())
                .returning(RecoveryCode.id)
            )
            if spent is None:
                raise RecoveryCodeInvalid()
            log.info("two_factor_recovery_code_used", user_id=str(user_id))
            return
        step = matching_step(self._secret(row), code or "", row.last_used_step, utcnow())
        if step is None:
            raise TwoFactorCodeInvalid()
        row.last_used_step = step

    async def complete_login(self, challenge: str, code: str | None, recovery_code: str | None) -> User:
        """The second step of a sign-in: the challenge from the password step and a code."""
        user_id, password_mark = read_challenge(challenge, self.settings)
        user = await self.session.get(User, user_id)
        if user is None or not hmac.compare_digest(password_mark, sha256_hex(user.password_hash)[:16]):
            raise ChallengeInvalid()
        try:
            await self.verify(user.id, code, recovery_code)
        except Conflict:
            raise ChallengeInvalid() from None  # turned off in between: sign in again
        return user

    def _secret(self, row: TwoFactor) -> str:
        return _vault(self.settings).decrypt(row.secret_encrypted)

    async def _replace_recovery_codes(self, user_id: uuid.UUID) -> list[str]:
        await self.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id))
        codes = new_recovery_codes()
        self.session.add_all(
            RecoveryCode(user_id=user_id, code_hash=sha256_hex(normalise_recovery_code(c))) for c in codes
        )
        await self.session.flush()
        return codes
