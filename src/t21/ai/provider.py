"""Which model provider T21 talks to, and the one client every AI request shares.

The rule (also in `AIStatus`'s description, which the API docs show):

1. `T21_OPENROUTER_API_KEY` set → `T21_OPENROUTER_BASE_URL` (OpenRouter by default) with that key.
2. No key, but `T21_OPENROUTER_BASE_URL` set explicitly → a keyless OpenAI-compatible server
   (Ollama, vLLM, llama.cpp), called as is.
3. Neither → the OpenRouter emulator, so a fresh install drafts posts out of the box and says so:
   at `T21_SANDBOX_URL`/openrouter when the sandbox runs elsewhere (`t21 emulate`), otherwise
   mounted in this app at /sandbox/openrouter and reached in-process.
4. Neither, and `T21_SANDBOX_ENABLED=false` → not configured: AI calls answer 503 without trying.

Registered in `t21.features` as an installer (mounts the emulator) and a lifecycle (opens and
closes the shared client: one connection pool per process keeps our overhead per call small).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

import httpx
from fastapi import FastAPI, Request
from starlette._utils import get_route_path
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from t21.config import Settings
from t21.integrations.openrouter import OpenRouterClient
from t21.kit.http import http_client

SANDBOX_MOUNT = "/sandbox/openrouter"
# The emulator's control routes script faults and delays: tests reach them through
# `app.state.ai_emulator_app`, a served T21 never exposes them.
CONTROL_PREFIX = "/_emulator"


class _WithoutControlRoutes:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and get_route_path(scope).startswith(CONTROL_PREFIX):
            response = JSONResponse({"error": "Not found", "code": "not_found", "details": None}, 404)
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


@dataclass(frozen=True)
class ProviderInfo:
    kind: Literal["openrouter", "emulator"]
    base_url: str
    emulated: bool
    configured: bool
    # The emulator is mounted in this very app and called without a network hop.
    in_app: bool
    message: str


def resolve_provider(settings: Settings) -> ProviderInfo:
    if settings.openrouter_api_key is not None:
        return ProviderInfo(
            "openrouter",
            settings.openrouter_base_url,
            emulated=False,
            configured=True,
            in_app=False,
            message=f"AI drafts come from {settings.openrouter_base_url} with model {settings.ai_model}.",
        )
    # pydantic-settings counts values from the environment as set, so this tells an operator's
    # T21_OPENROUTER_BASE_URL from the default.
    if "openrouter_base_url" in settings.model_fields_set:
        return ProviderInfo(
            "openrouter",
            settings.openrouter_base_url,
            emulated=False,
            configured=True,
            in_app=False,
            message=(
                f"AI drafts come from the OpenAI-compatible server at {settings.openrouter_base_url} "
                f"(no API key) with model {settings.ai_model}."
            ),
        )
    if not settings.sandbox_enabled:
        return ProviderInfo(
            "openrouter",
            settings.openrouter_base_url,
            emulated=False,
            configured=False,
            in_app=False,
            message="AI is not configured: set T21_OPENROUTER_API_KEY (or T21_OPENROUTER_BASE_URL for a "
            "self-hosted model server) to draft posts.",
        )
    return ProviderInfo(
        "emulator",
        f"{settings.sandbox_base}/openrouter",
        emulated=True,
        configured=True,
        in_app=settings.sandbox_url is None,
        message=(
            "No OpenRouter API key is configured, so T21 runs on its built-in emulator: drafts are "
            "deterministic stand-ins, not real AI output, and cost nothing. Set T21_OPENROUTER_API_KEY "
            "to use a real model."
        ),
    )


def install(app: FastAPI) -> None:
    """Mount the emulator when it stands in for the provider (rule 3)."""
    info = resolve_provider(app.state.settings)
    if not info.in_app:
        return
    from t21.emulators.openrouter import create_app

    emulator = create_app()
    app.state.ai_emulator_app = emulator
    app.mount(SANDBOX_MOUNT, _WithoutControlRoutes(emulator), name="openrouter-sandbox")


# Every generation in flight holds one connection to the provider for as long as the model writes,
# so the pool keeps as many alive as run at once (fewer would make calls beyond it wait, and
# reconnecting costs a TLS handshake to OpenRouter).
PROVIDER_CONNECTIONS = 256


def provider_http() -> httpx.AsyncClient:
    """The HTTP client for a provider reached over the network (timeouts are set per request;
    t21.kit.http says why aiohttp's pool and how its errors are mapped)."""
    return http_client(max_connections=PROVIDER_CONNECTIONS)


def build_client(app: FastAPI) -> OpenRouterClient:
    settings: Settings = app.state.settings
    info = resolve_provider(settings)
    if info.in_app:
        # Calling ourselves over the network would need an address this process can reach
        # (public_url may sit behind a proxy, or be a test host): talk to the mounted app
        # directly. root_path makes the emulator see the same paths as an outside caller.
        root_path = urlsplit(info.base_url).path
        transport = httpx.ASGITransport(app=app.state.ai_emulator_app, root_path=root_path)
        http = httpx.AsyncClient(transport=transport)
    else:
        http = provider_http()
    # The client does not close an HTTP client it was given, so stop() closes this one.
    app.state.ai_http = http
    if info.kind == "openrouter":
        return OpenRouterClient.from_settings(settings, base_url=info.base_url, http=http)
    return OpenRouterClient.from_settings(settings, base_url=info.base_url, api_key=None, http=http)


async def start(app: FastAPI) -> None:
    app.state.ai_client = build_client(app)


async def stop(app: FastAPI) -> None:
    client: OpenRouterClient | None = getattr(app.state, "ai_client", None)
    http: httpx.AsyncClient | None = getattr(app.state, "ai_http", None)
    app.state.ai_client = app.state.ai_http = None
    if client is not None:
        await client.aclose()
    if http is not None:
        await http.aclose()


def get_ai_client(request: Request) -> OpenRouterClient:
    client: OpenRouterClient | None = getattr(request.app.state, "ai_client", None)
    if client is None:
        # An app served without its lifespan (some test transports): build it on first use.
        client = build_client(request.app)
        request.app.state.ai_client = client
    return client
