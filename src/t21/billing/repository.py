"""Queries of the billing feature: webhook events, subscriptions, invoices, owners and usage."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from t21.billing.models import Invoice, StripeEvent, Subscription
from t21.brands.models import Brand
from t21.enums import Tier
from t21.organizations.models import Organization
from t21.organizations.repository import OrganizationRepository
from t21.quotas.service import BillingOwner, owner_of_org, owner_of_user
from t21.social_accounts.models import SocialAccount
from t21.users.models import User

# How far an invoice has come. A late event never moves an invoice back (a `payment_failed`
# delivered after the `paid` that followed it leaves the invoice paid).
_INVOICE_STATUS_RANK = {"draft": 0, "open": 1, "uncollectible": 2, "paid": 3, "void": 3}


def _invoice_rank(column: Any) -> Any:
    return case(*[(column == status, rank) for status, rank in _INVOICE_STATUS_RANK.items()], else_=0)


def _owner_filter(model: type[Subscription] | type[Invoice], owner: BillingOwner) -> Any:
    if owner.kind == "organization":
        return model.organization_id == owner.id
    return model.user_id == owner.id


def _owner_columns(owner: BillingOwner) -> dict[str, uuid.UUID | None]:
    if owner.kind == "organization":
        return {"user_id": None, "organization_id": owner.id}
    return {"user_id": owner.id, "organization_id": None}


class BillingRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # -- webhook events

    async def record_event(
        self, event_id: str, type_: str, created: datetime, payload: dict[str, Any], received_at: datetime
    ) -> bool:
        """Store an event once. False when its id is already stored.

        ON CONFLICT DO NOTHING makes a concurrent second delivery wait on the first one's
        uncommitted row and then insert nothing, so exactly one of them goes on to apply it.
        """
        stmt = (
            insert(StripeEvent)
            .values(id=event_id, type=type_, created=created, payload=payload, received_at=received_at)
            .on_conflict_do_nothing(index_elements=[StripeEvent.id])
            .returning(StripeEvent.id)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none() is not None

    async def mark_event_processed(self, event_id: str, at: datetime) -> None:
        stmt = update(StripeEvent).where(StripeEvent.id == event_id).values(processed_at=at)
        await self.session.execute(stmt)

    # -- owners

    async def owner(self, kind: str, owner_id: uuid.UUID) -> BillingOwner | None:
        if kind == "organization":
            org = await self.session.get(Organization, owner_id)
            return owner_of_org(org) if org is not None else None
        user = await self.session.get(User, owner_id)
        return owner_of_user(user) if user is not None else None

    async def owner_by_customer(self, customer_id: str) -> BillingOwner | None:
        by_user = select(User).where(User.stripe_customer_id == customer_id)
        user = (await self.session.execute(by_user)).scalar()
        if user is not None:
            return owner_of_user(user)
        by_org = select(Organization).where(Organization.stripe_customer_id == customer_id)
        org = (await self.session.execute(by_org)).scalar()
        return owner_of_org(org) if org is not None else None

    async def lock_owner(self, owner: BillingOwner) -> None:
        """Serialise every billing change of one owner (webhooks of two subscriptions, a checkout
        storing the customer). Refreshes `owner.row` with the committed values."""
        model = owner.model
        row = (
            await self.session.execute(
                select(model)
                .where(model.id == owner.id)
                .with_for_update()
                .execution_options(populate_existing=True)
            )
        ).scalar_one()
        if not isinstance(row, User | Organization):
            raise RuntimeError(f"billing owner {owner.id} is neither a user nor an organization")
        owner.row = row

    async def owner_contact(self, owner: BillingOwner) -> tuple[str, str]:
        """(email, name) to bill and notify: the person, or an organization's owner."""
        if isinstance(owner.row, User):
            return owner.row.email, owner.row.name
        stmt = select(User.email).where(User.id == owner.row.owner_id)
        email = (await self.session.execute(stmt)).scalar_one()
        return email, owner.row.name

    async def set_customer(self, owner: BillingOwner, customer_id: str) -> None:
        owner.row.stripe_customer_id = customer_id
        await self.session.flush()

    # -- subscriptions

    async def subscription_owner(self, stripe_subscription_id: str) -> BillingOwner | None:
        row = (
            await self.session.execute(
                select(Subscription.user_id, Subscription.organization_id).where(
                    Subscription.stripe_subscription_id == stripe_subscription_id
                )
            )
        ).first()
        if row is None:
            return None
        user_id, organization_id = row
        if organization_id is not None:
            return await self.owner("organization", organization_id)
        if user_id is None:
            raise RuntimeError("a brand with neither a user nor an organization (one_owner forbids it)")
        return await self.owner("user", user_id)

    async def lock_subscription(self, stripe_subscription_id: str) -> Subscription | None:
        return (
            await self.session.execute(
                select(Subscription)
                .where(Subscription.stripe_subscription_id == stripe_subscription_id)
                .with_for_update()
                .execution_options(populate_existing=True)
            )
        ).scalar_one_or_none()

    async def claim_subscription(
        self, stripe_subscription_id: str, owner: BillingOwner, tier: Tier, status: str
    ) -> tuple[Subscription, bool]:
        """The row for this Stripe subscription, locked; made now if missing. True when made now.

        Insert-or-nothing then lock: two events of a subscription T21 has not seen yet cannot
        both create it, and the second waits for the first's state before judging its own.
        """
        inserted = (
            await self.session.execute(
                insert(Subscription)
                .values(
                    id=uuid.uuid4(),
                    stripe_subscription_id=stripe_subscription_id,
                    tier=tier,
                    status=status,
                    **_owner_columns(owner),
                )
                .on_conflict_do_nothing(index_elements=[Subscription.stripe_subscription_id])
                .returning(Subscription.id)
            )
        ).scalar_one_or_none()
        row = await self.lock_subscription(stripe_subscription_id)
        if row is None:
            raise RuntimeError(f"subscription {stripe_subscription_id} vanished while locked")
        return row, inserted is not None

    async def owner_subscriptions(self, owner: BillingOwner) -> list[Subscription]:
        rows = await self.session.execute(
            select(Subscription)
            .where(_owner_filter(Subscription, owner))
            .order_by(Subscription.updated_at.desc(), Subscription.id)
        )
        return list(rows.scalars())

    # -- invoices

    async def upsert_invoice(self, owner: BillingOwner, values: dict[str, Any]) -> None:
        stmt = insert(Invoice).values(id=uuid.uuid4(), **_owner_columns(owner), **values)
        changing = {k: stmt.excluded[k] for k in values if k != "stripe_invoice_id"}
        stmt = stmt.on_conflict_do_update(
            index_elements=[Invoice.stripe_invoice_id],
            set_={**changing, "updated_at": func.now()},
            where=_invoice_rank(Invoice.status) <= _invoice_rank(stmt.excluded.status),
        )
        await self.session.execute(stmt)

    async def list_invoices(
        self, owner: BillingOwner, after: tuple[datetime, datetime, uuid.UUID] | None, limit: int
    ) -> list[Invoice]:
        """Newest first. Stripe's `created` has one-second resolution, so invoices of the same
        second are ordered by when T21 recorded them."""
        key = (Invoice.issued_at, Invoice.created_at, Invoice.id)
        stmt = (
            select(Invoice)
            .where(_owner_filter(Invoice, owner))
            .order_by(*(column.desc() for column in key))
            .limit(limit)
        )
        if after is not None:
            stmt = stmt.where(tuple_(*key) < tuple_(*after))
        return list((await self.session.execute(stmt)).scalars())

    # -- usage

    async def count_brands(self, owner: BillingOwner) -> int:
        column = Brand.organization_id if owner.kind == "organization" else Brand.user_id
        stmt = select(func.count()).select_from(Brand).where(column == owner.id)
        return int((await self.session.execute(stmt)).scalar_one())

    async def count_social_accounts(self, owner: BillingOwner) -> int:
        column = Brand.organization_id if owner.kind == "organization" else Brand.user_id
        stmt = (
            select(func.count())
            .select_from(SocialAccount)
            .join(Brand, Brand.id == SocialAccount.brand_id)
            .where(column == owner.id)
        )
        return int((await self.session.execute(stmt)).scalar_one())

    async def seats_taken(self, owner: BillingOwner) -> int:
        if owner.kind == "organization":
            return await OrganizationRepository(self.session).seats_taken(owner.id)
        return 1
