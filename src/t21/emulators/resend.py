"""Resend emulator: `POST /emails` and `GET /emails/{id}` as Resend answers them.

- No `User-Agent` header: 403 with the plain-text body `error code: 1010`. That is what the
  real service answers (Cloudflare in front of the API rejects the request before Resend sees
  it), so a client that forgets the header meets the same non-JSON error here.
- Everything else answers JSON; errors are `{"statusCode", "name", "message"}`.
- `Idempotency-Key` (1-256 characters, kept 24 h per API key): same key and same body ->
  the first email's id and no second email; same key with another body -> 409
  `invalid_idempotent_request`.
- API keys: any `re_...` key, or only those in `emulator.store["api_keys"]` when that is set.
- Sent emails are kept in `emulator.store["emails"]` (oldest first) and listed by
  `GET /_emulator/emails`.
- Faults (base.py): `rate_limit` -> 429 `rate_limit_exceeded` with `retry-after` and the
  `ratelimit-*` headers; `status` -> that status with Resend's error body (or `body`);
  `expired_token` / `revoked_token` -> 403 `invalid_api_key`.
"""

from __future__ import annotations

import json
import math
import re
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse

from t21.emulators.base import Emulator, Fault, install_emulator

RATE_LIMIT_PER_SECOND = 2
IDEMPOTENCY_TTL = 24 * 3600
MAX_RECIPIENTS = 50
_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")
_NAMED_EMAIL = re.compile(r"^[^<>]*<([^@\s<>]+@[^@\s<>]+\.[^@\s<>]+)>$")
_TAG = re.compile(r"^[A-Za-z0-9_-]{1,256}$")

_ERROR_NAMES = {
    400: "validation_error",
    401: "missing_api_key",
    403: "invalid_api_key",
    404: "not_found",
    405: "method_not_allowed",
    409: "invalid_idempotent_request",
    422: "validation_error",
    429: "rate_limit_exceeded",
    500: "application_error",
}


