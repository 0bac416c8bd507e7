"""One exception hierarchy, one wire shape: {"error": <sentence>, "code": <machine code>, "details": ...}."""

from __future__ import annotations

from typing import Any

import psycopg
import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import DataError, InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from t21.db.locking import lost_concurrency_race

log = structlog.get_logger(__name__)


class ErrorResponse(BaseModel):
    """The body of every error answer."""

    error: str
    code: str
    details: Any | None = None


class T21Error(Exception):
    status_code = 400
    code = "bad_request"
    message = "Bad request"
    # Most errors undo the request's writes. A few must keep them although the answer is an
    # error (revoking a refresh-token family on reuse): those set this.
    commit_transaction = False

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        details: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.message = message or self.message
        self.code = code or self.code
        self.details = details
        self.headers = headers
        super().__init__(self.message)

    def to_body(self) -> dict[str, Any]:
        return {"error": self.message, "code": self.code, "details": self.details}


class BadRequest(T21Error):
    pass


class Unauthorized(T21Error):
    status_code = 401
    code = "unauthorized"
    message = "Authentication required"


class TokenExpired(Unauthorized):
    code = "token_expired"
    message = "Token expired"


class InvalidCredentials(Unauthorized):
    code = "invalid_credentials"
    message = "Invalid email or password"


class Forbidden(T21Error):
    status_code = 403
    code = "forbidden"
    message = "You do not have permission to do this"


class NotFound(T21Error):
    status_code = 404
    code = "not_found"
    message = "Not found"


class Conflict(T21Error):
    status_code = 409
    code = "conflict"
    message = "Conflict"


class TransactionConflict(Conflict):
    """The request's transaction lost a deadlock or serialization race to a concurrent change of
    the same rows (db/locking.py) and was rolled back, also on its last replay. Nothing was
    changed; the same request sent again is expected to succeed."""

    code = "conflict_retry"
    message = "Someone else was changing the same data at the same moment; nothing was changed, try again"


class PaymentRequired(T21Error):
    status_code = 402
    code = "payment_required"
    message = "Your plan does not allow this"


class QuotaExceeded(PaymentRequired):
    code = "quota_exceeded"
    message = "Monthly quota exceeded"


class PlanLimitReached(PaymentRequired):
    code = "plan_limit_reached"
    message = "Your plan's limit is reached"


class ValidationFailed(T21Error):
    status_code = 422
    code = "validation_error"
    message = "The request is not valid"


class PayloadTooLarge(T21Error):
    status_code = 413
    code = "payload_too_large"
    message = "The request body is too large"


class RateLimited(T21Error):
    status_code = 429
    code = "rate_limited"
    message = "Too many requests"


class ServiceUnavailable(T21Error):
    status_code = 503
    code = "service_unavailable"
    message = "A service T21 depends on is unavailable"


# Declared on every route so the OpenAPI spec (and the generated web client) knows the error shape.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse, "description": description}
    for status, description in {
        400: "Bad request or malformed JSON",
        401: "Not authenticated or token expired",
        403: "Not allowed for your role",
        404: "Not found (or not yours)",
        409: "Conflict",
        422: "Validation error",
        402: "Plan limit or quota reached",
        413: "Request body too large",
        429: "Rate limited",
        500: "Unexpected error (with a request id)",
        503: "A service T21 depends on is unavailable",
        504: "The request took too long",
    }.items()
}


def _field_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    out = []
    for err in exc.errors():
        loc = [str(part) for part in err.get("loc", ())]
        out.append({"field": ".".join(loc), "message": err.get("msg", "invalid"), "type": err.get("type")})
    return out


def error_json(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(status_code=status, content=body, headers=headers)


def _lost_race(request: Request, exc: Exception) -> JSONResponse:
    """The request's transaction lost a deadlock or serialization race with a concurrent one and
    was rolled back (db/locking.py; TransactionalRoute replays it first when it may): no outage
    and no fault of the request, so 409 and a retry, not 503 or 500."""
    log.info("transaction_conflict", path=request.url.path, error=type(exc).__name__)
    conflict = TransactionConflict()
    return error_json(conflict.status_code, conflict.to_body(), {"Retry-After": "1"})


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(T21Error)
    async def _t21_error(request: Request, exc: T21Error) -> JSONResponse:
        return error_json(exc.status_code, exc.to_body(), exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        if any(err.get("type") == "json_invalid" for err in errors):
            return error_json(
                400,
                {"error": "The request body is not valid JSON", "code": "malformed_json", "details": None},
            )
        return error_json(
            422,
            {"error": "The request is not valid", "code": "validation_error", "details": _field_errors(exc)},
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        codes = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large", 400: "bad_request"}
        message = exc.detail if isinstance(exc.detail, str) else "Request failed"
        if exc.status_code == 404:
            message = "Not found"
        return error_json(
            exc.status_code,
            {"error": message, "code": codes.get(exc.status_code, "http_error"), "details": None},
            dict(exc.headers) if exc.headers else None,
        )

    @app.exception_handler(DataError)
    # Raised as psycopg's own class where a hot read runs plain SQL on the driver connection.
    @app.exception_handler(psycopg.DataError)
    async def _data_error(request: Request, exc: Exception) -> JSONResponse:
        # The DB-API's DataError means "a problem with the processed data" (a NUL character, a
        # number out of range, a malformed value): only a client's values cause it.
        return error_json(
            422,
            {
                "error": "The request contains a value that cannot be stored "
                "(for example a NUL character or an out-of-range number)",
                "code": "invalid_value",
                "details": None,
            },
        )

    @app.exception_handler(OperationalError)
    @app.exception_handler(InterfaceError)
    @app.exception_handler(psycopg.OperationalError)
    @app.exception_handler(psycopg.InterfaceError)
    async def _database_unavailable(request: Request, exc: Exception) -> JSONResponse:
        if lost_concurrency_race(exc):
            # psycopg classes a deadlock (40P01) and a serialization failure (40001) as
            # OperationalError, but the database is fine: see _lost_race.
            return _lost_race(request, exc)
        # The database is down or restarting: a moment's outage, not a bug in the request.
        log.warning("database_unavailable", path=request.url.path, error=type(exc).__name__)
        return error_json(
            503,
            {
                "error": "The database is unavailable; retry shortly",
                "code": "service_unavailable",
                "details": None,
            },
            {"Retry-After": "5"},
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        if lost_concurrency_race(exc):
            # Wrapped by a library in an exception of its own (Procrastinate's
            # ConnectorException, when a job is cancelled in the request's transaction).
            return _lost_race(request, exc)
        request_id = getattr(request.state, "request_id", None)
        log.exception("unhandled_error", path=request.url.path, request_id=request_id)
        return error_json(
            500,
            {
                "error": "Something went wrong on our side. Quote the request id if you contact support.",
                "code": "internal_error",
                "details": {"requestId": request_id},
            },
            # This answer is built outside the request-id middleware, so it sets the header itself.
            headers={"x-request-id": request_id} if request_id else None,
        )
