"""Errors, health, OpenAPI, settings, migrations."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from t21.config import MissingSecretsError, Settings, finalise
from tests.conftest import ROOT, assert_error


async def test_unknown_route_is_json_404(client) -> None:
    assert_error(await client.get("/api/v1/nope"), 404, "not_found")


async def test_method_not_allowed_is_json(client) -> None:
    assert_error(await client.put("/api/v1/auth/login", json={}), 405, "method_not_allowed")


async def test_unexpected_error_is_500_with_request_id_and_no_internals(app, client) -> None:
    from t21.kit.routing import make_router

    router = make_router()

    @router.get("/api/v1/_boom")
    async def boom() -> None:
        raise RuntimeError("secret internal detail")

    app.include_router(router)
    response = await client.get("/api/v1/_boom")
    body = assert_error(response, 500, "internal_error")
    assert "secret internal detail" not in response.text and "Traceback" not in response.text
    assert body["details"]["requestId"] == response.headers["x-request-id"]


async def test_health_and_ready(client) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.json()["checks"]["database"]["ok"] is True
    # No worker runs in this test: readiness says so instead of hiding it.
    assert ready.status_code == 503
    assert ready.json()["checks"]["worker"] == {
        "ok": False,
        "detail": ready.json()["checks"]["worker"]["detail"],
    }
    assert "t21 worker" in ready.json()["checks"]["worker"]["detail"]


async def test_readyz_fails_when_database_is_unreachable(app_factory, tmp_path) -> None:
    from t21.db.database import Database
    from t21.main import create_app
    from tests.conftest import client_for, make_settings

    settings = make_settings("postgresql://postgres@127.0.0.1:1/none", tmp_path)
    app = create_app(settings, database=Database.connect(settings, "postgresql://postgres@127.0.0.1:1/none"))
    async with client_for(app) as http:
        response = await http.get("/readyz")
        login = await http.post(
            "/api/v1/auth/login", json={"email": "a@example.com", "password": "whatever1"}
        )
    assert response.status_code == 503
    assert response.json()["checks"]["database"]["ok"] is False
    # A database outage is a 503 to retry, not a 500 bug report.
    assert_error(login, 503, "service_unavailable")
    assert login.headers["retry-after"] == "5"


async def test_openapi_declares_error_shape(client) -> None:
    spec = (await client.get("/api/v1/openapi.json")).json()
    login = spec["paths"]["/api/v1/auth/login"]["post"]["responses"]
    assert login["401"]["content"]["application/json"]["schema"]["$ref"].endswith("ErrorResponse")
    assert "accessToken" in str(spec["components"]["schemas"]["TokensOut"])
    assert (await client.get("/api/docs")).status_code == 200


def test_production_refuses_to_start_without_secrets(tmp_path: Path) -> None:
    with pytest.raises(MissingSecretsError) as info:
        finalise(Settings(env="production", data_dir=tmp_path))  # type: ignore[arg-type]
    assert {"T21_SECRET_KEY", "T21_ENCRYPTION_KEYS", "T21_DATABASE_URL"} <= set(info.value.names)


def test_development_generates_secrets_once(tmp_path: Path) -> None:
    first = finalise(Settings(data_dir=tmp_path))
    second = finalise(Settings(data_dir=tmp_path))
    assert first.jwt_secret == second.jwt_secret and len(first.jwt_secret) > 40
    assert first.fernet_keys == second.fernet_keys
    assert (tmp_path / "secrets.json").stat().st_mode & 0o077 == 0


def test_cli_openapi_prints_the_spec() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "t21.cli", "openapi"], capture_output=True, text=True, check=True
    )
    assert '"/api/v1/brands"' in out.stdout


def test_cli_production_names_missing_settings(tmp_path: Path) -> None:
    env = {"T21_ENV": "production", "T21_DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    out = subprocess.run(
        [sys.executable, "-m", "t21.cli", "migrate"], capture_output=True, text=True, env=env
    )
    assert out.returncode == 2
    assert "T21_SECRET_KEY" in out.stderr and "T21_DATABASE_URL" in out.stderr


def test_alembic_check_is_clean(database_url: str) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "alembic", "check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={
            "T21_DATABASE_URL": database_url,
            "PATH": "/usr/bin:/bin",
            "T21_DATA_DIR": "/tmp/t21-alembic-check",
        },
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "No new upgrade operations detected" in out.stdout + out.stderr


def test_cli_create_user(database_url: str, tmp_path: Path) -> None:
    import os

    env = {
        **os.environ,
        "T21_DATABASE_URL": database_url,
        "T21_DATA_DIR": str(tmp_path),
        "T21_BCRYPT_ROUNDS": "4",
    }
    command = [
        sys.executable,
        "-m",
        "t21.cli",
        "create-user",
        "--email",
        "Admin@Example.com",
        "--name",
        "Admin",
    ]
    ok = subprocess.run([*command, "--password", "long enough pw"], capture_output=True, text=True, env=env)
    assert ok.returncode == 0, ok.stderr
    assert "created admin@example.com" in ok.stderr
    again = subprocess.run(
        [*command, "--password", "long enough pw"], capture_output=True, text=True, env=env
    )
    assert again.returncode == 1 and "already exists" in again.stderr
    short = subprocess.run([*command, "--password", "short"], capture_output=True, text=True, env=env)
    assert short.returncode == 1 and "at least 8 characters" in short.stderr
