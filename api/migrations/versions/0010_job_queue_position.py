"""Jobs wait for a free slot of their owner in line: their place, on every job table.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

JOB_TABLES = ("training_jobs", "test_runs", "inference_jobs", "export_jobs", "diagnostic_jobs")


def upgrade() -> None:
    for table in JOB_TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("queue_position", sa.Integer(), nullable=True))


def downgrade() -> None:
    for table in JOB_TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("queue_position")
