"""What each runner's workers can do, and job admission against it.

The workers say it themselves (`Runner.capabilities()`: `python -m functions
capabilities` where they run); the table is kept per runner in `runner_capabilities`
with when it was taken. A missing table is asked for on first use; a table older than
RUNNER_CAPABILITIES_MAX_AGE_HOURS is asked for again by the reconciler's pass (so a
request never waits on a cold worker for it), or at once by an admin
(`vap runners refresh`). The API never looks at its own packages or GPU: on Lambda it
has neither, and its workers are elsewhere.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from api.db.models import RunnerCapabilities
from api.db.session import new_session
from api.errors import Unprocessable
from api.schemas.exports import Capabilities
from api.schemas.jobs import RunnerRead
from api.services.jobs.runners import RUNNERS, RunnerUnavailable, get_runner
from api.settings import Settings
from contract.capabilities import GpuRequest, WorkerCapabilities, matching_devices

# A runner that could not answer is not asked again on every request for this long.
_RETRY_AFTER_ERROR = timedelta(minutes=1)


def runner_for(settings: Settings, runner: str | None) -> str:
    """The runner a job will use: its own choice, else the installation's default."""
    return runner or settings.execution_backend


def _known(runner: str) -> str:
    if runner not in RUNNERS:
        raise Unprocessable(
            f"runner: unknown {runner!r}; known: {', '.join(sorted(RUNNERS))}",
            code="unknown_runner",
        )
    return runner


def refresh(settings: Settings, runner: str) -> RunnerCapabilities:
    """Ask the runner's workers now and keep the answer, or why there was none."""
    _known(runner)
    now = datetime.now(UTC)
    report, error = None, None
    try:
        report = get_runner(runner, settings).capabilities().model_dump(mode="json")
    except RunnerUnavailable as exc:
        error = str(exc)[:4000]
    with new_session(settings) as db:
        for _ in range(2):  # a second replica may insert the row between our read and write
            row = db.get(RunnerCapabilities, runner) or RunnerCapabilities(runner=runner)
            row.asked_at, row.error = now, error
            if report is not None:
                row.report, row.taken_at = report, now
            db.add(row)
            try:
                db.commit()
                break
            except IntegrityError:
                db.rollback()
        db.expunge(row)
    return row


def stored(settings: Settings, runner: str) -> RunnerCapabilities:
    """The runner's kept table, asked for first when there is none (nor a recent
    failure to get one)."""
    with new_session(settings) as db:
        row = db.get(RunnerCapabilities, _known(runner))
        if row is not None:
            db.expunge(row)
    if row is None or (
        row.report is None and datetime.now(UTC) - row.asked_at > _RETRY_AFTER_ERROR
    ):
        row = refresh(settings, runner)
    return row


def report_of(row: RunnerCapabilities) -> WorkerCapabilities:
    """The kept report; Unprocessable (`runner_unavailable`) naming the runner and why,
    when its workers never gave one: nothing can be asked of them until they do."""
    if row.report is None:
        raise Unprocessable(
            f"Runner {row.runner!r} could not say what its workers can do: {row.error}",
            code="runner_unavailable",
        )
    return WorkerCapabilities.model_validate(row.report)


def refresh_stale(settings: Settings, default_too: bool = True) -> list[str]:
    """Ask again every runner whose table is older than the maximum age (and the
    default runner when it has none): the reconciler's pass calls this. The runners
    asked, by name."""
    max_age = timedelta(hours=settings.runner_capabilities_max_age_hours)
    now = datetime.now(UTC)
    with new_session(settings) as db:
        rows = {r.runner: r for r in db.scalars(select(RunnerCapabilities))}
    due = [
        name
        for name, row in rows.items()
        if name in RUNNERS
        and now - (row.taken_at or row.asked_at) > max_age
        and now - row.asked_at > _RETRY_AFTER_ERROR
    ]
    if default_too and settings.execution_backend not in rows:
        due.append(settings.execution_backend)
    for name in due:
        refresh(settings, name)
    return due


