from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Header, Query, Request, Response, status
from fastapi.responses import JSONResponse

from t21.auth.dependencies import Principal, caller, scoped
from t21.auth.scopes import Scope
from t21.enums import Platform, PostStatus
from t21.kit.deps import SessionDep, SettingsDep
from t21.kit.routing import make_router
from t21.kit.schemas import ListResponse
from t21.posts.repository import PostFilters
from t21.posts.schemas import PostCreate, PostOut, PostUpdate, RetryRequest, ValidateRequest, ValidateResponse
from t21.posts.service import PostService
from t21.posts.service import list_posts as list_posts_page

router = make_router(prefix="/posts", tags=["posts"])
Reader = Depends(scoped(Scope.posts_read))
# Calls that need only the caller's id (no user row).
HotReader = Depends(caller(Scope.posts_read))
HotWriter = Depends(caller(Scope.posts_write))
Writer = Depends(scoped(Scope.posts_write))


@router.post("", status_code=status.HTTP_201_CREATED, response_model=PostOut)
async def create_post(
    body: PostCreate,
    session: SessionDep,
    settings: SettingsDep,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
    principal: Principal = HotWriter,
) -> JSONResponse:
    code, payload = await PostService(session, settings).create(principal.user_id, body, idempotency_key)
    return JSONResponse(payload, status_code=code)


@router.post("/validate", response_model=ValidateResponse)
async def validate_post(
    body: ValidateRequest, session: SessionDep, settings: SettingsDep, principal: Principal = HotReader
) -> ValidateResponse:
    return await PostService(session, settings).validate(principal.user_id, body)


@router.get("", response_model=ListResponse[PostOut])
async def list_posts(
    request: Request,
    brand_id: Annotated[uuid.UUID | None, Query(alias="brandId")] = None,
    status_filter: Annotated[list[PostStatus] | None, Query(alias="status")] = None,
    platform: Platform | None = None,
    start: Annotated[
        datetime | None, Query(alias="from", description="Scheduled at or after (calendar range)")
    ] = None,
    end: Annotated[
        datetime | None, Query(alias="to", description="Scheduled before (calendar range)")
    ] = None,
    q: Annotated[str | None, Query(max_length=200, description="Text search in the content")] = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    principal: Principal = HotReader,
) -> Response:
    async with request.app.state.db.read_connection() as connection:
        page = await list_posts_page(
            connection,
            principal.user_id,
            PostFilters(
                brand_id=brand_id,
                status=[s.value for s in status_filter] if status_filter else None,
                platform=platform.value if platform else None,
                start=start,
                end=end,
                search=q,
            ),
            cursor=cursor,
            limit=limit,
            settings=request.app.state.settings,
        )
    # Serialised once here; FastAPI would validate the whole page again before serialising it.
    return Response(page.model_dump_json(by_alias=True), media_type="application/json")


@router.get("/{post_id}", response_model=PostOut)
async def get_post(
    post_id: uuid.UUID, session: SessionDep, settings: SettingsDep, principal: Principal = Reader
) -> PostOut:
    return await PostService(session, settings).get(principal.user, post_id)


@router.patch("/{post_id}", response_model=PostOut)
async def update_post(
    post_id: uuid.UUID,
    body: PostUpdate,
    session: SessionDep,
    settings: SettingsDep,
    principal: Principal = Writer,
) -> PostOut:
    return await PostService(session, settings).update(principal.user, post_id, body)


@router.delete(
    "/{post_id}",
    response_model=PostOut | None,
    responses={200: {"description": "Cancelled (kept)"}, 204: {"description": "Deleted"}},
)
async def cancel_or_delete_post(
    post_id: uuid.UUID, session: SessionDep, settings: SettingsDep, principal: Principal = Writer
) -> Response | PostOut:
    cancelled = await PostService(session, settings).cancel_or_delete(principal.user, post_id)
    if cancelled is None:
        return Response(status_code=status.HTTP_204_NO_CONTENT)
    return cancelled


@router.post("/{post_id}/duplicate", status_code=status.HTTP_201_CREATED, response_model=PostOut)
async def duplicate_post(
    post_id: uuid.UUID, session: SessionDep, settings: SettingsDep, principal: Principal = Writer
) -> PostOut:
    return await PostService(session, settings).duplicate(principal.user, post_id)


@router.post("/{post_id}/publish-now", response_model=PostOut)
async def publish_post_now(
    post_id: uuid.UUID, session: SessionDep, settings: SettingsDep, principal: Principal = Writer
) -> PostOut:
    return await PostService(session, settings).publish_now(principal.user, post_id)


@router.post("/{post_id}/retry", response_model=PostOut)
async def retry_post(
    post_id: uuid.UUID,
    session: SessionDep,
    settings: SettingsDep,
    principal: Principal = Writer,
    body: RetryRequest | None = None,
) -> PostOut:
    return await PostService(session, settings).retry(principal.user, post_id, body or RetryRequest())
