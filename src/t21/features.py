"""Registry of the optional feature modules: their routers, start/stop hooks and middleware.

Keeps main.py stable while features land: each feature adds itself here in one line.
"""

from __future__ import annotations

import importlib
from typing import Any

from fastapi import APIRouter, FastAPI

# (module, attribute) pairs of routers mounted under /api/v1.
FEATURE_ROUTERS: list[tuple[str, str]] = [
    ("t21.posts.router", "router"),
    ("t21.social_accounts.router", "router"),
    ("t21.notifications.router", "router"),
    ("t21.notifications.router", "live_router"),
    ("t21.media.router", "router"),
    ("t21.ai.router", "router"),
    ("t21.billing.router", "router"),
    ("t21.analytics.router", "router"),
    ("t21.two_factor.router", "router"),
    ("t21.auth.sessions", "router"),
    ("t21.account.router", "router"),
    ("t21.admin.router", "router"),
]
# Modules exposing `async def start(app)` / `async def stop(app)`.
FEATURE_LIFECYCLES: list[str] = [
    "t21.kit.http",  # the API process's shared outbound client (app.state.http)
    "t21.cache",
    "t21.notifications.hub",
    "t21.ai.provider",
    "t21.billing.router",
]
# Modules exposing `def install(app)` to add middleware or non-API routes.
FEATURE_INSTALLERS: list[str] = [
    "t21.cache",
    "t21.jobs.health",
    "t21.social_accounts.sandbox",
    "t21.notifications.tasks",
    "t21.media.router",
    "t21.ai.provider",
]


def feature_routers() -> list[APIRouter]:
    return [getattr(importlib.import_module(module), attribute) for module, attribute in FEATURE_ROUTERS]


def install_feature_middleware(app: FastAPI) -> None:
    for module in FEATURE_INSTALLERS:
        importlib.import_module(module).install(app)


async def start_features(app: FastAPI) -> None:
    for module in FEATURE_LIFECYCLES:
        await importlib.import_module(module).start(app)


async def stop_features(app: FastAPI) -> None:
    for module in reversed(FEATURE_LIFECYCLES):
        mod: Any = importlib.import_module(module)
        await mod.stop(app)
