"""What each runner's workers report they can do, kept per runner.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from api.db.base import JSONType, UTCDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "runner_capabilities",
        sa.Column("runner", sa.String(32), nullable=False),
        sa.Column("report", JSONType, nullable=True),
        sa.Column("taken_at", UTCDateTime(), nullable=True),
        sa.Column("asked_at", UTCDateTime(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("runner", name="pk_runner_capabilities"),
    )


def downgrade() -> None:
    op.drop_table("runner_capabilities")
