"""The billing API around the flow: self-hosted mode, bad input, who may see and change whose
billing, Stripe being down or refusing, invoice paging, and the read-only helpers."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from t21.db.database import Database
from t21.emulators.base import RunningServer, free_port
from t21.errors import PlanLimitReached
from t21.quotas.readonly import ensure_account_within_plan, writable_account_ids
from t21.quotas.service import owner_of_user
from t21.social_accounts.models import SocialAccount
from t21.users.models import User
from tests.billing._support import (
    billing_settings,
    event_body,
    execute,
    post_event,
    scalar,
    sign,
    subscription_object,
)
from tests.conftest import Account, AppFactory, assert_error, client_for, make_settings

pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")


@pytest.fixture
async def billed(app_factory: AppFactory, stripe_server: RunningServer) -> Any:
    """An in-process app with billing on, talking to the Stripe emulator."""
    async with httpx.AsyncClient(base_url=stripe_server.url) as control:
        (await control.post("/_emulator/reset")).raise_for_status()
    app = await app_factory(**billing_settings(stripe_server.url))
    async with client_for(app) as client:
        yield client


# -- self-hosted (no Stripe keys)


async def test_without_stripe_keys_billing_answers_503_and_no_plan_applies(client, register) -> None:
    ada: Account = await register()
    calls = [
        ada.post("/api/v1/subscriptions/checkout", json={"tier": "PRO"}),
        ada.post("/api/v1/subscriptions/portal"),
        ada.get("/api/v1/invoices"),
        post_event(client, event_body("invoice.paid", {"id": "in_1"})),
    ]
    for call in calls:
        body = assert_error(await call, 503, "billing_disabled")
        assert "self-hosted" in body["error"]
        assert "no plan applies" in body["error"]
        assert body["details"] == {"billingEnabled": False}
    current = (await ada.get("/api/v1/subscriptions/current")).json()
    assert (current["tier"], current["subscribedTier"], current["billingEnabled"], current["status"]) == (
        None,
        None,
        False,
        None,
    )
    assert current["limits"] == {
        "brands": None,
        "socialAccounts": None,
        "postsPerMonth": None,
        "aiCreditsPerMonth": None,
        "teamSeats": None,
    }
    assert current["features"] == ["api_keys", "approvals", "webhooks"]


async def test_self_hosters_are_unlocked_whatever_the_default_tier(app_factory: AppFactory, register) -> None:
    app = await app_factory(default_tier="FREE", ai_monthly_credits=50)
    async with client_for(app) as http:
        ada: Account = await register(on=http)
        current = (await ada.get("/api/v1/subscriptions/current")).json()
        assert current["tier"] is None and current["billingEnabled"] is False
        assert current["limits"]["brands"] is None
        # The operator's optional AI cap is the one limit left.
        assert current["limits"]["aiCreditsPerMonth"] == 50
        assert_error(
            await ada.post("/api/v1/subscriptions/checkout", json={"tier": "PRO"}), 503, "billing_disabled"
        )
        # API keys work for everyone; a key still cannot touch billing.
        created = await ada.post("/api/v1/api-keys", json={"name": "ci", "scopes": ["brands:read"]})
        assert created.status_code == 201, created.text
        as_key = {"Authorization": f"Bearer {created.json()['key']}"}
        assert_error(await http.get("/api/v1/subscriptions/current", headers=as_key), 403, "session_required")
        assert_error(
            await http.post("/api/v1/subscriptions/checkout", json={"tier": "PRO"}, headers=as_key),
            403,
            "session_required",
        )


# -- input


@pytest.mark.parametrize(
    ("body", "code"),
    [
        pytest.param({"tier": "FREE"}, "validation_error", id="free-is-not-for-sale"),
        pytest.param({"tier": "GOLD"}, "validation_error", id="unknown-tier"),
        pytest.param({"tier": "pro"}, "validation_error", id="lower-case"),
        pytest.param({}, "validation_error", id="missing-tier"),
        pytest.param({"tier": "PRO", "interval": "week"}, "validation_error", id="unknown-interval"),
        pytest.param({"tier": "PRO", "interval": "year"}, "interval_not_available", id="no-yearly-price"),
        pytest.param({"tier": "PRO", "coupon": "FREE4EVER"}, "validation_error", id="unknown-field"),
        pytest.param({"tier": "PRO", "organizationId": "nope"}, "validation_error", id="bad-org-id"),
    ],
)
async def test_checkout_bad_input_is_422(
    billed: httpx.AsyncClient, register, db: Database, body: dict[str, Any], code: str
) -> None:
    ada: Account = await register(on=billed)
    assert_error(await ada.post("/api/v1/subscriptions/checkout", json=body), 422, code)
    # Refused before anything reached Stripe.
    assert await scalar(db, "SELECT stripe_customer_id FROM users WHERE id = :id", id=ada.id) is None


async def test_billing_needs_a_signed_in_person(billed: httpx.AsyncClient) -> None:
    assert_error(await billed.post("/api/v1/subscriptions/checkout", json={"tier": "PRO"}), 401)
    assert_error(await billed.get("/api/v1/subscriptions/current"), 401)
    assert_error(await billed.get("/api/v1/invoices"), 401)


async def test_portal_needs_a_customer(billed: httpx.AsyncClient, register) -> None:
    ada: Account = await register(on=billed)
    assert_error(await ada.post("/api/v1/subscriptions/portal"), 409, "no_customer")


# -- Stripe down or refusing


async def test_stripe_unreachable_is_503_without_a_stack_trace(
    app_factory: AppFactory, register, db: Database
) -> None:
    app = await app_factory(**billing_settings(f"http://127.0.0.1:{free_port()}"))
    async with client_for(app) as http:
        ada: Account = await register(on=http)
        response = await ada.post("/api/v1/subscriptions/checkout", json={"tier": "PRO"})
        body = assert_error(response, 503, "billing_unavailable")
        assert "Traceback" not in response.text
        assert "try again" in body["error"]
    assert await scalar(db, "SELECT stripe_customer_id FROM users WHERE id = :id", id=ada.id) is None


async def test_stripe_5xx_is_503_and_a_refusal_is_502(
    billed: httpx.AsyncClient, register, stripe_server: RunningServer, db: Database
) -> None:
    ada: Account = await register(on=billed)
    async with httpx.AsyncClient(base_url=stripe_server.url) as control:
        fault = {"match": "POST /v1/checkout/sessions", "kind": "status", "status": 500, "count": None}
        (await control.post("/_emulator/faults", json=fault)).raise_for_status()
        assert_error(
            await ada.post("/api/v1/subscriptions/checkout", json={"tier": "PRO"}), 503, "billing_unavailable"
        )
        (await control.post("/_emulator/reset")).raise_for_status()
    # A customer Stripe no longer knows: Stripe refuses, T21 says so.
    await execute(db, "UPDATE users SET stripe_customer_id = 'cus_gone' WHERE id = :id", id=ada.id)
    body = assert_error(
        await ada.post("/api/v1/subscriptions/checkout", json={"tier": "PRO"}), 502, "billing_provider_error"
    )
    assert "cus_gone" in body["error"]


# -- tenancy


async def add_member(db: Database, org_id: str, account: Account, role: str) -> None:
    # Straight into the table: a FREE organization has one seat, and seats are not under test here.
    await execute(
        db,
        "INSERT INTO team_members (id, organization_id, user_id, role) VALUES "
        "(gen_random_uuid(), :org, :user, :role)",
        org=org_id,
        user=account.id,
        role=role,
    )


async def add_invoice(
    db: Database, *, user: str | None = None, org: str | None = None, number: str, issued_at: datetime
) -> None:
    await execute(
        db,
        "INSERT INTO invoices (id, user_id, organization_id, stripe_invoice_id, status, "
        "amount_paid, amount_due, issued_at) VALUES (gen_random_uuid(), :user, :org, :number, "
        "'paid', 2900, 2900, :at)",
        user=user,
        org=org,
        number=number,
        at=issued_at,
    )


async def test_an_organizations_billing_belongs_to_its_owner(
    billed: httpx.AsyncClient, register, db: Database
) -> None:
    owner: Account = await register(on=billed, name="Owner")
    admin: Account = await register(on=billed, name="Admin")
    stranger: Account = await register(on=billed, name="Stranger")
    org = (await owner.post("/api/v1/organizations", json={"name": "Agency"})).json()
    await add_member(db, org["id"], admin, "admin")
    now = datetime.now(UTC)
    await add_invoice(db, org=org["id"], number="in_org", issued_at=now)
    await add_invoice(db, user=owner.id, number="in_owner", issued_at=now)
    await add_invoice(db, user=admin.id, number="in_admin", issued_at=now)
    in_org = {"organizationId": org["id"]}

    for who, status, code in ((admin, 403, "billing_owner_only"), (stranger, 404, "organization_not_found")):
        assert_error(
            await who.post("/api/v1/subscriptions/checkout", json={"tier": "PRO", **in_org}), status, code
        )
        assert_error(await who.post("/api/v1/subscriptions/portal", json=in_org), status, code)
        assert_error(await who.get("/api/v1/invoices", params=in_org), status, code)
    # Members see the plan they work under; strangers do not learn the organization exists.
    seen_by_admin = (await admin.get("/api/v1/subscriptions/current", params=in_org)).json()
    assert seen_by_admin["organizationId"] == org["id"]
    hidden = await stranger.get("/api/v1/subscriptions/current", params=in_org)
    assert_error(hidden, 404, "organization_not_found")
    assert_error(
        await stranger.get("/api/v1/subscriptions/current", params={"organizationId": str(uuid.uuid4())}), 404
    )

    def numbers(response: httpx.Response) -> list[str]:
        assert response.status_code == 200, response.text
        return [i["stripeInvoiceId"] for i in response.json()["data"]]

    assert numbers(await owner.get("/api/v1/invoices", params=in_org)) == ["in_org"]
    assert numbers(await owner.get("/api/v1/invoices")) == ["in_owner"]
    assert numbers(await admin.get("/api/v1/invoices")) == ["in_admin"]
    assert numbers(await stranger.get("/api/v1/invoices")) == []
    # The owner's checkout for the organization does work.
    checkout = await owner.post("/api/v1/subscriptions/checkout", json={"tier": "PRO", **in_org})
    assert checkout.status_code == 200, checkout.text


async def test_invoices_are_paged_newest_first(billed: httpx.AsyncClient, register, db: Database) -> None:
    ada: Account = await register(on=billed)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for month in range(5):
        await add_invoice(db, user=ada.id, number=f"in_{month}", issued_at=start + timedelta(days=31 * month))
    seen: list[str] = []
    cursor = None
    for _ in range(3):
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = await ada.get("/api/v1/invoices", params=params)
        assert page.status_code == 200, page.text
        seen += [i["stripeInvoiceId"] for i in page.json()["data"]]
        cursor = page.json()["nextCursor"]
        if cursor is None:
            break
    assert seen == ["in_4", "in_3", "in_2", "in_1", "in_0"]
    assert_error(await ada.get("/api/v1/invoices", params={"cursor": "garbage"}), 400, "invalid_cursor")
    assert_error(await ada.get("/api/v1/invoices", params={"limit": 0}), 422)


async def test_webhook_endpoint_takes_no_login_but_a_signature(billed: httpx.AsyncClient) -> None:
    body = event_body("product.created", {"id": "prod_1"})
    assert_error(await post_event(billed, body, None), 400, "invalid_signature")
    assert_error(await post_event(billed, body, sign(body, secret="whsec_other")), 400, "invalid_signature")
    assert (await post_event(billed, body)).status_code == 200


# -- read-only helpers for the other features


async def test_accounts_over_the_plan_are_read_only(
    database_url: str, session_tmp, db: Database, billed: httpx.AsyncClient, register
) -> None:
    ada: Account = await register(on=billed)
    brand = await ada.create_brand()
    for n in range(4):
        await execute(
            db,
            "INSERT INTO social_accounts (id, brand_id, platform, platform_user_id, "
            "created_at) VALUES (gen_random_uuid(), :brand, 'x', :uid, "
            "now() + make_interval(secs => :n))",
            brand=brand["id"],
            uid=f"x-{n}",
            n=n,
        )
    usage = (await ada.get("/api/v1/subscriptions/current")).json()["usage"]
    assert usage["socialAccounts"] == 4
    settings = make_settings(database_url, session_tmp, **billing_settings("http://127.0.0.1:9"))
    async with db.sessionmaker() as session:
        user = await session.get(User, uuid.UUID(ada.id))
        assert user is not None
        owner = owner_of_user(user)
        accounts = list(
            (await session.execute(select(SocialAccount).order_by(SocialAccount.created_at))).scalars()
        )
        assert await writable_account_ids(session, settings, owner) == {a.id for a in accounts[:3]}
        for account in accounts[:3]:
            await ensure_account_within_plan(session, settings, owner, account)
        with pytest.raises(PlanLimitReached) as refused:
            await ensure_account_within_plan(session, settings, owner, accounts[3])
        assert refused.value.code == "account_read_only"
        assert "FREE plan allows 3 social accounts" in refused.value.message
        # On PRO all four are usable again.
        user.subscription_tier, user.subscription_status = "PRO", "active"
        await ensure_account_within_plan(session, settings, owner, accounts[3])
        await session.rollback()


async def test_an_undecidable_event_rolls_back_whole_so_stripe_retries_it(
    app_factory: AppFactory, register, db: Database
) -> None:
    """Same-second events need a re-read; with Stripe down the delivery answers 503 and leaves no
    trace (the stored event and the state change are one transaction), so Stripe's retry applies it."""
    app = await app_factory(**billing_settings(f"http://127.0.0.1:{free_port()}"))
    async with client_for(app) as http:
        ada: Account = await register(on=http)
        owner = {"t21_owner_kind": "user", "t21_owner_id": ada.id}
        at = int(datetime.now(UTC).timestamp())
        first = event_body(
            "customer.subscription.created",
            subscription_object("sub_down", metadata=owner),
            created=at,
            event_id="evt_first",
        )
        assert (await post_event(http, first)).status_code == 200
        tie = event_body(
            "customer.subscription.updated",
            subscription_object("sub_down", status="past_due", metadata=owner),
            created=at,
            event_id="evt_tie",
        )
        assert_error(await post_event(http, tie), 503, "billing_unavailable")
    assert await scalar(db, "SELECT count(*) FROM stripe_events WHERE id = 'evt_tie'") == 0
    assert await scalar(db, "SELECT subscription_status FROM users WHERE id = :id", id=ada.id) == "active"
