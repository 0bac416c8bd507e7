"""posts can be NEEDS_ATTENTION: no target went out for sure, and one may have

Revision ID: 0008
Revises: 0007
Create Date: pre-release

A target whose outcome T21 cannot learn from the network (the read-back was refused, or stayed
inconclusive) ends UNKNOWN. A post whose targets are all failed or unknown, with at least one
unknown, used to roll up to FAILED, which invites a retry that may post twice. It is now
NEEDS_ATTENTION: someone must look at the network (the target's error names where).
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

OLD = "'DRAFT', 'PENDING_APPROVAL', 'SCHEDULED', 'PUBLISHING', 'PUBLISHED', 'PARTIALLY_PUBLISHED', 'FAILED', 'CANCELLED'"
NEW = OLD.replace("'FAILED', ", "'FAILED', 'NEEDS_ATTENTION', ")


def upgrade() -> None:
    op.drop_constraint(op.f("ck_posts_status"), "posts", type_="check")
    # NOT VALID, then VALIDATE: the check of existing rows runs under a lock that lets writes on.
    op.create_check_constraint(
        op.f("ck_posts_status"), "posts", f"status IN ({NEW})", postgresql_not_valid=True
    )
    op.execute("ALTER TABLE posts VALIDATE CONSTRAINT ck_posts_status")
    # Posts that already rolled up to FAILED with an unknown target.
    op.execute(
        "UPDATE posts p SET status = 'NEEDS_ATTENTION' WHERE p.status = 'FAILED' "
        "AND EXISTS (SELECT 1 FROM social_posts s WHERE s.post_id = p.id AND s.status = 'UNKNOWN')"
    )


def downgrade() -> None:
    op.execute("UPDATE posts SET status = 'FAILED' WHERE status = 'NEEDS_ATTENTION'")
    op.drop_constraint(op.f("ck_posts_status"), "posts", type_="check")
    op.create_check_constraint(op.f("ck_posts_status"), "posts", f"status IN ({OLD})")
