"""Registration, login, the current user, and role management."""

from __future__ import annotations

import uuid

from tests.conftest import register_and_login


def test_register_returns_the_account_without_its_password(client):
    email = f"new-{uuid.uuid4().hex[:8]}@Example.com"
    r = client.post(
        "/api/v1/auth/register",
        json={"email": email, "password": "s3cret-pass", "full_name": "Ada"},
    )
    assert r.status_code == 201
    body = r.json()
    assert body["email"] == email.lower()
    assert body["full_name"] == "Ada"
    assert body["role"] == "guest"  # the default role; only the first account is admin
    assert "password" not in r.text and "hashed" not in r.text


def test_password_is_stored_as_an_argon2_hash(client):
    from sqlalchemy import select

    from api.db.models import User
    from api.db.session import new_session

    email = f"hash-{uuid.uuid4().hex[:8]}@example.com"
    client.post("/api/v1/auth/register", json={"email": email, "password": "plain-text-pw"})
    with new_session() as db:
        stored = db.scalar(select(User.hashed_password).where(User.email == email))
    assert stored.startswith("$argon2id$")
    assert "plain-text-pw" not in stored


def test_registering_a_taken_email_is_a_conflict_whatever_its_case(client, make_user):
    user = make_user()
    r = client.post(
        "/api/v1/auth/register", json={"email": user.email.upper(), "password": "another-pw"}
    )
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "email_taken"


def test_register_rejects_a_bad_email_and_a_short_password(client):
    r = client.post("/api/v1/auth/register", json={"email": "not-an-email", "password": "pw7Qx"})
    assert r.status_code == 422
    err = r.json()["error"]
    assert err["code"] == "validation_error"
    fields = {d["loc"][-1] for d in err["details"]}
    assert fields == {"email", "password"}
    assert "pw7Qx" not in r.text  # the input (maybe a password) is never echoed


def test_login_returns_a_token_that_identifies_the_user(client, make_user):
    user = make_user()
    me = client.get("/api/v1/auth/me", headers=user.headers)
    assert me.status_code == 200
    assert me.json()["id"] == user.id


def test_login_with_a_wrong_password_or_unknown_email_says_the_same(client, make_user):
    user = make_user()
    wrong = client.post(
        "/api/v1/auth/login", data={"username": user.email, "password": "nope-nope"}
    )
    unknown = client.post(
        "/api/v1/auth/login", data={"username": "ghost@example.com", "password": "nope-nope"}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert wrong.json()["error"]["code"] == "invalid_credentials"


def test_me_without_a_token_or_with_a_forged_one_is_401(client, make_user):
    import jwt

    user = make_user()
    assert client.get("/api/v1/auth/me").json()["error"]["code"] == "not_authenticated"
    forged = jwt.encode(
        {"sub": user.id, "typ": "access", "exp": 4102444800}, "wrong-key-" * 4, algorithm="HS256"
    )
    r = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {forged}"})
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "invalid_token"
    assert r.headers["www-authenticate"] == "Bearer"


def test_an_expired_token_is_refused(client, make_user):
    from datetime import timedelta

    from api.auth.tokens import encode_token
    from api.settings import get_settings

    user = make_user()
    token = encode_token(get_settings(), subject=user.id, typ="access", ttl=timedelta(seconds=-1))
    r = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "token_expired"


def test_a_token_of_another_kind_is_not_an_access_token(client, make_user):
    from datetime import timedelta

    from api.auth.tokens import encode_token
    from api.settings import get_settings

    user = make_user()
    token = encode_token(get_settings(), subject=user.id, typ="callback", ttl=timedelta(hours=1))
    r = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401


def test_changing_password_needs_the_current_one(client, make_user):
    user = make_user()
    r = client.patch("/api/v1/auth/me", json={"new_password": "brand-new-pw"}, headers=user.headers)
    assert r.status_code == 400
    r = client.patch(
        "/api/v1/auth/me",
        json={
            "current_password": user.password,
            "new_password": "brand-new-pw",
            "full_name": "Grace",
        },
        headers=user.headers,
    )
    assert r.status_code == 200 and r.json()["full_name"] == "Grace"
    old = client.post(
        "/api/v1/auth/login", data={"username": user.email, "password": user.password}
    )
    new = client.post(
        "/api/v1/auth/login", data={"username": user.email, "password": "brand-new-pw"}
    )
    assert old.status_code == 401 and new.status_code == 200


def test_a_disabled_account_can_neither_log_in_nor_use_its_token(client, make_user, admin):
    user = make_user()
    r = client.patch(f"/api/v1/users/{user.id}", json={"is_active": False}, headers=admin.headers)
    assert r.status_code == 200
    assert client.get("/api/v1/auth/me", headers=user.headers).status_code == 401
    login = client.post(
        "/api/v1/auth/login", data={"username": user.email, "password": user.password}
    )
    assert login.status_code == 401


def test_only_managers_and_admins_list_users(client, make_user, admin):
    engineer = make_user("engineer_ii")
    manager = make_user("manager")
    assert client.get("/api/v1/users", headers=engineer.headers).status_code == 403
    listing = client.get("/api/v1/users?limit=200", headers=manager.headers)
    assert listing.status_code == 200
    assert engineer.id in {u["id"] for u in listing.json()["items"]}


def test_managers_grant_only_roles_below_manager(client, make_user):
    manager = make_user("manager")
    guest = make_user()
    up = client.patch(
        f"/api/v1/users/{guest.id}", json={"role": "engineer_ii"}, headers=manager.headers
    )
    assert up.status_code == 200 and up.json()["role"] == "engineer_ii"
    too_high = client.patch(
        f"/api/v1/users/{guest.id}", json={"role": "manager"}, headers=manager.headers
    )
    assert too_high.status_code == 403
    other_manager = make_user("manager")
    r = client.patch(
        f"/api/v1/users/{other_manager.id}", json={"role": "guest"}, headers=manager.headers
    )
    assert r.status_code == 403


def test_nobody_changes_their_own_role(client, admin):
    r = client.patch(f"/api/v1/users/{admin.id}", json={"role": "guest"}, headers=admin.headers)
    assert r.status_code == 403
    assert client.get("/api/v1/auth/me", headers=admin.headers).json()["role"] == "admin"


def test_the_first_account_of_an_installation_becomes_admin(tmp_path):
    """On an empty database (here a fresh SQLite file) the first registration is admin."""
    from fastapi.testclient import TestClient

    from api.db import migrate
    from api.db.session import engine_for
    from api.main import create_app
    from api.settings import Settings

    settings = Settings(
        data_dir=tmp_path, secret_key="k" * 32, database_url=f"sqlite:///{tmp_path}/first.db"
    )
    migrate.upgrade(settings)
    app = create_app(settings)
    # Point the request-scoped dependencies at this installation.
    from api.db.session import new_session
    from api.deps import current_settings, get_db

    def db_for_this_installation():
        with new_session(settings) as session:
            yield session

    app.dependency_overrides[current_settings] = lambda: settings
    app.dependency_overrides[get_db] = db_for_this_installation
    with TestClient(app) as c:
        first = register_and_login(c)
        second = register_and_login(c)
        assert c.get("/api/v1/auth/me", headers=first.headers).json()["role"] == "admin"
        assert c.get("/api/v1/auth/me", headers=second.headers).json()["role"] == "guest"
    engine_for(settings.database_url).dispose()
