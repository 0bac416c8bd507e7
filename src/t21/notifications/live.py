"""Live events for open browser tabs. Written with pg_notify inside the business transaction, so
an event goes out only if the change it announces committed; every API instance LISTENs and
forwards to its own WebSocket clients (the hub lives in notifications/hub.py)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

LIVE_CHANNEL = "t21_live"
# PostgreSQL refuses NOTIFY payloads of 8000 bytes or more; events carry ids and short fields.
MAX_PAYLOAD = 7900


def live_message(user_ids: Sequence[object], events: list[dict[str, Any]]) -> str | None:
    """One NOTIFY payload carrying one or more events for the same users (the hub forwards each
    event as its own WebSocket message). None when nobody is concerned."""
    if not user_ids:
        return None
    users = [str(u) for u in user_ids]
    message = json.dumps(
        {"users": users, "events": events} if len(events) > 1 else {"users": users, "event": events[0]},
        default=str,
        separators=(",", ":"),
    )
    if len(message.encode()) > MAX_PAYLOAD:
        short = [
            {
                "type": e["type"],
                "truncated": True,
                **{k: v for k, v in e.items() if k in ("postId", "status")},
            }
            for e in events
        ]
        message = json.dumps({"users": users, "events": short}, default=str, separators=(",", ":"))
    return message


async def publish_live_event(
    session: AsyncSession, user_ids: list[uuid.UUID], event_type: str, payload: dict[str, Any]
) -> None:
    if not user_ids:
        return
    message = json.dumps(
        {"users": [str(u) for u in user_ids], "event": {"type": event_type, **payload}},
        default=str,
        separators=(",", ":"),
    )
    if len(message.encode()) > MAX_PAYLOAD:
        message = json.dumps(
            {
                "users": [str(u) for u in user_ids],
                "event": {
                    "type": event_type,
                    "truncated": True,
                    **{k: v for k, v in payload.items() if k in ("postId", "status")},
                },
            },
            default=str,
        )
    await session.execute(
        text("SELECT pg_notify(:channel, :message)"), {"channel": LIVE_CHANNEL, "message": message}
    )
