"""Who is calling the endpoint, whether they may, and counting the call: the first
step of `POST /v1/infer/{deployment_id}` (see `calls` for the answers, in order).

The common case (a valid key of this active deployment) is one PostgreSQL statement:
the key lookup, both tier counters bumped, and a relaxed commit, in autocommit (no
BEGIN, no COMMIT), on the admitting thread's own connection (no pool checkout or
pre-ping), where the general path takes a session and five round trips. Any other case
finds nothing and changes nothing, and the general path answers it with the precise
refusal. On SQLite there is only the general path.
"""

from __future__ import annotations

import hmac
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any

from sqlalchemy import bindparam, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.db.models import ApiKey, Deployment, DeploymentStatus, ExportJob
from api.db.session import RELAXED_COMMIT, first_row, new_session, statement_connection
from api.errors import ApiError, Conflict, Forbidden, NotFound, TooManyRequests, Unauthorized
from api.services.endpoint import keys, limits
from api.services.endpoint.limits import Admitted
from api.services.endpoint.metering import Meter
from api.services.endpoint.sessions import ModelRef
from api.services.endpoint.tiers import limits_of
from api.settings import Settings


@dataclass(frozen=True)
class Target:
    """What an authorised call runs."""

    deployment_id: uuid.UUID
    status: str
    tier: str
    device: str
    model: ModelRef
    model_version: str
    task_type: str


def _not_found() -> NotFound:
    return NotFound("Deployment not found")


# Built once: building the statement per call cost more than running it.
_KEY_ROWS = (
    select(
        ApiKey.id.label("key_id"),
        ApiKey.user_id.label("key_user_id"),
        ApiKey.key_hash,
        ApiKey.revoked_at,
        ApiKey.expires_at,
        ApiKey.last_used_at,
        Deployment.id.label("deployment_id"),
        Deployment.user_id,
        Deployment.status,
        Deployment.tier,
        Deployment.config,
        Deployment.last_accessed_at,
        ExportJob.id.label("export_id"),
        ExportJob.checksum_sha256,
        ExportJob.export_key,
        ExportJob.metadata_key,
        ExportJob.version,
        ExportJob.version_tag,
        ExportJob.task_type,
    )
    .join(Deployment, ApiKey.deployment_id == Deployment.id)
    .join(ExportJob, Deployment.export_job_id == ExportJob.id)
)
_BY_KEY_HASH = _KEY_ROWS.where(ApiKey.key_hash == bindparam("key_hash"))


def authenticate(
    db: Session, deployment_id: uuid.UUID, authorization: str | None
) -> tuple[Meter | None, Target | ApiError]:
    """Whom the call is billed to (None: nobody, when the deployment does not exist or
    the call has no valid key) and either what it runs or the error to answer."""
    key = keys.bearer_key(authorization)
    found = None
    if key is not None:
        digest = keys.hash_key(key)
        found = db.execute(_BY_KEY_HASH, {"key_hash": digest}).first()
        if found is not None and not _usable(found, digest):
            found = None
    if found is not None and found.deployment_id == deployment_id:
        return _meter(found), _target(found)
    requested = db.get(Deployment, deployment_id)
    if requested is None:
        return None, _not_found()
    if found is None:  # nobody the call can be billed to: not its owner, who did not make it
        return None, Unauthorized(
            "A valid API key of this deployment is required (Authorization: Bearer vap_live_...)",
            code="invalid_api_key",
        )
    if requested.user_id != found.key_user_id:
        return None, _not_found()
    return Meter(requested.id, requested.user_id, found.key_id), Forbidden(
        "This API key belongs to another deployment", code="key_not_for_deployment"
    )


def _usable(found: Any, digest: str) -> bool:
    """`found`: a row of _BY_KEY_HASH, looked up by `digest`."""
    return hmac.compare_digest(found.key_hash, digest) and _live(found)


def _live(found: Any) -> bool:
    """The key of `found` (a row of _KEY_ROWS) is neither revoked nor expired."""
    return found.revoked_at is None and (
        found.expires_at is None or found.expires_at > datetime.now(UTC)
    )


