"""User roles, highest first. Plain Python: schemas and dependencies use them without
loading the database layer.
"""

from __future__ import annotations

import enum


class UserRole(enum.StrEnum):
    """Hierarchical roles (see `ROLE_RANK`)."""

    ADMIN = "admin"  # everything, user management
    MANAGER = "manager"  # grants roles below manager
    ENGINEER_II = "engineer_ii"  # advanced training features
    ENGINEER_I = "engineer_i"  # basic training features
    GUEST = "guest"  # 1 project, 1 dataset, no collaboration


ROLE_RANK = {
    UserRole.ADMIN: 4,
    UserRole.MANAGER: 3,
    UserRole.ENGINEER_II: 2,
    UserRole.ENGINEER_I: 1,
    UserRole.GUEST: 0,
}
