"""Usage per day, for the console's charts: `GET /v1/deployments/{id}/usage/daily` (one
deployment, for its key or its owner) and `GET /api/v1/deployments/usage/daily` (all of
the caller's deployments).

Counted from real calls of a real ONNX endpoint, and from records written by the
metering code itself over days chosen to test the UTC day boundaries; percentiles are
held to numpy's, computed here from the same latencies. The SQLite fallback (no
percentile_cont there) is held to the same numbers.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import numpy as np
import pytest

from tests.test_deployments import _deploy, export_row, training_job
from tests.test_endpoint import _json, _png, deploy

OUTCOME_OF = {
    200: "ok",
    401: "client_error",
    404: "client_error",
    422: "client_error",
    429: "rate_limited",
    500: "server_error",
}


@dataclass(frozen=True)
class Rec:
    """A call as the test knows it: which deployment (by name), when, its answer."""

    deployment: str
    at: datetime
    status: int
    latency_ms: float
    request_bytes: int
    response_bytes: int


def _records(now: datetime, seed: int = 0) -> list[Rec]:
    """Calls of deployments "a" and "b" (one owner) and "x" (another) over the days
    before `now`: some on either side of a UTC midnight, some outside a 7-day window."""
    rng = np.random.default_rng(seed)
    today = now.date()
    out: list[Rec] = []
    statuses = [200, 200, 200, 200, 422, 404, 429, 500]
    plan = {("a", 0): 23, ("a", 1): 9, ("a", 3): 4, ("a", 6): 1, ("a", 7): 5, ("a", 30): 3,
            ("b", 0): 6, ("b", 1): 14, ("x", 0): 8, ("x", 1): 2}  # fmt: skip
    for (name, ago), n in plan.items():
        day = today - timedelta(days=ago)
        start = datetime.combine(day, time(), UTC)
        for i in range(n):
            if i == 0:
                at = start  # the first instant of the day
            elif i == 1:
                at = start + timedelta(days=1) - timedelta(microseconds=1)  # the last
            else:
                at = start + timedelta(seconds=int(rng.integers(0, 86_400)))
            at = min(at, now)
            out.append(
                Rec(
                    name,
                    at,
                    int(rng.choice(statuses)),
                    round(float(rng.lognormal(3, 0.8)), 3),
                    int(rng.integers(100, 50_000)),
                    int(rng.integers(50, 2_000)),
                )
            )
    return out


def _write(
    db: Any, records: list[Rec], ids: dict[str, uuid.UUID], users: dict[str, uuid.UUID]
) -> None:
    """Through the metering code's own writer, as the endpoint's calls are recorded."""
    from api.services.endpoint import metering

    calls = [
        metering.Call(
            metering.Meter(ids[r.deployment], users[r.deployment], None),
            r.status,
            r.latency_ms,
            r.request_bytes,
            r.response_bytes,
            at=r.at,
        )
        for r in records
    ]
    metering.record(db, calls)


def _expected_day(records: list[Rec], on: date) -> dict[str, Any]:
    """What a day's entry must say, computed here with numpy."""
    mine = [r for r in records if r.at.astimezone(UTC).date() == on]
    outcomes = dict.fromkeys(("ok", "client_error", "server_error", "rate_limited"), 0)
    for r in mine:
        outcomes[OUTCOME_OF[r.status]] += 1
    latency: dict[str, float | None] = {"p50": None, "p95": None}
    if mine:
        p50, p95 = np.percentile([r.latency_ms for r in mine], [50, 95])
        latency = {"p50": round(float(p50), 3), "p95": round(float(p95), 3)}
    return {
        "day": on.isoformat(),
        "calls": len(mine),
        "errors": len(mine) - outcomes["ok"],
        "by_outcome": outcomes,
        "latency_ms": latency,
        "request_bytes": sum(r.request_bytes for r in mine),
        "response_bytes": sum(r.response_bytes for r in mine),
    }


def _check_days(days: list[dict[str, Any]], records: list[Rec], first: date, n: int) -> None:
    assert [d["day"] for d in days] == [(first + timedelta(days=i)).isoformat() for i in range(n)]
    for got in days:
        want = _expected_day(records, date.fromisoformat(got["day"]))
        for q in ("p50", "p95"):
            if want["latency_ms"][q] is None:
                assert got["latency_ms"][q] is None
            else:
                assert got["latency_ms"][q] == pytest.approx(want["latency_ms"][q], abs=1e-3)
        assert {k: v for k, v in got.items() if k != "latency_ms"} == {
            k: v for k, v in want.items() if k != "latency_ms"
        }


