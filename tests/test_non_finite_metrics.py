"""Numbers that are not finite. A training config refuses NaN and infinities with 422
naming the field. A diverging run reports its NaN or infinite loss through the real
callback routes, and every reader shows it as it was: the API's answers ("nan", "inf",
"-inf"), the event log, the CLI; never a 500, never a silent 0 or null."""

from __future__ import annotations

import io
import json
import math
import os
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, select, text

from api.db.models import JobKind, TrainingJob, TrainingValidationResult
from api.db.session import new_session, storable_json
from api.services.jobs import tokens
from api.settings import get_settings
from contract.jobs import JobSpec
from functions.client import JobClient
from tests import dataset_builders as build
from tests.conftest import upload_dataset
from tests.jobs import training_job

NAN, INF = float("nan"), float("inf")
ROOT = Path(__file__).parents[1]


@pytest.fixture()
def engineer(make_user):  # type: ignore[no-untyped-def]
    return make_user("engineer_i")


@pytest.mark.parametrize(
    ("field", "literal"),
    [
        ("learning_rate", "NaN"),
        ("learning_rate", "Infinity"),
        ("learning_rate", "-Infinity"),
        ("learning_rate", "1e999"),  # read as infinity
        ("epochs", "NaN"),  # an integer setting: int(NaN) raised
        ("epochs", "Infinity"),
    ],
)
def test_a_training_config_refuses_non_finite_numbers_with_422_naming_the_field(
    client, engineer, field, literal
):
    dataset = upload_dataset(client, engineer, files=build.imagefolder_files(train=2, val=1))
    assert dataset.json()["status"] == "ready", dataset.text
    # Python's JSON (the API's) reads these non-standard literals as floats.
    body = (
        f'{{"dataset_id": "{dataset.json()["id"]}", "framework": "timm", '
        f'"model_name": "resnet18", "start": false, "config": {{"{field}": {literal}}}}}'
    )
    headers = {**engineer.headers, "Content-Type": "application/json"}
    r = client.post("/api/v1/training/jobs", content=body, headers=headers)
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert (error["code"], error["message"]) == (
        "invalid_config",
        f"config.{field}: must be a finite number",
    )
    jobs = client.get("/api/v1/training/jobs", headers=engineer.headers).json()
    assert jobs["total"] == 0  # nothing was created


def _register(base: str) -> tuple[httpx.Client, str, str]:
    email, password = f"nan-{uuid.uuid4().hex[:8]}@example.com", "diverging run 1"
    api = httpx.Client(base_url=base, timeout=30)
    assert api.post("/api/v1/auth/register", json={"email": email, "password": password}).is_success
    login = api.post("/api/v1/auth/login", data={"username": email, "password": password})
    api.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
    return api, email, password


