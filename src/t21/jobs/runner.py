"""How `t21 serve` runs jobs in-process. Filled in by the publishing engine."""

from __future__ import annotations

from typing import Any


def in_process_worker_lifecycle() -> Any | None:
    return None
