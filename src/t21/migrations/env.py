"""Alembic environment. The URL comes from `t21 migrate` (config attribute) or, for the plain
`alembic` CLI, from the same resolution the app uses (T21_DATABASE_URL or the embedded server)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

from t21.db.models import Base
from t21.db.urls import sqlalchemy_url
from t21.migrations.env_filters import include_object

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    url = config.attributes.get("database_url")
    if url is None:
        from t21.config import get_settings
        from t21.db.database import resolve_database_url

        url = resolve_database_url(get_settings())
    return sqlalchemy_url(url)


def run_migrations() -> None:
    engine = create_engine(_url(), poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            include_object=include_object,
            compare_type=True,
            compare_server_default=False,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations()