def _vap(home: Path, *args: str) -> str:
    env = {"PATH": os.environ["PATH"], "HOME": str(home), "VAP_CONFIG": str(home / "vap.json"),
           "PYTHONPATH": str(ROOT), "COLUMNS": "200"}  # fmt: skip
    vap = Path(sys.executable).parent / "vap"
    done = subprocess.run([str(vap), *args], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_a_diverging_run_reports_nan_and_infinity_and_every_reader_shows_them(
    live_server, tmp_path
):
    api, email, password = _register(live_server)
    job_id = training_job(api)  # as the dispatcher leaves it (queued): its worker is this test
    token = tokens.create(get_settings(), job_id, JobKind.TRAINING, 1, 600)
    spec = JobSpec(job_id=str(job_id), kind="training", attempt=1, callback_token=token,
                   callback_url=f"{live_server}/api/v1/jobs/{job_id}")  # fmt: skip
    worker = JobClient(spec)  # the functions' own client, over real HTTP

    # Its first heartbeat (queued -> running), then the running job's quick path.
    assert worker.heartbeat(progress=10, epoch=1, total_epochs=2,
                            metrics={"loss": NAN, "lr": 0.1}).applied  # fmt: skip
    assert worker.heartbeat(progress=40, epoch=1, total_epochs=2, metrics={"loss": INF}).applied
    first = worker.validation(
        epoch=1, primary_metric_name="val_loss", primary_metric_value=NAN,
        primary_metric_direction="minimize",
        metrics={"val_loss": NAN, "accuracy": 0.1, "grad_norm": INF},
    )  # fmt: skip
    assert first.applied and first.is_best  # the only epoch so far
    assert worker.event("log", message="loss diverged", loss=NAN).applied
    # A worker whose client writes JSON with Python's defaults sends the bare literals.
    worker.seq += 1
    raw = worker.http.post(
        "heartbeat",
        content=f'{{"attempt": 1, "seq": {worker.seq}, "progress": 60, "epoch": 2, '
        '"total_epochs": 2, "metrics": {"loss": -Infinity}}',
        headers={"Content-Type": "application/json"},
    )
    assert raw.status_code == 200 and raw.json()["applied"], raw.text
    second = worker.validation(epoch=2, primary_metric_name="val_loss", primary_metric_value=0.8,
                               metrics={"val_loss": 0.8, "accuracy": 0.4})  # fmt: skip
    assert second.is_best  # any number beats a NaN
    assert worker.done("failed", metrics={"loss": NAN}, error="loss diverged").applied

    # The job as the API shows it.
    job = api.get(f"/api/v1/training/jobs/{job_id}").json()
    assert job["status"] == "failed"
    assert job["current_metrics"] == {"loss": "-inf"}
    assert job["final_metrics"] == {"loss": "nan"}
    assert (job["best_epoch"], job["best_metrics"]) == (2, {"val_loss": 0.8, "accuracy": 0.4})
    history = api.get(f"/api/v1/training/jobs/{job_id}/metrics").json()
    assert [(e["epoch"], e["primary"], e["is_best"]) for e in history["epochs"]] == [
        (1, "nan", False),
        (2, 0.8, True),
    ]
    assert history["epochs"][0]["metrics"] == {"val_loss": "nan", "accuracy": 0.1,
                                               "grad_norm": "inf"}  # fmt: skip
    results = api.get(f"/api/v1/training/jobs/{job_id}/validation-results").json()
    assert [r["primary_metric_value"] for r in results] == ["nan", 0.8]
    # PostgreSQL holds a real NaN in the double precision column, not a stand-in.
    with new_session() as db:
        stored = db.scalar(
            select(text("primary_metric_value")).select_from(TrainingValidationResult)
            .where(TrainingValidationResult.training_job_id == job_id,
                   TrainingValidationResult.epoch == 1)
        )  # fmt: skip
    assert isinstance(stored, float) and math.isnan(stored)

    # The event log.
    events = api.get(f"/api/v1/jobs/{job_id}/events", params={"after": 0}).json()["events"]
    beats = [e["data"]["metrics"] for e in events if e["type"] == "heartbeat"]
    assert beats == [{"loss": "nan", "lr": 0.1}, {"loss": "inf"}, {"loss": "-inf"}]
    (log,) = [e["data"] for e in events if e["type"] == "log"]
    assert log == {"message": "loss diverged", "loss": "nan"}
    validations = [e["data"] for e in events if e["type"] == "validation"]
    assert validations[0]["primary"] == {"val_loss": "nan"}
    assert validations[0]["metrics"]["grad_norm"] == "inf"
    assert events[-1]["data"]["metrics"] == {"loss": "nan"}  # the final status

    # The CLI: `vap jobs logs`, `vap jobs show`.
    _vap(tmp_path, "login", "--server", live_server, "--email", email, "--password", password)
    logs = _vap(tmp_path, "jobs", "logs", str(job_id))
    assert "10%  loss nan" in logs and "40%  loss inf" in logs and "60%  loss -inf" in logs
    assert "epoch 1: accuracy 0.1000  val_loss nan  grad_norm inf" in logs, logs
    shown = _vap(tmp_path, "jobs", "show", str(job_id))
    assert 'current_metrics {"loss": "-inf"}' in shown and 'final_metrics {"loss": "nan"}' in shown

    # What `vap train` prints as the events come (its live view), from the same events.
    from vap_client import Client
    from vap_client.follow import LiveView

    out, err = io.StringIO(), io.StringIO()
    view = LiveView(out=out, err=err, label="training")
    with Client(live_server, token=api.headers["Authorization"].split()[1]) as client:
        for event in client.events_page(str(job_id), 0).events:
            view(event)
    view.close()
    assert "epoch 1: accuracy 0.1000  val_loss nan  grad_norm inf" in out.getvalue()
    assert "epoch 2: accuracy 0.4000  val_loss 0.8000  *best*" in out.getvalue()


def test_json_columns_and_metric_columns_keep_non_finite_numbers_on_sqlite_too(tmp_path):
    """The embedded default: SQLite would turn a NaN into NULL (refused by a NOT NULL
    column) and keep NaN in JSON for readers to turn into null."""
    from sqlalchemy.orm import Session

    from api.db.base import Base

    # The engine as the API makes it for SQLite (foreign keys unchecked: no rows around).
    engine = create_engine(f"sqlite:///{tmp_path / 'db.sqlite'}", json_serializer=storable_json)
    Base.metadata.create_all(engine)
    with Session(engine) as db:
        job = TrainingJob(user_id=uuid.uuid4(), dataset_id=uuid.uuid4(), model_name="resnet18",
                          task_type="image_classification", framework="timm",
                          current_metrics={"loss": NAN, "nested": [INF, -INF, 1.5]})  # fmt: skip
        db.add(job)
        db.flush()
        for epoch, value in enumerate(("nan", INF, -INF, NAN, 0.5), start=1):
            db.add(TrainingValidationResult(
                training_job_id=job.id, epoch=epoch, task_type="image_classification",
                primary_metric_name="loss", primary_metric_value=value, metrics={},
            ))  # fmt: skip
        db.commit()
        job_id = job.id
    with Session(engine) as db:
        job = db.get(TrainingJob, job_id)
        assert job.current_metrics == {"loss": "nan", "nested": ["inf", "-inf", 1.5]}
        values = db.scalars(
            select(TrainingValidationResult.primary_metric_value)
            .where(TrainingValidationResult.training_job_id == job_id)
            .order_by(TrainingValidationResult.epoch)
        ).all()
        assert values == ["nan", "inf", "-inf", "nan", 0.5]
    assert json.loads(storable_json({"a": [NAN]})) == {"a": ["nan"]}
