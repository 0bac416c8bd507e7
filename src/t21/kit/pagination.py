"""Keyset (cursor) pagination: stable under inserts, O(page) at any depth."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import datetime
from typing import Any

from t21.errors import BadRequest


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
