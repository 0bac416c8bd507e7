"""Where an email goes: Resend, SMTP, or the local outbox (chosen by settings, in that order).

Every sender turns its transport's failures into two outcomes the job understands:
`RetryableEmailError` (try again later, optionally after `retry_after` seconds) and
`PermanentEmailError` (sending the same email again would fail the same way).
Nothing here logs a body, a password or an API key.
"""

from __future__ import annotations

import asyncio
import ipaddress
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage as MimeMessage
from email.utils import make_msgid
from typing import Protocol
from urllib.parse import unquote, urlsplit

from t21.config import Settings
from t21.integrations.resend import EmailRateLimited, EmailRejected, EmailUnavailable, ResendClient


class RetryableEmailError(Exception):
    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentEmailError(Exception):
    pass


@dataclass(frozen=True)
class OutgoingEmail:
    id: str  # the EmailMessage id: Resend's idempotency key and the SMTP Message-ID seed
    to: str
    subject: str
    html: str
    text: str


@dataclass(frozen=True)
class SendOutcome:
    status: str  # "SENT" or "STORED"
    provider_message_id: str | None = None


class EmailSender(Protocol):
    name: str

    async def send(self, email: OutgoingEmail) -> SendOutcome: ...


RESEND_TIMEOUT_SECONDS = 15.0


class ResendSender:
    name = "resend"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def send(self, email: OutgoingEmail) -> SendOutcome:
        # A client per send keeps the job free of loop-bound shared state; email volume is low.
        async with ResendClient.from_settings(self.settings, timeout=RESEND_TIMEOUT_SECONDS) as client:
            try:
                provider_id = await client.send(
                    self.settings.email_from,
                    email.to,
                    email.subject,
                    email.html,
                    email.text,
                    # Resend keeps the key 24 h: a retry after a timeout cannot send twice.
                    idempotency_key=email.id,
                )
            except EmailRateLimited as exc:
                raise RetryableEmailError(exc.message, retry_after=exc.retry_after) from None
            except EmailUnavailable as exc:
                raise RetryableEmailError(exc.message) from None
            except EmailRejected as exc:
                raise PermanentEmailError(exc.message) from None
        return SendOutcome("SENT", provider_id)


@dataclass(frozen=True)
class SmtpTarget:
    host: str
    port: int
    username: str | None
    password: str | None
    implicit_tls: bool  # smtps:// (port 465) instead of STARTTLS

    @classmethod
    def parse(cls, url: str) -> SmtpTarget:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise PermanentEmailError("T21_SMTP_URL must look like smtp://user:pass@host:port")
        implicit = parts.scheme == "smtps"
        return cls(
            host=parts.hostname,
            port=parts.port or (465 if implicit else 587),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            implicit_tls=implicit,
        )

    @property
    def is_loopback(self) -> bool:
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False


SMTP_TIMEOUT = 30.0


class SmtpSender:
    name = "smtp"

    def __init__(self, settings: Settings) -> None:
        if settings.smtp_url is None:
            raise RuntimeError("the SMTP sender needs T21_SMTP_URL")
        self.target = SmtpTarget.parse(settings.smtp_url)
        self.sender = settings.email_from

    def _message(self, email: OutgoingEmail) -> MimeMessage:
        message = MimeMessage()
        message["From"] = self.sender
        message["To"] = email.to
        message["Subject"] = email.subject
        # A stable Message-ID lets receiving servers drop the duplicate if a retry follows a
        # delivery whose answer got lost (SMTP has no idempotency key).
        domain = self.sender.rsplit("@", 1)[-1].rstrip(">") or "t21.local"
        message["Message-ID"] = make_msgid(idstring=email.id, domain=domain)
        message.set_content(email.text)
        message.add_alternative(email.html, subtype="html")
        return message

    def _send_blocking(self, email: OutgoingEmail) -> None:
        target = self.target
        context = ssl.create_default_context()
        smtp: smtplib.SMTP
        if target.implicit_tls:
            smtp = smtplib.SMTP_SSL(target.host, target.port, timeout=SMTP_TIMEOUT, context=context)
        else:
            smtp = smtplib.SMTP(target.host, target.port, timeout=SMTP_TIMEOUT)
        with smtp:
            smtp.ehlo()
            secure = target.implicit_tls
            if not secure and smtp.has_extn("starttls"):
                smtp.starttls(context=context)
                smtp.ehlo()
                secure = True
            if target.username:
                # Never hand a password to a server over plain text, except on this machine.
                if not secure and not target.is_loopback:
                    raise PermanentEmailError(
                        "The SMTP server offers no STARTTLS; refusing to send the password"
                    )
                smtp.login(target.username, target.password or "")
            smtp.send_message(self._message(email))

    async def send(self, email: OutgoingEmail) -> SendOutcome:
        try:
            await asyncio.to_thread(self._send_blocking, email)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            if all(400 <= code < 500 for code in codes):
                raise RetryableEmailError(f"SMTP recipient deferred ({codes})") from None
            raise PermanentEmailError(f"SMTP recipient refused ({codes})") from None
        except smtplib.SMTPResponseException as exc:
            detail = (
                exc.smtp_error.decode("utf-8", "replace")
                if isinstance(exc.smtp_error, bytes)
                else str(exc.smtp_error)
            )
            text = f"SMTP {exc.smtp_code}: {detail[:300]}"
            if 400 <= exc.smtp_code < 500:
                raise RetryableEmailError(text) from None
            raise PermanentEmailError(text) from None
        except smtplib.SMTPServerDisconnected as exc:
            raise RetryableEmailError(f"SMTP server disconnected: {exc}") from None
        except smtplib.SMTPException as exc:
            # (Checked before OSError, its base class.) e.g. AUTH not offered: a setup problem.
            raise PermanentEmailError(f"SMTP error: {type(exc).__name__}: {exc}") from None
        except OSError as exc:
            # Connection refused, reset, timeout, TLS failure: the server may be back later.
            raise RetryableEmailError(f"SMTP unreachable: {type(exc).__name__}: {exc}") from None
        return SendOutcome("SENT")


class OutboxSender:
    """Development: the email stays in the database, listed by `t21 outbox`."""

    name = "outbox"

    async def send(self, email: OutgoingEmail) -> SendOutcome:
        return SendOutcome("STORED")


def sender_for(settings: Settings) -> EmailSender:
    if settings.resend_api_key is not None:
        return ResendSender(settings)
    if settings.smtp_url:
        return SmtpSender(settings)
    return OutboxSender()
