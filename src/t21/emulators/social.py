"""What the X, Instagram and LinkedIn emulators share: an adjustable clock, OAuth codes and tokens
with real expiry and revocation, metrics that grow with a post's age, and the control routes tests
use to move time, expire or revoke tokens and delete posts.

Control routes (in addition to those of `install_emulator`):

    POST /_emulator/clock            {"advance": seconds}   move the emulator's clock forward
    POST /_emulator/tokens/expire    {"token": ...}         the access token now answers "expired"
    POST /_emulator/tokens/revoke    {"token": ...}         the user's whole grant is revoked
    POST /_emulator/posts/{id}/delete                       the post is gone (metrics say so)
"""

from __future__ import annotations

import copy
import hashlib
import math
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from t21.emulators.base import Emulator

AUTH_CODE_TTL = 600.0


@dataclass
class IssuedToken:
    value: str
    kind: str  # "access" | "refresh"
    user_id: str
    client_id: str
    scopes: list[str]
    issued_at: float
    expires_at: float | None
    revoked: bool = False
    used: bool = False  # refresh tokens that rotate die on first use


@dataclass
class AuthCode:
    value: str
    client_id: str
    redirect_uri: str
    user_id: str
    scopes: list[str]
    expires_at: float
    code_challenge: str | None = None
    used: bool = False


@dataclass
class SocialEmulator(Emulator):
    """An `Emulator` whose store is re-seeded on reset and whose clock tests can move."""

    clock_offset: float = 0.0
    # Scripted refusals: each authorization while > 0 is answered error=access_denied.
    deny_authorizations: int = 0
    seed: Callable[[SocialEmulator], None] = field(default=lambda emulator: None)

    def __post_init__(self) -> None:
        # Each network's tunables (limits, processing polls) as created, so a reset undoes a test's tweaks.
        own = {f.name for f in fields(SocialEmulator)}
        self._tunables = {
            f.name: copy.deepcopy(getattr(self, f.name)) for f in fields(self) if f.name not in own
        }
        self.reset()

    def reset(self) -> None:
        with self.lock:
            super().reset()
            self.clock_offset = 0.0
            self.deny_authorizations = 0
            for name, value in self._tunables.items():
                setattr(self, name, copy.deepcopy(value))
            self.store.update(tokens={}, codes={}, users={}, counters={})
            self.seed(self)

    def now(self) -> float:
        return time.time() + self.clock_offset

    def next_id(self, series: str, start: int) -> int:
        with self.lock:
            counters: dict[str, int] = self.store["counters"]
            counters[series] = counters.get(series, start) + 1
            return counters[series]

    # --- OAuth -----------------------------------------------------------------------------

    def issue_code(
        self,
        *,
        client_id: str,
        redirect_uri: str,
        user_id: str,
        scopes: list[str],
        code_challenge: str | None,
    ) -> AuthCode:
        code = AuthCode(
            value=secrets.token_urlsafe(24),
            client_id=client_id,
            redirect_uri=redirect_uri,
            user_id=user_id,
            scopes=scopes,
            expires_at=self.now() + AUTH_CODE_TTL,
            code_challenge=code_challenge,
        )
        with self.lock:
            self.store["codes"][code.value] = code
        return code

    def redeem_code(self, value: str, *, client_id: str, redirect_uri: str) -> AuthCode | None:
        """The code if it is live and was issued to this client and redirect URI; it dies either way."""
        with self.lock:
            code: AuthCode | None = self.store["codes"].get(value)
            if code is None or code.used:
                return None
            code.used = True
        if code.expires_at < self.now() or code.client_id != client_id or code.redirect_uri != redirect_uri:
            return None
        return code

    def issue_token(
        self,
        kind: str,
        *,
        user_id: str,
        client_id: str,
        scopes: list[str],
        ttl: float | None,
        prefix: str = "",
    ) -> IssuedToken:
        now = self.now()
        token = IssuedToken(
            value=prefix + secrets.token_urlsafe(32),
            kind=kind,
            user_id=user_id,
            client_id=client_id,
            scopes=scopes,
            issued_at=now,
            expires_at=None if ttl is None else now + ttl,
        )
        with self.lock:
            self.store["tokens"][token.value] = token
        return token

    def token(self, value: str | None, kind: str = "access") -> IssuedToken | None:
        if not value:
            return None
        with self.lock:
            token: IssuedToken | None = self.store["tokens"].get(value)
        return token if token is not None and token.kind == kind else None

    def token_problem(self, token: IssuedToken | None) -> str | None:
        """None if the token may be used, else "invalid", "revoked" or "expired"."""
        if token is None:
            return "invalid"
        if token.revoked:
            return "revoked"
        if token.expires_at is not None and token.expires_at <= self.now():
            return "expired"
        return None

    def expire_token(self, value: str) -> bool:
        with self.lock:
            token = self.store["tokens"].get(value)
            if token is None:
                return False
            token.expires_at = self.now() - 1
            return True

    def revoke_grant(self, value: str) -> bool:
        """Revoke every token this token's user gave this client, as a user removing the app does."""
        with self.lock:
            token = self.store["tokens"].get(value)
            if token is None:
                return False
            for other in self.store["tokens"].values():
                if other.user_id == token.user_id and other.client_id == token.client_id:
                    other.revoked = True
            return True


