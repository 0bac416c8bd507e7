"""AI drafting in the brand's voice, paid for with AI credits.

The seed's flow, with the order that matters for money:

    authenticate → load the brand (404 / 403) → quick credit read (402 before any provider call)
    → build the prompt → reserve the credits (402) → call the provider → make the answer pass the
    network's validation → store the generation → answer
    (any failure after the reservation: the credits go back)

The reservation is one statement before the provider is asked: a conditional UPDATE of the
payer's counter (`t21.ai.repository.reserve_credits`), committed at once. When concurrent calls
race for the last credits, only the winners reach the provider; the others get 402 without
costing the operator a completion. A provider failure, an empty answer, a brand deleted while the
provider wrote or a caller that went away gives the credits back (`release_credits`), so a failed
call charges nothing. Before the reservation, the brand, the caller's role and the payer's
counters come from one statement too. Each statement runs on a pooled connection of its own,
given back at once, so none is held while the provider writes; streams reserve when the stream
starts and keep the credits when the provider's stream has finished and the generation is stored.

Every completion is bounded (`max_tokens`, from the network's limit: `shaping.max_tokens`); an
answer the bound cut off (finish_reason "length") is taken back to its last whole sentence.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, TypeVar

import structlog
from sqlalchemy import Numeric
from sqlalchemy.ext.asyncio import AsyncSession

from t21.ai import shaping
from t21.ai.models import AIGeneration
from t21.ai.prompts import BrandVoice, build_generation_messages, build_rewrite_messages
from t21.ai.provider import resolve_provider
from t21.ai.repository import (
    BrandForGeneration,
    GenerationRepository,
    NewGeneration,
    OwnerKind,
    Reservation,
    brand_for_generation,
    insert_generation,
    release_credits,
    reserve_credits,
)
from t21.ai.schemas import (
    AIStatus,
    GenerateRequest,
    GenerationOut,
    GenerationResult,
    RewriteRequest,
    UsageOut,
    VariantOut,
)
from t21.ai.shaping import Draft
from t21.ai.text import drop_unfinished
from t21.brands.access import require_brand
from t21.config import Settings
from t21.db.database import Database
from t21.enums import Platform, Role
from t21.errors import NotFound, QuotaExceeded, ServiceUnavailable, T21Error, ValidationFailed
from t21.integrations.openrouter import (
    AIModerationRefused,
    AIProviderError,
    AIProviderUnavailable,
    AIRateLimited,
    Completion,
    OpenRouterClient,
    Usage,
)
from t21.kit.clock import utcnow
from t21.kit.pagination import decode_cursor, encode_cursor
from t21.kit.timezones import month_start, next_month_start
from t21.organizations.roles import Action, ensure_allowed
from t21.quotas.service import AiAllowance, ai_allowance

log = structlog.get_logger(__name__)

# The second request for an overshooting answer aims this far below the limit: models that
# overshoot once tend to land a little past whatever number they are given.
SHORTEN_TARGET = 0.9
# Comment lines sent to our own stream's client while the provider is silent, so proxies and
# browsers do not give up on an idle connection.
HEARTBEAT_SECONDS = 15.0
# Costs are stored at the column's precision; answers use the same, so an answer and the history
# never disagree. (Cheap models cost fractions of a micro-dollar per call: a finer column would help.)
_COST_TYPE = AIGeneration.__table__.c.cost.type
if not isinstance(_COST_TYPE, Numeric):
    raise TypeError(f"ai_generations.cost must be a Numeric column, not {_COST_TYPE!r}")
_COST_STEP = Decimal(1).scaleb(-(_COST_TYPE.scale or 0))


# --- errors -----------------------------------------------------------------------------------


class AIUnavailable(ServiceUnavailable):
    code = "ai_unavailable"
    message = "The AI provider is unavailable right now; no credits were charged. Try again shortly."


class AIContentRefused(ValidationFailed):
    code = "ai_content_refused"
    message = "The AI provider refused this request"


class ModelNotAllowed(ValidationFailed):
    code = "model_not_allowed"


def provider_error(exc: AIProviderError) -> T21Error:
    """Our answer to a provider failure. Only a moderation refusal is the user's to fix; an empty
    provider balance, a wrong key, an unknown model or a rate limit are the operator's."""
    if isinstance(exc, AIModerationRefused):
        return AIContentRefused(
            f"The AI provider refused this request: {exc.reason}",
            details={"reason": exc.reason, "reasons": exc.reasons},
        )
    headers = None
    details: dict[str, Any] = {"providerStatus": exc.status}
    if isinstance(exc, AIRateLimited) and exc.retry_after is not None:
        headers = {"Retry-After": str(max(1, round(exc.retry_after)))}
        details["retryAfter"] = exc.retry_after
    return AIUnavailable(details=details, headers=headers)


