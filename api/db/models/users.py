from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from api.db.base import Base, Timestamps, UUIDPrimaryKey
from api.db.models._enum import str_enum
from api.roles import ROLE_RANK, UserRole

__all__ = ["ROLE_RANK", "Installation", "LoginAttempts", "Organization", "User", "UserRole"]


class Organization(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "organizations"
    __table_args__ = (
        UniqueConstraint("company", "division", name="uq_organizations_company_division"),
    )

    company: Mapped[str] = mapped_column(String(255), index=True)
    division: Mapped[str | None] = mapped_column(String(255), index=True)
    display_name: Mapped[str | None] = mapped_column(String(500))
    checkpoint_storage_quota_gb: Mapped[int] = mapped_column(default=500)
    pretrained_weight_storage_quota_gb: Mapped[int] = mapped_column(default=100)
    checkpoint_storage_used_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    pretrained_weight_storage_used_bytes: Mapped[int] = mapped_column(BigInteger, default=0)


class User(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "users"

    email: Mapped[str] = mapped_column(String(255), unique=True, index=True)
    hashed_password: Mapped[str] = mapped_column(String(255))
    full_name: Mapped[str | None] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(default=True)
    role: Mapped[UserRole] = mapped_column(str_enum(UserRole), default=UserRole.GUEST, index=True)

    organization_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="SET NULL"), index=True
    )
    company: Mapped[str | None] = mapped_column(String(255))
    division: Mapped[str | None] = mapped_column(String(255))
    department: Mapped[str | None] = mapped_column(String(255))

    avatar_name: Mapped[str | None] = mapped_column(String(100))
    badge_color: Mapped[str | None] = mapped_column(String(20))
    timezone: Mapped[str] = mapped_column(String(50), default="UTC")
    language: Mapped[str] = mapped_column(String(10), default="en")
    notification_enabled: Mapped[bool] = mapped_column(default=True)
    # Access tokens carry the version they were issued under and are refused once it
    # moves on: a password change moves it, revoking every earlier login.
    token_version: Mapped[int] = mapped_column(default=0, server_default="0")

    @property
    def is_admin(self) -> bool:
        return self.role == UserRole.ADMIN


class Installation(Base):
    """One row, written by the registration that founds the installation: the account
    that writes it is the admin. Its primary key is always 1, so under any race exactly
    one registration's insert succeeds (PostgreSQL and SQLite alike)."""

    __tablename__ = "installation"

    id: Mapped[int] = mapped_column(primary_key=True)  # always 1
    founder_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )


class LoginAttempts(Base):
    """Login attempts counted against one subject (an account's email, or a client
    address), shared by every API replica: one row per subject, whose window restarts
    at the first attempt after it ended (api/services/login_throttle.py)."""

    __tablename__ = "login_attempts"

    subject: Mapped[str] = mapped_column(String(48), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(index=True)
    count: Mapped[int] = mapped_column(default=0)
