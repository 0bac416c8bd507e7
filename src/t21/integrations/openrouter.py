"""Client for OpenAI-compatible chat completions: OpenRouter, or a self-hosted Ollama / vLLM /
llama.cpp server (only the base URL differs). Wire format: /work/shared/platform-apis.md.

Failures arrive as typed exceptions, all `AIProviderError`:

    AIProviderUnavailable   provider down, 5xx after retries, timeout, connection refused
      AIPaymentRequired     402: the operator's provider account is out of credits
      AIAuthenticationFailed 401: the configured API key is wrong
    AIRateLimited           429 after retries (`retry_after` seconds when known)
    AIModerationRefused     403: the provider's moderation flagged the input (`reason`)
    AIBadRequest            any other 4xx: the request itself is wrong

Callers answering end users map the `AIProviderUnavailable` family to 503 `ai_unavailable`: an
empty OpenRouter balance is the operator's problem, not the user's.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx
import structlog

from t21.kit.backoff import jittered
from t21.kit.http import Delivery, classify, http_client

__all__ = [
    "AIAuthenticationFailed",
    "AIBadRequest",
    "AIModerationRefused",
    "AIPaymentRequired",
    "AIProviderError",
    "AIProviderUnavailable",
    "AIRateLimited",
    "Completion",
    "OpenRouterClient",
    "StreamEvent",
    "Usage",
]

log = structlog.get_logger(__name__)

DEFAULT_BASE_URL = "https://openrouter.ai/api/v1"
RETRY_STATUSES = frozenset({408, 429, 502, 503, 504})


# --- errors -----------------------------------------------------------------------------------


class AIProviderError(Exception):
    """Base of every failure talking to the model provider."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | int | None = None,
        metadata: Mapping[str, Any] | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.metadata: dict[str, Any] = dict(metadata or {})
        self.retry_after = retry_after


class AIProviderUnavailable(AIProviderError):
    pass


class AIPaymentRequired(AIProviderUnavailable):
    pass


class AIAuthenticationFailed(AIProviderUnavailable):
    pass


class AIRateLimited(AIProviderError):
    pass


class AIModerationRefused(AIProviderError):
    def __init__(self, reason: str, **kwargs: Any) -> None:
        super().__init__(f"Refused by the provider's moderation: {reason}", **kwargs)
        self.reason = reason
        reasons = self.metadata.get("reasons")
        self.reasons: list[str] = [str(r) for r in reasons] if isinstance(reasons, list) else [reason]


class AIBadRequest(AIProviderError):
    pass


def _error_from(status: int, payload: Any, headers: Mapping[str, str] | None = None) -> AIProviderError:
    """Map an HTTP status and an OpenRouter/OpenAI error body to a typed exception."""
    error = payload.get("error") if isinstance(payload, dict) else None
    if isinstance(error, dict):
        message = str(error.get("message") or f"provider answered {status}")
        code = error.get("code")
        metadata = error.get("metadata") if isinstance(error.get("metadata"), dict) else {}
    else:
        message = str(error) if isinstance(error, str) else f"provider answered {status}"
        code, metadata = None, {}
    kwargs: dict[str, Any] = {"status": status, "code": code, "metadata": metadata}
    if status == 402:
        return AIPaymentRequired(message, **kwargs)
    if status == 401:
        return AIAuthenticationFailed(message, **kwargs)
    if status == 403:
        reasons = metadata.get("reasons") if metadata else None
        reason = ", ".join(str(r) for r in reasons) if isinstance(reasons, list) and reasons else message
        return AIModerationRefused(reason, **kwargs)
    if status == 429:
        return AIRateLimited(message, retry_after=_retry_after(headers or {}), **kwargs)
    if status in (408,) or status >= 500:
        return AIProviderUnavailable(message, **kwargs)
    return AIBadRequest(message, **kwargs)


