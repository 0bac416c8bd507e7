"""One NOTIFY carrying several events (the publishing engine's outcome): the hub forwards each as
its own WebSocket message, in order, to the listed users only; oversized payloads are cut down."""

from __future__ import annotations

import json
import uuid
from typing import Any

from t21.notifications.hub import LiveHub
from t21.notifications.live import MAX_PAYLOAD, live_message


def _drain(client: Any) -> list[dict[str, Any]]:
    out = []
    while not client.queue.empty():
        out.append(json.loads(client.queue.get_nowait()))
    return out


async def test_several_events_in_one_message_reach_their_users_in_order() -> None:
    hub = LiveHub(source=None)  # type: ignore[arg-type]  # dispatch only: never started
    alice, bob = uuid.uuid4(), uuid.uuid4()
    to_alice, to_bob = hub.register(alice), hub.register(bob)
    payload = {"postId": "p1", "status": "PUBLISHED"}
    message = live_message(
        [alice], [{"type": "post.updated", **payload}, {"type": "post.published", **payload}]
    )
    assert message is not None
    hub.dispatch(message)
    assert [e["type"] for e in _drain(to_alice)] == ["post.updated", "post.published"]
    assert _drain(to_bob) == []
    # A single event keeps the original shape, which every producer and instance understands.
    single = live_message([bob], [{"type": "post.updated", **payload}])
    assert single is not None and '"event":' in single
    hub.dispatch(single)
    assert [e["type"] for e in _drain(to_bob)] == ["post.updated"]
    assert live_message([], [{"type": "post.updated"}]) is None


async def test_an_oversized_message_is_truncated_to_ids_and_status() -> None:
    big = {"postId": "p1", "status": "FAILED", "target": {"error": "x" * (MAX_PAYLOAD * 2)}}
    message = live_message([uuid.uuid4()], [{"type": "post.updated", **big}, {"type": "post.failed", **big}])
    assert message is not None and len(message.encode()) < MAX_PAYLOAD
    events = json.loads(message)["events"]
    assert events == [
        {"type": "post.updated", "truncated": True, "postId": "p1", "status": "FAILED"},
        {"type": "post.failed", "truncated": True, "postId": "p1", "status": "FAILED"},
    ]


async def test_the_workers_batch_sends_committed_messages_in_order_and_flushes_on_close(
    database_url: str,
) -> None:
    """LiveEventBatch (the publishing worker's sender): every message handed to it reaches a
    LISTENer, in the order given; close() sends what still waits for its batch."""
    import asyncio

    import psycopg
    import psycopg_pool

    from t21.db.urls import libpq_url
    from t21.notifications.live import LIVE_CHANNEL, LiveEventBatch

    url = libpq_url(database_url)
    async with (
        await psycopg.AsyncConnection.connect(url, autocommit=True) as listener,
        psycopg_pool.AsyncConnectionPool(url, kwargs={"autocommit": True}, open=False) as pool,
    ):
        await listener.execute(f"LISTEN {LIVE_CHANNEL}")
        batch = LiveEventBatch(pool)
        batch.start()
        sent = [json.dumps({"users": ["u"], "event": {"type": "post.updated", "n": i}}) for i in range(40)]
        for message in sent[:30]:
            batch.send(message)
        await asyncio.sleep(0.2)
        for message in sent[30:]:
            batch.send(message)
        await batch.close()  # the last ten are still waiting for their batch window
        received: list[tuple[str, int]] = []

        async def listen() -> None:
            async for note in listener.notifies():
                received.append((note.payload, note.pid))
                if len(received) == len(sent):
                    return

        await asyncio.wait_for(listen(), 5)
    assert [payload for payload, _ in received] == sent
