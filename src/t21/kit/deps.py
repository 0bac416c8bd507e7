"""Dependencies shared by every feature."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from t21.config import Settings
from t21.kit.routing import get_session


async def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SessionDep = Annotated[AsyncSession, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]


@asynccontextmanager
async def read_session(request: Request) -> AsyncIterator[AsyncSession]:
    """For read-only work: a session on T21_DATABASE_REPLICA_URL when one is configured (a replica
    may lag by a moment; only lists and analytics use it), otherwise an autocommit session on the
    primary (no BEGIN/COMMIT round trips)."""
    async with request.app.state.db.read_sessionmaker() as session:
        yield session


async def get_read_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with read_session(request) as session:
        yield session


ReadSessionDep = Annotated[AsyncSession, Depends(get_read_session)]
