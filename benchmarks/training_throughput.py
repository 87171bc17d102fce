"""Training throughput through the platform against timm in a plain PyTorch loop, on the
same model, data and settings, measured in the same run; and what reporting costs.

- baseline: resnet18 (timm, from scratch) on scikit-learn's digits rendered at 32 px, a
  plain loop: torchvision ImageFolder, DataLoader, AdamW, cross-entropy, then a
  validation pass each epoch (what any training loop does).
- adapter: the same through `trainers.timm_trainer` in this process, with hooks that do
  nothing: what our adapter itself costs.
- platform: the same as a training job through a real API process (SQLite, local
  storage, local runner): the worker's epochs as it reported them (`epoch_seconds`);
  "all in", the time from one epoch's validation result landing in the database to the
  next one's (callbacks and checkpoint uploads included); and how long the training loop
  waited on reporting per epoch.

Throughput is training images per second of epoch wall time (training and validation),
epochs after the first (the first pays for warm-up). Run:
    python benchmarks/training_throughput.py [--epochs 4] [--runs 3] [--size 32]
        [--uploads background|inline[,...]]
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from trainers import offline  # noqa: E402

offline.apply()

from benchmarks.dataset_ingest import cpu_seconds, free_port  # noqa: E402
from tests.digits import digits_imagefolder_zip  # noqa: E402

BATCH, LR, SEED = 64, 0.002, 0


def _config(epochs: int, size: int) -> dict:
    """The complete config, as the API would store it for this request."""
    from contract.training_config import validate

    return validate("timm", "image_classification", {
        "epochs": epochs, "batch_size": BATCH, "image_size": size, "learning_rate": LR,
        "augmentation": "none", "pretrained": False, "scheduler": "none", "optimizer": "adamw",
        "weight_decay": 0.0001, "seed": SEED,
    })  # fmt: skip


def baseline(folder: Path, epochs: int, size: int) -> tuple[list[float], float]:
    """Seconds per epoch of a plain timm + torchvision loop, and the seconds its setup
    took (data, loaders and model, from a folder already on disk, imports done)."""
    import timm
    import torch
    from torch.utils.data import DataLoader
    from torchvision import datasets, transforms

    began = time.perf_counter()
    torch.manual_seed(SEED)
    tf = transforms.Compose([
        transforms.Resize((size, size)), transforms.ToTensor(),
        transforms.Normalize((0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
    ])  # fmt: skip
    train = DataLoader(datasets.ImageFolder(folder / "train", tf), BATCH, shuffle=True)
    val = DataLoader(datasets.ImageFolder(folder / "val", tf), BATCH)
    model = timm.create_model("resnet18", pretrained=False, num_classes=10)
    opt = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=0.0001)
    loss_fn = torch.nn.CrossEntropyLoss()
    setup = time.perf_counter() - began
    seconds = []
    for _ in range(epochs):
        started = time.perf_counter()
        model.train()
        for x, y in train:
            opt.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            opt.step()
        model.eval()
        correct = 0
        with torch.no_grad():
            for x, y in val:
                correct += int((model(x).argmax(1) == y).sum())
        seconds.append(time.perf_counter() - started)
    return seconds, setup


class _Quiet:
    def __init__(self) -> None:
        self.seconds: list[float] = []

    def should_stop(self) -> bool:
        return False

    def progress(self, epoch, batch, batches, metrics) -> None:  # type: ignore[no-untyped-def]
        pass

    def epoch_end(self, result) -> None:  # type: ignore[no-untyped-def]
        self.seconds.append(result.seconds)


def adapter(folder: Path, work: Path, epochs: int, size: int) -> list[float]:
    """Seconds per epoch of our timm adapter with hooks that do nothing."""
    from tests.digits import digits_dataset
    from trainers.base import TrainRequest, get_trainer

    manifest = digits_dataset(work / "adapter-data", size=size)
    hooks = _Quiet()
    request = TrainRequest(
        model_name="resnet18", task_type="image_classification", manifest=manifest,
        data_dir=work / "adapter-data", config=_config(epochs, size), workdir=work / "adapter",
    )  # fmt: skip
    request.workdir.mkdir(parents=True)
    get_trainer("timm").train(request, hooks)
    return hooks.seconds


def platform(
    archive: bytes, work: Path, epochs: int, size: int, upload: str = "background"
) -> tuple[list[float], list[float], float, float, float]:
    """Seconds per epoch as the worker reported them; seconds between one epoch's
    validation result landing in the database and the next one's (everything included:
    reporting, checkpoint uploads); the seconds the training loop waited on callbacks;
    the API process's CPU seconds per epoch from the first epoch's validation result to
    the last one's (callbacks and receiving checkpoints: on this machine they share the
    cores with the training); and the seconds from the job's creation to its first
    epoch's start (the first result's landing less its epoch_seconds: the runner's
    launch, the worker's imports, fetching the dataset, building the model)."""
    import subprocess

    import httpx

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "DATA_DIR": str(work / f"api-{port}"), "API_BASE_URL": base,
           "PYTHONPATH": str(ROOT), "LOG_LEVEL": "WARNING", "VAP_CACHE_DIR": str(work),
           "VAP_CHECKPOINT_UPLOAD": upload}  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "serve", "--port", str(port)], env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        with httpx.Client(base_url=base, timeout=60) as c:
            for _ in range(300):
                try:
                    if c.get("/health").status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.1)
            login = {"email": "bench@example.com", "password": "benchmark password"}
            c.post("/api/v1/auth/register", json=login)
            token = c.post("/api/v1/auth/login", data={"username": login["email"],
                           "password": login["password"]}).json()["access_token"]  # fmt: skip
            c.headers["Authorization"] = f"Bearer {token}"
            files = [("files", ("digits.zip", archive, "application/zip"))]
            dataset = c.post("/api/v1/datasets", data={"name": "digits"}, files=files).json()
            api_cpu: list[float] = []  # at the first validation result, and at the end
            job = c.post("/api/v1/training/jobs", json={
                "dataset_id": dataset["id"], "framework": "timm", "model_name": "resnet18",
                "config": _config(epochs, size)}).json()  # fmt: skip
            results = f"/api/v1/training/jobs/{job['id']}/validation-results"
            while True:
                got = c.get(f"/api/v1/training/jobs/{job['id']}").json()
                if not api_cpu and c.get(results).json():
                    api_cpu.append(cpu_seconds(proc.pid))
                if got["status"] in ("completed", "failed", "cancelled"):
                    break
                # Once a second, as the console's stream reads the database on SQLite.
                # Polling five times a second took the API 843-966 ms of CPU per 9 s
                # epoch, against 562 ms: cores the training it measures wants (the
                # figures come from the database's timestamps, not from these polls).
                time.sleep(1.0)
            api_cpu.append(cpu_seconds(proc.pid))
            assert got["status"] == "completed", got["error_message"]
            from datetime import datetime

            rows = c.get(results).json()
            seconds = [r["metrics"]["epoch_seconds"] for r in rows]
            landed = [datetime.fromisoformat(r["created_at"]) for r in rows]
            between = [(b - a).total_seconds() for a, b in zip(landed, landed[1:], strict=False)]
            cpu_per_epoch = (api_cpu[-1] - api_cpu[0]) / max(1, len(rows) - 1)
            created = datetime.fromisoformat(job["created_at"])
            to_first_epoch = (landed[0] - created).total_seconds() - seconds[0]
            callbacks = float(got["final_metrics"]["callback_seconds"])
            return seconds, between, callbacks, cpu_per_epoch, to_first_epoch
    finally:
        import signal

        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument(
        "--uploads", default="background",
        help="checkpoint upload modes to run the platform with, comma-separated: "
        "background, inline (functions/train.py's VAP_CHECKPOINT_UPLOAD)",
    )  # fmt: skip
    args = parser.parse_args()
    import torch

    torch.set_num_threads(os.cpu_count() or 1)
    archive = digits_imagefolder_zip(size=args.size)
    with tempfile.TemporaryDirectory(prefix="vap-bench-train-") as tmp:
        work = Path(tmp)
        folder = work / "imagefolder"
        zipfile.ZipFile(io.BytesIO(archive)).extractall(folder)
        train_images = sum(1 for _ in (folder / "train").rglob("*.png"))
        modes = args.uploads.split(",")
        # One mode keeps the plain names (run_all's table reads them); several are told apart.
        named = {m: "" if len(modes) == 1 else f" ({m} upload)" for m in modes}
        rates: dict[str, list[float]] = {"baseline": [], "adapter": []}
        for suffix in named.values():
            rates |= {f"platform{suffix}": [], f"platform, all in{suffix}": []}
        overhead: dict[str, list[float]] = {m: [] for m in modes}
        api_cpu: dict[str, list[float]] = {m: [] for m in modes}
        setup: dict[str, list[float]] = {"baseline": [], **{m: [] for m in modes}}
        for run in range(args.runs):  # interleaved, so drift on a noisy machine hits all three
            runs: dict[str, list[float]] = {}
            runs["baseline"], baseline_setup = baseline(folder, args.epochs, args.size)
            runs["adapter"] = adapter(folder, work / f"run{run}", args.epochs, args.size)
            setup["baseline"].append(baseline_setup)
            for mode, suffix in named.items():
                runs[f"platform{suffix}"], between, callbacks, cpu, to_first = platform(
                    archive, work / f"run{run}-{mode}", args.epochs, args.size, mode
                )
                api_cpu[mode].append(cpu)
                setup[mode].append(to_first)
                # (no first epoch to skip)
                runs[f"platform, all in{suffix}"] = [between[0], *between]
                overhead[mode].append(callbacks / args.epochs)
            for name, seconds in runs.items():
                steady = seconds[1:] or seconds
                rates[name].append(train_images / statistics.median(steady))
                print(f"run {run + 1} {name}: " + ", ".join(f"{s:.2f}s" for s in seconds))
    base = statistics.median(rates["baseline"])
    print(f"\nresnet18, digits at {args.size} px, {train_images} train images, batch {BATCH}, "
          f"{args.epochs} epochs, {args.runs} runs")  # fmt: skip
    print("(images/s over the median epoch of epochs 2..n, median of the runs)")
    for name, values in rates.items():
        median = statistics.median(values)
        print(f"  {name:16s} {median:8.1f} images/s   ratio to baseline {median / base:.3f}")
    for mode, suffix in named.items():
        print(f"  training loop waiting on callbacks{suffix}, per epoch: "
              f"median {statistics.median(overhead[mode]) * 1000:.0f} ms")  # fmt: skip
        print(f"  API process CPU{suffix}, per epoch: "
              f"median {statistics.median(api_cpu[mode]) * 1000:.0f} ms")  # fmt: skip
        print(f"  job created to its first epoch{suffix}: median "
              f"{statistics.median(setup[mode]):.2f} s; the plain loop's setup (data on disk, "
              f"imports done) {statistics.median(setup['baseline']):.2f} s")  # fmt: skip


if __name__ == "__main__":
    main()
