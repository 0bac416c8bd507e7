"""Email templates and the outbox. An email is written in the same transaction as the event that
causes it, and a job sends it (Resend, SMTP, or kept in the local outbox in development)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from html import escape

from sqlalchemy.ext.asyncio import AsyncSession

from t21.enums import network_name
from t21.notifications.models import EmailMessage


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


Link = tuple[str, str]  # (label, url)


def _layout(title: str, paragraphs: list[str], links: list[Link]) -> str:
    body = "".join(f"<p>{escape(p)}</p>" for p in paragraphs)
    for label, url in links:
        body += f'<p><a href="{escape(url, quote=True)}">{escape(label)}</a></p>'
    return (
        '<!doctype html><html><body style="font-family:sans-serif;max-width:560px">'
        f'<h2>{escape(title)}</h2>{body}<p style="color:#888">T21</p></body></html>'
    )


def render(template: str, **ctx: str) -> RenderedEmail:
    """Every email T21 sends. Unknown templates are a programming error (KeyError). A network
    is named as it writes itself ("linkedin" → "LinkedIn"), whoever the caller."""
    if "platform" in ctx:
        ctx["platform"] = network_name(ctx["platform"])
    builders: dict[str, Callable[[], tuple[str, list[str], Link | list[Link]]]] = {
        "welcome": lambda: (
            "Welcome to T21",
            [
                f"Hi {ctx['name']},",
                "Your account is ready. Create a brand, connect an account, and schedule your first post.",
            ],
            ("Open T21", ctx["url"]),
        ),
        "team_invite": lambda: (
            f"You're invited to {ctx['organization']} on T21",
            [
                f"{ctx['inviter']} invited you to join {ctx['organization']} as {ctx['role']}.",
                "The invitation is valid for 7 days.",
            ],
            ("Accept the invitation", ctx["url"]),
        ),
        # Both addresses: the post on the network, and the post in T21 (status, metrics, edits).
        "post_published": lambda: (
            f"Published on {ctx['platform']}",
            [f"Your post for {ctx['brand']} is live on {ctx['platform']}.", ctx.get("excerpt", "")],
            [
                *([(f"See it on {ctx['platform']}", ctx["network_url"])] if ctx.get("network_url") else []),
                ("Open the post in T21", ctx["url"]),
            ],
        ),
        "post_failed": lambda: (
            f"A post could not be published on {ctx['platform']}",
            [
                f"Your post for {ctx['brand']} was not published on {ctx['platform']}.",
                f"The network said: {ctx['reason']}",
            ],
            ("Open the post", ctx["url"]),
        ),
        "post_unknown": lambda: (
            f"Check your post on {ctx['platform']}",
            [
                f"T21 could not confirm whether your post for {ctx['brand']} was published on "
                f"{ctx['platform']}.",
                ctx["reason"],
                "Check the account before retrying: a retry would post it a second time if it is there.",
            ],
            ("Open the post", ctx["url"]),
        ),
        "account_disconnected": lambda: (
            f"Reconnect your {ctx['platform']} account",
            [
                f"T21 lost access to {ctx['account']} on {ctx['platform']} ({ctx['reason']}).",
                "Scheduled posts for this account will not be published until you reconnect it.",
            ],
            ("Reconnect", ctx["url"]),
        ),
        "account_expiring": lambda: (
            f"Your {ctx['platform']} connection expires soon",
            [
                f"The connection to {ctx['account']} on {ctx['platform']} expires on {ctx['expires']}.",
                "Reconnect before then to keep publishing.",
            ],
            ("Reconnect", ctx["url"]),
        ),
        "subscription_confirmed": lambda: (
            f"You're on T21 {ctx['tier']}",
            [f"Thank you! Your {ctx['tier']} plan is active."],
            ("Billing", ctx["url"]),
        ),
        "password_reset": lambda: (
            "Reset your T21 password",
            [
                f"Hi {ctx['name']},",
                "Someone (hopefully you) asked to reset the password of your T21 account.",
                f"The link below works once, within {ctx['minutes']} minutes. If you did not ask for it, "
                "ignore this email: your password stays as it is.",
            ],
            ("Choose a new password", ctx["url"]),
        ),
        "verify_email": lambda: (
            "Confirm your email address for T21",
            [
                f"Hi {ctx['name']},",
                f"Confirm that {ctx['email']} is your address to connect accounts, publish and invite "
                "your team.",
                f"The link works once, within {ctx['hours']} hours. If you did not sign up for T21, ignore "
                "this email.",
            ],
            ("Confirm my address", ctx["url"]),
        ),
        "password_changed": lambda: (
            "Your T21 password was changed",
            [
                f"Hi {ctx['name']},",
                "The password of your T21 account was just reset, and every session was signed out.",
                "If this was not you, reset it again now and check your account.",
            ],
            ("Reset the password", ctx["url"]),
        ),
        "data_export_ready": lambda: (
            "Your T21 data export is ready",
            [
                f"Hi {ctx['name']},",
                "The export you asked for is ready: your brands, posts, media list, analytics and AI "
                "generations, as JSON and CSV in one zip file.",
                f"The link works for {ctx['hours']} hours. If you did not ask for it, change your password.",
            ],
            ("Download my data", ctx["url"]),
        ),
        "payment_failed": lambda: (
            "Your T21 payment failed",
            ["We could not charge your card. Update your payment method within 7 days to keep your plan."],
            ("Update payment method", ctx["url"]),
        ),
    }
    subject, paragraphs, link_or_links = builders[template]()
    links = link_or_links if isinstance(link_or_links, list) else [link_or_links]
    text = "\n\n".join(p for p in paragraphs if p) + "".join(f"\n\n{label}: {url}" for label, url in links)
    return RenderedEmail(
        subject=subject, text=text, html=_layout(subject, [p for p in paragraphs if p], links)
    )


async def queue_email(session: AsyncSession, to: str, template: str, **ctx: str) -> EmailMessage:
    rendered = render(template, **ctx)
    message = EmailMessage(
        to_address=to,
        subject=rendered.subject,
        template=template,
        html=rendered.html,
        text_body=rendered.text,
    )
    session.add(message)
    await session.flush()
    from t21.notifications.dispatch import after_email_queued

    await after_email_queued(session, message)
    return message
