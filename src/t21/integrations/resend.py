"""Resend client (`POST /emails`) over httpx (`t21.kit.http`).

The email job calls `ResendClient.send` with an idempotency key derived from its own record
(e.g. the notification id), so a retry after a timeout cannot send the email twice: Resend
keeps the key for 24 h. Failures are typed by what the job should do next:

    EmailRateLimited(retry_after)  429: wait `retry_after` seconds, retry with the same key
    EmailUnavailable               5xx / connection / timeout: retry later with the same key
    EmailRejected                  anything else (validation, bad key, quota, ...): do not retry
"""

from __future__ import annotations

import time
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

import httpx

from t21.kit.http import Delivery, classify, http_client

if TYPE_CHECKING:
    from t21.config import Settings

USER_AGENT = "t21/0.1"
MAX_IDEMPOTENCY_KEY = 256


class EmailError(Exception):
    def __init__(self, message: str, *, status: int | None = None, name: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.name = name


class EmailRejected(EmailError):
    """Resend refused this email; sending it again unchanged will fail again."""


class EmailUnavailable(EmailError):
    """Resend could not be reached or failed on its side; retry later with the same key."""


class EmailRateLimited(EmailUnavailable):
    def __init__(
        self, message: str, *, retry_after: float, status: int = 429, name: str | None = None
    ) -> None:
        super().__init__(message, status=status, name=name)
        self.retry_after = retry_after


# Quotas are 429s too, but the daily/monthly allowance will not come back in seconds.
_QUOTA_NAMES = frozenset({"daily_quota_exceeded", "monthly_quota_exceeded"})


def _retry_after(headers: httpx.Headers, default: float = 1.0) -> float:
    value = headers.get("retry-after")
    if value is None:
        reset = headers.get("ratelimit-reset")
        try:
            return max(0.0, float(reset)) if reset is not None else default
        except ValueError:
            return default
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return default


class ResendClient:
    def __init__(
        self,
        api_key: str,
        *,
        base_url: str = "https://api.resend.com",
        timeout: float = 15.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._client = http_client(
            max_connections=8,
            base_url=base_url.rstrip("/"),
            timeout=timeout,
            transport=transport,
            headers={"Authorization": f"Bearer {api_key}", "User-Agent": USER_AGENT},
        )

    @classmethod
    def from_settings(cls, settings: Settings, **kwargs: Any) -> ResendClient:
        if settings.resend_api_key is None:
            raise RuntimeError("T21_RESEND_API_KEY is not set")
        return cls(settings.resend_api_key.get_secret_value(), base_url=settings.resend_base_url, **kwargs)

    async def aclose(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> ResendClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def send(
        self,
        from_: str,
        to: str | list[str],
        subject: str,
        html: str | None,
        text: str | None,
        idempotency_key: str,
        tags: dict[str, str] | None = None,
        reply_to: str | list[str] | None = None,
    ) -> str:
        """Send one email; returns Resend's email id."""
        if not 1 <= len(idempotency_key) <= MAX_IDEMPOTENCY_KEY:
            # Resend would answer 400 invalid_idempotency_key; fail before the network.
            raise EmailRejected("idempotency key must be 1-256 characters", name="invalid_idempotency_key")
        if html is None and text is None:
            raise EmailRejected("an email needs html or text", name="validation_error")
        body: dict[str, Any] = {"from": from_, "to": [to] if isinstance(to, str) else to, "subject": subject}
        if html is not None:
            body["html"] = html
        if text is not None:
            body["text"] = text
        if reply_to is not None:
            body["reply_to"] = reply_to
        if tags:
            body["tags"] = [{"name": k, "value": v} for k, v in tags.items()]
        try:
            response = await self._client.post(
                "/emails", json=body, headers={"Idempotency-Key": idempotency_key}
            )
        except httpx.HTTPError as exc:
            # Either way the same idempotency key makes a retry safe; the text says which it was.
            what = "unreachable" if classify(exc) is Delivery.NEVER_SENT else "call broke off"
            raise EmailUnavailable(f"Resend {what}: {type(exc).__name__}: {exc}") from exc
        if response.status_code == 200:
            data = response.json()
            email_id = data.get("id") if isinstance(data, dict) else None
            if not isinstance(email_id, str):
                raise EmailUnavailable(
                    f"Resend answered 200 without an id: {response.text[:200]}", status=200
                )
            return email_id
        raise _error(response)


def _error(response: httpx.Response) -> EmailError:
    status = response.status_code
    name: str | None = None
    message = response.text[:500] or response.reason_phrase
    try:
        data = response.json()
    except ValueError:
        # Non-JSON errors come from the edge in front of the API (e.g. Cloudflare's
        # "error code: 1010" 403 for a missing User-Agent).
        data = None
    if isinstance(data, dict):
        name = data.get("name") if isinstance(data.get("name"), str) else None
        message = str(data.get("message") or message)
    text = f"Resend {status} {name or ''}: {message}".replace("  ", " ")
    if status == 429 and name not in _QUOTA_NAMES:
        return EmailRateLimited(text, retry_after=_retry_after(response.headers), name=name)
    if status >= 500 or status == 408:
        return EmailUnavailable(text, status=status, name=name)
    # concurrent_idempotent_requests: the first attempt is still running; later it will have an answer.
    if status == 409 and name == "concurrent_idempotent_requests":
        return EmailUnavailable(text, status=status, name=name)
    return EmailRejected(text, status=status, name=name)
