"""Registration, login, the current user, and role management."""

from __future__ import annotations

import contextlib
import uuid

import pytest

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


def test_a_wrong_current_password_is_named_as_the_field_at_fault(client, make_user):
    user = make_user()
    r = client.patch(
        "/api/v1/auth/me",
        json={"current_password": "not the password", "new_password": "brand-new-pw"},
        headers=user.headers,
    )
    assert r.status_code == 400
    error = r.json()["error"]
    assert error["code"] == "invalid_current_password"
    assert error["details"] == [
        {"loc": ["body", "current_password"], "msg": "current_password is wrong or missing"}
    ]


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


@contextlib.contextmanager
def sqlite_installation(tmp_path, address: str = "testclient"):  # type: ignore[no-untyped-def]
    """A client of the real app on a fresh embedded SQLite installation."""
    from fastapi.testclient import TestClient

    from api.db import migrate
    from api.db.session import engine_for, new_session
    from api.deps import current_settings, get_db
    from api.main import create_app
    from api.settings import Settings

    settings = Settings(
        data_dir=tmp_path, secret_key="k" * 32, database_url=f"sqlite:///{tmp_path}/first.db"
    )
    migrate.upgrade(settings)
    app = create_app(settings)

    # Point the request-scoped dependencies at this installation.
    def db_for_this_installation():  # type: ignore[no-untyped-def]
        with new_session(settings) as session:
            yield session

    app.dependency_overrides[current_settings] = lambda: settings
    app.dependency_overrides[get_db] = db_for_this_installation
    try:
        with TestClient(app, client=(address, 50000)) as c:
            yield c
    finally:
        engine_for(settings.database_url).dispose()


def test_the_first_account_of_an_installation_becomes_admin(tmp_path):
    """On an empty database (here a fresh SQLite file) the first registration is admin."""
    with sqlite_installation(tmp_path) as c:
        first = register_and_login(c)
        second = register_and_login(c)
        assert c.get("/api/v1/auth/me", headers=first.headers).json()["role"] == "admin"
        assert c.get("/api/v1/auth/me", headers=second.headers).json()["role"] == "guest"


# Login hygiene: failed logins throttled per account and per address, revoked tokens,
# a closed /metrics. Each test logs in from an address of its own (TestClient's
# `client`), so its failures never throttle another test's.


@pytest.fixture()
def from_address(app):  # type: ignore[no-untyped-def]
    """A client of the real app whose requests come from an address of their own."""
    import random

    from fastapi.testclient import TestClient

    clients = []

    def make(address: str | None = None) -> TestClient:
        address = (
            address
            or f"10.{random.randrange(256)}.{random.randrange(256)}.{random.randrange(1, 255)}"
        )
        client = TestClient(app, raise_server_exceptions=False, client=(address, 50000))
        clients.append(client.__enter__())
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture()
def configure(monkeypatch):  # type: ignore[no-untyped-def]
    """Set settings through the environment, as a deployment does, for this test."""
    from api.settings import get_settings

    def set_values(**values: object) -> None:
        for name, value in values.items():
            monkeypatch.setenv(name.upper(), str(value))
        get_settings.cache_clear()

    yield set_values
    monkeypatch.undo()
    get_settings.cache_clear()


def _login(client, email: str, password: str):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/auth/login", data={"username": email, "password": password})


def test_failed_logins_for_one_account_are_throttled_even_with_the_right_password(
    make_user, from_address
):
    user = make_user()
    attacker = from_address()
    wrong = [_login(attacker, user.email, f"guess-{i}").status_code for i in range(10)]
    assert wrong == [401] * 10  # LOGIN_MAX_FAILURES_PER_ACCOUNT: 10 in 15 minutes
    refused = _login(attacker, user.email, "guess-10")
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "login_throttled"
    retry_after = int(refused.headers["retry-after"])
    assert 0 < retry_after <= 900
    assert refused.json()["error"]["details"] == {"retry_after_seconds": retry_after}
    # The right password, even from another address, waits for the window's end too.
    assert _login(from_address(), user.email, user.password).status_code == 429
    # Another account from the attacker's address is not held back.
    other = make_user()
    assert _login(attacker, other.email, other.password).status_code == 200


