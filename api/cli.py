"""`vap`: the platform's command line.

Commands import what they need inside their bodies so `vap --help` stays instant.
"""

from __future__ import annotations

import os

import typer

from vap_client.cli import register as register_client_commands

app = typer.Typer(help="Vision AI Training Platform", no_args_is_help=True, add_completion=False)
db_app = typer.Typer(help="Database migrations", no_args_is_help=True)
app.add_typer(db_app, name="db")


@db_app.command("upgrade")
def db_upgrade(revision: str = typer.Argument("head", help="Target revision")) -> None:
    """Apply migrations up to REVISION (default: the newest)."""
    from api.db import migrate

    migrate.upgrade(revision=revision)
    typer.echo(f"database at revision {migrate.current_revision()}")


@db_app.command("current")
def db_current() -> None:
    """Print the database's current revision."""
    from api.db import migrate

    typer.echo(migrate.current_revision() or "empty (no migrations applied)")


@app.command()
def reconcile(
    loop: bool = typer.Option(False, help="Keep going, every --interval seconds"),
    interval: float = typer.Option(30.0, min=1, help="Seconds between passes with --loop"),
) -> None:
    """Retry or fail jobs whose workers are gone (silent past HEARTBEAT_TIMEOUT_SECONDS,
    or their process exited without reporting)."""
    import time

    while True:
        summary = _reconcile_once()
        typer.echo(
            f"checked {summary.checked} active jobs: {len(summary.retried)} retried, "
            f"{len(summary.failed)} failed"
        )
        if not loop:
            return
        time.sleep(interval)


def _reconcile_once():  # type: ignore[no-untyped-def]
    from api.db.session import new_session
    from api.services.jobs.reconciler import reconcile as run
    from api.services.webhooks import deliver_due
    from api.settings import get_settings

    with new_session() as db:
        summary = run(db, get_settings())
        deliver_due(db, get_settings())
        return summary


_WEBHOOK_POLL_SECONDS = 2.0


def _reconcile_in_background(interval: float) -> None:
    """The reconciler and webhook delivery as a daemon thread of `vap serve`: a
    single-machine install needs no scheduler. Errors are logged and the loop goes on."""
    import logging
    import threading
    import time

    def loop() -> None:
        from api.db.session import new_session
        from api.services.webhooks import deliver_due
        from api.settings import get_settings

        next_reconcile = time.monotonic() + interval
        while True:
            time.sleep(_WEBHOOK_POLL_SECONDS)
            try:
                with new_session() as db:
                    deliver_due(db, get_settings())
                if time.monotonic() >= next_reconcile:
                    next_reconcile = time.monotonic() + interval
                    _reconcile_once()
            except Exception:
                logging.getLogger("api.reconciler").exception("background pass failed")

    threading.Thread(target=loop, name="reconciler", daemon=True).start()


@app.command()
def serve(
    host: str = typer.Option(None, help="Bind address (default: HOST setting)"),
    port: int = typer.Option(None, help="Port (default: PORT setting)"),
    workers: int = typer.Option(1, min=1, help="Worker processes"),
    reconcile_every: float = typer.Option(
        30.0, min=0, help="Seconds between reconciler passes in the background (0: off)"
    ),
) -> None:
    """Run the API. On the embedded SQLite database, migrations are applied first."""
    import uvicorn

    from api.db import migrate
    from api.http_server import uvicorn_options
    from api.settings import get_settings

    # Flags win over the environment, and the app (imported by uvicorn) must see them:
    # callbacks and signed URLs are built on HOST and PORT unless API_BASE_URL is set.
    if host:
        os.environ["HOST"] = host
    if port:
        os.environ["PORT"] = str(port)
    get_settings.cache_clear()
    settings = get_settings()
    host, port = settings.host, settings.port
    if settings.is_sqlite:
        migrate.upgrade(settings)
    database = (
        "SQLite " + settings.database_url.split("///", 1)[-1]
        if settings.is_sqlite
        else "PostgreSQL"
    )
    storage = (
        f"local folder {settings.storage_local_root}"
        if settings.storage_backend == "local"
        else f"S3 bucket {settings.s3_bucket}"
    )
    from api.web_console import console_dir

    console = f"  console:  http://{host}:{port}/\n" if console_dir(settings) else ""
    typer.echo(
        f"Vision AI Training Platform API on http://{host}:{port}\n"
        f"{console}"
        f"  docs:     http://{host}:{port}/docs\n"
        f"  health:   http://{host}:{port}/health\n"
        f"  database: {database}\n"
        f"  storage:  {storage}",
        err=True,
    )
    if reconcile_every > 0:
        _reconcile_in_background(reconcile_every)
    # The HTTP_* settings: bounded request heads, a deadline for them, keep-alive and
    # concurrency limits (api/http_server.py).
    uvicorn.run(
        "api.main:app",
        host=host,
        port=port,
        workers=workers,
        log_config=None,
        **uvicorn_options(settings),
    )


# The commands that work through the API (login, datasets, train, jobs, export, deploy,
# infer, demo) live with the client, which they use; they need no server code.
register_client_commands(app)

if __name__ == "__main__":
    app()
