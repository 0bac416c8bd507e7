"""The web app's committed OpenAPI spec (web/openapi.json) must be the server's live spec.

The web client's TypeScript types are generated from that file (web/src/api/schema.d.ts; a Vitest
test checks that half). When an endpoint or schema changes, regenerate both with
`make openapi-client` and commit them with the change.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
COMMITTED_SPEC = ROOT / "web" / "openapi.json"


def _live_spec() -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, "-m", "t21.cli", "openapi"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    spec: dict[str, Any] = json.loads(result.stdout)
    return spec


def _differences(live: dict[str, Any], committed: dict[str, Any]) -> list[str]:
    live_paths: dict[str, Any] = live.get("paths", {})
    committed_paths: dict[str, Any] = committed.get("paths", {})
    lines = [f"new path: {p}" for p in sorted(set(live_paths) - set(committed_paths))]
    lines += [f"removed path: {p}" for p in sorted(set(committed_paths) - set(live_paths))]
    lines += [
        f"changed path: {p}"
        for p in sorted(set(live_paths) & set(committed_paths))
        if live_paths[p] != committed_paths[p]
    ]
    live_schemas: dict[str, Any] = live.get("components", {}).get("schemas", {})
    committed_schemas: dict[str, Any] = committed.get("components", {}).get("schemas", {})
    lines += [
        f"schema differs: {name}"
        for name in sorted(set(live_schemas) | set(committed_schemas))
        if live_schemas.get(name) != committed_schemas.get(name)
    ]
    return lines or ["other top-level fields differ (info, tags, ...)"]


def test_web_openapi_json_matches_the_live_spec() -> None:
    if not COMMITTED_SPEC.exists():
        pytest.fail("web/openapi.json is missing: run `make openapi-client`")
    live = _live_spec()
    committed = json.loads(COMMITTED_SPEC.read_text(encoding="utf-8"))
    if live != committed:
        summary = "\n  ".join(_differences(live, committed)[:20])
        pytest.fail(
            "web/openapi.json is stale, so the web app's generated API client is too: "
            f"run `make openapi-client` and commit web/openapi.json and web/src/api/schema.d.ts.\n  {summary}"
        )
