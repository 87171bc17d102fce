"""Test runs and inference jobs pin the dataset snapshot they read, as training jobs do.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_TABLES = ("test_runs", "inference_jobs")


def upgrade() -> None:
    for table in _TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("dataset_snapshot_id", sa.Uuid(), nullable=True))
            batch.create_index(
                f"ix_{table}_dataset_snapshot_id", ["dataset_snapshot_id"], unique=False
            )
            batch.create_foreign_key(
                f"fk_{table}_dataset_snapshot_id_dataset_snapshots",
                "dataset_snapshots",
                ["dataset_snapshot_id"],
                ["id"],
                ondelete="RESTRICT",
            )


def downgrade() -> None:
    for table in _TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(
                f"fk_{table}_dataset_snapshot_id_dataset_snapshots", type_="foreignkey"
            )
            batch.drop_index(f"ix_{table}_dataset_snapshot_id")
            batch.drop_column("dataset_snapshot_id")
