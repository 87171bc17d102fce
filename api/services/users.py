"""Accounts: registration, login, profile, and role changes by managers."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.auth.passwords import dummy_verify, hash_password, verify_password
from api.db.models import ROLE_RANK, Installation, User, UserRole
from api.errors import BadRequest, Conflict, Forbidden, NotFound, Unauthorized
from api.schemas.common import Page, PageParams
from api.schemas.users import UserAdminUpdate, UserCreate, UserRead, UserUpdateMe
from api.services import login_throttle
from api.services.pagination import paginate
from api.settings import Settings


def register(db: Session, settings: Settings, data: UserCreate) -> User:
    """Create an account. The installation's first account becomes its admin.

    Raises Conflict when the email is taken.
    """
    email = data.email.lower()
    if db.scalar(select(User.id).where(func.lower(User.email) == email)) is not None:
        raise Conflict("An account with this email already exists", code="email_taken")
    user = User(
        email=email,
        hashed_password=hash_password(data.password),
        full_name=data.full_name,
        company=data.company,
        division=data.division,
        department=data.department,
        role=UserRole(settings.default_user_role),
    )
    db.add(user)
    try:
        db.flush()
    except IntegrityError as exc:  # a concurrent registration of the same email
        db.rollback()
        raise Conflict("An account with this email already exists", code="email_taken") from exc
    if db.get(Installation, 1) is None and _found(db, user):
        user.role = UserRole.ADMIN
    db.commit()
    return user


def _found(db: Session, user: User) -> bool:
    """Whether `user` founds the installation: only one registration's insert of the
    installation row succeeds, however many race (counting users first would let
    every racer see zero)."""
    try:
        with db.begin_nested():
            db.add(Installation(id=1, founder_id=user.id))
    except IntegrityError:
        return False  # another registration founded it first
    return True


def authenticate(db: Session, settings: Settings, email: str, password: str, client: str) -> User:
    """The user with these credentials; Unauthorized with one message for every failure.

    Failed logins are throttled per account and per `client` address: TooManyRequests
    (429, with Retry-After) once either has failed too often, even with the right
    password (api/services/login_throttle.py).
    """
    attempt = login_throttle.begin(db, settings, email, client)
    user = db.scalar(select(User).where(func.lower(User.email) == email.lower()))
    if user is None:
        dummy_verify(password)
        raise Unauthorized("Incorrect email or password", code="invalid_credentials")
    if not verify_password(password, user.hashed_password) or not user.is_active:
        raise Unauthorized("Incorrect email or password", code="invalid_credentials")
    login_throttle.succeeded(db, settings, attempt)
    return user


def update_me(db: Session, user: User, data: UserUpdateMe) -> User:
    changes = data.model_dump(exclude_unset=True, exclude={"current_password", "new_password"})
    if data.new_password is not None:
        if not data.current_password or not verify_password(
            data.current_password, user.hashed_password
        ):
            # Details in the shape of a validation error, so a form shows the message
            # beside the field it is about.
            message = "current_password is wrong or missing"
            raise BadRequest(
                message,
                code="invalid_current_password",
                details=[{"loc": ["body", "current_password"], "msg": message}],
            )
        user.hashed_password = hash_password(data.new_password)
        user.token_version += 1  # every login made with the old password ends here
    for field, value in changes.items():
        if value is not None:
            setattr(user, field, value)
    db.commit()
    return user


def admin_update(db: Session, actor: User, target: User, data: UserAdminUpdate) -> User:
    """Change another user's role or active flag.

    Admins may change anyone but themselves out of admin. Managers may only act on
    users ranked below manager and only grant roles below manager.
    """
    if actor.id == target.id:
        raise Forbidden("You cannot change your own role or status")
    if not actor.is_admin:
        below_manager = ROLE_RANK[UserRole.MANAGER]
        if ROLE_RANK[target.role] >= below_manager:
            raise Forbidden("Managers can only manage users below manager")
        if data.role is not None and ROLE_RANK[data.role] >= below_manager:
            raise Forbidden("Managers can only grant roles below manager")
    if data.role is not None:
        target.role = data.role
    if data.is_active is not None:
        target.is_active = data.is_active
    db.commit()
    return target


def list_page(db: Session, page: PageParams) -> Page[UserRead]:
    """Every account, oldest first (for managers)."""
    return paginate(db, select(User), page, UserRead, User.created_at, User.id)


def get_or_404(db: Session, user_id: uuid.UUID) -> User:
    user = db.get(User, user_id)
    if user is None:
        raise NotFound("User not found")
    return user
