"""AI drafting in the brand's voice, paid for with AI credits.

The seed's flow, with the order that matters for money:

    authenticate → load the brand (404 / 403) → quick credit read (402 before any provider call)
    → build the prompt → call the provider → make the answer pass the network's validation
    → store the generation and charge the credits atomically → answer

The charge is one statement after the provider has answered: a conditional UPDATE of the payer's
counter and the generation's INSERT together (`t21.ai.repository.charge_and_insert`). A provider
failure charges nothing, and when concurrent calls race for the last credits the losers get 402
and nothing of theirs is stored. Before the provider call, the brand, the caller's role and the
payer's counters come from one statement too. Both run on a pooled connection of their own, given
back at once, so none is held while the provider writes; streams charge the same way when the
provider's stream has finished.
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
    brand_exists,
    brand_for_generation,
    charge_and_insert,
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
from t21.brands.access import require_brand
from t21.config import Settings
from t21.db.database import Database
from t21.enums import Platform, Role
from t21.errors import Forbidden, NotFound, QuotaExceeded, ServiceUnavailable, T21Error, ValidationFailed
from t21.integrations.openrouter import (
    AIModerationRefused,
    AIProviderError,
    AIRateLimited,
    Completion,
    OpenRouterClient,
    Usage,
)
from t21.kit.clock import utcnow
from t21.kit.pagination import decode_cursor, encode_cursor
from t21.kit.timezones import month_start, next_month_start
from t21.quotas.plans import Plan, plan_for
from t21.quotas.service import effective_tier

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
assert isinstance(_COST_TYPE, Numeric)
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
    # Who pays (the brand's user or organization), and their plan's monthly allowance.
    owner_kind: OwnerKind
    owner_id: uuid.UUID
    plan: Plan
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
        assert self.session is not None, "the history needs the request's session"
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
        plan: Plan,
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
            credits=plan.ai_credits_per_call * variants,
            emulated=resolve_provider(self.settings).emulated,
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
    ) -> tuple[BrandForGeneration, Plan]:
        # One statement: the brand, the caller's role on it and the payer's counters. The answers
        # are `require_brand`'s: 404 without access, 403 below editor (viewers may read a brand
        # but not spend its owner's credits).
        brand = await brand_for_generation(self.db, user_id, brand_id)
        if brand is None or brand.role is None:
            raise NotFound("Brand not found", code="brand_not_found")
        if not Role(brand.role).at_least(Role.editor):
            raise Forbidden(f"This needs the {Role.editor.value} role or higher on the brand's team")
        info = resolve_provider(self.settings)
        if not info.configured:
            raise AIUnavailable(info.message)
        plan = plan_for(
            effective_tier(
                self.settings, brand.subscription_tier, brand.subscription_status, brand.past_due_since
            )
        )
        needed = plan.ai_credits_per_call * variants
        # A plain read, not a reservation: it only spares the provider call (and the operator's
        # money) when the answer is plainly no. The charge after the call is what is atomic.
        now = utcnow()
        used = brand.ai_credits_used if brand.usage_period_start >= month_start(now) else 0
        remaining = plan.ai_credits_per_month - used
        if remaining < needed:
            raise QuotaExceeded(
                f"This needs {needed} AI credits and {max(remaining, 0)} are left this month",
                details={
                    "limit": plan.ai_credits_per_month,
                    "remaining": max(remaining, 0),
                    "needed": needed,
                    "resetsAt": next_month_start(now).isoformat(),
                    "tier": plan.tier.value,
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
                n=call.variants,
            )
        except AIProviderError as exc:
            log.warning(
                "ai_provider_failed", error=type(exc).__name__, status=exc.status, message=exc.message
            )
            raise provider_error(exc) from exc
        provider_ms = (time.perf_counter() - started) * 1000
        texts = list(completion.variants or (completion.content,))
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
            )
        except AIProviderError as exc:
            # The post exists already; a failed second opinion only means we trim it ourselves.
            log.info("ai_shorten_failed", error=type(exc).__name__, status=exc.status)
        waited = (time.perf_counter() - started) * 1000
        if shorter is not None:
            usage = shorter.usage
            retried = shaping.shape(
                call.platform, shaping.clean(call.platform, shorter.content), keep_hashtags=call.keep_hashtags
            )
            if retried.content.strip():
                if not call.keep_hashtags and not retried.hashtags:
                    retried = replace(retried, hashtags=draft.hashtags)
                draft = retried
        return shaping.fit(call.platform, draft, keep_hashtags=call.keep_hashtags), usage, waited

    # -- charging ------------------------------------------------------------------------------

    async def record(self, call: Call, outcome: Outcome) -> GenerationResult:
        """Store the generation and charge for it. QuotaExceeded here means concurrent calls spent
        the credits meanwhile: nothing was stored or charged."""
        return await charge_and_store(self.db, call, outcome)

    # -- history -------------------------------------------------------------------------------

    async def history(
        self, user_id: uuid.UUID, brand_id: uuid.UUID | None, cursor: str | None, limit: int
    ) -> tuple[list[GenerationOut], str | None]:
        if brand_id is not None:
            await require_brand(self.repo.session, user_id, brand_id)
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


async def charge_and_store(db: Database, call: Call, outcome: Outcome) -> GenerationResult:
    """Charge the call's credits and store its generation, in one statement. QuotaExceeded when
    concurrent calls spent the credits meanwhile, NotFound when the brand was deleted while the
    provider wrote; nothing is written then."""
    now = utcnow()
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
        created_at=now,
    )
    limit = call.plan.ai_credits_per_month
    used = await charge_and_insert(
        db,
        generation,
        owner_kind=call.owner_kind,
        owner_id=call.owner_id,
        credits=call.credits,
        limit=limit,
        month=month_start(now),
    )
    if used is None:
        if not await brand_exists(db, call.brand_id):
            raise NotFound("Brand not found", code="brand_not_found")
        raise QuotaExceeded(
            "Not enough AI credits left this month",
            details={
                "limit": limit,
                "resetsAt": next_month_start(now).isoformat(),
                "tier": call.plan.tier.value,
            },
        )
    return GenerationResult(
        content=first.content,
        hashtags=first.hashtags,
        variants=[VariantOut(content=d.content, hashtags=d.hashtags) for d in outcome.drafts],
        credits_remaining=limit - used,
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

    `delta` events relay the model's text as it comes (raw: a LinkedIn draft may still show
    markdown); the final `done` event carries the post as it must be used — cleaned, without
    hashtags if so asked, and trimmed to the network's limit (a stream cannot ask the model a
    second time). Any failure ends the stream with an `error` event and charges nothing.
    """
    events = client.stream(call.messages, model=call.model, fallback_models=settings.ai_fallback_models)
    try:
        async for event in heartbeat(events, HEARTBEAT_SECONDS):
            if event is None:
                yield b": keep-alive\n\n"
            elif event.kind == "delta":
                yield sse("delta", {"text": event.text})
            elif event.kind == "error":
                assert event.error is not None
                log.warning("ai_stream_failed", error=type(event.error).__name__, received=len(event.text))
                yield _error_event(provider_error(event.error))
                return
            else:
                draft = shaping.finish(call.platform, event.text, keep_hashtags=call.keep_hashtags)
                if not draft.content.strip():
                    yield _error_event(
                        AIUnavailable("The AI provider answered with an empty post; no credits were charged.")
                    )
                    return
                outcome = Outcome([draft], event.model or call.model, event.usage or Usage())
                try:
                    result = await charge_and_store(db, call, outcome)
                except T21Error as exc:  # credits spent meanwhile, or the brand deleted
                    yield _error_event(exc)
                    return
                yield sse("done", result.model_dump(mode="json", by_alias=True, exclude={"variants"}))
                return
    except AIProviderError as exc:  # failed before the first byte (refused, 4xx, 5xx)
        log.warning("ai_stream_failed", error=type(exc).__name__, status=exc.status)
        yield _error_event(provider_error(exc))


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
    "charge_and_store",
    "heartbeat",
    "provider_error",
    "server_timing",
    "sse",
    "stream_generation",
)
