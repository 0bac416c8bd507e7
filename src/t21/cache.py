"""Hot cache in Redis for read-heavy answers (brand lists), on when T21_REDIS_URL is set.

Invalidation by version: each person has a version number; cached entries carry it in their
key; a write that changes what a person sees bumps their version AFTER its transaction commits.
A reader racing the write can only ever cache under the old version, which nobody reads again,
so a stale answer never outlives the write. Redis failing means a cache miss, never an error.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import structlog
from fastapi import FastAPI, Request
from sqlalchemy.ext.asyncio import AsyncSession

from t21.config import Settings
from t21.health import register_readiness_check

log = structlog.get_logger(__name__)

TTL_SECONDS = 300
AFTER_COMMIT = "t21_after_commit"


def after_commit(session: AsyncSession, callback: Callable[[], Awaitable[None]]) -> None:
    """Run `callback` once this session's transaction has committed (TransactionalRoute runs them)."""
    session.info.setdefault(AFTER_COMMIT, []).append(callback)


async def run_after_commit(session: AsyncSession) -> None:
    for callback in session.info.pop(AFTER_COMMIT, []):
        try:
            await callback()
        except Exception:
            log.exception("after_commit_failed")


class HotCache:
    def __init__(self, redis_url: str | None) -> None:
        self._redis: Any = None
        self._warned = False
        if redis_url:
            import redis.asyncio as redis_async

            self._redis = redis_async.from_url(redis_url, socket_timeout=0.5, socket_connect_timeout=0.5)

    @property
    def enabled(self) -> bool:
        return self._redis is not None

    def _failed(self, exc: Exception) -> None:
        if not self._warned:
            log.warning("hot_cache_unavailable", error=type(exc).__name__)
            self._warned = True

    async def _version(self, user_id: uuid.UUID) -> int:
        raw = await self._redis.get(f"t21:v:{user_id}")
        return int(raw or 0)

    async def get(self, user_id: uuid.UUID, name: str) -> Any | None:
        if self._redis is None:
            return None
        try:
            raw = await self._redis.get(f"t21:c:{user_id}:{await self._version(user_id)}:{name}")
            self._warned = False
        except Exception as exc:
            self._failed(exc)
            return None
        return json.loads(raw) if raw is not None else None

    async def put(self, user_id: uuid.UUID, name: str, value: Any) -> None:
        if self._redis is None:
            return
        try:
            key = f"t21:c:{user_id}:{await self._version(user_id)}:{name}"
            await self._redis.set(key, json.dumps(value, default=str), ex=TTL_SECONDS)
        except Exception as exc:
            self._failed(exc)

    async def invalidate(self, user_ids: Iterable[uuid.UUID]) -> None:
        if self._redis is None:
            return
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for user_id in set(user_ids):
                    pipe.incr(f"t21:v:{user_id}")
                    pipe.expire(f"t21:v:{user_id}", TTL_SECONDS * 4)
                await pipe.execute()
        except Exception as exc:
            # Entries expire within TTL_SECONDS at worst.
            self._failed(exc)

    async def ping(self) -> bool:
        if self._redis is None:
            return True
        try:
            return bool(await self._redis.ping())
        except Exception:
            return False

    async def close(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()


def cache_of(request: Request) -> HotCache:
    cache: HotCache = request.app.state.cache
    return cache


def invalidate_after_commit(session: AsyncSession, cache: HotCache, user_ids: Iterable[uuid.UUID]) -> None:
    ids = list(user_ids)
    if cache.enabled and ids:
        after_commit(session, lambda: cache.invalidate(ids))


async def _redis_ready(request: Request) -> tuple[bool, str]:
    settings: Settings = request.app.state.settings
    if not settings.redis_url:
        return True, "not configured"
    return (
        (True, "ok")
        if await cache_of(request).ping()
        else (False, "T21_REDIS_URL is set but Redis does not answer")
    )


async def start(app: FastAPI) -> None:
    """Nothing to open: the Redis client connects on first use."""


async def stop(app: FastAPI) -> None:
    await app.state.cache.close()


def install(app: FastAPI) -> None:
    # Created with the app (not in the lifespan) so an app used without its lifespan still works.
    app.state.cache = HotCache(app.state.settings.redis_url)
    register_readiness_check("redis", _redis_ready)
