"""Deleting one's account (issue 17, "Your data"): `DELETE /me {password}`.

Refused (409 owns_organization_with_members) while the person owns an organization that has other
members: they transfer it first. Otherwise, in the request's one transaction:

1. Stripe (when billing is on): every live subscription of the person and of the organizations
   they own alone is cancelled at once. If Stripe cannot be reached nothing is deleted (503): a
   deleted person must not go on being charged.
2. Scheduled posts of the brands that go (personal brands, and the brands of the organizations
   owned alone) lose their publish jobs (publishing/scheduling.cancel_target_job).
3. The rows go: those organizations, then the user row, whose deletion cascades to personal
   brands and everything under them (posts, targets, social accounts, media rows, analytics, AI
   generations), refresh tokens, API keys, memberships, notifications. Posts written in other
   people's organizations stay with those organizations (their author becomes empty).
4. Live sockets close on every instance once this commits (session.revoked for each session,
   api_key.revoked for each key).
5. Social tokens are revoked at the networks that offer it (connector.revoke; X and LinkedIn),
   best effort: a failure is logged and listed in the answer, the deletion goes on.

The media files and data exports of the deleted brands are removed by a job deferred in the same
transaction (t21.delete_account_files), so they go only if the rows did."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

import httpx
import structlog
from sqlalchemy import delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from t21.auth.dependencies import forget_known_user
from t21.auth.models import ApiKey, RefreshToken
from t21.auth.passwords import verify_password
from t21.billing.models import Subscription
from t21.brands.models import Brand
from t21.config import Settings
from t21.enums import SocialPostStatus
from t21.errors import Conflict, Forbidden, ServiceUnavailable
from t21.integrations.stripe import StripeGateway, StripeGatewayError
from t21.media.models import MediaAsset
from t21.notifications.live import API_KEY_REVOKED, SESSION_REVOKED, publish_live_event
from t21.organizations.models import Organization, TeamMember
from t21.platforms.base import PlatformError
from t21.posts.models import Post, SocialPost
from t21.publishing.scheduling import cancel_target_job
from t21.social_accounts.models import SocialAccount
from t21.social_accounts.tokens import connector_for, read_tokens
from t21.users.models import User

log = structlog.get_logger(__name__)

# Subscription statuses Stripe will not bill again.
_ENDED = ("canceled", "incomplete_expired")


class WrongPassword(Forbidden):
    code = "invalid_password"
    message = "The password is wrong"


class OwnsOrganizationWithMembers(Conflict):
    code = "owns_organization_with_members"
    message = (
        "You own an organization that has other members: transfer it to one of them (or remove "
        "them) before deleting your account"
    )


class SubscriptionNotCancelled(ServiceUnavailable):
    code = "subscription_not_cancelled"
    message = "Your subscription could not be cancelled at Stripe, so nothing was deleted. Try again later."


@dataclass
class DeletionReport:
    cancelled_posts: int = 0
    cancelled_subscriptions: list[str] = field(default_factory=list)
    revoked_accounts: int = 0
    revocation_failures: list[dict[str, str]] = field(default_factory=list)
    deleted_brands: int = 0
    deleted_organizations: int = 0


@dataclass
class _Token:
    account_id: uuid.UUID
    platform: str
    sandbox: bool
    access_token: str


async def _organizations(
    session: AsyncSession, user_id: uuid.UUID
) -> tuple[list[uuid.UUID], list[dict[str, str]]]:
    """The organizations the person owns: (owned alone, owned with other members)."""
    others = (
        select(func.count())
        .select_from(TeamMember)
        .where(TeamMember.organization_id == Organization.id, TeamMember.user_id != user_id)
        .scalar_subquery()
    )
    rows = (
        await session.execute(
            select(Organization.id, Organization.name, others).where(Organization.owner_id == user_id)
        )
    ).all()
    alone = [r[0] for r in rows if r[2] == 0]
    shared = [{"id": str(r[0]), "name": r[1]} for r in rows if r[2] > 0]
    return alone, shared


async def delete_account(
    session: AsyncSession,
    settings: Settings,
    user: User,
    password: str,
    *,
    gateway: StripeGateway | None,
    http: httpx.AsyncClient,
) -> DeletionReport:
    from t21.account.tasks import delete_account_files
    from t21.jobs.app import defer_in_transaction

    if not await verify_password(password, user.password_hash):
        raise WrongPassword()
    alone, shared = await _organizations(session, user.id)
    if shared:
        raise OwnsOrganizationWithMembers(details={"organizations": shared})
    report = DeletionReport(deleted_organizations=len(alone))

    brands = select(Brand.id).where(
        or_(Brand.user_id == user.id, Brand.organization_id.in_(alone or [uuid.uuid4()]))
    )
    brand_ids = list(await session.scalars(brands))
    report.deleted_brands = len(brand_ids)

    # 1. Stripe first: if it fails, nothing else happened.
    subscriptions = list(
        await session.scalars(
            select(Subscription.stripe_subscription_id).where(
                or_(
                    Subscription.user_id == user.id, Subscription.organization_id.in_(alone or [uuid.uuid4()])
                ),
                Subscription.status.not_in(_ENDED),
            )
        )
    )
    if subscriptions and gateway is not None:
        for subscription_id in subscriptions:
            try:
                await gateway.cancel_subscription(subscription_id)
            except StripeGatewayError as exc:
                log.warning("account_deletion_stripe_failed", subscription=subscription_id, error=repr(exc))
                raise SubscriptionNotCancelled() from None
            report.cancelled_subscriptions.append(subscription_id)

    # 2. Scheduled posts: their publish jobs are dropped.
    targets = await session.scalars(
        select(SocialPost)
        .join(Post, Post.id == SocialPost.post_id)
        .where(
            Post.brand_id.in_(brand_ids),
            SocialPost.status == SocialPostStatus.SCHEDULED,
        )
    )
    for target in targets:
        await cancel_target_job(session, target)
        target.status = SocialPostStatus.CANCELLED
        report.cancelled_posts += 1

    # What the networks and the storage need once the rows are gone.
    tokens: list[_Token] = []
    for account in await session.scalars(select(SocialAccount).where(SocialAccount.brand_id.in_(brand_ids))):
        try:
            access_token = read_tokens(settings, account).access_token
        except (PlatformError, ValueError):
            continue  # no token, or sealed under a key this server no longer has
        tokens.append(_Token(account.id, str(account.platform), account.is_sandbox, access_token))
    media_keys = list(
        await session.scalars(select(MediaAsset.storage_key).where(MediaAsset.brand_id.in_(brand_ids)))
    )
    families = [
        str(f)
        for f in await session.scalars(
            select(RefreshToken.family_id).where(RefreshToken.user_id == user.id).distinct()
        )
    ]
    key_ids = [str(k) for k in await session.scalars(select(ApiKey.id).where(ApiKey.user_id == user.id))]

    # 3. The rows (the database cascades the rest).
    await session.flush()
    if alone:
        await session.execute(delete(Organization).where(Organization.id.in_(alone)))
    user_id = user.id
    await session.execute(delete(User).where(User.id == user_id))
    session.expunge(user)
    forget_known_user(user_id)
    await defer_in_transaction(session, delete_account_files, user_id=str(user_id), keys=media_keys)

    # 4. Live sockets close once this commits.
    if families:
        await publish_live_event(session, [user_id], SESSION_REVOKED, {"sessionIds": families})
    for key_id in key_ids:
        await publish_live_event(session, [user_id], API_KEY_REVOKED, {"apiKeyId": key_id})

    # 5. Social tokens, best effort.
    for token in tokens:
        try:
            await connector_for(settings, http, token.platform, sandbox=token.sandbox).revoke(
                token.access_token
            )
            report.revoked_accounts += 1
        except Exception as exc:  # any failure is recorded; the deletion goes on
            log.warning("account_deletion_revoke_failed", platform=token.platform, error=repr(exc))
            report.revocation_failures.append(
                {
                    "accountId": str(token.account_id),
                    "platform": token.platform,
                    "error": f"{type(exc).__name__}: {exc}"[:200],
                }
            )
    log.info(
        "account_deleted",
        user_id=str(user_id),
        brands=report.deleted_brands,
        organizations=report.deleted_organizations,
        subscriptions=len(report.cancelled_subscriptions),
        revoked=report.revoked_accounts,
    )
    return report
