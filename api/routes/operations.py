"""Health and metrics: what load balancers and Prometheus scrape."""

from __future__ import annotations

import hmac
import time
from typing import Annotated, Any

from fastapi import APIRouter, Header
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from api.auth.logins import user_for_token
from api.db.session import new_session
from api.deps import SettingsDep
from api.errors import Forbidden, Unauthorized, error_body
from api.observability import job_metrics
from api.observability.metrics import REGISTRY
from api.roles import UserRole
from api.services.jobs.reconciler import reconcile
from api.services.storage import get_storage
from api.services.webhooks import deliver_due
from api.settings import get_settings

router = APIRouter(tags=["operations"])
job_metrics.register(REGISTRY)  # served here, so registered here


def _timed(check: Any) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        check()
        ok, error = True, None
    except Exception as exc:  # a health check reports failures, it does not raise them
        ok, error = False, f"{type(exc).__name__}: {exc}"[:500]
    return {
        "ok": ok,
        "latency_ms": round((time.perf_counter() - started) * 1000, 2),
        "error": error,
    }


def _check_database() -> None:
    with new_session() as db:
        db.execute(text("SELECT 1"))


@router.get("/health")
def health() -> JSONResponse:
    """200 when the database and storage answer; 503 naming what failed otherwise."""
    settings = get_settings()
    checks = {
        "database": {
            "backend": "sqlite" if settings.is_sqlite else "postgresql",
            **_timed(_check_database),
        },
        "storage": {"backend": settings.storage_backend, **_timed(lambda: get_storage().check())},
    }
    failed = [name for name, result in checks.items() if not result["ok"]]
    body: dict[str, Any] = {"status": "unhealthy" if failed else "ok", "checks": checks}
    if failed:
        body |= error_body("unhealthy", "Failing: " + ", ".join(failed), {"failed": failed})
    return JSONResponse(body, status_code=503 if failed else 200)


@router.get("/metrics", include_in_schema=False)
def metrics(
    settings: SettingsDep, authorization: Annotated[str | None, Header()] = None
) -> Response:
    """Prometheus metrics; with METRICS_TOKEN set, only for `Authorization: Bearer` it."""
    if settings.metrics_token:
        given = (authorization or "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(given.encode(), settings.metrics_token.encode()):
            raise Unauthorized("Metrics need the METRICS_TOKEN bearer token")
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)


@router.post("/api/v1/operations/reconcile", tags=["operations"])
def reconcile_now(
    settings: SettingsDep,
    x_reconcile_token: Annotated[str | None, Header()] = None,
    authorization: Annotated[str | None, Header()] = None,
) -> dict[str, Any]:
    """One reconciler pass and webhook delivery, for schedulers that cannot run `vap
    reconcile` (the Modal cron in modal_app.py): authorised by the RECONCILE_TOKEN
    setting in `X-Reconcile-Token`, or an admin's login."""
    with new_session() as db:
        if settings.reconcile_token and x_reconcile_token:
            if not hmac.compare_digest(settings.reconcile_token, x_reconcile_token):
                raise Unauthorized("Invalid reconcile token", code="invalid_token")
        else:
            bearer = authorization.removeprefix("Bearer ").strip() if authorization else None
            user = user_for_token(db, settings, bearer)
            if user.role != UserRole.ADMIN:
                raise Forbidden("This needs the admin role")
        summary = reconcile(db, settings)
        delivered = deliver_due(db, settings)
    return {
        "checked": summary.checked,
        "retried": summary.retried,
        "failed": summary.failed,
        "webhooks_attempted": delivered,
    }
