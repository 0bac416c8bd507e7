"""One settings class for the whole service (DESIGN section 7).

Every external base URL is a setting so that emulators, proxies and self-hosted
compatible services (Ollama, MinIO, ...) can stand in without code changes.
"""

from __future__ import annotations

import json
import secrets
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

from cryptography.fernet import Fernet
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Environment(StrEnum):
    development = "development"
    test = "test"
    production = "production"


class Tier(StrEnum):
    FREE = "FREE"
    PRO = "PRO"
    BUSINESS = "BUSINESS"


# Secrets that production must be given explicitly; development generates them once.
GENERATED_SECRETS = ("secret_key", "encryption_keys")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="T21_", extra="ignore", case_sensitive=False)

    env: Environment = Environment.development
    data_dir: Path = Path("./.t21")
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str = ""
    web_dist_dir: Path | None = None
    # Where `t21 backup` writes its archives by default (and `t21 doctor` looks for the last one).
    backup_dir: Path | None = None
    # A cron expression (UTC) for scheduled backups, e.g. "0 3 * * *"; unset: none.
    backup_cron: str | None = None
    backup_keep: int = Field(default=7, ge=1)
    log_level: str = "INFO"
    log_json: bool = False

    database_url: str | None = None
    database_replica_url: str | None = None
    database_pool_size: int = 10
    redis_url: str | None = None
    # Brand lists served from each API process's memory, invalidated through PostgreSQL NOTIFY.
    hot_cache: bool = True

    secret_key: SecretStr | None = None
    # Comma-separated Fernet keys, newest first: the first encrypts, all decrypt.
    encryption_keys: SecretStr | None = None
    access_token_ttl_seconds: int = 15 * 60
    refresh_token_ttl_days: int = 30
    jwt_issuer: str = "t21"
    jwt_audience: str = "t21-api"
    # bcrypt work factor; tests lower it, production keeps >= 12.
    bcrypt_rounds: int = 12
    # A password reset link works once, for this long.
    password_reset_ttl_minutes: int = 30
    # Connecting accounts, publishing and inviting wait for a verified email address. Unset: on
    # in production, off in development and test.
    require_verified_email: bool | None = None
    email_verification_ttl_hours: int = 48
    # At most one "resend the verification email" per this many seconds.
    email_verification_resend_seconds: int = 60

    # The plan new accounts start on when billing is on. With billing off (no Stripe keys: a
    # self-hosted install) no plan applies: nothing is limited and every feature is on.
    default_tier: Tier = Tier.FREE
    # With billing off, an optional cap on each payer's AI credits a month (unset: unlimited).
    ai_monthly_credits: int | None = Field(default=None, ge=0)

    x_client_id: str | None = None
    x_client_secret: SecretStr | None = None
    x_api_base: str = "https://api.x.com"
    x_auth_base: str = "https://x.com/i/oauth2"
    instagram_app_id: str | None = None
    instagram_app_secret: SecretStr | None = None
    instagram_api_base: str = "https://graph.instagram.com"
    instagram_auth_base: str = "https://www.instagram.com/oauth"
    linkedin_client_id: str | None = None
    linkedin_client_secret: SecretStr | None = None
    linkedin_api_base: str = "https://api.linkedin.com"
    linkedin_auth_base: str = "https://www.linkedin.com/oauth/v2"
    # LinkedIn retires API versions after about a year: keep this recent.
    linkedin_version: str = "202610"
    # Restricted scopes LinkedIn approved for this app (r_member_social lets reconciliation read
    # the member's posts back); asking for one unapproved fails the whole authorization.
    linkedin_partner_scopes: Annotated[list[str], NoDecode] = Field(default_factory=list)

    openrouter_api_key: SecretStr | None = None
    openrouter_base_url: str = "https://openrouter.ai/api/v1"
    ai_model: str = "openai/gpt-4o-mini"
    ai_allowed_models: Annotated[list[str], NoDecode] = Field(default_factory=list)
    ai_fallback_models: Annotated[list[str], NoDecode] = Field(default_factory=list)

    stripe_secret_key: SecretStr | None = None
    stripe_webhook_secret: SecretStr | None = None
    stripe_api_base: str = "https://api.stripe.com"
    stripe_price_pro: str | None = None
    stripe_price_business: str | None = None

    resend_api_key: SecretStr | None = None
    resend_base_url: str = "https://api.resend.com"
    smtp_url: str | None = None
    email_from: str = "T21 <noreply@t21.local>"

    s3_endpoint_url: str | None = None
    s3_bucket: str | None = None
    s3_access_key_id: str | None = None
    s3_secret_access_key: SecretStr | None = None
    s3_region: str = "auto"
    s3_public_base_url: str | None = None
    media_max_bytes: int = 50 * 1024 * 1024

    sentry_dsn: SecretStr | None = None
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Limits in the `limits` library's notation ("20/minute"). Auth endpoints (login, register,
    # refresh, password) are limited per client IP; everything else per user or API key.
    rate_limit_enabled: bool = True
    rate_limit_auth: str = "20/minute"
    rate_limit_default: str = "1200/minute"
    rate_limit_anonymous: str = "300/minute"
    # Password reset emails asked for one address (whoever asks, whether or not it has an account).
    rate_limit_password_reset: str = "5/hour"
    # Two-factor codes checked for one person (sign-in's second step, enable, disable, new
    # recovery codes), whichever addresses they come from.
    rate_limit_two_factor: str = "10/15minutes"
    max_request_bytes: int = 1024 * 1024
    # URLs T21 fetches for users (media from a URL) may not point at loopback, link-local or
    # private addresses unless this is set (a self-hoster's LAN media server, tests).
    allow_private_urls: bool = False
    request_timeout_seconds: float = 30.0

    # Networks without credentials are offered as a labelled sandbox backed by their emulator,
    # mounted in-app at /sandbox/<network> (or at sandbox_url/<network> when set).
    sandbox_enabled: bool = True
    sandbox_url: str | None = None
    # Seconds between status polls of media/containers at the networks (tests shorten it).
    platform_poll_interval: float | None = None
    platform_timeout_seconds: float = 30.0
    worker_in_process: bool = True
    worker_concurrency: int = 20
    # A worker silent for this long is presumed dead; its running jobs go to another worker.
    worker_stalled_seconds: int = 60

    @field_validator(
        "ai_allowed_models", "ai_fallback_models", "cors_origins", "linkedin_partner_scopes", mode="before"
    )
    @classmethod
    def _split_csv(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip()
            if value.startswith("["):
                return json.loads(value)
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("backup_cron")
    @classmethod
    def _valid_cron(cls, value: str | None) -> str | None:
        from croniter import croniter

        if value is not None and not croniter.is_valid(value):
            raise ValueError(f"T21_BACKUP_CRON is not a cron expression: {value!r}")
        return value

    @property
    def backup_dir_path(self) -> Path:
        return self.backup_dir or self.data_dir / "backups"

    @property
    def is_production(self) -> bool:
        return self.env == Environment.production

    @property
    def base_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def fernet_keys(self) -> list[str]:
        if self.encryption_keys is None:
            raise RuntimeError("settings not finalised")
        return [k.strip() for k in self.encryption_keys.get_secret_value().split(",") if k.strip()]

    @property
    def jwt_secret(self) -> str:
        if self.secret_key is None:
            raise RuntimeError("settings not finalised")
        return self.secret_key.get_secret_value()

    @property
    def sandbox_base(self) -> str:
        return (self.sandbox_url or f"{self.base_url}/sandbox").rstrip("/")

    @property
    def verified_email_required(self) -> bool:
        if self.require_verified_email is None:
            return self.is_production
        return self.require_verified_email

    @property
    def billing_enabled(self) -> bool:
        return self.stripe_secret_key is not None and self.stripe_webhook_secret is not None


class MissingSecretsError(RuntimeError):
    def __init__(self, names: list[str]) -> None:
        self.names = names
        super().__init__(
            "T21_ENV=production needs these settings: " + ", ".join(names) + ". Set them in the environment."
        )


def _generate(name: str) -> str:
    if name == "encryption_keys":
        return Fernet.generate_key().decode()
    return secrets.token_urlsafe(48)


def finalise(settings: Settings) -> Settings:
    """Fill in missing secrets: generated once and kept under data_dir in development,
    refused in production (each missing name is reported)."""
    missing = [name for name in GENERATED_SECRETS if getattr(settings, name) is None]
    if settings.is_production:
        # The embedded database is for laptops; production names its own.
        required = [*missing, *(["database_url"] if settings.database_url is None else [])]
        if required:
            raise MissingSecretsError([f"T21_{name.upper()}" for name in required])
    if not missing:
        return settings
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    store = settings.data_dir / "secrets.json"
    kept: dict[str, str] = json.loads(store.read_text()) if store.exists() else {}
    for name in missing:
        if name not in kept:
            kept[name] = _generate(name)
    store.write_text(json.dumps(kept, indent=2))
    store.chmod(0o600)
    for name in missing:
        setattr(settings, name, SecretStr(kept[name]))
    return settings


@lru_cache
def get_settings() -> Settings:
    return finalise(Settings())
