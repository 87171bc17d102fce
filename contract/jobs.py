"""The job contract: the spec a function receives and every callback it sends.

Both sides import this module, and nothing else of each other: the API builds a
JobSpec and reads callbacks; a function reads the JobSpec and sends callbacks over
HTTP with the job-scoped token. `CONTRACT_VERSION` changes when a field changes
meaning; a function refuses a spec of another major version.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

from contract.non_finite import Metric, json_safe

CONTRACT_VERSION = 1

JobKindName = Literal["training", "test_run", "inference", "export", "diagnostic"]
# The function each kind runs (functions/<name>.py; the Modal function <name>).
FUNCTION_FOR_KIND: dict[str, str] = {
    "training": "train",
    "test_run": "evaluate",
    "inference": "infer",
    "export": "export",
    "diagnostic": "diagnostic",
}


class Resources(BaseModel):
    # A GPU request (contract/capabilities.py's GpuRequest): "T4", "H100:2", "any"; None: CPU.
    gpu: str | None = None
    # The worker's devices the API gave the request (local and Docker runners, from the
    # runner's reported GPUs); None: the runner provisions them (Modal), or no GPU.
    gpu_devices: list[int] | None = None
    timeout_seconds: int = Field(default=24 * 3600, ge=10)
    memory_mb: int | None = None


class Resume(BaseModel):
    """Where a new attempt picks up: the job's last checkpoint, saved by an earlier one."""

    checkpoint_url: str  # presigned GET
    epoch: int  # the last epoch the checkpoint holds; continue with the next


class JobSpec(BaseModel):
    """Everything a function needs; it holds no cloud credential and no database access."""

    version: int = CONTRACT_VERSION
    job_id: str
    kind: JobKindName
    attempt: int = Field(ge=1)
    framework: str | None = None
    model: str | None = None
    task_type: str | None = None
    config: dict[str, Any] = Field(default_factory=dict)
    # Presigned URLs of the inputs, by name (dataset snapshot, files, checkpoint).
    inputs: dict[str, str] = Field(default_factory=dict)
    callback_url: str  # .../api/v1/jobs/{job_id}; callbacks POST to its sub-paths
    callback_token: str  # job-scoped, expires; sent as a Bearer token
    resources: Resources = Field(default_factory=Resources)
    resume: Resume | None = None  # set when an earlier attempt left a checkpoint


# --- callbacks -------------------------------------------------------------------------


class Callback(BaseModel):
    """What every callback carries: the attempt that sends it and its sequence number
    within that attempt (1, 2, ...). The API applies each (attempt, seq) once."""

    attempt: int = Field(ge=1)
    seq: int = Field(ge=1)

    @field_validator("*", mode="after")
    @classmethod
    def _non_finite_named(cls, value: Any) -> Any:
        # A NaN or infinity anywhere (a diverging loss, a class never predicted) is kept
        # as "nan", "inf" or "-inf": JSON and PostgreSQL have no such numbers
        # (contract/non_finite.py).
        return json_safe(value)


class Heartbeat(Callback):
    progress: float | None = Field(default=None, ge=0, le=100)
    epoch: int | None = None
    total_epochs: int | None = None
    # A non-finite value (a diverging loss) is a string: "nan", "inf", "-inf".
    metrics: dict[str, Metric] = Field(default_factory=dict)
    message: str | None = Field(default=None, max_length=2000)


class Event(Callback):
    """Anything worth showing a user: a log line, a checkpoint saved, a phase begun.

    Type `checkpoint` with data {"key", "epoch", "best": bool} (the key as `/artifacts`
    answered it) records the job's resume point: a later attempt starts from it.
    """

    type: str = Field(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_.]*$")
    data: dict[str, Any] = Field(default_factory=dict)


class Validation(Callback):
    epoch: int = Field(ge=0)
    primary_metric_name: str
    primary_metric_value: Metric
    # Whether a higher primary value is better; None keeps what the job already says.
    primary_metric_direction: Literal["maximize", "minimize"] | None = None
    metrics: dict[str, Metric]
    per_class_metrics: list[dict[str, Any]] | None = None
    confusion_matrix: list[list[int]] | None = None
    pr_curves: dict[str, Any] | None = None
    # The training loop's word on whether this epoch is the best so far (it copies
    # best.ckpt on it); None: the API decides by contract/best_epoch.py's rule.
    is_best: bool | None = None


class ArtifactRequest(Callback):
    """Ask where to upload files: the answer is a presigned PUT URL per name."""

    names: list[str] = Field(min_length=1, max_length=100)


class ArtifactUrls(BaseModel):
    urls: dict[str, str]  # name -> presigned PUT URL
    keys: dict[str, str]  # name -> storage key, to name in later callbacks


class Done(Callback):
    status: Literal["completed", "failed"]
    metrics: dict[str, Any] = Field(default_factory=dict)
    error: str | None = Field(default=None, max_length=10_000)


class CallbackAck(BaseModel):
    """The answer to every callback. `cancel` tells the function to stop now."""

    applied: bool  # False: a duplicate, or recorded but ignored (after cancel or done)
    cancel: bool = False
    # To a validation: whether the API recorded this epoch as the job's best so far (the
    # worker's word, or the API's own decision where the validation did not say).
    is_best: bool | None = None
