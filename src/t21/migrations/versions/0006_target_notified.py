"""which outcome of each target its author was told of

Revision ID: 0006
Revises: 0005
Create Date: pre-release

A post's notices are written when it rolls up to an outcome (published, partly published,
failed), one per outcome of each target. Retrying the targets that did not go out rolls the
post up again; the targets that were already out were announced then and must not be again.
publishing/notices.py reads and writes these two columns; neither is indexed, so writing them
keeps the row's update HOT.

Targets already finished when this runs were announced by the code before it: they are marked
so, or a retry of their post would announce them a second time.
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("social_posts", sa.Column("notified_status", sa.String(length=16), nullable=True))
    op.add_column("social_posts", sa.Column("notified_at", sa.DateTime(timezone=True), nullable=True))
    # In batches, each committed on its own: a table of millions of targets is never locked
    # row by row for the whole backfill (publishing keeps updating targets meanwhile).
    with op.get_context().autocommit_block():
        while True:
            done = op.get_bind().execute(
                sa.text(
                    """
                    UPDATE social_posts sp
                       SET notified_status = sp.status, notified_at = now()
                     WHERE sp.id IN (
                        SELECT s.id FROM social_posts s JOIN posts p ON p.id = s.post_id
                         WHERE s.notified_status IS NULL
                           AND s.status IN ('PUBLISHED', 'FAILED', 'UNKNOWN')
                           AND p.status IN ('PUBLISHED', 'PARTIALLY_PUBLISHED', 'FAILED')
                         LIMIT 5000
                           FOR UPDATE OF s)
                    """
                )
            )
            if done.rowcount == 0:
                break


def downgrade() -> None:
    op.drop_column("social_posts", "notified_at")
    op.drop_column("social_posts", "notified_status")
