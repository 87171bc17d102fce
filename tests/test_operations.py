"""Health, Prometheus metrics, request ids and structured logs."""

from __future__ import annotations

import json


def test_health_reports_database_and_storage(client):
    r = client.get("/health")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok"
    assert (
        body["checks"]["database"]["ok"] and body["checks"]["database"]["backend"] == "postgresql"
    )
    assert body["checks"]["storage"]["ok"] and body["checks"]["storage"]["backend"] == "local"


def test_health_is_503_naming_the_database_when_it_is_unreachable(tmp_path):
    import os

    from fastapi.testclient import TestClient

    from api.main import create_app
    from api.settings import get_settings

    # A port nothing listens on: the check must fail fast and say which part failed.
    saved = os.environ["DATABASE_URL"]
    os.environ["DATABASE_URL"] = "postgresql://postgres@127.0.0.1:1/nowhere?connect_timeout=2"
    get_settings.cache_clear()
    try:
        with TestClient(create_app(), raise_server_exceptions=False) as c:
            r = c.get("/health")
    finally:
        os.environ["DATABASE_URL"] = saved
        get_settings.cache_clear()
    assert r.status_code == 503
    body = r.json()
    assert body["checks"]["database"]["ok"] is False
    assert body["checks"]["storage"]["ok"] is True
    assert body["error"]["code"] == "unhealthy" and "database" in body["error"]["message"]


def test_metrics_count_requests_by_route_template(client, make_user):
    user = make_user()
    project = client.post("/api/v1/projects", json={"name": "m"}, headers=user.headers).json()
    client.get(f"/api/v1/projects/{project['id']}", headers=user.headers)
    text = client.get("/metrics").text
    # The template, not the concrete id: one series per route, whatever the ids.
    assert 'route="/api/v1/projects/{project_id}"' in text
    assert project["id"] not in text
    assert "vap_http_request_duration_seconds_bucket" in text


def test_metrics_report_jobs_by_status_from_the_database(client, make_user):
    import uuid

    from api.db.models import Dataset, DatasetFormat, DatasetStatus, JobStatus, TrainingJob
    from api.db.session import new_session

    user = make_user()
    with new_session() as db:
        ds = Dataset(
            owner_id=uuid.UUID(user.id),
            name="d",
            format=DatasetFormat.YOLO,
            storage_prefix="datasets/x/",
            status=DatasetStatus.READY,
        )
        db.add(ds)
        db.flush()
        for _ in range(3):
            db.add(
                TrainingJob(
                    user_id=uuid.UUID(user.id),
                    dataset_id=ds.id,
                    task_type="object_detection",
                    framework="ultralytics",
                    model_name="yolo11n",
                    status=JobStatus.FAILED,
                )
            )
        db.commit()
    lines = [ln for ln in client.get("/metrics").text.splitlines() if ln.startswith("vap_jobs{")]
    failed = [ln for ln in lines if 'kind="training"' in ln and 'status="failed"' in ln]
    assert failed and float(failed[0].split()[-1]) >= 3


def test_every_response_carries_a_request_id(client):
    generated = client.get("/health").headers["x-request-id"]
    assert len(generated) == 32
    assert (
        client.get("/health", headers={"X-Request-ID": "abc-123"}).headers["x-request-id"]
        == "abc-123"
    )
    # A hostile id (header injection, huge) is replaced, not echoed.
    assert (
        client.get("/health", headers={"X-Request-ID": "x" * 500}).headers["x-request-id"]
        != "x" * 500
    )


def test_access_logs_are_json_lines_with_the_request_id(client, capfd):
    from api.observability.logs import configure_logging

    configure_logging("INFO", "json")
    try:
        client.get("/health", headers={"X-Request-ID": "log-me-42"})
        lines = [json.loads(ln) for ln in capfd.readouterr().err.splitlines() if ln.startswith("{")]
    finally:
        configure_logging("WARNING", "json")
    access = [
        ln for ln in lines if ln.get("event") == "request" and ln.get("request_id") == "log-me-42"
    ]
    assert access, lines
    assert access[0]["route"] == "/health" and access[0]["status"] == 200
    assert "duration_ms" in access[0] and "timestamp" in access[0]
