"""AI drafting endpoints (base /api/v1/ai). Rules live in `t21.ai.service`."""

from __future__ import annotations

import uuid

from fastapi import Depends, Query, Request, Response
from fastapi.responses import StreamingResponse

from t21.ai.provider import get_ai_client
from t21.ai.schemas import (
    AIStatus,
    GenerateRequest,
    GenerationOut,
    GenerationResult,
    RewriteRequest,
    StreamRequest,
)
from t21.ai.service import AIService, server_timing, stream_generation
from t21.auth.dependencies import Principal, get_principal, scoped
from t21.auth.scopes import Scope
from t21.errors import ErrorResponse
from t21.integrations.openrouter import OpenRouterClient
from t21.kit.deps import SessionDep, SettingsDep
from t21.kit.routing import make_router, release_connection
from t21.kit.schemas import ListResponse

router = make_router(prefix="/ai", tags=["ai"])

_AI_ERRORS: dict[int | str, dict[str, object]] = {
    402: {"model": ErrorResponse, "description": "Not enough AI credits left this month (quota_exceeded)"},
    503: {
        "model": ErrorResponse,
        "description": "The AI provider is unavailable (ai_unavailable); nothing charged",
    },
}


@router.post("/generate-content", response_model=GenerationResult, responses=_AI_ERRORS)
async def generate_content(
    body: GenerateRequest,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    client: OpenRouterClient = Depends(get_ai_client),
    principal: Principal = Depends(scoped(Scope.ai_write)),
) -> GenerationResult:
    """Draft a post for one network in the brand's voice; `variants` alternatives cost
    `variants` × the plan's credits per call. 422 ai_content_refused when the provider's
    moderation refuses the brief."""
    # What authentication read or wrote (an API key's last use) is committed and its connection
    # given back: the rest runs on connections of its own, none held while the provider writes.
    await release_connection(session)
    service = AIService(session, settings)
    call = await service.plan_generation(principal.user.id, body)
    outcome = await service.run(call, client)
    response.headers["Server-Timing"] = server_timing(outcome)
    return await service.record(call, outcome)


@router.post("/rewrite", response_model=GenerationResult, responses=_AI_ERRORS)
async def rewrite(
    body: RewriteRequest,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    client: OpenRouterClient = Depends(get_ai_client),
    principal: Principal = Depends(scoped(Scope.ai_write)),
) -> GenerationResult:
    """Adapt an existing text to another network, or to another tone."""
    # What authentication read or wrote (an API key's last use) is committed and its connection
    # given back: the rest runs on connections of its own, none held while the provider writes.
    await release_connection(session)
    service = AIService(session, settings)
    call = await service.plan_rewrite(principal.user.id, body)
    outcome = await service.run(call, client)
    response.headers["Server-Timing"] = server_timing(outcome)
    return await service.record(call, outcome)


@router.post(
    "/generate-content/stream",
    response_class=StreamingResponse,
    responses={
        **_AI_ERRORS,
        200: {
            "content": {"text/event-stream": {}},
            "description": "Server-Sent Events: `delta` {text}…, then `done` {content, hashtags, "
            "creditsRemaining, generationId, usage, model, emulated} or `error` {error, code, details}. "
            "Comment lines are keep-alives. Use `done.content`: it is the validated post.",
        },
    },
)
async def generate_content_stream(
    body: StreamRequest,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    client: OpenRouterClient = Depends(get_ai_client),
    principal: Principal = Depends(scoped(Scope.ai_write)),
) -> StreamingResponse:
    """Like generate-content for one variant, streamed. Brand, role, model and credit checks
    answer as plain JSON errors before the stream starts; what happens after is an event."""
    await release_connection(session)
    call = await AIService(session, settings).plan_generation(principal.user.id, body)
    return StreamingResponse(
        stream_generation(call, client, request.app.state.db.engine, settings),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.get("/generations", response_model=ListResponse[GenerationOut])
async def list_generations(
    session: SessionDep,
    settings: SettingsDep,
    brand_id: uuid.UUID | None = Query(default=None, alias="brandId"),
    cursor: str | None = Query(default=None),
    limit: int = Query(default=20, ge=1, le=100),
    principal: Principal = Depends(scoped(Scope.ai_write)),
) -> ListResponse[GenerationOut]:
    """Every stored generation of the brands the caller can see, newest first."""
    rows, next_cursor = await AIService(session, settings).history(principal.user.id, brand_id, cursor, limit)
    return ListResponse[GenerationOut](data=rows, next_cursor=next_cursor)


@router.get("/generations/{generation_id}", response_model=GenerationOut)
async def get_generation(
    generation_id: uuid.UUID,
    session: SessionDep,
    settings: SettingsDep,
    principal: Principal = Depends(scoped(Scope.ai_write)),
) -> GenerationOut:
    return await AIService(session, settings).generation(principal.user.id, generation_id)


@router.get("/status", response_model=AIStatus)
async def ai_status(
    session: SessionDep, settings: SettingsDep, principal: Principal = Depends(get_principal)
) -> AIStatus:
    """Which provider answers, and whether it is T21's emulator."""
    return AIService(session, settings).status()
