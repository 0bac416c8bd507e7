"""A request waiting on the AI provider holds no pooled database connection."""

from __future__ import annotations

import asyncio

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
