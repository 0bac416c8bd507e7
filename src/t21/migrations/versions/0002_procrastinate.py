"""job queue schema (Procrastinate 3.10)

Revision ID: 0002
Revises: 0001
Create Date: pre-release

Procrastinate's own schema, applied from the installed package so `t21 migrate` is the only
migration command. The package is pinned (~=3.10.0); a Procrastinate upgrade adds a migration
that runs its `sql/migrations` files for the versions in between.
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    from procrastinate.schema import SchemaManager

    # Straight to the driver with no parameters, so the plpgsql bodies' '%' and ':' are not read
    # as placeholders by SQLAlchemy or psycopg.
    cursor = op.get_bind().connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    cursor.execute(SchemaManager.get_schema())


def downgrade() -> None:
    op.get_bind().exec_driver_sql(
        "DROP TABLE IF EXISTS procrastinate_events, procrastinate_periodic_defers, procrastinate_jobs, "
        "procrastinate_workers CASCADE"
    )
