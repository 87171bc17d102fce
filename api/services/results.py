"""Reading what test runs and inference jobs left in storage: the per-image results file
(`results/{job}/images.json`) a page at a time, and their visualizations."""

from __future__ import annotations

import json
from typing import Any

from api.errors import Conflict
from api.schemas.evaluation import ResultsPage
from api.services.storage import ObjectNotFound, get_storage
from api.settings import Settings


def page(settings: Settings, job: Any, offset: int, limit: int) -> ResultsPage:
    """Images `offset`..`offset+limit` of the job's results, with presigned links to the
    visualizations of those images. Conflict while the job has written none."""
    if not job.results_key:
        raise Conflict(f"The job is {job.status.value} and has no results yet", code="no_results")
    storage = get_storage(settings)
    try:
        body = json.loads(storage.get_bytes(job.results_key))
    except ObjectNotFound:
        raise Conflict("The job's results are gone from storage", code="no_results") from None
    images = body.get("images", [])[offset : offset + limit]
    visuals: dict[str, str] = {}
    if job.visualizations_prefix:
        for info in storage.list(job.visualizations_prefix):
            name = info.key[len(job.visualizations_prefix) :]
            visuals[name] = storage.presign_get(info.key)
    return ResultsPage(
        job_id=str(job.id),
        task_type=body.get("task_type", job.task_type),
        num_images=body.get("num_images", len(body.get("images", []))),
        offset=offset,
        images=images,
        visualizations=visuals,
    )
