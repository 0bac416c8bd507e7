"""Billing endpoints: checkout, portal, current plan and usage, invoices, and Stripe's webhook.

Everything here needs a signed-in person (API keys cannot manage billing), except the webhook,
which Stripe calls and which proves itself with its signature instead.
"""

from __future__ import annotations

import uuid

from fastapi import Body, Depends, FastAPI, Query, Request

from t21.auth.dependencies import Principal, scoped
from t21.auth.scopes import Scope
from t21.billing.schemas import (
    CheckoutRequest,
    CurrentSubscriptionOut,
    InvoiceOut,
    PortalRequest,
    RedirectOut,
    WebhookAck,
)
from t21.billing.service import BillingService
from t21.billing.webhooks import StripeWebhookService
from t21.integrations.stripe import StripeGateway
from t21.kit.deps import SessionDep, SettingsDep
from t21.kit.routing import make_router
from t21.kit.schemas import ListResponse

router = make_router(tags=["billing"])

Person = Depends(scoped(Scope.session))
OrganizationQuery = Query(
    default=None, alias="organizationId", description="An organization's billing instead of your own"
)


def stripe_gateway(request: Request) -> StripeGateway | None:
    """One gateway per app, made on first use; None while billing is off (no Stripe keys)."""
    state = request.app.state
    gateway: StripeGateway | None = getattr(state, "stripe_gateway", None)
    if gateway is None and state.settings.billing_enabled:
        gateway = StripeGateway.from_settings(state.settings)
        state.stripe_gateway = gateway
    return gateway


Gateway = Depends(stripe_gateway)


@router.post("/subscriptions/checkout", response_model=RedirectOut)
async def create_checkout(
    body: CheckoutRequest,
    session: SessionDep,
    settings: SettingsDep,
    gateway: StripeGateway | None = Gateway,
    principal: Principal = Person,
) -> RedirectOut:
    url = await BillingService(session, settings, gateway).checkout(principal.user, body)
    return RedirectOut(url=url)


@router.post("/subscriptions/portal", response_model=RedirectOut)
async def create_portal(
    session: SessionDep,
    settings: SettingsDep,
    body: PortalRequest | None = Body(default=None),
    gateway: StripeGateway | None = Gateway,
    principal: Principal = Person,
) -> RedirectOut:
    organization_id = body.organization_id if body else None
    url = await BillingService(session, settings, gateway).portal(principal.user, organization_id)
    return RedirectOut(url=url)


@router.get("/subscriptions/current", response_model=CurrentSubscriptionOut)
async def current_subscription(
    session: SessionDep,
    settings: SettingsDep,
    organization_id: uuid.UUID | None = OrganizationQuery,
    gateway: StripeGateway | None = Gateway,
    principal: Principal = Person,
) -> CurrentSubscriptionOut:
    return await BillingService(session, settings, gateway).current(principal.user, organization_id)


@router.get("/invoices", response_model=ListResponse[InvoiceOut])
async def list_invoices(
    session: SessionDep,
    settings: SettingsDep,
    organization_id: uuid.UUID | None = OrganizationQuery,
    cursor: str | None = Query(default=None),
    limit: int = Query(default=20, ge=1, le=100),
    gateway: StripeGateway | None = Gateway,
    principal: Principal = Person,
) -> ListResponse[InvoiceOut]:
    service = BillingService(session, settings, gateway)
    return await service.invoices(principal.user, organization_id, cursor, limit)


@router.post("/webhooks/stripe", response_model=WebhookAck)
async def stripe_webhook(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    gateway: StripeGateway | None = Gateway,
) -> WebhookAck:
    # The raw bytes, untouched: the signature covers them exactly.
    payload = await request.body()
    applied = await StripeWebhookService(session, settings, gateway).receive(
        payload, request.headers.get("stripe-signature")
    )
    return WebhookAck(duplicate=not applied)


async def start(app: FastAPI) -> None:
    """Nothing to open: the gateway is made on first use."""


async def stop(app: FastAPI) -> None:
    gateway: StripeGateway | None = getattr(app.state, "stripe_gateway", None)
    if gateway is not None:
        await gateway.aclose()
