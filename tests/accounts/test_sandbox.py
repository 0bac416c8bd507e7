"""The sandbox end to end: the whole app served by uvicorn with no network credentials, its
in-app emulators mounted at /sandbox/<network>, and a browser-like client walking the flow."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import text
from tests.accounts.conftest import PLATFORMS
from tests.conftest import make_settings

from t21.emulators.base import RunningServer, free_port
from t21.main import create_app
from t21.social_accounts.tasks import refresh_expiring_tokens
from t21.social_accounts.tokens import read_tokens


@pytest.fixture
def served(database_url: str, tmp_path: Path) -> Iterator[tuple[RunningServer, Any]]:
    port = free_port()
    settings = make_settings(
        database_url, tmp_path, public_url=f"http://127.0.0.1:{port}", platform_poll_interval=0.01
    )
    # No database passed: the served app opens its own in its own event loop (uvicorn's thread).
    app = create_app(settings)
    with RunningServer(app, port=port) as server:
        yield server, app


async def test_sandbox_connect_flow_over_real_http(register, served, db) -> None:
    server, app = served
    async with httpx.AsyncClient(base_url=server.url, follow_redirects=True, timeout=20) as browser:
        owner = await register(on=browser)
        brand = await owner.create_brand()
        networks = (await owner.get("/api/v1/social-accounts/networks")).json()["data"]
        assert all(n["sandbox"] for n in networks)

        for platform in PLATFORMS:
            started = (
                await owner.get(
                    f"/api/v1/social-accounts/connect/{platform}", params={"brandId": brand["id"]}
                )
            ).json()
            assert started["sandbox"] is True
            assert started["authorizationUrl"].startswith(f"{server.url}/sandbox/{platform}/")
            landing = await browser.get(started["authorizationUrl"])
            # The in-app emulator approved and sent the browser to the callback, which answered
            # with the web app's accounts page.
            hops = [urlsplit(str(r.url)).path for r in landing.history]
            assert hops[0].startswith(f"/sandbox/{platform}/")
            assert hops[1] == f"/api/v1/social-accounts/callback/{platform}"
            final = urlsplit(str(landing.url))
            assert final.path == "/accounts"
            assert parse_qs(final.query)["connected"] == [platform]

        accounts = (await owner.get("/api/v1/social-accounts")).json()["data"]
        assert sorted(a["platform"] for a in accounts) == sorted(PLATFORMS)
        assert all(a["isSandbox"] and a["status"] == "CONNECTED" for a in accounts)
        # The sandbox emulators are the mounted ones, and they issued the tokens.
        x_account = next(a for a in accounts if a["platform"] == "x")
        x_emulator = app.state.sandbox_apps["x"].state.emulator
        assert len(x_emulator.requests_to("POST", "/2/oauth2/token")) == 1

        # The token job renews a sandbox token through the mounted emulator too.
        async with db.sessionmaker() as session:
            await session.execute(
                text("UPDATE social_accounts SET token_expires_at = :at WHERE id = :id"),
                {"at": datetime.now(UTC) + timedelta(minutes=5), "id": x_account["id"]},
            )
            await session.commit()
        from t21.jobs.context import JobResources
        from t21.social_accounts.models import SocialAccount

        settings = app.state.settings
        async with httpx.AsyncClient() as http:
            outcome = await refresh_expiring_tokens(JobResources(settings=settings, db=db, http=http))
        assert outcome.refreshed == 1, outcome
        async with db.sessionmaker() as session:
            account = await session.get(SocialAccount, x_account["id"])
            assert account is not None
            assert read_tokens(settings, account).access_token in {
                t.value for t in x_emulator.store["tokens"].values() if not t.revoked
            }

        # Removing it revokes at the sandbox.
        assert (await owner.delete(f"/api/v1/social-accounts/{x_account['id']}")).status_code == 204
        assert len((await owner.get("/api/v1/social-accounts")).json()["data"]) == 2
