"""Error reporting to Sentry when T21_SENTRY_DSN is set (API and worker)."""

from __future__ import annotations

from typing import Any

from t21.config import Settings
from t21.observability import redact_secrets


def _scrub(event: dict[str, Any], _hint: dict[str, Any]) -> dict[str, Any]:
    request = event.get("request") or {}
    headers = request.get("headers") or {}
    for name in list(headers):
        if name.lower() in ("authorization", "cookie", "stripe-signature"):
            headers[name] = "[redacted]"
    extra = event.get("extra") or {}
    redact_secrets(None, "", extra)
    return event


def init_sentry(settings: Settings, *, component: str) -> bool:
    if settings.sentry_dsn is None:
        return False
    import sentry_sdk

    sentry_sdk.init(
        dsn=settings.sentry_dsn.get_secret_value(),
        environment=settings.env.value,
        send_default_pii=False,
        traces_sample_rate=0.0,
        before_send=_scrub,  # type: ignore[arg-type]
        server_name=component,
    )
    return True
