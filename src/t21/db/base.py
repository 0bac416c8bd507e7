"""Declarative base: naming convention (stable migration names), UUID ids, UTC timestamps."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy import DateTime, Dialect, MetaData, String, func
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: DateTime(timezone=True), uuid.UUID: UUID(as_uuid=True)}


def new_id() -> uuid.UUID:
    return uuid.uuid4()


class IdMixin:
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(server_default=func.now(), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(
        server_default=func.now(), onupdate=func.now(), nullable=False
    )


def enum_check(column: str, values: type[StrEnum]) -> str:
    """SQL for a CHECK constraint keeping a text column inside an enum's values."""
    allowed = ", ".join(f"'{member.value}'" for member in values)
    return f"{column} IN ({allowed})"


_E = TypeVar("_E", bound=StrEnum)


class EnumText(TypeDecorator[_E]):
    """A `StrEnum` column stored as plain text (VARCHAR(length)), kept in range by the table's
    `enum_check` CHECK constraint. Python reads enum members back and writes members (or their
    exact values); anything else is refused before the statement is sent, naming the enum and
    its values. The database sees text only, so raw SQL and migrations are unchanged, and
    `alembic check` compares it as the VARCHAR it is."""

    impl = String
    cache_ok = True  # the cache key is (enum_cls, length): both immutable

    def __init__(self, enum_cls: type[_E], length: int) -> None:
        super().__init__(length)
        self.enum_cls = enum_cls
        self.length = length

    def _member(self, value: object) -> _E:
        if isinstance(value, self.enum_cls):
            return value
        if isinstance(value, str):
            try:
                return self.enum_cls(value)
            except ValueError:
                pass
        allowed = ", ".join(member.value for member in self.enum_cls)
        raise ValueError(f"{value!r} is not a {self.enum_cls.__name__} (one of: {allowed})")

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else self._member(value).value

    def process_result_value(self, value: Any, dialect: Dialect) -> _E | None:
        return None if value is None else self._member(value)

    @property
    def python_type(self) -> type[_E]:
        return self.enum_cls
