"""A request waiting on the AI provider holds no pooled database connection, and the pool does not
churn under a burst of generations."""

from __future__ import annotations

import asyncio
from typing import Any

from t21.emulators.base import RunningServer
from tests.ai.conftest import ai_settings
from tests.conftest import client_for
from tests.publishing.conftest import wait_for


async def test_no_connection_is_held_while_the_provider_answers(app, account, brand, emulator, db) -> None:
    emulator.store["delay_seconds"] = 1.0
    pool = db.engine.pool
    request = asyncio.create_task(
        account.post(
            "/api/v1/ai/generate-content",
            json={"brandId": brand["id"], "prompt": "Spring launch", "platform": "linkedin"},
        )
    )

    async def provider_is_answering() -> bool:
        return bool(emulator.requests_to("POST", r".*/chat/completions"))

    await wait_for(provider_is_answering, timeout=10, interval=0.01)
    held_during_call = pool.checkedout()
    response = await request
    assert response.status_code == 200, response.text
    assert held_during_call == 0


async def test_an_api_key_caller_holds_no_connection_either(
    app_factory: Any, openrouter_server: RunningServer, emulator: Any, register: Any
) -> None:
    """API keys are looked up (and stamped) in the request's session: it is committed and its
    connection given back before the provider is called."""
    app = await app_factory(**ai_settings(openrouter_server, default_tier="PRO"))
    emulator.store["delay_seconds"] = 1.0
    async with client_for(app) as http:
        person = await register(on=http)
        brand = await person.create_brand()
        created = await person.post("/api/v1/api-keys", json={"name": "drafts", "scopes": ["ai:write"]})
        assert created.status_code == 201, created.text
        key = created.json()["key"]
        request = asyncio.create_task(
            http.post(
                "/api/v1/ai/generate-content",
                json={"brandId": brand["id"], "prompt": "Spring launch", "platform": "x"},
                headers={"Authorization": f"Bearer {key}"},
            )
        )

        async def provider_is_answering() -> bool:
            return bool(emulator.requests_to("POST", r".*/chat/completions"))

        await wait_for(provider_is_answering, timeout=10, interval=0.01)
        held_during_call = app.state.db.engine.pool.checkedout()
        response = await request
        assert response.status_code == 200, response.text
        assert held_during_call == 0
        listed = await http.get("/api/v1/api-keys", headers=person.headers)
        assert listed.json()["data"][0]["lastUsedAt"]  # the stamp was committed
