"""an index of the targets that came due and have no publish job yet

Revision ID: 0005
Revises: 0004
Create Date: pre-release

A scheduled target gets its publish job only when it comes due (publishing/queueing.py says why:
Procrastinate's per-account lock would otherwise hold a due post behind one due tomorrow). Every
worker looks for such targets several times a second; this partial index keeps that look to the
few rows it is about.
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # CONCURRENTLY: publishing keeps writing targets while the index is built.
    with op.get_context().autocommit_block():
        op.create_index(
            "ix_social_posts_due_unqueued",
            "social_posts",
            ["scheduled_for"],
            postgresql_where="status = 'SCHEDULED' AND job_id IS NULL",
            postgresql_concurrently=True,
            if_not_exists=True,
        )


def downgrade() -> None:
    op.drop_index("ix_social_posts_due_unqueued", table_name="social_posts")
