"""Connecting, listing, reconnecting and removing social accounts.

The OAuth connect flow:
1. `start_connect` (an admin of the brand) writes an `OAuthState`: a random `state` of which only
   the SHA-256 is stored, bound to the person and the brand, valid ten minutes, single use, with
   the PKCE verifier (encrypted) when the network uses PKCE. The answer is the network's
   authorization URL.
2. The network sends the browser back to `complete_connect` with `code` and `state`. The state is
   consumed *first* and stays consumed whatever happens next (the route commits even on error),
   so a callback URL can never be replayed. Then the code is exchanged, the account looked up and
   stored (upsert on brand + network + network user id), tokens encrypted.

A network without credentials on this server is offered as a **sandbox** when
`T21_SANDBOX_ENABLED`: T21's own emulator of it stands in (mounted at /sandbox/<network>), and the
account says `isSandbox: true`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
import structlog
from cryptography.fernet import InvalidToken
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from t21.auth.verification import ensure_email_verified
from t21.brands.access import require_brand
from t21.brands.models import Brand
from t21.config import Settings
from t21.db.session import transaction
from t21.enums import Platform, SocialAccountStatus, network_name
from t21.errors import NotFound, T21Error, ValidationFailed
from t21.kit.clock import utcnow
from t21.kit.crypto import random_token, sha256_hex
from t21.kit.pagination import decode_cursor, encode_cursor
from t21.organizations.roles import Action
from t21.platforms.base import AccountProfile, ErrorKind, PlatformError, TokenSet
from t21.platforms.registry import PlatformNotConfiguredError, connector_config, pkce_pair
from t21.quotas.readonly import ensure_brand_within_plan
from t21.quotas.service import billing_owner_for_brand, ensure_below_limit
from t21.social_accounts.models import OAuthState, SocialAccount
from t21.social_accounts.repository import OAuthStateRepository, SocialAccountRepository
from t21.social_accounts.schemas import AuthorizationOut, NetworkOut, SocialAccountOut
from t21.social_accounts.tokens import connector_for, read_tokens, token_vault, write_tokens
from t21.users.models import User

log = structlog.get_logger(__name__)

STATE_TTL = timedelta(minutes=10)
CREDENTIAL_SETTINGS = {
    Platform.x: "T21_X_CLIENT_ID",
    Platform.instagram: "T21_INSTAGRAM_APP_ID",
    Platform.linkedin: "T21_LINKEDIN_CLIENT_ID",
}
# What each network answers when the person clicks "Cancel" on its consent page.
USER_DENIED = frozenset({"access_denied", "user_cancelled_authorize", "user_cancelled_login"})
REMOVED_NOTE = "Removed from T21; kept for the history of its posts. Reconnect to publish again."


class ConnectFlowError(T21Error):
    """A callback that cannot complete. It commits the request's transaction, so the state it
    consumed stays consumed (nothing else has been written when it is raised)."""

    commit_transaction = True

    def __init__(self, message: str, *, code: str, status_code: int = 400, details: Any = None) -> None:
        super().__init__(message, code=code, details=details)
        self.status_code = status_code


def account_out(account: SocialAccount) -> SocialAccountOut:
    return SocialAccountOut.model_validate(account)


class SocialAccountService:
    def __init__(self, session: AsyncSession, settings: Settings, http: httpx.AsyncClient) -> None:
        self.session = session
        self.settings = settings
        self.http = http
        self.accounts = SocialAccountRepository(session)
        self.states = OAuthStateRepository(session)

    # --- which backend serves a network ---------------------------------------------------------

    def _has_credentials(self, platform: Platform) -> bool:
        try:
            connector_config(platform, self.settings, sandbox=False, sandbox_base_url=None)
        except PlatformNotConfiguredError:
            return False
        return True

    def _sandbox_for_new_account(self, platform: Platform) -> bool:
        """Real credentials win; without them the emulator stands in, if the server allows it."""
        if self._has_credentials(platform):
            return False
        if self.settings.sandbox_enabled:
            return True
        raise ValidationFailed(
            f"{network_name(platform)} is not set up on this T21 server: set {CREDENTIAL_SETTINGS[platform]} "
            "(and its secret), or enable the sandbox with T21_SANDBOX_ENABLED=true",
            code="platform_not_configured",
            details={"platform": platform.value},
        )

    def networks(self) -> list[NetworkOut]:
        out = []
        for platform in Platform:
            real = self._has_credentials(platform)
            sandbox = not real and self.settings.sandbox_enabled
            out.append(NetworkOut(platform=platform, available=real or sandbox, sandbox=sandbox))
        return out

    # --- starting the flow -------------------------------------------------------------------

    async def start_connect(self, user: User, platform: Platform, brand_id: uuid.UUID) -> AuthorizationOut:
        await ensure_email_verified(self.session, self.settings, user.id)
        brand, _ = await require_brand(self.session, user.id, brand_id, Action.connect_social_accounts)
        await self._ensure_brand_writable(brand)
        # Checked here so the person is not sent through the network's consent page for nothing;
        # the callback checks again under a lock (this answer may be old by then).
        await self._ensure_room_for_one_more(brand, lock=False)
        sandbox = self._sandbox_for_new_account(platform)
        return await self._authorize(user, brand, platform, sandbox=sandbox, reconnect=None)

    async def start_reconnect(self, user: User, account_id: uuid.UUID) -> AuthorizationOut:
        await ensure_email_verified(self.session, self.settings, user.id)
        account = await self._require_account(user, account_id, Action.connect_social_accounts)
        brand = await self.session.get(Brand, account.brand_id)
        assert brand is not None
        await self._ensure_brand_writable(brand)
        if account.access_token_encrypted is None:
            await self._ensure_room_for_one_more(brand, lock=False)
        platform = Platform(account.platform)
        # The same backend as before: a sandbox account lives in the emulator, a real one at the
        # network, and an account cannot move between them (its network user id would change).
        if account.is_sandbox and not self.settings.sandbox_enabled:
            raise ValidationFailed(
                "This is a sandbox account and the sandbox is turned off on this server",
                code="sandbox_disabled",
            )
        if not account.is_sandbox and not self._has_credentials(platform):
            raise ValidationFailed(
                f"{network_name(platform)} is not set up on this T21 server any more: set "
                f"{CREDENTIAL_SETTINGS[platform]} to reconnect this account",
                code="platform_not_configured",
                details={"platform": platform.value},
            )
        return await self._authorize(user, brand, platform, sandbox=account.is_sandbox, reconnect=account)

    async def _authorize(
        self, user: User, brand: Brand, platform: Platform, *, sandbox: bool, reconnect: SocialAccount | None
    ) -> AuthorizationOut:
        connector = connector_for(self.settings, self.http, platform, sandbox=sandbox)
        state = random_token(32)
        verifier, challenge = pkce_pair() if connector.uses_pkce else (None, None)
        expires_at = utcnow() + STATE_TTL
        await self.states.add(
            OAuthState(
                state_hash=sha256_hex(state),
                user_id=user.id,
                brand_id=brand.id,
                platform=platform.value,
                code_verifier_encrypted=token_vault(self.settings).encrypt(verifier) if verifier else None,
                reconnect_account_id=reconnect.id if reconnect is not None else None,
                sandbox=sandbox,
                expires_at=expires_at,
            )
        )
        url = connector.authorization_url(state=state, code_challenge=challenge)
        return AuthorizationOut(authorization_url=url, sandbox=sandbox, expires_at=expires_at)

    async def _ensure_brand_writable(self, brand: Brand) -> None:
        """After a downgrade, brands over the plan's limit are read-only: no new connections."""
        owner = await billing_owner_for_brand(self.session, brand)
        await ensure_brand_within_plan(self.session, self.settings, owner, brand)

    async def _ensure_room_for_one_more(self, brand: Brand, *, lock: bool) -> None:
        owner = await billing_owner_for_brand(self.session, brand)
        if lock:
            await self.accounts.lock_owner(owner)
        current = await self.accounts.count_holding_tokens(owner)
        ensure_below_limit(current, owner.plan(self.settings), "social_accounts", "social accounts")

    # --- the callback ------------------------------------------------------------------------

    async def complete_connect(
        self,
        platform_name: str,
        *,
        state: str | None,
        code: str | None,
        error: str | None,
        error_description: str | None,
        caller_id: uuid.UUID | None,
    ) -> SocialAccount:
        """Finish the flow; every failure is a `ConnectFlowError` with a code and a sentence."""
        row = await self._consume_state(platform_name, state)
        platform = Platform(row.platform)
        name = network_name(platform)
        if error:
            if error in USER_DENIED:
                raise ConnectFlowError(
                    f"The connection to {name} was cancelled: T21 was not given access.", code="access_denied"
                )
            raise ConnectFlowError(
                f"{name} refused the connection: {error_description or error}",
                code="authorization_refused",
                details={"networkError": error},
            )
        if not code:
            raise ConnectFlowError(f"{name} sent no authorization code back.", code="missing_code")
        if caller_id is not None and caller_id != row.user_id:
            # The callback carried someone's credentials, and they are not the person who started
            # the flow: a state must not connect an account on another person's behalf.
            raise ConnectFlowError(
                "This connection was started by someone else; start it again from your account.",
                code="state_user_mismatch",
                status_code=403,
            )
        user = await self.session.get(User, row.user_id)
        if user is None:
            raise ConnectFlowError(
                "The person who started this connection no longer exists.", code="invalid_state"
            )
        try:
            # Rights may have changed in the minutes the person spent at the network.
            brand, _ = await require_brand(
                self.session, user.id, row.brand_id, Action.connect_social_accounts
            )
        except T21Error as exc:
            raise ConnectFlowError(exc.message, code=exc.code, status_code=exc.status_code) from exc

        tokens, profile = await self._exchange(row, platform, code)
        return await self._store(row, brand, user, platform, tokens, profile)

    async def _consume_state(self, platform_name: str, state: str | None) -> OAuthState:
        if not state:
            raise ConnectFlowError(
                "The network sent no state back; start the connection again.", code="invalid_state"
            )
        row = await self.states.get_by_hash_for_update(sha256_hex(state))
        if row is None or row.platform != platform_name:
            raise ConnectFlowError(
                "This connection link is not valid; start the connection again.", code="invalid_state"
            )
        if row.used_at is not None:
            raise ConnectFlowError(
                "This connection link was already used; start the connection again.", code="state_used"
            )
        if row.expires_at <= utcnow():
            raise ConnectFlowError(
                "This connection link expired (they last 10 minutes); start the connection again.",
                code="state_expired",
            )
        row.used_at = utcnow()
        await self.session.flush()
        return row

    async def _exchange(
        self, row: OAuthState, platform: Platform, code: str
    ) -> tuple[TokenSet, AccountProfile]:
        name = network_name(platform)
        try:
            connector = connector_for(self.settings, self.http, platform, sandbox=row.sandbox)
        except PlatformNotConfiguredError as exc:
            raise ConnectFlowError(
                f"{name} is not set up on this T21 server any more.",
                code="platform_not_configured",
                status_code=422,
            ) from exc
        verifier = None
        if row.code_verifier_encrypted:
            try:
                verifier = token_vault(self.settings).decrypt(row.code_verifier_encrypted)
            except ValueError as exc:
                # Sealed under an encryption key this server no longer has.
                raise ConnectFlowError(
                    "This connection link can no longer be read; start the connection again.",
                    code="invalid_state",
                ) from exc
        try:
            tokens = await connector.exchange_code(code=code, code_verifier=verifier)
            profile = await connector.get_profile(tokens.access_token)
        except PlatformError as exc:
            raise self._network_failure(name, exc) from exc
        return tokens, profile

    @staticmethod
    def _network_failure(name: str, exc: PlatformError) -> ConnectFlowError:
        if exc.kind in (ErrorKind.TRANSIENT, ErrorKind.UNKNOWN_OUTCOME):
            return ConnectFlowError(
                f"T21 could not reach {name} to finish the connection; try again in a moment.",
                code="platform_unavailable",
                status_code=502,
            )
        if exc.kind is ErrorKind.RATE_LIMITED:
            return ConnectFlowError(
                f"{name} is limiting requests right now; try again in a few minutes.",
                code="platform_rate_limited",
                status_code=503,
                details={"retryAfter": exc.retry_after},
            )
        return ConnectFlowError(
            f"{name} did not accept the authorization: {exc.message}",
            code="authorization_failed",
            details={"networkCode": exc.platform_code},
        )

    async def _store(
        self,
        row: OAuthState,
        brand: Brand,
        user: User,
        platform: Platform,
        tokens: TokenSet,
        profile: AccountProfile,
    ) -> SocialAccount:
        name = network_name(platform)
        if row.reconnect_account_id is not None:
            account = await self.accounts.get_for_update(row.reconnect_account_id)
            if account is None:
                raise ConnectFlowError(
                    "The account to reconnect was removed meanwhile.", code="invalid_state"
                )
            if account.platform_user_id != profile.platform_user_id:
                raise ConnectFlowError(
                    f"You signed in to a different {name} account than the one being reconnected "
                    f"({account.username or account.platform_user_id}); sign in as that account, or connect "
                    "the other one as a new account.",
                    code="account_mismatch",
                    status_code=409,
                )
        else:
            account = await self.accounts.find_identity(brand.id, platform, profile.platform_user_id)
        if account is None or account.access_token_encrypted is None:
            try:
                await self._ensure_room_for_one_more(brand, lock=True)
            except T21Error as exc:
                raise ConnectFlowError(
                    exc.message, code=exc.code, status_code=exc.status_code, details=exc.details
                ) from exc
        try:
            # A savepoint: if another callback inserted the same identity a moment ago, only this
            # insert is undone and the state's consumption is kept.
            async with self.session.begin_nested():
                if account is None:
                    account = SocialAccount(
                        brand_id=brand.id, platform=platform, platform_user_id=profile.platform_user_id
                    )
                    self.session.add(account)
                self._apply_grant(account, user, row.sandbox, tokens, profile)
                await self.session.flush()
        except IntegrityError as exc:
            raise ConnectFlowError(
                f"This {name} account was being connected twice at once; it is connected, reload the page.",
                code="already_connecting",
                status_code=409,
            ) from exc
        await self.session.refresh(account)
        log.info(
            "social_account_connected",
            account_id=str(account.id),
            platform=platform.value,
            sandbox=row.sandbox,
            reconnect=row.reconnect_account_id is not None,
        )
        return account

    def _apply_grant(
        self, account: SocialAccount, user: User, sandbox: bool, tokens: TokenSet, profile: AccountProfile
    ) -> None:
        # A new grant replaces the old one entirely: a refresh token of the previous grant is
        # dead at the network (or belongs to a grant the person just replaced).
        account.refresh_token_encrypted = None
        account.refresh_token_expires_at = None
        account.scopes = []
        write_tokens(self.settings, account, tokens)
        account.username = profile.username
        account.display_name = profile.display_name
        account.status = SocialAccountStatus.CONNECTED
        account.is_sandbox = sandbox
        account.last_error = None
        account.expiry_warning_sent_at = None
        account.connected_by_id = user.id

    # --- reading -------------------------------------------------------------------------------

    async def _require_account(self, user: User, account_id: uuid.UUID, action: Action) -> SocialAccount:
        account = await self.accounts.get_visible(user.id, account_id)
        if account is None:
            raise NotFound("Social account not found", code="social_account_not_found")
        await require_brand(self.session, user.id, account.brand_id, action)
        return account

    async def get(self, user: User, account_id: uuid.UUID) -> SocialAccountOut:
        return account_out(await self._require_account(user, account_id, Action.view_social_accounts))

    async def list(
        self, user: User, *, brand_id: uuid.UUID | None, cursor: str | None, limit: int
    ) -> tuple[list[SocialAccountOut], str | None]:
        if brand_id is not None:
            await require_brand(self.session, user.id, brand_id, Action.view_social_accounts)
        after: tuple[datetime, uuid.UUID] | None = None
        if cursor:
            created_at, last_id = decode_cursor(cursor, (datetime, uuid.UUID))
            after = (created_at, last_id)
        # One row more than asked says whether another page follows.
        rows = await self.accounts.list_visible(user.id, brand_id=brand_id, after=after, limit=limit + 1)
        page, more = rows[:limit], len(rows) > limit
        next_cursor = encode_cursor(page[-1].created_at, page[-1].id) if more else None
        return [account_out(a) for a in page], next_cursor

    # --- removing ------------------------------------------------------------------------------

    async def disconnect(self, user: User, account_id: uuid.UUID) -> None:
        """Revoke at the network (best effort), then forget the tokens. An account whose posts
        exist is kept as DISCONNECTED with no tokens, because deleting it would delete those
        posts' per-network history (published ids, metrics); it no longer counts against the
        plan. An account without posts is deleted."""
        account = await self._require_account(user, account_id, Action.disconnect_social_accounts)
        try:
            access_token: str | None = read_tokens(self.settings, account).access_token
        except (PlatformError, ValueError):
            access_token = None  # no token, or sealed under a key this server no longer has
        platform, sandbox = account.platform, account.is_sandbox
        if await self.accounts.has_posts(account.id):
            account.access_token_encrypted = None
            account.refresh_token_encrypted = None
            account.token_expires_at = None
            account.refresh_token_expires_at = None
            account.status = SocialAccountStatus.DISCONNECTED
            account.last_error = REMOVED_NOTE
            await self.session.flush()
        else:
            await self.accounts.delete(account)
        if access_token is not None:
            await self._revoke(platform, sandbox, access_token)

    async def _revoke(self, platform: str, sandbox: bool, access_token: str) -> None:
        try:
            await connector_for(self.settings, self.http, platform, sandbox=sandbox).revoke(access_token)
        except (PlatformError, PlatformNotConfiguredError, ValueError, httpx.HTTPError) as exc:
            # Removing the account in T21 must not depend on the network answering.
            log.warning("social_account_revoke_failed", platform=platform, error=repr(exc))


