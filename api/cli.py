"""`vap`: the platform's command line.

Commands import what they need inside their bodies so `vap --help` stays instant.
"""

from __future__ import annotations

import typer

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
def serve(
    host: str = typer.Option(None, help="Bind address (default: HOST setting)"),
    port: int = typer.Option(None, help="Port (default: PORT setting)"),
    workers: int = typer.Option(1, min=1, help="Worker processes"),
) -> None:
    """Run the API. On the embedded SQLite database, migrations are applied first."""
    import uvicorn

    from api.db import migrate
    from api.settings import get_settings

    settings = get_settings()
    host = host or settings.host
    port = port or settings.port
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
    typer.echo(
        f"Vision AI Training Platform API on http://{host}:{port}\n"
        f"  docs:     http://{host}:{port}/docs\n"
        f"  health:   http://{host}:{port}/health\n"
        f"  database: {database}\n"
        f"  storage:  {storage}",
        err=True,
    )
    uvicorn.run("api.main:app", host=host, port=port, workers=workers, log_config=None)


if __name__ == "__main__":
    app()
