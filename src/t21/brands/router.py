from __future__ import annotations

import uuid

from fastapi import Depends, Query, Request, Response, status

from t21.auth.dependencies import Principal, require_caller, scoped
from t21.auth.scopes import Scope
from t21.brands.schemas import BrandCreate, BrandOut, BrandUpdate
from t21.brands.service import BrandService
from t21.cache import cache_of
from t21.kit.deps import SessionDep, SettingsDep, read_session
from t21.kit.routing import make_router
from t21.kit.schemas import ListResponse

router = make_router(prefix="/brands", tags=["brands"])


@router.get("", response_model=ListResponse[BrandOut])
async def list_brands(
    request: Request,
    organization_id: uuid.UUID | None = Query(default=None, alias="organizationId"),
    personal: bool = Query(default=False, description="Only the caller's personal brands"),
) -> Response:
    principal = await require_caller(request, Scope.brands_read)
    # The web app asks for this on every page: answered from the hot cache (already serialised)
    # without touching the database when nothing changed.
    cache = cache_of(request)
    key = f"brands:{organization_id or '-'}:{int(personal)}"
    body = cache.get(principal.user_id, key)
    if body is None:
        stamp = cache.stamp(principal.user_id)
        async with read_session(request) as session:
            brands = await BrandService(session, request.app.state.settings).list_visible(
                principal.user_id, organization_id, personal
            )
        body = ListResponse[BrandOut](data=brands).model_dump_json(by_alias=True).encode()
        cache.put(principal.user_id, key, body, stamp)
    return Response(body, media_type="application/json")


@router.post("", status_code=status.HTTP_201_CREATED, response_model=BrandOut)
async def create_brand(
    request: Request,
    body: BrandCreate,
    session: SessionDep,
    settings: SettingsDep,
    principal: Principal = Depends(scoped(Scope.brands_write)),
) -> BrandOut:
    return await BrandService(session, settings, cache_of(request)).create(principal.user, body)


@router.get("/{brand_id}", response_model=BrandOut)
async def get_brand(
    brand_id: uuid.UUID,
    session: SessionDep,
    settings: SettingsDep,
    principal: Principal = Depends(scoped(Scope.brands_read)),
) -> BrandOut:
    return await BrandService(session, settings).get(principal.user, brand_id)


@router.patch("/{brand_id}", response_model=BrandOut)
async def update_brand(
    request: Request,
    brand_id: uuid.UUID,
    body: BrandUpdate,
    session: SessionDep,
    settings: SettingsDep,
    principal: Principal = Depends(scoped(Scope.brands_write)),
) -> BrandOut:
    return await BrandService(session, settings, cache_of(request)).update(principal.user, brand_id, body)


@router.delete("/{brand_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_brand(
    request: Request,
    brand_id: uuid.UUID,
    session: SessionDep,
    settings: SettingsDep,
    principal: Principal = Depends(scoped(Scope.brands_write)),
) -> Response:
    await BrandService(session, settings, cache_of(request)).delete(principal.user, brand_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