# --- key rotation --------------------------------------------------------------------------------


@dataclass
class RotationReport:
    accounts: int = 0
    states: int = 0
    failed: list[str] = field(default_factory=list)


async def rotate_encryption_keys(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, *, batch_size: int = 500
) -> RotationReport:
    """Re-encrypt every social token and PKCE verifier under the newest key of
    T21_ENCRYPTION_KEYS. Batches commit one by one; rotating is idempotent, so an interrupted
    run is finished by running it again. Rows no configured key can open are reported."""
    vault = token_vault(settings)
    report = RotationReport()

    def rotate(value: str | None, what: str) -> str | None:
        if value is None:
            return None
        try:
            return vault.rotate(value)
        except InvalidToken:
            report.failed.append(what)
            return value

    after: uuid.UUID | None = None
    while True:
        async with transaction(sessionmaker) as session:
            accounts = await SocialAccountRepository(session).encrypted_batch(after, batch_size)
            for account in accounts:
                account.access_token_encrypted = rotate(
                    account.access_token_encrypted, f"social_account {account.id}"
                )
                account.refresh_token_encrypted = rotate(
                    account.refresh_token_encrypted, f"social_account {account.id} (refresh token)"
                )
                report.accounts += 1
        if len(accounts) < batch_size:
            break
        after = accounts[-1].id
    after = None
    while True:
        async with transaction(sessionmaker) as session:
            states = await OAuthStateRepository(session).verifier_batch(after, batch_size)
            for state in states:
                state.code_verifier_encrypted = rotate(
                    state.code_verifier_encrypted, f"oauth_state {state.id}"
                )
                report.states += 1
        if len(states) < batch_size:
            break
        after = states[-1].id
    return report
