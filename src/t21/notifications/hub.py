"""The live hub: one per API process, routing live events to that process's open WebSockets.

Producers never talk to the hub. They call `publish_live_event` (live.py), a `pg_notify` inside
their business transaction, so an event leaves only if its change commits and never if it
rolls back. How NOTIFYs reach the hubs is a `LiveSource` strategy:

- `PostgresListenSource` (default): every API process holds one dedicated connection running
  `LISTEN t21_live`. PostgreSQL delivers each NOTIFY to every listener, so N instances all see
  every event. Cost: one extra PostgreSQL connection per API process.
- `RedisRelaySource` (when T21_REDIS_URL is set): one elected relay (whichever process holds a
  PostgreSQL advisory lock on its listener connection) LISTENs and PUBLISHes each payload to the
  Redis channel `t21:live`; every process SUBSCRIBEs to it. The database then carries one
  listener instead of one per instance, and fan-out is Redis's job. The others retry the lock
  every second, so if the relay dies (its connection drops, the lock frees) another takes over
  within about a second; events during that gap are lost, which live events tolerate: they are
  hints to refresh, the REST API stays the source of truth.

Both reconnect with capped exponential backoff, so the app starts and keeps serving HTTP while
PostgreSQL or Redis is down.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections import defaultdict
from collections.abc import Callable
from typing import Any, Protocol

import psycopg
import structlog

from t21.db.urls import libpq_url
from t21.kit.backoff import Backoff
from t21.kit.listen import HEALTH_CHECK_SECONDS, listen_forever
from t21.notifications.live import LIVE_CHANNEL

log = structlog.get_logger(__name__)

REDIS_CHANNEL = "t21:live"
# Any bigint; the same in every instance so exactly one of them relays.
RELAY_LOCK_KEY = 0x7432_316C_6976  # "t21liv"
RELAY_RETRY_SECONDS = 1.0
CLIENT_QUEUE_SIZE = 1000

Deliver = Callable[[str], None]
# Told True when events produced from now on will be delivered, False when that stops.
ReadyCallback = Callable[[bool], None]


class LiveSource(Protocol):
    name: str

    async def run(self, deliver: Deliver, ready: ReadyCallback) -> None:
        """Feed every NOTIFY payload to `deliver`, reconnecting forever; ends only when cancelled."""
        ...


class PostgresListenSource:
    name = "postgres"

    def __init__(self, database_url: str) -> None:
        self.url = libpq_url(database_url)

    async def run(self, deliver: Deliver, ready: ReadyCallback) -> None:
        def state(listening: bool) -> None:
            ready(listening)
            if listening:
                log.info("live_listening", source=self.name)

        await listen_forever(
            self.url,
            LIVE_CHANNEL,
            deliver,
            application_name="t21-live",
            on_state=state,
            lost_event="live_listener_lost",
        )


class RedisRelaySource:
    name = "redis"

    def __init__(self, database_url: str, redis_url: str) -> None:
        self.url = libpq_url(database_url)
        self.redis_url = redis_url
        self.is_relay = False

    async def run(self, deliver: Deliver, ready: ReadyCallback) -> None:
        await asyncio.gather(self._subscribe(deliver, ready), self._relay())

    async def _subscribe(self, deliver: Deliver, ready: ReadyCallback) -> None:
        import redis.asyncio as redis

        backoff = Backoff()
        while True:
            client = redis.from_url(self.redis_url, socket_connect_timeout=5)
            try:
                async with client.pubsub(ignore_subscribe_messages=True) as pubsub:
                    await pubsub.subscribe(REDIS_CHANNEL)
                    ready(True)
                    backoff.reset()
                    while True:
                        message = await pubsub.get_message(timeout=HEALTH_CHECK_SECONDS)
                        if message is None:
                            await pubsub.ping()
                        elif message.get("type") == "message":
                            data = message["data"]
                            deliver(data.decode() if isinstance(data, bytes) else str(data))
            except (redis.RedisError, OSError) as exc:
                log.warning("live_subscriber_lost", source=self.name, error=type(exc).__name__)
            finally:
                ready(False)
                await client.aclose()  # type: ignore[attr-defined]
            await asyncio.sleep(backoff.next())

    async def _relay(self) -> None:
        import redis.asyncio as redis

        publisher = redis.from_url(self.redis_url, socket_connect_timeout=5)

        async def lead(conn: psycopg.AsyncConnection[Any]) -> None:
            # Wait for leadership on this connection; losing the connection frees it.
            while True:
                cur = await conn.execute("SELECT pg_try_advisory_lock(%s)", (RELAY_LOCK_KEY,))
                row = await cur.fetchone()
                if row and row[0]:
                    break
                await asyncio.sleep(RELAY_RETRY_SECONDS)
            self.is_relay = True
            log.info("live_relay_elected")

        async def relay(payload: str) -> None:
            await publisher.publish(REDIS_CHANNEL, payload)

        def state(listening: bool) -> None:
            # Any failure gives leadership up (the connection closes) and starts over.
            if not listening:
                self.is_relay = False

        try:
            await listen_forever(
                self.url,
                LIVE_CHANNEL,
                relay,
                application_name="t21-live-relay",
                on_state=state,
                before_listen=lead,
                errors=(psycopg.Error, redis.RedisError, OSError),
                lost_event="live_relay_lost",
            )
        finally:
            await publisher.aclose()  # type: ignore[attr-defined]


class LiveClient:
    """One open socket's mailbox. The socket's own task drains it, so a slow client never slows
    the hub or the other clients."""

    def __init__(self, user_id: uuid.UUID) -> None:
        self.user_id = user_id
        self.queue: asyncio.Queue[str] = asyncio.Queue(maxsize=CLIENT_QUEUE_SIZE)
        self.closed = asyncio.Event()
        self.close_code = 1000
        self.close_reason = ""

    def offer(self, text: str) -> None:
        try:
            self.queue.put_nowait(text)
        except asyncio.QueueFull:
            # It has missed events; closing tells it to reconnect and refetch, rather than
            # silently showing stale data.
            self.close(1013, "Too many pending events; reconnect")

    def close(self, code: int, reason: str) -> None:
        if not self.closed.is_set():
            self.close_code, self.close_reason = code, reason
            self.closed.set()


class LiveHub:
    def __init__(self, source: LiveSource) -> None:
        self.source = source
        self._clients: dict[str, set[LiveClient]] = defaultdict(set)
        self._task: asyncio.Task[None] | None = None
        self._listening = asyncio.Event()
        self.delivered = 0

    @property
    def listening(self) -> bool:
        return self._listening.is_set()

    def _set_listening(self, value: bool) -> None:
        if value:
            self._listening.set()
        else:
            self._listening.clear()

    async def wait_listening(self, seconds: float) -> bool:
        """Let a socket opened right after boot wait briefly, so its "ready" means events flow."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._listening.wait(), seconds)
        return self.listening

    def register(self, user_id: uuid.UUID) -> LiveClient:
        client = LiveClient(user_id)
        self._clients[str(user_id)].add(client)
        return client

    def unregister(self, client: LiveClient) -> None:
        key = str(client.user_id)
        clients = self._clients.get(key)
        if clients is not None:
            clients.discard(client)
            if not clients:
                del self._clients[key]

    def connection_count(self) -> int:
        return sum(len(c) for c in self._clients.values())

    def dispatch(self, payload: str) -> None:
        """Route one NOTIFY payload `{"users": [...], "event": {...}}` (or `"events": [...]`, several
        events for the same users in one NOTIFY, each sent as its own message) to those users'
        sockets."""
        try:
            message = json.loads(payload)
            users = message["users"]
            events = message["events"] if "events" in message else [message["event"]]
            if not isinstance(users, list) or not all(isinstance(e, dict) for e in events):
                raise TypeError("shape")
        except (ValueError, KeyError, TypeError):
            log.warning("live_event_malformed", size=len(payload))
            return
        for event in events:
            text = json.dumps(event, separators=(",", ":"))
            for user in users:
                for client in list(self._clients.get(str(user), ())):
                    client.offer(text)
                    self.delivered += 1

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"t21-live-{self.source.name}")

    async def _run(self) -> None:
        try:
            await self.source.run(self.dispatch, self._set_listening)
        except asyncio.CancelledError:
            raise
        except Exception:
            # A bug in a source must not take the API down; live events stop, HTTP keeps working.
            log.exception("live_hub_crashed")

    async def stop(self) -> None:
        for clients in list(self._clients.values()):
            for client in list(clients):
                client.close(1012, "Server restarting")
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None


def build_source(database_url: str, redis_url: str | None) -> LiveSource:
    if redis_url:
        return RedisRelaySource(database_url, redis_url)
    return PostgresListenSource(database_url)


async def start(app: Any) -> None:
    hub = LiveHub(build_source(app.state.db.url, app.state.settings.redis_url))
    app.state.live_hub = hub
    await hub.start()


async def stop(app: Any) -> None:
    hub: LiveHub | None = getattr(app.state, "live_hub", None)
    if hub is not None:
        await hub.stop()
