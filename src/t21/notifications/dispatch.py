"""Hook points called inside the business transaction. The job system registers the senders
(so emails and live events go out only if the transaction commits)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

from t21.notifications.models import EmailMessage

EmailHook = Callable[[AsyncSession, EmailMessage], Awaitable[None]]
_email_hooks: list[EmailHook] = []


def on_email_queued(hook: EmailHook) -> None:
    if hook not in _email_hooks:
        _email_hooks.append(hook)


async def after_email_queued(session: AsyncSession, message: EmailMessage) -> None:
    for hook in _email_hooks:
        await hook(session, message)
