"""The fuzz suite's world: T21 (the app exactly as served, its own lifespan and database pool in
schemathesis' ASGI event loop) on a database of its own, every outside network (X, Instagram,
LinkedIn, OpenRouter, Stripe) emulated on loopback, and per operation a fresh tenant with one of
everything, so generated requests carrying real ids get past the 404s."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from t21.emulators.base import RunningServer
from tests.conftest import PASSWORD, make_settings
from tests.security._support import PNG, Sandbox, add_notification, own_database

STRIPE_KEY = "sk_test_fuzz"
WEBHOOK_SECRET = "whsec_fuzz"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "fuzz: property-based fuzzing of the whole OpenAPI (schemathesis)")


@pytest.fixture(scope="session")
def fuzz_sandbox() -> Iterator[Sandbox]:
    sandbox = Sandbox().start()
    yield sandbox
    sandbox.stop()


@pytest.fixture(scope="session")
def fuzz_stripe() -> Iterator[RunningServer]:
    from t21.emulators.stripe import create_app

    with RunningServer(create_app(webhook_secret=WEBHOOK_SECRET)) as server:
        yield server


@pytest.fixture(scope="session")
def fuzz_database(pg_server_url: str) -> Iterator[str]:
    with own_database(pg_server_url, "t21_fuzz") as url:
        yield url


@pytest.fixture(scope="session")
def fuzz_app(
    fuzz_database: str,
    fuzz_sandbox: Sandbox,
    fuzz_stripe: RunningServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Any]:
    """The app with its own lifespan (database pool, AI client, notification hub) started in
    schemathesis' ASGI portal; rate limits on but far above what the fuzzer sends."""
    from schemathesis.python import asgi

    from t21.emulators.stripe import DEFAULT_PRICE_BUSINESS, DEFAULT_PRICE_PRO
    from t21.main import create_app

    tmp: Path = tmp_path_factory.mktemp("fuzz")
    settings = make_settings(
        fuzz_database,
        tmp,
        default_tier="BUSINESS",
        rate_limit_auth="100000/minute",
        rate_limit_default="100000/minute",
        rate_limit_anonymous="100000/minute",
        stripe_secret_key=STRIPE_KEY,
        stripe_webhook_secret=WEBHOOK_SECRET,
        stripe_api_base=fuzz_stripe.url,
        stripe_price_pro=DEFAULT_PRICE_PRO,
        stripe_price_business=DEFAULT_PRICE_BUSINESS,
        **fuzz_sandbox.settings(),
    )
    app = create_app(settings)
    with asgi.get_client(app):  # starts the lifespan once, for the whole session
        yield app
    asgi.shutdown_lifespans()


@dataclass
class Tenant:
    """One registered person with one of everything; `ids` maps path parameter names to ids."""

    token: str
    user_id: str
    ids: dict[str, str] = field(default_factory=dict)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def _ok(response: Any, *codes: int) -> Any:
    assert response.status_code in codes, f"{response.request.method} {response.url}: {response.text}"
    return response.json() if response.content else None


def seed_tenant(client: Any, database_url: str) -> Tenant:
    """Through the API (a requests-like session on the app): register, brand, organisation with an
    invitation, API key, a sandbox X account (the OAuth dance), media, an AI generation, a post,
    and a notification."""
    email = f"fuzz-{uuid.uuid4().hex[:10]}@example.com"
    body = _ok(
        client.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD, "name": "Fuzz"}), 201
    )
    tenant = Tenant(token=body["tokens"]["accessToken"], user_id=body["user"]["id"])
    h = tenant.headers
    brand = _ok(
        client.post("/api/v1/brands", headers=h, json={"name": "Fuzz brand", "toneOfVoice": "dry"}), 201
    )
    org = _ok(client.post("/api/v1/organizations", headers=h, json={"name": "Fuzz org"}), 201)
    invite = _ok(
        client.post(
            f"/api/v1/organizations/{org['id']}/invitations",
            headers=h,
            json={"email": f"invitee-{uuid.uuid4().hex[:6]}@example.com", "role": "viewer"},
        ),
        201,
    )
    key = _ok(client.post("/api/v1/api-keys", headers=h, json={"name": "k", "scopes": ["brands:read"]}), 201)
    started = _ok(
        client.get("/api/v1/social-accounts/connect/x", headers=h, params={"brandId": brand["id"]}), 200
    )
    with httpx.Client(follow_redirects=False, timeout=10) as browser:
        approve = browser.get(started["authorizationUrl"])
    callback = urlsplit(approve.headers["location"])
    account = _ok(
        client.get(f"{callback.path}?{callback.query}", headers={"Accept": "application/json", **h}), 200
    )
    media = _ok(
        client.post(
            "/api/v1/media",
            headers=h,
            files={"file": ("a.png", PNG, "image/png")},
            data={"brandId": brand["id"]},
        ),
        201,
    )
    generation = _ok(
        client.post(
            "/api/v1/ai/generate-content",
            headers=h,
            json={"brandId": brand["id"], "prompt": "Our new roast", "platform": "x"},
        ),
        200,
    )
    post = _ok(
        client.post(
            "/api/v1/posts",
            headers=h,
            json={"brandId": brand["id"], "content": "Hello from the fuzzer", "platforms": ["x"]},
        ),
        201,
    )
    tenant.ids = {
        "brand_id": brand["id"],
        "org_id": org["id"],
        "invitation_id": invite["id"],
        "user_id": tenant.user_id,
        "key_id": key["id"],
        "account_id": account["id"],
        "media_id": media["id"],
        "generation_id": generation_id(generation),
        "post_id": post["id"],
        "notification_id": add_notification(database_url, tenant.user_id),
        "platform": "x",
    }
    return tenant


def generation_id(result: dict[str, Any]) -> str:
    for key in ("generationId", "id"):
        if isinstance(result.get(key), str):
            return str(result[key])
    generation = result.get("generation")
    if isinstance(generation, dict) and isinstance(generation.get("id"), str):
        return str(generation["id"])
    raise AssertionError(f"no generation id in {result}")
