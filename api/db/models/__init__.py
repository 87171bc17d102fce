"""Every table, imported in one place so metadata (and Alembic) sees them all."""

from api.db.models.chat import ChatConversation
from api.db.models.datasets import (
    Dataset,
    DatasetFormat,
    DatasetSnapshot,
    DatasetStatus,
    Visibility,
)
from api.db.models.deployments import (
    ApiKey,
    Deployment,
    DeploymentHistory,
    DeploymentStatus,
    DeploymentStrategy,
    EndpointCounter,
    Tier,
    UsageRecord,
)
from api.db.models.jobs import (
    TERMINAL_STATUSES,
    DiagnosticJob,
    ExportFormat,
    ExportJob,
    InferenceJob,
    InferenceType,
    JobAttempt,
    JobEvent,
    JobKind,
    JobStatus,
    TestRun,
    TrainingJob,
    TrainingValidationResult,
)
from api.db.models.projects import Project
from api.db.models.runners import RunnerCapabilities
from api.db.models.users import (
    ROLE_RANK,
    Installation,
    LoginAttempts,
    Organization,
    User,
    UserRole,
)
from api.db.models.webhooks import Webhook, WebhookDelivery
from api.db.models.weights import PretrainedWeight

__all__ = [
    "Tier",
    "ROLE_RANK",
    "TERMINAL_STATUSES",
    "ApiKey",
    "ChatConversation",
    "Dataset",
    "DatasetFormat",
    "DatasetSnapshot",
    "DatasetStatus",
    "Deployment",
    "DeploymentHistory",
    "DeploymentStatus",
    "DeploymentStrategy",
    "EndpointCounter",
    "ExportFormat",
    "Installation",
    "LoginAttempts",
    "RunnerCapabilities",
    "DiagnosticJob",
    "ExportJob",
    "InferenceJob",
    "InferenceType",
    "JobAttempt",
    "JobEvent",
    "JobKind",
    "JobStatus",
    "Organization",
    "PretrainedWeight",
    "Project",
    "TestRun",
    "TrainingJob",
    "TrainingValidationResult",
    "UsageRecord",
    "User",
    "UserRole",
    "Visibility",
    "Webhook",
    "WebhookDelivery",
]
