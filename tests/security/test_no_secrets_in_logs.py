"""No plaintext secret in the logs of a whole journey, with T21's real logging (`t21 api` and
`t21 worker` processes, configure_logging, DEBUG level so every library speaks), in both log
formats (JSON for production, console for development).

The journey: register, login, refresh, API key created and used, password changed, brand, sandbox
X account connected (OAuth), a post published by the worker; then two requests that end in a 500
carrying secrets (a NUL byte, see tests/fuzz/test_hostile_input.py), because an error path is where
secrets leak (tracebacks with locals, driver errors quoting their parameters). Every password,
access and refresh token (and a JWT's signature alone), API key, social token, and the server's
own secret and encryption keys are searched for in everything both processes wrote.
(The database side, "no plaintext token in a dump", is tests/accounts/test_tokens.py.)"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from t21.emulators.base import free_port
from tests.conftest import PASSWORD, TEST_FERNET_KEY, Account
from tests.publishing.conftest import wait_for
from tests.security._support import Sandbox
from tests.security.conftest import connect_sandbox_account

SECRET_KEY = "log-test-secret-key-" + "q" * 40


def env_for(database_url: str, sandbox: Sandbox, tmp: Path, log_json: bool) -> dict[str, str]:
    return {
        **os.environ,
        "T21_DATABASE_URL": database_url,
        "T21_SECRET_KEY": SECRET_KEY,
        "T21_ENCRYPTION_KEYS": TEST_FERNET_KEY,
        "T21_SANDBOX_URL": sandbox.url,
        "T21_DATA_DIR": str(tmp),
        "T21_DEFAULT_TIER": "BUSINESS",
        "T21_BCRYPT_ROUNDS": "4",
        "T21_PLATFORM_POLL_INTERVAL": "0.01",
        "T21_PLATFORM_TIMEOUT_SECONDS": "2",
        "T21_WORKER_CONCURRENCY": "2",
        "T21_LOG_LEVEL": "DEBUG",
        "T21_LOG_JSON": "true" if log_json else "false",
        "T21_WEB_DIST_DIR": str(tmp / "no-web"),
    }


async def wait_up(url: str, process: subprocess.Popen[bytes]) -> None:
    async with httpx.AsyncClient() as http:
        for _ in range(300):
            assert process.poll() is None, "the API exited"
            try:
                await http.get(f"{url}/healthz", timeout=1)
                return
            except httpx.TransportError:
                await asyncio.sleep(0.1)
    raise AssertionError("the API did not start")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def journey(url: str, sandbox: Sandbox) -> list[str]:
    """Returns every secret the journey handled."""
    secrets: list[str] = [SECRET_KEY, TEST_FERNET_KEY, PASSWORD]
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        email = "logs@example.com"
        registered = await http.post(
            "/api/v1/auth/register", json={"email": email, "password": PASSWORD, "name": "L"}
        )
        assert registered.status_code == 201, registered.text
        person = Account(http, registered.json(), email)
        login = await http.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
        refreshed = await http.post(
            "/api/v1/auth/refresh", json={"refreshToken": login.json()["tokens"]["refreshToken"]}
        )
        assert refreshed.status_code == 200, refreshed.text
        for body in (registered.json(), login.json(), refreshed.json()):
            secrets += [body["tokens"]["accessToken"], body["tokens"]["refreshToken"]]
        person.access_token = refreshed.json()["tokens"]["accessToken"]
        key = await person.post(
            "/api/v1/api-keys", json={"name": "ci", "scopes": ["brands:read", "posts:write"]}
        )
        secrets.append(key.json()["key"])
        assert (
            await http.get("/api/v1/brands", headers={"Authorization": f"Bearer {key.json()['key']}"})
        ).status_code == 200
        new_password = "a much newer secret 42"
        changed = await person.post(
            "/api/v1/auth/password", json={"currentPassword": PASSWORD, "newPassword": new_password}
        )
        assert changed.status_code == 204, changed.text
        secrets.append(new_password)
        relogin = await http.post("/api/v1/auth/login", json={"email": email, "password": new_password})
        secrets += [relogin.json()["tokens"]["accessToken"], relogin.json()["tokens"]["refreshToken"]]
        person.access_token = relogin.json()["tokens"]["accessToken"]
        wrong = await http.post("/api/v1/auth/login", json={"email": email, "password": "wrong guess 12345"})
        assert wrong.status_code == 401
        secrets.append("wrong guess 12345")

        brand = await person.create_brand()
        await connect_sandbox_account(http, person, brand["id"], "x")
        secrets += list(sandbox.emulator("x").store.get("tokens", {}))
        post = await person.post(
            "/api/v1/posts",
            json={"brandId": brand["id"], "content": "logged", "platforms": ["x"], "scheduledFor": "now"},
        )
        assert post.status_code == 201, post.text

        async def published() -> bool:
            return (await person.get(f"/api/v1/posts/{post.json()['id']}")).json()["status"] == "PUBLISHED"

        await wait_for(published, timeout=60)

        # Error paths carrying secrets: a 500 while registering (password in the body) and while
        # the caller's bearer token is in the request.
        doomed = "doomed password 777"
        secrets.append(doomed)
        # (uvicorn closes the connection after an unhandled error: a fresh client for each)
        async with httpx.AsyncClient(base_url=url, timeout=30) as once:
            body = {"email": "x@example.com", "password": doomed, "name": "a\x00b"}
            assert (await once.post("/api/v1/auth/register", json=body)).status_code >= 400
        async with httpx.AsyncClient(base_url=url, timeout=30) as once:
            await once.post("/api/v1/brands", json={"name": "a\x00b"}, headers=person.headers)
    return [s for s in secrets if s]


@pytest.mark.slow
@pytest.mark.parametrize("log_json", [True, False], ids=["json", "console"])
async def test_a_whole_journey_logs_no_secret(database_url, tmp_path, fresh_sandbox, log_json) -> None:
    env = env_for(database_url, fresh_sandbox, tmp_path, log_json)
    port = free_port()
    api_log, worker_log = tmp_path / "api.log", tmp_path / "worker.log"
    with api_log.open("wb") as a_out, worker_log.open("wb") as w_out:
        api = subprocess.Popen(
            [sys.executable, "-m", "t21.cli", "api", "--port", str(port)], env=env, stdout=a_out, stderr=a_out
        )
        worker = subprocess.Popen(
            [sys.executable, "-m", "t21.cli", "worker"], env=env, stdout=w_out, stderr=w_out
        )
        try:
            url = f"http://127.0.0.1:{port}"
            await wait_up(url, api)
            secrets = await journey(url, fresh_sandbox)
        finally:
            stop(api)
            stop(worker)
    logs = api_log.read_text(errors="replace") + worker_log.read_text(errors="replace")
    assert "social_account_connected" in logs or "post" in logs  # the logs are really there
    leaks = []
    for secret in secrets:
        pieces = [secret]
        if secret.count(".") == 2 and secret.startswith("eyJ"):
            pieces.append(secret.rsplit(".", 1)[1])  # a JWT's signature alone is enough to replay it
        leaks += [piece[:12] + "…" for piece in pieces if piece in logs]
    assert not leaks, f"secrets in the {'JSON' if log_json else 'console'} logs: {leaks}"
