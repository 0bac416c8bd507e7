"""The OAuth connect flow through the API, against each network's emulator over real HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

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
from tests.conftest import assert_error

from t21.social_accounts.models import OAuthState, SocialAccount

TOKEN_FIELDS = {"accessToken", "refreshToken", "accessTokenEncrypted", "refreshTokenEncrypted"}


@pytest.mark.parametrize("platform", PLATFORMS)
async def test_connect_flow_stores_the_account(register, http, emulators, platform: str, db) -> None:
    owner = await register(on=http)
    brand = await owner.create_brand()

    started = await owner.get(f"/api/v1/social-accounts/connect/{platform}", params={"brandId": brand["id"]})
    assert started.status_code == 200, started.text
    body = started.json()
    assert body["sandbox"] is False
    assert body["authorizationUrl"].startswith(emulators[platform].url)

    landing = await follow(http, body["authorizationUrl"])
    # network 302 -> T21 callback 302 -> the web app's accounts page
    assert [r.status_code for r in landing.response.history] == [302, 302]
    assert landing.path == "/accounts"
    assert landing.query["connected"] == platform
    account_id = landing.query["accountId"]

    shown = await owner.get(f"/api/v1/social-accounts/{account_id}")
    assert shown.status_code == 200, shown.text
    account = shown.json()
    assert not TOKEN_FIELDS & set(account)
    assert account["platform"] == platform
    assert account["status"] == "CONNECTED"
    assert account["isSandbox"] is False
    assert account["brandId"] == brand["id"]
    assert account["username"]
    assert account["displayName"]
    assert account["lastError"] is None
    expires = datetime.fromisoformat(account["tokenExpiresAt"])
    assert expires > datetime.now(UTC) + timedelta(hours=1)

    listed = (await owner.get("/api/v1/social-accounts", params={"brandId": brand["id"]})).json()
    assert [a["id"] for a in listed["data"]] == [account_id]
    assert listed["nextCursor"] is None

    # The state is consumed and no longer usable.
    async with db.sessionmaker() as session:
        states = (await session.execute(select(OAuthState))).scalars().all()
        assert len(states) == 1
        assert states[0].used_at is not None


async def test_x_uses_pkce_and_client_authentication(register, http, emulators) -> None:
    owner = await register(on=http)
    brand = await owner.create_brand()
    url = await start_connect(owner, "x", brand["id"])
    assert "code_challenge_method=S256" in url
    assert "offline.access" in url
    await connect_from(http, url)
    exchange = emulators["x"].emulator.requests_to("POST", "/2/oauth2/token")
    assert len(exchange) == 1
    form = exchange[0].body.decode()
    assert "code_verifier=" in form
    assert "grant_type=authorization_code" in form
    assert exchange[0].headers["authorization"].startswith("Basic ")


async def connect_from(http, url: str) -> dict[str, str]:
    landing = await follow(http, url)
    assert landing.query.get("connected"), landing.query
    return landing.query


async def test_instagram_swaps_for_a_long_lived_token(register, http, emulators, db) -> None:
    owner = await register(on=http)
    brand = await owner.create_brand()
    account_id = await connect(http, owner, "instagram", brand["id"])
    assert emulators["instagram"].emulator.requests_to("GET", "/access_token")
    account = (await owner.get(f"/api/v1/social-accounts/{account_id}")).json()
    assert datetime.fromisoformat(account["tokenExpiresAt"]) > datetime.now(UTC) + timedelta(days=59)


async def test_reconnecting_the_same_account_updates_it(register, http, emulators, db) -> None:
    owner = await register(on=http)
    brand = await owner.create_brand()
    first = await connect(http, owner, "x", brand["id"])
    async with db.sessionmaker() as session:
        before = await session.get(SocialAccount, first)
        assert before is not None
        await session.execute(text("UPDATE social_accounts SET status = 'DISCONNECTED', last_error = 'gone'"))
        await session.commit()
    second = await connect(http, owner, "x", brand["id"])
    assert second == first
    async with db.sessionmaker() as session:
        after = await session.get(SocialAccount, first)
        assert after is not None
        assert after.status == "CONNECTED"
        assert after.last_error is None
        assert after.access_token_encrypted != before.access_token_encrypted
    assert len((await owner.get("/api/v1/social-accounts")).json()["data"]) == 1


async def test_the_same_network_account_in_two_brands_is_two_accounts(
    register, app_factory, emulators
) -> None:
    app = await app_factory(default_tier="PRO", **network_settings(emulators))
    async with browser_for(app) as http:
        owner = await register(on=http)
        one, two = await owner.create_brand(name="One"), await owner.create_brand(name="Two")
        a = await connect(http, owner, "linkedin", one["id"])
        b = await connect(http, owner, "linkedin", two["id"])
        assert a != b
        assert len((await owner.get("/api/v1/social-accounts")).json()["data"]) == 2
        only_two = (await owner.get("/api/v1/social-accounts", params={"brandId": two["id"]})).json()["data"]
        assert [acc["id"] for acc in only_two] == [b]


async def test_list_is_paginated(register, app_factory, emulators) -> None:
    app = await app_factory(default_tier="PRO", **network_settings(emulators))
    async with browser_for(app) as http:
        owner = await register(on=http)
        brand = await owner.create_brand()
        ids = [await connect(http, owner, "x", brand["id"], user=f"member{i}") for i in range(3)]
        ids.append(await connect(http, owner, "linkedin", brand["id"]))
        seen: list[str] = []
        cursor = None
        while True:
            params: dict[str, Any] = {"limit": 3}
            if cursor:
                params["cursor"] = cursor
            page = (await owner.get("/api/v1/social-accounts", params=params)).json()
            seen += [a["id"] for a in page["data"]]
            cursor = page["nextCursor"]
            if cursor is None:
                break
        assert sorted(seen) == sorted(ids)
        assert len(seen) == 4


# --- failures land on the web app with a code and a sentence -------------------------------------


def assert_landed_on_error(landing: Any, code: str) -> str:
    assert landing.path == "/accounts", landing.response.url
    assert landing.query.get("error") == code, landing.query
    assert "connected" not in landing.query
    message: str = landing.query["message"]
    assert message
    assert message[0].isupper()
    return message


async def test_state_is_single_use(register, http, emulators, db) -> None:
    owner = await register(on=http)
    brand = await owner.create_brand()
    landing = await follow(http, await start_connect(owner, "x", brand["id"]))
    assert landing.query["connected"] == "x"
    async with db.sessionmaker() as session:
        before = (await session.execute(select(SocialAccount.access_token_encrypted))).scalar_one()

    replay = await http.get(landing.callback_url)
    assert_landed_on_error(Landing(replay), "state_used")
    async with db.sessionmaker() as session:
        after = (await session.execute(select(SocialAccount.access_token_encrypted))).scalars().all()
    assert after == [before]

    as_json = await http.get(landing.callback_url, headers={"Accept": "application/json"})
    assert_error(as_json, 400, "state_used")


async def test_expired_state_is_refused(register, http, emulators, db) -> None:
    owner = await register(on=http)
    brand = await owner.create_brand()
    url = await start_connect(owner, "linkedin", brand["id"])
    async with db.sessionmaker() as session:
        await session.execute(text("UPDATE oauth_states SET expires_at = now() - interval '1 second'"))
        await session.commit()
    message = assert_landed_on_error(await follow(http, url), "state_expired")
    assert "10 minutes" in message
    assert (await owner.get("/api/v1/social-accounts")).json()["data"] == []


async def test_unknown_missing_and_mismatched_state(register, http, emulators) -> None:
    owner = await register(on=http)
    brand = await owner.create_brand()
    for query in ("code=abc&state=not-a-state", "code=abc", ""):
        response = await http.get(f"/api/v1/social-accounts/callback/x?{query}")
        assert_landed_on_error(Landing(response), "invalid_state")
    # A state issued for LinkedIn is not accepted on the X callback (and stays unused).
    url = await start_connect(owner, "linkedin", brand["id"])
    state = dict(p.split("=", 1) for p in url.split("?", 1)[1].split("&"))["state"]
    response = await http.get(f"/api/v1/social-accounts/callback/x?code=abc&state={state}")
    assert_landed_on_error(Landing(response), "invalid_state")
    # Unknown networks on the callback also land on the page, never on a 500.
    response = await http.get(f"/api/v1/social-accounts/callback/myspace?code=abc&state={state}")
    assert_landed_on_error(Landing(response), "invalid_state")
    assert (await follow(http, url)).query["connected"] == "linkedin"


async def test_state_is_bound_to_the_person_who_started(register, http, emulators, db) -> None:
    owner = await register(on=http)
    other = await register(on=http)
    brand = await owner.create_brand()
    url = await start_connect(owner, "x", brand["id"])
    network_redirect = await http.get(url, follow_redirects=False)
    callback = network_redirect.headers["location"]
    # Someone else presenting the callback with their own credentials is refused ...
    refused = await http.get(callback, headers={**other.headers, "Accept": "application/json"})
    assert_error(refused, 403, "state_user_mismatch")
    # ... and the state is spent, so it cannot be tried again by anyone.
    again = await http.get(callback, headers={**owner.headers, "Accept": "application/json"})
    assert_error(again, 400, "state_used")
    assert (await owner.get("/api/v1/social-accounts")).json()["data"] == []
    assert (await other.get("/api/v1/social-accounts")).json()["data"] == []


async def test_callback_with_the_starters_credentials_answers_json(register, http, emulators) -> None:
    owner = await register(on=http)
    brand = await owner.create_brand()
    network_redirect = await http.get(await start_connect(owner, "x", brand["id"]), follow_redirects=False)
    answer = await http.get(
        network_redirect.headers["location"], headers={**owner.headers, "Accept": "application/json"}
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["platform"] == "x"
    assert answer.json()["status"] == "CONNECTED"
    assert not TOKEN_FIELDS & set(answer.json())


async def test_callback_rechecks_the_brand_role(register, http, emulators, db) -> None:
    owner = await register(on=http)
    brand = await owner.create_brand()
    url = await start_connect(owner, "x", brand["id"])
    # The brand is handed to someone else while the person is at the network's consent page.
    newcomer = await register(on=http)
    async with db.sessionmaker() as session:
        await session.execute(
            text("UPDATE brands SET user_id = :u WHERE id = :b"), {"u": newcomer.id, "b": brand["id"]}
        )
        await session.commit()
    assert_landed_on_error(await follow(http, url), "brand_not_found")
    assert (await newcomer.get("/api/v1/social-accounts")).json()["data"] == []


@pytest.mark.parametrize("platform", PLATFORMS)
async def test_user_denies_access(register, http, emulators, platform: str) -> None:
    owner = await register(on=http)
    brand = await owner.create_brand()
    emulators[platform].emulator.deny_authorizations = 1
    landing = await follow(http, await start_connect(owner, platform, brand["id"]))
    message = assert_landed_on_error(landing, "access_denied")
    assert "cancelled" in message
    assert (await owner.get("/api/v1/social-accounts")).json()["data"] == []
    # No token exchange was attempted.
    assert not emulators[platform].tokens()


async def test_bad_code_is_refused_by_the_network(register, http, emulators) -> None:
    owner = await register(on=http)
    brand = await owner.create_brand()
    network_redirect = await http.get(
        await start_connect(owner, "linkedin", brand["id"]), follow_redirects=False
    )
    callback = network_redirect.headers["location"].replace("code=", "code=forged")
    response = await http.get(callback, headers={"Accept": "application/json"})
    body = assert_error(response, 400, "authorization_failed")
    assert "LinkedIn" in body["error"]
    assert (await owner.get("/api/v1/social-accounts")).json()["data"] == []

    network_redirect = await http.get(await start_connect(owner, "x", brand["id"]), follow_redirects=False)
    callback = network_redirect.headers["location"].replace("code=", "code=forged")
    assert_landed_on_error(Landing(await http.get(callback)), "authorization_failed")


async def test_network_unreachable_during_exchange(register, app_factory, emulators) -> None:
    from t21.emulators.base import free_port

    settings = network_settings(emulators)
    # Authorization still happens at the emulator, but the token endpoint is a closed port.
    settings["x_api_base"] = f"http://127.0.0.1:{free_port()}"
    app = await app_factory(**settings)
    async with browser_for(app) as http:
        owner = await register(on=http)
        brand = await owner.create_brand()
        url = await start_connect(owner, "x", brand["id"])
        message = assert_landed_on_error(await follow(http, url), "platform_unavailable")
        assert "could not reach X" in message
        network_redirect = await http.get(
            await start_connect(owner, "x", brand["id"]), follow_redirects=False
        )
        response = await http.get(
            network_redirect.headers["location"], headers={"Accept": "application/json"}
        )
        assert_error(response, 502, "platform_unavailable")


async def test_network_error_during_profile_lookup(register, http, emulators) -> None:
    from t21.emulators.base import Fault

    owner = await register(on=http)
    brand = await owner.create_brand()
    emulators["x"].emulator.add_fault(Fault(match="GET /2/users/me", kind="status", status=503))
    assert_landed_on_error(
        await follow(http, await start_connect(owner, "x", brand["id"])), "platform_unavailable"
    )
    assert (await owner.get("/api/v1/social-accounts")).json()["data"] == []


async def test_reconnect_keeps_the_account_and_checks_identity(register, http, emulators, db) -> None:
    owner = await register(on=http)
    brand = await owner.create_brand()
    account_id = await connect(http, owner, "x", brand["id"])
    answer = await owner.post(f"/api/v1/social-accounts/{account_id}/reconnect")
    assert answer.status_code == 200, answer.text
    assert answer.json()["sandbox"] is False
    landing = await follow(http, answer.json()["authorizationUrl"])
    assert landing.query == {"connected": "x", "accountId": account_id}

    # Signing in as a different X user while reconnecting is refused.
    answer = await owner.post(f"/api/v1/social-accounts/{account_id}/reconnect")
    landing = await follow(http, answer.json()["authorizationUrl"], user="somebodyelse")
    message = assert_landed_on_error(landing, "account_mismatch")
    assert "different X account" in message
    assert len((await owner.get("/api/v1/social-accounts")).json()["data"]) == 1


async def test_networks_and_connect_without_credentials_offer_the_sandbox(register, app_factory) -> None:
    from tests.conftest import client_for

    app = await app_factory()
    async with client_for(app) as client:
        owner = await register(on=client)
        brand = await owner.create_brand()
        networks = (await owner.get("/api/v1/social-accounts/networks")).json()["data"]
        assert {n["platform"]: (n["available"], n["sandbox"]) for n in networks} == {
            p: (True, True) for p in PLATFORMS
        }
        for platform in PLATFORMS:
            answer = (
                await owner.get(
                    f"/api/v1/social-accounts/connect/{platform}", params={"brandId": brand["id"]}
                )
            ).json()
            assert answer["sandbox"] is True
            assert answer["authorizationUrl"].startswith(f"http://testserver/sandbox/{platform}/")

    closed = await app_factory(sandbox_enabled=False)
    async with client_for(closed) as client:
        owner = await register(on=client)
        brand = await owner.create_brand()
        body = assert_error(
            await owner.get("/api/v1/social-accounts/connect/x", params={"brandId": brand["id"]}),
            422,
            "platform_not_configured",
        )
        assert "T21_X_CLIENT_ID" in body["error"]
        networks = (await owner.get("/api/v1/social-accounts/networks")).json()["data"]
        assert all(n["available"] is False for n in networks)
        # Nothing is mounted either.
        assert (await client.get("/sandbox/x/authorize")).status_code == 404


async def test_sandbox_control_routes_are_not_exposed(app_factory) -> None:
    from tests.conftest import client_for

    app = await app_factory()
    async with client_for(app) as client:
        for platform in PLATFORMS:
            for path in ("/_emulator/requests", "/_emulator/reset"):
                response = await client.request(
                    "POST" if path.endswith("reset") else "GET", f"/sandbox/{platform}{path}"
                )
                assert response.status_code == 404, (platform, path)
        # The emulator itself is there.
        assert (await client.get("/sandbox/x/2/users/me")).status_code == 401
