"""Who may generate, who sees which generations, and what GET /ai/status says."""

from __future__ import annotations

from typing import Any

import pytest

from t21.emulators.base import Emulator, RunningServer
from tests.ai.conftest import GENERATE, Ledger, ai_settings, completions
from tests.conftest import Account, AppFactory, assert_error, client_for


async def test_another_tenants_brand_is_404(
    account: Account, brand: dict[str, Any], register: Any, emulator: Emulator, ledger: Ledger
) -> None:
    stranger: Account = await register()
    body = {"brandId": brand["id"], "prompt": "Steal their voice", "platform": "x"}
    assert_error(await stranger.post(GENERATE, json=body), 404, "brand_not_found")
    assert_error(await stranger.post("/api/v1/ai/generate-content/stream", json=body), 404, "brand_not_found")
    assert_error(
        await stranger.post(
            "/api/v1/ai/rewrite", json={"brandId": brand["id"], "text": "Hi", "targetPlatform": "x"}
        ),
        404,
        "brand_not_found",
    )
    assert completions(emulator) == []
    assert await ledger.credits_used(stranger.id) == 0
    assert await ledger.credits_used(account.id) == 0


@pytest.fixture
async def team(
    app_factory: AppFactory, openrouter_server: RunningServer, emulator: Emulator, register: Any
) -> Any:
    # Seats come with paid plans.
    app = await app_factory(**ai_settings(openrouter_server, default_tier="BUSINESS"))
    async with client_for(app) as http:
        owner: Account = await register(on=http)
        org = (await owner.post("/api/v1/organizations", json={"name": "Agency"})).json()
        people: dict[str, Any] = {"owner": owner, "org": org}
        for role in ("editor", "viewer"):
            person: Account = await register(on=http)
            invite = await owner.post(
                f"/api/v1/organizations/{org['id']}/invitations", json={"email": person.email, "role": role}
            )
            accepted = await person.post("/api/v1/invitations/accept", json={"token": invite.json()["token"]})
            assert accepted.status_code == 200, accepted.text
            people[role] = person
        people["brand"] = await owner.create_brand(organizationId=org["id"], name="Client")
        yield people


async def test_editor_generates_on_the_organizations_credits_viewer_may_not(team: Any, db: Any) -> None:
    import uuid

    from sqlalchemy import text

    body = {"brandId": team["brand"]["id"], "prompt": "Client launch", "platform": "linkedin"}
    viewer_answer = await team["viewer"].post(GENERATE, json=body)
    assert_error(viewer_answer, 403, "forbidden")
    response = await team["editor"].post(GENERATE, json=body)
    assert response.status_code == 200, response.text
    assert response.json()["creditsRemaining"] == 2999  # BUSINESS: 3000 a month, billed to the organization
    async with db.engine.connect() as conn:
        org_used = (
            await conn.execute(
                text("SELECT ai_credits_used FROM organizations WHERE id = :id"),
                {"id": uuid.UUID(team["org"]["id"])},
            )
        ).scalar()
        editor_used = (
            await conn.execute(
                text("SELECT ai_credits_used FROM users WHERE id = :id"), {"id": uuid.UUID(team["editor"].id)}
            )
        ).scalar()
    assert org_used == 1
    assert editor_used == 0
    # The viewer may read what the team generated, though not generate.
    listed = (await team["viewer"].get("/api/v1/ai/generations")).json()["data"]
    assert [g["id"] for g in listed] == [response.json()["generationId"]]
    assert listed[0]["organizationId"] == team["org"]["id"]
    assert listed[0]["userId"] == team["editor"].id


async def test_generations_list_is_isolated_and_paginated(
    app_factory: AppFactory, openrouter_server: RunningServer, emulator: Emulator, register: Any
) -> None:
    app = await app_factory(**ai_settings(openrouter_server, default_tier="PRO"))  # PRO: several brands
    http = client_for(app)
    account: Account = await register(on=http)
    brand = await account.create_brand(name="First")
    other_brand = await account.create_brand(name="Second")
    ids = []
    for target, prompt in ((brand, "One"), (other_brand, "Two"), (brand, "Three")):
        response = await account.post(
            GENERATE, json={"brandId": target["id"], "prompt": prompt, "platform": "x"}
        )
        assert response.status_code == 200, response.text
        ids.append(response.json()["generationId"])
    stranger: Account = await register(on=http)
    stranger_brand = await stranger.create_brand(name="Theirs")
    theirs = await stranger.post(
        GENERATE, json={"brandId": stranger_brand["id"], "prompt": "Mine", "platform": "x"}
    )
    assert theirs.status_code == 200, theirs.text

    # Newest first, page by page, nothing twice, nothing of the stranger's.
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await account.get("/api/v1/ai/generations", params=params)).json()
        seen += [g["id"] for g in page["data"]]
        cursor = page["nextCursor"]
        if cursor is None:
            break
    assert seen == list(reversed(ids))

    by_brand = (await account.get("/api/v1/ai/generations", params={"brandId": brand["id"]})).json()["data"]
    assert [g["id"] for g in by_brand] == [ids[2], ids[0]]
    assert [g["prompt"] for g in by_brand] == ["Three", "One"]

    stranger_list = (await stranger.get("/api/v1/ai/generations")).json()["data"]
    assert [g["id"] for g in stranger_list] == [theirs.json()["generationId"]]
    assert_error(await stranger.get(f"/api/v1/ai/generations/{ids[0]}"), 404, "generation_not_found")
    assert_error(await stranger.get("/api/v1/ai/generations", params={"brandId": brand["id"]}), 404)
    assert_error(
        await account.get("/api/v1/ai/generations", params={"cursor": "garbage"}), 400, "invalid_cursor"
    )
    await http.aclose()


