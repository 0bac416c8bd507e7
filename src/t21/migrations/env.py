"""Alembic environment. The URL comes from `t21 migrate` (config attribute) or, for the plain
`alembic` CLI, from the same resolution the app uses (T21_DATABASE_URL or the embedded server)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

from t21.db.models import Base
from t21.db.urls import sqlalchemy_url
from t21.migrations.env_filters import include_object

config = context.config
MIGRATION_LOCK_TIMEOUT = "15s"
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
        # A migration that waits for a lock queues every write behind it: give up after a while
        # (the live install keeps running; `t21 migrate` says so and can be run again) rather
        # than stop the install until some long query ends.
        connection.exec_driver_sql(f"SET lock_timeout = '{MIGRATION_LOCK_TIMEOUT}'")
        connection.commit()
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            include_object=include_object,
            compare_type=True,
            compare_server_default=False,
            # Each migration commits on its own, so the locks one takes are not held while the
            # next runs (and a migration can step out of its transaction: autocommit_block).
            transaction_per_migration=True,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations()
