"""The Modal app: the worker image and functions wrapping `functions/*`, and the
developer's front door, `modal run modal_app.py --spec job.json`.

Deploy with `modal deploy modal_app.py`; the API's Modal runner then spawns these by
name (`EXECUTION_BACKEND=modal`). GPU type, timeout and retries come from the
environment at deploy time. Importing this module imports only `modal`: heavy
imports happen inside the functions.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import modal

APP_NAME = os.environ.get("MODAL_APP_NAME", "vision-ai-platform")
MINUTES = 60
ROOT = Path(__file__).parent

GPU = os.environ.get("VAP_MODAL_GPU", "T4")  # the functions' default; a job may ask another
# The GPU types a job may ask Modal for (modal.com/docs/guide/gpu), and how many at most.
GPU_TYPES = ("T4", "L4", "A10", "A10G", "L40S", "A100", "A100-40GB", "A100-80GB",
             "RTX-PRO-6000", "H100", "H200", "B200")  # fmt: skip
MAX_GPUS = 8
TIMEOUT = int(os.environ.get("VAP_MODAL_TIMEOUT_MINUTES", "720")) * MINUTES
# Modal restarts a preempted input by itself; these retries cover crashes. Either way
# the function resumes from the job's last checkpoint (it asks the API where it is).
RETRIES = modal.Retries(
    max_retries=int(os.environ.get("VAP_MODAL_RETRIES", "2")), initial_delay=5.0
)

# The worker extra, installed step by step so Modal caches the heavy layers.
image = (
    modal.Image.debian_slim(python_version="3.11")
    .apt_install("libgl1", "libglib2.0-0")
    .pip_install("torch==2.14.1", "torchvision==0.29.1")
    .pip_install_from_pyproject(str(ROOT / "pyproject.toml"), optional_dependencies=["worker"])
    .add_local_python_source("contract", "functions", "trainers", "exporters", "vap_runtime")
)

app = modal.App(APP_NAME, image=image)


@app.function(timeout=5 * MINUTES)
def capabilities() -> dict[str, Any]:
    """What the worker image can do (functions/capabilities.py), and the GPUs its
    functions may be given per job: the API's Modal runner stores this table
    (`vap runners refresh modal` after each deploy). No GPU: it only reads metadata."""
    from functions.capabilities import probe

    report = probe().model_dump(mode="json")
    report["gpu"] = {"devices": [], "requestable": list(GPU_TYPES), "max_count": MAX_GPUS,
                     "default": GPU}  # fmt: skip
    return report


def _run(spec: dict[str, Any]) -> int:
    """One JobSpec through functions/harness.py, the path every runner takes."""
    from functions.harness import run_spec

    return run_spec(spec)


@app.function(timeout=10 * MINUTES, retries=RETRIES)
def diagnostic(spec: dict[str, Any]) -> int:
    """Exercises dispatch only: heartbeats, events, done (no GPU)."""
    return _run(spec)


# The GPU functions. Each runs one JobSpec through `functions/` exactly as the local and
# Docker runners do; a preempted or crashed input restarts and resumes from the job's
# last checkpoint, which the new attempt's spec names.
@app.function(gpu=GPU, timeout=TIMEOUT, retries=RETRIES)
def train(spec: dict[str, Any]) -> int:
    """Train a model (functions/train.py)."""
    return _run(spec)


@app.function(gpu=GPU, timeout=2 * 60 * MINUTES, retries=RETRIES)
def evaluate(spec: dict[str, Any]) -> int:
    """A test run: measure a checkpoint on a labelled dataset (functions/evaluate.py)."""
    return _run(spec)


@app.function(gpu=GPU, timeout=2 * 60 * MINUTES, retries=RETRIES)
def infer(spec: dict[str, Any]) -> int:
    """Predictions on images or a dataset (functions/infer.py)."""
    return _run(spec)


@app.function(gpu=GPU, timeout=2 * 60 * MINUTES, retries=RETRIES)
def export(spec: dict[str, Any]) -> int:
    """Export a checkpoint, optimise, validate and package it (functions/export.py)."""
    return _run(spec)


FUNCTIONS = {
    "diagnostic": diagnostic,
    "train": train,
    "evaluate": evaluate,
    "infer": infer,
    "export": export,
}


# The GPU class behind GPU deployments of the pay-per-call endpoint (the API forwards
# their calls here, api/services/endpoint/gpu.py). A small image of its own, ONNX Runtime
# with CUDA and vap_runtime only, so a cold start is seconds. The API sends presigned URLs
# of the model files (this side holds no credentials); each container loads a model once
# per model-file sha256 and keeps the most recently used few.
INFERENCE_GPU = os.environ.get("VAP_MODAL_INFERENCE_GPU", GPU)
INFERENCE_MAX_MODELS = 8
inference_image = (
    modal.Image.debian_slim(python_version="3.11")
    .pip_install("onnxruntime-gpu>=1.18", "numpy>=1.26", "pillow>=10.3", "httpx>=0.27")
    .add_local_python_source("vap_runtime", "contract")  # contract.checksums: stdlib only
)


@app.cls(
    image=inference_image, gpu=INFERENCE_GPU, timeout=5 * MINUTES, scaledown_window=5 * MINUTES
)
class Inference:
    @modal.enter()
    def start(self) -> None:
        import tempfile
        from collections import OrderedDict

        import onnxruntime as ort

        available = ort.get_available_providers()
        self.providers = [
            p for p in ("CUDAExecutionProvider", "CPUExecutionProvider") if p in available
        ]
        self.models: OrderedDict[str, Any] = OrderedDict()
        self.cache_dir = Path(tempfile.gettempdir()) / "vap-endpoint-models"

    @modal.method()
    def predict(
        self, model: dict[str, Any], image: bytes, params: dict[str, Any]
    ) -> dict[str, Any]:
        """The vap_runtime prediction of `image` by the model `model` names
        ({"checksum_sha256", "model_url", "metadata_url"}); `params` are predict()'s options."""
        return self._model(model).predict(image, **params)  # type: ignore[no-any-return]

    def _model(self, ref: dict[str, Any]) -> Any:
        import httpx

        from contract.checksums import sha256_of
        from vap_runtime import Model

        key = str(ref["checksum_sha256"])
        if key in self.models:
            self.models.move_to_end(key)
            return self.models[key]
        folder = self.cache_dir / key
        if not (folder / "metadata.json").exists():
            staging = self.cache_dir / f".{key}.partial"
            staging.mkdir(parents=True, exist_ok=True)
            metadata = httpx.get(ref["metadata_url"], timeout=60).raise_for_status().content
            model_file = staging / Path(json.loads(metadata)["model_file"]).name
            response = httpx.get(ref["model_url"], timeout=300).raise_for_status()
            model_file.write_bytes(response.content)
            if len(key) == 64 and sha256_of(model_file) != key:
                raise ValueError("the downloaded model does not match its sha256")
            (staging / "metadata.json").write_bytes(metadata)
            staging.rename(folder)
        self.models[key] = Model(folder, providers=self.providers)
        while len(self.models) > INFERENCE_MAX_MODELS:
            self.models.popitem(last=False)
        return self.models[key]


