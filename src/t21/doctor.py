"""`t21 doctor`: is this installation ready? Checks configuration and every configured service,
and says in plain words what is missing and how to fix it."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import httpx
from cryptography.fernet import Fernet

from t21.config import Settings
from t21.kit.http import http_client

OK, WARN, FAIL = "ok", "warn", "fail"


@dataclass
class Check:
    area: str
    status: str
    message: str


async def _reachable(
    http: httpx.AsyncClient, url: str, headers: dict[str, str] | None = None
) -> tuple[bool, str]:
    try:
        response = await http.get(url, headers=headers or {})
    except httpx.HTTPError as exc:
        return False, f"cannot reach {url} ({type(exc).__name__})"
    return True, f"{url} answered {response.status_code}"


def _configuration(settings: Settings) -> list[Check]:
    checks = []
    if settings.is_production and not settings.public_url:
        checks.append(
            Check("config", FAIL, "T21_PUBLIC_URL is not set: OAuth callbacks and email links need it")
        )
    elif settings.public_url.startswith("http://") and settings.is_production:
        checks.append(Check("config", WARN, "T21_PUBLIC_URL is plain http; use https in production"))
    else:
        checks.append(Check("config", OK, f"public URL {settings.base_url}"))
    try:
        for key in settings.fernet_keys:
            Fernet(key.encode())
        checks.append(
            Check("encryption", OK, f"{len(settings.fernet_keys)} encryption key(s); newest encrypts")
        )
    except (ValueError, AssertionError):
        checks.append(
            Check(
                "encryption",
                FAIL,
                "T21_ENCRYPTION_KEYS holds a key that is not a Fernet key "
                "(generate one with: python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())')",
            )
        )
    if settings.bcrypt_rounds < 10 and settings.is_production:
        checks.append(
            Check("config", FAIL, f"T21_BCRYPT_ROUNDS={settings.bcrypt_rounds} is too low for production")
        )
    return checks


async def _database(settings: Settings) -> list[Check]:
    from sqlalchemy import text

    from t21.db.database import Database, SchemaState, resolve_database_url, schema_state

    try:
        url = resolve_database_url(settings)
    except Exception as exc:
        return [Check("database", FAIL, f"cannot start or find the database: {exc}")]
    db = Database.connect(settings, url)
    checks = []
    try:
        async with db.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
            heartbeat = (
                await conn.execute(
                    text("SELECT EXTRACT(EPOCH FROM now() - max(last_heartbeat)) FROM procrastinate_workers")
                )
            ).scalar_one_or_none()
        checks.append(Check("database", OK, "PostgreSQL reachable"))
        schema = await asyncio.to_thread(schema_state, url)
        checks.append(
            Check("migrations", OK, "schema is current")
            if schema.state == SchemaState.CURRENT
            else Check("migrations", FAIL, "migrations pending: run `t21 migrate`")
            if schema.state == SchemaState.BEHIND
            else Check(
                "migrations",
                FAIL,
                f"the database was migrated by a newer T21 ({', '.join(schema.database)}): run that version",
            )
        )
        if heartbeat is None:
            checks.append(
                Check("worker", WARN, "no worker has run yet: start `t21 worker` (or use `t21 serve`)")
            )
        elif float(heartbeat) > 30:
            checks.append(
                Check(
                    "worker",
                    FAIL,
                    f"no worker heartbeat for {float(heartbeat):.0f}s: scheduled "
                    "posts are not being published; start `t21 worker`",
                )
            )
        else:
            checks.append(Check("worker", OK, f"worker heartbeat {float(heartbeat):.0f}s ago"))
    except Exception as exc:
        checks.append(
            Check("database", FAIL, f"cannot query PostgreSQL ({type(exc).__name__}): check T21_DATABASE_URL")
        )
    finally:
        await db.dispose()
    return checks


async def _redis(settings: Settings) -> list[Check]:
    if not settings.redis_url:
        return [
            Check(
                "redis",
                OK,
                "not configured: rate limits run in-process, live events go through PostgreSQL "
                "(fine for one API instance)",
            )
        ]
    import redis.asyncio as redis_async

    client = redis_async.from_url(settings.redis_url, socket_connect_timeout=2, socket_timeout=2)
    try:
        await client.ping()
        return [Check("redis", OK, "Redis reachable")]
    except Exception as exc:
        return [
            Check("redis", FAIL, f"T21_REDIS_URL is set but Redis does not answer ({type(exc).__name__})")
        ]
    finally:
        await client.aclose()  # type: ignore[attr-defined]  # redis-py 5 has aclose; its stubs lag


async def _networks(settings: Settings, http: httpx.AsyncClient) -> list[Check]:
    checks = []
    pairs = {
        "x": (settings.x_client_id, settings.x_client_secret, settings.x_api_base, "T21_X_CLIENT_ID/SECRET"),
        "instagram": (
            settings.instagram_app_id,
            settings.instagram_app_secret,
            settings.instagram_api_base,
            "T21_INSTAGRAM_APP_ID/SECRET",
        ),
        "linkedin": (
            settings.linkedin_client_id,
            settings.linkedin_client_secret,
            settings.linkedin_api_base,
            "T21_LINKEDIN_CLIENT_ID/SECRET",
        ),
    }
    for name, (client_id, secret, base, env) in pairs.items():
        if not client_id:
            mode = "offered as a sandbox" if settings.sandbox_enabled else "not available (sandbox disabled)"
            checks.append(Check(name, WARN, f"no credentials ({env}): {mode}"))
            continue
        if secret is None:
            checks.append(Check(name, FAIL, f"client id set but no secret ({env})"))
            continue
        reachable, detail = await _reachable(http, base)
        checks.append(Check(name, OK if reachable else FAIL, f"credentials set; {detail}"))
    return checks


async def _services(settings: Settings, http: httpx.AsyncClient) -> list[Check]:
    checks = []
    if settings.openrouter_api_key is None:
        checks.append(
            Check("ai", WARN, "no T21_OPENROUTER_API_KEY: the AI assistant runs on the built-in emulator")
        )
    else:
        reachable, detail = await _reachable(http, f"{settings.openrouter_base_url.rstrip('/')}/models")
        checks.append(Check("ai", OK if reachable else FAIL, detail))
    if not settings.billing_enabled:
        checks.append(Check("billing", OK, "Stripe not configured: self-hosted, no plan limits apply"))
    else:
        missing = [
            n
            for n, v in (
                ("T21_STRIPE_PRICE_PRO", settings.stripe_price_pro),
                ("T21_STRIPE_PRICE_BUSINESS", settings.stripe_price_business),
            )
            if not v
        ]
        if settings.stripe_secret_key is None:
            raise RuntimeError("the Stripe check runs only with T21_STRIPE_SECRET_KEY set")
        reachable, detail = await _reachable(
            http,
            f"{settings.stripe_api_base.rstrip('/')}/v1/customers?limit=1",
            {"Authorization": f"Bearer {settings.stripe_secret_key.get_secret_value()}"},
        )
        if missing:
            checks.append(Check("billing", FAIL, "Stripe keys set but missing " + ", ".join(missing)))
        else:
            checks.append(Check("billing", OK if reachable else FAIL, detail))
    if settings.resend_api_key is not None:
        reachable, detail = await _reachable(http, settings.resend_base_url)
        checks.append(Check("email", OK if reachable else FAIL, f"Resend; {detail}"))
    elif settings.smtp_url:
        checks.append(Check("email", OK, "SMTP configured"))
    else:
        checks.append(
            Check(
                "email",
                WARN,
                "no T21_RESEND_API_KEY or T21_SMTP_URL: emails stay in the local outbox (`t21 outbox`)",
            )
        )
    if settings.s3_bucket:
        try:
            from t21.media.storage import storage_for

            storage_for(settings)
            checks.append(Check("media", OK, f"S3/R2 bucket {settings.s3_bucket}"))
        except Exception as exc:
            checks.append(Check("media", FAIL, f"S3/R2 storage cannot be set up ({type(exc).__name__})"))
    else:
        checks.append(Check("media", OK, f"local disk under {settings.data_dir / 'media'}"))
    checks.append(
        Check("sentry", OK, "errors reported to Sentry")
        if settings.sentry_dsn
        else Check("sentry", WARN, "no T21_SENTRY_DSN: errors are only logged")
    )
    return checks


# A backup older than this is worth a warning (a daily schedule leaves one at most a day old).
BACKUP_STALE_AFTER_HOURS = 48


def _backups(settings: Settings) -> list[Check]:
    """The last successful backup in T21_BACKUP_DIR and its age."""
    from datetime import UTC, datetime

    from t21.ops.backup import latest_backup

    found = latest_backup(settings)
    if found is None:
        return [Check("backup", WARN, f"no backup in {settings.backup_dir_path}: run `t21 backup`")]
    path, manifest = found
    age = datetime.now(UTC) - datetime.fromisoformat(manifest.created_at)
    hours = age.total_seconds() / 3600
    status = OK if hours <= BACKUP_STALE_AFTER_HOURS else WARN
    return [Check("backup", status, f"last backup {path.name}, {hours:.1f} hours old")]


async def run_checks(settings: Settings) -> list[Check]:
    checks = _configuration(settings)
    checks += await _database(settings)
    checks += await _redis(settings)
    checks += _backups(settings)
    async with http_client(timeout=5.0) as http:
        checks += await _networks(settings, http)
        checks += await _services(settings, http)
    return checks