async def test_ai_endpoints_need_authentication(client: Any, brand: dict[str, Any]) -> None:
    body = {"brandId": brand["id"], "prompt": "Hi", "platform": "x"}
    assert_error(await client.post(GENERATE, json=body), 401)
    assert_error(await client.get("/api/v1/ai/generations"), 401)
    assert_error(await client.get("/api/v1/ai/status"), 401)


async def test_status_with_a_key_is_the_real_provider(
    account: Account, openrouter_server: RunningServer
) -> None:
    status = (await account.get("/api/v1/ai/status")).json()
    assert status["provider"] == "openrouter"
    assert status["emulated"] is False
    assert status["configured"] is True
    assert status["baseUrl"] == f"{openrouter_server.url}/api/v1"
    assert status["model"] == "openai/gpt-4o-mini"
    assert status["allowedModels"] == ["openai/gpt-4o-mini"]


async def test_without_a_key_the_app_runs_on_its_emulator_and_says_so(
    app_factory: AppFactory, register: Any, ledger: Ledger
) -> None:
    app = await app_factory()  # no T21_OPENROUTER_API_KEY, no T21_OPENROUTER_BASE_URL
    async with client_for(app) as http:
        person: Account = await register(on=http)
        status = (await person.get("/api/v1/ai/status")).json()
        assert status["provider"] == "emulator"
        assert status["emulated"] is True
        assert status["configured"] is True
        assert status["baseUrl"] == "http://testserver/sandbox/openrouter"
        assert "emulator" in status["message"]
        assert "T21_OPENROUTER_API_KEY" in status["message"]

        brand = await person.create_brand()
        response = await person.post(
            GENERATE, json={"brandId": brand["id"], "prompt": "Pour-over workshop", "platform": "instagram"}
        )
        assert response.status_code == 200, response.text
        assert response.json()["emulated"] is True
        assert response.json()["content"]
        assert await ledger.credits_used(person.id) == 1  # the sandbox still counts credits
        stream = await person.post(
            "/api/v1/ai/generate-content/stream",
            json={"brandId": brand["id"], "prompt": "Cupping", "platform": "x"},
        )
        assert stream.text.rstrip().split("\n")[-2] == "event: done"
        assert '"emulated": true' in stream.text

        # The emulator answers at its advertised address, for any OpenAI-compatible tool...
        direct = await http.post(
            "/sandbox/openrouter/chat/completions",
            json={"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "Say hi"}]},
        )
        assert direct.status_code == 200
        assert direct.json()["choices"][0]["message"]["content"]
        # ...but its fault-injection controls are not exposed.
        hidden = await http.post("/sandbox/openrouter/_emulator/openrouter/store", json={"delay_seconds": 5})
        assert hidden.status_code == 404
        requests = app.state.ai_emulator_app.state.emulator.requests_to(
            "POST", r"(/sandbox/openrouter)?/chat/completions"
        )
        assert len(requests) == 3
        assert "authorization" not in requests[0].headers


async def test_explicit_base_url_without_key_is_a_keyless_server(
    app_factory: AppFactory, openrouter_server: RunningServer, emulator: Emulator, register: Any
) -> None:
    app = await app_factory(openrouter_base_url=f"{openrouter_server.url}/v1")
    async with client_for(app) as http:
        person: Account = await register(on=http)
        status = (await person.get("/api/v1/ai/status")).json()
        assert status["provider"] == "openrouter"
        assert status["emulated"] is False
        assert "no API key" in status["message"]
        brand = await person.create_brand()
        response = await person.post(
            GENERATE, json={"brandId": brand["id"], "prompt": "Hello", "platform": "x"}
        )
        assert response.status_code == 200
        assert response.json()["emulated"] is False
        (request,) = emulator.requests_to("POST", r"/v1/chat/completions")
        assert "authorization" not in request.headers
    assert not hasattr(app.state, "ai_emulator_app")


async def test_no_key_and_no_sandbox_is_not_configured(
    app_factory: AppFactory, register: Any, ledger: Ledger
) -> None:
    app = await app_factory(sandbox_enabled=False)
    async with client_for(app) as http:
        person: Account = await register(on=http)
        status = (await person.get("/api/v1/ai/status")).json()
        assert status["configured"] is False
        assert status["emulated"] is False
        brand = await person.create_brand()
        response = await person.post(
            GENERATE, json={"brandId": brand["id"], "prompt": "Hello", "platform": "x"}
        )
        assert_error(response, 503, "ai_unavailable")
        assert "T21_OPENROUTER_API_KEY" in response.json()["error"]
        assert await ledger.credits_used(person.id) == 0


async def test_openapi_documents_the_ai_endpoints(client: Any) -> None:
    spec = (await client.get("/api/v1/openapi.json")).json()
    paths = spec["paths"]
    for path in (
        "/api/v1/ai/generate-content",
        "/api/v1/ai/generate-content/stream",
        "/api/v1/ai/rewrite",
        "/api/v1/ai/generations",
        "/api/v1/ai/generations/{generation_id}",
        "/api/v1/ai/status",
    ):
        assert path in paths
    assert (
        "text/event-stream"
        in paths["/api/v1/ai/generate-content/stream"]["post"]["responses"]["200"]["content"]
    )
    assert "402" in paths["/api/v1/ai/generate-content"]["post"]["responses"]
    assert "keyless OpenAI-compatible" in spec["components"]["schemas"]["AIStatus"]["description"]