# --- plans of a call --------------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    """Everything decided before the provider is asked: who, for which brand, what, at what price."""

    kind: str  # "generate" | "rewrite"
    user_id: uuid.UUID
    brand_id: uuid.UUID
    organization_id: uuid.UUID | None
    # Who pays (the brand's user or organization), and their monthly allowance.
    owner_kind: OwnerKind
    owner_id: uuid.UUID
    plan: AiAllowance
    voice: BrandVoice
    platform: Platform
    prompt: str
    messages: list[dict[str, str]]
    model: str
    variants: int
    keep_hashtags: bool
    language: str | None
    credits: int
    emulated: bool
    # The bound on each answer's length (`max_tokens`), from the network's limit.
    max_tokens: int


@dataclass(frozen=True)
class Outcome:
    drafts: list[Draft]
    model: str
    usage: Usage
    # Wall time spent waiting for the provider (both calls when a draft was asked again): the
    # answer's Server-Timing header, so our own overhead can be told from the model's time.
    provider_ms: float = 0.0


def _voice(brand: BrandForGeneration) -> BrandVoice:
    return BrandVoice(
        name=brand.name,
        tone_of_voice=brand.tone_of_voice,
        target_audience=brand.target_audience,
        description=brand.description,
        website=brand.website,
        language=brand.language or "en",
    )