def test_failed_logins_are_throttled_on_sqlite_too(tmp_path):
    with sqlite_installation(tmp_path, address="192.0.2.1") as c:
        user = register_and_login(c)
        wrong = [_login(c, user.email, f"guess-{i}").status_code for i in range(11)]
        assert wrong == [401] * 10 + [429]
        refused = _login(c, user.email, user.password)
        assert refused.status_code == 429 and 0 < int(refused.headers["retry-after"]) <= 900


def test_the_right_password_is_accepted_again_once_the_window_ended(make_user, from_address):
    from datetime import timedelta

    from api.db.models import LoginAttempts
    from api.db.session import new_session
    from api.services.login_throttle import account_subject

    user = make_user()
    client = from_address()
    for i in range(11):
        _login(client, user.email, f"guess-{i}")
    assert _login(client, user.email, user.password).status_code == 429
    # Fifteen minutes pass, as far as the account's window is concerned.
    with new_session() as db:
        row = db.get(LoginAttempts, account_subject(user.email))
        row.window_start -= timedelta(seconds=901)
        db.commit()
    assert _login(client, user.email, user.password).status_code == 200


def test_a_successful_login_takes_back_its_accounts_failures(make_user, from_address):
    user = make_user()
    client = from_address()
    statuses = [_login(client, user.email, f"typo-{i}").status_code for i in range(9)]
    assert _login(client, user.email, user.password).status_code == 200
    statuses += [_login(client, user.email, f"typo-{i}").status_code for i in range(9)]
    assert statuses == [401] * 18


def test_concurrent_wrong_passwords_are_counted_exactly(make_user, from_address):
    from concurrent.futures import ThreadPoolExecutor

    user = make_user()
    client = from_address()
    with ThreadPoolExecutor(20) as pool:
        statuses = list(
            pool.map(lambda i: _login(client, user.email, f"g-{i}").status_code, range(20))
        )
    assert sorted(statuses) == [401] * 10 + [429] * 10


def test_failed_logins_from_one_address_are_throttled_across_accounts(
    make_user, from_address, configure
):
    user = make_user()
    configure(login_max_failures_per_address=3)
    guesser = from_address()
    unknown = [
        _login(guesser, f"nobody-{i}@example.com", "guess-guess").status_code for i in range(3)
    ]
    assert unknown == [401] * 3
    refused = _login(guesser, user.email, user.password)
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0
    assert "from this address" in refused.json()["error"]["message"]
    assert _login(from_address(), user.email, user.password).status_code == 200


def test_an_ipv6_guesser_is_counted_by_its_64_prefix(make_user, from_address, configure):
    import random

    user = make_user()
    configure(login_max_failures_per_address=3)
    group = random.randrange(65535)
    prefix, next_prefix = f"2001:db8:7:{group:x}", f"2001:db8:7:{group + 1:x}"
    for host in ("::1", "::2", ":abcd:0:0:3"):
        assert _login(from_address(prefix + host), "nobody@example.com", "guess").status_code == 401
    assert _login(from_address(prefix + "::ffff"), user.email, user.password).status_code == 429
    assert _login(from_address(next_prefix + "::1"), user.email, user.password).status_code == 200


def test_a_password_change_ends_every_earlier_login(client, make_user):
    user = make_user()
    second = _login(client, user.email, user.password).json()["access_token"]
    changed = client.patch(
        "/api/v1/auth/me",
        json={"current_password": user.password, "new_password": "a brand new password"},
        headers=user.headers,
    )
    assert changed.status_code == 200
    for token in (user.token, second):  # the one that changed it too
        r = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 401 and r.json()["error"]["code"] == "token_revoked"
    fresh = _login(client, user.email, "a brand new password").json()["access_token"]
    assert (
        client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {fresh}"}).status_code
        == 200
    )


def test_a_profile_change_without_a_new_password_keeps_the_login(client, make_user):
    user = make_user()
    r = client.patch("/api/v1/auth/me", json={"full_name": "Ada"}, headers=user.headers)
    assert r.status_code == 200
    assert client.get("/api/v1/auth/me", headers=user.headers).status_code == 200


def test_metrics_need_the_metrics_token_when_one_is_set(client, configure):
    configure(metrics_token="scrape-" + "x" * 24)
    assert client.get("/metrics").status_code == 401
    wrong = client.get("/metrics", headers={"Authorization": "Bearer scrape-wrong"})
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "unauthorized"
    scraped = client.get("/metrics", headers={"Authorization": "Bearer scrape-" + "x" * 24})
    assert scraped.status_code == 200 and "vap_http_requests_total" in scraped.text
