"""Health and metrics: what load balancers and Prometheus scrape."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from api.errors import error_body
from api.observability.metrics import REGISTRY
from api.services.storage import get_storage
from api.settings import get_settings

router = APIRouter(tags=["operations"])


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
    from sqlalchemy import text

    from api.db.session import new_session

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
def metrics() -> Response:
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