def _target(found: Any) -> Target:
    return Target(
        deployment_id=found.deployment_id,
        status=str(found.status),
        tier=str(found.tier),
        device=str((found.config or {}).get("device", "cpu")),
        model=ModelRef.of_export(
            found.export_id, found.checksum_sha256, found.export_key, found.metadata_key
        ),
        model_version=found.version_tag or f"v{found.version}",
        task_type=found.task_type,
    )


# The target each key was last admitted to in this process (by the key's sha256). A
# call with such a key prepares its image while its admission runs (see calls): a hint,
# never a pass. Every call is still admitted, and a refused key is forgotten. Emptied
# when full.
_LAST_ADMITTED: dict[str, Target] = {}
_LAST_ADMITTED_MAX = 10_000


def last_admitted(deployment_id: uuid.UUID, authorization: str | None) -> Target | None:
    """What this key's last call of this deployment in this process was admitted to run,
    if that call was admitted; else None."""
    key = keys.bearer_key(authorization)
    target = _LAST_ADMITTED.get(keys.hash_key(key)) if key is not None else None
    return target if target is not None and target.deployment_id == deployment_id else None


def _remember(digest: str, target: Target) -> None:
    if len(_LAST_ADMITTED) >= _LAST_ADMITTED_MAX:
        _LAST_ADMITTED.clear()
    _LAST_ADMITTED[digest] = target


def expect_calls(db: Session, deployment_ids: list[uuid.UUID]) -> None:
    """Remember what the usable keys of these active deployments would be admitted to
    run, as if each had called here (see last_admitted): a key's first call then
    prepares its image while its admission runs, as its later calls do, instead of
    waiting for the admission first (a deployment's first call took 2.5x a steady one
    with that wait). Still a hint: the call is admitted all the same."""
    if not deployment_ids:
        return
    rows = db.execute(
        _KEY_ROWS.where(
            ApiKey.deployment_id.in_(deployment_ids),
            Deployment.status == DeploymentStatus.ACTIVE,
        )
    )
    for row in rows:
        if _live(row):
            _remember(row.key_hash, _target(row))


def admit(
    settings: Settings, deployment_id: uuid.UUID, authorization: str | None, client: str
) -> tuple[Meter | None, Target | ApiError, Admitted | None]:
    """Authenticate, check the status and count the call against the tier's limits.
    `client`: the caller's address, whose failed authentications are throttled."""
    key = keys.bearer_key(authorization)
    digest = keys.hash_key(key) if key is not None else None
    try:
        meter, outcome, admitted = _admit(settings, deployment_id, authorization, digest, client)
    except IntegrityError:
        # Its owner deleted the deployment while the call was being counted: the
        # counters' rows found their parent gone. The call answers as one to a deleted
        # deployment does, billed to nobody (its usage records would go with it).
        meter, outcome, admitted = None, _not_found(), None
    if digest is not None:
        if isinstance(outcome, Target) and admitted is not None:
            _remember(digest, outcome)
        else:
            _LAST_ADMITTED.pop(digest, None)
    return meter, outcome, admitted


def _admit(
    settings: Settings,
    deployment_id: uuid.UUID,
    authorization: str | None,
    digest: str | None,
    client: str,
) -> tuple[Meter | None, Target | ApiError, Admitted | None]:
    """`digest`: the sha256 of the header's key, None when it holds none."""
    with new_session(settings) as db:
        if digest is not None and db.get_bind().dialect.name == "postgresql":
            admitted = _admit_at_once(db, deployment_id, digest)
            if admitted is not None:
                return admitted
        meter, outcome = authenticate(db, deployment_id, authorization)
        if isinstance(outcome, Unauthorized):
            throttled = limits.refuse_failed_auth(
                db, deployment_id, client, settings.infer_auth_failures_per_minute,
                datetime.now(UTC),
            )  # fmt: skip
            return meter, throttled or outcome, None
        if isinstance(outcome, ApiError):
            return meter, outcome, None
        if outcome.status != DeploymentStatus.ACTIVE:
            return meter, Conflict(f"The deployment is {outcome.status}", code="inactive"), None
        try:
            admitted_ = limits.admit(db, deployment_id, limits_of(outcome.tier))
        except ApiError as refused:
            return meter, refused, None
        return meter, outcome, admitted_


