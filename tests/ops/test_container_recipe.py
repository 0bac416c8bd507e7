"""The container recipe, checked where no container engine runs (issue #23): the Dockerfile's
stages copy only files that exist, the image is non-root with a health check on /readyz, and the
compose file is valid YAML whose services run real `t21` commands with settings the README
documents."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import yaml
from typer.main import get_command

from t21.cli import app

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = (ROOT / "Dockerfile").read_text()
COMPOSE = yaml.safe_load((ROOT / "compose.yaml").read_text())
README = (ROOT / "README.md").read_text()
CLI_COMMANDS = set(get_command(app).commands)  # type: ignore[attr-defined]


def _instructions() -> list[tuple[str, str]]:
    joined = re.sub(r"\\\n", " ", DOCKERFILE)
    lines = [
        line.strip() for line in joined.splitlines() if line.strip() and not line.lstrip().startswith("#")
    ]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "") for line in lines]


def test_every_file_the_dockerfile_copies_exists_and_every_stage_it_names_is_built() -> None:
    stages = [
        re.search(r"\bAS\s+(\S+)", args, re.IGNORECASE) for kind, args in _instructions() if kind == "FROM"
    ]
    names = {m.group(1) for m in stages if m}
    assert {"web", "wheel", "runtime"} <= names
    for kind, args in _instructions():
        if kind not in ("COPY", "ADD"):
            continue
        words = shlex.split(args)
        source_stage = next((w.split("=", 1)[1] for w in words if w.startswith("--from=")), None)
        paths = [w for w in words if not w.startswith("--")]
        sources = paths[:-1]
        if source_stage is not None:
            assert source_stage in names, f"COPY --from={source_stage}: no such stage"
            continue
        for source in sources:
            assert (ROOT / source).exists(), f"the Dockerfile copies {source}, which is not in the repository"


def test_the_image_runs_as_a_user_with_a_readiness_health_check() -> None:
    instructions = _instructions()
    runtime = instructions[max(i for i, (k, _) in enumerate(instructions) if k == "FROM") :]
    users = [args for kind, args in runtime if kind == "USER"]
    assert users and users[-1] not in ("root", "0")
    (check,) = [args for kind, args in runtime if kind == "HEALTHCHECK"]
    assert "/readyz" in check
    entry = next(args for kind, args in runtime if kind == "ENTRYPOINT")
    cmd = next(args for kind, args in runtime if kind == "CMD")
    assert '"t21"' in entry and yaml.safe_load(cmd)[0] in CLI_COMMANDS


def test_compose_services_run_real_commands_with_documented_settings() -> None:
    services = COMPOSE["services"]
    assert {"api", "worker", "postgres", "redis"} <= set(services)
    for name in ("api", "worker"):
        service = services[name]
        line = " ".join(service.get("entrypoint", [])) + " " + " ".join(service.get("command", []))
        used = set(re.findall(r"\bt21 ([a-z-]+)", line))
        assert used, f"{name} runs no t21 command"
        assert used <= CLI_COMMANDS, f"{name} runs {used - CLI_COMMANDS}, which `t21` does not have"
        assert "migrate" in used, f"{name} must migrate before it starts (the lock makes it safe)"
        settings = set(service["environment"])
        assert {"T21_DATABASE_URL", "T21_SECRET_KEY", "T21_ENCRYPTION_KEYS"} <= settings
        for setting in settings:
            assert f"`{setting}`" in README, f"{setting} is set in compose.yaml but not in the README's table"
    example = (ROOT / ".env.example").read_text()
    for variable in set(re.findall(r"\$\{(\w+)", (ROOT / "compose.yaml").read_text())):
        assert f"{variable}=" in example, f"compose.yaml needs {variable}; .env.example does not list it"


def test_the_commands_the_image_runs_work_here(database_url: str, tmp_path: Path) -> None:
    """What compose runs, as it runs it (production settings, secrets from the environment):
    `t21 migrate`, then `t21 api` answering /healthz and `t21 worker` heart-beating."""
    import os
    import socket
    import subprocess
    import sys
    import time

    import httpx
    import psycopg

    from t21.db.urls import libpq_url

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        **os.environ,
        "T21_ENV": "production",
        "T21_DATABASE_URL": database_url,
        "T21_DATA_DIR": str(tmp_path),
        "T21_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "T21_SECRET_KEY": "container-recipe-secret-" + "x" * 32,
        "T21_ENCRYPTION_KEYS": "Ixv9ul0sVJ0HGd6bvQzO8Lp5ebTN4aqVvCbnMTu5G9w=",
        "T21_WORKER_IN_PROCESS": "false",
        "T21_HOST": "127.0.0.1",
        "T21_PORT": str(port),
    }
    t21 = [sys.executable, "-m", "t21.cli"]
    migrated = subprocess.run([*t21, "migrate"], env=env, capture_output=True, text=True, timeout=120)
    assert migrated.returncode == 0, migrated.stderr[-2000:]
    api = subprocess.Popen([*t21, "api"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    worker = subprocess.Popen([*t21, "worker"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        healthy = beating = False
        while time.monotonic() < deadline and not (healthy and beating):
            try:
                healthy = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
            except httpx.HTTPError:
                healthy = False
            with psycopg.connect(libpq_url(database_url)) as conn:
                row = conn.execute("SELECT count(*) FROM procrastinate_workers").fetchone()
                beating = bool(row and row[0])
            time.sleep(0.5)
        assert healthy, "t21 api did not answer /healthz"
        assert beating, "t21 worker did not register"
    finally:
        for process in (api, worker):
            process.terminate()
        for process in (api, worker):
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
