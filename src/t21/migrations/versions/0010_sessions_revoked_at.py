"""when each person's sessions were last ended (a password reset)

Revision ID: 0010
Revises: 0009
Create Date: pre-release

Access tokens issued before users.sessions_revoked_at are refused (auth/tokens.py
ensure_not_revoked), so a reset password also ends the sessions whose access token has not
expired yet. A nullable column without a default: no table rewrite.
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("users", sa.Column("sessions_revoked_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("users", "sessions_revoked_at")
