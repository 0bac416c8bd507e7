from __future__ import annotations

import uuid
from typing import Any

from fastapi import BackgroundTasks, Depends, File, Form, Query, Response, UploadFile, status
from fastapi.responses import FileResponse, RedirectResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from t21.auth.dependencies import Principal, get_principal
from t21.auth.scopes import Scope as AuthScope
from t21.errors import Forbidden, error_json
from t21.kit.deps import SessionDep, SettingsDep
from t21.kit.routing import make_router
from t21.kit.schemas import ListResponse
from t21.media.schemas import MediaImport, MediaOut
from t21.media.service import MediaService, local_path, too_large

router = make_router(prefix="/media", tags=["media"])

UPLOAD_PATH = "/api/v1/media"
# Room for the multipart boundaries, part headers and the brandId field around the file.
MULTIPART_OVERHEAD = 64 * 1024


def _any_scope(*scopes: AuthScope) -> Any:
    async def _require(principal: Principal = Depends(get_principal)) -> Principal:
        if not any(s in principal.scopes for s in scopes):
            names = " or ".join(f"'{s.value}'" for s in scopes)
            raise Forbidden(f"This API key lacks the {names} scope", code="insufficient_scope")
        return principal

    return Depends(_require)


MediaWriter = _any_scope(AuthScope.media_write)
# Whoever uploads must be able to list what they uploaded; post readers see attached media.
MediaReader = _any_scope(AuthScope.media_write, AuthScope.posts_read)


# Declared before /{media_id}; unauthenticated: the signature is the authorisation.
@router.get("/public/{media_id}", include_in_schema=False)
async def public_media(
    media_id: uuid.UUID,
    session: SessionDep,
    settings: SettingsDep,
    expires: int = Query(...),
    sig: str = Query(..., max_length=128),
) -> Response:
    asset, storage = await MediaService(session, settings).public_asset(media_id, expires, sig)
    path = local_path(storage, asset.storage_key)
    if path is None:
        return RedirectResponse(storage.public_url(asset.id, asset.storage_key), status_code=307)
    headers = {"Cache-Control": "private, max-age=3600", "X-Content-Type-Options": "nosniff"}
    return FileResponse(path, media_type=asset.content_type, headers=headers)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=MediaOut)
async def upload_media(
    session: SessionDep,
    settings: SettingsDep,
    file: UploadFile = File(..., description="JPEG, PNG, GIF, WEBP, MP4 or MOV; checked by content"),
    brand_id: uuid.UUID = Form(..., alias="brandId"),
    principal: Principal = MediaWriter,
) -> MediaOut:
    return await MediaService(session, settings).upload(principal.user, brand_id, file.file, file.filename)


@router.post("/import", status_code=status.HTTP_201_CREATED, response_model=MediaOut)
async def import_media(
    body: MediaImport,
    session: SessionDep,
    settings: SettingsDep,
    principal: Principal = MediaWriter,
) -> MediaOut:
    """Fetch an image or video from a public URL (loopback, link-local and private addresses are
    refused unless T21_ALLOW_PRIVATE_URLS is set)."""
    return await MediaService(session, settings).import_from_url(principal.user, body.brand_id, body.url)


@router.get("", response_model=ListResponse[MediaOut])
async def list_media(
    session: SessionDep,
    settings: SettingsDep,
    brand_id: uuid.UUID | None = Query(default=None, alias="brandId"),
    cursor: str | None = Query(default=None),
    limit: int = Query(default=50, ge=1, le=200),
    principal: Principal = MediaReader,
) -> ListResponse[MediaOut]:
    return await MediaService(session, settings).list(principal.user, brand_id, cursor, limit)


@router.get("/{media_id}", response_model=MediaOut)
async def get_media(
    media_id: uuid.UUID,
    session: SessionDep,
    settings: SettingsDep,
    principal: Principal = MediaReader,
) -> MediaOut:
    return await MediaService(session, settings).get(principal.user, media_id)


@router.delete("/{media_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_media(
    media_id: uuid.UUID,
    session: SessionDep,
    settings: SettingsDep,
    background: BackgroundTasks,
    principal: Principal = MediaWriter,
) -> Response:
    remove_bytes = await MediaService(session, settings).delete(principal.user, media_id)
    # Background tasks run after the route class committed the deletion and the answer left.
    background.add_task(remove_bytes)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


class UploadSizeLimit:
    """Refuses an oversized upload before its body is read: multipart parsing would otherwise
    spool the whole thing to disk first. Declared sizes are checked up front; bodies without a
    Content-Length are counted as they stream."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit
        self.allowed = limit + MULTIPART_OVERHEAD

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"].rstrip("/") != UPLOAD_PATH:
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.allowed:
            error = too_large(self.limit)
            answer = error_json(error.status_code, error.to_body(), {"Connection": "close"})
            await answer(scope, receive, send)
            return
        seen = 0

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.allowed:
                    # Surfaces from the form parser as a 413 (HTTPException passes through FastAPI).
                    from starlette.exceptions import HTTPException

                    raise HTTPException(413, f"The file is larger than the {self.limit} byte limit")
            return message

        await self.app(scope, counting_receive, send)


def install(app: Any) -> None:
    app.add_middleware(UploadSizeLimit, limit=app.state.settings.media_max_bytes)
