"""The demo behind `./quickstart.sh` (`vap demo`): the platform's main path end to end,
through the client, on real data, with visible progress:

  API up -> account -> upload digits -> train resnet18 -> test run -> export to ONNX
  (validated) -> platform endpoint -> /v1/infer on a held-out image -> usage

Idempotent: a second run on the same data folder logs in to the same account and reuses
its dataset; it trains, exports and deploys anew.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import time
from collections.abc import Callable
from typing import Any, TypeVar

from vap_client import ApiError, Client, Conflict, Forbidden, ServerUnreachable

T = TypeVar("T")

DEMO_EMAIL = "demo@example.com"
DEMO_PASSWORD = "vap demo password"
DATASET_NAME = "demo digits"
MODEL = "resnet18"
IMAGE_SIZE = 32


class StepFailed(Exception):
    pass


class Demo:
    def __init__(self, base: str, smoke: bool, epochs: int | None) -> None:
        self.base = base
        self.smoke = smoke
        self.epochs = epochs or (1 if smoke else 3)
        self.client = Client(base)
        self.step_no = 0
        self.steps = 9
        self.following: str | None = None  # the job being followed, cancelled on Ctrl-C

    def say(self, text: str = "") -> None:
        print(text, flush=True)

    def step(self, title: str, action: Callable[[], T]) -> T:
        self.step_no += 1
        self.say(f"\n[{self.step_no}/{self.steps}] {title}")
        started = time.monotonic()
        try:
            result = action()
        except (ApiError, ServerUnreachable) as exc:
            raise StepFailed(f"{title}: {exc}") from exc
        self.say(f"      ({time.monotonic() - started:.1f} s)")
        return result

    # --- the chain --------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        from vap_client.demo import digits

        self.step("Account", self.account)
        data = self.step(
            "Building the dataset from scikit-learn's digits", lambda: self.build_data(digits)
        )
        dataset = self.step("Uploading it", lambda: self.upload(data))
        job = self.step(
            f"Training {MODEL} at {IMAGE_SIZE} px, {self.epochs} epoch(s)",
            lambda: self.train(dataset),
        )
        self.step("Test run on the validation split", lambda: self.test_run(job, dataset))
        export = self.step(
            "Export to ONNX, validated against the checkpoint", lambda: self.export(job)
        )
        deployment = self.step("Deploying it as a platform endpoint", lambda: self.deploy(export))
        self.step("Calling /v1/infer on a held-out image", lambda: self.infer(deployment, data))
        self.step("The API key's usage", lambda: self.usage(deployment))
        return {"job": job, "export": export, "deployment": deployment}

    def account(self) -> None:
        try:
            self.client.register(DEMO_EMAIL, DEMO_PASSWORD, full_name="Demo")
            created = "created"
        except Conflict:
            created = "exists"
        self.client.login(DEMO_EMAIL, DEMO_PASSWORD)
        me = self.client.me()
        self.say(f"      {me.email} ({me.role}, {created}); logged in")

    def build_data(self, digits: Any) -> Any:
        data = digits.build(per_class=20 if self.smoke else None, size=IMAGE_SIZE)
        self.say(
            f"      {data.num_images} images of 10 digits at {IMAGE_SIZE} px "
            f"({len(data.archive) // 1024} KB zip); {len(data.held_out)} held out"
        )
        return data

    def upload(self, data: Any) -> Any:
        from vap_client.progress import Bar, human_bytes

        name = f"{DATASET_NAME} (smoke)" if self.smoke else DATASET_NAME
        earlier = self.client.list_datasets(q=DATASET_NAME, limit=200).items
        for existing in earlier:
            if (
                existing.name == name
                and existing.status == "ready"
                and (existing.num_images == data.num_images)
            ):
                self.say(f"      reusing dataset {existing.id} '{name}' from an earlier run")
                return existing
        bar = Bar("      upload", stream=sys.stdout)

        def progress(sent: int, total: int) -> None:
            bar.total = total
            bar.update(sent, f"{human_bytes(sent)} / {human_bytes(total)}")

        def upload() -> Any:
            return self.client.upload_dataset(
                data.archive, name, filename="digits.zip", progress=progress
            )

        try:
            dataset = upload()
        except Forbidden as exc:
            if exc.code != "quota_exceeded":
                raise
            # A guest keeps one dataset: the demo's other variant makes room.
            for existing in earlier:
                if existing.name.startswith(DATASET_NAME):
                    self.client.delete_dataset(existing.id)
            dataset = upload()
        bar.close()
        if dataset.status != "ready":
            raise StepFailed(f"the dataset is {dataset.status}: {dataset.validation_errors}")
        self.say(
            f"      dataset {dataset.id}: {dataset.num_images} images, "
            f"{dataset.num_classes} classes, format {dataset.format}, ready"
        )
        return dataset

    def train(self, dataset: Any) -> Any:
        config = {
            "epochs": self.epochs,
            "batch_size": 64,
            "image_size": IMAGE_SIZE,
            "learning_rate": 0.001,
            "augmentation": "none",
            "pretrained": False,
            "scheduler": "cosine",
        }
        job = self.client.create_training_job(
            dataset.id, MODEL, framework="timm", config=config, name="demo digits"
        )
        self.say(f"      job {job.id}")
        final = self._follow(job.id, "training")
        trained = self.client.get_training_job(job.id)
        if final != "completed":
            raise StepFailed(f"training {final}: {trained.error_message}")
        self.say(
            f"      best epoch {trained.best_epoch}: "
            f"{trained.primary_metric_name} {trained.best_primary:.3f}"
        )
        return trained

    def test_run(self, job: Any, dataset: Any) -> Any:
        run = self.client.create_test_run(job.id, dataset.id, split="val")
        final = self._follow(run.id, "test run")
        tested = self.client.get_test_run(run.id)
        if final != "completed":
            raise StepFailed(f"test run {final}: {tested.error_message}")
        accuracy = (tested.overall_metrics or {}).get("accuracy")
        self.say(f"      accuracy {accuracy:.3f} on {tested.processed_images} images")
        return tested

    def export(self, job: Any) -> Any:
        export = self.client.create_export_job(job.id, format="onnx", validate=True)
        self.say(f"      export job {export.id} (version {export.version})")
        final = self._follow(export.id, "export")
        done = self.client.get_export_job(export.id)
        if final != "completed":
            raise StepFailed(f"export {final}: {done.error_message}")
        from vap_client.cli import describe_export

        self.say("      " + describe_export(done).replace("\n", "\n      "))
        return done

    def deploy(self, export: Any) -> Any:
        deployment = self.client.create_deployment(
            export.id, strategy="platform_endpoint", name="demo digits endpoint"
        )
        self.say(f"      deployment {deployment.id}: {deployment.status}")
        self.say(f"      API key (shown once): {deployment.api_key}")
        return deployment

    def infer(self, deployment: Any, data: Any) -> Any:
        from vap_client.cli import describe_prediction

        truth, image = data.held_out[7]
        prediction = self.client.infer(deployment.id, image, api_key=deployment.api_key, top_k=3)
        self.say("      " + describe_prediction(prediction).replace("\n", "\n      "))
        best = prediction.classes[0].class_name if prediction.classes else None
        verdict = "right" if best == truth else "wrong"
        self.say(f"      truth: {truth}; the model says {best} ({verdict})")
        return prediction

    def usage(self, deployment: Any) -> Any:
        from vap_client.cli import describe_usage

        found = self.client.usage(deployment.id, api_key=deployment.api_key)
        self.say(f"      {describe_usage(found)}")
        return found

    def _follow(self, job_id: str, label: str) -> str | None:
        from vap_client.follow import LiveView

        view = LiveView(out=sys.stdout, err=sys.stdout, label=label, indent="      ")
        self.following = job_id
        try:
            for event in self.client.events(job_id):
                view(event)
        finally:
            view.close()
        self.following = None
        return view.final_status

    def cancel_running_job(self) -> None:
        """On Ctrl-C: stop the job being followed, so no worker goes on after the demo."""
        if self.following is not None:
            with contextlib.suppress(ApiError, ServerUnreachable):
                self.client.cancel_job(self.following)
                print(f"cancelled job {self.following}", flush=True)


def run(
    host: str = "127.0.0.1",
    port: int = 8000,
    smoke: bool = False,
    exit_after: bool = False,
    epochs: int | None = None,
) -> int:
    """The demo; its exit code. Starts the API when none answers on the port and, unless
    `exit_after`, keeps it running in the foreground until Ctrl-C."""
    from vap_client.demo import server

    base = f"http://{host}:{port}"
    started = time.monotonic()
    # A server it starts lives in a session of its own: it is stopped however the demo
    # ends (Ctrl-C, SIGTERM, a failed step). Ctrl-C works even when started in the
    # background, where a shell would have the demo ignore SIGINT.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _terminated)
    proc = None
    demo: Demo | None = None
    try:
        if server.answers(base):
            print(f"Using the API already running at {base}", flush=True)
        else:
            log = server.data_dir() / "server.log"
            print(
                f"Starting the API on {base} (SQLite, local storage and workers under "
                f"{server.data_dir()}/; its log: {log}) ...",
                flush=True,
            )
            try:
                proc = server.start(host, port, log)
            except RuntimeError as exc:
                print(f"error: {exc}", file=sys.stderr, flush=True)
                return 1
        if server.serves_console(base):
            print(
                f"Web console: {base}/ (sign in as {DEMO_EMAIL} / '{DEMO_PASSWORD}' to watch)",
                flush=True,
            )
        demo = Demo(base, smoke=smoke, epochs=epochs)
        return _chain(demo, base, proc, exit_after, started)
    except KeyboardInterrupt:
        print("\nstopping ...", flush=True)
        if demo is not None:
            demo.cancel_running_job()
        return 130
    finally:
        if proc is not None:
            server.stop(proc)


def _terminated(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _chain(demo: Demo, base: str, proc: Any, exit_after: bool, started: float) -> int:
    try:
        results = demo.run()
    except StepFailed as exc:
        print(f"\nerror: {exc}", file=sys.stderr, flush=True)
        return 1
    job, deployment = results["job"], results["deployment"]
    from vap_client.demo import server

    console = (
        f"  web console       {base}/training/{job.id}\n" if server.serves_console(base) else ""
    )
    print(
        f"\nDone in {time.monotonic() - started:.0f} s. Look at:\n"
        f"{console}"
        f"  API docs          {base}/docs\n"
        f"  the training job  {base}/api/v1/training/jobs/{job.id}\n"
        f"  its events (SSE)  {base}/api/v1/jobs/{job.id}/events\n"
        f"  the deployment    {base}/api/v1/deployments/{deployment.id}\n"
        f"  its endpoint      POST {base}/v1/infer/{deployment.id}\n"
        f"(log in as {DEMO_EMAIL} / '{DEMO_PASSWORD}': "
        f"vap login --server {base} --email {DEMO_EMAIL})",
        flush=True,
    )
    if proc is None or exit_after:
        return 0
    print(f"\nThe API keeps running at {base}; Ctrl-C stops it.", flush=True)
    try:
        proc.wait()
    except KeyboardInterrupt:
        print("\nstopping the API ...", flush=True)
    return 0
