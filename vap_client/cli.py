"""The `vap` commands that work through the API (login, datasets, train, jobs, export,
deploy, infer, demo), registered on the `vap` app of api/cli.py.

Only typer is imported here; each command imports the client when it runs, so
`vap --help` stays instant. Human-readable output by default; with `--json`, stdout
holds one JSON document (or JSON lines for streams) and everything else goes to stderr.
"""

from __future__ import annotations

import contextlib
import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

if TYPE_CHECKING:
    from vap_client import Client
    from vap_client.follow import LiveView

F = TypeVar("F", bound=Callable[..., Any])

JSON_OPTION = typer.Option(False, "--json", help="Machine-readable JSON on stdout")

datasets_app = typer.Typer(help="Upload and list datasets", no_args_is_help=True)
jobs_app = typer.Typer(help="Jobs of every kind: list, show, logs, cancel", no_args_is_help=True)
runners_app = typer.Typer(
    help="Where jobs run, and what their workers can do", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    """Add the client's commands to the `vap` app."""
    app.command()(login)
    app.add_typer(datasets_app, name="datasets")
    app.command()(train)
    app.add_typer(jobs_app, name="jobs")
    app.add_typer(runners_app, name="runners")
    app.command()(export)
    app.command()(deploy)
    app.command()(infer)
    app.command()(usage)
    app.command()(demo)


# --- plumbing ---------------------------------------------------------------------------


def _handles_errors(command: F) -> F:
    """API errors and an unreachable server end the command with exit code 1 and the
    API's own message on stderr, never a traceback."""

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        import httpx

        from vap_client.errors import ApiError, ServerUnreachable

        try:
            return command(*args, **kwargs)
        except ApiError as exc:
            hint = ""
            if exc.status_code == 401:
                hint = "\n  (if your login expired: vap login)"
            typer.echo(f"error: {exc.message} ({exc.status_code} {exc.code}){hint}", err=True)
            raise typer.Exit(1) from None
        except ServerUnreachable as exc:
            typer.echo(
                f"error: {exc}\n  (start it with ./quickstart.sh or vap serve, or "
                "point vap at it: vap login --server URL)",
                err=True,
            )
            raise typer.Exit(1) from None
        except httpx.HTTPError as exc:  # the connection broke mid-way, or timed out
            typer.echo(f"error: talking to the API failed: {exc!r}", err=True)
            raise typer.Exit(1) from None

    return run  # type: ignore[return-value]


def _client(login_required: bool = True) -> Client:
    from vap_client import Client
    from vap_client.config import load

    config = load()
    if login_required and not config.token:
        typer.echo("error: not logged in (run: vap login)", err=True)
        raise typer.Exit(1)
    return Client(config.server, config.token)


def _as_json(value: Any) -> Any:
    from pydantic import BaseModel

    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, list | tuple):
        return [_as_json(v) for v in value]
    if isinstance(value, dict):
        return {k: _as_json(v) for k, v in value.items()}
    return value


def _print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(_as_json(value), indent=2, default=str) + "\n")
    sys.stdout.flush()


