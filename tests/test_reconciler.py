"""The reconciler's rule for silent workers: past the heartbeat timeout a job's attempt
is lost; a live one is left alone."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from api.db.models import DiagnosticJob, JobStatus
from api.db.session import new_session
from api.services.jobs.reconciler import reconcile
from api.settings import get_settings
from tests.jobs import diagnostic_job


def _running_job(user_id: str, silent_for: timedelta) -> uuid.UUID:
    seen = datetime.now(UTC) - silent_for
    return diagnostic_job(user_id, status=JobStatus.RUNNING, max_attempts=1, last_heartbeat_at=seen)


def test_a_silent_job_fails_and_a_live_one_is_left_alone(make_user):
    user = make_user("engineer_i")
    timeout = get_settings().heartbeat_timeout_seconds
    silent = _running_job(user.id, timedelta(seconds=timeout + 60))
    alive = _running_job(user.id, timedelta(seconds=1))
    with new_session() as db:
        summary = reconcile(db, get_settings())
    assert str(silent) in summary.failed and str(alive) not in summary.failed
    with new_session() as db:
        gone = db.get(DiagnosticJob, silent)
        assert gone.status == JobStatus.FAILED
        assert (
            "no heartbeat for" in gone.error_message and f"limit {timeout} s" in gone.error_message
        )
        assert db.get(DiagnosticJob, alive).status == JobStatus.RUNNING


def test_a_scheduler_triggers_a_pass_with_the_reconcile_token_or_an_admin_login(
    app, client, admin, make_user
):
    strict = get_settings().model_copy(update={"reconcile_token": "r" * 40})
    from api.deps import current_settings as dependency

    app.dependency_overrides[dependency] = lambda: strict
    try:
        url = "/api/v1/operations/reconcile"
        assert client.post(url, headers={"X-Reconcile-Token": "r" * 40}).status_code == 200
        assert client.post(url, headers={"X-Reconcile-Token": "wrong"}).status_code == 401
        assert client.post(url, headers=admin.headers).json()["checked"] >= 0
        assert client.post(url, headers=make_user("manager").headers).status_code == 403
        assert client.post(url).status_code == 401
    finally:
        app.dependency_overrides.pop(dependency)
