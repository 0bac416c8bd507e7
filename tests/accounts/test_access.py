"""Who may do what with accounts (tenancy, roles, plan limits), bad input, and disconnecting."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text
from tests.accounts.conftest import (
    PLATFORMS,
    Landing,
    browser_for,
    connect,
    follow,
    network_settings,
    start_connect,
)
from tests.conftest import Account, AppFactory, assert_error
from tests.plans import BILLING_ON

from t21.posts.models import Post, SocialPost
from t21.social_accounts.models import SocialAccount

# --- plan limits ---------------------------------------------------------------------------------


@pytest.fixture
async def billed_http(app_factory: AppFactory, emulators: Any) -> AsyncIterator[httpx.AsyncClient]:
    """A browser on an app with billing on: plan limits apply only then."""
    app = await app_factory(**network_settings(emulators), **BILLING_ON)
    async with browser_for(app) as http:
        yield http


async def test_free_plan_allows_three_accounts(register, billed_http, emulators) -> None:
    owner = await register(on=billed_http)
    brand = await owner.create_brand()
    ids = [await connect(billed_http, owner, platform, brand["id"]) for platform in PLATFORMS]

    refused = await owner.get("/api/v1/social-accounts/connect/x", params={"brandId": brand["id"]})
    body = assert_error(refused, 402, "plan_limit_reached")
    assert body["details"]["limit"] == 3
    assert body["details"]["tier"] == "FREE"

    # Reconnecting an account that holds its tokens needs no new slot.
    assert (await owner.post(f"/api/v1/social-accounts/{ids[0]}/reconnect")).status_code == 200

    # Removing one frees its slot.
    assert (await owner.delete(f"/api/v1/social-accounts/{ids[0]}")).status_code == 204
    assert (await connect(billed_http, owner, "x", brand["id"], user="another")) not in ids


async def test_plan_limit_is_checked_again_at_the_callback(register, billed_http, emulators) -> None:
    owner = await register(on=billed_http)
    brand = await owner.create_brand()
    await connect(billed_http, owner, "instagram", brand["id"])
    await connect(billed_http, owner, "linkedin", brand["id"])
    # Two connects started while one slot was free ...
    first = await start_connect(owner, "x", brand["id"])
    second = await start_connect(owner, "x", brand["id"])
    assert (await follow(billed_http, first, user="alice")).query["connected"] == "x"
    # ... only one of them can take it.
    landing = await follow(billed_http, second, user="bob")
    assert landing.query["error"] == "plan_limit_reached", landing.query
    assert len((await owner.get("/api/v1/social-accounts")).json()["data"]) == 3


async def test_organization_accounts_count_against_the_organization(register, app_factory, emulators) -> None:
    app = await app_factory(**network_settings(emulators), **BILLING_ON)
    async with browser_for(app) as http:
        owner = await register(on=http)
        personal = await owner.create_brand(name="Mine")
        for platform in PLATFORMS:
            await connect(http, owner, platform, personal["id"])
        org = (await owner.post("/api/v1/organizations", json={"name": "Org"})).json()
        org_brand = await owner.create_brand(name="Org brand", organizationId=org["id"])
        # The person's FREE plan is full, the organization's is not.
        assert (await connect(http, owner, "x", org_brand["id"])) is not None


async def test_no_new_connections_on_a_brand_over_the_plan(register, app_factory, emulators, db) -> None:
    app = await app_factory(default_tier="PRO", **network_settings(emulators), **BILLING_ON)
    async with browser_for(app) as http:
        owner = await register(on=http)
        first = await owner.create_brand(name="First")
        second = await owner.create_brand(name="Second")
        account_id = await connect(http, owner, "x", second["id"])
    # Back on FREE (one brand): the newer brand is read-only.
    async with db.engine.begin() as conn:
        await conn.execute(text("UPDATE users SET subscription_tier = 'FREE'"))
    async with browser_for(app) as http:
        owner.client = http
        assert_error(
            await owner.get("/api/v1/social-accounts/connect/x", params={"brandId": second["id"]}),
            402,
            "brand_read_only",
        )
        assert_error(
            await owner.post(f"/api/v1/social-accounts/{account_id}/reconnect"), 402, "brand_read_only"
        )
        # Still readable and removable.
        assert (await owner.get(f"/api/v1/social-accounts/{account_id}")).status_code == 200
        assert (await connect(http, owner, "x", first["id"])) != account_id
        assert (await owner.delete(f"/api/v1/social-accounts/{account_id}")).status_code == 204


# --- tenancy and roles ---------------------------------------------------------------------------


async def make_team(register: Any, http: Any) -> dict[str, Any]:
    owner: Account = await register(on=http, name="Owner")
    org = (await owner.post("/api/v1/organizations", json={"name": "Agency"})).json()
    people: dict[str, Any] = {"owner": owner}
    for role in ("admin", "editor", "viewer"):
        person: Account = await register(on=http, name=role.title())
        invite = await owner.post(
            f"/api/v1/organizations/{org['id']}/invitations", json={"email": person.email, "role": role}
        )
        assert invite.status_code == 201, invite.text
        accepted = await person.post("/api/v1/invitations/accept", json={"token": invite.json()["token"]})
        assert accepted.status_code == 200, accepted.text
        people[role] = person
    people["brand"] = await owner.create_brand(organizationId=org["id"], name="Client brand")
    return people


async def test_roles_on_an_organization_brand(register, app_factory, emulators) -> None:
    app = await app_factory(default_tier="BUSINESS", **network_settings(emulators))
    async with browser_for(app) as http:
        team = await make_team(register, http)
        brand_id = team["brand"]["id"]
        account_id = await connect(http, team["admin"], "linkedin", brand_id)

        for role in ("viewer", "editor"):
            person: Account = team[role]
            # Everyone on the team sees the accounts ...
            assert (await person.get(f"/api/v1/social-accounts/{account_id}")).status_code == 200
            listed = (await person.get("/api/v1/social-accounts", params={"brandId": brand_id})).json()
            assert [a["id"] for a in listed["data"]] == [account_id]
            # ... only admins and the owner manage them.
            assert_error(
                await person.get("/api/v1/social-accounts/connect/x", params={"brandId": brand_id}),
                403,
                "forbidden",
            )
            assert_error(
                await person.post(f"/api/v1/social-accounts/{account_id}/reconnect"), 403, "forbidden"
            )
            assert_error(await person.delete(f"/api/v1/social-accounts/{account_id}"), 403, "forbidden")
        assert (
            await team["owner"].post(f"/api/v1/social-accounts/{account_id}/reconnect")
        ).status_code == 200
        assert (await team["admin"].delete(f"/api/v1/social-accounts/{account_id}")).status_code == 204


async def test_strangers_get_404_everywhere(register, http, emulators) -> None:
    owner = await register(on=http)
    stranger = await register(on=http)
    brand = await owner.create_brand()
    account_id = await connect(http, owner, "x", brand["id"])

    calls = [
        ("GET", f"/api/v1/social-accounts/{account_id}", None),
        ("DELETE", f"/api/v1/social-accounts/{account_id}", None),
        ("POST", f"/api/v1/social-accounts/{account_id}/reconnect", None),
        ("GET", "/api/v1/social-accounts/connect/x", {"brandId": brand["id"]}),
        ("GET", "/api/v1/social-accounts", {"brandId": brand["id"]}),
    ]
    for method, url, params in calls:
        response = await http.request(method, url, params=params, headers=stranger.headers)
        assert response.status_code == 404, (method, url, response.text)
        assert set(response.json()) == {"error", "code", "details"}
    assert (await stranger.get("/api/v1/social-accounts")).json()["data"] == []
    # Nothing changed for the owner.
    shown = (await owner.get(f"/api/v1/social-accounts/{account_id}")).json()
    assert shown["status"] == "CONNECTED"


async def test_bad_input(register, http, emulators) -> None:
    owner = await register(on=http)
    brand = await owner.create_brand()
    assert_error(
        await owner.get("/api/v1/social-accounts/connect/myspace", params={"brandId": brand["id"]}),
        422,
        "validation_error",
    )
    assert_error(await owner.get("/api/v1/social-accounts/connect/x"), 422, "validation_error")
    assert_error(
        await owner.get("/api/v1/social-accounts/connect/x", params={"brandId": "not-a-uuid"}),
        422,
        "validation_error",
    )
    assert_error(
        await owner.get("/api/v1/social-accounts/connect/x", params={"brandId": str(uuid.uuid4())}),
        404,
        "brand_not_found",
    )
    assert_error(await owner.get("/api/v1/social-accounts/not-a-uuid"), 422, "validation_error")
    assert_error(await owner.get(f"/api/v1/social-accounts/{uuid.uuid4()}"), 404, "social_account_not_found")
    assert_error(
        await owner.delete(f"/api/v1/social-accounts/{uuid.uuid4()}"), 404, "social_account_not_found"
    )
    assert_error(await owner.get("/api/v1/social-accounts", params={"limit": 0}), 422, "validation_error")
    assert_error(await owner.get("/api/v1/social-accounts", params={"limit": 101}), 422, "validation_error")
    assert_error(
        await owner.get("/api/v1/social-accounts", params={"cursor": "garbage"}), 400, "invalid_cursor"
    )
    assert_error(
        await owner.get("/api/v1/social-accounts", params={"brandId": str(uuid.uuid4())}),
        404,
        "brand_not_found",
    )
    # No credentials, no access (the callback is the one route that needs none).
    assert_error(await http.get("/api/v1/social-accounts"), 401)
    assert_error(await http.get("/api/v1/social-accounts/connect/x", params={"brandId": brand["id"]}), 401)
    assert_error(await http.get("/api/v1/social-accounts/networks"), 401)
    # An invalid bearer token on the callback is refused, not ignored.
    assert_error(
        await http.get(
            "/api/v1/social-accounts/callback/x?code=a&state=b",
            headers={"Authorization": "Bearer nonsense", "Accept": "application/json"},
        ),
        401,
    )


# --- disconnecting -------------------------------------------------------------------------------


async def test_disconnect_without_posts_deletes_and_revokes(register, http, emulators, db, net_app) -> None:
    from t21.social_accounts.tokens import read_tokens

    owner = await register(on=http)
    brand = await owner.create_brand()
    ids = {p: await connect(http, owner, p, brand["id"]) for p in ("x", "linkedin")}
    tokens = {}
    async with db.sessionmaker() as session:
        for platform, account_id in ids.items():
            account = await session.get(SocialAccount, account_id)
            assert account is not None
            tokens[platform] = read_tokens(net_app.state.settings, account)

    for platform, account_id in ids.items():
        assert (await owner.delete(f"/api/v1/social-accounts/{account_id}")).status_code == 204
        assert_error(await owner.get(f"/api/v1/social-accounts/{account_id}"), 404)
        emulator = emulators[platform].emulator
        assert emulator.token_problem(emulator.token(tokens[platform].access_token)) == "revoked"
    assert emulators["x"].emulator.requests_to("POST", "/2/oauth2/revoke")
    assert emulators["linkedin"].emulator.requests_to("POST", "/revoke")
    async with db.sessionmaker() as session:
        assert (await session.execute(select(SocialAccount))).scalars().all() == []


async def test_disconnect_survives_a_network_that_does_not_answer(register, http, emulators, db) -> None:
    from t21.emulators.base import Fault

    owner = await register(on=http)
    brand = await owner.create_brand()
    account_id = await connect(http, owner, "x", brand["id"])
    emulators["x"].emulator.add_fault(Fault(match="POST /2/oauth2/revoke", kind="status", status=503))
    assert (await owner.delete(f"/api/v1/social-accounts/{account_id}")).status_code == 204
    assert_error(await owner.get(f"/api/v1/social-accounts/{account_id}"), 404)


async def test_disconnect_with_posts_keeps_their_history(register, http, emulators, db) -> None:
    owner = await register(on=http)
    brand = await owner.create_brand()
    account_id = await connect(http, owner, "x", brand["id"])
    async with db.sessionmaker() as session:
        post = Post(
            brand_id=brand["id"], user_id=owner.id, content="hello", status="PUBLISHED", platforms=["x"]
        )
        session.add(post)
        await session.flush()
        session.add(
            SocialPost(
                post_id=post.id,
                social_account_id=account_id,
                platform="x",
                status="PUBLISHED",
                platform_post_id="1",
            )
        )
        await session.commit()

    assert (await owner.delete(f"/api/v1/social-accounts/{account_id}")).status_code == 204
    shown = (await owner.get(f"/api/v1/social-accounts/{account_id}")).json()
    assert shown["status"] == "DISCONNECTED"
    assert shown["tokenExpiresAt"] is None
    assert "history" in shown["lastError"]
    async with db.sessionmaker() as session:
        account = await session.get(SocialAccount, account_id)
        assert account is not None
        assert account.access_token_encrypted is None
        assert account.refresh_token_encrypted is None
        assert len((await session.execute(select(SocialPost))).scalars().all()) == 1

    # It no longer takes a plan slot, and can be brought back by reconnecting.
    reconnect = await owner.post(f"/api/v1/social-accounts/{account_id}/reconnect")
    assert reconnect.status_code == 200, reconnect.text
    landing = Landing(await http.get(reconnect.json()["authorizationUrl"]))
    assert landing.query == {"connected": "x", "accountId": account_id}
    assert (await owner.get(f"/api/v1/social-accounts/{account_id}")).json()["status"] == "CONNECTED"
