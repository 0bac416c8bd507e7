from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.conftest import AppFactory, client_for


@pytest.fixture
async def client(app_factory: AppFactory) -> AsyncIterator[httpx.AsyncClient]:
    """On a paid plan, so that API keys can be made whether or not billing is on."""
    async with client_for(await app_factory(default_tier="PRO")) as http:
        yield http
