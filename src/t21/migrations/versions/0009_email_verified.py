"""when each person verified their email address

Revision ID: 0009
Revises: 0008
Create Date: pre-release

New accounts get a verification link at sign-up (auth/verification.py). People who signed up
before this existed are counted as verified: T21_REQUIRE_VERIFIED_EMAIL (on in production) must
not lock them out of publishing on the day of the upgrade.
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("users", sa.Column("email_verified_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE users SET email_verified_at = created_at")


def downgrade() -> None:
    op.drop_column("users", "email_verified_at")