def require(
    settings: Settings,
    runner: str | None,
    *,
    framework: str | None = None,
    export_format: str | None = None,
    quantization: str | None = None,
    gpu: str | None = None,
) -> dict[str, Any]:
    """Refuse, before anything is written, a job its runner's workers cannot run:
    Unprocessable naming the runner and the reason (`unsupported_framework`,
    `unsupported_format`, `unsupported_quantization`, `unsupported_gpu`), or
    `runner_unavailable` when the runner never said what it can do. Returns what
    admission settles of the job's resources: the worker devices a GPU request gets
    where the workers list theirs (`gpu_devices`), or the type "any" stands for where
    the runner provisions GPUs per job (`gpu`)."""
    name = runner_for(settings, runner)
    request = _gpu_request(gpu)
    if framework is None and request is None:
        return {}  # nothing to check: no framework, no GPU
    caps = report_of(stored(settings, name))
    where = f"runner {name!r}"
    if framework is not None:
        support = caps.frameworks.get(framework)
        if support is None or not support.supported:
            reason = support.reason if support else "its workers do not know this framework"
            raise Unprocessable(
                f"framework: {where} cannot run {framework} jobs: {reason}",
                code="unsupported_framework",
            )
    if framework is not None and export_format is not None:
        support = caps.export.get(framework, {}).get(export_format)
        if support is None or not support.supported:
            reason = support.reason if support else "its workers do not know this format"
            raise Unprocessable(
                f"format: {export_format} export of {framework} models is not available here "
                f"({where}): {reason}",
                code="unsupported_format",
            )
    if quantization is not None:
        support = caps.quantizations.get(quantization)
        if support is None or not support.supported:
            reason = support.reason if support else "its workers do not know it"
            raise Unprocessable(
                f"quantization: {quantization} is not available on {where}: {reason}",
                code="unsupported_quantization",
            )
    if request is None:
        return {}
    problem = caps.gpu_problem(request)
    if problem is not None:
        raise Unprocessable(
            f"gpu: {where} cannot give this job {request}: {problem}", code="unsupported_gpu"
        )
    if caps.gpu.requestable is not None:  # the runner provisions GPUs per job (Modal)
        if request.type is None and caps.gpu.default:
            return {"gpu": str(GpuRequest(type=caps.gpu.default, count=request.count))}
        return {}
    return {"gpu_devices": matching_devices(caps.gpu.devices, request.type)[: request.count]}


def _gpu_request(gpu: str | None) -> GpuRequest | None:
    if not gpu:
        return None
    try:
        return GpuRequest.parse(gpu)
    except ValueError as exc:
        raise Unprocessable(str(exc), code="bad_gpu") from None


def view(row: RunnerCapabilities, framework: str | None = None) -> Capabilities:
    """The kept table as the API shows it; only `framework`'s export row when named."""
    caps = report_of(row)
    table = {fw: {f: s.model_dump() for f, s in formats.items()}
             for fw, formats in caps.export.items()}  # fmt: skip
    if framework is not None:
        if framework not in table:
            raise Unprocessable(
                f"framework: unknown {framework!r}; known: {', '.join(sorted(table))}",
                code="unknown_framework",
            )
        table = {framework: table[framework]}
    return Capabilities(
        runner=row.runner,
        taken_at=row.taken_at,
        gpu=bool(caps.gpu.devices or caps.gpu.requestable),
        gpu_info=caps.gpu.model_dump(),
        frameworks=table,
        trains={fw: s.model_dump(exclude={"route"}) for fw, s in caps.frameworks.items()},
        quantizations={q: s.model_dump(exclude={"route"}) for q, s in caps.quantizations.items()},
        versions=caps.versions,
        python=caps.python,
        platform=caps.platform,
        error=row.error,
    )


def runners(settings: Settings) -> list[RunnerRead]:
    """Every runner this API knows, with when its workers last reported."""
    with new_session(settings) as db:
        rows = {r.runner: r for r in db.scalars(select(RunnerCapabilities))}
    return [
        RunnerRead(
            name=name,
            default=name == settings.execution_backend,
            taken_at=rows[name].taken_at if name in rows else None,
            asked_at=rows[name].asked_at if name in rows else None,
            error=rows[name].error if name in rows else None,
        )
        for name in sorted(RUNNERS)
    ]
