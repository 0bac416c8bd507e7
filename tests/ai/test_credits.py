"""Credits: checked before the provider is paid, reserved atomically before it is asked, given back
when the call fails."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from t21.ai import service as ai_service
from t21.ai.schemas import StreamRequest
from t21.emulators.base import Emulator, Fault, RunningServer
from t21.integrations.openrouter import OpenRouterClient
from tests.ai.conftest import (
    API_KEY,
    COMPLETIONS,
    GENERATE,
    STREAM,
    Ledger,
    completions,
    parse_sse,
    script_answer,
)
from tests.conftest import Account, assert_error


async def test_twenty_concurrent_calls_on_five_credits(
    account: Account, brand: dict[str, Any], emulator: Emulator, ledger: Ledger
) -> None:
    await ledger.set_credits_used(account.id, 15)  # FREE: 20 a month → 5 left
    # The provider takes a while, so every call is decided before any has an answer: by the quick
    # check or, for the calls that passed it together, by the atomic reservation.
    emulator.store["delay_seconds"] = 0.3
    body = {"brandId": brand["id"], "prompt": "Flash sale on filter papers", "platform": "x"}
    responses = await asyncio.gather(*(account.post(GENERATE, json=body) for _ in range(20)))
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {200: 5, 402: 15}, [r.text for r in responses if r.status_code not in (200, 402)]
    # Only the five winners reached the provider: the operator pays for no thrown-away answer.
    assert len(completions(emulator)) == 5
    remaining = sorted(r.json()["creditsRemaining"] for r in responses if r.status_code == 200)
    assert remaining == [0, 1, 2, 3, 4]  # exact, one value per successful reservation
    for lost in (r for r in responses if r.status_code == 402):
        details = assert_error(lost, 402, "quota_exceeded")["details"]
        assert details["limit"] == 20
        assert details["resetsAt"]
    assert await ledger.credits_used(account.id) == 20
    assert await ledger.generations() == 5


async def test_concurrent_calls_on_the_last_credit_ask_the_provider_once(
    account: Account,
    brand: dict[str, Any],
    emulator: Emulator,
    ledger: Ledger,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Eight calls pass the quick read of one remaining credit together (held at a barrier right
    after it): the reservation lets exactly one reach the provider, the others get 402."""
    await ledger.set_credits_used(account.id, 19)
    calls = 8
    barrier = asyncio.Barrier(calls)
    read = ai_service.brand_for_generation

    async def read_then_wait(*args: Any) -> Any:
        brand_row = await read(*args)
        await asyncio.wait_for(barrier.wait(), 10)
        return brand_row

    monkeypatch.setattr(ai_service, "brand_for_generation", read_then_wait)
    emulator.store["delay_seconds"] = 0.2
    body = {"brandId": brand["id"], "prompt": "Last bag of the season", "platform": "x"}
    responses = await asyncio.gather(*(account.post(GENERATE, json=body) for _ in range(calls)))
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {200: 1, 402: calls - 1}, [r.text for r in responses]
    assert len(completions(emulator)) == 1
    (won,) = [r for r in responses if r.status_code == 200]
    assert won.json()["creditsRemaining"] == 0
    for lost in (r for r in responses if r.status_code == 402):
        details = assert_error(lost, 402, "quota_exceeded")["details"]
        assert details == {
            "limit": 20,
            "needed": 1,
            "resetsAt": details["resetsAt"],
            "tier": "FREE",
        }
    assert await ledger.credits_used(account.id) == 20
    assert await ledger.generations() == 1


async def test_a_failed_provider_call_gives_the_last_credit_back(
    account: Account, brand: dict[str, Any], emulator: Emulator, ledger: Ledger
) -> None:
    await ledger.set_credits_used(account.id, 19)
    body = {"brandId": brand["id"], "prompt": "Hello", "platform": "x"}
    emulator.add_fault(Fault(match=f"POST {COMPLETIONS}", kind="status", status=502, count=3))
    assert_error(await account.post(GENERATE, json=body), 503, "ai_unavailable")
    assert await ledger.credits_used(account.id) == 19
    # An empty answer is a failure too.
    script_answer(emulator, "   ")
    assert_error(await account.post(GENERATE, json=body), 503, "ai_unavailable")
    assert await ledger.credits_used(account.id) == 19
    # The credit is really there again: the next call may spend it.
    response = await account.post(GENERATE, json=body)
    assert response.status_code == 200, response.text
    assert response.json()["creditsRemaining"] == 0
    assert await ledger.credits_used(account.id) == 20
    assert await ledger.generations() == 1


