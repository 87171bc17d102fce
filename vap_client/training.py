"""The model catalog, training jobs, test runs and inference jobs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from vap_client.models import InferenceJob, ModelInfo, Page, ResultsPage, TestRun, TrainingJob
from vap_client.transport import Transport, drop_none


class TrainingAPI(Transport):
    # --- catalog ----------------------------------------------------------------------

    def list_models(
        self, *, task_type: str | None = None, framework: str | None = None
    ) -> list[ModelInfo]:
        body = self.get_as(dict, "/api/v1/models", task_type=task_type, framework=framework)
        return [ModelInfo.model_validate(m) for m in body["models"]]

    def config_schema(self, framework: str, task_type: str) -> dict[str, Any]:
        """The typed fields a training config takes, with the presets."""
        return self.get_as(
            dict, "/api/v1/training/config-schema", framework=framework, task_type=task_type
        )

    # --- training jobs ----------------------------------------------------------------

    def create_training_job(
        self,
        dataset_id: str,
        model_name: str,
        *,
        framework: str = "timm",
        config: dict[str, Any] | None = None,
        preset: str | None = None,
        task_type: str | None = None,
        name: str | None = None,
        start: bool = True,
        **dispatch: Any,
    ) -> TrainingJob:
        """Train `model_name` on a snapshot of the dataset taken now. `dispatch`: runner,
        gpu, max_attempts, timeout_seconds, pretrained_weight_id, project_id."""
        body = drop_none(
            dataset_id=dataset_id,
            model_name=model_name,
            framework=framework,
            config=config or {},
            preset=preset,
            task_type=task_type,
            name=name,
            start=start,
            **dispatch,
        )
        return self.post_as(TrainingJob, "/api/v1/training/jobs", body)

    def list_training_jobs(
        self,
        *,
        status: str | None = None,
        dataset_id: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> Page[TrainingJob]:
        return self.page_of(
            TrainingJob,
            "/api/v1/training/jobs",
            status=status,
            dataset_id=dataset_id,
            limit=limit,
            offset=offset,
        )

    def get_training_job(self, job_id: str) -> TrainingJob:
        return self.get_as(TrainingJob, f"/api/v1/training/jobs/{job_id}")

    def start_training_job(self, job_id: str) -> TrainingJob:
        return self.post_as(TrainingJob, f"/api/v1/training/jobs/{job_id}/start")

    def resume_training_job(self, job_id: str, epochs: int | None = None) -> TrainingJob:
        body = {"epochs": epochs} if epochs else None
        return self.post_as(TrainingJob, f"/api/v1/training/jobs/{job_id}/resume", body)

    def cancel_training_job(self, job_id: str) -> TrainingJob:
        return self.post_as(TrainingJob, f"/api/v1/training/jobs/{job_id}/cancel")

    def training_metrics(self, job_id: str) -> dict[str, Any]:
        """Every epoch's metrics: {"primary_metric_name", "best_epoch", "epochs": [...]}."""
        return self.get_as(dict, f"/api/v1/training/jobs/{job_id}/metrics")

    def validation_results(self, job_id: str, epoch: int | None = None) -> list[dict[str, Any]]:
        return self.get_as(list, f"/api/v1/training/jobs/{job_id}/validation-results", epoch=epoch)

    def checkpoints(self, job_id: str) -> dict[str, Any]:
        """Presigned download URLs: {"best", "last", "last_epoch", "expires_in"}."""
        return self.get_as(dict, f"/api/v1/training/jobs/{job_id}/checkpoints")

    # --- test runs --------------------------------------------------------------------

    def create_test_run(
        self,
        training_job_id: str,
        dataset_id: str,
        *,
        split: str | None = None,
        checkpoint: str = "best",
        enable_xai: bool = False,
        **options: Any,
    ) -> TestRun:
        body = drop_none(
            training_job_id=training_job_id,
            dataset_id=dataset_id,
            split=split,
            checkpoint=checkpoint,
            enable_xai=enable_xai,
            **options,
        )
        return self.post_as(TestRun, "/api/v1/test-runs", body)

    def list_test_runs(
        self, *, training_job_id: str | None = None, limit: int = 50, offset: int = 0
    ) -> Page[TestRun]:
        return self.page_of(
            TestRun,
            "/api/v1/test-runs",
            training_job_id=training_job_id,
            limit=limit,
            offset=offset,
        )

    def get_test_run(self, test_run_id: str) -> TestRun:
        return self.get_as(TestRun, f"/api/v1/test-runs/{test_run_id}")

    def cancel_test_run(self, test_run_id: str) -> TestRun:
        return self.post_as(TestRun, f"/api/v1/test-runs/{test_run_id}/cancel")

    def test_run_results(
        self, test_run_id: str, *, offset: int = 0, limit: int = 100
    ) -> ResultsPage:
        return self.get_as(
            ResultsPage, f"/api/v1/test-runs/{test_run_id}/results", offset=offset, limit=limit
        )

    # --- inference jobs ---------------------------------------------------------------

    def create_inference_job(
        self, training_job_id: str, dataset_id: str, *, split: str = "all", **options: Any
    ) -> InferenceJob:
        body = drop_none(
            training_job_id=training_job_id, dataset_id=dataset_id, split=split, **options
        )
        return self.post_as(InferenceJob, "/api/v1/inference/jobs", body)

    def infer_upload(
        self,
        training_job_id: str,
        images: list[str | Path | tuple[str, bytes]],
        *,
        checkpoint: str = "best",
        confidence: float = 0.25,
        top_k: int = 5,
        enable_xai: bool = False,
    ) -> InferenceJob:
        """The quick path: images in (paths, or (name, bytes)), a job whose results are
        their predictions."""
        files = []
        for image in images:
            if isinstance(image, tuple):
                name, data = image
            else:
                name, data = Path(image).name, Path(image).read_bytes()
            files.append(("files", (name, data, "application/octet-stream")))
        form = {
            "training_job_id": training_job_id,
            "checkpoint": checkpoint,
            "confidence": str(confidence),
            "top_k": str(top_k),
            "enable_xai": str(enable_xai).lower(),
        }
        r = self.request("POST", "/api/v1/inference/upload", data=form, files=files)
        return InferenceJob.model_validate(r.json())

    def list_inference_jobs(
        self, *, training_job_id: str | None = None, limit: int = 50, offset: int = 0
    ) -> Page[InferenceJob]:
        return self.page_of(
            InferenceJob,
            "/api/v1/inference/jobs",
            training_job_id=training_job_id,
            limit=limit,
            offset=offset,
        )

    def get_inference_job(self, job_id: str) -> InferenceJob:
        return self.get_as(InferenceJob, f"/api/v1/inference/jobs/{job_id}")

    def cancel_inference_job(self, job_id: str) -> InferenceJob:
        return self.post_as(InferenceJob, f"/api/v1/inference/jobs/{job_id}/cancel")

    def inference_results(self, job_id: str, *, offset: int = 0, limit: int = 100) -> ResultsPage:
        return self.get_as(
            ResultsPage, f"/api/v1/inference/jobs/{job_id}/results", offset=offset, limit=limit
        )
