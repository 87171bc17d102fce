"""Export jobs, deployments, and the pay-per-call endpoint (`/v1/infer`, usage)."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from vap_client.models import (
    ApiKey,
    Deployment,
    DeploymentEvent,
    Download,
    ExportJob,
    Page,
    Prediction,
    Usage,
)
from vap_client.transport import Transport, drop_none


class ServingAPI(Transport):
    # --- export jobs ------------------------------------------------------------------

    def export_capabilities(
        self, framework: str | None = None, runner: str | None = None
    ) -> dict[str, Any]:
        """Per framework and format, on `runner`'s workers (default: the installation's
        runner): supported, natively or via ONNX, or why not; and when they reported it."""
        return self.get_as(dict, "/api/v1/export/capabilities", framework=framework, runner=runner)

    # --- runners ----------------------------------------------------------------------

    def list_runners(self) -> list[dict[str, Any]]:
        """Every runner, which is the default, when its workers last reported."""
        return self.get_as(list, "/api/v1/runners")  # type: ignore[no-any-return]

    def refresh_runner(self, runner: str) -> dict[str, Any]:
        """Ask a runner's workers what they can do, now (admins); their new table."""
        # A cold worker (a container image, a Modal app) may take a while to answer.
        return self.post_as(dict, f"/api/v1/operations/runners/{runner}/refresh", timeout=300)  # type: ignore[no-any-return]

    def create_export_job(
        self,
        training_job_id: str,
        *,
        format: str = "onnx",
        quantization: str | None = None,
        checkpoint: str = "best",
        validate: bool = True,
        **options: Any,
    ) -> ExportJob:
        """Export a training job's checkpoint. `options`: opset, dynamic_batch,
        embed_preprocessing, validation_dataset_id, max_metric_drop, version_tag,
        set_default, runner."""
        body = drop_none(
            training_job_id=training_job_id,
            format=format,
            quantization=quantization,
            checkpoint=checkpoint,
            validate=validate,
            **options,
        )
        return self.post_as(ExportJob, "/api/v1/export/jobs", body)

    def list_export_jobs(
        self, *, training_job_id: str | None = None, limit: int = 50, offset: int = 0
    ) -> Page[ExportJob]:
        return self.page_of(
            ExportJob,
            "/api/v1/export/jobs",
            training_job_id=training_job_id,
            limit=limit,
            offset=offset,
        )

    def get_export_job(self, export_job_id: str) -> ExportJob:
        return self.get_as(ExportJob, f"/api/v1/export/jobs/{export_job_id}")

    def training_exports(self, training_job_id: str) -> list[ExportJob]:
        return self.get_as(list[ExportJob], f"/api/v1/training/jobs/{training_job_id}/exports")

    def tag_export_job(self, export_job_id: str, version_tag: str | None) -> ExportJob:
        r = self.request(
            "PATCH", f"/api/v1/export/jobs/{export_job_id}", json={"version_tag": version_tag}
        )
        return ExportJob.model_validate(r.json())

    def set_default_export(self, export_job_id: str) -> ExportJob:
        return self.post_as(ExportJob, f"/api/v1/export/jobs/{export_job_id}/set-default")

    def cancel_export_job(self, export_job_id: str) -> ExportJob:
        return self.post_as(ExportJob, f"/api/v1/export/jobs/{export_job_id}/cancel")

    def delete_export_job(self, export_job_id: str) -> None:
        self.delete(f"/api/v1/export/jobs/{export_job_id}")

    def export_download(self, export_job_id: str) -> Download:
        return self.get_as(Download, f"/api/v1/export/jobs/{export_job_id}/download")

    # --- deployments ------------------------------------------------------------------

    def create_deployment(
        self,
        export_job_id: str,
        *,
        strategy: str = "platform_endpoint",
        name: str | None = None,
        description: str | None = None,
        tier: str | None = None,
        config: dict[str, Any] | None = None,
    ) -> Deployment:
        """Deploy an export. For `platform_endpoint` the answer's `api_key` is shown this
        once; other strategies answer a `download_url`."""
        body = drop_none(
            export_job_id=export_job_id,
            strategy=strategy,
            name=name or f"{strategy} of {export_job_id[:8]}",
            description=description,
            tier=tier,
            config=config,
        )
        return self.post_as(Deployment, "/api/v1/deployments", body)

    def list_deployments(self, *, limit: int = 50, offset: int = 0) -> Page[Deployment]:
        return self.page_of(Deployment, "/api/v1/deployments", limit=limit, offset=offset)

    def get_deployment(self, deployment_id: str) -> Deployment:
        return self.get_as(Deployment, f"/api/v1/deployments/{deployment_id}")

    def activate_deployment(self, deployment_id: str) -> Deployment:
        return self.post_as(Deployment, f"/api/v1/deployments/{deployment_id}/activate")

    def deactivate_deployment(self, deployment_id: str) -> Deployment:
        return self.post_as(Deployment, f"/api/v1/deployments/{deployment_id}/deactivate")

    def delete_deployment(self, deployment_id: str) -> None:
        self.delete(f"/api/v1/deployments/{deployment_id}")

    def deployment_history(self, deployment_id: str) -> list[DeploymentEvent]:
        return self.get_as(list[DeploymentEvent], f"/api/v1/deployments/{deployment_id}/history")

    def rotate_api_key(self, deployment_id: str) -> ApiKey:
        """A new key for the deployment; the old one stops working at once."""
        return self.post_as(ApiKey, f"/api/v1/deployments/{deployment_id}/api-keys")

    def deployment_download(self, deployment_id: str) -> Download:
        return self.get_as(Download, f"/api/v1/deployments/{deployment_id}/download")

    # --- the endpoint -----------------------------------------------------------------

    def infer(
        self,
        deployment_id: str,
        image: str | Path | bytes,
        *,
        api_key: str,
        top_k: int | None = None,
        confidence_threshold: float | None = None,
        iou_threshold: float | None = None,
        max_detections: int | None = None,
    ) -> Prediction:
        """One image (a path or its bytes) through a platform endpoint, authorised by the
        deployment's API key. RateLimited (with `retry_after`) over the tier's limit."""
        data = image if isinstance(image, bytes) else Path(image).read_bytes()
        body = drop_none(
            image=base64.b64encode(data).decode("ascii"),
            top_k=top_k,
            confidence_threshold=confidence_threshold,
            iou_threshold=iou_threshold,
            max_detections=max_detections,
        )
        r = self.request("POST", f"/v1/infer/{deployment_id}", json=body, api_key=api_key)
        prediction = Prediction.model_validate(r.json())
        for header, field in (
            ("x-ratelimit-limit", "rate_limit"),
            ("x-ratelimit-remaining", "rate_limit_remaining"),
        ):
            if r.headers.get(header, "").isdigit():
                setattr(prediction, field, int(r.headers[header]))
        return prediction

    def usage(self, deployment_id: str, *, api_key: str | None = None) -> Usage:
        """This month's calls of a deployment: by its API key, or by its owner's login."""
        r = self.request("GET", f"/v1/deployments/{deployment_id}/usage", api_key=api_key)
        return Usage.model_validate(r.json())

    def health(self) -> dict[str, Any]:
        return self.get_as(dict, "/health")