async def _until(check: Callable[[], Awaitable[bool]]) -> None:
    for _ in range(250):
        if await check():
            return
        await asyncio.sleep(0.02)


async def _call_and_client(
    app: Any, account: Account, brand: dict[str, Any], server: RunningServer
) -> tuple[ai_service.AIService, ai_service.Call, OpenRouterClient]:
    service = ai_service.AIService(app.state.settings, app.state.db)
    body = StreamRequest.model_validate({"brandId": brand["id"], "prompt": "Hello", "platform": "x"})
    call = await service.plan_generation(uuid.UUID(account.id), body)
    return service, call, OpenRouterClient(f"{server.url}/api/v1", API_KEY)


async def test_a_caller_that_goes_away_while_the_provider_writes_is_not_charged(
    app: Any,
    account: Account,
    brand: dict[str, Any],
    emulator: Emulator,
    ledger: Ledger,
    openrouter_server: RunningServer,
) -> None:
    """The request is cancelled (its client went away) after the reservation, while the provider
    writes: the credit comes back, nothing is stored."""
    await ledger.set_credits_used(account.id, 19)
    emulator.store["delay_seconds"] = 1.0
    service, call, client = await _call_and_client(app, account, brand, openrouter_server)
    async with client:
        task = asyncio.create_task(service.generate(call, client))

        async def provider_asked() -> bool:
            return bool(completions(emulator))

        await _until(provider_asked)
        assert await ledger.credits_used(account.id) == 20  # reserved while the provider writes
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    async def given_back() -> bool:
        return await ledger.credits_used(account.id) == 19

    await _until(given_back)
    assert await ledger.credits_used(account.id) == 19
    assert await ledger.generations() == 0


async def test_a_stream_closed_before_done_is_not_charged(
    app: Any,
    account: Account,
    brand: dict[str, Any],
    emulator: Emulator,
    ledger: Ledger,
    openrouter_server: RunningServer,
) -> None:
    """The stream's client goes away after the first delta: the credit comes back."""
    await ledger.set_credits_used(account.id, 19)
    _, call, client = await _call_and_client(app, account, brand, openrouter_server)
    async with client:
        events = ai_service.stream_generation(call, client, app.state.db, app.state.settings)
        async for chunk in events:
            if chunk.startswith(b"event: delta"):
                break
        assert await ledger.credits_used(account.id) == 20
        await events.aclose()  # type: ignore[attr-defined]
    assert await ledger.credits_used(account.id) == 19
    assert await ledger.generations() == 0


async def test_a_stream_that_loses_the_reservation_ends_in_an_error_event(
    account: Account,
    brand: dict[str, Any],
    emulator: Emulator,
    ledger: Ledger,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The last credit is spent by someone else between the quick read and the stream's
    reservation: an error event, no provider call, nothing stored."""
    await ledger.set_credits_used(account.id, 19)
    read = ai_service.brand_for_generation

    async def read_then_spent(*args: Any) -> Any:
        brand_row = await read(*args)
        await ledger.set_credits_used(account.id, 20)
        return brand_row

    monkeypatch.setattr(ai_service, "brand_for_generation", read_then_spent)
    response = await account.post(
        STREAM, json={"brandId": brand["id"], "prompt": "Flash sale", "platform": "x"}
    )
    assert response.status_code == 200, response.text
    ((name, data),) = parse_sse(response.text)
    assert name == "error"
    assert data["code"] == "quota_exceeded"
    assert data["details"]["limit"] == 20
    assert completions(emulator) == []
    assert await ledger.credits_used(account.id) == 20
    assert await ledger.generations() == 0


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


async def test_a_new_month_resets_the_counters_in_the_reserving_statement(
    account: Account, brand: dict[str, Any], ledger: Ledger, db: Any
) -> None:
    """Last month's counters are reset by the reservation itself (posts included), as the lazy reset of
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
