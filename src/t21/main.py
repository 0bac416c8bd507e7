"""The application factory: mounts /api/v1, health, and the built web app."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.responses import FileResponse, JSONResponse

from t21 import __version__
from t21.config import Settings, get_settings
from t21.db.database import Database
from t21.errors import install_error_handlers
from t21.observability import RequestIdMiddleware

API_PREFIX = "/api/v1"
Lifecycle = Any  # objects with async start(app) / stop(app), e.g. the in-process worker


def _include_api_routers(app: FastAPI) -> None:
    """Every feature router straight on the app under /api/v1: FastAPI matches a request by
    walking included routers, so one level fewer is cheaper on every request."""
    from t21.auth.router import api_keys_router
    from t21.auth.router import router as auth_router
    from t21.brands.router import router as brands_router
    from t21.features import feature_routers
    from t21.organizations.router import invitations_router
    from t21.organizations.router import router as organizations_router

    core = [auth_router, api_keys_router, organizations_router, invitations_router]
    features = feature_routers()
    # Matching walks the routers in order: the most frequent calls (the web app's brand list, the
    # posts calendar, AI drafting) come first. No two routers share a prefix, so order changes
    # nothing else.
    hot = [brands_router, *[r for r in features if r.prefix in ("/posts", "/ai")]]
    for router in [*hot, *core, *[r for r in features if r not in hot]]:
        app.include_router(router, prefix=API_PREFIX)


def _default_web_dist() -> Path:
    return Path(__file__).resolve().parents[2] / "web" / "dist"


def _mount_web(app: FastAPI, dist: Path) -> None:
    """Serve the single-page app: real files as they are, every other non-API path → index.html."""
    index = dist / "index.html"
    if not index.exists():

        @app.get("/", include_in_schema=False)
        async def _no_web() -> JSONResponse:
            return JSONResponse(
                {
                    "name": "T21",
                    "version": __version__,
                    "api": API_PREFIX,
                    "docs": "/api/docs",
                    "web": "not built (run `make web`)",
                }
            )

        return
    from t21.web_assets import HashedAssets, is_source_map

    app.mount("/assets", HashedAssets(directory=dist / "assets", check_dir=False), name="assets")

    @app.get("/{path:path}", include_in_schema=False)
    def _spa(path: str) -> Any:  # sync: FastAPI runs it in a thread, so the file checks don't block
        if path.startswith("api/") or is_source_map(path):
            return JSONResponse({"error": "Not found", "code": "not_found", "details": None}, status_code=404)
        candidate = (dist / path).resolve()
        if path and candidate.is_file() and dist.resolve() in candidate.parents:
            return FileResponse(candidate)
        return FileResponse(index, headers={"Cache-Control": "no-cache"})


def _install_http_middleware(app: FastAPI, settings: Settings) -> None:
    """Outermost last: request id → security headers → CORS → rate limit → body limit → timeout."""
    from fastapi.middleware.cors import CORSMiddleware

    from t21.http_hygiene import BodyLimitMiddleware, SecurityHeadersMiddleware, TimeoutMiddleware
    from t21.ratelimit import RateLimiter, RateLimitMiddleware

    app.add_middleware(TimeoutMiddleware, seconds=settings.request_timeout_seconds)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_request_bytes)
    if settings.rate_limit_enabled:
        app.state.rate_limiter = RateLimiter(settings)
        app.add_middleware(RateLimitMiddleware, limiter=app.state.rate_limiter)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_credentials=True,
            allow_methods=["GET", "POST", "PATCH", "PUT", "DELETE", "OPTIONS"],
            allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "X-Request-ID"],
            expose_headers=["X-Request-ID", "Retry-After", "RateLimit-Limit", "RateLimit-Remaining"],
        )
    app.add_middleware(SecurityHeadersMiddleware, hsts=settings.base_url.startswith("https://"))
    from t21.metrics import install as install_metrics

    install_metrics(app)
    app.add_middleware(RequestIdMiddleware)


_frozen = False


def _freeze_startup_objects() -> None:
    """Everything alive once the first app has started (modules, routes, schemas, compiled
    statements) lives as long as the process: move it out of the collector's sight, so a full
    collection walks only what requests allocate (it walked ~100 MB and paused requests for
    100+ ms). Once per process (tests start many apps)."""
    global _frozen
    if not _frozen:
        _frozen = True
        gc.collect()
        gc.freeze()


def create_app(
    settings: Settings | None = None,
    *,
    database: Database | None = None,
    lifecycles: list[Lifecycle] | None = None,
) -> FastAPI:
    settings = settings or get_settings()
    extra = lifecycles or []

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owns_db = getattr(app.state, "db", None) is None
        if owns_db:
            app.state.db = Database.connect(settings)
        from t21.features import start_features, stop_features

        await start_features(app)
        for item in extra:
            await item.start(app)
        _freeze_startup_objects()
        try:
            yield
        finally:
            for item in reversed(extra):
                await item.stop(app)
            await stop_features(app)
            if owns_db:
                await app.state.db.dispose()

    app = FastAPI(
        title="T21 API",
        version=__version__,
        description=(
            "Social-media management: brands, AI drafting, scheduling, publishing, analytics, billing."
        ),
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    if database is not None:
        app.state.db = database
    install_error_handlers(app)
    from t21.health import router as health_router

    app.include_router(health_router)
    _include_api_routers(app)
    from t21.features import install_feature_middleware

    install_feature_middleware(app)
    _install_http_middleware(app, settings)
    _mount_web(app, settings.web_dist_dir or _default_web_dist())
    return app
