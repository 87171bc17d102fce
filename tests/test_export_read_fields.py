"""What an export row says at a glance (ExportJobRead): its measured latency and its
validation verdict, read from what the export function recorded."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from api.schemas.exports import ExportJobRead


def _row(**fields: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "id": uuid.uuid4(),
        "user_id": uuid.uuid4(),
        "status": "completed",
        "runner": "local",
        "attempt": 1,
        "max_attempts": 2,
        "progress_percent": 100.0,
        "error_message": None,
        "last_heartbeat_at": now,
        "created_at": now,
        "started_at": now,
        "completed_at": now,
        "training_job_id": uuid.uuid4(),
        "version": 1,
        "version_tag": None,
        "is_default": True,
        "format": "onnx",
        "framework": "timm",
        "task_type": "image_classification",
        "config": {},
        "validation_metrics": None,
        "model_info": None,
        "checksum_sha256": None,
        **fields,
    }


def test_a_validated_export_reads_its_median_latency_and_verdict() -> None:
    read = ExportJobRead.model_validate(
        _row(
            validation_metrics={"metric": "accuracy", "passed": True, "drop": 0.0},
            model_info={"size_bytes": 123, "latency_ms": {"median_ms": 5.496, "p90_ms": 14.0}},
        )
    )
    assert read.latency_median_ms == 5.496
    assert read.validation_passed is True
    assert read.size_bytes == 123


def test_an_export_that_failed_validation_says_so() -> None:
    read = ExportJobRead.model_validate(
        _row(status="failed", validation_metrics={"metric": "accuracy", "passed": False})
    )
    assert read.validation_passed is False
    assert read.latency_median_ms is None


def test_an_export_not_yet_measured_has_neither() -> None:
    read = ExportJobRead.model_validate(_row(status="running", model_info={"latency_ms": {}}))
    assert read.latency_median_ms is None
    assert read.validation_passed is None
