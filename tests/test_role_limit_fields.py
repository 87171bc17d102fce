"""A job request beyond its owner's role limits is refused naming the field it asked too
much in, so a form can show the API's message beside that control."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from api.settings import DEFAULT_JOB_LIMITS, get_settings
from tests.conftest import upload_dataset
from tests.digits import digits_imagefolder_zip


@pytest.fixture()
def default_limits(app) -> Iterator[None]:  # type: ignore[no-untyped-def]
    """Every role at its real limits (the tests' settings raise them for everyone)."""
    from api.deps import current_settings

    settings = get_settings().model_copy(update={"job_limits": dict(DEFAULT_JOB_LIMITS)})
    app.dependency_overrides[current_settings] = lambda: settings
    try:
        yield
    finally:
        app.dependency_overrides.pop(current_settings)


@pytest.mark.parametrize(
    ("asked", "field", "message"),
    [
        ({"max_attempts": 5}, "max_attempts", "a guest may ask at most 2 attempts"),
        (
            {"timeout_seconds": 3 * 3600},
            "timeout_seconds",
            "a guest's job may run at most 2 hours (7200 s)",
        ),
    ],
)
def test_a_request_over_the_role_limit_names_its_field(  # type: ignore[no-untyped-def]
    client, make_user, default_limits, asked, field, message
) -> None:
    guest = make_user()
    r = upload_dataset(client, guest, archive=("digits.zip", digits_imagefolder_zip(per_class=2)))
    assert r.status_code == 201 and r.json()["status"] == "ready", r.text
    body = {"dataset_id": r.json()["id"], "framework": "timm", "model_name": "resnet18",
            "start": False, **asked}  # fmt: skip
    r = client.post("/api/v1/training/jobs", json=body, headers=guest.headers)
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["code"] == "over_role_limit"
    assert error["message"] == f"{field}: {message}"
    assert error["details"] == [{"field": field, "message": message}]
    listed = client.get("/api/v1/training/jobs", headers=guest.headers).json()
    assert listed["total"] == 0  # nothing was written
