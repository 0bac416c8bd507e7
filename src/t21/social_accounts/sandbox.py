"""The sandbox: T21's own emulators of X, Instagram and LinkedIn, mounted in the app at
/sandbox/<network>, so a server without network credentials can still connect (labelled sandbox)
accounts and publish to them end to end.

The connectors reach the sandbox over HTTP at `settings.sandbox_base` (`{base_url}/sandbox`,
see `tokens.connector_for`), exactly as they reach a real network. When `T21_SANDBOX_URL` points
at emulators served elsewhere (`t21 emulate`), nothing is mounted here.

Each emulator keeps its state in the memory of this process: with several API instances, give
them one `T21_SANDBOX_URL` instead.
"""

from __future__ import annotations

import importlib
from typing import Any

from fastapi import FastAPI
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from t21.config import Settings
from t21.enums import Platform

SANDBOX_PREFIX = "/sandbox"
# The emulators' control routes reset state, inject faults and revoke tokens: for tests and
# `t21 emulate` only, never reachable on a served T21.
CONTROL_PREFIX = "/_emulator"


class HideControlRoutes:
    """Wraps an emulator app and answers 404 for its control routes."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path: str = scope["path"]
            root: str = scope.get("root_path", "")
            # Mounted apps see the full path with the mount point in root_path.
            route_path = path[len(root) :] if root and path.startswith(root) else path
            if route_path == CONTROL_PREFIX or route_path.startswith(CONTROL_PREFIX + "/"):
                response = JSONResponse(
                    {"error": "Not found", "code": "not_found", "details": None}, status_code=404
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def emulator_app(platform: Platform) -> Any:
    module = importlib.import_module(f"t21.emulators.{platform.value}")
    return module.create_app()


def mounts_in_app(settings: Settings) -> bool:
    return settings.sandbox_enabled and not settings.sandbox_url


def install(app: FastAPI) -> None:
    settings: Settings = app.state.settings
    app.state.sandbox_apps = {}
    if not mounts_in_app(settings):
        return
    for platform in Platform:
        emulator = emulator_app(platform)
        # Kept reachable for tests and diagnostics (app.state.sandbox_apps["x"].state.emulator).
        app.state.sandbox_apps[platform.value] = emulator
        app.mount(
            f"{SANDBOX_PREFIX}/{platform.value}",
            HideControlRoutes(emulator),
            name=f"sandbox-{platform.value}",
        )
