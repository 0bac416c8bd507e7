"""job queue tuning for publishing spikes

Revision ID: 0003
Revises: 0002
Create Date: pre-release

Publishing jobs carry a per-account lock. Procrastinate's fetch query checks that no job with the
same lock is running; with thousands of due jobs that check walked the (id, lock) index and each
fetch took hundreds of milliseconds (bench/publish_spike.py: 225 ms → 28 ms with this index).
A spike also inserts thousands of rows at once: analyse the table early so the planner is not
left without statistics for them (the first spike without it published nothing for minutes).
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "CREATE INDEX IF NOT EXISTS t21_procrastinate_jobs_live_lock "
        "ON procrastinate_jobs (lock, id) WHERE status IN ('todo', 'doing')"
    )
    op.execute(
        "ALTER TABLE procrastinate_jobs SET (autovacuum_analyze_scale_factor = 0.01, "
        "autovacuum_analyze_threshold = 500)"
    )


def downgrade() -> None:
    op.execute(
        "ALTER TABLE procrastinate_jobs RESET (autovacuum_analyze_scale_factor, autovacuum_analyze_threshold)"
    )
    op.execute("DROP INDEX IF EXISTS t21_procrastinate_jobs_live_lock")