class AIService:
    def __init__(self, settings: Settings, db: Database, session: AsyncSession | None = None) -> None:
        """`db`: generations read and charge on connections of their own (see
        `t21.ai.repository`); `session`: the request's, for the history."""
        self.settings = settings
        self.db = db
        self.session = session

    @property
    def repo(self) -> GenerationRepository:
        if self.session is None:
            raise RuntimeError("AIService needs the request's session to read the history")
        return GenerationRepository(self.session)

    # -- status --------------------------------------------------------------------------------

    def status(self) -> AIStatus:
        info = resolve_provider(self.settings)
        return AIStatus(
            provider=info.kind,
            model=self.settings.ai_model,
            allowed_models=self.allowed_models(),
            fallback_models=list(self.settings.ai_fallback_models),
            emulated=info.emulated,
            configured=info.configured,
            base_url=info.base_url,
            message=info.message,
        )

    def allowed_models(self) -> list[str]:
        return list(dict.fromkeys([self.settings.ai_model, *self.settings.ai_allowed_models]))

    # -- planning ------------------------------------------------------------------------------

    async def plan_generation(self, user_id: uuid.UUID, body: GenerateRequest) -> Call:
        brand, plan = await self._brand_and_credits(user_id, body.brand_id, body.variants)
        voice = _voice(brand)
        language = body.language or voice.language
        # Hashtags are always asked for: keepHashtags=false moves them out of the text into the
        # `hashtags` list (to post as a first comment, say), it does not do without them.
        messages = build_generation_messages(
            voice, body.prompt, body.platform, language=language, variants=body.variants, keep_hashtags=True
        )
        return self._call(
            "generate",
            user_id,
            brand,
            plan,
            voice,
            body.platform,
            body.prompt,
            messages,
            body.model,
            body.variants,
            body.keep_hashtags,
            language,
        )

    async def plan_rewrite(self, user_id: uuid.UUID, body: RewriteRequest) -> Call:
        brand, plan = await self._brand_and_credits(user_id, body.brand_id, body.variants)
        voice = _voice(brand)
        messages = build_rewrite_messages(
            voice, body.text, body.target_platform, body.tone, language=body.language, keep_hashtags=True
        )
        return self._call(
            "rewrite",
            user_id,
            brand,
            plan,
            voice,
            body.target_platform,
            body.text,
            messages,
            body.model,
            body.variants,
            body.keep_hashtags,
            body.language,
        )

    def _call(
        self,
        kind: str,
        user_id: uuid.UUID,
        brand: BrandForGeneration,
        plan: AiAllowance,
        voice: BrandVoice,
        platform: Platform,
        prompt: str,
        messages: list[dict[str, str]],
        model: str | None,
        variants: int,
        keep_hashtags: bool,
        language: str | None,
    ) -> Call:
        return Call(
            kind=kind,
            user_id=user_id,
            brand_id=brand.id,
            organization_id=brand.organization_id,
            owner_kind=brand.owner_kind,
            owner_id=brand.owner_id,
            plan=plan,
            voice=voice,
            platform=Platform(platform),
            prompt=prompt,
            messages=messages,
            model=self._model(model),
            variants=variants,
            keep_hashtags=keep_hashtags,
            language=language,
            credits=plan.per_call * variants,
            emulated=resolve_provider(self.settings).emulated,
            max_tokens=shaping.max_tokens(Platform(platform)),
        )

    def _model(self, requested: str | None) -> str:
        if requested is None:
            return self.settings.ai_model
        allowed = self.allowed_models()
        if requested not in allowed:
            raise ModelNotAllowed(
                f"The model {requested!r} is not enabled on this server",
                details={"model": requested, "allowedModels": allowed},
            )
        return requested

    async def _brand_and_credits(
        self, user_id: uuid.UUID, brand_id: uuid.UUID, variants: int
    ) -> tuple[BrandForGeneration, AiAllowance]:
        # One statement: the brand, the caller's role on it and the payer's counters. The answers
        # are `require_brand`'s: 404 without access, 403 below `use_ai`'s role (viewers may read a
        # brand but not spend its owner's credits).
        brand = await brand_for_generation(self.db, user_id, brand_id)
        if brand is None or brand.role is None:
            raise NotFound("Brand not found", code="brand_not_found")
        ensure_allowed(Role(brand.role), Action.use_ai)
        info = resolve_provider(self.settings)
        if not info.configured:
            raise AIUnavailable(info.message)
        plan = ai_allowance(
            self.settings, brand.subscription_tier, brand.subscription_status, brand.past_due_since
        )
        if plan.monthly is None:  # billing off and no T21_AI_MONTHLY_CREDITS: unlimited
            return brand, plan
        needed = plan.per_call * variants
        # A plain read: it spares the reservation's statement when the answer is plainly no, and
        # says how many credits are left. The reservation (`generate`) is what is atomic.
        now = utcnow()
        used = brand.ai_credits_used if brand.usage_period_start >= month_start(now) else 0
        remaining = plan.monthly - used
        if remaining < needed:
            raise QuotaExceeded(
                f"This needs {needed} AI credits and {max(remaining, 0)} are left this month",
                details={
                    "limit": plan.monthly,
                    "remaining": max(remaining, 0),
                    "needed": needed,
                    "resetsAt": next_month_start(now).isoformat(),
                    "tier": plan.tier,
                },
            )
        return brand, plan

    # -- the provider --------------------------------------------------------------------------

    async def run(self, call: Call, client: OpenRouterClient) -> Outcome:
        started = time.perf_counter()
        try:
            completion = await client.complete(
                call.messages,
                model=call.model,
                fallback_models=self.settings.ai_fallback_models,
                max_tokens=call.max_tokens,
                n=call.variants,
            )
        except AIProviderError as exc:
            log.warning(
                "ai_provider_failed", error=type(exc).__name__, status=exc.status, message=exc.message
            )
            raise provider_error(exc) from exc
        provider_ms = (time.perf_counter() - started) * 1000
        texts = [
            _whole(text, completion.cut_off(index), completion.model, call)
            for index, text in enumerate(completion.variants or (completion.content,))
        ]
        shaped = [
            shaping.shape(call.platform, shaping.clean(call.platform, text), keep_hashtags=call.keep_hashtags)
            for text in texts
        ]
        results = await asyncio.gather(
            *(self._within_limit(call, client, draft, completion) for draft in shaped)
        )
        drafts = [draft for draft, _, _ in results]
        usage = completion.usage
        for _, extra, _ in results:
            usage = usage + extra
        # Second requests run side by side: the longest is what the caller waited.
        provider_ms += max((waited for _, _, waited in results), default=0.0)
        if any(not d.content.strip() for d in drafts):
            log.warning("ai_provider_empty_answer", model=completion.model)
            raise AIUnavailable("The AI provider answered with an empty post; no credits were charged.")
        return Outcome(drafts, completion.model, usage, provider_ms)

    async def _within_limit(
        self, call: Call, client: OpenRouterClient, draft: Draft, completion: Completion
    ) -> tuple[Draft, Usage, float]:
        """Ask once for a shorter version of an overshooting draft, then trim what still is.
        Returns the draft, the extra usage and the milliseconds spent waiting for it."""
        if not shaping.too_long(call.platform, draft.content):
            return draft, Usage(), 0.0
        limit = shaping.hard_limit(call.platform)
        # Rewrite the full text (hashtags included) so the model decides what to drop.
        source = draft.content if call.keep_hashtags else _with_tags(draft)
        messages = build_rewrite_messages(
            call.voice,
            source,
            call.platform,
            language=call.language,
            keep_hashtags=True,
            hard_limit=int(limit * SHORTEN_TARGET),
        )
        usage = Usage()
        started = time.perf_counter()
        shorter: Completion | None = None
        try:
            shorter = await client.complete(
                messages,
                model=completion.model or call.model,
                fallback_models=self.settings.ai_fallback_models,
                max_tokens=call.max_tokens,
            )
        except AIProviderError as exc:
            # The post exists already; a failed second opinion only means we trim it ourselves.
            log.info("ai_shorten_failed", error=type(exc).__name__, status=exc.status)
        waited = (time.perf_counter() - started) * 1000
        if shorter is not None:
            usage = shorter.usage
            text = _whole(shorter.content, shorter.cut_off(), shorter.model, call)
            retried = shaping.shape(
                call.platform, shaping.clean(call.platform, text), keep_hashtags=call.keep_hashtags
            )
            if retried.content.strip():
                if not call.keep_hashtags and not retried.hashtags:
                    retried = replace(retried, hashtags=draft.hashtags)
                draft = retried
        return shaping.fit(call.platform, draft, keep_hashtags=call.keep_hashtags), usage, waited

    # -- charging ------------------------------------------------------------------------------

    async def generate(self, call: Call, client: OpenRouterClient) -> tuple[Outcome, GenerationResult]:
        """Reserve the call's credits, ask the provider, store the generation. QuotaExceeded
        (nothing asked) when concurrent calls spent the credits since the quick read; any failure
        after the reservation gives the credits back."""
        reservation = await reserve(self.db, call)
        try:
            outcome = await self.run(call, client)
        except BaseException:
            await give_back(self.db, reservation)
            raise
        return outcome, await store_or_give_back(self.db, call, outcome, reservation)

    # -- history -------------------------------------------------------------------------------

    async def history(
        self, user_id: uuid.UUID, brand_id: uuid.UUID | None, cursor: str | None, limit: int
    ) -> tuple[list[GenerationOut], str | None]:
        if brand_id is not None:
            await require_brand(self.repo.session, user_id, brand_id, Action.view_ai_history)
        after: tuple[datetime, uuid.UUID] | None = None
        if cursor:
            created_at, last_id = decode_cursor(cursor, (datetime, uuid.UUID))
            after = (created_at, last_id)
        rows = await self.repo.list_visible(user_id, brand_id=brand_id, after=after, limit=limit + 1)
        next_cursor = None
        if len(rows) > limit:
            rows = rows[:limit]
            next_cursor = encode_cursor(rows[-1].created_at, rows[-1].id)
        return [GenerationOut.model_validate(row) for row in rows], next_cursor

    async def generation(self, user_id: uuid.UUID, generation_id: uuid.UUID) -> GenerationOut:
        row = await self.repo.get_visible(user_id, generation_id)
        if row is None:
            raise NotFound("Generation not found", code="generation_not_found")
        return GenerationOut.model_validate(row)


