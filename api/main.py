"""The FastAPI application: routers, error handlers, request middleware.

Importing this module must stay light (it is what a Lambda cold start pays): no
torch, no trainers, no cloud SDKs at import time, and no connection opened.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware

from api import routing
from api.errors import install_error_handlers
from api.observability.logs import configure_logging
from api.observability.requests import RequestContextMiddleware
from api.request_values import refuse_nul
from api.schemas.common import error_responses
from api.settings import Settings, get_settings
from api.web_console import mount_console

API_VERSION = "0.1.0"

# Each route module and the path prefixes it serves (api/routing.py imports a module when
# a request under its prefixes arrives). Routes are matched in this order, one regular
# expression each, so the hot paths come first: worker callbacks and the pay-per-call
# endpoint (before them, a callback was tried against 82 routes). No two modules' paths
# overlap, so order changes nothing else.
ROUTE_MODULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("api.routes.jobs", ("/api/v1/jobs",)),
    ("api.routes.endpoint", ("/v1/",)),
    ("api.routes.operations", ("/health", "/metrics", "/api/v1/operations/reconcile")),
    ("api.routes.auth", ("/api/v1/auth",)),
    ("api.routes.users", ("/api/v1/users",)),
    ("api.routes.projects", ("/api/v1/projects",)),
    ("api.routes.datasets", ("/api/v1/datasets",)),
    ("api.routes.models", ("/api/v1/models",)),
    ("api.routes.weights", ("/api/v1/pretrained-weights",)),
    ("api.routes.training", ("/api/v1/training",)),
    ("api.routes.test_runs", ("/api/v1/test-runs",)),
    ("api.routes.inference", ("/api/v1/inference",)),
    ("api.routes.exports", ("/api/v1/export",)),
    ("api.routes.deployments", ("/api/v1/deployments",)),
    ("api.routes.chat", ("/api/v1/chat",)),
    ("api.routes.diagnostics", ("/api/v1/diagnostics/jobs",)),
    ("api.routes.runners", ("/api/v1/runners", "/api/v1/operations/runners")),
    ("api.routes.webhooks", ("/api/v1/webhooks",)),
    ("api.routes.storage_files", ("/api/v1/storage",)),
)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    # In the background, imports included: starting waits for none of it.
    threading.Thread(
        target=_warm_endpoint, args=(app, app.state.settings), name="warm", daemon=True
    ).start()
    yield
    # Uvicorn ends a SIGTERM'd process by raising the signal again after shutdown, so
    # atexit handlers never run: what must outlive the process is written here.
    from api.services.endpoint import metering  # the database layer: not at app import

    metering.flush()


def _warm_endpoint(app: FastAPI, settings: Settings) -> None:
    """What a first call of the pay-per-call endpoint would pay otherwise: its routes
    (for any deployment, even one created later), then the recent deployments' models."""
    if not settings.infer_warm_at_startup:
        return
    from api.services.endpoint import warming

    routing.prepare(app, "GET", "/v1/health")  # builds the module's every route, infer too
    warming.at_startup(settings)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level, settings.log_format)
    app = FastAPI(
        title=settings.app_name,
        version=API_VERSION,
        lifespan=lifespan,
        # Every documented route may answer the common error shape, with any of the error
        # statuses this API uses (clients are generated from this document).
        responses=error_responses(),
        # Before every route: text that PostgreSQL cannot store is a 422, not a 500.
        dependencies=[Depends(refuse_nul)],
    )
    app.state.settings = settings
    install_error_handlers(app)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_credentials=True,
            allow_methods=["*"],
            allow_headers=["*"],
        )
    app.add_middleware(RequestContextMiddleware)
    routing.include_lazily(app, ROUTE_MODULES)
    mount_console(app, settings)  # the web console at /, when web/dist is built
    return app


app = create_app()
