"""The real OpenRouter client against the emulator over HTTP (and a few raw wire cases)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import httpx
import pytest

from t21.ai.prompts import BrandVoice, build_generation_messages
from t21.emulators.base import Emulator, Fault, RunningServer, free_port
from t21.integrations.openrouter import (
    AIAuthenticationFailed,
    AIBadRequest,
    AIModerationRefused,
    AIPaymentRequired,
    AIProviderUnavailable,
    AIRateLimited,
    OpenRouterClient,
    StreamEvent,
)

from .conftest import SleepRecorder

PATH = "/api/v1/chat/completions"
BRAND = BrandVoice(
    name="Bean There",
    tone_of_voice="warm and witty",
    target_audience="commuters in Berlin",
    description="Independent coffee roaster",
    website="https://beanthere.example",
)
MESSAGES = build_generation_messages(BRAND, "Announce our new oat-milk latte in all Berlin stores", "x")


def bodies(emulator: Emulator) -> list[dict[str, Any]]:
    return [r.json_body() for r in emulator.requests_to("POST", PATH)]


async def collect(client: OpenRouterClient, **kwargs: Any) -> list[StreamEvent]:
    return [event async for event in client.stream(MESSAGES, model="openai/gpt-4o-mini", **kwargs)]


# --- plain completions ------------------------------------------------------------------------


async def test_completion_body_usage_and_cost(client: OpenRouterClient, emulator: Emulator) -> None:
    done = await client.complete(MESSAGES, model="openai/gpt-4o-mini", max_tokens=400, temperature=0.7)

    assert done.content
    assert "oat-milk" in done.content.lower()
    assert done.model == "openai/gpt-4o-mini"
    assert done.finish_reason == "stop"
    input_words = sum(len(m["content"].split()) for m in MESSAGES)
    assert done.usage.prompt_tokens == input_words
    assert done.usage.completion_tokens == len(done.content.split())
    assert done.usage.total_tokens == input_words + len(done.content.split())
    expected = Decimal("0.15e-6") * input_words + Decimal("0.6e-6") * len(done.content.split())
    assert abs(done.usage.cost - expected) < Decimal("1e-9")
    assert isinstance(done.usage.cost, Decimal)

    [body] = bodies(emulator)
    assert body["model"] == "openai/gpt-4o-mini"
    assert body["messages"] == MESSAGES
    assert body["max_tokens"] == 400
    assert body["temperature"] == 0.7
    assert body["stream"] is False
    assert "models" not in body  # no fallbacks configured: nothing to send
    assert "n" not in body


async def test_headers_identify_the_app_and_carry_the_key(
    client: OpenRouterClient, emulator: Emulator
) -> None:
    await client.complete(MESSAGES, model="openai/gpt-4o-mini")
    [request] = emulator.requests_to("POST", PATH)
    assert request.headers["authorization"] == "Bearer sk-or-test-key"
    assert request.headers["http-referer"] == "https://t21.example"
    assert request.headers["x-title"] == "T21"
    assert request.headers["content-type"] == "application/json"


async def test_no_authorization_header_without_a_key(
    openrouter_server: RunningServer, emulator: Emulator
) -> None:
    async with OpenRouterClient(f"{openrouter_server.url}/api/v1", None) as ai:
        await ai.complete(MESSAGES, model="m/a")
    [request] = emulator.requests_to("POST", PATH)
    assert "authorization" not in request.headers


@pytest.mark.parametrize("suffix", ["", "/v1", "/api/v1/"])
async def test_every_base_url_form_reaches_the_emulator(
    openrouter_server: RunningServer, emulator: Emulator, suffix: str
) -> None:
    async with OpenRouterClient(openrouter_server.url + suffix, None) as ai:
        done = await ai.complete(MESSAGES, model="m/a")
    assert done.content


async def test_fallback_models_are_sent_and_used(client: OpenRouterClient, emulator: Emulator) -> None:
    emulator.store["unavailable_models"] = ["openai/gpt-4o-mini"]
    done = await client.complete(
        MESSAGES,
        model="openai/gpt-4o-mini",
        fallback_models=["anthropic/claude-3.5-haiku", "openai/gpt-4o-mini", "anthropic/claude-3.5-haiku"],
    )
    [body] = bodies(emulator)
    # The primary is not repeated and duplicates are dropped.
    assert body["models"] == ["anthropic/claude-3.5-haiku"]
    assert done.model == "anthropic/claude-3.5-haiku"


async def test_all_models_down_is_unavailable(client: OpenRouterClient, emulator: Emulator) -> None:
    emulator.store["unavailable_models"] = ["a/one", "b/two"]
    with pytest.raises(AIProviderUnavailable):
        await client.complete(MESSAGES, model="a/one", fallback_models=["b/two"])


async def test_n_variants_in_one_call_are_distinct(client: OpenRouterClient, emulator: Emulator) -> None:
    done = await client.complete(MESSAGES, model="m/a", n=3)
    assert len(done.variants) == 3
    assert len(set(done.variants)) == 3
    assert done.content == done.variants[0]
    [body] = bodies(emulator)
    assert body["n"] == 3
    assert done.usage.completion_tokens == sum(len(v.split()) for v in done.variants)


async def test_provider_ignoring_n_is_topped_up_with_more_calls() -> None:
    calls: list[dict[str, Any]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        calls.append(json.loads(request.content))
        k = len(calls)
        return httpx.Response(
            200,
            json={
                "model": "m/a",
                "choices": [{"index": 0, "message": {"content": f"variant {k}"}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 10, "completion_tokens": 2, "total_tokens": 12, "cost": 0.001},
            },
        )

    http = httpx.AsyncClient(transport=httpx.MockTransport(answer))
    async with OpenRouterClient("http://ollama.local/v1", None, http=http) as ai:
        done = await ai.complete([{"role": "user", "content": "hi"}], model="m/a", n=3)
    await http.aclose()
    assert done.variants == ("variant 1", "variant 2", "variant 3")
    assert [c.get("n") for c in calls] == [3, 2, None]
    assert done.usage.total_tokens == 36
    assert done.usage.cost == Decimal("0.003")


async def test_emulator_max_tokens_cuts_with_finish_reason_length(client: OpenRouterClient) -> None:
    done = await client.complete(MESSAGES, model="m/a", max_tokens=5)
    assert done.finish_reason == "length"
    assert len(done.content.split()) == 5


async def test_http_200_with_an_error_body_is_an_error() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"error": {"code": 402, "message": "Insufficient credits"}})

    http = httpx.AsyncClient(transport=httpx.MockTransport(answer))
    async with OpenRouterClient("http://x.local/api/v1", "k", http=http) as ai:
        with pytest.raises(AIPaymentRequired, match="Insufficient credits"):
            await ai.complete(MESSAGES, model="m/a")
    await http.aclose()


# --- retries and errors -----------------------------------------------------------------------


@pytest.mark.parametrize("status", [429, 502, 503])
async def test_transient_statuses_are_retried(
    client: OpenRouterClient, emulator: Emulator, sleeps: SleepRecorder, status: int
) -> None:
    emulator.add_fault(Fault(match=f"POST {PATH}", kind="status", status=status, count=2, reset_in=0))
    done = await client.complete(MESSAGES, model="m/a")
    assert done.content
    assert len(emulator.requests_to("POST", PATH)) == 3
    assert len(sleeps.calls) == 2


async def test_backoff_grows_exponentially(
    client: OpenRouterClient, emulator: Emulator, sleeps: SleepRecorder
) -> None:
    emulator.add_fault(Fault(match=f"POST {PATH}", kind="status", status=502, count=2))
    await client.complete(MESSAGES, model="m/a")
    first, second = sleeps.calls
    # Equal jitter: attempt k waits between base*2^k/2 and base*2^k.
    assert 0.005 <= first <= 0.01
    assert 0.01 <= second <= 0.02


@pytest.mark.parametrize(("status", "error"), [(502, AIProviderUnavailable), (503, AIProviderUnavailable)])
async def test_5xx_after_retries_is_unavailable(
    client: OpenRouterClient, emulator: Emulator, status: int, error: type[Exception]
) -> None:
    emulator.add_fault(Fault(match=f"POST {PATH}", kind="status", status=status, count=None))
    with pytest.raises(error):
        await client.complete(MESSAGES, model="m/a")
    assert len(emulator.requests_to("POST", PATH)) == 3


async def test_rate_limit_waits_until_the_reset_header(
    client: OpenRouterClient, emulator: Emulator, sleeps: SleepRecorder
) -> None:
    emulator.add_fault(Fault(match=f"POST {PATH}", kind="rate_limit", reset_in=5.0))
    await client.complete(MESSAGES, model="m/a")
    [waited] = sleeps.calls
    assert 4.0 <= waited <= 5.0 + 0.01 + 0.1


async def test_rate_limit_too_far_away_is_raised_at_once(
    client: OpenRouterClient, emulator: Emulator, sleeps: SleepRecorder
) -> None:
    emulator.add_fault(Fault(match=f"POST {PATH}", kind="rate_limit", reset_in=600.0, count=None))
    with pytest.raises(AIRateLimited) as caught:
        await client.complete(MESSAGES, model="m/a")
    assert caught.value.retry_after is not None
    assert 590 <= caught.value.retry_after <= 600
    assert sleeps.calls == []
    assert len(emulator.requests_to("POST", PATH)) == 1


async def test_persistent_rate_limit_is_rate_limited(client: OpenRouterClient, emulator: Emulator) -> None:
    emulator.add_fault(Fault(match=f"POST {PATH}", kind="rate_limit", reset_in=0.0, count=None))
    with pytest.raises(AIRateLimited):
        await client.complete(MESSAGES, model="m/a")
    assert len(emulator.requests_to("POST", PATH)) == 3


async def test_retry_after_header_is_honoured() -> None:
    answers = iter(
        [
            httpx.Response(
                503, headers={"Retry-After": "3"}, json={"error": {"code": 503, "message": "busy"}}
            ),
            httpx.Response(200, json={"model": "m", "choices": [{"message": {"content": "ok"}}]}),
        ]
    )
    sleeps = SleepRecorder()
    http = httpx.AsyncClient(transport=httpx.MockTransport(lambda request: next(answers)))
    async with OpenRouterClient("http://x.local/v1", "k", http=http, backoff_base=0.01, sleep=sleeps) as ai:
        done = await ai.complete(MESSAGES, model="m")
    await http.aclose()
    assert done.content == "ok"
    assert 3.0 <= sleeps.calls[0] <= 3.01


async def test_payment_required_is_not_retried_and_reads_as_unavailable(
    client: OpenRouterClient, emulator: Emulator
) -> None:
    emulator.add_fault(Fault(match=f"POST {PATH}", kind="status", status=402, count=None))
    with pytest.raises(AIPaymentRequired, match="credits") as caught:
        await client.complete(MESSAGES, model="m/a")
    # Out of credits is the operator's problem: callers answer 503 ai_unavailable.
    assert isinstance(caught.value, AIProviderUnavailable)
    assert caught.value.status == 402
    assert len(emulator.requests_to("POST", PATH)) == 1


async def test_moderation_reason_is_surfaced_and_not_retried(
    client: OpenRouterClient, emulator: Emulator
) -> None:
    emulator.add_fault(Fault(match=f"POST {PATH}", kind="status", status=403, count=None))
    with pytest.raises(AIModerationRefused) as caught:
        await client.complete(MESSAGES, model="m/a")
    assert caught.value.reason == "violence"
    assert caught.value.reasons == ["violence"]
    assert caught.value.metadata["provider_name"] == "OpenAI"
    assert len(emulator.requests_to("POST", PATH)) == 1


async def test_moderation_with_several_reasons_and_without_metadata(
    client: OpenRouterClient, emulator: Emulator
) -> None:
    body = {"error": {"code": 403, "message": "flagged", "metadata": {"reasons": ["harassment", "hate"]}}}
    emulator.add_fault(Fault(match=f"POST {PATH}", kind="status", status=403, body=body))
    with pytest.raises(AIModerationRefused) as caught:
        await client.complete(MESSAGES, model="m/a")
    assert caught.value.reason == "harassment, hate"

    emulator.add_fault(
        Fault(
            match=f"POST {PATH}", kind="status", status=403, body={"error": {"code": 403, "message": "Nope"}}
        )
    )
    with pytest.raises(AIModerationRefused) as caught:
        await client.complete(MESSAGES, model="m/a")
    assert caught.value.reason == "Nope"


async def test_bad_request_is_not_retried(client: OpenRouterClient, emulator: Emulator) -> None:
    with pytest.raises(AIBadRequest, match="n must be"):
        await client.complete(MESSAGES, model="m/a", n=50)
    assert len(emulator.requests_to("POST", PATH)) == 1


async def test_wrong_key_is_an_authentication_failure(client: OpenRouterClient, emulator: Emulator) -> None:
    emulator.store["api_key"] = "sk-or-the-real-one"
    with pytest.raises(AIAuthenticationFailed):
        await client.complete(MESSAGES, model="m/a")
    assert len(emulator.requests_to("POST", PATH)) == 1


async def test_connection_refused_is_unavailable_after_retries() -> None:
    sleeps = SleepRecorder()
    async with OpenRouterClient(
        f"http://127.0.0.1:{free_port()}/api/v1", "k", max_retries=2, backoff_base=0.01, sleep=sleeps
    ) as ai:
        with pytest.raises(AIProviderUnavailable, match="Cannot reach"):
            await ai.complete(MESSAGES, model="m/a")
    assert len(sleeps.calls) == 2


async def test_read_timeout_is_unavailable_and_not_repeated(
    openrouter_server: RunningServer, emulator: Emulator
) -> None:
    emulator.add_fault(Fault(match=f"POST {PATH}", kind="latency", seconds=1.0, count=None))
    async with OpenRouterClient(f"{openrouter_server.url}/api/v1", None, timeout=0.2) as ai:
        with pytest.raises(AIProviderUnavailable, match="timed out"):
            await ai.complete(MESSAGES, model="m/a")
    # The provider may be generating (and billing) already: a timeout is not sent twice.
    assert len(emulator.requests_to("POST", PATH)) == 1


# --- streaming --------------------------------------------------------------------------------


async def test_stream_deltas_add_up_to_the_plain_answer(client: OpenRouterClient, emulator: Emulator) -> None:
    plain = await client.complete(MESSAGES, model="openai/gpt-4o-mini")
    events = await collect(client)

    deltas = [e for e in events if e.kind == "delta"]
    assert len(deltas) > 3
    assert events[-1].kind == "done"
    assert [e.kind for e in events[:-1]] == ["delta"] * len(deltas)
    done = events[-1]
    assert "".join(d.text for d in deltas) == done.text == plain.content
    assert done.finish_reason == "stop"
    assert done.model == "openai/gpt-4o-mini"
    assert done.usage == plain.usage
    body = bodies(emulator)[-1]
    assert body["stream"] is True
    assert emulator.requests_to("POST", PATH)[-1].headers["accept"] == "text/event-stream"


async def test_emulator_stream_has_keepalive_comments_and_done(
    openrouter_server: RunningServer, emulator: Emulator, client: OpenRouterClient
) -> None:
    emulator.store["delay_seconds"] = 0.3
    async with httpx.AsyncClient() as http:
        raw = await http.post(
            f"{openrouter_server.url}{PATH}", json={"model": "m/a", "messages": MESSAGES, "stream": True}
        )
    lines = raw.text.split("\n")
    assert lines.count(": OPENROUTER PROCESSING") >= 3
    assert "data: [DONE]" in lines
    last_chunk = json.loads([ln for ln in lines if ln.startswith("data: {")][-1][6:])
    assert last_chunk["usage"]["total_tokens"] > 0
    # ...and the client is not confused by them.
    events = await collect(client)
    assert events[-1].kind == "done"
    assert events[-1].text


async def test_mid_stream_error_event_under_http_200(client: OpenRouterClient, emulator: Emulator) -> None:
    emulator.store["stream_error_after"] = 2
    events = await collect(client)
    assert [e.kind for e in events] == ["delta", "delta", "error"]
    error = events[-1]
    assert isinstance(error.error, AIProviderUnavailable)
    assert "disconnected" in str(error.error)
    assert error.text == events[0].text + events[1].text


async def test_connection_dropping_mid_stream_is_an_error_event(
    client: OpenRouterClient, emulator: Emulator
) -> None:
    emulator.store["stream_drop_after"] = 3
    events = await collect(client)
    assert [e.kind for e in events] == ["delta"] * 3 + ["error"]
    assert isinstance(events[-1].error, AIProviderUnavailable)


async def test_stream_failing_before_it_starts_raises(client: OpenRouterClient, emulator: Emulator) -> None:
    emulator.add_fault(Fault(match=f"POST {PATH}", kind="status", status=402))
    with pytest.raises(AIPaymentRequired):
        await collect(client)


async def test_stream_is_retried_before_it_starts(client: OpenRouterClient, emulator: Emulator) -> None:
    emulator.add_fault(Fault(match=f"POST {PATH}", kind="status", status=503, count=1))
    events = await collect(client)
    assert events[-1].kind == "done"
    assert len(emulator.requests_to("POST", PATH)) == 2


def _sse_client(payload: bytes) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.MockTransport(
            lambda request: httpx.Response(
                200, content=payload, headers={"content-type": "text/event-stream"}
            )
        )
    )


async def _stream_raw(payload: bytes) -> list[StreamEvent]:
    http = _sse_client(payload)
    async with OpenRouterClient("http://x.local/v1", "k", http=http) as ai:
        events = [e async for e in ai.stream([{"role": "user", "content": "hi"}], model="m")]
    await http.aclose()
    return events


async def test_sse_parsing_tolerates_crlf_event_fields_and_missing_final_blank_line() -> None:
    chunk = json.dumps({"model": "m", "choices": [{"index": 0, "delta": {"content": "Héllo "}}]})
    end = json.dumps({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    usage = json.dumps({"choices": [], "usage": {"prompt_tokens": 1, "completion_tokens": 2, "cost": "0.5"}})
    payload = (
        ": OPENROUTER PROCESSING\r\n\r\n"
        "event: message\r\nid: 1\r\n"
        f"data: {chunk}\r\n\r\n"
        f"data: {json.dumps({'choices': [{'index': 1, 'delta': {'content': 'other choice'}}]})}\n\n"
        f"data:{json.dumps({'choices': [{'index': 0, 'delta': {'content': 'wörld'}}]})}\n\n"
        f"data: {end}\n\n"
        f"data: {usage}\n\n"
        "data: [DONE]"
    ).encode()
    events = await _stream_raw(payload)
    assert [e.text for e in events if e.kind == "delta"] == ["Héllo ", "wörld"]
    done = events[-1]
    assert done.kind == "done"
    assert done.text == "Héllo wörld"
    assert done.usage is not None
    assert done.usage.total_tokens == 3
    assert done.usage.cost == Decimal("0.5")


async def test_stream_that_ends_without_finishing_is_an_error() -> None:
    chunk = json.dumps({"choices": [{"index": 0, "delta": {"content": "half a"}}]})
    events = await _stream_raw(f"data: {chunk}\n\n".encode())
    assert [e.kind for e in events] == ["delta", "error"]
    assert events[-1].text == "half a"


async def test_in_band_moderation_error_in_a_stream_is_typed() -> None:
    error = {"error": {"code": 403, "message": "flagged", "metadata": {"reasons": ["self-harm"]}}}
    events = await _stream_raw(f"data: {json.dumps(error)}\n\n".encode())
    assert events[-1].kind == "error"
    assert isinstance(events[-1].error, AIModerationRefused)
    assert events[-1].error.reason == "self-harm"
