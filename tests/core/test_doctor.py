from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import TEST_FERNET_KEY


def run_doctor(database_url: str, tmp_path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "t21.cli", "doctor"],
        capture_output=True,
        text=True,
        timeout=60,
        env={
            **os.environ,
            "T21_DATABASE_URL": database_url,
            "T21_DATA_DIR": str(tmp_path),
            "T21_SECRET_KEY": "x" * 48,
            "T21_ENCRYPTION_KEYS": TEST_FERNET_KEY,
            "COLUMNS": "200",
            **env,
        },
    )


def test_doctor_reports_missing_pieces_in_plain_words(database_url: str, tmp_path) -> None:
    out = run_doctor(
        database_url,
        tmp_path,
        T21_REDIS_URL="redis://127.0.0.1:1/0",
        T21_STRIPE_SECRET_KEY="sk_test_x",
        T21_STRIPE_WEBHOOK_SECRET="whsec_x",
    )
    assert out.returncode == 1, out.stdout + out.stderr
    assert "schema is current" in out.stdout
    assert "Redis does not answer" in out.stdout
    assert "missing T21_STRIPE_PRICE_PRO" in out.stdout
    assert "offered as a sandbox" in out.stdout


def test_doctor_passes_on_a_healthy_minimal_install(database_url: str, tmp_path) -> None:
    out = run_doctor(database_url, tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "T21 is ready" in out.stderr