def _error(status: int, name: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(
        {"statusCode": status, "name": name, "message": message}, status_code=status, headers=headers
    )


def _rate_headers(remaining: int, reset_in: float) -> dict[str, str]:
    return {
        "ratelimit-limit": str(RATE_LIMIT_PER_SECOND),
        "ratelimit-remaining": str(remaining),
        "ratelimit-reset": str(math.ceil(reset_in)),
    }


def _fault_response(fault: Fault, request: Request) -> Response:
    if fault.kind == "rate_limit":
        reset = max(1, math.ceil(fault.reset_in))
        return _error(
            429,
            "rate_limit_exceeded",
            f"Too many requests. You can only make {RATE_LIMIT_PER_SECOND} requests per second. "
            "See rate limit response headers for more information. "
            "Or contact support to increase rate limit.",
            headers={**_rate_headers(0, reset), "retry-after": str(reset)},
        )
    if fault.kind in ("expired_token", "revoked_token"):
        return _error(403, "invalid_api_key", "API key is invalid")
    if fault.body is not None:
        return JSONResponse(fault.body, status_code=fault.status)
    name = _ERROR_NAMES.get(fault.status, "application_error")
    return _error(fault.status, name, "An unexpected error occurred.")


def _valid_address(value: Any) -> bool:
    return isinstance(value, str) and (
        _EMAIL.match(value) is not None or _NAMED_EMAIL.match(value) is not None
    )


def _recipients(value: Any) -> list[str] | None:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items or len(items) > MAX_RECIPIENTS:
        return None
    if not all(_valid_address(i) for i in items):
        return None
    return list(items)


def _validate(body: Any) -> JSONResponse | dict[str, Any]:
    if not isinstance(body, dict):
        return _error(422, "validation_error", "The request body must be a JSON object.")
    for field in ("from", "to", "subject"):
        if body.get(field) in (None, "", []):
            return _error(422, "missing_required_field", f"Missing `{field}` field.")
    if not _valid_address(body["from"]):
        return _error(
            422,
            "validation_error",
            "Invalid `from` field. The email address needs to follow the `email@example.com` or "
            "`Name <email@example.com>` format.",
        )
    to = _recipients(body["to"])
    if to is None:
        return _error(
            422,
            "validation_error",
            f"Invalid `to` field. Give 1 to {MAX_RECIPIENTS} addresses in the `email@example.com` or "
            "`Name <email@example.com>` format.",
        )
    for field in ("cc", "bcc", "reply_to"):
        if body.get(field) is not None and _recipients(body[field]) is None:
            return _error(422, "validation_error", f"Invalid `{field}` field.")
    if not isinstance(body["subject"], str):
        return _error(422, "validation_error", "Invalid `subject` field.")
    if not any(isinstance(body.get(k), str) and body.get(k) for k in ("html", "text", "react")):
        return _error(422, "missing_required_field", "Missing `html` or `text` field.")
    tags = body.get("tags")
    if tags is not None and (
        not isinstance(tags, list)
        or not all(
            isinstance(t, dict)
            and isinstance(t.get("name"), str)
            and isinstance(t.get("value"), str)
            and _TAG.match(t["name"])
            and _TAG.match(t["value"])
            for t in tags
        )
    ):
        return _error(
            422,
            "validation_error",
            "Invalid `tags` field. Tag names and values may only contain ASCII letters, numbers, "
            "underscores or dashes, and be at most 256 characters.",
        )
    return {**body, "to": to}


def create_app() -> FastAPI:
    app = FastAPI(title="Resend emulator", docs_url=None, redoc_url=None, openapi_url=None)
    emulator = Emulator(name="resend")
    install_emulator(app, emulator, fault_response=_fault_response)

    def emails() -> list[dict[str, Any]]:
        return emulator.store.setdefault("emails", [])

    def authenticate(request: Request) -> tuple[str | None, Response | None]:
        scheme, _, key = request.headers.get("authorization", "").partition(" ")
        key = key.strip()
        if scheme.lower() != "bearer" or not key:
            return None, _error(
                401,
                "missing_api_key",
                "Missing API key in the authorization header. Include the following header "
                "'Authorization: Bearer YOUR_API_KEY' in the request.",
            )
        allowed = emulator.store.get("api_keys")
        if (allowed and key not in allowed) or (not allowed and not key.startswith("re_")):
            return None, _error(403, "invalid_api_key", "API key is invalid")
        return key, None

    @app.post("/emails")
    async def send_email(request: Request) -> Response:
        if not request.headers.get("user-agent"):
            return PlainTextResponse("error code: 1010", status_code=403)
        api_key, problem = authenticate(request)
        if problem is not None:
            return problem
        idem_key = request.headers.get("idempotency-key")
        if idem_key is not None and not 1 <= len(idem_key) <= 256:
            return _error(400, "invalid_idempotency_key", "The key must be between 1-256 chars.")
        try:
            raw = json.loads(await request.body() or b"null")
        except ValueError:
            return _error(422, "validation_error", "Invalid JSON body.")
        checked = _validate(raw)
        if isinstance(checked, Response):
            return checked
        fingerprint = json.dumps(raw, sort_keys=True)
        now = time.time()
        with emulator.lock:
            cache: dict[tuple[str | None, str], dict[str, Any]] = emulator.store.setdefault("idempotency", {})
            for stale in [k for k, v in cache.items() if v["at"] < now - IDEMPOTENCY_TTL]:
                del cache[stale]
            if idem_key is not None:
                cached = cache.get((api_key, idem_key))
                if cached is not None:
                    if cached["fingerprint"] != fingerprint:
                        return _error(
                            409,
                            "invalid_idempotent_request",
                            "Same idempotency key used with a different request payload.",
                        )
                    return JSONResponse(
                        {"id": cached["id"]}, headers=_rate_headers(RATE_LIMIT_PER_SECOND - 1, 1)
                    )
            email_id = str(uuid.uuid4())
            emails().append(
                {
                    "id": email_id,
                    "object": "email",
                    "from": checked["from"],
                    "to": checked["to"],
                    "cc": checked.get("cc"),
                    "bcc": checked.get("bcc"),
                    "reply_to": checked.get("reply_to"),
                    "subject": checked["subject"],
                    "html": checked.get("html"),
                    "text": checked.get("text"),
                    "tags": checked.get("tags") or [],
                    "idempotency_key": idem_key,
                    "user_agent": request.headers.get("user-agent"),
                    "created_at": datetime.fromtimestamp(now, UTC).isoformat(),
                    "last_event": "delivered",
                }
            )
            if idem_key is not None:
                cache[(api_key, idem_key)] = {"fingerprint": fingerprint, "id": email_id, "at": now}
        return JSONResponse({"id": email_id}, headers=_rate_headers(RATE_LIMIT_PER_SECOND - 1, 1))

    @app.get("/emails/{email_id}")
    async def get_email(email_id: str, request: Request) -> Response:
        if not request.headers.get("user-agent"):
            return PlainTextResponse("error code: 1010", status_code=403)
        _, problem = authenticate(request)
        if problem is not None:
            return problem
        with emulator.lock:
            email = next((e for e in emails() if e["id"] == email_id), None)
        if email is None:
            return _error(404, "not_found", "Email not found")
        return JSONResponse({k: v for k, v in email.items() if k not in ("idempotency_key", "user_agent")})

    @app.get("/_emulator/emails", include_in_schema=False)
    async def list_emails() -> dict[str, Any]:
        with emulator.lock:
            return {"data": list(emails())}

    return app