def bearer_of(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() in ("bearer", "oauth") and value.strip():
        return value.strip()
    return None


def redirect_with(redirect_uri: str, params: dict[str, str]) -> RedirectResponse:
    separator = "&" if "?" in redirect_uri else "?"
    return RedirectResponse(f"{redirect_uri}{separator}{urlencode(params)}", status_code=302)


def authorization_denied(emulator: SocialEmulator, request: Request) -> bool:
    """`deny=1` on the authorize URL, or a scripted denial, makes the user click "Cancel"."""
    if request.query_params.get("deny") == "1":
        return True
    with emulator.lock:
        if emulator.deny_authorizations > 0:
            emulator.deny_authorizations -= 1
            return True
    return False


def grown(post_id: str, metric: str, age_seconds: float, per_sqrt_second: float) -> int:
    """A metric that only grows with the post's age, deterministic per (post, metric): tests can
    predict it and repeat it, and a later snapshot is never below an earlier one."""
    digest = hashlib.sha256(f"{post_id}:{metric}".encode()).digest()
    factor = 0.5 + digest[0] / 255  # 0.5 .. 1.5, different for each post and metric
    return math.floor(per_sqrt_second * factor * math.sqrt(max(0.0, age_seconds)))


def install_social_controls(
    app: FastAPI, emulator: SocialEmulator, *, delete_post: Callable[[str], bool]
) -> None:
    control = APIRouter(prefix="/_emulator", include_in_schema=False)

    @control.post("/clock")
    async def _advance(spec: dict[str, Any]) -> dict[str, Any]:
        with emulator.lock:
            emulator.clock_offset += float(spec.get("advance", 0))
        return {"now": emulator.now()}

    @control.post("/tokens/expire")
    async def _expire(spec: dict[str, Any]) -> Response:
        if not emulator.expire_token(str(spec.get("token"))):
            return JSONResponse({"error": "unknown token"}, status_code=404)
        return JSONResponse({"ok": True})

    @control.post("/tokens/revoke")
    async def _revoke(spec: dict[str, Any]) -> Response:
        if not emulator.revoke_grant(str(spec.get("token"))):
            return JSONResponse({"error": "unknown token"}, status_code=404)
        return JSONResponse({"ok": True})

    @control.post("/posts/{post_id:path}/delete")
    async def _delete(post_id: str) -> Response:
        if not delete_post(post_id):
            return JSONResponse({"error": "unknown post"}, status_code=404)
        return JSONResponse({"ok": True})

    app.include_router(control)
