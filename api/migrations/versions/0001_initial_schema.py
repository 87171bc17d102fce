"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import api.db.base

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "job_attempts",
        sa.Column("job_id", sa.Uuid(), nullable=False),
        sa.Column(
            "job_kind",
            sa.Enum(
                "training",
                "test_run",
                "inference",
                "export",
                name="jobkind",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("runner", sa.String(length=32), nullable=False),
        sa.Column("runner_ref", sa.String(length=255), nullable=True),
        sa.Column("resumed_from_epoch", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(length=32), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("started_at", api.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", api.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("compute_seconds", sa.Double(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_attempts")),
        sa.UniqueConstraint("job_id", "attempt", name="uq_job_attempts_job_attempt"),
    )
    with op.batch_alter_table("job_attempts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_job_attempts_job_id"), ["job_id"], unique=False)

    op.create_table(
        "job_events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("job_id", sa.Uuid(), nullable=False),
        sa.Column(
            "job_kind",
            sa.Enum(
                "training",
                "test_run",
                "inference",
                "export",
                name="jobkind",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column(
            "data",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", api.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_events")),
        sa.UniqueConstraint("job_id", "seq", name="uq_job_events_job_seq"),
    )
    with op.batch_alter_table("job_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_job_events_job_id"), ["job_id"], unique=False)

    op.create_table(
        "organizations",
        sa.Column("company", sa.String(length=255), nullable=False),
        sa.Column("division", sa.String(length=255), nullable=True),
        sa.Column("display_name", sa.String(length=500), nullable=True),
        sa.Column("checkpoint_storage_quota_gb", sa.Integer(), nullable=False),
        sa.Column("pretrained_weight_storage_quota_gb", sa.Integer(), nullable=False),
        sa.Column("checkpoint_storage_used_bytes", sa.BigInteger(), nullable=False),
        sa.Column("pretrained_weight_storage_used_bytes", sa.BigInteger(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "created_at",
            api.db.base.UTCDateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            api.db.base.UTCDateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organizations")),
        sa.UniqueConstraint("company", "division", name="uq_organizations_company_division"),
    )
    with op.batch_alter_table("organizations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_organizations_company"), ["company"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_organizations_created_at"), ["created_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_organizations_division"), ["division"], unique=False)

    op.create_table(
        "users",
        sa.Column("email", sa.String(length=255), nullable=False),
        sa.Column("hashed_password", sa.String(length=255), nullable=False),
        sa.Column("full_name", sa.String(length=255), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "admin",
                "manager",
                "engineer_ii",
                "engineer_i",
                "guest",
                name="userrole",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("organization_id", sa.Uuid(), nullable=True),
        sa.Column("company", sa.String(length=255), nullable=True),
        sa.Column("division", sa.String(length=255), nullable=True),
        sa.Column("department", sa.String(length=255), nullable=True),
        sa.Column("avatar_name", sa.String(length=100), nullable=True),
        sa.Column("badge_color", sa.String(length=20), nullable=True),
        sa.Column("timezone", sa.String(length=50), nullable=False),
        sa.Column("language", sa.String(length=10), nullable=False),
        sa.Column("notification_enabled", sa.Boolean(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "created_at",
            api.db.base.UTCDateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            api.db.base.UTCDateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_users_organization_id_organizations"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
    )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_users_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_users_email"), ["email"], unique=True)
        batch_op.create_index(
            batch_op.f("ix_users_organization_id"), ["organization_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_users_role"), ["role"], unique=False)

    op.create_table(
        "pretrained_weights",
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=True),
        sa.Column(
            "visibility",
            sa.Enum("private", "public", name="visibility", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("framework", sa.String(length=64), nullable=False),
        sa.Column("base_architecture", sa.String(length=255), nullable=False),
        sa.Column(
            "task_types",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("pretraining_dataset", sa.String(length=255), nullable=True),
        sa.Column("description", sa.String(length=2000), nullable=True),
        sa.Column("num_classes", sa.Integer(), nullable=True),
        sa.Column(
            "input_size",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("storage_key", sa.String(length=500), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("checksum_sha256", sa.String(length=64), nullable=False),
        sa.Column("download_count", sa.Integer(), nullable=False),
        sa.Column("last_used_at", api.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "extra",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "created_at",
            api.db.base.UTCDateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            api.db.base.UTCDateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_pretrained_weights_organization_id_organizations"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["users.id"],
            name=op.f("fk_pretrained_weights_owner_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pretrained_weights")),
    )
    with op.batch_alter_table("pretrained_weights", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_pretrained_weights_created_at"), ["created_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_pretrained_weights_framework"), ["framework"], unique=False
        )
        batch_op.create_index(
            "ix_pretrained_weights_framework_visibility", ["framework", "visibility"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_pretrained_weights_owner_id"), ["owner_id"], unique=False
        )

    op.create_table(
        "projects",
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=True),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.String(length=2000), nullable=True),
        sa.Column("task_type", sa.String(length=64), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "created_at",
            api.db.base.UTCDateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            api.db.base.UTCDateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_projects_organization_id_organizations"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_projects_owner_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_projects")),
        sa.UniqueConstraint("owner_id", "name", name="uq_projects_owner_name"),
    )
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_projects_created_at"), ["created_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_projects_organization_id"), ["organization_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_projects_owner_id"), ["owner_id"], unique=False)

    op.create_table(
        "webhooks",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column(
            "event_types",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("secret", sa.String(length=128), nullable=False),
        sa.Column("description", sa.String(length=1000), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "created_at",
            api.db.base.UTCDateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            api.db.base.UTCDateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_webhooks_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhooks")),
    )
    with op.batch_alter_table("webhooks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_webhooks_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_webhooks_user_id"), ["user_id"], unique=False)

    op.create_table(
        "datasets",
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=True),
        sa.Column("project_id", sa.Uuid(), nullable=True),
        sa.Column(
            "visibility",
            sa.Enum("private", "public", name="visibility", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.String(length=2000), nullable=True),
        sa.Column(
            "format",
            sa.Enum(
                "imagefolder",
                "yolo",
                "coco",
                "pascal_voc",
                name="datasetformat",
                native_enum=False,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column(
            "format_detection",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("task_type", sa.String(length=64), nullable=True),
        sa.Column("labeled", sa.Boolean(), nullable=False),
        sa.Column("num_images", sa.Integer(), nullable=False),
        sa.Column("num_classes", sa.Integer(), nullable=True),
        sa.Column(
            "class_names",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "stats",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "split_config",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("storage_prefix", sa.String(length=500), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "uploading",
                "processing",
                "ready",
                "error",
                name="datasetstatus",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "validation_errors",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "created_at",
            api.db.base.UTCDateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            api.db.base.UTCDateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_datasets_organization_id_organizations"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_datasets_owner_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_datasets_project_id_projects"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_datasets")),
    )
    with op.batch_alter_table("datasets", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_datasets_created_at"), ["created_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_datasets_organization_id"), ["organization_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_datasets_owner_id"), ["owner_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_datasets_project_id"), ["project_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_datasets_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_datasets_visibility"), ["visibility"], unique=False)

    op.create_table(
        "webhook_deliveries",
        sa.Column("webhook_id", sa.Uuid(), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("event_id", sa.String(length=128), nullable=False),
        sa.Column(
            "payload",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", api.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_response_ms", sa.Double(), nullable=True),
        sa.Column("created_at", api.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", api.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["webhook_id"],
            ["webhooks.id"],
            name=op.f("fk_webhook_deliveries_webhook_id_webhooks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
    )
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_webhook_deliveries_created_at"), ["created_at"], unique=False
        )
        batch_op.create_index(
            "ix_webhook_deliveries_due", ["status", "next_attempt_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_webhook_deliveries_webhook_id"), ["webhook_id"], unique=False
        )

    op.create_table(
        "dataset_snapshots",
        sa.Column("dataset_id", sa.Uuid(), nullable=False),
        sa.Column("snapshot_type", sa.String(length=32), nullable=False),
        sa.Column("version_tag", sa.String(length=100), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column(
            "integrity_status",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("num_images", sa.Integer(), nullable=False),
        sa.Column("manifest_key", sa.String(length=500), nullable=False),
        sa.Column("manifest_sha256", sa.String(length=64), nullable=False),
        sa.Column("created_by_user_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", api.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_user_id"],
            ["users.id"],
            name=op.f("fk_dataset_snapshots_created_by_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["dataset_id"],
            ["datasets.id"],
            name=op.f("fk_dataset_snapshots_dataset_id_datasets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dataset_snapshots")),
        sa.UniqueConstraint("dataset_id", "version_tag", name="uq_dataset_snapshots_tag"),
    )
    with op.batch_alter_table("dataset_snapshots", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_dataset_snapshots_created_at"), ["created_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_dataset_snapshots_dataset_id"), ["dataset_id"], unique=False
        )

    op.create_table(
        "training_jobs",
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("dataset_id", sa.Uuid(), nullable=False),
        sa.Column("dataset_snapshot_id", sa.Uuid(), nullable=True),
        sa.Column("model_name", sa.String(length=255), nullable=False),
        sa.Column("pretrained_weight_id", sa.Uuid(), nullable=True),
        sa.Column(
            "split_strategy",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("current_epoch", sa.Integer(), nullable=False),
        sa.Column("total_epochs", sa.Integer(), nullable=False),
        sa.Column(
            "current_metrics",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "best_metrics",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "final_metrics",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("primary_metric_name", sa.String(length=64), nullable=True),
        sa.Column("primary_metric_direction", sa.String(length=8), nullable=False),
        sa.Column("best_epoch", sa.Integer(), nullable=True),
        sa.Column("best_checkpoint_key", sa.String(length=500), nullable=True),
        sa.Column("last_checkpoint_key", sa.String(length=500), nullable=True),
        sa.Column("last_checkpoint_epoch", sa.Integer(), nullable=True),
        sa.Column("logs_key", sa.String(length=500), nullable=True),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "queued",
                "running",
                "completed",
                "failed",
                "cancelled",
                name="jobstatus",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("task_type", sa.String(length=64), nullable=False),
        sa.Column("framework", sa.String(length=64), nullable=False),
        sa.Column(
            "config",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("runner", sa.String(length=32), nullable=True),
        sa.Column("runner_ref", sa.String(length=255), nullable=True),
        sa.Column(
            "resources",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("last_callback_seq", sa.Integer(), nullable=False),
        sa.Column("last_heartbeat_at", api.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("progress_percent", sa.Double(), nullable=False),
        sa.Column("started_at", api.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("completed_at", api.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "created_at",
            api.db.base.UTCDateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            api.db.base.UTCDateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["dataset_id"],
            ["datasets.id"],
            name=op.f("fk_training_jobs_dataset_id_datasets"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["dataset_snapshot_id"],
            ["dataset_snapshots.id"],
            name=op.f("fk_training_jobs_dataset_snapshot_id_dataset_snapshots"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["pretrained_weight_id"],
            ["pretrained_weights.id"],
            name=op.f("fk_training_jobs_pretrained_weight_id_pretrained_weights"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_training_jobs_project_id_projects"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_training_jobs_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_jobs")),
    )
    with op.batch_alter_table("training_jobs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_training_jobs_created_at"), ["created_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_training_jobs_dataset_id"), ["dataset_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_training_jobs_dataset_snapshot_id"),
            ["dataset_snapshot_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_training_jobs_last_heartbeat_at"), ["last_heartbeat_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_training_jobs_project_id"), ["project_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_training_jobs_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_training_jobs_user_id"), ["user_id"], unique=False)

    op.create_table(
        "export_jobs",
        sa.Column("training_job_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("version_tag", sa.String(length=100), nullable=True),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column(
            "format",
            sa.Enum(
                "onnx",
                "torchscript",
                "openvino",
                "tflite",
                "coreml",
                "tensorrt",
                name="exportformat",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("checkpoint_key", sa.String(length=500), nullable=True),
        sa.Column(
            "validation_config",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "validation_metrics",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("export_key", sa.String(length=500), nullable=True),
        sa.Column("metadata_key", sa.String(length=500), nullable=True),
        sa.Column("package_key", sa.String(length=500), nullable=True),
        sa.Column("checksum_sha256", sa.String(length=64), nullable=True),
        sa.Column(
            "model_info",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "queued",
                "running",
                "completed",
                "failed",
                "cancelled",
                name="jobstatus",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("task_type", sa.String(length=64), nullable=False),
        sa.Column("framework", sa.String(length=64), nullable=False),
        sa.Column(
            "config",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("runner", sa.String(length=32), nullable=True),
        sa.Column("runner_ref", sa.String(length=255), nullable=True),
        sa.Column(
            "resources",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("last_callback_seq", sa.Integer(), nullable=False),
        sa.Column("last_heartbeat_at", api.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("progress_percent", sa.Double(), nullable=False),
        sa.Column("started_at", api.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("completed_at", api.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "created_at",
            api.db.base.UTCDateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            api.db.base.UTCDateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_export_jobs_project_id_projects"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["training_job_id"],
            ["training_jobs.id"],
            name=op.f("fk_export_jobs_training_job_id_training_jobs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_export_jobs_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_export_jobs")),
        sa.UniqueConstraint("training_job_id", "version", name="uq_export_jobs_job_version"),
    )
    with op.batch_alter_table("export_jobs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_export_jobs_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_export_jobs_format"), ["format"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_export_jobs_last_heartbeat_at"), ["last_heartbeat_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_export_jobs_project_id"), ["project_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_export_jobs_status"), ["status"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_export_jobs_training_job_id"), ["training_job_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_export_jobs_user_id"), ["user_id"], unique=False)

    op.create_table(
        "inference_jobs",
        sa.Column("training_job_id", sa.Uuid(), nullable=True),
        sa.Column(
            "inference_type",
            sa.Enum(
                "single", "batch", "dataset", name="inferencetype", native_enum=False, length=32
            ),
            nullable=False,
        ),
        sa.Column("checkpoint_key", sa.String(length=500), nullable=True),
        sa.Column("dataset_id", sa.Uuid(), nullable=True),
        sa.Column(
            "image_keys",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("enable_xai", sa.Boolean(), nullable=False),
        sa.Column("xai_method", sa.String(length=32), nullable=True),
        sa.Column("processed_images", sa.Integer(), nullable=False),
        sa.Column("total_images", sa.Integer(), nullable=False),
        sa.Column("results_key", sa.String(length=500), nullable=True),
        sa.Column("visualizations_prefix", sa.String(length=500), nullable=True),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "queued",
                "running",
                "completed",
                "failed",
                "cancelled",
                name="jobstatus",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("task_type", sa.String(length=64), nullable=False),
        sa.Column("framework", sa.String(length=64), nullable=False),
        sa.Column(
            "config",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("runner", sa.String(length=32), nullable=True),
        sa.Column("runner_ref", sa.String(length=255), nullable=True),
        sa.Column(
            "resources",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("last_callback_seq", sa.Integer(), nullable=False),
        sa.Column("last_heartbeat_at", api.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("progress_percent", sa.Double(), nullable=False),
        sa.Column("started_at", api.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("completed_at", api.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "created_at",
            api.db.base.UTCDateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            api.db.base.UTCDateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["dataset_id"],
            ["datasets.id"],
            name=op.f("fk_inference_jobs_dataset_id_datasets"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_inference_jobs_project_id_projects"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["training_job_id"],
            ["training_jobs.id"],
            name=op.f("fk_inference_jobs_training_job_id_training_jobs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_inference_jobs_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inference_jobs")),
    )
    with op.batch_alter_table("inference_jobs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_inference_jobs_created_at"), ["created_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_inference_jobs_dataset_id"), ["dataset_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_inference_jobs_last_heartbeat_at"), ["last_heartbeat_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_inference_jobs_project_id"), ["project_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_inference_jobs_status"), ["status"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_inference_jobs_training_job_id"), ["training_job_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_inference_jobs_user_id"), ["user_id"], unique=False)

    op.create_table(
        "test_runs",
        sa.Column("training_job_id", sa.Uuid(), nullable=False),
        sa.Column("dataset_id", sa.Uuid(), nullable=False),
        sa.Column("checkpoint_key", sa.String(length=500), nullable=True),
        sa.Column("enable_xai", sa.Boolean(), nullable=False),
        sa.Column("xai_method", sa.String(length=32), nullable=True),
        sa.Column("processed_images", sa.Integer(), nullable=False),
        sa.Column("total_images", sa.Integer(), nullable=False),
        sa.Column(
            "overall_metrics",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "per_class_metrics",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "confusion_matrix",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "pr_curves",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("results_key", sa.String(length=500), nullable=True),
        sa.Column("visualizations_prefix", sa.String(length=500), nullable=True),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "queued",
                "running",
                "completed",
                "failed",
                "cancelled",
                name="jobstatus",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("task_type", sa.String(length=64), nullable=False),
        sa.Column("framework", sa.String(length=64), nullable=False),
        sa.Column(
            "config",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("runner", sa.String(length=32), nullable=True),
        sa.Column("runner_ref", sa.String(length=255), nullable=True),
        sa.Column(
            "resources",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("last_callback_seq", sa.Integer(), nullable=False),
        sa.Column("last_heartbeat_at", api.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("progress_percent", sa.Double(), nullable=False),
        sa.Column("started_at", api.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("completed_at", api.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "created_at",
            api.db.base.UTCDateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            api.db.base.UTCDateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["dataset_id"],
            ["datasets.id"],
            name=op.f("fk_test_runs_dataset_id_datasets"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_test_runs_project_id_projects"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["training_job_id"],
            ["training_jobs.id"],
            name=op.f("fk_test_runs_training_job_id_training_jobs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_test_runs_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_test_runs")),
    )
    with op.batch_alter_table("test_runs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_test_runs_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_test_runs_dataset_id"), ["dataset_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_test_runs_last_heartbeat_at"), ["last_heartbeat_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_test_runs_project_id"), ["project_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_test_runs_status"), ["status"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_test_runs_training_job_id"), ["training_job_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_test_runs_user_id"), ["user_id"], unique=False)

    op.create_table(
        "training_validation_results",
        sa.Column("training_job_id", sa.Uuid(), nullable=False),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("task_type", sa.String(length=64), nullable=False),
        sa.Column("primary_metric_name", sa.String(length=64), nullable=False),
        sa.Column("primary_metric_value", sa.Double(), nullable=False),
        sa.Column("is_best", sa.Boolean(), nullable=False),
        sa.Column(
            "metrics",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "per_class_metrics",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "confusion_matrix",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "pr_curves",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("image_results_key", sa.String(length=500), nullable=True),
        sa.Column("num_images_validated", sa.Integer(), nullable=False),
        sa.Column("validation_time_seconds", sa.Double(), nullable=True),
        sa.Column("created_at", api.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["training_job_id"],
            ["training_jobs.id"],
            name=op.f("fk_training_validation_results_training_job_id_training_jobs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_validation_results")),
        sa.UniqueConstraint(
            "training_job_id", "epoch", name="uq_training_validation_results_job_epoch"
        ),
    )
    with op.batch_alter_table("training_validation_results", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_training_validation_results_created_at"), ["created_at"], unique=False
        )
        batch_op.create_index(
            "ix_training_validation_results_job_best", ["training_job_id", "is_best"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_training_validation_results_task_type"), ["task_type"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_training_validation_results_training_job_id"),
            ["training_job_id"],
            unique=False,
        )

    op.create_table(
        "deployments",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("export_job_id", sa.Uuid(), nullable=False),
        sa.Column(
            "strategy",
            sa.Enum(
                "download",
                "platform_endpoint",
                "edge_package",
                "container",
                name="deploymentstrategy",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.String(length=2000), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "active",
                "inactive",
                "deploying",
                "failed",
                name="deploymentstatus",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "tier",
            sa.Enum("free", "pro", "enterprise", name="tier", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column(
            "config",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("endpoint_url", sa.String(length=500), nullable=True),
        sa.Column("artifact_key", sa.String(length=500), nullable=True),
        sa.Column("docker_image", sa.String(length=500), nullable=True),
        sa.Column("deployed_at", api.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_accessed_at", api.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "created_at",
            api.db.base.UTCDateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            api.db.base.UTCDateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["export_job_id"],
            ["export_jobs.id"],
            name=op.f("fk_deployments_export_job_id_export_jobs"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_deployments_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deployments")),
    )
    with op.batch_alter_table("deployments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_deployments_created_at"), ["created_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_deployments_export_job_id"), ["export_job_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_deployments_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_deployments_strategy"), ["strategy"], unique=False)
        batch_op.create_index(batch_op.f("ix_deployments_user_id"), ["user_id"], unique=False)

    op.create_table(
        "api_keys",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("deployment_id", sa.Uuid(), nullable=True),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("prefix", sa.String(length=32), nullable=False),
        sa.Column("key_hash", sa.String(length=128), nullable=False),
        sa.Column("created_at", api.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", api.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("expires_at", api.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", api.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["deployment_id"],
            ["deployments.id"],
            name=op.f("fk_api_keys_deployment_id_deployments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_api_keys_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_keys_key_hash")),
        sa.UniqueConstraint("prefix", name=op.f("uq_api_keys_prefix")),
    )
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_api_keys_deployment_id"), ["deployment_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_api_keys_user_id"), ["user_id"], unique=False)

    op.create_table(
        "deployment_history",
        sa.Column("deployment_id", sa.Uuid(), nullable=False),
        sa.Column("event_type", sa.String(length=50), nullable=False),
        sa.Column(
            "event_data",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("status_before", sa.String(length=32), nullable=True),
        sa.Column("status_after", sa.String(length=32), nullable=True),
        sa.Column("message", sa.String(length=1000), nullable=True),
        sa.Column("created_at", api.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["deployment_id"],
            ["deployments.id"],
            name=op.f("fk_deployment_history_deployment_id_deployments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deployment_history")),
    )
    with op.batch_alter_table("deployment_history", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_deployment_history_created_at"), ["created_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_deployment_history_deployment_id"), ["deployment_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_deployment_history_event_type"), ["event_type"], unique=False
        )

    op.create_table(
        "usage_records",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("deployment_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("api_key_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", api.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("latency_ms", sa.Double(), nullable=False),
        sa.Column("request_bytes", sa.BigInteger(), nullable=False),
        sa.Column("response_bytes", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["api_key_id"],
            ["api_keys.id"],
            name=op.f("fk_usage_records_api_key_id_api_keys"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["deployment_id"],
            ["deployments.id"],
            name=op.f("fk_usage_records_deployment_id_deployments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_usage_records_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_usage_records")),
    )
    with op.batch_alter_table("usage_records", schema=None) as batch_op:
        batch_op.create_index(
            "ix_usage_records_deployment_created", ["deployment_id", "created_at"], unique=False
        )
        batch_op.create_index(
            "ix_usage_records_user_created", ["user_id", "created_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("usage_records", schema=None) as batch_op:
        batch_op.drop_index("ix_usage_records_user_created")
        batch_op.drop_index("ix_usage_records_deployment_created")

    op.drop_table("usage_records")
    with op.batch_alter_table("deployment_history", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deployment_history_event_type"))
        batch_op.drop_index(batch_op.f("ix_deployment_history_deployment_id"))
        batch_op.drop_index(batch_op.f("ix_deployment_history_created_at"))

    op.drop_table("deployment_history")
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_keys_user_id"))
        batch_op.drop_index(batch_op.f("ix_api_keys_deployment_id"))

    op.drop_table("api_keys")
    with op.batch_alter_table("deployments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deployments_user_id"))
        batch_op.drop_index(batch_op.f("ix_deployments_strategy"))
        batch_op.drop_index(batch_op.f("ix_deployments_status"))
        batch_op.drop_index(batch_op.f("ix_deployments_export_job_id"))
        batch_op.drop_index(batch_op.f("ix_deployments_created_at"))

    op.drop_table("deployments")
    with op.batch_alter_table("training_validation_results", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_training_validation_results_training_job_id"))
        batch_op.drop_index(batch_op.f("ix_training_validation_results_task_type"))
        batch_op.drop_index("ix_training_validation_results_job_best")
        batch_op.drop_index(batch_op.f("ix_training_validation_results_created_at"))

    op.drop_table("training_validation_results")
    with op.batch_alter_table("test_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_test_runs_user_id"))
        batch_op.drop_index(batch_op.f("ix_test_runs_training_job_id"))
        batch_op.drop_index(batch_op.f("ix_test_runs_status"))
        batch_op.drop_index(batch_op.f("ix_test_runs_project_id"))
        batch_op.drop_index(batch_op.f("ix_test_runs_last_heartbeat_at"))
        batch_op.drop_index(batch_op.f("ix_test_runs_dataset_id"))
        batch_op.drop_index(batch_op.f("ix_test_runs_created_at"))

    op.drop_table("test_runs")
    with op.batch_alter_table("inference_jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inference_jobs_user_id"))
        batch_op.drop_index(batch_op.f("ix_inference_jobs_training_job_id"))
        batch_op.drop_index(batch_op.f("ix_inference_jobs_status"))
        batch_op.drop_index(batch_op.f("ix_inference_jobs_project_id"))
        batch_op.drop_index(batch_op.f("ix_inference_jobs_last_heartbeat_at"))
        batch_op.drop_index(batch_op.f("ix_inference_jobs_dataset_id"))
        batch_op.drop_index(batch_op.f("ix_inference_jobs_created_at"))

    op.drop_table("inference_jobs")
    with op.batch_alter_table("export_jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_export_jobs_user_id"))
        batch_op.drop_index(batch_op.f("ix_export_jobs_training_job_id"))
        batch_op.drop_index(batch_op.f("ix_export_jobs_status"))
        batch_op.drop_index(batch_op.f("ix_export_jobs_project_id"))
        batch_op.drop_index(batch_op.f("ix_export_jobs_last_heartbeat_at"))
        batch_op.drop_index(batch_op.f("ix_export_jobs_format"))
        batch_op.drop_index(batch_op.f("ix_export_jobs_created_at"))

    op.drop_table("export_jobs")
    with op.batch_alter_table("training_jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_training_jobs_user_id"))
        batch_op.drop_index(batch_op.f("ix_training_jobs_status"))
        batch_op.drop_index(batch_op.f("ix_training_jobs_project_id"))
        batch_op.drop_index(batch_op.f("ix_training_jobs_last_heartbeat_at"))
        batch_op.drop_index(batch_op.f("ix_training_jobs_dataset_snapshot_id"))
        batch_op.drop_index(batch_op.f("ix_training_jobs_dataset_id"))
        batch_op.drop_index(batch_op.f("ix_training_jobs_created_at"))

    op.drop_table("training_jobs")
    with op.batch_alter_table("dataset_snapshots", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dataset_snapshots_dataset_id"))
        batch_op.drop_index(batch_op.f("ix_dataset_snapshots_created_at"))

    op.drop_table("dataset_snapshots")
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_webhook_deliveries_webhook_id"))
        batch_op.drop_index("ix_webhook_deliveries_due")
        batch_op.drop_index(batch_op.f("ix_webhook_deliveries_created_at"))

    op.drop_table("webhook_deliveries")
    with op.batch_alter_table("datasets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_datasets_visibility"))
        batch_op.drop_index(batch_op.f("ix_datasets_status"))
        batch_op.drop_index(batch_op.f("ix_datasets_project_id"))
        batch_op.drop_index(batch_op.f("ix_datasets_owner_id"))
        batch_op.drop_index(batch_op.f("ix_datasets_organization_id"))
        batch_op.drop_index(batch_op.f("ix_datasets_created_at"))

    op.drop_table("datasets")
    with op.batch_alter_table("webhooks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_webhooks_user_id"))
        batch_op.drop_index(batch_op.f("ix_webhooks_created_at"))

    op.drop_table("webhooks")
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_projects_owner_id"))
        batch_op.drop_index(batch_op.f("ix_projects_organization_id"))
        batch_op.drop_index(batch_op.f("ix_projects_created_at"))

    op.drop_table("projects")
    with op.batch_alter_table("pretrained_weights", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pretrained_weights_owner_id"))
        batch_op.drop_index("ix_pretrained_weights_framework_visibility")
        batch_op.drop_index(batch_op.f("ix_pretrained_weights_framework"))
        batch_op.drop_index(batch_op.f("ix_pretrained_weights_created_at"))

    op.drop_table("pretrained_weights")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_users_role"))
        batch_op.drop_index(batch_op.f("ix_users_organization_id"))
        batch_op.drop_index(batch_op.f("ix_users_email"))
        batch_op.drop_index(batch_op.f("ix_users_created_at"))

    op.drop_table("users")
    with op.batch_alter_table("organizations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_organizations_division"))
        batch_op.drop_index(batch_op.f("ix_organizations_created_at"))
        batch_op.drop_index(batch_op.f("ix_organizations_company"))

    op.drop_table("organizations")
    with op.batch_alter_table("job_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_job_events_job_id"))

    op.drop_table("job_events")
    with op.batch_alter_table("job_attempts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_job_attempts_job_id"))

    op.drop_table("job_attempts")
