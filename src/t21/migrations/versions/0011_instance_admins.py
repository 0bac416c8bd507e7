"""instance admins and disabled accounts

Revision ID: 0011
Revises: 0010
Create Date: pre-release

users.is_admin marks whoever runs the install (t21 create-user --admin, t21 make-admin): they
may use /api/v1/admin (list users, usage, disable, resend verification). users.disabled_at is
set by such an admin: the person cannot sign in and every token, API key and socket of theirs is
refused (admin/service.py). Nobody becomes admin by this upgrade. A boolean with a constant
default and a nullable column: no table rewrite.
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "users", sa.Column("is_admin", sa.Boolean(), server_default=sa.text("false"), nullable=False)
    )
    op.add_column("users", sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("users", "disabled_at")
    op.drop_column("users", "is_admin")
