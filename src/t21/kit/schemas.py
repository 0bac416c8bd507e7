"""Pydantic base classes: camelCase on the wire, snake_case in Python."""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class Schema(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, from_attributes=True, extra="ignore"
    )


class StrictInput(Schema):
    """Request bodies: unknown fields are an error, so typos do not silently do nothing."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, from_attributes=True, extra="forbid"
    )


T = TypeVar("T")


class ListResponse(Schema, Generic[T]):
    data: list[T]
    next_cursor: str | None = None
