"""Stripe webhooks: verified, stored once, applied in the order of the subscription's own history.

Rules (each event is one transaction with the row that records it):

- The `Stripe-Signature` is checked over the raw body (forged, stale > 300 s or missing → 400,
  nothing stored). Then the event is inserted into `stripe_events` with ON CONFLICT DO NOTHING:
  a replay, or a second delivery racing the first, inserts nothing and changes nothing.
- Stripe delivers out of order, so arrival order means nothing. Each Subscription keeps
  `last_event_at`, the `created` of the newest event applied to it:
    * `customer.subscription.deleted` always applies: Stripe never revives a subscription.
    * a subscription that has ended (canceled) ignores every later-arriving non-deleted event;
    * an event older than `last_event_at` is ignored, a newer one applies its payload;
    * an event from the same second is ambiguous (Stripe's `created` has one-second
      resolution), so the subscription is re-read from Stripe and its current state applied.
  A subscription T21 has not seen yet is created by whichever of its events arrives first
  (`updated` before `created` included), found by its metadata or the owner's customer id.
- Each owner's tier and status are recomputed from all of their subscriptions after every
  change (the live one granting most access decides), so cancelling an old subscription after an
  upgrade does not drop the new plan.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from t21.billing.models import Subscription
from t21.billing.repository import BillingRepository
from t21.billing.service import (
    ACTIVE_STATUSES,
    TERMINAL_STATUSES,
    TIER_RANK,
    BillingDisabled,
    BillingUnavailable,
    owner_summary,
    tier_of_price,
)
from t21.config import Settings
from t21.enums import SubscriptionStatus, Tier
from t21.errors import BadRequest
from t21.integrations.stripe import (
    StripeGateway,
    StripeRequestError,
    StripeUnavailable,
    WebhookSignatureInvalid,
    construct_event,
)
from t21.kit.clock import utcnow
from t21.notifications.emails import queue_email
from t21.quotas.service import BillingOwner

log = structlog.get_logger(__name__)

SUBSCRIPTION_EVENTS = (
    "customer.subscription.created",
    "customer.subscription.updated",
    "customer.subscription.deleted",
)
INVOICE_EVENTS = ("invoice.paid", "invoice.payment_failed")


class InvalidSignature(BadRequest):
    code = "invalid_signature"
    message = "The Stripe-Signature header is missing, does not match, or is too old"


def _timestamp(value: Any) -> datetime | None:
    if isinstance(value, int | float) and value > 0:
        return datetime.fromtimestamp(value, UTC)
    return None


def _id_of(value: Any) -> str | None:
    """Stripe fields that can be an id or an expanded object."""
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) and value else None


def _items(subscription: dict[str, Any]) -> list[dict[str, Any]]:
    items = subscription.get("items") or {}
    data = items.get("data") if isinstance(items, dict) else None
    return [item for item in data or [] if isinstance(item, dict)]


def _parse_ref(value: Any) -> tuple[str, uuid.UUID] | None:
    """`user:<uuid>` / `org:<uuid>` (our client_reference_id) → (owner kind, id)."""
    if not isinstance(value, str):
        return None
    prefix, _, raw = value.partition(":")
    kind = {"user": "user", "org": "organization", "organization": "organization"}.get(prefix)
    try:
        return (kind, uuid.UUID(raw)) if kind else None
    except ValueError:
        return None


def _metadata_ref(metadata: Any) -> tuple[str, uuid.UUID] | None:
    if not isinstance(metadata, dict):
        return None
    kind = metadata.get("t21_owner_kind")
    if kind not in ("user", "organization"):
        return None
    try:
        return kind, uuid.UUID(str(metadata.get("t21_owner_id")))
    except ValueError:
        return None


def _invoice_subscription_id(invoice: dict[str, Any]) -> str | None:
    parent = invoice.get("parent") or {}
    details = parent.get("subscription_details") if isinstance(parent, dict) else None
    if isinstance(details, dict) and _id_of(details.get("subscription")):
        return _id_of(details.get("subscription"))
    # API versions before 2025-03 put it on the invoice itself.
    return _id_of(invoice.get("subscription"))


class StripeWebhookService:
    def __init__(self, session: AsyncSession, settings: Settings, gateway: StripeGateway | None) -> None:
        self.session = session
        self.settings = settings
        self.gateway = gateway
        self.repo = BillingRepository(session)

    async def receive(self, payload: bytes, signature: str | None) -> bool:
        """Verify and apply one delivery. Returns False for an event already received."""
        if not self.settings.billing_enabled or self.settings.stripe_webhook_secret is None:
            raise BillingDisabled(self.settings)
        try:
            secret = self.settings.stripe_webhook_secret.get_secret_value()
            event = construct_event(payload, signature, secret)
        except WebhookSignatureInvalid as exc:
            log.warning("stripe_webhook_rejected", reason=str(exc))
            raise InvalidSignature() from exc
        return await self.apply(event)

    async def apply(self, event: dict[str, Any]) -> bool:
        now = utcnow()
        event_id, event_type = str(event["id"]), str(event["type"])
        created = _timestamp(event.get("created")) or now
        if not await self.repo.record_event(event_id, event_type, created, event, now):
            log.info("stripe_event_duplicate", event_id=event_id, type=event_type)
            return False
        data = event.get("data") or {}
        obj = data.get("object") if isinstance(data, dict) else None
        if isinstance(obj, dict):
            if event_type == "checkout.session.completed":
                await self._checkout_completed(obj, created)
            elif event_type in SUBSCRIPTION_EVENTS:
                await self._subscription_event(event_type, obj, created)
            elif event_type in INVOICE_EVENTS:
                await self._invoice_event(event_type, obj, created)
            else:
                log.info("stripe_event_ignored", event_id=event_id, type=event_type)
        await self.repo.mark_event_processed(event_id, utcnow())
        return True

    # -- owners

    async def _owner_from(self, ref: tuple[str, uuid.UUID] | None) -> BillingOwner | None:
        return await self.repo.owner(*ref) if ref is not None else None

    async def _owner_of_subscription(self, subscription: dict[str, Any]) -> BillingOwner | None:
        """The row's owner when T21 knows the subscription; else the metadata set at checkout;
        else whoever holds the customer."""
        owner = await self.repo.subscription_owner(str(subscription["id"]))
        if owner is None:
            owner = await self._owner_from(_metadata_ref(subscription.get("metadata")))
        if owner is None and (customer := _id_of(subscription.get("customer"))):
            owner = await self.repo.owner_by_customer(customer)
        return owner

    # -- checkout.session.completed

    async def _checkout_completed(self, session: dict[str, Any], created: datetime) -> None:
        owner = await self._owner_from(_parse_ref(session.get("client_reference_id")))
        if owner is None:
            owner = await self._owner_from(_metadata_ref(session.get("metadata")))
        if owner is None:
            log.warning("stripe_checkout_without_owner", session_id=session.get("id"))
            return
        # Lock order everywhere: owner, then subscription (no deadlock between two events).
        await self.repo.lock_owner(owner)
        customer = _id_of(session.get("customer"))
        if customer and owner.row.stripe_customer_id != customer:
            await self._link_customer(owner, customer)
        subscription_id = _id_of(session.get("subscription"))
        if subscription_id is None or await self.repo.lock_subscription(subscription_id) is not None:
            return
        # The subscription's own events may come later (or be lost for a while): read it now so
        # the plan is on when the browser lands on the success page.
        if self.gateway is None:
            raise RuntimeError("billing webhooks need a Stripe gateway (billing is off)")
        try:
            state = await self.gateway.retrieve_subscription(subscription_id)
        except (StripeUnavailable, StripeRequestError) as exc:
            log.warning(
                "stripe_checkout_subscription_unread", subscription_id=subscription_id, error=str(exc)
            )
            return
        await self._apply_subscription(owner, state, created, reread=True)

    async def _link_customer(self, owner: BillingOwner, customer: str) -> None:
        if owner.row.stripe_customer_id is not None:
            # Checkout used the customer stored on the owner, so this is someone else's doing
            # (a session made in the Stripe dashboard): keep ours, say so.
            log.warning(
                "stripe_customer_mismatch",
                owner_id=str(owner.id),
                stored=owner.row.stripe_customer_id,
                received=customer,
            )
            return
        holder = await self.repo.owner_by_customer(customer)
        if holder is not None and holder.id != owner.id:
            log.warning(
                "stripe_customer_taken", owner_id=str(owner.id), customer=customer, holder_id=str(holder.id)
            )
            return
        await self.repo.set_customer(owner, customer)

    # -- customer.subscription.*

    async def _subscription_event(
        self, event_type: str, subscription: dict[str, Any], created: datetime
    ) -> None:
        owner = await self._owner_of_subscription(subscription)
        if owner is None:
            log.warning(
                "stripe_subscription_without_owner",
                subscription_id=subscription.get("id"),
                customer=_id_of(subscription.get("customer")),
            )
            return
        await self.repo.lock_owner(owner)
        row = await self.repo.lock_subscription(str(subscription["id"]))
        if row is None:
            await self._apply_subscription(owner, subscription, created)
            return
        decision = self._judge(row, event_type, created)
        log.info(
            "stripe_subscription_event",
            subscription_id=row.stripe_subscription_id,
            type=event_type,
            decision=decision,
            created=created.isoformat(),
            last_event_at=row.last_event_at.isoformat() if row.last_event_at else None,
        )
        if decision == "ignore":
            return
        if decision == "reread":
            subscription = await self._reread(subscription)
        await self._apply_subscription(owner, subscription, created, reread=decision == "reread")

    @staticmethod
    def _judge(row: Subscription, event_type: str, created: datetime) -> str:
        """apply | ignore | reread, from the subscription's own state and timestamps."""
        if event_type == "customer.subscription.deleted":
            return "apply"
        if row.status in TERMINAL_STATUSES:
            return "ignore"
        if row.last_event_at is None or created > row.last_event_at:
            return "apply"
        if created < row.last_event_at:
            return "ignore"
        return "reread"

    async def _reread(self, subscription: dict[str, Any]) -> dict[str, Any]:
        if self.gateway is None:
            raise RuntimeError("billing webhooks need a Stripe gateway (billing is off)")
        try:
            return await self.gateway.retrieve_subscription(str(subscription["id"]))
        except StripeUnavailable as exc:
            # Undecidable now: answer 503 so the whole delivery rolls back and Stripe retries it.
            log.warning("stripe_reread_failed", subscription_id=subscription["id"], error=str(exc))
            raise BillingUnavailable() from exc
        except StripeRequestError as exc:
            # Stripe will not show it (deleted test data, another account): the payload is the
            # best evidence left.
            log.warning("stripe_reread_refused", subscription_id=subscription["id"], error=exc.message)
            return subscription

    def _tier_of(self, subscription: dict[str, Any], fallback: str | None) -> Tier:
        tiers = [
            t
            for item in _items(subscription)
            if (t := tier_of_price(self.settings, _id_of(item.get("price")))) is not None
        ]
        if tiers:
            return max(tiers, key=TIER_RANK.__getitem__)
        metadata = subscription.get("metadata") or {}
        named = metadata.get("tier") if isinstance(metadata, dict) else None
        if named in (Tier.PRO, Tier.BUSINESS):
            return Tier(named)
        log.warning(
            "stripe_subscription_unknown_price",
            subscription_id=subscription.get("id"),
            prices=[_id_of(item.get("price")) for item in _items(subscription)],
        )
        return Tier(fallback) if fallback else Tier.FREE

    async def _apply_subscription(
        self, owner: BillingOwner, subscription: dict[str, Any], created: datetime, *, reread: bool = False
    ) -> None:
        """Copy Stripe's state of one subscription onto its row, then onto the owner."""
        status = str(subscription.get("status") or SubscriptionStatus.incomplete)
        if status not in set(SubscriptionStatus):
            log.warning("stripe_subscription_unknown_status", status=status)
            status = SubscriptionStatus.incomplete
        row, is_new = await self.repo.claim_subscription(str(subscription["id"]), owner, Tier.FREE, status)
        before = None if is_new else (row.tier, row.status)
        tier = self._tier_of(subscription, None if is_new else row.tier)
        items = _items(subscription)
        period_ends = [ts for item in items if (ts := _timestamp(item.get("current_period_end")))]
        # Before API version 2025-03 the period lived on the subscription itself.
        period_end = max(period_ends) if period_ends else _timestamp(subscription.get("current_period_end"))
        row.tier = tier
        row.status = status
        row.price_id = _id_of(items[0].get("price")) if items else row.price_id
        row.current_period_end = period_end
        row.cancel_at_period_end = bool(subscription.get("cancel_at_period_end"))
        row.stripe_customer_id = _id_of(subscription.get("customer")) or row.stripe_customer_id
        row.last_event_at = max(row.last_event_at or created, created)
        row.updated_at = utcnow()
        await self.session.flush()
        log.info(
            "stripe_subscription_applied",
            subscription_id=row.stripe_subscription_id,
            tier=row.tier,
            status=row.status,
            new=is_new,
            reread=reread,
        )
        if status in ACTIVE_STATUSES and self._first_activation(before, tier):
            email, _ = await self.repo.owner_contact(owner)
            await queue_email(
                self.session,
                email,
                "subscription_confirmed",
                tier=tier.value,
                url=f"{self.settings.base_url}/billing",
            )
        await self._sync_owner(owner, created)

    @staticmethod
    def _first_activation(before: tuple[str, str] | None, tier: Tier) -> bool:
        """A subscription becoming active on a tier it was not active on before. Recovering
        from past_due (or unpaid, paused) is not news worth a confirmation email."""
        if before is None:
            return True
        old_tier, old_status = before
        if old_tier != tier:
            return True
        return old_status in (SubscriptionStatus.incomplete, SubscriptionStatus.incomplete_expired)

    async def _sync_owner(self, owner: BillingOwner, at: datetime) -> None:
        tier, status = owner_summary(await self.repo.owner_subscriptions(owner))
        row = owner.row
        if status == SubscriptionStatus.past_due:
            if row.subscription_status != SubscriptionStatus.past_due or row.past_due_since is None:
                # The grace period runs from when Stripe marked it, not from a late delivery.
                row.past_due_since = min(at, utcnow())
        else:
            row.past_due_since = None
        row.subscription_tier = tier
        row.subscription_status = status
        await self.session.flush()

    # -- invoice.*

    async def _invoice_event(self, event_type: str, invoice: dict[str, Any], created: datetime) -> None:
        subscription_id = _invoice_subscription_id(invoice)
        owner = None
        if customer := _id_of(invoice.get("customer")):
            owner = await self.repo.owner_by_customer(customer)
        if owner is None and subscription_id:
            owner = await self.repo.subscription_owner(subscription_id)
        if owner is None:
            parent = invoice.get("parent") or {}
            details = parent.get("subscription_details") if isinstance(parent, dict) else None
            owner = await self._owner_from(_metadata_ref((details or {}).get("metadata")))
        if owner is None:
            log.warning("stripe_invoice_without_owner", invoice_id=invoice.get("id"), customer=customer)
            return
        status = str(invoice.get("status") or ("paid" if event_type == "invoice.paid" else "open"))
        await self.repo.upsert_invoice(
            owner,
            {
                "stripe_invoice_id": str(invoice["id"]),
                "stripe_subscription_id": subscription_id,
                "amount_paid": int(invoice.get("amount_paid") or 0),
                "amount_due": int(invoice.get("amount_due") or 0),
                "currency": str(invoice.get("currency") or "usd"),
                "status": status,
                "hosted_invoice_url": invoice.get("hosted_invoice_url"),
                "pdf_url": invoice.get("invoice_pdf"),
                "issued_at": _timestamp(invoice.get("created")) or created,
            },
        )
        if event_type == "invoice.payment_failed":
            email, _ = await self.repo.owner_contact(owner)
            await queue_email(self.session, email, "payment_failed", url=f"{self.settings.base_url}/billing")
