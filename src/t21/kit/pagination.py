"""Keyset (cursor) pagination: stable under inserts, O(page) at any depth."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Select, tuple_
from sqlalchemy.orm import InstrumentedAttribute

from t21.errors import BadRequest

T = TypeVar("T")


def encode_cursor(*values: Any) -> str:
    raw = json.dumps([v.isoformat() if isinstance(v, datetime) else str(v) for v in values])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, kinds: tuple[type, ...]) -> tuple[Any, ...]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(values, list) or len(values) != len(kinds):
            raise ValueError("shape")
        out: list[Any] = []
        for kind, value in zip(kinds, values, strict=True):
            if kind is datetime:
                out.append(datetime.fromisoformat(value))
            elif kind is uuid.UUID:
                out.append(uuid.UUID(value))
            else:
                out.append(kind(value))
        return tuple(out)
    except (ValueError, TypeError, json.JSONDecodeError) as exc:
        raise BadRequest("The cursor is not valid", code="invalid_cursor") from exc


def keyset_page(
    stmt: Select[T],
    key: InstrumentedAttribute[Any],
    tiebreak: InstrumentedAttribute[Any],
    after: tuple[Any, Any] | None,
    limit: int,
    *,
    descending: bool,
) -> Select[T]:
    """Order by (key, tiebreak) and continue after a decoded cursor. A row-value comparison reads
    the same composite index the ordering uses."""
    if after is not None:
        position = tuple_(key, tiebreak)
        stmt = stmt.where(position < tuple_(*after) if descending else position > tuple_(*after))
    ordering = (key.desc(), tiebreak.desc()) if descending else (key, tiebreak)
    return stmt.order_by(*ordering).limit(limit)
