"""Shared by env.py and the initial-migration generator."""

from __future__ import annotations

from typing import Any


def include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    # Procrastinate owns its tables and functions; its schema is applied by its own migration.
    # (and our tuning index on its table, named t21_procrastinate_*).
    return not (
        name is not None and (name.startswith("procrastinate") or name.startswith("t21_procrastinate"))
    )
