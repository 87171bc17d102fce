"""The pay-per-call endpoint, `POST /v1/infer/{deployment_id}`, on a real ONNX export.

Predictions are compared with vap_runtime.Model's on the same bytes; every refusal is
checked for its status, its code and its usage record; the tier's rate limit is shown
to hold across two real API processes on one PostgreSQL; GPU deployments reach a
stand-in put where the endpoint looks Modal's class up, which runs modal_app.Inference's
own body with `.local()`.
"""

from __future__ import annotations

import base64
import io
import threading
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from PIL import Image

from api.settings import get_settings
from tests.conftest import api_process, s3_settings
from tests.test_deployments import export_row, exported_model, training_job


def _png(width: int = 40, height: int = 30, seed: int = 0, mode: str = "RGB") -> bytes:
    import numpy as np

    pixels = np.random.default_rng(seed).integers(0, 255, (height, width, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).convert(mode).save(out, format="PNG")
    return out.getvalue()


def _bomb() -> bytes:
    """A few kB of PNG that claims 48 million pixels."""
    out = io.BytesIO()
    Image.new("1", (8000, 6000)).save(out, format="PNG")
    return out.getvalue()


def _json(image: bytes, **params: Any) -> dict[str, Any]:
    return {"json": {"image": base64.b64encode(image).decode()} | params}


class Endpoint:
    """A deployed platform endpoint and its key."""

    def __init__(self, client: Any, account: Any, body: dict[str, Any]) -> None:
        self.client, self.account, self.body = client, account, body
        self.id: str = body["id"]
        self.key: str = body["api_key"]
        self.url = f"/v1/infer/{self.id}"

    def call(self, key: str | None = "own", **request: Any) -> httpx.Response:
        key = self.key if key == "own" else key
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return self.client.post(self.url, headers=headers, **request)  # type: ignore[no-any-return]

    def usage(self) -> dict[str, Any]:
        r = self.client.get(f"/v1/deployments/{self.id}/usage", headers=self.account.headers)
        assert r.status_code == 200, r.text
        return r.json()  # type: ignore[no-any-return]


def deploy(client: Any, account: Any, job: str | None = None, **body: Any) -> Endpoint:
    job = job or training_job(client, account.headers)
    export_id = export_row(account.id, job, exported_model(), version_tag=body.pop("tag", None))
    payload = {"export_job_id": export_id, "strategy": "platform_endpoint", "name": "api"}
    r = client.post("/api/v1/deployments", json=payload | body, headers=account.headers)
    assert r.status_code == 201, r.text
    return Endpoint(client, account, r.json())


@pytest.fixture()
def endpoint(client, make_user) -> Endpoint:  # type: ignore[no-untyped-def]
    return deploy(client, make_user("engineer_i"), tier="enterprise")


def test_the_endpoint_predicts_what_vap_runtime_predicts(endpoint):
    from vap_runtime import Model

    image = _png(seed=3)
    expected = Model(exported_model().folder).predict(image, top_k=3)
    by_json = endpoint.call(**_json(image, top_k=3))
    assert by_json.status_code == 200, by_json.text
    answer = by_json.json()
    assert answer["deployment_id"] == endpoint.id and answer["model_version"] == "v1"
    assert answer["task_type"] == "image_classification" and answer["latency_ms"] > 0
    assert (answer["width"], answer["height"]) == (40, 30) and answer["instances"] == []
    assert [c["class_name"] for c in answer["classes"]] == [
        c["class_name"] for c in expected["classes"]
    ]
    for got, want in zip(answer["classes"], expected["classes"], strict=True):
        assert got["class_id"] == want["class_id"]
        assert got["confidence"] == pytest.approx(want["confidence"], abs=1e-6)
    by_form = endpoint.call(files={"file": ("a.png", image, "image/png")}, data={"top_k": "3"})
    assert by_form.status_code == 200, by_form.text
    assert by_form.json()["classes"] == answer["classes"]
    assert by_json.headers["X-RateLimit-Limit"] == "1000"
    assert int(by_json.headers["X-RateLimit-Remaining"]) == 999
    # 998, or 999 when a new minute began between the two calls.
    assert int(by_form.headers["X-RateLimit-Remaining"]) in (998, 999)


def test_the_model_version_is_the_exports_tag_when_it_has_one(client, make_user):
    tagged = deploy(client, make_user("engineer_i"), tag="prod-2024")
    assert tagged.call(**_json(_png())).json()["model_version"] == "prod-2024"


def test_every_bad_input_answers_its_4xx_and_is_metered(endpoint):
    limit = get_settings().infer_max_request_mb * 1024 * 1024
    png = _png()
    cases = [
        ({"json": {"image": base64.b64encode(b"not an image").decode()}}, 422, "bad_image"),
        ({"json": {"image": "***not base64***"}}, 422, "bad_image"),
        ({"json": {"top_k": 3}}, 422, "bad_image"),
        ({"content": b"{not json", "headers_": "application/json"}, 422, "validation_error"),
        (_json(png[: len(png) // 2]), 422, "bad_image"),  # truncated
        (_json(_bomb()), 413, "image_too_large"),
        (_json(png, confidence_threshold=1.5), 422, "validation_error"),
        (_json(png, top_k=0), 422, "validation_error"),
        (_json(png, max_detections=10**6), 422, "validation_error"),
        ({"files": {"file": ("a.png", png)}, "data": {"iou_threshold": "x"}}, 422,
         "validation_error"),
        ({"files": {"other": ("a.png", png)}}, 422, "bad_image"),
        ({"content": png, "headers_": "image/png"}, 415, "unsupported_media_type"),
        ({"content": b"x" * (limit + 1), "headers_": "application/json"}, 413, "request_too_large"),
    ]  # fmt: skip
    sent = 0
    for request, status, code in cases:
        content_type = request.pop("headers_", None)
        headers = {"Authorization": f"Bearer {endpoint.key}"}
        if content_type:
            headers["Content-Type"] = content_type
        r = endpoint.client.post(endpoint.url, headers=headers, **request)
        assert (r.status_code, r.json()["error"]["code"]) == (status, code), (
            request.keys(),
            r.text,
        )
        assert set(r.json()) == {"error"}
        sent += 1
    ok = endpoint.call(**_json(png))
    assert ok.status_code == 200  # the refusals left the deployment serving
    usage = endpoint.usage()
    assert usage["by_outcome"] == {"client_error": sent, "ok": 1}
    assert usage["requests_this_month"] == sent + 1 == usage["quota_used"]


def test_keys_and_ids_are_checked_before_anything_else(client, make_user):
    owner = make_user("engineer_i")
    job = training_job(client, owner.headers)
    first = deploy(client, owner, job, tier="pro")
    second = deploy(client, owner, job, tier="pro")
    stranger = deploy(client, make_user("engineer_i"), tier="pro")
    image = _json(_png())

    def code(r: httpx.Response) -> tuple[int, str]:
        return r.status_code, r.json()["error"]["code"]

    assert code(first.call(key=None, **image)) == (401, "invalid_api_key")
    assert code(first.call(key="vap_live_short", **image)) == (401, "invalid_api_key")
    assert code(first.call(key="vap_live_" + "A" * 32, **image)) == (401, "invalid_api_key")
    assert code(first.call(key=owner.token, **image)) == (401, "invalid_api_key")  # a login
    assert code(first.call(key=second.key, **image)) == (403, "key_not_for_deployment")
    # Another user's deployment answers exactly as a missing one, even to a valid key.
    foreign = client.post(stranger.url, headers={"Authorization": f"Bearer {first.key}"}, **image)
    missing = client.post(
        f"/v1/infer/{uuid.uuid4()}", headers={"Authorization": f"Bearer {first.key}"}, **image
    )
    assert code(foreign) == code(missing) == (404, "not_found")
    assert foreign.json() == missing.json()
    # Rotation revokes the old key at once.
    rotated = client.post(f"/api/v1/deployments/{first.id}/api-keys", headers=owner.headers)
    assert code(first.call(**image)) == (401, "invalid_api_key")
    assert first.call(key=rotated.json()["api_key"], **image).status_code == 200
    # Calls without a valid key are nobody's to pay: not the owner's (who did not make
    # them); the owner's own key of another deployment is theirs.
    assert first.usage()["by_outcome"] == {"client_error": 1, "ok": 1}
    assert stranger.usage()["by_outcome"] == {}  # a foreign key's call is not theirs to pay


def test_an_inactive_deployment_refuses_calls_until_activated(endpoint):
    h = endpoint.account.headers
    base = f"/api/v1/deployments/{endpoint.id}"
    assert endpoint.client.post(f"{base}/deactivate", headers=h).status_code == 200
    r = endpoint.call(**_json(_png()))
    assert (r.status_code, r.json()["error"]["code"]) == (409, "inactive")
    assert endpoint.client.post(f"{base}/activate", headers=h).status_code == 200
    assert endpoint.call(**_json(_png())).status_code == 200
    assert endpoint.usage()["by_outcome"] == {"client_error": 1, "ok": 1}
    assert endpoint.usage()["quota_used"] == 1  # refused as inactive: not counted
    # Deleted: the id is gone, so is the key.
    assert endpoint.client.delete(base, headers=h).status_code == 204
    r = endpoint.call(**_json(_png()))
    assert (r.status_code, r.json()["error"]["code"]) == (404, "not_found")


def test_a_key_admitted_before_still_hears_its_refusals_first(endpoint):
    """A key this process has admitted has its next bodies prepared while their admission
    runs (calls._answer); the answers stay those of one step after the other."""
    h, client = endpoint.account.headers, endpoint.client
    base = f"/api/v1/deployments/{endpoint.id}"
    bad = _json(b"not an image")

    def code(r: httpx.Response) -> tuple[int, str]:
        return r.status_code, r.json()["error"]["code"]

    assert endpoint.call(**_json(_png())).json()["model_version"] == "v1"
    # Tagged since: the next call answers as the deployment is now, not as it was.
    tagged = client.patch(
        f"/api/v1/export/jobs/{endpoint.body['export_job_id']}",
        json={"version_tag": "fresh"},
        headers=h,
    )
    assert tagged.status_code == 200
    assert endpoint.call(**_json(_png())).json()["model_version"] == "fresh"
    assert client.post(f"{base}/deactivate", headers=h).status_code == 200
    assert code(endpoint.call(**bad)) == (409, "inactive")
    assert client.post(f"{base}/activate", headers=h).status_code == 200
    assert code(endpoint.call(**bad)) == (422, "bad_image")  # admitted: the body's fault
    assert client.post(f"{base}/api-keys", headers=h).status_code == 201
    assert code(endpoint.call(**bad)) == (401, "invalid_api_key")
    assert endpoint.usage()["by_outcome"] == {"ok": 2, "client_error": 2}  # not the 401
    assert endpoint.usage()["quota_used"] == 3  # inactive and revoked: not counted


def test_calls_go_on_when_the_database_drops_the_admissions_own_connections(endpoint):
    """A call's admission runs on its thread's own connection (session.first_row), not
    the pool's, whose checkout would find a dropped connection. When the database drops
    them (a restart, a proxy's idle timeout), the next call is admitted on a new one and
    counted once."""
    import psycopg

    from tests.conftest import PG_ADMIN_URL

    running_admission = """
        SELECT pid FROM pg_stat_activity
        WHERE datname = %s AND query LIKE '%%WITH looked_up AS%%' AND pid <> pg_backend_pid()
    """
    database = get_settings().database_url.rsplit("/", 1)[1]
    assert endpoint.call(**_json(_png())).status_code == 200
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        own = {pid for (pid,) in admin.execute(running_admission, (database,))}
        assert own, "no connection of the API ran the one-statement admission"
        for pid in own:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        r = endpoint.call(**_json(_png()))
        assert r.status_code == 200, r.text
        assert int(r.headers["X-RateLimit-Remaining"]) < 1000
        after = {pid for (pid,) in admin.execute(running_admission, (database,))}
        assert after - own, "the admission did not run on a new connection"
    assert endpoint.usage()["quota_used"] == 2  # each call counted once


def test_the_admissions_statement_is_planned_once_not_for_each_of_its_first_runs(endpoint):
    """PostgreSQL plans a prepared statement anew, for its parameters, on each of its
    first five runs before it may keep one plan: a deployment's first calls paid ~1 ms
    more for their admission. first_row's connections keep one plan from the first run."""
    from api.db.session import first_row, new_session
    from api.services.endpoint import admission

    def plans(db: Any) -> tuple[int, int]:
        """(generic, custom) plans so far of the admission's statement on this thread's
        connection (which earlier tests may have used)."""
        row = first_row(
            db,
            "SELECT coalesce(sum(generic_plans), 0) AS generic, "
            "coalesce(sum(custom_plans), 0) AS custom FROM pg_prepared_statements "
            "WHERE statement LIKE %(admission)s",
            {"admission": "%WITH looked_up AS%"},
        )
        return int(row.generic), int(row.custom)

    digest = admission.keys.hash_key(endpoint.key)
    deployment = uuid.UUID(endpoint.id)
    with new_session(get_settings()) as db:
        before = plans(db)
        for _ in range(3):  # counted: three calls' admissions, on this thread's connection
            params = admission._admit_params(digest, deployment, datetime.now(UTC))
            assert first_row(db, admission._admit_statement(), params) is not None
        after = plans(db)
    assert (after[0] - before[0], after[1] - before[1]) == (3, 0)
    assert endpoint.usage()["quota_used"] == 3


def test_a_call_counted_as_its_deployment_is_deleted_is_answered_404_not_500(endpoint):
    """The owner deletes the deployment while a call's admission counts it: the
    counters' insert finds its parent gone. The call is answered as one to a deleted
    deployment (it raised a foreign-key violation, a 500, before)."""
    from concurrent.futures import ThreadPoolExecutor

    import psycopg

    from api.errors import NotFound
    from api.services.endpoint import admission

    settings = get_settings()
    database = settings.database_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(database) as deleting, ThreadPoolExecutor(1) as pool:
        # Deleted, not yet committed: the admission still reads the deployment, and its
        # count waits on the deleted row until the deletion commits.
        deleting.execute("DELETE FROM deployments WHERE id = %s", (endpoint.id,))
        call = pool.submit(
            admission.admit, settings, uuid.UUID(endpoint.id), f"Bearer {endpoint.key}", "client"
        )
        waiting = (
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND datname = current_database() AND query LIKE '%WITH looked_up AS%'"
        )
        with psycopg.connect(database, autocommit=True) as watch:
            deadline = time.monotonic() + 30
            while watch.execute(waiting).fetchone()[0] == 0 and time.monotonic() < deadline:
                time.sleep(0.01)
            assert watch.execute(waiting).fetchone()[0] == 1, "the count never waited"
        deleting.commit()
        meter, outcome, admitted = call.result(timeout=30)
    assert isinstance(outcome, NotFound) and outcome.status_code == 404
    assert meter is None and admitted is None  # billed to nobody: its records went with it
    assert endpoint.call(**_json(_png(seed=1))).status_code == 404


def test_usage_adds_up_and_is_read_with_the_key_or_the_owners_login(endpoint, make_user):
    bodies = [_json(_png(seed=i)) for i in range(3)]
    sizes = []
    answered = []
    for request in bodies:
        r = endpoint.call(**request)
        assert r.status_code == 200
        sizes.append(len(r.request.content))
        answered.append(len(r.content))
    bad = endpoint.call(json={"image": "!!"})
    sizes.append(len(bad.request.content))
    answered.append(len(bad.content))
    usage = endpoint.usage()
    assert usage["deployment_id"] == endpoint.id and usage["tier"] == "enterprise"
    assert usage["monthly_quota"] is None and usage["rate_limit_per_minute"] == 1000
    assert usage["requests_this_month"] == 4 and usage["by_outcome"] == {"ok": 3, "client_error": 1}
    assert usage["request_bytes"] == sum(sizes) and usage["response_bytes"] == sum(answered)
    assert 0 < usage["latency_ms"]["p50"] <= usage["latency_ms"]["p99"]
    start = datetime.fromisoformat(usage["period_start"])
    assert start.day == 1 and start <= datetime.now(UTC)
    by_key = endpoint.client.get(
        f"/v1/deployments/{endpoint.id}/usage", headers={"Authorization": f"Bearer {endpoint.key}"}
    )
    assert by_key.status_code == 200 and by_key.json()["by_outcome"] == usage["by_outcome"]
    stranger = make_user("engineer_i")
    r = endpoint.client.get(f"/v1/deployments/{endpoint.id}/usage", headers=stranger.headers)
    assert r.status_code == 404
    r = endpoint.client.get(f"/v1/deployments/{endpoint.id}/usage")
    assert (r.status_code, r.json()["error"]["code"]) == (401, "not_authenticated")
    # The owner's records, with the key that made them.
    from sqlalchemy import select

    from api.db.models import UsageRecord
    from api.db.session import new_session

    with new_session() as db:
        rows = db.scalars(
            select(UsageRecord).where(UsageRecord.deployment_id == uuid.UUID(endpoint.id))
        ).all()
    assert sorted(r.status_code for r in rows) == [200, 200, 200, 422]
    assert {str(r.user_id) for r in rows} == {endpoint.account.id}
    assert all(r.api_key_id is not None and r.latency_ms > 0 for r in rows)


def _records(deployment_id: str) -> list[Any]:
    from sqlalchemy import select

    from api.db.models import UsageRecord
    from api.db.session import new_session

    with new_session() as db:
        return list(
            db.scalars(
                select(UsageRecord).where(UsageRecord.deployment_id == uuid.UUID(deployment_id))
            )
        )


def test_the_processs_writer_meters_calls_without_anyone_asking(endpoint):
    """Records are batched off the calls' path: the writer thread writes them by itself
    within its period, nothing read or flushed."""
    for seed in range(3):
        assert endpoint.call(**_json(_png(seed=seed))).status_code == 200
    deadline = time.monotonic() + 10
    while len(_records(endpoint.id)) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [r.status_code for r in _records(endpoint.id)] == [200, 200, 200]


def test_a_batch_drops_the_records_of_a_deleted_deployment_and_keeps_the_others(client, make_user):
    from api.db.session import new_session
    from api.services.endpoint import metering

    account = make_user("engineer_i")
    job = training_job(client, account.headers)
    kept, deleted = deploy(client, account, job), deploy(client, account, job)

    def call(endpoint: Endpoint, status: int) -> metering.Call:
        meter = metering.Meter(uuid.UUID(endpoint.id), uuid.UUID(account.id), None)
        return metering.Call(meter, status, 12.5, 100, 50)

    r = client.delete(f"/api/v1/deployments/{deleted.id}", headers=account.headers)
    assert r.status_code == 204
    with new_session() as db:
        metering.record(db, [call(kept, 200), call(deleted, 200), call(kept, 422)])
    assert sorted(r.status_code for r in _records(kept.id)) == [200, 422]
    assert _records(deleted.id) == []


def test_the_monthly_quota_refuses_until_the_month_ends(client, make_user):
    from api.db.models import EndpointCounter
    from api.db.session import new_session
    from api.services.endpoint import limits

    free = deploy(client, make_user("engineer_i"))  # 1000 calls a month
    assert free.call(**_json(_png())).status_code == 200
    with new_session() as db:
        counter = db.get(EndpointCounter, (uuid.UUID(free.id), limits.MONTH))
        counter.count = 1000
        db.commit()
    # A key admitted before has its body prepared meanwhile: still refused before it.
    r = free.call(**_json(b"not an image"))
    assert (r.status_code, r.json()["error"]["code"]) == (429, "quota_exceeded")
    r = free.call(**_json(_png()))
    assert (r.status_code, r.json()["error"]["code"]) == (429, "quota_exceeded")
    _, month_end = limits.month_window(datetime.now(UTC))
    left = (month_end - datetime.now(UTC)).total_seconds()
    assert abs(int(r.headers["Retry-After"]) - left) < 5
    assert free.usage()["by_outcome"] == {"ok": 1, "rate_limited": 2}


@pytest.mark.parametrize("dialect", ["postgresql", "sqlite"])
def test_the_counter_restarts_with_each_window_on_both_databases(
    dialect, tmp_path, client, make_user
):
    """The UPSERT itself, on PostgreSQL and on SQLite (the embedded default)."""
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from api.db.base import Base
    from api.db.models import EndpointCounter
    from api.db.session import get_engine
    from api.errors import TooManyRequests
    from api.services.endpoint import limits
    from api.services.endpoint.tiers import TierLimits

    if dialect == "postgresql":
        engine = get_engine()
        deployment_id = uuid.UUID(deploy(client, make_user("engineer_i")).id)
    else:
        engine = create_engine(f"sqlite:///{tmp_path}/limits.db")  # foreign keys not enforced
        Base.metadata.create_all(engine, tables=[EndpointCounter.__table__])
        deployment_id = uuid.uuid4()
    tier = TierLimits(rate_limit_per_minute=2, monthly_quota=3, gpu_access=False)
    t0 = datetime(2030, 1, 31, 23, 58, 10, tzinfo=UTC)
    with Session(engine) as db:
        assert limits.admit(db, deployment_id, tier, t0).remaining == 1
        assert limits.admit(db, deployment_id, tier, t0 + timedelta(seconds=30)).remaining == 0
        with pytest.raises(TooManyRequests) as refused:
            limits.admit(db, deployment_id, tier, t0 + timedelta(seconds=45))
        assert refused.value.headers["Retry-After"] == "5" and refused.value.code == "rate_limited"
        # A replica whose clock lags counts into the newer window (still refused).
        with pytest.raises(TooManyRequests):
            limits.admit(db, deployment_id, tier, t0 - timedelta(seconds=20))
        # The next minute starts afresh, but the month has had 2 calls of 3.
        assert limits.admit(db, deployment_id, tier, t0 + timedelta(seconds=60)).remaining == 1
        with pytest.raises(TooManyRequests) as over:
            limits.admit(db, deployment_id, tier, t0 + timedelta(seconds=61))
        assert over.value.code == "quota_exceeded" and over.value.headers["Retry-After"] == "49"
        # February: a new month.
        assert limits.admit(db, deployment_id, tier, t0 + timedelta(seconds=120)).remaining == 1
        rows = db.query(EndpointCounter).filter_by(deployment_id=deployment_id).count()
        assert rows == 2  # one row per period, forever


def _fresh_minute(margin: float = 25.0) -> None:
    """Sleep into the next minute when this one has less than `margin` seconds left, so a
    test's calls fall into one rate-limit window."""
    second = datetime.now(UTC).second + datetime.now(UTC).microsecond / 1e6
    if second > 60 - margin:
        time.sleep(60.5 - second)


def test_two_api_replicas_share_one_rate_limit(client, make_user):
    account = make_user("engineer_i")
    job = training_job(client, account.headers)
    sequential = deploy(client, account, job)  # free: 10 calls a minute
    burst = deploy(client, account, job)
    root = str(get_settings().storage_local_root)
    payload = _json(_png())["json"]
    with api_process(STORAGE_LOCAL_ROOT=root) as one, api_process(STORAGE_LOCAL_ROOT=root) as two:
        _fresh_minute()
        answers = []
        for i in range(12):
            base = (one, two)[i % 2]
            answers.append(
                httpx.post(
                    f"{base}/v1/infer/{sequential.id}",
                    json=payload,
                    headers={"Authorization": f"Bearer {sequential.key}"},
                    timeout=30,
                )
            )
        assert [r.status_code for r in answers] == [200] * 10 + [429] * 2, [r.text for r in answers]
        # One counter: the two processes count down together.
        remaining = [int(r.headers["X-RateLimit-Remaining"]) for r in answers]
        assert remaining == [9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 0, 0]
        for refused in answers[10:]:
            assert refused.json()["error"]["code"] == "rate_limited"
            assert 1 <= int(refused.headers["Retry-After"]) <= 60
            assert refused.headers["X-RateLimit-Limit"] == "10"

        # Concurrent calls through both replicas: exactly the limit gets through.
        codes: list[int] = []
        lock = threading.Lock()

        def fire(base: str) -> None:
            r = httpx.post(
                f"{base}/v1/infer/{burst.id}",
                json=payload,
                headers={"Authorization": f"Bearer {burst.key}"},
                timeout=60,
            )
            with lock:
                codes.append(r.status_code)

        threads = [threading.Thread(target=fire, args=((one, two)[i % 2],)) for i in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert Counter(codes) == {200: 10, 429: 10}
    assert sequential.usage()["by_outcome"] == {"ok": 10, "rate_limited": 2}
    assert burst.usage()["by_outcome"] == {"ok": 10, "rate_limited": 10}
    # Calls refused by the rate limit are taken back from the month's count.
    assert sequential.usage()["quota_used"] == burst.usage()["quota_used"] == 10


class StandInModalCls:
    """Where the endpoint looks up Modal's `Inference` class: one local 'container' of
    modal_app.Inference whose method bodies run in-process with `.local()`."""

    def __init__(self, fail: Exception | None = None, delay: float = 0.0) -> None:
        import modal_app

        self.instance = modal_app.Inference()
        self.looked_up: list[tuple[str, str, str | None]] = []
        self.calls: list[tuple[dict, dict]] = []
        self.fail, self.delay = fail, delay

    def __call__(self, app_name: str, name: str, environment: str | None) -> Any:
        self.looked_up.append((app_name, name, environment))
        if self.fail is not None:
            raise self.fail
        outer = self

        class Remote:
            def remote(self, model: dict, image: bytes, params: dict) -> dict:
                time.sleep(outer.delay)
                outer.calls.append((model, params))
                return outer.instance.predict.local(model, image, params)  # type: ignore[no-any-return]

        return lambda: type("Inference", (), {"predict": Remote()})()


@pytest.fixture()
def on_s3(app, s3_server):  # type: ignore[no-untyped-def]
    """The in-process API on S3 storage, whose presigned URLs Modal's side can fetch."""
    from api.deps import current_settings
    from api.services.storage import get_storage

    settings = s3_settings(s3_server)
    get_storage(settings).check()
    app.dependency_overrides[current_settings] = lambda: settings
    yield settings
    app.dependency_overrides.pop(current_settings, None)


def test_gpu_deployments_run_on_modals_inference_class(on_s3, client, make_user, monkeypatch):
    from api.services.endpoint import gpu
    from vap_runtime import Model

    stand_in = StandInModalCls()
    monkeypatch.setattr(gpu, "cls_factory", stand_in)
    account = make_user("engineer_i")
    job = training_job(client, account.headers)
    export_id = export_row(account.id, job, exported_model(), settings=on_s3)
    r = client.post(
        "/api/v1/deployments",
        json={"export_job_id": export_id, "strategy": "platform_endpoint", "name": "gpu",
              "tier": "pro", "config": {"device": "gpu"}},
        headers=account.headers,
    )  # fmt: skip
    assert r.status_code == 201, r.text
    endpoint = Endpoint(client, account, r.json())
    image = _png(seed=5)
    answer = endpoint.call(**_json(image, top_k=2))
    assert answer.status_code == 200, answer.text
    expected = Model(exported_model().folder).predict(image, top_k=2)
    assert [c["class_id"] for c in answer.json()["classes"]] == [
        c["class_id"] for c in expected["classes"]
    ]
    assert stand_in.looked_up == [("vision-ai-platform", "Inference", None)]
    model, params = stand_in.calls[0]
    assert model["checksum_sha256"] == exported_model().checksum_sha256
    assert params == {"top_k": 2, "confidence": 0.25, "iou": 0.45, "max_detections": 100}
    assert endpoint.call(**_json(image)).status_code == 200
    assert list(stand_in.instance.models) == [model["checksum_sha256"]]  # loaded once
    # Bad bytes are refused here, before a GPU is paid for.
    assert endpoint.call(json={"image": base64.b64encode(b"nope").decode()}).status_code == 422
    assert len(stand_in.calls) == 2

    # Modal out of reach, or too slow: 503 in the common shape, metered.
    monkeypatch.setattr(gpu, "cls_factory", StandInModalCls(fail=ConnectionError("no route")))
    down = endpoint.call(**_json(image))
    assert (down.status_code, down.json()["error"]["code"]) == (503, "gpu_unavailable")
    slow = on_s3.model_copy(update={"modal_call_timeout_seconds": 0.3})
    from api.deps import current_settings

    client.app.dependency_overrides[current_settings] = lambda: slow
    monkeypatch.setattr(gpu, "cls_factory", StandInModalCls(delay=5))
    started = time.monotonic()
    late = endpoint.call(**_json(image))
    assert (late.status_code, late.json()["error"]["code"]) == (503, "gpu_unavailable")
    assert time.monotonic() - started < 3
    client.app.dependency_overrides[current_settings] = lambda: on_s3
    assert endpoint.usage()["by_outcome"] == {"ok": 2, "client_error": 1, "server_error": 2}


def test_health(client):
    r = client.get("/v1/health")
    assert r.status_code == 200 and r.json()["status"] == "ok"


def test_overlapping_calls_run_on_a_one_thread_session_with_the_same_answers():
    import numpy as np

    from api.services.endpoint.sessions import Runner

    runner = Runner(exported_model().model_file)
    x = np.random.default_rng(0).random((1, 3, 32, 32), dtype=np.float32)
    alone = runner(x)[0]
    assert runner.overlapping is None  # calls one at a time make no second session
    answers: list[Any] = []
    for _ in range(50):  # until two calls overlap (the first round, nearly always)
        start = threading.Barrier(4)

        def call(start: threading.Barrier = start) -> None:
            start.wait()
            answers.append(runner(x)[0])

        threads = [threading.Thread(target=call) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if runner.overlapping is not None:
            break
    assert runner.overlapping is not None
    assert runner.overlapping.get_session_options().intra_op_num_threads == 1
    for answer in answers:
        np.testing.assert_allclose(answer, alone, rtol=0, atol=1e-5)


def test_the_model_cache_loads_each_model_once_and_keeps_the_most_recent():
    from api.services.endpoint.sessions import ModelCache

    cache = ModelCache(capacity=2)
    loads: Counter[str] = Counter()

    def loader(key: str) -> Any:
        def load() -> object:
            time.sleep(0.05)  # long enough for every thread to ask while it loads
            loads[key] += 1
            return object()

        return load

    got: list[object] = []
    threads = [
        threading.Thread(target=lambda: got.append(cache.get("a", loader("a")))) for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert loads["a"] == 1 and len(set(map(id, got))) == 1
    cache.get("b", loader("b"))
    cache.get("a", loader("a"))  # a is now the most recent
    cache.get("c", loader("c"))  # evicts b, the least recent
    assert cache.keys() == ["a", "c"] and loads == {"a": 1, "b": 1, "c": 1}


def test_a_stored_model_that_does_not_match_its_checksum_is_refused(client, make_user):
    from api.db.models import Deployment, ExportJob
    from api.db.session import new_session

    endpoint = deploy(client, make_user("engineer_i"))
    with new_session() as db:
        deployment = db.get(Deployment, uuid.UUID(endpoint.id))
        db.get(ExportJob, deployment.export_job_id).checksum_sha256 = "f" * 64
        db.commit()
    r = endpoint.call(**_json(_png()))
    assert (r.status_code, r.json()["error"]["code"]) == (503, "model_unavailable")
    assert endpoint.usage()["by_outcome"] == {"server_error": 1}


def test_calls_with_a_wrong_key_are_never_billed_and_are_throttled(endpoint):
    """200 calls with a well-formed key that is not the deployment's: none touches the
    owner's usage or quota, and past the per-minute allowance the address is answered
    429 with Retry-After; a valid key from the same address still gets through."""
    from api.services.endpoint import limits
    from api.settings import get_settings

    allowed = get_settings().infer_auth_failures_per_minute
    image = _json(_png())
    # Shares the real key's prefix, differs in its tail: a check of the prefix alone
    # would let it through.
    forged = endpoint.key[:-6] + ("AAAAAA" if not endpoint.key.endswith("AAAAAA") else "BBBBBB")
    answers = [endpoint.call(key=forged, **image) for _ in range(200)]
    statuses = [r.status_code for r in answers]
    assert statuses[:allowed] == [401] * allowed
    throttled = [r for r in answers if r.status_code == 429]
    # A minute may turn during the loop and allow one more batch of 401s, no more.
    assert len(throttled) >= 200 - 2 * allowed and set(statuses) == {401, 429}
    assert {r.json()["error"]["code"] for r in throttled} == {"auth_throttled"}
    assert all(1 <= int(r.headers["Retry-After"]) <= 60 for r in throttled)
    usage = endpoint.usage()
    assert usage["requests_this_month"] == 0 and usage["by_outcome"] == {}
    assert usage["quota_used"] == 0
    assert endpoint.call(**image).status_code == 200  # the real key: not throttled
    assert endpoint.usage()["requests_this_month"] == 1
    # Per address: another one starts from nothing.
    from datetime import UTC, datetime

    from api.db.session import new_session

    with new_session() as db:
        other = limits.refuse_failed_auth(
            db, uuid.UUID(endpoint.id), "198.51.100.7", allowed, datetime.now(UTC)
        )
    assert other is None


def _unshared_export(client: Any, account: Any) -> str:
    """An export of the test model stored without a checksum: cached under its own id,
    so no other test's deployment serves the same model."""
    import dataclasses

    job = training_job(client, account.headers)
    return export_row(account.id, job, dataclasses.replace(exported_model(), checksum_sha256=None))


def test_a_deployments_model_is_loaded_when_activated_and_dropped_when_not(client, make_user):
    """Created or activated, a platform endpoint's model is in this process's cache before
    its first call, and its key is known as admitted (its first call prepares the image
    during its admission); deactivated or deleted, the model leaves the cache."""
    from api.services.endpoint import admission, sessions

    account = make_user("engineer_i")
    export_id = _unshared_export(client, account)
    payload = {"export_job_id": export_id, "strategy": "platform_endpoint", "name": "warm"}
    r = client.post("/api/v1/deployments", json=payload, headers=account.headers)
    assert r.status_code == 201, r.text
    deployment_id, key = uuid.UUID(r.json()["id"]), f"Bearer {r.json()['api_key']}"
    url = f"/api/v1/deployments/{deployment_id}"
    assert export_id in sessions.loaded()
    expected = admission.last_admitted(deployment_id, key)
    assert expected is not None and expected.model.cache_key == export_id  # no checksum
    assert admission.last_admitted(uuid.uuid4(), key) is None  # a hint for its own only
    assert client.post(url + "/deactivate", headers=account.headers).status_code == 200
    assert export_id not in sessions.loaded()
    assert client.post(url + "/activate", headers=account.headers).status_code == 200
    assert export_id in sessions.loaded()
    assert client.delete(url, headers=account.headers).status_code == 204
    assert export_id not in sessions.loaded()


def test_a_starting_process_loads_the_models_of_active_deployments(client, make_user):
    from api.services.endpoint import admission, keys, sessions, warming

    account = make_user("engineer_i")
    export_id = _unshared_export(client, account)
    payload = {"export_job_id": export_id, "strategy": "platform_endpoint", "name": "warm"}
    created = client.post("/api/v1/deployments", json=payload, headers=account.headers).json()
    deployment_id, key = uuid.UUID(created["id"]), f"Bearer {created['api_key']}"
    # As in a process started after the deployment: nothing loaded, no key seen.
    sessions.drop(export_id)
    admission._LAST_ADMITTED.pop(keys.hash_key(created["api_key"]))
    assert admission.last_admitted(deployment_id, key) is None
    # The tests' settings turn startup warming off for the API processes they start.
    started = warming.at_startup(get_settings().model_copy(update={"infer_warm_at_startup": True}))
    assert started is not None
    started.result()
    assert export_id in sessions.loaded()
    assert admission.last_admitted(deployment_id, key) is not None
