"""With billing off (no Stripe keys: a self-hosted install) no plan applies to AI credits: they
are unlimited, still counted, unless the operator caps them with T21_AI_MONTHLY_CREDITS."""

from __future__ import annotations

from typing import Any

from t21.emulators.base import RunningServer
from tests.ai.conftest import API_KEY, GENERATE, Ledger
from tests.conftest import AppFactory, assert_error, client_for


def self_hosted(server: RunningServer, **overrides: Any) -> dict[str, Any]:
    return {"openrouter_base_url": f"{server.url}/api/v1", "openrouter_api_key": API_KEY, **overrides}


async def test_ai_credits_are_unlimited_without_billing(
    app_factory: AppFactory, openrouter_server: RunningServer, emulator: Any, register: Any, ledger: Ledger
) -> None:
    app = await app_factory(**self_hosted(openrouter_server))
    async with client_for(app) as http:
        ada = await register(on=http)
        brand = await ada.create_brand()
        await ledger.set_credits_used(ada.id, 5000)  # far past any plan's allowance
        body = {"brandId": brand["id"], "prompt": "Open day on Saturday", "platform": "x"}
        answer = await ada.post(GENERATE, json=body)
        assert answer.status_code == 200, answer.text
        assert answer.json()["creditsRemaining"] is None
        assert await ledger.credits_used(ada.id) == 5001  # still counted, for the operator


async def test_the_operator_may_cap_ai_credits(
    app_factory: AppFactory, openrouter_server: RunningServer, emulator: Any, register: Any, ledger: Ledger
) -> None:
    app = await app_factory(**self_hosted(openrouter_server, ai_monthly_credits=3))
    async with client_for(app) as http:
        ada = await register(on=http)
        brand = await ada.create_brand()
        body = {"brandId": brand["id"], "prompt": "Open day on Saturday", "platform": "x"}
        remaining = [(await ada.post(GENERATE, json=body)).json()["creditsRemaining"] for _ in range(3)]
        assert remaining == [2, 1, 0]
        details = assert_error(await ada.post(GENERATE, json=body), 402, "quota_exceeded")["details"]
        assert details["limit"] == 3 and details["tier"] is None
        assert await ledger.credits_used(ada.id) == 3
