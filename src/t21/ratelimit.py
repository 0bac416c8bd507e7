"""Rate limits: per client IP on the authentication endpoints (brute force), per user or API key
elsewhere; services may count other keys on the same limiter (`RateLimiter.hit`: password reset
emails per address). Counters live in Redis when T21_REDIS_URL is set, so every API instance shares them;
otherwise in this process. If Redis goes away the API keeps serving on in-process counters (and
says so once in the logs), and goes back to Redis when it answers again."""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass

import structlog
from limits import RateLimitItem, parse
from limits.aio.storage import Storage as AsyncStorage
from limits.aio.strategies import SlidingWindowCounterRateLimiter as AsyncSlidingWindowCounterRateLimiter
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import SlidingWindowCounterRateLimiter
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from t21.config import Settings
from t21.errors import error_json
from t21.health import register_readiness_check

log = structlog.get_logger(__name__)

AUTH_PATHS = {
    "/api/v1/auth/login",
    "/api/v1/auth/login/2fa",
    "/api/v1/auth/register",
    "/api/v1/auth/refresh",
    "/api/v1/auth/password",
    "/api/v1/auth/password-reset",
    "/api/v1/auth/password-reset/confirm",
    "/api/v1/auth/verify-email",
    "/api/v1/auth/verify-email/resend",
    "/api/v1/invitations/accept",
}
EXEMPT_PREFIXES = ("/healthz", "/readyz", "/metrics", "/assets/", "/api/v1/webhooks/")
# After a Redis failure, try it again at most this often.
REDIS_RETRY_SECONDS = 15.0


@dataclass
class Decision:
    allowed: bool
    limit: int
    remaining: int
    reset_after: float


class RateLimiter:
    def __init__(self, settings: Settings) -> None:
        self.auth = parse(settings.rate_limit_auth)
        self.default = parse(settings.rate_limit_default)
        self.anonymous = parse(settings.rate_limit_anonymous)
        # Sliding window counters: two counters per key, O(1) per request in memory and in Redis
        # (a moving window stores a timestamp per request and scans them). In memory the
        # synchronous storage: the asyncio one starts a new expiry task on almost every hit.
        self._memory = SlidingWindowCounterRateLimiter(MemoryStorage())
        self._redis: AsyncSlidingWindowCounterRateLimiter | None = None
        self._redis_url = settings.redis_url
        self._redis_down_since: float | None = None
        if self._redis_url:
            storage = storage_from_string(
                "async+" + self._redis_url,
                implementation="redispy",
                wrap_exceptions=True,
                socket_timeout=0.5,
                socket_connect_timeout=0.5,
            )
            # An "async+" URL always yields an async storage.
            if not isinstance(storage, AsyncStorage):
                raise RuntimeError("an async+ storage URL gave a synchronous limits storage")
            self._redis = AsyncSlidingWindowCounterRateLimiter(storage)

    @property
    def backend(self) -> str:
        return "redis" if self._redis is not None and self._redis_down_since is None else "memory"

    def _use_redis(self) -> bool:
        if self._redis is None:
            return False
        return not (
            self._redis_down_since is not None
            and time.monotonic() - self._redis_down_since < REDIS_RETRY_SECONDS
        )

    def _hit_memory(self, item: RateLimitItem, key: str) -> Decision:
        allowed = self._memory.hit(item, key)
        stats = self._memory.get_window_stats(item, key)
        return Decision(allowed, item.amount, stats.remaining, max(0.0, stats.reset_time - time.time()))

    async def hit(self, item: RateLimitItem, key: str) -> Decision:
        if not self._use_redis():
            return self._hit_memory(item, key)
        if self._redis is None:
            raise RuntimeError("the Redis rate-limit store is used before it was opened")
        try:
            allowed = await self._redis.hit(item, key)
            stats = await self._redis.get_window_stats(item, key)
        except Exception as exc:  # any Redis failure: serve on local counters rather than fail
            if self._redis_down_since is None:
                log.warning("rate_limit_redis_unavailable", error=type(exc).__name__)
            self._redis_down_since = time.monotonic()
            return self._hit_memory(item, key)
        if self._redis_down_since is not None:
            log.info("rate_limit_redis_recovered")
            self._redis_down_since = None
        return Decision(allowed, item.amount, stats.remaining, max(0.0, stats.reset_time - time.time()))

    async def redis_answers(self) -> bool:
        if self._redis is None:
            return True
        try:
            return bool(await self._redis.storage.check())
        except Exception:
            return False


async def _redis_ready(request: Request) -> tuple[bool, str]:
    settings: Settings = request.app.state.settings
    limiter: RateLimiter | None = getattr(request.app.state, "rate_limiter", None)
    if not settings.redis_url:
        return True, "not configured"
    if limiter is None:
        return True, "configured (rate limits off)"
    return (
        (True, "ok")
        if await limiter.redis_answers()
        else (False, "T21_REDIS_URL is set but Redis does not answer")
    )


register_readiness_check("redis", _redis_ready)


def _client_ip(scope: Scope) -> str:
    client = scope.get("client")
    return client[0] if client else "unknown"


def _caller_key(scope: Scope) -> str | None:
    for name, value in scope.get("headers") or []:
        if name == b"authorization":
            token = value.decode("latin-1").partition(" ")[2].strip()
            if token:
                # A hash of the credential: the key is stable per token/API key and reveals nothing.
                return "caller:" + hashlib.sha256(token.encode()).hexdigest()[:32]
    return None


class RateLimitMiddleware:
    def __init__(self, app: ASGIApp, limiter: RateLimiter) -> None:
        self.app = app
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(EXEMPT_PREFIXES):
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        if path in AUTH_PATHS and scope["method"] == "POST":
            item, key = self.limiter.auth, f"auth:{path}:{_client_ip(scope)}"
        else:
            caller = _caller_key(scope)
            item, key = (
                (self.limiter.default, caller)
                if caller
                else (self.limiter.anonymous, f"ip:{_client_ip(scope)}")
            )
        decision = await self.limiter.hit(item, key)
        headers = {
            "RateLimit-Limit": str(decision.limit),
            "RateLimit-Remaining": str(max(0, decision.remaining)),
            "RateLimit-Reset": str(math.ceil(decision.reset_after)),
        }
        if not decision.allowed:
            retry_after = str(max(1, math.ceil(decision.reset_after)))
            response = error_json(
                429,
                {
                    "error": f"Too many requests; try again in {retry_after} seconds",
                    "code": "rate_limited",
                    "details": {"retryAfter": int(retry_after)},
                },
                {**headers, "Retry-After": retry_after},
            )
            await response(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    *message.get("headers", []),
                    *[(k.lower().encode(), v.encode()) for k, v in headers.items()],
                ]
            await send(message)

        await self.app(scope, receive, send_with_headers)