def server_timing(outcome: Outcome) -> str:
    """`Server-Timing: provider;dur=<ms>`: browsers' developer tools and benchmarks read it."""
    return f'provider;dur={outcome.provider_ms:.1f};desc="AI provider"'


def _with_tags(draft: Draft) -> str:
    return f"{draft.content}\n\n{' '.join(draft.hashtags)}" if draft.hashtags else draft.content


def _whole(text: str, cut_off: bool, model: str | None, call: Call) -> str:
    """An answer's text, taken back to its last whole sentence when `max_tokens` cut it off."""
    if not cut_off:
        return text
    log.info("ai_answer_cut_off", model=model, max_tokens=call.max_tokens, chars=len(text))
    return drop_unfinished(text)


# Tasks that must run to their end although the request that started them was cancelled (a
# client that went away): a reservation to give back, a generation to store or give back.
_UNCANCELLED: set[asyncio.Task[Any]] = set()


def _keep(task: asyncio.Task[Any]) -> None:
    _UNCANCELLED.add(task)
    task.add_done_callback(_UNCANCELLED.discard)


async def reserve(db: Database, call: Call) -> Reservation:
    """Take the call's credits before the provider is asked (one committed statement).
    QuotaExceeded when concurrent calls spent them since the quick read. A caller cancelled
    while the statement runs leaves nothing taken: what it reserved is given back."""
    now = utcnow()
    limit = call.plan.monthly
    task = asyncio.ensure_future(
        reserve_credits(
            db,
            owner_kind=call.owner_kind,
            owner_id=call.owner_id,
            credits=call.credits,
            limit=limit,
            month=month_start(now),
        )
    )
    try:
        reservation = await asyncio.shield(task)
    except asyncio.CancelledError:
        _keep(task)
        task.add_done_callback(lambda done: _give_back_later(db, done))
        raise
    if reservation is None:
        raise QuotaExceeded(
            "Not enough AI credits left this month",
            details={
                "limit": limit,
                "needed": call.credits,
                "resetsAt": next_month_start(now).isoformat(),
                "tier": call.plan.tier,
            },
        )
    return reservation


