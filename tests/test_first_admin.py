"""Exactly one account becomes the installation's admin, however many registrations
race on an empty database: 20 at once against a real API process, on PostgreSQL and on
SQLite; and an installation that already has accounts makes no new admin."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.conftest import api_process
from tests.test_migrations import empty_postgres  # noqa: F401  (a fixture)

RACERS = 20


def _race(base: str) -> list[dict]:
    def register(i: int) -> httpx.Response:
        body = {"email": f"racer-{i}-{uuid.uuid4().hex[:6]}@example.com",
                "password": "a long racing password"}  # fmt: skip
        return httpx.post(f"{base}/api/v1/auth/register", json=body, timeout=60)

    with ThreadPoolExecutor(RACERS) as pool:
        answers = list(pool.map(register, range(RACERS)))
    assert [r.status_code for r in answers] == [201] * RACERS, [r.text for r in answers]
    return [r.json() for r in answers]


@pytest.mark.parametrize("backend", ["postgresql", "sqlite"])
def test_twenty_racing_registrations_make_one_admin(backend, empty_postgres, tmp_path):  # noqa: F811
    from api.db import migrate
    from api.settings import Settings

    url = empty_postgres if backend == "postgresql" else f"sqlite:///{tmp_path}/race.db"
    migrate.upgrade(Settings(database_url=url, data_dir=tmp_path, secret_key="k" * 32))
    with api_process(DATABASE_URL=url, DATA_DIR=str(tmp_path)) as base:
        accounts = _race(base)
        admins = [a for a in accounts if a["role"] == "admin"]
        assert len(admins) == 1, [a["role"] for a in accounts]
        assert {a["role"] for a in accounts if a not in admins} == {"guest"}
        # Later registrations are not admins either.
        later = _race(base)
        assert all(a["role"] == "guest" for a in later)


def test_an_installation_with_accounts_before_the_upgrade_makes_no_new_admin(
    empty_postgres,  # noqa: F811
    tmp_path,
):
    """Upgrading a database whose first account exists records it as the founder."""
    from sqlalchemy import text

    from api.db import migrate
    from api.db.session import engine_for
    from api.settings import Settings

    settings = Settings(database_url=empty_postgres, data_dir=tmp_path, secret_key="k" * 32)
    migrate.upgrade(settings, "0008")
    with engine_for(empty_postgres).begin() as conn:
        conn.execute(text(
            "INSERT INTO users (id, email, hashed_password, is_active, role, timezone, language,"
            " notification_enabled, created_at, updated_at) VALUES (:id, 'first@example.com',"
            " 'x', true, 'admin', 'UTC', 'en', true, now(), now())"
        ), {"id": uuid.uuid4()})  # fmt: skip
    migrate.upgrade(settings)
    with api_process(DATABASE_URL=empty_postgres, DATA_DIR=str(tmp_path)) as base:
        assert all(a["role"] == "guest" for a in _race(base))
