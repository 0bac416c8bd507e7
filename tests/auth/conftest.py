"""Helpers of the account-recovery tests: the email-queue worker and the links in the outbox."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from t21.jobs.runner import Worker
from tests.conftest import make_settings
from tests.notifications.conftest import eventually

LINK = re.compile(r"/reset-password\?token=([A-Za-z0-9_\-]+)")


@pytest.fixture
async def email_worker(database_url: str, session_tmp: Path) -> AsyncIterator[Worker]:
    """The real worker on the email queue (password reset jobs and the sends they queue)."""
    worker = Worker(
        make_settings(database_url, session_tmp), database_url=database_url, concurrency=2, queues=["email"]
    )
    await worker.start()
    yield worker
    await worker.stop()


async def emails_to(db: Any, address: str, template: str) -> list[dict[str, Any]]:
    async with db.engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT subject, text_body, html, status FROM email_messages "
                "WHERE to_address = :to AND template = :template ORDER BY created_at"
            ),
            {"to": address, "template": template},
        )
        return [dict(r._mapping) for r in rows]


async def reset_link(db: Any, address: str, nth: int = 1) -> str:
    """The token of the `nth` password reset email to `address`, once the job wrote it."""

    async def _written() -> list[dict[str, Any]]:
        found = await emails_to(db, address, "password_reset")
        return found if len(found) >= nth else []

    body = (await eventually(_written))[nth - 1]["text_body"]
    match = LINK.search(body)
    assert match, body
    return match.group(1)


AskReset = Callable[..., Awaitable[Any]]