def _give_back_later(db: Database, reserving: asyncio.Task[Reservation | None]) -> None:
    if reserving.cancelled() or reserving.exception() is not None:
        return
    reservation = reserving.result()
    if reservation is not None:
        _keep(asyncio.ensure_future(_release(db, reservation)))


async def _release(db: Database, reservation: Reservation) -> None:
    try:
        await release_credits(db, reservation)
    except Exception:
        # The credits stay taken until the month's reset: logged, so the operator can see it.
        log.exception(
            "ai_credit_release_failed",
            owner_kind=reservation.owner_kind,
            owner_id=str(reservation.owner_id),
            credits=reservation.credits,
        )


async def give_back(db: Database, reservation: Reservation) -> None:
    """Give a failed call's credits back; runs to its end even if the caller is cancelled."""
    task = asyncio.ensure_future(_release(db, reservation))
    _keep(task)
    await asyncio.shield(task)


async def store_or_give_back(
    db: Database, call: Call, outcome: Outcome, reservation: Reservation
) -> GenerationResult:
    """Store the generation of a call whose credits are reserved, or give them back when that
    fails (NotFound when the brand was deleted while the provider wrote). Runs to its end even
    if the caller is cancelled meanwhile."""
    task = asyncio.ensure_future(_store_or_give_back(db, call, outcome, reservation))
    _keep(task)
    return await asyncio.shield(task)


async def _store_or_give_back(
    db: Database, call: Call, outcome: Outcome, reservation: Reservation
) -> GenerationResult:
    first = outcome.drafts[0]
    usage = replace(outcome.usage, cost=outcome.usage.cost.quantize(_COST_STEP, ROUND_HALF_UP))
    generation = NewGeneration(
        id=uuid.uuid4(),
        user_id=call.user_id,
        organization_id=call.organization_id,
        brand_id=call.brand_id,
        kind=call.kind,
        platform=call.platform.value,
        prompt=call.prompt,
        model=outcome.model,
        content=first.content,
        variants=[d.content for d in outcome.drafts],
        hashtags=first.hashtags,
        prompt_tokens=usage.prompt_tokens,
        completion_tokens=usage.completion_tokens,
        total_tokens=usage.total_tokens,
        cost=usage.cost,
        created_at=utcnow(),
    )
    try:
        stored = await insert_generation(db, generation, credits=reservation.credits)
    except BaseException:
        await _release(db, reservation)
        raise
    if not stored:
        await _release(db, reservation)
        raise NotFound("Brand not found", code="brand_not_found")
    return GenerationResult(
        content=first.content,
        hashtags=first.hashtags,
        variants=[VariantOut(content=d.content, hashtags=d.hashtags) for d in outcome.drafts],
        credits_remaining=None if call.plan.monthly is None else call.plan.monthly - reservation.used,
        generation_id=generation.id,
        model=outcome.model,
        usage=_usage_out(usage),
        emulated=call.emulated,
    )


