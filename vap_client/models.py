"""What the API answers, as typed objects. Fields the server adds later are kept
(`extra="allow"`), so an older client still reads a newer server."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict

T = TypeVar("T")

TERMINAL_STATUSES = frozenset({"completed", "failed", "cancelled"})


class Model(BaseModel):
    model_config = ConfigDict(extra="allow", protected_namespaces=())


class Page(Model, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


# --- accounts ---------------------------------------------------------------------------


class User(Model):
    id: str
    email: str
    full_name: str | None = None
    role: str
    is_active: bool = True
    created_at: datetime | None = None


class Token(Model):
    access_token: str
    token_type: str = "bearer"
    expires_in: int


# --- datasets ---------------------------------------------------------------------------


class Dataset(Model):
    id: str
    name: str
    description: str | None = None
    format: str | None = None
    task_type: str | None = None
    status: str
    num_images: int = 0
    num_classes: int | None = None
    class_names: list[Any] | None = None
    stats: dict[str, Any] | None = None
    size_bytes: int = 0
    validation_errors: dict[str, Any] | None = None
    created_at: datetime | None = None


class UploadPart(Model):
    part_number: int
    url: str


class DirectUpload(Model):
    dataset_id: str
    part_size: int
    parts: list[UploadPart]
    expires_in: int


# --- models and config ------------------------------------------------------------------


class ModelInfo(Model):
    name: str
    framework: str
    task_types: list[str] = []
    parameters: int = 0
    default_image_size: int | None = None
    hub_weights: bool = False
    description: str = ""
    pretrained_available: bool = False


# --- jobs -------------------------------------------------------------------------------


class Job(Model):
    """What every kind of job shows: its dispatch and progress."""

    id: str
    status: str
    runner: str | None = None
    attempt: int = 1
    max_attempts: int = 1
    progress_percent: float = 0.0
    error_message: str | None = None
    created_at: datetime | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None

    @property
    def ended(self) -> bool:
        return self.status in TERMINAL_STATUSES


class TrainingJob(Job):
    name: str | None = None
    dataset_id: str
    framework: str
    model_name: str
    task_type: str
    config: dict[str, Any] = {}
    current_epoch: int = 0
    total_epochs: int = 0
    current_metrics: dict[str, Any] | None = None
    best_metrics: dict[str, Any] | None = None
    final_metrics: dict[str, Any] | None = None
    primary_metric_name: str | None = None
    best_epoch: int | None = None

    @property
    def best_primary(self) -> float | None:
        """The best epoch's primary metric (e.g. accuracy), when there is one."""
        if not self.primary_metric_name or not self.best_metrics:
            return None
        value = self.best_metrics.get(self.primary_metric_name)
        return float(value) if value is not None else None


class TestRun(Job):
    __test__ = False  # not a pytest test class

    training_job_id: str
    dataset_id: str
    task_type: str
    overall_metrics: dict[str, Any] | None = None
    processed_images: int = 0


class InferenceJob(Job):
    training_job_id: str | None = None
    task_type: str
    processed_images: int = 0
    total_images: int = 0


class ExportJob(Job):
    training_job_id: str
    version: int = 1
    version_tag: str | None = None
    is_default: bool = False
    format: str
    framework: str | None = None
    task_type: str | None = None
    config: dict[str, Any] = {}
    validation_metrics: dict[str, Any] | None = None
    model_info: dict[str, Any] | None = None
    size_bytes: int | None = None
    checksum_sha256: str | None = None


class DiagnosticJob(Job):
    name: str | None = None


class JobEvent(Model):
    """One entry of a job's append-only log; `seq` 1, 2, 3 ... with no gaps."""

    seq: int
    type: str
    attempt: int = 1
    data: dict[str, Any] = {}
    created_at: str | None = None

    @property
    def terminal_status(self) -> str | None:
        """The job's final status when this event ends it, else None."""
        status = self.data.get("status") if self.type == "status" else None
        return status if status in TERMINAL_STATUSES else None


class EventsPage(Model):
    events: list[JobEvent]
    last_seq: int
    terminal: bool


class ResultsPage(Model):
    job_id: str
    task_type: str
    num_images: int
    offset: int
    images: list[dict[str, Any]]
    visualizations: dict[str, str] = {}


class Download(Model):
    url: str
    expires_at: datetime | None = None
    filename: str | None = None


# --- serving ----------------------------------------------------------------------------


class Deployment(Model):
    id: str
    export_job_id: str
    strategy: str
    name: str | None = None
    description: str | None = None
    status: str
    tier: str | None = None
    config: dict[str, Any] | None = None
    endpoint_url: str | None = None
    api_key_prefix: str | None = None
    created_at: datetime | None = None
    deployed_at: datetime | None = None
    last_accessed_at: datetime | None = None
    # Only in the answer to its creation: the key is shown once.
    api_key: str | None = None
    download_url: str | None = None
    download_expires_at: datetime | None = None


class DeploymentEvent(Model):
    event_type: str
    status_before: str | None = None
    status_after: str | None = None
    message: str | None = None
    event_data: dict[str, Any] | None = None
    created_at: datetime | None = None


class ApiKey(Model):
    api_key: str
    prefix: str
    created_at: datetime | None = None


class ClassScore(Model):
    class_id: int
    class_name: str
    confidence: float


class Instance(Model):
    class_id: int
    class_name: str
    confidence: float
    bbox: list[float]
    polygon: list[float] | None = None
    keypoints: list[float] | None = None


class Prediction(Model):
    """The answer of `POST /v1/infer/{deployment_id}`."""

    deployment_id: str
    model_version: Any = None
    task_type: str
    image_id: str | None = None
    width: int
    height: int
    classes: list[ClassScore] = []
    instances: list[Instance] = []
    latency_ms: float | None = None
    # From the answer's headers: how many calls are left this minute.
    rate_limit: int | None = None
    rate_limit_remaining: int | None = None


class Usage(Model):
    deployment_id: str
    tier: str | None = None
    period_start: datetime | None = None
    requests_this_month: int = 0
    monthly_quota: int | None = None
    rate_limit_per_minute: int | None = None
    by_outcome: dict[str, int] = {}
    latency_ms: dict[str, float | None] = {}
    request_bytes: int = 0
    response_bytes: int = 0


# --- webhooks and chat ------------------------------------------------------------------


class Webhook(Model):
    id: str
    url: str
    event_types: list[str]
    description: str | None = None
    is_active: bool = True
    created_at: datetime | None = None
    secret: str | None = None  # only in the answer to its creation


class Delivery(Model):
    id: str
    event_type: str
    status: str
    attempts: int = 0
    last_status_code: int | None = None
    last_error: str | None = None
    created_at: datetime | None = None
    delivered_at: datetime | None = None


class ChatReply(Model):
    conversation_id: str
    status: str
    config: dict[str, Any] | None = None
    partial_config: dict[str, Any] = {}
    questions: list[dict[str, Any]] = []
    reply: str = ""
    parser: str | None = None
    fallback_reason: str | None = None
