"""Datasets keep their original upload, manifest and direct-upload keys.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("datasets") as batch:
        batch.add_column(sa.Column("original_key", sa.String(length=1024), nullable=True))
        batch.add_column(sa.Column("manifest_key", sa.String(length=1024), nullable=True))
        batch.add_column(sa.Column("upload_id", sa.String(length=1024), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("datasets") as batch:
        batch.drop_column("upload_id")
        batch.drop_column("manifest_key")
        batch.drop_column("original_key")