@pytest.fixture()
def accounts(client, make_user):  # type: ignore[no-untyped-def]
    """Two deployments ("a", "b") of one engineer, one ("x") of another: ids and owners."""
    owner, other = make_user("engineer_i"), make_user("engineer_i")
    ids: dict[str, uuid.UUID] = {}
    users: dict[str, uuid.UUID] = {}
    jobs = {account.id: training_job(client, account.headers) for account in (owner, other)}
    for name, account in (("a", owner), ("b", owner), ("x", other)):
        export_id = export_row(account.id, jobs[account.id])
        r = _deploy(client, account, export_id, "platform_endpoint", name=f"deployment {name}")
        assert r.status_code == 201, r.text
        ids[name], users[name] = uuid.UUID(r.json()["id"]), uuid.UUID(account.id)
    return owner, other, ids, users


def test_recorded_calls_add_up_per_utc_day_for_a_deployment_and_an_account(client, accounts):
    from api.db.session import new_session

    owner, other, ids, users = accounts
    records = _records(datetime.now(UTC))
    with new_session() as db:
        _write(db, records, ids, users)

    r = client.get(f"/v1/deployments/{ids['a']}/usage/daily?days=7", headers=owner.headers)
    assert r.status_code == 200, r.text
    body = r.json()
    first, last = date.fromisoformat(body["start"]), date.fromisoformat(body["end"])
    assert body["deployment_id"] == str(ids["a"]) and (last - first).days == 6
    of_a = [rec for rec in records if rec.deployment == "a"]
    _check_days(body["days"], of_a, first, 7)
    # The window is the last 7 days: the calls 7 and 30 days ago are not in it.
    assert sum(d["calls"] for d in body["days"]) == 23 + 9 + 4 + 1
    assert (
        client.get(f"/v1/deployments/{ids['a']}/usage/daily", headers=owner.headers).json()["start"]
        == (last - timedelta(days=29)).isoformat()
    )  # 30 days unless asked

    # Days are UTC days, whatever the time zone of the database session.
    from sqlalchemy import text

    from api.db.models import Deployment
    from api.services.endpoint import daily_usage

    with new_session() as db:
        db.execute(text("SET LOCAL TIME ZONE 'Pacific/Kiritimati'"))  # UTC+14
        noon = datetime.combine(last, time(12), UTC)
        there = daily_usage.for_deployment(db, db.get(Deployment, ids["a"]), 7, now=noon)
        assert there.model_dump(mode="json") == body

    r = client.get("/api/v1/deployments/usage/daily?days=7", headers=owner.headers)
    assert r.status_code == 200, r.text
    account = r.json()
    assert (account["start"], account["end"]) == (body["start"], body["end"])
    of_owner = [rec for rec in records if rec.deployment in ("a", "b")]
    _check_days(account["days"], of_owner, first, 7)  # percentiles over both deployments
    assert [d["name"] for d in account["deployments"]] == ["deployment a", "deployment b"]
    for share in account["deployments"]:
        name = share["name"][-1]
        want = [_expected_day([x for x in records if x.deployment == name], d) for d in
                (first + timedelta(days=i) for i in range(7))]  # fmt: skip
        assert share["deployment_id"] == str(ids[name])
        assert share["calls_per_day"] == [w["calls"] for w in want]
        assert share["errors_per_day"] == [w["errors"] for w in want]
        assert (share["calls"], share["errors"]) == (
            sum(w["calls"] for w in want),
            sum(w["errors"] for w in want),
        )
    # The other engineer sees only their own.
    theirs = client.get("/api/v1/deployments/usage/daily?days=7", headers=other.headers).json()
    assert [d["deployment_id"] for d in theirs["deployments"]] == [str(ids["x"])]
    _check_days(theirs["days"], [x for x in records if x.deployment == "x"], first, 7)
    one_day = client.get("/api/v1/deployments/usage/daily?days=1", headers=owner.headers).json()
    assert [d["day"] for d in one_day["days"]] == [body["end"]]


