"""The "results" event, which test runs and inference jobs share: where the function
left its results."""

from __future__ import annotations

from api.db.models import InferenceJob, TestRun
from api.errors import BadRequest
from api.services.jobs.kinds.base import Data
from api.settings import Settings


def record_results(settings: Settings, job: TestRun | InferenceJob, data: Data) -> None:
    """{"key", "visualizations", "count"}, under the job's own `results/{id}/` prefix."""
    prefix = f"results/{job.id}/"
    key, visuals, count = data.get("key"), data.get("visualizations"), data.get("count")
    if not isinstance(key, str) or not key.startswith(prefix):
        raise BadRequest(f"A results key must lie under {prefix}", code="bad_results")
    if visuals is not None and (not isinstance(visuals, str) or not visuals.startswith(prefix)):
        raise BadRequest(f"Visualizations must lie under {prefix}", code="bad_results")
    if not isinstance(count, int) or count < 0:
        raise BadRequest("Results need their image count (an integer >= 0)", code="bad_results")
    job.results_key, job.visualizations_prefix = key, visuals
    job.processed_images = count
