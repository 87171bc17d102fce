"""Export jobs pin the dataset snapshot they validate on (and calibrate static INT8 with).

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("export_jobs") as batch:
        batch.add_column(sa.Column("dataset_snapshot_id", sa.Uuid(), nullable=True))
        batch.create_index("ix_export_jobs_dataset_snapshot_id", ["dataset_snapshot_id"])
        batch.create_foreign_key(
            "fk_export_jobs_dataset_snapshot_id_dataset_snapshots",
            "dataset_snapshots",
            ["dataset_snapshot_id"],
            ["id"],
            ondelete="RESTRICT",
        )


def downgrade() -> None:
    with op.batch_alter_table("export_jobs") as batch:
        batch.drop_constraint(
            "fk_export_jobs_dataset_snapshot_id_dataset_snapshots", type_="foreignkey"
        )
        batch.drop_index("ix_export_jobs_dataset_snapshot_id")
        batch.drop_column("dataset_snapshot_id")
