"""Wire shapes of the AI endpoints (camelCase on the wire)."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import Field, field_validator

from t21.brands.schemas import LANGUAGE_PATTERN
from t21.enums import Platform
from t21.kit.schemas import Schema, StrictInput

MAX_PROMPT = 4000
MAX_REWRITE_TEXT = 10000
MAX_VARIANTS = 5


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


class _GenerationOptions(StrictInput):
    brand_id: uuid.UUID
    variants: int = Field(
        default=1, ge=1, le=MAX_VARIANTS, description="How many alternatives to write in one call (1–5)"
    )
    model: str | None = Field(
        default=None,
        max_length=200,
        description="A model id from T21_AI_MODEL or T21_AI_ALLOWED_MODELS (see GET /ai/status); "
        "default T21_AI_MODEL",
    )
    keep_hashtags: bool = Field(
        default=True,
        description="False removes hashtags from the content; `hashtags` still lists what the model proposed",
    )
    language: str | None = Field(
        default=None,
        pattern=LANGUAGE_PATTERN,
        max_length=16,
        description="Language code of the post (default: the brand's)",
    )


class GenerateRequest(_GenerationOptions):
    prompt: str = Field(min_length=1, max_length=MAX_PROMPT, description="The brief: what the post is about")
    platform: Platform

    _prompt = field_validator("prompt")(_not_blank)


class StreamRequest(GenerateRequest):
    variants: int = Field(default=1, ge=1, le=1, description="Streaming writes exactly one post")


class RewriteRequest(_GenerationOptions):
    text: str = Field(min_length=1, max_length=MAX_REWRITE_TEXT, description="The post to adapt")
    target_platform: Platform
    tone: str | None = Field(
        default=None, max_length=500, description="Tone for this rewrite, instead of the brand's"
    )
    language: str | None = Field(
        default=None,
        pattern=LANGUAGE_PATTERN,
        max_length=16,
        description="Language of the result (default: the original's)",
    )

    _text = field_validator("text")(_not_blank)


class UsageOut(Schema):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    cost: Decimal = Field(description="What the provider charged the operator, in US dollars")


class VariantOut(Schema):
    content: str
    hashtags: list[str]


class GenerationResult(Schema):
    content: str = Field(description="The first variant, ready for the network: it passes its validation")
    hashtags: list[str] = Field(
        description="Hashtags of the first variant, deduplicated, first spelling kept"
    )
    variants: list[VariantOut]
    credits_remaining: int | None = Field(
        description="AI credits left this month after this call; null when unlimited (billing off)"
    )
    generation_id: uuid.UUID = Field(description="Pass as aiGenerationId to POST /posts to mark the post")
    model: str = Field(description="The model that actually answered (may be a fallback)")
    usage: UsageOut
    emulated: bool = Field(description="True when T21's built-in emulator wrote this, not a real model")


class GenerationOut(Schema):
    id: uuid.UUID
    brand_id: uuid.UUID
    user_id: uuid.UUID
    organization_id: uuid.UUID | None
    kind: Literal["generate", "rewrite"]
    platform: str
    prompt: str
    model: str
    content: str
    variants: list[str]
    hashtags: list[str]
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    cost: Decimal
    credits_charged: int
    created_at: datetime


class AIStatus(Schema):
    """Which model provider answers AI calls.

    The rule: with `T21_OPENROUTER_API_KEY` set, T21 calls `T21_OPENROUTER_BASE_URL` (OpenRouter by
    default) with it. Without a key, an explicitly set `T21_OPENROUTER_BASE_URL` is taken to be a
    keyless OpenAI-compatible server (Ollama, vLLM, llama.cpp) and called as is. Without either, T21
    runs on its built-in OpenRouter emulator (mounted at /sandbox/openrouter, or at
    `T21_SANDBOX_URL`/openrouter when set): deterministic drafts, no cost, `emulated: true` on
    every answer. With the sandbox disabled as well, AI calls answer 503 ai_unavailable.
    """

    provider: Literal["openrouter", "emulator"]
    model: str
    allowed_models: list[str]
    fallback_models: list[str]
    emulated: bool
    configured: bool = Field(description="False when AI calls cannot work until an API key is set")
    base_url: str
    message: str
