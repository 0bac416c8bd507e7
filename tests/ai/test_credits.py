"""Credits: checked before the provider is paid, charged atomically after it answers."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

from t21.emulators.base import Emulator, Fault
from tests.ai.conftest import COMPLETIONS, GENERATE, Ledger, completions, script_answer
from tests.conftest import Account, assert_error


async def test_twenty_concurrent_calls_on_five_credits(
    account: Account, brand: dict[str, Any], emulator: Emulator, ledger: Ledger
) -> None:
    await ledger.set_credits_used(account.id, 15)  # FREE: 20 a month → 5 left
    # The provider takes a while, so every call passes the quick check before any is charged:
    # the race is decided by the atomic charge alone.
    emulator.store["delay_seconds"] = 0.3
    body = {"brandId": brand["id"], "prompt": "Flash sale on filter papers", "platform": "x"}
    responses = await asyncio.gather(*(account.post(GENERATE, json=body) for _ in range(20)))
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {200: 5, 402: 15}, [r.text for r in responses if r.status_code not in (200, 402)]
    # Losers reached the provider and were refused at the charge (all 15 unless the database pool
    # made a few wait until five winners had committed; then the quick check refused them first).
    assert len(completions(emulator)) > 10
    remaining = sorted(r.json()["creditsRemaining"] for r in responses if r.status_code == 200)
    assert remaining == [0, 1, 2, 3, 4]  # exact, one value per successful charge
    for lost in (r for r in responses if r.status_code == 402):
        details = assert_error(lost, 402, "quota_exceeded")["details"]
        assert details["limit"] == 20
        assert details["resetsAt"]
    assert await ledger.credits_used(account.id) == 20
    assert await ledger.generations() == 5  # the losers' generations were rolled back with their charge


async def test_no_credits_left_means_no_provider_call(
    account: Account, brand: dict[str, Any], emulator: Emulator, ledger: Ledger
) -> None:
    await ledger.set_credits_used(account.id, 20)
    response = await account.post(GENERATE, json={"brandId": brand["id"], "prompt": "Hello", "platform": "x"})
    details = assert_error(response, 402, "quota_exceeded")["details"]
    assert details["limit"] == 20
    assert details["remaining"] == 0
    assert details["resetsAt"].startswith("20")
    assert completions(emulator) == []
    assert await ledger.credits_used(account.id) == 20


async def test_variants_need_credits_for_each(
    account: Account, brand: dict[str, Any], emulator: Emulator, ledger: Ledger
) -> None:
    await ledger.set_credits_used(account.id, 18)
    body = {"brandId": brand["id"], "prompt": "Hello", "platform": "x"}
    details = assert_error(await account.post(GENERATE, json={**body, "variants": 3}), 402, "quota_exceeded")[
        "details"
    ]
    assert details["needed"] == 3
    assert details["remaining"] == 2
    assert completions(emulator) == []
    ok = await account.post(GENERATE, json={**body, "variants": 2})
    assert ok.status_code == 200
    assert ok.json()["creditsRemaining"] == 0


async def test_last_months_usage_does_not_count(
    account: Account, brand: dict[str, Any], ledger: Ledger, db: Any
) -> None:
    import uuid

    from sqlalchemy import text

    async with db.engine.begin() as conn:
        await conn.execute(
            text(
                "UPDATE users SET ai_credits_used = 20, usage_period_start = now() - interval '40 days' "
                "WHERE id = :id"
            ),
            {"id": uuid.UUID(account.id)},
        )
    response = await account.post(GENERATE, json={"brandId": brand["id"], "prompt": "Hello", "platform": "x"})
    assert response.status_code == 200, response.text
    assert response.json()["creditsRemaining"] == 19
    assert await ledger.credits_used(account.id) == 1


async def test_connection_refused_is_503_and_free(app_factory: Any, register: Any, ledger: Ledger) -> None:
    from t21.emulators.base import free_port
    from tests.conftest import client_for

    app = await app_factory(
        openrouter_base_url=f"http://127.0.0.1:{free_port()}/api/v1", openrouter_api_key="k"
    )
    async with client_for(app) as http:
        person = await register(on=http)
        brand = await person.create_brand()
        response = await person.post(
            GENERATE, json={"brandId": brand["id"], "prompt": "Hello", "platform": "x"}
        )
        assert_error(response, 503, "ai_unavailable")
        assert "no credits were charged" in response.json()["error"]
    assert await ledger.credits_used(person.id) == 0
    assert await ledger.generations() == 0


async def test_provider_out_of_credits_is_our_503(
    account: Account, brand: dict[str, Any], emulator: Emulator, ledger: Ledger
) -> None:
    emulator.add_fault(Fault(match=f"POST {COMPLETIONS}", kind="status", status=402))
    response = await account.post(GENERATE, json={"brandId": brand["id"], "prompt": "Hello", "platform": "x"})
    assert_error(response, 503, "ai_unavailable")
    assert len(completions(emulator)) == 1  # 402 is not retried: it will not change
    assert await ledger.credits_used(account.id) == 0
    assert await ledger.generations() == 0


async def test_provider_5xx_after_retries_is_503(
    account: Account, brand: dict[str, Any], emulator: Emulator, ledger: Ledger
) -> None:
    emulator.add_fault(Fault(match=f"POST {COMPLETIONS}", kind="status", status=502, count=None))
    response = await account.post(GENERATE, json={"brandId": brand["id"], "prompt": "Hello", "platform": "x"})
    assert_error(response, 503, "ai_unavailable")
    assert len(completions(emulator)) == 3  # the first try and two retries
    assert await ledger.credits_used(account.id) == 0


async def test_provider_rate_limit_is_503_with_retry_after(
    account: Account, brand: dict[str, Any], emulator: Emulator, ledger: Ledger
) -> None:
    emulator.add_fault(Fault(match=f"POST {COMPLETIONS}", kind="rate_limit", reset_in=120))
    response = await account.post(GENERATE, json={"brandId": brand["id"], "prompt": "Hello", "platform": "x"})
    assert_error(response, 503, "ai_unavailable")
    assert 100 <= int(response.headers["retry-after"]) <= 121
    assert await ledger.credits_used(account.id) == 0


async def test_moderation_refusal_is_422_with_the_reason(
    account: Account, brand: dict[str, Any], emulator: Emulator, ledger: Ledger
) -> None:
    emulator.add_fault(Fault(match=f"POST {COMPLETIONS}", kind="status", status=403))
    response = await account.post(
        GENERATE, json={"brandId": brand["id"], "prompt": "Something", "platform": "x"}
    )
    body = assert_error(response, 422, "ai_content_refused")
    assert "violence" in body["error"]
    assert body["details"]["reasons"] == ["violence"]
    assert await ledger.credits_used(account.id) == 0
    assert await ledger.generations() == 0


async def test_shortening_failure_still_answers_with_a_trimmed_post(
    account: Account, brand: dict[str, Any], emulator: Emulator, ledger: Ledger
) -> None:
    """The first answer overshoots and the provider then fails: the post is trimmed, not lost."""
    from t21.enums import Platform
    from t21.platforms.validation import validate_content

    long_answer = " ".join(["We roast every bean by hand in small batches, every single morning."] * 8)
    script_answer(emulator, long_answer)  # the first call answers, too long...
    emulator.add_fault(Fault(match=f"POST {COMPLETIONS}", kind="status", status=402))  # ...the retry fails
    response = await account.post(
        GENERATE, json={"brandId": brand["id"], "prompt": "Anything", "platform": "x"}
    )
    assert response.status_code == 200, response.text
    content = response.json()["content"]
    assert len(completions(emulator)) == 2
    assert validate_content(Platform.x, content).ok
    assert long_answer.startswith(content)
    assert content.endswith("morning.")
    assert await ledger.credits_used(account.id) == 1


async def test_brand_deleted_while_the_provider_writes_is_404_and_free(
    account: Account, brand: dict[str, Any], emulator: Emulator, ledger: Ledger
) -> None:
    emulator.store["delay_seconds"] = 0.5

    async def delete_meanwhile() -> int:
        await asyncio.sleep(0.15)
        return (await account.delete(f"/api/v1/brands/{brand['id']}")).status_code

    response, deleted = await asyncio.gather(
        account.post(GENERATE, json={"brandId": brand["id"], "prompt": "Hello", "platform": "x"}),
        delete_meanwhile(),
    )
    assert deleted == 204
    assert len(completions(emulator)) == 1  # the provider was asked before the brand went
    assert_error(response, 404, "brand_not_found")
    assert await ledger.credits_used(account.id) == 0
    assert await ledger.generations() == 0


async def test_a_new_month_resets_the_counters_in_the_charging_statement(
    account: Account, brand: dict[str, Any], ledger: Ledger, db: Any
) -> None:
    """Last month's counters are reset by the charge itself (posts included), as the lazy reset of
    `t21.quotas` does, and the period moves to this month."""
    import uuid

    from sqlalchemy import text

    async with db.engine.begin() as conn:
        await conn.execute(
            text(
                "UPDATE users SET ai_credits_used = 20, posts_this_month = 7, "
                "usage_period_start = date_trunc('month', now()) - interval '1 month' WHERE id = :id"
            ),
            {"id": uuid.UUID(account.id)},
        )
    body = {"brandId": brand["id"], "prompt": "Hello", "platform": "x", "variants": 2}
    response = await account.post(GENERATE, json=body)
    assert response.status_code == 200, response.text
    assert response.json()["creditsRemaining"] == 18
    async with db.engine.connect() as conn:
        row = (
            await conn.execute(
                text(
                    "SELECT ai_credits_used, posts_this_month, "
                    "usage_period_start = date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' "
                    "FROM users WHERE id = :id"
                ),
                {"id": uuid.UUID(account.id)},
            )
        ).one()
    assert tuple(row) == (2, 0, True)


async def test_statement_errors_reach_the_handlers_and_the_pool_stays_whole(db: Any) -> None:
    """The generation statements go straight through psycopg: its DataError and OperationalError
    are what the app's handlers answer 422 and 503 for, and the connection a statement failed on
    goes back usable (autocommit: no aborted transaction is left behind)."""
    import psycopg
    import pytest

    from t21.ai.repository import _one

    with pytest.raises(psycopg.DataError):
        await _one(db, "SELECT 1 / %(zero)s", {"zero": 0})
    assert tuple(await _one(db, "SELECT %(x)s::int + 1", {"x": 41})) == (42,)
    async with db.primary_connection() as conn:
        assert conn.autocommit is True
        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