def _table(rows: list[list[str]], header: list[str]) -> None:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        typer.echo("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


def _follow(client: Client, job_id: str, view: LiveView) -> str | None:
    """Show the job's events until it ends; its final status. On Ctrl-C, ask whether to
    cancel the job or leave it running (detach): exit code 130 either way."""

    def reconnecting(last: int, error: Exception | None) -> None:
        typer.echo(f"  (connection lost; resuming after event {last})", err=True)

    try:
        for event in client.events(job_id, on_reconnect=reconnecting):
            view(event)
    except KeyboardInterrupt:
        view.close()
        choice = "d"
        if sys.stdin.isatty():
            try:
                choice = (
                    typer.prompt(
                        "\nCancel the job [c] or detach and leave it running [d]?", default="d"
                    )
                    .strip()
                    .lower()[:1]
                )
            except (KeyboardInterrupt, typer.Abort, EOFError):
                choice = "d"
        if choice == "c":
            client.cancel_job(job_id)
            typer.echo(f"job {job_id} cancelled", err=True)
        else:
            typer.echo(
                f"detached; job {job_id} goes on. Follow it: vap jobs logs {job_id} --follow",
                err=True,
            )
        raise typer.Exit(130) from None
    finally:
        view.close()
    return view.final_status


def _load_config_file(path: Path) -> dict[str, Any]:
    text = path.read_text()
    if path.suffix.lower() in (".yaml", ".yml"):
        try:
            import yaml
        except ImportError:
            typer.echo(
                "error: reading YAML needs PyYAML (pip install pyyaml), or use JSON", err=True
            )
            raise typer.Exit(1) from None
        loaded = yaml.safe_load(text)
    else:
        loaded = json.loads(text)
    if not isinstance(loaded, dict):
        typer.echo(f"error: {path} must hold a mapping of config fields", err=True)
        raise typer.Exit(1)
    return loaded


# --- login ------------------------------------------------------------------------------


@_handles_errors
def login(
    email: str = typer.Option(..., prompt=True, help="Your account's email"),
    password: str = typer.Option(..., prompt=True, hide_input=True, envvar="VAP_PASSWORD"),
    server: str = typer.Option(
        None, help="The API's URL (default: the saved one, or http://127.0.0.1:8000)"
    ),
    register_account: bool = typer.Option(False, "--register", help="Create the account first"),
    as_json: bool = JSON_OPTION,
) -> None:
    """Log in; the server's URL and your token are kept for the next commands.

    In $VAP_CONFIG, else ~/.config/vap/config.json (readable by you only)."""
    from vap_client import Client, Conflict
    from vap_client.config import load, save

    config = load()
    config.server = (server or config.server).rstrip("/")
    with Client(config.server) as client:
        if register_account:
            with contextlib.suppress(Conflict):  # already there: log in
                client.register(email, password)
        token = client.login(email, password)
        me = client.me()
    config.token, config.email = token.access_token, me.email
    path = save(config)
    if as_json:
        _print_json(
            {
                "server": config.server,
                "user": me,
                "config": str(path),
                "expires_in": token.expires_in,
            }
        )
    else:
        typer.echo(
            f"logged in to {config.server} as {me.email} ({me.role}); "
            f"token saved in {path}, valid {token.expires_in // 60} min"
        )


# --- datasets ---------------------------------------------------------------------------


@datasets_app.command("upload")
@_handles_errors
def datasets_upload(
    path: Annotated[
        Path, typer.Argument(exists=True, help="An archive (.zip, .tar, .tar.gz) or a folder")
    ],
    name: str = typer.Option(None, help="Default: the file's name"),
    task: str = typer.Option(None, "--task", help="Task type; default: what the labels say"),
    format: str = typer.Option(None, help="imagefolder, yolo, coco, pascal_voc; default: detected"),
    as_json: bool = JSON_OPTION,
) -> None:
    """Upload a dataset with a progress bar; it is validated before the command ends."""
    from vap_client.progress import Bar, human_bytes

    client = _client()
    name = name or path.name.split(".")[0]
    bar = Bar(f"uploading {path.name}")

    def progress(sent: int, total: int) -> None:
        bar.total = total
        bar.update(sent, f"{human_bytes(sent)} / {human_bytes(total)}")
        if sent >= total:
            bar.close("validating ...")

    dataset = client.upload_dataset(path, name, task_type=task, format=format, progress=progress)
    bar.close()
    if as_json:
        _print_json(dataset)
    elif dataset.status == "ready":
        typer.echo(
            f"dataset {dataset.id} '{dataset.name}' ready: {dataset.num_images} images, "
            f"{dataset.num_classes} classes, {dataset.format}, {dataset.task_type}"
        )
    else:
        typer.echo(f"dataset {dataset.id} '{dataset.name}': {dataset.status}", err=True)
        for problem in (dataset.validation_errors or {}).get("errors", [])[:20]:
            typer.echo(f"  {problem}", err=True)
    if dataset.status != "ready":
        raise typer.Exit(1)


@datasets_app.command("list")
@_handles_errors
def datasets_list(
    q: str = typer.Option(None, help="Only those whose name or description holds this"),
    limit: int = typer.Option(50, min=1, max=200),
    as_json: bool = JSON_OPTION,
) -> None:
    """Your datasets, newest first."""
    page = _client().list_datasets(q=q, limit=limit)
    if as_json:
        _print_json(page)
        return
    rows = [
        [d.id, d.name, d.status, str(d.num_images), str(d.num_classes or ""), d.task_type or ""]
        for d in page.items
    ]
    _table(rows, ["ID", "NAME", "STATUS", "IMAGES", "CLASSES", "TASK"])


@datasets_app.command("show")
@_handles_errors
def datasets_show(
    dataset: str = typer.Argument(..., help="Id or name"), as_json: bool = JSON_OPTION
) -> None:
    """One dataset: its stats, classes, splits."""
    found = _client().find_dataset(dataset)
    if as_json:
        _print_json(found)
        return
    for key in (
        "id",
        "name",
        "status",
        "format",
        "task_type",
        "num_images",
        "num_classes",
        "class_names",
        "split_config",
        "size_bytes",
        "created_at",
    ):
        typer.echo(f"{key:<12} {getattr(found, key, None)}")


@datasets_app.command("delete")
@_handles_errors
def datasets_delete(dataset: str = typer.Argument(..., help="Id or name")) -> None:
    """Delete a dataset and its files."""
    client = _client()
    found = client.find_dataset(dataset)
    client.delete_dataset(found.id)
    typer.echo(f"dataset {found.id} deleted")


# --- training ---------------------------------------------------------------------------


@_handles_errors
def train(
    dataset: str = typer.Option(..., help="The dataset's id or name"),
    model: str = typer.Option(..., help="e.g. resnet18 (see GET /api/v1/models)"),
    framework: str = typer.Option("timm", help="timm, ultralytics or transformers"),
    config: Annotated[
        Path | None, typer.Option(exists=True, help="Config fields as YAML or JSON")
    ] = None,
    epochs: int = typer.Option(None, min=1),
    image_size: int = typer.Option(None, min=8),
    batch_size: int = typer.Option(None, min=1),
    preset: str = typer.Option(None, help="basic, standard or aggressive"),
    task: str = typer.Option(None, "--task", help="Default: the dataset's"),
    name: str = typer.Option(None),
    detach: bool = typer.Option(False, help="Start it and return; do not follow"),
    as_json: bool = JSON_OPTION,
) -> None:
    """Train a model and follow it live.

    A progress bar per epoch, a line of metrics per validation, the best epoch at the
    end. Ctrl-C asks whether to cancel the job or leave it running (detach)."""
    from vap_client.follow import LiveView, format_metrics

    client = _client()
    found = client.find_dataset(dataset)
    fields = _load_config_file(config) if config else {}
    for key, value in (("epochs", epochs), ("image_size", image_size), ("batch_size", batch_size)):
        if value is not None:
            fields[key] = value
    job = client.create_training_job(
        found.id,
        model,
        framework=framework,
        config=fields,
        preset=preset,
        task_type=task,
        name=name,
    )
    err = sys.stderr
    typer.echo(
        f"training job {job.id}: {framework} {model} on '{found.name}', "
        f"{job.config.get('epochs')} epochs",
        err=as_json,
    )
    if detach:
        if as_json:
            _print_json(job)
        else:
            typer.echo(f"follow it: vap jobs logs {job.id} --follow")
        return
    status = _follow(client, job.id, LiveView(out=err if as_json else sys.stdout, label="training"))
    final = client.get_training_job(job.id)
    if as_json:
        _print_json(final)
    elif final.best_metrics:
        typer.echo(f"best epoch {final.best_epoch}: {format_metrics(final.best_metrics)}")
    if status != "completed":
        raise typer.Exit(1)


# --- jobs -------------------------------------------------------------------------------


@jobs_app.command("list")
@_handles_errors
def jobs_list(
    kind: str = typer.Option(None, help="training, test_run, inference or export (default: all)"),
    limit: int = typer.Option(20, min=1, max=200),
    as_json: bool = JSON_OPTION,
) -> None:
    """Your newest jobs of every kind."""
    from vap_client.jobs import LISTED_KINDS

    kinds = (kind,) if kind else LISTED_KINDS
    found = _client().list_jobs(kinds, limit=limit)
    if as_json:
        _print_json([{"kind": k, **_as_json(j)} for k, j in found])
        return
    rows = [
        [
            j.id,
            k,
            j.status,
            f"{j.progress_percent:.0f}%",
            str(j.created_at)[:19] if j.created_at else "",
            _describe(k, j),
        ]
        for k, j in found
    ]
    _table(rows, ["ID", "KIND", "STATUS", "PROGRESS", "CREATED", "WHAT"])


def _describe(kind: str, job: Any) -> str:
    if kind == "training":
        return f"{job.framework} {job.model_name}"
    if kind == "export":
        return f"{job.format} v{job.version} of {job.training_job_id[:8]}"
    if kind in ("test_run", "inference"):
        return f"of {str(job.training_job_id)[:8]}"
    return ""


@jobs_app.command("show")
@_handles_errors
def jobs_show(job_id: str, as_json: bool = JSON_OPTION) -> None:
    """One job of any kind, as the API shows it."""
    kind, job = _client().get_job(job_id)
    if as_json:
        _print_json({"kind": kind, **_as_json(job)})
        return
    typer.echo(f"kind         {kind}")
    for key, value in job.model_dump(mode="json").items():
        if value in (None, {}, []):
            continue
        text = json.dumps(value) if isinstance(value, dict | list) else str(value)
        typer.echo(f"{key:<12} {text if len(text) < 200 else text[:197] + '...'}")


@jobs_app.command("logs")
@_handles_errors
def jobs_logs(
    job_id: str,
    follow: bool = typer.Option(False, "--follow", "-f", help="Keep streaming until the job ends"),
    after: int = typer.Option(0, min=0, help="Only events after this sequence number"),
    as_json: bool = JSON_OPTION,
) -> None:
    """The job's event log: every status change, heartbeat, validation and log line."""
    from vap_client.follow import format_event

    client = _client()

    def show(event: Any) -> None:
        line = json.dumps(_as_json(event)) if as_json else format_event(event)
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

    if follow:
        try:
            for event in client.events(job_id, after):
                show(event)
        except KeyboardInterrupt:
            raise typer.Exit(130) from None
        return
    while True:
        page = client.events_page(job_id, after)
        for event in page.events:
            show(event)
        if not page.events:
            break
        after = page.last_seq


@jobs_app.command("cancel")
@_handles_errors
def jobs_cancel(job_id: str, as_json: bool = JSON_OPTION) -> None:
    """Cancel a job of any kind (its run stops within seconds)."""
    job = _client().cancel_job(job_id)
    if as_json:
        _print_json(job)
    else:
        typer.echo(f"job {job.id}: {job.status}")


# --- runners ----------------------------------------------------------------------------


@runners_app.command("list")
@_handles_errors
def runners_list(as_json: bool = JSON_OPTION) -> None:
    """Every runner, the default marked, with when its workers last reported."""
    runners = _client().list_runners()
    if as_json:
        _print_json(runners)
        return
    rows = [
        [r["name"] + (" (default)" if r["default"] else ""), r["taken_at"] or "never",
         r["error"] or ""]
        for r in runners
    ]  # fmt: skip
    _table(rows, ["runner", "capabilities taken", "last error"])


@runners_app.command("refresh")
@_handles_errors
def runners_refresh(
    name: str = typer.Argument(None, help="The runner (default: the installation's)"),
    as_json: bool = JSON_OPTION,
) -> None:
    """Ask a runner's workers what they can do, now (admins; run it after deploying a
    new worker image or Modal app)."""
    client = _client()
    if name is None:
        name = next(r["name"] for r in client.list_runners() if r["default"])
    caps = client.refresh_runner(name)
    if as_json:
        _print_json(caps)
        return
    gpu = caps["gpu_info"]
    gpus = ", ".join(gpu["devices"]) or (
        f"any of {', '.join(gpu['requestable'])}" if gpu.get("requestable") else "none"
    )
    trains = [fw for fw, s in caps["trains"].items() if s["supported"]]
    exports = sorted({f for formats in caps["frameworks"].values()
                      for f, s in formats.items() if s["supported"]})  # fmt: skip
    typer.echo(f"runner {caps['runner']}: taken {caps['taken_at']}")
    typer.echo(f"  python {caps['python']} on {caps['platform']}; GPUs: {gpus}")
    typer.echo(f"  trains: {', '.join(trains) or 'nothing'}")
    typer.echo(f"  exports: {', '.join(exports) or 'nothing'}")
    if caps.get("error"):
        typer.echo(f"  the last attempt to ask failed: {caps['error']}", err=True)
        raise typer.Exit(1)


# --- export, deploy, infer --------------------------------------------------------------


@_handles_errors
def export(
    training_job: str = typer.Argument(..., help="The training job's id"),
    format: str = typer.Option("onnx", help="onnx, torchscript, openvino, ..."),
    quantization: str = typer.Option(None, help="dynamic_int8, static_int8 or fp16"),
    checkpoint: str = typer.Option("best", help="best or last"),
    validate: bool = typer.Option(True, help="Measure the exported model against the checkpoint"),
    version_tag: str = typer.Option(None),
    detach: bool = typer.Option(False, help="Start it and return; do not follow"),
    as_json: bool = JSON_OPTION,
) -> None:
    """Export a trained model (validated against its checkpoint) and follow it."""
    from vap_client.follow import LiveView

    client = _client()
    job = client.create_export_job(
        training_job,
        format=format,
        quantization=quantization,
        checkpoint=checkpoint,
        validate=validate,
        version_tag=version_tag,
    )
    typer.echo(f"export job {job.id}: {format} v{job.version} of {training_job}", err=as_json)
    if detach:
        if as_json:
            _print_json(job)
        return
    status = _follow(
        client, job.id, LiveView(out=sys.stderr if as_json else sys.stdout, label="export")
    )
    final = client.get_export_job(job.id)
    if as_json:
        _print_json(final)
    else:
        typer.echo(f"export {final.id}: {describe_export(final)}")
    if status != "completed":
        raise typer.Exit(1)


def describe_export(job: Any) -> str:
    """The export's size and latency, and how its validation against the checkpoint went."""
    from vap_client.follow import format_metrics
    from vap_client.progress import human_bytes

    info = job.model_info or {}
    size = human_bytes(job.size_bytes) if job.size_bytes else "?"
    latency = info.get("latency_ms")
    if isinstance(latency, dict):  # {"median_ms", "p90_ms", "runtime", ...}
        latency = latency.get("median_ms")
    text = f"{job.format} v{job.version}: {size}"
    if isinstance(latency, int | float):
        text += f", {latency:.1f} ms per image (median)"
    v = job.validation_metrics or {}
    if "metric" in v and "exported" in v:
        verdict = "passed" if v.get("passed") else "FAILED"
        text += (
            f"\nvalidation on {v.get('images', '?')} {v.get('split', '')} images: {v['metric']} "
            f"{v['exported']:.4f} exported vs {v.get('checkpoint', float('nan')):.4f} "
            f"checkpoint (drop {v.get('drop', 0):.4f}, allowed {v.get('max_drop')}): {verdict}"
        )
    elif v:
        text += f"\nvalidation: {format_metrics(v, limit=6)}"
    return text


@_handles_errors
def deploy(
    export_job: str = typer.Argument(..., help="The export job's id"),
    strategy: str = typer.Option(
        "platform_endpoint", help="platform_endpoint, download, edge_package or container"
    ),
    name: str = typer.Option(None),
    tier: str = typer.Option(None, help="free, pro or enterprise"),
    as_json: bool = JSON_OPTION,
) -> None:
    """Deploy an export. A platform endpoint's API key is printed this once: keep it."""
    client = _client()
    deployment = client.create_deployment(export_job, strategy=strategy, name=name, tier=tier)
    if as_json:
        _print_json(deployment)
        return
    typer.echo(f"deployment {deployment.id} ({deployment.strategy}): {deployment.status}")
    if deployment.endpoint_url:
        typer.echo(f"  endpoint: {deployment.endpoint_url}")
    if deployment.api_key:
        typer.echo(f"  API key (shown once, keep it): {deployment.api_key}")
        typer.echo(
            f"  try it: vap infer IMAGE --deployment {deployment.id} --key {deployment.api_key}"
        )
    if deployment.download_url:
        typer.echo(f"  download: {deployment.download_url}")


@_handles_errors
def infer(
    image: Annotated[Path, typer.Argument(exists=True, dir_okay=False)],
    deployment: str = typer.Option(..., help="The deployment's id"),
    key: str = typer.Option(..., envvar="VAP_API_KEY", help="The deployment's API key"),
    top_k: int = typer.Option(None, min=1),
    confidence: float = typer.Option(None, min=0, max=1),
    as_json: bool = JSON_OPTION,
) -> None:
    """Send one image to a platform endpoint (with its API key; no login needed)."""
    prediction = _client(login_required=False).infer(
        deployment, image, api_key=key, top_k=top_k, confidence_threshold=confidence
    )
    if as_json:
        _print_json(prediction)
        return
    typer.echo(describe_prediction(prediction))


def describe_prediction(prediction: Any) -> str:
    lines = [
        f"{prediction.task_type} on {prediction.width}x{prediction.height} image"
        + (f" in {prediction.latency_ms:.1f} ms" if prediction.latency_ms else "")
    ]
    for c in prediction.classes:
        lines.append(f"  {c.class_name:<20} {c.confidence:.3f}")
    for i in prediction.instances:
        box = ", ".join(f"{v:.0f}" for v in i.bbox)
        lines.append(f"  {i.class_name:<20} {i.confidence:.3f}  [{box}]")
    return "\n".join(lines)


@_handles_errors
def usage(
    deployment: str = typer.Argument(..., help="The deployment's id"),
    key: str = typer.Option(None, envvar="VAP_API_KEY", help="Its API key (default: your login)"),
    as_json: bool = JSON_OPTION,
) -> None:
    """A deployment's calls this month: by outcome, latency, quota."""
    found = _client(login_required=key is None).usage(deployment, api_key=key)
    if as_json:
        _print_json(found)
        return
    typer.echo(describe_usage(found))


def describe_usage(found: Any) -> str:
    quota = f" of {found.monthly_quota}" if found.monthly_quota else ""
    latency = found.latency_ms or {}
    p50, p99 = latency.get("p50"), latency.get("p99")
    text = f"requests this month: {found.requests_this_month}{quota} ({found.tier} tier)"
    if found.by_outcome:
        text += "; " + ", ".join(f"{k} {v}" for k, v in found.by_outcome.items())
    if p50 is not None:
        text += f"; latency p50 {p50:.1f} ms" + (f", p99 {p99:.1f} ms" if p99 is not None else "")
    return text


# --- demo -------------------------------------------------------------------------------


def demo(
    port: int = typer.Option(8000, help="The API's port: used if one answers, else started"),
    host: str = typer.Option("127.0.0.1"),
    smoke: bool = typer.Option(False, help="The smallest settings (CI): fewer images, 1 epoch"),
    exit_after: bool = typer.Option(
        False, "--exit", help="Stop (and stop the server) after the chain"
    ),
    epochs: int = typer.Option(None, min=1, help="Training epochs (default 3; --smoke 1)"),
) -> None:
    """The demo of ./quickstart.sh: the whole chain on scikit-learn's digits.

    Starts the API if none answers on the port, then uploads, trains, tests, exports to
    ONNX, deploys and calls the endpoint; then keeps the API running until Ctrl-C."""
    from vap_client.demo import run

    raise typer.Exit(run(host=host, port=port, smoke=smoke, exit_after=exit_after, epochs=epochs))
