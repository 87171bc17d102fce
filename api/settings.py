"""One settings object, read once from the environment and `.env`.

Every setting has an embedded default, so the platform starts with no configuration:
SQLite in ./data, local-folder storage, the local subprocess runner.

A runner's own settings (DOCKER_IMAGE, ...) are declared in its module
(api/services/jobs/runners/): Settings takes in those of every registered runner.
"""

from __future__ import annotations

import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from api.services.jobs.runners import known_runner, runner_settings

Role = Literal["admin", "manager", "engineer_ii", "engineer_i", "guest"]


class JobLimits(BaseModel):
    """What one role's jobs may take (api/services/jobs/slots.py)."""

    running: int = Field(ge=1)  # jobs dispatched at once
    waiting: int = Field(ge=0)  # jobs waiting in line for a slot
    max_attempts: int = Field(ge=1, le=10)  # attempts one job may ask for
    max_timeout_hours: float = Field(gt=0, le=7 * 24)  # how long one job may run


DEFAULT_JOB_LIMITS: dict[Role, JobLimits] = {
    "guest": JobLimits(running=1, waiting=3, max_attempts=2, max_timeout_hours=2),
    "engineer_i": JobLimits(running=2, waiting=10, max_attempts=3, max_timeout_hours=24),
    "engineer_ii": JobLimits(running=4, waiting=20, max_attempts=5, max_timeout_hours=72),
    "manager": JobLimits(running=8, waiting=50, max_attempts=10, max_timeout_hours=168),
    "admin": JobLimits(running=16, waiting=100, max_attempts=10, max_timeout_hours=168),
}