def _retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait, from Retry-After (seconds or HTTP date) or X-RateLimit-Reset.

    OpenRouter's X-RateLimit-Reset is a Unix time in milliseconds; other servers use seconds,
    either absolute or relative, so the magnitude decides.
    """
    lowered = {k.lower(): v for k, v in headers.items()}
    now = time.time()
    value = lowered.get("retry-after")
    if value:
        try:
            return max(0.0, float(value))
        except ValueError:
            parsed = email.utils.parsedate_to_datetime(value) if value.strip() else None
            if parsed is not None:
                return max(0.0, parsed.timestamp() - now)
    value = lowered.get("x-ratelimit-reset")
    if value:
        try:
            reset = float(value)
        except ValueError:
            return None
        if reset > 1e11:
            return max(0.0, reset / 1000 - now)
        if reset > 1e9:
            return max(0.0, reset - now)
        return max(0.0, reset)
    return None


# --- results ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    # In US dollars (OpenRouter credits); 0 for servers that do not report it (Ollama, vLLM).
    cost: Decimal = Decimal(0)

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.prompt_tokens + other.prompt_tokens,
            self.completion_tokens + other.completion_tokens,
            self.total_tokens + other.total_tokens,
            self.cost + other.cost,
        )

    @classmethod
    def from_payload(cls, payload: Any) -> Usage:
        if not isinstance(payload, dict):
            return cls()
        prompt = _int(payload.get("prompt_tokens"))
        completion = _int(payload.get("completion_tokens"))
        total = _int(payload.get("total_tokens")) or prompt + completion
        return cls(prompt, completion, total, _decimal(payload.get("cost")))


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _decimal(value: Any) -> Decimal:
    if value is None or isinstance(value, bool):
        return Decimal(0)
    try:
        # str() first: Decimal(0.1) would carry the float's binary noise into money.
        return Decimal(str(value))
    except InvalidOperation:
        return Decimal(0)


@dataclass(frozen=True)
class Completion:
    content: str
    model: str
    finish_reason: str | None
    usage: Usage
    # Every choice's text when several were asked for (`n`); variants[0] == content.
    variants: tuple[str, ...] = ()
    id: str | None = None
    # Each variant's finish_reason, in the same order: "length" means the model was stopped by
    # `max_tokens`, so that variant's text ends wherever the bound fell.
    finish_reasons: tuple[str | None, ...] = ()

    def cut_off(self, index: int = 0) -> bool:
        """True when variant `index` was stopped by `max_tokens` (finish_reason "length")."""
        reasons = self.finish_reasons or (self.finish_reason,)
        return index < len(reasons) and reasons[index] == "length"


@dataclass(frozen=True)
class StreamEvent:
    """One step of a streamed completion.

    kind "delta": `text` is the new piece. kind "done": `text` is the whole answer, with `usage`,
    `model` and `finish_reason`. kind "error": the stream broke after it started; `error` is the
    typed exception and `text` what had arrived. "done" or "error" is always the last event.
    """

    kind: Literal["delta", "done", "error"]
    text: str = ""
    model: str | None = None
    finish_reason: str | None = None
    usage: Usage | None = None
    error: AIProviderError | None = None


# --- client -----------------------------------------------------------------------------------

Sleep = Callable[[float], Awaitable[None]]


@dataclass
class _StreamState:
    parts: list[str] = field(default_factory=list)
    model: str | None = None
    finish_reason: str | None = None
    usage: Usage | None = None
    done: bool = False


class OpenRouterClient:
    """Chat completions with retries, fallbacks and typed errors.

    Retried (with exponential backoff and jitter, or the server's own Retry-After /
    X-RateLimit-Reset): 408, 429, 502, 503, 504 and failures to connect. Never retried: other
    4xx (including 402 and 403, which will not change), and read timeouts, because the provider
    may have done (and billed) the work already. A wait longer than `max_retry_wait` is not
    taken: the error is raised at once with `retry_after` set, so an interactive request does
    not hang.
    """

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        api_key: str | None = None,
        *,
        app_url: str | None = None,
        app_title: str | None = "T21",
        timeout: float = 60.0,
        max_retries: int = 2,
        backoff_base: float = 0.5,
        max_backoff: float = 8.0,
        max_retry_wait: float = 20.0,
        http: httpx.AsyncClient | None = None,
        sleep: Sleep | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.url = f"{self.base_url}/chat/completions"
        self.api_key = api_key or None
        self.app_url = app_url
        self.app_title = app_title
        self.max_retries = max(0, max_retries)
        self.backoff_base = backoff_base
        self.max_backoff = max_backoff
        self.max_retry_wait = max_retry_wait
        # Connecting should be quick even when generating is slow; a dead host fails fast.
        self.timeout = httpx.Timeout(timeout, connect=min(timeout, 10.0))
        self._owns_http = http is None
        self._http = http or http_client(timeout=self.timeout)
        self._sleep: Sleep = sleep or asyncio.sleep

    @classmethod
    def from_settings(cls, settings: Any, **overrides: Any) -> OpenRouterClient:
        """Build from `t21.config.Settings` (base URL, key, our public URL for HTTP-Referer)."""
        key = settings.openrouter_api_key.get_secret_value() if settings.openrouter_api_key else None
        kwargs: dict[str, Any] = {
            "base_url": settings.openrouter_base_url,
            "api_key": key,
            "app_url": settings.base_url,
            "app_title": "T21",
        }
        kwargs.update(overrides)
        return cls(**kwargs)

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> OpenRouterClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- public API ----------------------------------------------------------------------------

    async def complete(
        self,
        messages: Sequence[Mapping[str, Any]],
        *,
        model: str,
        fallback_models: Sequence[str] = (),
        max_tokens: int | None = None,
        temperature: float | None = None,
        n: int = 1,
    ) -> Completion:
        """One completion; with `n` > 1, `n` choices in `variants`.

        Some providers ignore `n` and answer one choice: the client then asks again for the
        missing ones and adds up the usage, so the caller always gets `n` variants (or an error).
        """
        n = max(1, n)
        body = self._body(messages, model, fallback_models, max_tokens, temperature, n=n, stream=False)
        first = await self._complete_once(body)
        variants = list(first.variants)
        reasons = list(first.finish_reasons)
        usage = first.usage
        calls = 1
        while len(variants) < n and calls < n:
            body["n"] = n - len(variants)
            if body["n"] == 1:
                body.pop("n")
            more = await self._complete_once(body)
            variants += more.variants
            reasons += more.finish_reasons
            usage = usage + more.usage
            calls += 1
        variants = variants[:n]
        return Completion(
            content=variants[0],
            model=first.model,
            finish_reason=first.finish_reason,
            usage=usage,
            variants=tuple(variants),
            id=first.id,
            finish_reasons=tuple(reasons[:n]),
        )

    async def stream(
        self,
        messages: Sequence[Mapping[str, Any]],
        *,
        model: str,
        fallback_models: Sequence[str] = (),
        max_tokens: int | None = None,
        temperature: float | None = None,
    ) -> AsyncIterator[StreamEvent]:
        """Stream one completion as events (see `StreamEvent`).

        Failures before the first byte (refused connection, 4xx, 5xx after retries) raise the
        typed exception like `complete`; once text has started to flow, a failure becomes a
        final "error" event so the caller can decide what to do with the partial text.
        """
        body = self._body(messages, model, fallback_models, max_tokens, temperature, n=1, stream=True)
        response = await self._send(body, stream=True)
        state = _StreamState()
        try:
            async for event in self._read_stream(response, state):
                yield event
        finally:
            await response.aclose()

    # -- request -------------------------------------------------------------------------------

    def _headers(self, *, stream: bool) -> dict[str, str]:
        headers = {
            "Content-Type": "application/json",
            "Accept": "text/event-stream" if stream else "application/json",
        }
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        # OpenRouter attributes traffic to apps by these two; other servers ignore them.
        if self.app_url:
            headers["HTTP-Referer"] = self.app_url
        if self.app_title:
            headers["X-Title"] = self.app_title
        return headers

    @staticmethod
    def _body(
        messages: Sequence[Mapping[str, Any]],
        model: str,
        fallback_models: Sequence[str],
        max_tokens: int | None,
        temperature: float | None,
        *,
        n: int,
        stream: bool,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"model": model, "messages": [dict(m) for m in messages], "stream": stream}
        if max_tokens is not None:
            body["max_tokens"] = max_tokens
        if temperature is not None:
            body["temperature"] = temperature
        if n > 1:
            body["n"] = n
        fallbacks = list(dict.fromkeys(m for m in fallback_models if m and m != model))
        if fallbacks:
            body["models"] = fallbacks
        if stream:
            # OpenRouter always ends a stream with usage; OpenAI-style servers (vLLM, Ollama)
            # only do when asked.
            body["stream_options"] = {"include_usage": True}
        return body

    def _backoff(self, attempt: int, retry_after: float | None) -> float | None:
        if retry_after is not None:
            if retry_after > self.max_retry_wait:
                return None
            # A little jitter so that many workers released at the same reset do not collide.
            return retry_after + random.uniform(0, self.backoff_base)
        return jittered(attempt + 1, base=self.backoff_base, cap=self.max_backoff)

    async def _send(self, body: dict[str, Any], *, stream: bool) -> httpx.Response:
        """POST with retries; returns an open 2xx response (the caller reads and closes it)."""
        host = urlsplit(self.url).netloc
        attempt = 0
        while True:
            request = self._http.build_request(
                "POST", self.url, json=body, headers=self._headers(stream=stream), timeout=self.timeout
            )
            try:
                response = await self._http.send(request, stream=True)
            except httpx.RequestError as exc:
                if classify(exc) is not Delivery.NEVER_SENT:
                    # The provider may have done (and billed) the work: never sent again.
                    if isinstance(exc, httpx.TimeoutException):
                        raise AIProviderUnavailable(f"The AI provider at {host} timed out") from exc
                    raise AIProviderUnavailable(
                        f"The AI provider at {host} broke the connection: {exc!r}"
                    ) from exc
                # The request never reached the provider, so sending it again cannot double-bill.
                if attempt < self.max_retries:
                    delay = self._backoff(attempt, None) or 0.0
                    log.info("ai_provider_retry", reason=type(exc).__name__, attempt=attempt + 1, delay=delay)
                    await self._sleep(delay)
                    attempt += 1
                    continue
                raise AIProviderUnavailable(f"Cannot reach the AI provider at {host}: {exc!r}") from exc

            if response.status_code < 400:
                return response
            try:
                raw = await response.aread()
            except httpx.TransportError:
                raw = b""
            finally:
                await response.aclose()
            error = _error_from(response.status_code, _json_or_none(raw), response.headers)
            if response.status_code in RETRY_STATUSES and attempt < self.max_retries:
                wait = self._backoff(attempt, _retry_after(response.headers))
                if wait is not None:
                    log.info("ai_provider_retry", status=response.status_code, attempt=attempt + 1, wait=wait)
                    await self._sleep(wait)
                    attempt += 1
                    continue
            raise error

    async def _complete_once(self, body: dict[str, Any]) -> Completion:
        response = await self._send(body, stream=False)
        try:
            raw = await response.aread()
        except httpx.TimeoutException as exc:
            raise AIProviderUnavailable("The AI provider timed out while answering") from exc
        except httpx.TransportError as exc:
            raise AIProviderUnavailable(f"The AI provider broke the connection: {exc!r}") from exc
        finally:
            await response.aclose()
        payload = _json_or_none(raw)
        if not isinstance(payload, dict):
            raise AIProviderUnavailable(f"The AI provider sent an unreadable answer ({len(raw)} bytes)")
        # OpenRouter can report a failure with HTTP 200 and an `error` body.
        if "error" in payload and not payload.get("choices"):
            raise _error_from(_status_of(payload["error"]), payload)
        choices = payload.get("choices")
        if not isinstance(choices, list) or not choices:
            raise AIProviderUnavailable("The AI provider answered without any choice")
        ordered = sorted((c for c in choices if isinstance(c, dict)), key=lambda c: _int(c.get("index", 0)))
        first = ordered[0]
        if first.get("finish_reason") == "error":
            raise AIProviderUnavailable("The AI provider failed while generating", metadata=first)
        variants = tuple(_message_text(c) for c in ordered)
        return Completion(
            content=variants[0],
            model=str(payload.get("model") or body["model"]),
            finish_reason=first.get("finish_reason"),
            usage=Usage.from_payload(payload.get("usage")),
            variants=variants,
            id=payload.get("id"),
            finish_reasons=tuple(_reason(c.get("finish_reason")) for c in ordered),
        )

    # -- streaming -----------------------------------------------------------------------------

    async def _read_stream(self, response: httpx.Response, state: _StreamState) -> AsyncIterator[StreamEvent]:
        data_lines: list[str] = []
        try:
            async for line in response.aiter_lines():
                if line.startswith(":"):
                    # Keep-alive comments (": OPENROUTER PROCESSING") while the model thinks.
                    continue
                if line.strip() == "":
                    if data_lines:
                        payload, data_lines = "\n".join(data_lines), []
                        for event in self._on_data(payload, state):
                            yield event
                            if event.kind == "error":
                                return
                        if state.done:
                            break
                    continue
                name, _, value = line.partition(":")
                if name == "data":
                    data_lines.append(value[1:] if value.startswith(" ") else value)
            if data_lines and not state.done:
                for event in self._on_data("\n".join(data_lines), state):
                    yield event
                    if event.kind == "error":
                        return
        except httpx.TransportError as exc:
            yield self._error_event(
                state, AIProviderUnavailable(f"The AI provider's stream broke off: {exc!r}")
            )
            return
        if state.done or state.finish_reason is not None:
            yield StreamEvent(
                kind="done",
                text="".join(state.parts),
                model=state.model,
                finish_reason=state.finish_reason,
                usage=state.usage or Usage(),
            )
        else:
            yield self._error_event(state, AIProviderUnavailable("The AI provider's stream ended early"))

    @staticmethod
    def _error_event(state: _StreamState, error: AIProviderError) -> StreamEvent:
        return StreamEvent(
            kind="error", text="".join(state.parts), model=state.model, usage=state.usage, error=error
        )

    def _on_data(self, data: str, state: _StreamState) -> list[StreamEvent]:
        if data.strip() == "[DONE]":
            state.done = True
            return []
        chunk = _json_or_none(data.encode())
        if not isinstance(chunk, dict):
            return [
                self._error_event(state, AIProviderUnavailable("The AI provider sent an unreadable chunk"))
            ]
        if chunk.get("model"):
            state.model = str(chunk["model"])
        if chunk.get("usage"):
            state.usage = Usage.from_payload(chunk["usage"])
        if "error" in chunk:
            return [self._error_event(state, _error_from(_status_of(chunk["error"]), chunk))]
        events: list[StreamEvent] = []
        for choice in chunk.get("choices") or []:
            if not isinstance(choice, dict) or _int(choice.get("index", 0)) != 0:
                continue
            delta = choice.get("delta") or {}
            text = delta.get("content") if isinstance(delta, dict) else None
            if isinstance(text, str) and text:
                state.parts.append(text)
                events.append(StreamEvent(kind="delta", text=text))
            if choice.get("finish_reason"):
                state.finish_reason = str(choice["finish_reason"])
                if state.finish_reason == "error":
                    events.append(
                        self._error_event(state, AIProviderUnavailable("The AI provider failed mid-stream"))
                    )
        return events


def _json_or_none(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None


def _status_of(error: Any) -> int:
    """HTTP-like status of an in-band error; OpenRouter puts it in `code`, others a string code."""
    code = error.get("code") if isinstance(error, dict) else None
    if isinstance(code, int) and 400 <= code <= 599:
        return code
    if isinstance(code, str) and code.isdigit() and 400 <= int(code) <= 599:
        return int(code)
    return 502


def _reason(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _message_text(choice: Mapping[str, Any]) -> str:
    message = choice.get("message")
    content = message.get("content") if isinstance(message, dict) else None
    if isinstance(content, list):
        # Multimodal-style answers: a list of parts, of which we want the text.
        return "".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return content if isinstance(content, str) else ""
