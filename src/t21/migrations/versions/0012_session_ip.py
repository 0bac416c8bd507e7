"""the IP address a refresh token was issued to (the sessions page)

Revision ID: 0012
Revises: 0011
Create Date: pre-release

auth/sessions.py lists each refresh-token family with the device (user_agent, already stored),
the IP address and the last use (the created_at of its latest token) of its latest token. A
nullable column without a default: no table rewrite.
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("refresh_tokens", sa.Column("ip_address", sa.String(length=45), nullable=True))


def downgrade() -> None:
    op.drop_column("refresh_tokens", "ip_address")
