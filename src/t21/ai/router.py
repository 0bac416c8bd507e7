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
from t21.ai.service import AIService, Call, server_timing, stream_generation
from t21.auth.dependencies import Principal, caller, get_caller
from t21.auth.scopes import Scope
from t21.errors import ErrorResponse
from t21.integrations.openrouter import OpenRouterClient
from t21.kit.deps import SessionDep
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


async def _answer(service: AIService, call: Call, client: OpenRouterClient) -> Response:
    outcome, result = await service.generate(call, client)
    # Serialised once here (FastAPI would validate the model again first); the declared
    # response_model still documents it.
    return Response(
        result.model_dump_json(by_alias=True),
        media_type="application/json",
        headers={"Server-Timing": server_timing(outcome)},
    )


async def _end_read_phase(request: Request) -> None:
    """What authentication read or wrote (an API key's last use, a first sight of a person) is
    committed and its connection given back: the rest runs on connections of its own (see
    `t21.ai.repository`), none held while the provider writes."""
    session = getattr(request.state, "session", None)
    if session is not None:
        await release_connection(session)


@router.post("/generate-content", response_model=GenerationResult, responses=_AI_ERRORS)
async def generate_content(
    body: GenerateRequest, request: Request, principal: Principal = Depends(caller(Scope.ai_write))
) -> Response:
    """Draft a post for one network in the brand's voice; `variants` alternatives cost
    `variants` × the plan's credits per call. 422 ai_content_refused when the provider's
    moderation refuses the brief."""
    await _end_read_phase(request)
    service = AIService(request.app.state.settings, request.app.state.db)
    call = await service.plan_generation(principal.user_id, body)
    return await _answer(service, call, get_ai_client(request))


@router.post("/rewrite", response_model=GenerationResult, responses=_AI_ERRORS)
async def rewrite(
    body: RewriteRequest, request: Request, principal: Principal = Depends(caller(Scope.ai_write))
) -> Response:
    """Adapt an existing text to another network, or to another tone."""
    await _end_read_phase(request)
    service = AIService(request.app.state.settings, request.app.state.db)
    call = await service.plan_rewrite(principal.user_id, body)
    return await _answer(service, call, get_ai_client(request))


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
    body: StreamRequest, request: Request, principal: Principal = Depends(caller(Scope.ai_write))
) -> StreamingResponse:
    """Like generate-content for one variant, streamed. Brand, role, model and credit checks
    answer as plain JSON errors before the stream starts; what happens after is an event."""
    await _end_read_phase(request)
    settings = request.app.state.settings
    db = request.app.state.db
    call = await AIService(settings, db).plan_generation(principal.user_id, body)
    return StreamingResponse(
        stream_generation(call, get_ai_client(request), db, settings),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.get("/generations", response_model=ListResponse[GenerationOut])
async def list_generations(
    request: Request,
    session: SessionDep,
    brand_id: uuid.UUID | None = Query(default=None, alias="brandId"),
    cursor: str | None = Query(default=None),
    limit: int = Query(default=20, ge=1, le=100),
    principal: Principal = Depends(caller(Scope.ai_write)),
) -> ListResponse[GenerationOut]:
    """Every stored generation of the brands the caller can see, newest first."""
    service = AIService(request.app.state.settings, request.app.state.db, session)
    rows, next_cursor = await service.history(principal.user_id, brand_id, cursor, limit)
    return ListResponse[GenerationOut](data=rows, next_cursor=next_cursor)


@router.get("/generations/{generation_id}", response_model=GenerationOut)
async def get_generation(
    generation_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    principal: Principal = Depends(caller(Scope.ai_write)),
) -> GenerationOut:
    service = AIService(request.app.state.settings, request.app.state.db, session)
    return await service.generation(principal.user_id, generation_id)


@router.get("/status", response_model=AIStatus)
async def ai_status(request: Request, principal: Principal = Depends(get_caller)) -> AIStatus:
    """Which provider answers, and whether it is T21's emulator."""
    return AIService(request.app.state.settings, request.app.state.db).status()