# mypy cannot follow bases read from the registry; the runners read theirs, typed,
# through their own model (`DockerSettings.of(settings)`).
class Settings(*runner_settings(), BaseSettings):  # type: ignore[misc]
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    app_name: str = "Vision AI Training Platform"
    environment: Literal["development", "production", "test"] = "development"

    # Where embedded state lives (SQLite file, local storage, the generated secret).
    data_dir: Path = Path("./data")

    # Empty means the embedded SQLite file in data_dir.
    database_url: str = ""
    database_echo: bool = False

    # Signs JWTs, local-storage URLs and job callback tokens. Empty means one is
    # generated once and kept in data_dir (fine for one machine; set it for replicas).
    # At least 32 characters when set.
    secret_key: str = Field(default="", pattern=r"^(|.{32,})$")
    access_token_expire_minutes: int = Field(default=60, ge=1)
    jwt_algorithm: Literal["HS256", "HS384", "HS512"] = "HS256"

    # How this API is reached from outside: signed local-storage URLs and worker
    # callbacks are built on it.
    # Empty: http://HOST:PORT (127.0.0.1 when HOST listens on every address).
    api_base_url: str = ""
    host: str = "127.0.0.1"
    port: int = 8000
    cors_origins: list[str] = Field(default_factory=list)

    # `vap serve`'s HTTP server (and so the container image's); see api/http_server.py.
    # A request head (request line and headers) larger than this is refused with 431.
    http_max_header_kb: int = Field(default=32, ge=1)
    # A request's head must arrive within this many seconds (of the connection opening,
    # or of its first byte on a kept-alive connection), or it is refused with 408.
    http_header_timeout_seconds: float = Field(default=10.0, gt=0)
    # An idle kept-alive connection is closed after this many seconds.
    http_keep_alive_seconds: int = Field(default=5, ge=1)
    # Connections one server process holds at most; requests beyond them are answered
    # 503. 0: no limit.
    http_max_connections: int = Field(default=1000, ge=0)
    # The web console's static build (scripts/build_web.sh), served at / with the API.
    # Empty: the checkout's web/dist, when it has been built.
    web_console_dir: str = ""

    # Failed logins: an account (whether or not it exists) or a client address with more
    # attempts than this in a window is refused with 429 until the window ends, the
    # right password too. A successful login takes its own attempt back.
    login_max_failures_per_account: int = Field(default=10, ge=1)
    login_max_failures_per_address: int = Field(default=100, ge=1)
    login_failure_window_seconds: int = Field(default=900, ge=1)

    # New accounts get this role; the installation's first account becomes admin.
    default_user_role: Role = "guest"
    guest_max_projects: int = 1
    guest_max_datasets: int = 1
    # Per role: jobs running at once, waiting in line, attempts and hours one job may ask.
    # JSON; roles left out keep their defaults, e.g. JOB_LIMITS='{"guest": {"running": 1,
    # "waiting": 3, "max_attempts": 2, "max_timeout_hours": 2}}'
    job_limits: dict[Role, JobLimits] = Field(default_factory=lambda: dict(DEFAULT_JOB_LIMITS))

    storage_backend: Literal["local", "s3"] = "local"
    # Empty means data_dir/storage.
    storage_local_root: Path | None = None
    s3_endpoint_url: str = ""  # empty: AWS; set it for R2, MinIO or SeaweedFS
    s3_bucket: str = "vap"
    s3_region: str = "auto"
    s3_access_key_id: str = ""
    s3_secret_access_key: str = ""
    s3_create_bucket: bool = True  # create the bucket at start-up when it is missing
    s3_multipart_threshold_mb: int = Field(default=16, ge=5)
    signed_url_expire_seconds: int = Field(default=3600, ge=1, le=7 * 24 * 3600)

    # Where functions run (a job may name another): a runner's name (RUNNERS in
    # api/services/jobs/runners/): local | docker | modal.
    execution_backend: str = "local"
    # A running job silent for longer than this is lost: retried or failed.
    heartbeat_timeout_seconds: int = Field(default=300, ge=10)
    # Event streams send a keep-alive comment this often, so proxies keep them open.
    sse_ping_seconds: float = Field(default=15.0, gt=0)
    # What a runner's workers can do is asked of them and kept this long (hours).
    runner_capabilities_max_age_hours: float = Field(default=24.0, gt=0)

    # Lets a scheduler without database access (the Modal cron) trigger a reconciler
    # pass: POST /api/v1/operations/reconcile with X-Reconcile-Token. Empty: admins only.
    reconcile_token: str = ""

    # Webhooks may not target private or loopback addresses unless this is set (SSRF).
    webhook_allow_private_urls: bool = False

    # Dataset uploads: limits that stop decompression bombs and runaway uploads.
    dataset_max_upload_mb: int = Field(default=4096, ge=1)
    dataset_max_unpacked_mb: int = Field(default=20480, ge=1)
    dataset_max_files: int = Field(default=500_000, ge=1)
    dataset_max_compression_ratio: float = Field(default=100.0, ge=1)
    dataset_max_image_pixels: int = Field(default=89_478_485, ge=1)  # Pillow's own default

    # Chat to training config (POST /api/v1/chat/message): Claude when a key is set,
    # otherwise (and whenever Claude fails) the rule-based parser.
    anthropic_api_key: str = ""
    anthropic_base_url: str = ""  # empty: Anthropic's; tests point it at a loopback stand-in
    anthropic_model: str = "claude-sonnet-4-5"
    chat_llm_timeout_seconds: float = Field(default=20.0, gt=0)

    # The pay-per-call endpoint (POST /v1/infer/{deployment_id}).
    infer_max_request_mb: int = Field(default=20, ge=1)
    # Calls with an invalid API key one address may make to one deployment in a minute
    # before it is answered 429 until the minute ends (key guessing, billing abuse).
    infer_auth_failures_per_minute: int = Field(default=20, ge=1)
    infer_max_image_pixels: int = Field(default=40_000_000, ge=1)
    # ONNX Runtime sessions each API process keeps loaded (least recently used go first);
    # their files are cached under data_dir/endpoint-models.
    infer_max_cached_models: int = Field(default=8, ge=1)
    # A platform endpoint's model is loaded (and run once) when the deployment is created
    # or activated, by the process handling that, whose answer waits for it at most this
    # long (a longer load goes on in the background; 0: never wait). Each process also
    # loads, in the background as it starts, the models of the active deployments used
    # most recently (as many as it caches), unless infer_warm_at_startup is false.
    infer_warm_wait_seconds: float = Field(default=30.0, ge=0)
    infer_warm_at_startup: bool = True
    # Usage records are written in batches at most this often (one transaction for many
    # calls, off the calls' path); 0 writes each as its call ends, as it always is under
    # Lambda (a frozen process writes nothing). A killed process loses at most this much
    # metering.
    infer_metering_flush_ms: int = Field(default=200, ge=0)

    # When set, GET /metrics needs `Authorization: Bearer <this>` (Prometheus:
    # `authorization: {credentials: ...}`); empty: /metrics is open, as on one machine.
    metrics_token: str = ""

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["json", "console"] = "json"

    @field_validator("storage_local_root", mode="before")
    @classmethod
    def _empty_means_default(cls, value: object) -> object:
        # `STORAGE_LOCAL_ROOT=` in a .env would otherwise be Path("."): the working folder.
        return None if value == "" else value

    @field_validator("execution_backend", mode="after")
    @classmethod
    def _a_registered_runner(cls, value: str) -> str:
        return known_runner(value)

    @field_validator("job_limits", mode="after")
    @classmethod
    def _every_role_has_limits(cls, value: dict[Role, JobLimits]) -> dict[Role, JobLimits]:
        return {**DEFAULT_JOB_LIMITS, **value}

    @model_validator(mode="after")
    def _fill_embedded_defaults(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite:///{(self.data_dir / 'vap.db').as_posix()}"
        if not self.api_base_url:
            # Workers started on this machine call back where `vap serve` listens.
            host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host
            self.api_base_url = f"http://{host}:{self.port}"
        if self.storage_local_root is None:
            self.storage_local_root = self.data_dir / "storage"
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def signing_key(self) -> str:
        """The secret key; generated once into data_dir when none is configured."""
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / ".secret_key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            # exclusive create: two processes starting at once keep the same key
            try:
                with open(path, "x") as f:
                    f.write(secrets.token_urlsafe(48))
                path.chmod(0o600)
            except FileExistsError:
                pass
        self.secret_key = path.read_text().strip()
        return self.secret_key


def under_lambda() -> bool:
    """Whether this process is an AWS Lambda function's (Lambda sets this for its own)."""
    return bool(os.environ.get("AWS_LAMBDA_FUNCTION_NAME"))


@lru_cache
def get_settings() -> Settings:
    return Settings()
