"""The installation row: whoever's registration writes it is the admin, once.

An installation with accounts already was founded by its first admin (or, with none,
its first account): the row records it, so no later registration becomes admin.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "installation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("founder_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["founder_id"],
            ["users.id"],
            name="fk_installation_founder_id_users",
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_installation"),
    )
    op.execute(
        "INSERT INTO installation (id, founder_id) "
        "SELECT 1, id FROM users ORDER BY (role = 'admin') DESC, created_at LIMIT 1"
    )


def downgrade() -> None:
    op.drop_table("installation")
