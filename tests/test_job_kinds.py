"""Job kinds as plug-ins: every kind is registered with its facts, the function it names
exists, and an event a kind does not take is refused with that event's code."""

from __future__ import annotations

import importlib
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event

from api.db.models import DiagnosticJob, JobKind, JobStatus
from api.db.session import new_session
from api.errors import BadRequest
from api.services.jobs import events, inputs, kinds, tokens
from api.settings import get_settings
from tests.jobs import diagnostic_job


def test_every_job_kind_is_registered_with_its_own_table():
    assert set(kinds.KINDS) == set(JobKind)
    tables = {spec.model.__tablename__ for spec in kinds.KINDS.values()}
    assert len(tables) == len(JobKind)
    for kind, spec in kinds.KINDS.items():
        assert spec.kind == kind
        assert kinds.kind_of(spec.model()) == kind


@pytest.mark.parametrize("kind", list(JobKind))
def test_each_kinds_function_exists_in_functions(kind):
    module = importlib.import_module(f"functions.{kinds.KINDS[kind].function}")
    assert callable(module.run)


def test_each_declared_input_has_a_builder_and_uploads_go_under_the_kinds_prefix():
    for spec in kinds.KINDS.values():
        assert set(spec.inputs) <= set(inputs.BUILDERS), spec.name
        assert spec.artifact_prefix.format(id="x").split("/")[0] in (
            "checkpoints", "exports", "results"
        )  # fmt: skip


@pytest.mark.parametrize(
    ("event_name", "code"),
    [("checkpoint", "not_training"), ("results", "bad_results"), ("export", "bad_export"),
     ("validation", "not_training")],
)  # fmt: skip
def test_a_kind_without_a_hook_refuses_the_event_with_its_code(event_name, code):
    refusing = [s for s in kinds.KINDS.values() if getattr(s, f"on_{event_name}") is None]
    taking = [s for s in kinds.KINDS.values() if getattr(s, f"on_{event_name}") is not None]
    assert refusing and taking
    for spec in refusing:
        with pytest.raises(BadRequest) as refused:
            kinds.handler(spec, event_name)
        assert refused.value.code == code
        assert spec.name in refused.value.message
    for spec in taking:
        assert kinds.handler(spec, event_name) is getattr(spec, f"on_{event_name}")


@pytest.fixture()
def owner(make_user):  # type: ignore[no-untyped-def]
    return make_user("engineer_i")


def _running_diagnostic(user_id: str) -> tuple[uuid.UUID, dict[str, str]]:
    job_id = diagnostic_job(user_id, status=JobStatus.RUNNING, attempt=1)
    token = tokens.create(get_settings(), job_id, JobKind.DIAGNOSTIC, 1, 600)
    return job_id, {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize(
    ("type_", "data", "code"),
    [
        ("checkpoint", {"key": "checkpoints/x/last.ckpt", "epoch": 1}, "not_training"),
        ("results", {"key": "results/x/results.json", "count": 1}, "bad_results"),
        ("export", {"model_key": "exports/x/model.onnx"}, "bad_export"),
    ],
)
def test_a_durable_event_the_kind_does_not_take_is_refused_over_http_and_changes_nothing(
    client, owner, type_, data, code
):  # type: ignore[no-untyped-def]
    job, auth = _running_diagnostic(owner.id)
    url = f"/api/v1/jobs/{job}/event"
    r = client.post(url, json={"attempt": 1, "seq": 1, "type": type_, "data": data}, headers=auth)
    assert r.status_code == 400 and r.json()["error"]["code"] == code
    assert "diagnostic" in r.json()["error"]["message"]
    # Nothing was kept, not even its seq: the same seq is applied next.
    r = client.post(url, json={"attempt": 1, "seq": 1, "type": "log", "data": {}}, headers=auth)
    assert r.json()["applied"] is True
    with new_session() as db:
        assert [e.type for e in events.after(db, job, 0)] == ["log"]


@contextmanager
def _statements() -> Iterator[list[str]]:
    """The SQL statements a fresh session runs inside the block."""
    seen: list[str] = []
    with new_session() as db:
        engine = db.get_bind()

        def count(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
            seen.append(statement)

        event.listen(engine, "before_cursor_execute", count)
        try:
            yield seen
        finally:
            event.remove(engine, "before_cursor_execute", count)


def test_find_reads_any_kind_of_job_in_two_statements_and_a_missing_one_in_one(owner):
    job_id = diagnostic_job(owner.id)  # the last kind registered: the old probes' worst case
    with _statements() as seen, new_session() as db:
        job = kinds.find(db, job_id)
        assert isinstance(job, DiagnosticJob) and job.id == job_id
        assert len(seen) == 2
        seen.clear()
        assert kinds.find(db, uuid.uuid4()) is None
        assert len(seen) == 1
