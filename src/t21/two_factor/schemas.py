from __future__ import annotations

from pydantic import Field, model_validator

from t21.kit.schemas import Schema, StrictInput


class SecondFactorIn(StrictInput):
    """A 6-digit code from the authenticator app, or one of the recovery codes: exactly one."""

    code: str | None = Field(default=None, min_length=1, max_length=16)
    recovery_code: str | None = Field(default=None, min_length=1, max_length=64)

    @model_validator(mode="after")
    def _exactly_one(self) -> SecondFactorIn:
        if (self.code is None) == (self.recovery_code is None):
            raise ValueError("Send either code or recoveryCode")
        return self


class TwoFactorStatus(Schema):
    enabled: bool
    recovery_codes_left: int


class TwoFactorSetupOut(Schema):
    # The base32 secret, for typing into an app by hand, and the same as an otpauth:// URI (the
    # web app draws it as a QR code). Not active until confirmed with POST /me/2fa/enable.
    secret: str
    otpauth_uri: str


class TwoFactorEnableIn(StrictInput):
    code: str = Field(min_length=1, max_length=16)


class RecoveryCodesOut(Schema):
    # Shown once: only their hashes are stored.
    recovery_codes: list[str]


class TwoFactorDisableIn(SecondFactorIn):
    password: str = Field(min_length=1, max_length=1024)


class LoginSecondStepIn(SecondFactorIn):
    challenge: str = Field(min_length=1, max_length=2048)


class TwoFactorChallengeOut(Schema):
    """The answer to a right password when the person uses two-factor: no tokens yet; send the
    challenge with a code to POST /auth/login/2fa within `expiresIn` seconds."""

    two_factor_required: bool = True
    challenge: str
    expires_in: int