def _usage_out(usage: Usage) -> UsageOut:
    return UsageOut(
        prompt_tokens=usage.prompt_tokens,
        completion_tokens=usage.completion_tokens,
        total_tokens=usage.total_tokens,
        cost=usage.cost,
    )


# --- streaming --------------------------------------------------------------------------------


def sse(event: str, data: Any) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False, default=str)}\n\n".encode()


def _error_event(error: T21Error) -> bytes:
    return sse("error", {"error": error.message, "code": error.code, "details": error.details})


async def stream_generation(
    call: Call,
    client: OpenRouterClient,
    db: Database,
    settings: Settings,
) -> AsyncIterator[bytes]:
    """The body of POST /ai/generate-content/stream.

    The credits are reserved first (an `error` event when concurrent calls spent them since the
    quick read). `delta` events relay the model's text as it comes (raw: a LinkedIn draft may
    still show markdown); the final `done` event carries the post as it must be used — cleaned,
    without hashtags if so asked, taken back to its last whole sentence if `max_tokens` cut it,
    and trimmed to the network's limit (a stream cannot ask the model a second time). Any failure
    ends the stream with an `error` event and gives the credits back, as does a client that goes
    away before `done`.
    """
    try:
        reservation = await reserve(db, call)
    except T21Error as exc:
        yield _error_event(exc)
        return
    kept = False
    try:
        events = client.stream(
            call.messages,
            model=call.model,
            fallback_models=settings.ai_fallback_models,
            max_tokens=call.max_tokens,
        )
        async for event in heartbeat(events, HEARTBEAT_SECONDS):
            if event is None:
                yield b": keep-alive\n\n"
            elif event.kind == "delta":
                yield sse("delta", {"text": event.text})
            elif event.kind == "error":
                error = event.error or AIProviderUnavailable("The AI provider's stream failed")
                log.warning("ai_stream_failed", error=type(error).__name__, received=len(event.text))
                yield _error_event(provider_error(error))
                return
            else:
                text = _whole(event.text, event.finish_reason == "length", event.model, call)
                draft = shaping.finish(call.platform, text, keep_hashtags=call.keep_hashtags)
                if not draft.content.strip():
                    yield _error_event(
                        AIUnavailable("The AI provider answered with an empty post; no credits were charged.")
                    )
                    return
                outcome = Outcome([draft], event.model or call.model, event.usage or Usage())
                kept = True  # from here on, storing the generation keeps or gives back the credits
                try:
                    result = await store_or_give_back(db, call, outcome, reservation)
                except T21Error as exc:  # the brand deleted meanwhile
                    yield _error_event(exc)
                    return
                yield sse("done", result.model_dump(mode="json", by_alias=True, exclude={"variants"}))
                return
    except AIProviderError as exc:  # failed before the first byte (refused, 4xx, 5xx)
        log.warning("ai_stream_failed", error=type(exc).__name__, status=exc.status)
        yield _error_event(provider_error(exc))
    finally:
        if not kept:
            await give_back(db, reservation)


T = TypeVar("T")


async def _next(iterator: AsyncIterator[T]) -> T:
    return await anext(iterator)


async def heartbeat(events: AsyncIterator[T], interval: float) -> AsyncIterator[T | None]:
    """`events`, with None whenever `interval` seconds pass without one. The pending read is not
    cancelled by the timeout (that would break the provider's stream), only awaited again."""
    iterator = aiter(events)
    pending: asyncio.Future[T] | None = None
    try:
        while True:
            if pending is None:
                pending = asyncio.ensure_future(_next(iterator))
            done, _ = await asyncio.wait({pending}, timeout=interval)
            if not done:
                yield None
                continue
            finished, pending = pending, None
            try:
                item = finished.result()
            except StopAsyncIteration:
                return
            yield item
    finally:
        if pending is not None:
            pending.cancel()
            await asyncio.gather(pending, return_exceptions=True)
        closer = getattr(iterator, "aclose", None)
        if closer is not None:
            await closer()


__all__: Sequence[str] = (
    "AIContentRefused",
    "AIService",
    "AIUnavailable",
    "ModelNotAllowed",
    "give_back",
    "heartbeat",
    "provider_error",
    "reserve",
    "server_timing",
    "sse",
    "store_or_give_back",
    "stream_generation",
)
