"""Queries for in-app notifications (always scoped to their owner) and the email outbox."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import String, cast, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from t21.kit.pagination import keyset_page
from t21.notifications.models import EmailMessage, Notification

# An email (alias e) that no send job waits for or works on: neither its own `t21.send_email` nor
# the coalesced `t21.send_emails_to` of its recipient.
NO_SEND_JOB = """NOT EXISTS (
                    SELECT 1 FROM procrastinate_jobs j
                    WHERE j.task_name = 't21.send_email' AND j.status IN ('todo', 'doing')
                      AND j.args->>'email_id' = e.id::text)
                  AND NOT EXISTS (
                    SELECT 1 FROM procrastinate_jobs j
                    WHERE j.task_name = 't21.send_emails_to' AND j.status IN ('todo', 'doing')
                      AND j.lock = 'emails-to:' || e.to_address)"""


class NotificationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def page(
        self,
        user_id: uuid.UUID,
        *,
        unread_only: bool,
        after: tuple[datetime, uuid.UUID] | None,
        limit: int,
    ) -> list[Notification]:
        """Newest first; keyset on (created_at, id) so pages stay stable while new ones arrive."""
        stmt = select(Notification).where(Notification.user_id == user_id)
        if unread_only:
            stmt = stmt.where(Notification.read_at.is_(None))
        stmt = keyset_page(stmt, Notification.created_at, Notification.id, after, limit, descending=True)
        return list((await self.session.execute(stmt)).scalars())

    async def unread_count(self, user_id: uuid.UUID) -> int:
        stmt = (
            select(func.count())
            .select_from(Notification)
            .where(Notification.user_id == user_id, Notification.read_at.is_(None))
        )
        return int((await self.session.execute(stmt)).scalar_one())

    async def get_for_user(self, user_id: uuid.UUID, notification_id: uuid.UUID) -> Notification | None:
        stmt = select(Notification).where(Notification.id == notification_id, Notification.user_id == user_id)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def mark_read(self, note: Notification, at: datetime) -> None:
        if note.read_at is None:
            note.read_at = at
            await self.session.flush()

    async def mark_all_read(self, user_id: uuid.UUID, at: datetime) -> int:
        result: Any = await self.session.execute(
            update(Notification)
            .where(Notification.user_id == user_id, Notification.read_at.is_(None))
            .values(read_at=at)
        )
        return int(result.rowcount or 0)


class EmailRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, email_id: uuid.UUID) -> EmailMessage | None:
        return await self.session.get(EmailMessage, email_id)

    async def recent(self, limit: int) -> list[EmailMessage]:
        stmt = (
            select(EmailMessage).order_by(EmailMessage.created_at.desc(), EmailMessage.id.desc()).limit(limit)
        )
        return list((await self.session.execute(stmt)).scalars())

    async def find_by_id_prefix(self, prefix: str) -> list[EmailMessage]:
        """`t21 outbox --show` accepts the short id printed in the list."""
        stmt = (
            select(EmailMessage)
            .where(cast(EmailMessage.id, String).like(prefix.lower().replace("%", "").replace("_", "") + "%"))
            .limit(2)
        )
        return list((await self.session.execute(stmt)).scalars())

    async def pending_without_job(self, created_before: datetime, limit: int) -> list[tuple[uuid.UUID, str]]:
        """PENDING emails (id, recipient) that no live send job covers: queued where no hook was
        registered (a CLI command), whose job was deleted by hand, or whose recipient's coalesced
        send gave up. The sweep defers them again."""
        rows = await self.session.execute(
            text(
                f"""
                SELECT e.id, e.to_address FROM email_messages e
                WHERE e.status = 'PENDING' AND e.created_at < :before
                  AND {NO_SEND_JOB}
                ORDER BY e.created_at
                LIMIT :limit
                """  # noqa: S608 (NO_SEND_JOB is a constant)
            ),
            {"before": created_before, "limit": limit},
        )
        return [(row[0], row[1]) for row in rows]

    async def still_stranded(self, email_id: uuid.UUID, to_address: str) -> bool:
        """The sweep's second look, under the recipient's advisory lock."""
        row = await self.session.execute(
            text(
                f"""
                SELECT 1 FROM email_messages e WHERE e.id = :id AND e.status = 'PENDING'
                  AND {NO_SEND_JOB}
                """  # noqa: S608 (NO_SEND_JOB is a constant)
            ),
            {"id": email_id},
        )
        return row.first() is not None
