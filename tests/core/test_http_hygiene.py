"""Rate limits, security headers, CORS, body limits, timeouts."""

from __future__ import annotations

import asyncio
import os

import pytest

from tests.conftest import PASSWORD, assert_error, client_for


async def test_login_brute_force_is_429_with_retry_after(app_factory, register) -> None:
    app = await app_factory(rate_limit_auth="5/minute")
    async with client_for(app) as http:
        account = await register(on=http)
        codes = []
        for _ in range(7):
            response = await http.post(
                "/api/v1/auth/login", json={"email": account.email, "password": "wrong-password"}
            )
            codes.append(response.status_code)
        # Each auth endpoint has its own per-IP window: registering did not use up login attempts.
        assert codes == [401, 401, 401, 401, 401, 429, 429]
        body = assert_error(response, 429, "rate_limited")
        assert int(response.headers["Retry-After"]) >= 1
        assert body["details"]["retryAfter"] == int(response.headers["Retry-After"])
        # Even the right password waits: the limit is on the endpoint, not on failures.
        right = await http.post("/api/v1/auth/login", json={"email": account.email, "password": PASSWORD})
        assert right.status_code == 429
        # Other endpoints are limited separately (per caller, not per IP).
        assert (await account.get("/api/v1/auth/me")).status_code == 200


async def test_per_caller_limit(app_factory, register) -> None:
    app = await app_factory(rate_limit_default="3/minute")
    async with client_for(app) as http:
        alice = await register(on=http)
        bob = await register(on=http)
        codes = [(await alice.get("/api/v1/brands")).status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        assert (await bob.get("/api/v1/brands")).status_code == 200
        assert (await http.get("/healthz")).status_code == 200  # health is never limited


@pytest.mark.redis
async def test_limits_are_shared_through_redis_and_survive_its_loss(app_factory, register) -> None:
    url = os.environ.get("T21_TEST_REDIS_URL")
    if not url:
        pytest.skip("T21_TEST_REDIS_URL is not set: no Redis to share counters through")
    import redis.asyncio as redis_async

    client = redis_async.from_url(url)
    try:
        await client.ping()
    except Exception:
        pytest.skip(f"no Redis answering at {url}")
    await client.flushdb()
    first = await app_factory(redis_url=url, rate_limit_default="4/minute")
    second = await app_factory(redis_url=url, rate_limit_default="4/minute")
    async with client_for(first) as a, client_for(second) as b:
        alice = await register(on=a)
        codes = []
        for i in range(5):
            http = a if i % 2 == 0 else b
            codes.append((await http.get("/api/v1/brands", headers=alice.headers)).status_code)
        # Two instances, one counter.
        assert codes == [200, 200, 200, 200, 429]
        assert first.state.rate_limiter.backend == "redis"
    # Redis unreachable: the API keeps serving on local counters.
    broken = await app_factory(redis_url="redis://127.0.0.1:1/0", rate_limit_default="100/minute")
    async with client_for(broken) as http:
        bob = await register(on=http)
        assert (await http.get("/api/v1/brands", headers=bob.headers)).status_code == 200
        assert broken.state.rate_limiter.backend == "memory"
    await client.aclose()


async def test_security_headers(client) -> None:
    response = await client.get("/healthz")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert "x-request-id" in response.headers


async def test_cors_allow_list(app_factory) -> None:
    app = await app_factory(cors_origins=["https://app.example.com"])
    async with client_for(app) as http:
        ok = await http.options(
            "/api/v1/brands",
            headers={"Origin": "https://app.example.com", "Access-Control-Request-Method": "GET"},
        )
        assert ok.headers.get("access-control-allow-origin") == "https://app.example.com"
        evil = await http.options(
            "/api/v1/brands",
            headers={"Origin": "https://evil.example.com", "Access-Control-Request-Method": "GET"},
        )
        assert "access-control-allow-origin" not in evil.headers


async def test_body_too_large_is_413(app_factory) -> None:
    app = await app_factory(max_request_bytes=1000)
    async with client_for(app) as http:
        response = await http.post(
            "/api/v1/auth/register",
            content=b"{" + b" " * 2000 + b"}",
            headers={"Content-Type": "application/json"},
        )
        body = assert_error(response, 413, "payload_too_large")
        assert body["details"]["limit"] == 1000

        async def chunks():
            for _ in range(5):
                yield b" " * 400

        streamed = await http.post(
            "/api/v1/auth/register", content=chunks(), headers={"Content-Type": "application/json"}
        )
        assert streamed.status_code == 413


async def test_slow_request_times_out_with_504(app_factory) -> None:
    from t21.kit.routing import make_router

    app = await app_factory(request_timeout_seconds=0.2)
    router = make_router()

    @router.get("/api/v1/_slow")
    async def slow() -> dict[str, str]:
        await asyncio.sleep(2)
        return {"ok": "late"}

    app.include_router(router)
    async with client_for(app) as http:
        assert_error(await http.get("/api/v1/_slow"), 504, "request_timeout")


async def test_metrics_expose_latency_by_route_and_job_state(client, register, db) -> None:
    from sqlalchemy import text

    alice = await register()
    brand = await alice.create_brand()
    await alice.get(f"/api/v1/brands/{brand['id']}")
    async with db.engine.begin() as conn:
        # Only this test's job: the sign-up's verification email job is not its business.
        await conn.execute(text("DELETE FROM procrastinate_jobs"))
        await conn.execute(
            text(
                "INSERT INTO procrastinate_jobs (queue_name, task_name, args, status, scheduled_at) "
                "VALUES ('publish', 't21.publish_social_post', '{}', 'todo', now())"
            )
        )
    body = (await client.get("/metrics")).text
    # Route templates, never raw ids.
    assert 'route="/api/v1/brands/{brand_id}"' in body and brand["id"] not in body
    assert 't21_jobs{queue="publish",state="todo"} 1.0' in body
    assert "t21_queue_depth 1.0" in body
    assert "t21_worker_heartbeat_age_seconds" in body and "t21_ai_tokens" in body
