"""Deployments' models loaded before their first call.

A process's first call of a model paid the whole load: importing numpy and ONNX
Runtime, fetching the file, creating the session (~400 ms for the demo's ResNet-18 on
2 cores), ORT's lazy initialisation in the first run, Pillow's image plugins, and the
admission thread's connection and prepared statement: ~1 s where a steady call takes
~4 ms. Warming pays all of it ahead, through the same code a call runs (one blank image
decoded, preprocessed, run and postprocessed):

- on activation (create, activate), in the process that handles it, with the
  deployment's keys remembered as admitted before (admission.expect_calls), so that a
  first call prepares its image during its admission as later calls do. Its answer waits
  for the warm-up, up to `infer_warm_wait_seconds`: a client calling right after the
  answer (the demo does) would otherwise find the load under way and wait for the rest
  of it on its first call anyway;
- at startup, in the background, for the active deployments used most recently (as many
  as the cache keeps; their keys remembered as on activation), after the endpoint's
  routes (api/main.py): a restarted or added process answers its first calls warm, and
  starting it waits for none of it.

A process that neither handled the activation nor has restarted since (another uvicorn
worker, another Lambda instance) loads the model on its first call, as before. Bounded:
warmed models go into the calls' LRU (sessions), and a deactivated or deleted
deployment's model leaves this process's cache unless another active deployment serves
it.
"""

from __future__ import annotations

import contextlib
import io
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as WaitedEnough

import structlog
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.db.models import Deployment, DeploymentStatus, DeploymentStrategy, ExportJob
from api.services.endpoint.sessions import ModelRef
from api.settings import Settings

log = structlog.get_logger("api.endpoint")

# One model at a time: a load takes the cores that calls want; the others queue.
_WARMER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="endpoint-warm")


_ACTIVE_ENDPOINT = (
    Deployment.status == DeploymentStatus.ACTIVE,
    Deployment.strategy == DeploymentStrategy.PLATFORM_ENDPOINT,
)


def served_here(
    db: Session, deployment_id: uuid.UUID | None = None, most: int = 1
) -> list[ModelRef]:
    """The models this process runs for active CPU endpoints (one deployment's, or those
    used or deployed most recently), `most` at most. GPU deployments run on Modal:
    nothing to load here."""
    recent = func.max(func.coalesce(Deployment.last_accessed_at, Deployment.deployed_at))
    query = (
        select(
            ExportJob.id, ExportJob.checksum_sha256, ExportJob.export_key, ExportJob.metadata_key
        )
        .join(Deployment, Deployment.export_job_id == ExportJob.id)
        .where(
            *_ACTIVE_ENDPOINT,
            func.coalesce(Deployment.config["device"].as_string(), "cpu") == "cpu",
        )
        .group_by(ExportJob.id)
        .order_by(recent.desc().nulls_last())
        .limit(most)
    )
    if deployment_id is not None:
        query = query.where(Deployment.id == deployment_id)
    refs = (ModelRef.of_export(*row) for row in db.execute(query))
    return list({ref.cache_key: ref for ref in refs}.values())  # exports of one file: once


def recently_used(db: Session, most: int) -> list[uuid.UUID]:
    """The active endpoint deployments used or deployed most recently, `most` at most."""
    recent = func.coalesce(Deployment.last_accessed_at, Deployment.deployed_at)
    query = (
        select(Deployment.id)
        .where(*_ACTIVE_ENDPOINT)
        .order_by(recent.desc().nulls_last())
        .limit(most)
    )
    return list(db.scalars(query))


def warm(settings: Settings, ref: ModelRef) -> None:
    """Load `ref`'s model into this process's cache and run a blank image through the
    call's path once; make an admission thread ready. Raises what loading raises
    (ServiceUnavailable `model_unavailable`)."""
    from PIL import Image

    from api.services.endpoint import calls, images, sessions

    calls.prepare_admissions(settings)
    model = sessions.model_for(settings, ref)
    height, width = (int(v) for v in model.metadata["preprocessing"]["resize"]["size"])
    blank = io.BytesIO()
    Image.new("RGB", (width, height)).save(blank, format="PNG")
    x, placed = model.preprocess(images.decode(blank.getvalue(), settings.infer_max_image_pixels))
    model.postprocess(model.run(x), placed)


def _warm_all(settings: Settings, refs: list[ModelRef]) -> None:
    for ref in refs:
        try:
            warm(settings, ref)
        except Exception as exc:  # noqa: BLE001  (its first call answers the fault)
            log.warning(
                "model_not_warmed", model=ref.cache_key, error=f"{type(exc).__name__}: {exc}"
            )


def _warm_deployment(settings: Settings, deployment_id: uuid.UUID) -> None:
    from api.db.session import new_session
    from api.services.endpoint import admission

    with new_session(settings) as db:
        refs = served_here(db, deployment_id)
        admission.expect_calls(db, [deployment_id])
    _warm_all(settings, refs)


def after_activation(settings: Settings, deployment_id: uuid.UUID) -> None:
    """Warm a deployment just created or activated (committed), waiting for it at most
    `infer_warm_wait_seconds`; a longer load goes on in the background."""
    done = _WARMER.submit(_warm_deployment, settings, deployment_id)
    with contextlib.suppress(WaitedEnough):
        done.result(timeout=settings.infer_warm_wait_seconds)


def _warm_recent(settings: Settings) -> None:
    from api.db.session import new_session
    from api.services.endpoint import admission

    try:
        with new_session(settings) as db:
            refs = served_here(db, most=settings.infer_max_cached_models)
            admission.expect_calls(db, recently_used(db, settings.infer_max_cached_models))
    except Exception as exc:  # noqa: BLE001  (a database not there yet: calls load lazily)
        log.warning("models_not_warmed", error=f"{type(exc).__name__}: {exc}")
        return
    _warm_all(settings, refs)


def at_startup(settings: Settings) -> Future[None] | None:
    """Start warming, in the background, the models of the active deployments used or
    deployed most recently (when `infer_warm_at_startup`); its end."""
    if not settings.infer_warm_at_startup:
        return None
    return _WARMER.submit(_warm_recent, settings)


def after_deactivation(db: Session, export_id: uuid.UUID) -> None:
    """Unload the model of a deactivated or deleted deployment of export `export_id`
    (committed) from this process, unless another active endpoint serves it."""
    from api.services.endpoint import sessions

    export = db.get(ExportJob, export_id)
    if export is None:
        return
    ref = ModelRef.of_export(
        export.id, export.checksum_sha256, export.export_key, export.metadata_key
    )
    same = (
        ExportJob.checksum_sha256 == export.checksum_sha256
        if export.checksum_sha256
        else ExportJob.id == export.id
    )
    still_served = db.scalar(
        select(func.count())
        .select_from(Deployment)
        .join(ExportJob, Deployment.export_job_id == ExportJob.id)
        .where(*_ACTIVE_ENDPOINT, same)
    )
    if not still_served:
        sessions.drop(ref.cache_key)