def _admit_at_once(
    db: Session, deployment_id: uuid.UUID, digest: str
) -> tuple[Meter, Target | ApiError, Admitted | None] | None:
    """The common case in one statement, on this thread's own connection (first_row);
    None (nothing changed) for the general path. Should its connection break after the
    statement ran, it runs again on a new one: the call is counted twice in its windows,
    and may be refused a call early, never let through one late."""
    now = datetime.now(UTC)
    found = first_row(db, _admit_statement(), _admit_params(digest, deployment_id, now))
    if found is None:
        return None
    meter = _meter(found)
    used = {limits.MINUTE: found.minute_count, limits.MONTH: found.month_count}
    try:
        return meter, _target(found), limits.judge(limits_of(str(found.tier)), used, now)
    except TooManyRequests as refused:
        with statement_connection(db) as conn:
            limits.settle_refusal(conn, deployment_id, refused)
        return meter, refused, None


def _admit_params(digest: str, deployment_id: uuid.UUID, now: datetime) -> dict[str, Any]:
    return {
        "key_hash": digest,
        "deployment_id": deployment_id,
        "now": now,
        "minute": limits.MINUTE,
        "minute_start": limits.minute_window(now)[0],
        "month": limits.MONTH,
        "month_start": limits.month_window(now)[0],
    }


def prepare(settings: Settings) -> None:
    """Open this thread's connection and prepare the admission's statement on it (on
    PostgreSQL): what the thread's first admission would pay otherwise. The statement
    runs for a hash no key has, so it finds, counts and changes nothing."""
    with new_session(settings) as db:
        if db.get_bind().dialect.name == "postgresql":
            params = _admit_params("", uuid.UUID(int=0), datetime.now(UTC))
            first_row(db, _admit_statement(), params)


@cache
def _admit_statement() -> str:
    """_BY_KEY_HASH as SQLAlchemy writes it for psycopg, narrowed to a usable key of
    this active deployment (as `_usable` and `admit` check them), feeding
    limits.COUNT_ONE for both periods; written once, with psycopg's `%(name)s`
    parameters."""
    from sqlalchemy.dialects import postgresql

    # The psycopg2 dialect writes named parameters with no "::TYPE" casts after them,
    # which text() would not parse.
    lookup = str(_BY_KEY_HASH.compile(dialect=postgresql.psycopg2.dialect(paramstyle="named")))
    statement = text(
        f"""
        WITH looked_up AS ({lookup}),
        found AS (
          SELECT * FROM looked_up
          WHERE deployment_id = :deployment_id AND status = '{DeploymentStatus.ACTIVE.value}'
                AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > :now)
        ),
        bumped AS (
          INSERT INTO endpoint_counters (deployment_id, period, window_start, count)
          SELECT found.deployment_id, w.period, w.window_start, 1
          FROM found, (VALUES (CAST(:minute AS VARCHAR), CAST(:minute_start AS TIMESTAMPTZ)),
                              (CAST(:month AS VARCHAR), CAST(:month_start AS TIMESTAMPTZ)))
                      AS w (period, window_start)
          {limits.COUNT_ONE}
        )
        SELECT found.*, minute.count AS minute_count, month.count AS month_count,
               {RELAXED_COMMIT}
        FROM found
        JOIN bumped minute ON minute.period = :minute
        JOIN bumped month ON month.period = :month
        """
    )
    return str(statement.compile(dialect=postgresql.psycopg.dialect()))


def _meter(found: Any) -> Meter:
    """`found`: a row of _BY_KEY_HASH."""
    return Meter(
        found.deployment_id,
        found.user_id,
        found.key_id,
        deployment_accessed_at=found.last_accessed_at,
        key_used_at=found.last_used_at,
    )
