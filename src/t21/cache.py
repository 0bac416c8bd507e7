"""Hot cache for read-heavy answers (brand lists), in each API process's memory.

Why in memory: a brand list is read on every page of the web app, and a round trip to Redis or
PostgreSQL costs more than the rest of the request. What keeps it correct across processes:

- Each person has a version number in every process. A cached answer carries the version (and the
  process-wide epoch) it was computed under and is served only while both are unchanged.
- A write that changes what people see calls `invalidate_after_commit`: inside its transaction it
  sends `pg_notify('t21_cache', <user ids>)`, which PostgreSQL delivers to every process's listener
  only if the transaction commits; and after the commit it bumps the versions in its own process at
  once, so the writer reads its own write.
- A reader takes the version before its query and stores its answer under that version only if it
  is still current, so an answer computed before a write is never stored as current after it.
- The cache serves nothing while its listener is not connected (and drops everything when the
  listener reconnects, since notifications may have been missed); entries also expire after
  TTL_SECONDS, and the number of entries is bounded.

Other processes see a write when its notification arrives, milliseconds after the commit.
`T21_HOT_CACHE=false` turns the cache off.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable

import structlog
from fastapi import FastAPI, Request
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from t21.db.urls import libpq_url
from t21.health import register_readiness_check
from t21.kit.listen import listen_forever

log = structlog.get_logger(__name__)

CHANNEL = "t21_cache"
TTL_SECONDS = 60.0
MAX_ENTRIES = 20_000
# A silent listener connection is checked this often.
LISTENER_HEALTH_SECONDS = 10.0
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
    def __init__(self, enabled: bool) -> None:
        self.configured = enabled
        self.listening = False
        self._epoch = 0
        self._versions: dict[uuid.UUID, int] = {}
        self._entries: OrderedDict[tuple[uuid.UUID, str], tuple[int, int, float, bytes]] = OrderedDict()
        self._task: asyncio.Task[None] | None = None
        self._listening = asyncio.Event()
        # Names this cache in its notifications: it bumps its own versions at commit already, and
        # bumping them again when its own notification comes back would drop fresh entries.
        self.sender = uuid.uuid4().hex

    @property
    def enabled(self) -> bool:
        return self.configured and self.listening

    def stamp(self, user_id: uuid.UUID) -> tuple[int, int]:
        """Take before reading the database; hand back to `put` with the answer."""
        return self._versions.get(user_id, 0), self._epoch

    def get(self, user_id: uuid.UUID, name: str) -> bytes | None:
        if not self.enabled:
            return None
        entry = self._entries.get((user_id, name))
        if entry is None:
            return None
        version, epoch, expires, body = entry
        if version != self._versions.get(user_id, 0) or epoch != self._epoch or expires < time.monotonic():
            del self._entries[(user_id, name)]
            return None
        self._entries.move_to_end((user_id, name))
        return body

    def put(self, user_id: uuid.UUID, name: str, body: bytes, stamp: tuple[int, int]) -> None:
        if not self.enabled or stamp != self.stamp(user_id):
            return
        self._entries[(user_id, name)] = (stamp[0], stamp[1], time.monotonic() + TTL_SECONDS, body)
        self._entries.move_to_end((user_id, name))
        while len(self._entries) > MAX_ENTRIES:
            self._entries.popitem(last=False)

    def invalidate_local(self, user_ids: Iterable[uuid.UUID]) -> None:
        for user_id in user_ids:
            self._versions[user_id] = self._versions.get(user_id, 0) + 1
            # Versions only need to outlive the entries they guard; keep the table bounded too.
            if len(self._versions) > MAX_ENTRIES * 2:
                self._versions.clear()
                self._epoch += 1

    def _on_notify(self, payload: str) -> None:
        try:
            message = json.loads(payload)
            if message["from"] == self.sender:
                return
            ids = [uuid.UUID(raw) for raw in message["users"]]
        except (ValueError, TypeError, KeyError):
            log.warning("hot_cache_bad_notification")
            return
        self.invalidate_local(ids)

    def _set_listening(self, value: bool) -> None:
        if value:
            # Writes committed while nobody listened were missed: start from nothing.
            self._entries.clear()
            self._epoch += 1
        self.listening = value
        if value:
            self._listening.set()
        else:
            self._listening.clear()

    async def _listen_forever(self, database_url: str) -> None:
        await listen_forever(
            libpq_url(database_url),
            CHANNEL,
            self._on_notify,
            application_name="t21-cache",
            on_state=self._set_listening,
            lost_event="hot_cache_listener_lost",
            health_check_seconds=LISTENER_HEALTH_SECONDS,
        )

    async def start(self, database_url: str) -> None:
        if self.configured and self._task is None:
            self._task = asyncio.create_task(self._listen_forever(database_url), name="t21-hot-cache")

    async def wait_listening(self, seconds: float) -> bool:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._listening.wait(), seconds)
        return self.listening

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self._set_listening(False)


def cache_of(request: Request) -> HotCache:
    cache: HotCache = request.app.state.cache
    return cache


async def invalidate_after_commit(
    session: AsyncSession, cache: HotCache, user_ids: Iterable[uuid.UUID]
) -> None:
    """What `user_ids` see changes with this transaction: tell every process when it commits."""
    ids = sorted({str(u) for u in user_ids})
    if not cache.configured or not ids:
        return
    # One notification per 7,000 bytes or so (PostgreSQL's payload limit is 8,000).
    for start in range(0, len(ids), 180):
        await session.execute(
            text("SELECT pg_notify(:channel, :payload)"),
            {
                "channel": CHANNEL,
                "payload": json.dumps({"from": cache.sender, "users": ids[start : start + 180]}),
            },
        )
    local = [uuid.UUID(i) for i in ids]

    async def bump() -> None:
        cache.invalidate_local(local)

    after_commit(session, bump)


async def start(app: FastAPI) -> None:
    await app.state.cache.start(app.state.db.url)


async def stop(app: FastAPI) -> None:
    await app.state.cache.stop()


async def _cache_state(request: Request) -> tuple[bool, str]:
    cache = cache_of(request)
    if not cache.configured:
        return True, "off (T21_HOT_CACHE=false)"
    # Never a reason to be unready: without its listener the cache is bypassed, not wrong.
    return True, "on" if cache.listening else "bypassed: reconnecting its listener"


def install(app: FastAPI) -> None:
    # Created with the app (not in the lifespan) so an app used without its lifespan still works
    # (uncached: nothing listens).
    app.state.cache = HotCache(app.state.settings.hot_cache)
    register_readiness_check("hot_cache", _cache_state)