def test_a_deployment_series_is_its_owners_or_its_keys_and_no_one_elses(client, accounts):
    owner, other, ids, _ = accounts
    url = f"/v1/deployments/{ids['a']}/usage/daily"
    r = client.get(url, headers=other.headers)
    assert (r.status_code, r.json()["error"]["code"]) == (404, "not_found")
    r = client.get(f"/v1/deployments/{uuid.uuid4()}/usage/daily", headers=owner.headers)
    assert r.status_code == 404
    r = client.get(url)
    assert (r.status_code, r.json()["error"]["code"]) == (401, "not_authenticated")
    assert client.get("/api/v1/deployments/usage/daily").status_code == 401
    for query in ("days=0", "days=367", "days=-3", "days=ten", "days=1%00", "days=" + "9" * 40):
        for path in (url, "/api/v1/deployments/usage/daily"):
            r = client.get(f"{path}?{query}", headers=owner.headers)
            assert (r.status_code, r.json()["error"]["code"]) == (422, "validation_error"), query
    r = client.get(f"/v1/deployments/{ids['a']}%00/usage/daily", headers=owner.headers)
    assert r.status_code == 422
    # A deployment without calls: every day listed, all zero.
    quiet = client.get(f"{url}?days=3", headers=owner.headers).json()
    assert [d["calls"] for d in quiet["days"]] == [0, 0, 0]
    assert quiet["days"][0]["latency_ms"] == {"p50": None, "p95": None}
    none = client.get("/api/v1/deployments/usage/daily", headers=owner.headers).json()
    assert none["deployments"] == [] and len(none["days"]) == 30


def test_real_calls_of_an_endpoint_are_counted_for_its_key_and_its_owner(client, make_user):
    from sqlalchemy import select

    from api.db.models import UsageRecord
    from api.db.session import new_session

    endpoint = deploy(client, make_user("engineer_i"), tier="enterprise")
    for seed in range(4):
        assert endpoint.call(**_json(_png(seed=seed))).status_code == 200
    assert endpoint.call(json={"image": "!!"}).status_code == 422
    assert endpoint.call(**_json(_png(), top_k=0)).status_code == 422
    by_login = endpoint.client.get(
        f"/v1/deployments/{endpoint.id}/usage/daily?days=2", headers=endpoint.account.headers
    )
    assert by_login.status_code == 200, by_login.text
    with new_session() as db:
        rows = db.scalars(
            select(UsageRecord).where(UsageRecord.deployment_id == uuid.UUID(endpoint.id))
        ).all()
    assert len(rows) == 6
    records = [
        Rec("e", r.created_at, r.status_code, r.latency_ms, r.request_bytes, r.response_bytes)
        for r in rows
    ]
    body = by_login.json()
    _check_days(body["days"], records, date.fromisoformat(body["start"]), 2)
    assert sum(d["by_outcome"]["ok"] for d in body["days"]) == 4
    assert sum(d["errors"] for d in body["days"]) == 2
    by_key = endpoint.client.get(
        f"/v1/deployments/{endpoint.id}/usage/daily?days=2",
        headers={"Authorization": f"Bearer {endpoint.key}"},
    )
    assert by_key.status_code == 200 and by_key.json()["days"] == body["days"]


def test_on_sqlite_the_series_is_the_same_as_numpys(tmp_path):
    """The embedded default has no percentile_cont: the Python fallback must agree."""
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from api.db.base import Base
    from api.db.models import ApiKey, Deployment, DeploymentStrategy, UsageRecord, User
    from api.services.endpoint import daily_usage

    engine = create_engine(f"sqlite:///{tmp_path}/usage.db")  # foreign keys not enforced
    tables = [User.__table__, Deployment.__table__, ApiKey.__table__, UsageRecord.__table__]
    Base.metadata.create_all(engine, tables=tables)
    now = datetime(2031, 3, 1, 12, 30, tzinfo=UTC)
    records = _records(now, seed=1)
    owner, other = uuid.uuid4(), uuid.uuid4()
    ids = {name: uuid.uuid4() for name in "abx"}
    users = {"a": owner, "b": owner, "x": other}
    with Session(engine) as db:
        for name, deployment_id in ids.items():
            db.add(
                Deployment(
                    id=deployment_id,
                    user_id=users[name],
                    export_job_id=uuid.uuid4(),
                    strategy=DeploymentStrategy.PLATFORM_ENDPOINT,
                    name=f"deployment {name}",
                )
            )
        db.commit()
        _write(db, records, ids, users)
        first = now.date() - timedelta(days=6)
        series = daily_usage.for_deployment(db, db.get(Deployment, ids["a"]), 7, now=now)
        _check_days(
            series.model_dump(mode="json")["days"],
            [r for r in records if r.deployment == "a"],
            first,
            7,
        )
        account = daily_usage.for_user(db, User(id=owner), 7, now=now).model_dump(mode="json")
    _check_days(account["days"], [r for r in records if r.deployment in "ab"], first, 7)
    calls: dict[str, int] = defaultdict(int)
    for r in records:
        if r.deployment in "ab" and r.at.date() >= first:
            calls[r.deployment] += 1
    assert [(d["name"], d["calls"]) for d in account["deployments"]] == sorted(
        ((f"deployment {k}", v) for k, v in calls.items()), key=lambda kv: -kv[1]
    )
    engine.dispose()
