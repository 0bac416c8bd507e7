"""Shared by the security and fuzz suites: one loopback server standing in for every outside
network (X, Instagram, LinkedIn at /x, /instagram, /linkedin; OpenRouter at /openrouter), the
layout `T21_SANDBOX_URL` expects, and a tiny valid PNG for media uploads."""

from __future__ import annotations

import base64
import contextlib
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
from fastapi import FastAPI

from t21.db.database import migrate
from t21.db.scratch import scratch_database
from t21.db.urls import libpq_url
from t21.emulators.base import Emulator, RunningServer

# 1x1 transparent PNG.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)
PLATFORMS = ("x", "instagram", "linkedin")
FAST_NETWORK_SETTINGS: dict[str, Any] = {"platform_poll_interval": 0.01, "platform_timeout_seconds": 2.0}


class Sandbox:
    """Every emulator behind one loopback uvicorn server (its own thread and event loop)."""

    def __init__(self) -> None:
        from t21.emulators import instagram, linkedin, openrouter, x

        self.apps = {
            "x": x.create_app(),
            "instagram": instagram.create_app(),
            "linkedin": linkedin.create_app(),
            "openrouter": openrouter.create_app(),
        }
        root = FastAPI()
        for name, app in self.apps.items():
            root.mount(f"/{name}", app)
        self.server = RunningServer(root)
        self.url = self.server.url

    def start(self) -> Sandbox:
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()

    def emulator(self, name: str) -> Emulator:
        emulator: Emulator = self.apps[name].state.emulator
        return emulator

    def reset(self) -> None:
        for name in self.apps:
            self.emulator(name).reset()

    def settings(self, **overrides: Any) -> dict[str, Any]:
        return {"sandbox_url": self.url, **FAST_NETWORK_SETTINGS, **overrides}


@contextlib.contextmanager
def own_database(server_url: str, prefix: str) -> Iterator[str]:
    """A fresh migrated database of our own on the server (not the shared per-run test database,
    whose tables the root conftest empties before each test), dropped on the way out."""
    with scratch_database(server_url, prefix) as url:
        migrate(url)
        yield url


def add_notification(database_url: str, user_id: str, title: str = "Hello") -> str:
    """A notification row for `user_id` (the app creates them from jobs; tests need one now)."""
    note = str(uuid.uuid4())
    with psycopg.connect(libpq_url(database_url), autocommit=True) as conn:
        conn.execute(
            "INSERT INTO notifications (id, user_id, kind, title) VALUES (%s, %s, 'test', %s)",
            (note, user_id, title),
        )
    return note
