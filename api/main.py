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

from api.errors import install_error_handlers
from api.observability.logs import configure_logging
from api.observability.requests import RequestContextMiddleware
from api.request_values import refuse_nul
from api.routes import (
    auth,
    chat,
    datasets,
    deployments,
    diagnostics,
    endpoint,
    exports,
    inference,
    jobs,
    models,
    operations,
    projects,
    runners,
    storage_files,
    test_runs,
    training,
    users,
    webhooks,
    weights,
)
from api.schemas.common import error_responses
from api.settings import Settings, get_settings
from api.web_console import mount_console

API_VERSION = "0.1.0"

# Routes are matched in this order, one regular expression each, so the hot paths come
# first: worker callbacks and the pay-per-call endpoint (before them, a callback was
# tried against 82 routes). No two routers' paths overlap, so order changes nothing else.
ROUTERS = (
    jobs.router,
    endpoint.router,
    operations.router,
    auth.router,
    users.router,
    projects.router,
    datasets.router,
    models.router,
    weights.router,
    training.router,
    test_runs.router,
    inference.router,
    exports.router,
    deployments.router,
    chat.router,
    diagnostics.router,
    runners.router,
    webhooks.router,
    storage_files.router,
)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    # In the background, imports included: starting waits for none of it.
    threading.Thread(
        target=_warm_endpoint_models, args=(app.state.settings,), name="warm", daemon=True
    ).start()
    yield
    # Uvicorn ends a SIGTERM'd process by raising the signal again after shutdown, so
    # atexit handlers never run: what must outlive the process is written here.
    from api.services.endpoint import metering

    metering.flush()


def _warm_endpoint_models(settings: Settings) -> None:
    from api.services.endpoint import warming

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
    for router in ROUTERS:
        app.include_router(router)
    mount_console(app, settings)  # the web console at /, when web/dist is built
    return app


app = create_app()