@app.function(schedule=modal.Period(minutes=1), secrets=[modal.Secret.from_name("vap-reconcile")])
def reconcile() -> dict[str, Any]:
    """The reconciler's schedule where the API is serverless: asks the API for a pass.
    The Modal secret `vap-reconcile` holds VAP_API_URL and VAP_RECONCILE_TOKEN."""
    import httpx

    r = httpx.post(
        os.environ["VAP_API_URL"].rstrip("/") + "/api/v1/operations/reconcile",
        headers={"X-Reconcile-Token": os.environ["VAP_RECONCILE_TOKEN"]},
        timeout=120,
    )
    r.raise_for_status()
    return r.json()  # type: ignore[no-any-return]


@app.local_entrypoint()
def main(spec: str) -> None:
    """`modal run modal_app.py --spec job.json`: run one JobSpec on Modal and wait."""
    from contract.jobs import FUNCTION_FOR_KIND

    data = json.loads(Path(spec).read_text())
    name = FUNCTION_FOR_KIND[data["kind"]]
    if name not in FUNCTIONS:
        raise SystemExit(
            f"No Modal function for {data['kind']!r} jobs yet; deployed: {sorted(FUNCTIONS)}"
        )
    print(f"{name} exited with status {FUNCTIONS[name].remote(data)}")
