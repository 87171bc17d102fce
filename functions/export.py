"""The export function: a training checkpoint to a deployable model.

Steps, each reported as progress: fetch the checkpoint (and the dataset snapshot when
validating or calibrating), export and optimise (exporters.registry.export), measure
the checkpoint and the exported model on the same validation split with the same
metric code, build the three packages (download, edge, container), upload everything
under `exports/{job}/`, report where it is (`export` event), then end: `failed` when
the metric dropped more than `max_metric_drop`, else `completed`.

An export is short and has no checkpoint of its own: a retried attempt starts over.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from functions import inputs
from functions.client import JobClient, put_file
from functions.harness import Finished

PACKAGES = {  # artifact name -> (builder in exporters.package, file name)
    "package": ("build_package", "package.zip"),
    "edge_package": ("build_edge_package", "edge_package.zip"),
    "container": ("build_container_bundle", "container.zip"),
}
# Static INT8 calibrates on at most this many training images (ONNX Runtime's own
# examples use a few hundred; more costs time and changes little).
CALIBRATION_IMAGES = 200


def run(client: JobClient, work: Path) -> Finished | None:
    outcome = _export(client, client.spec.config, work)
    if outcome is None:
        return None
    validation = outcome.get("validation")
    if validation is not None and not validation["passed"]:
        return Finished(
            error=(
                f"validation: {validation['metric']} dropped by {validation['drop']:.4f} "
                f"({validation['checkpoint']:.4f} -> {validation['exported']:.4f}), "
                f"more than the allowed {validation['max_drop']}"
            ),
            metrics={"exported": validation["exported"], "checkpoint": validation["checkpoint"]},
        )
    return Finished(metrics={"size_bytes": outcome["size_bytes"]})


def _export(client: JobClient, config: dict[str, Any], work: Path) -> dict[str, Any] | None:
    from exporters.registry import export

    spec = client.spec
    validate = bool(config.get("validate", True))
    quantize = config.get("quantization")
    checkpoint = inputs.fetch_checkpoint(client, work / "model.ckpt")
    snapshot = None
    if validate or quantize == "static_int8":
        snapshot = inputs.fetch_snapshot(client, work / "data")
    client.heartbeat(progress=10, message=f"exporting to {spec.config.get('format', '')}")
    calibration = _calibration_images(snapshot, work) if quantize == "static_int8" else None
    fmt = _format(client)
    result = export(
        checkpoint,
        spec.framework or "",
        fmt,
        work / "out",
        opset=int(config.get("opset", 17)),
        dynamic_batch=bool(config.get("dynamic_batch", True)),
        embed_preprocessing=bool(config.get("embed_preprocessing", False)),
        quantize=quantize,
        calibration_images=calibration,
    )
    if client.cancelled:
        return None
    client.heartbeat(progress=40, message=f"exported {result.model_file.name}")
    validation = None
    if validate and snapshot is not None:
        validation = _validate(client, checkpoint, result.model_file.parent, snapshot, work)
        if client.cancelled:
            return None
    client.heartbeat(progress=85, message="packaging")
    packages = _packages(result, work / "packages")
    keys = _upload(client, result, packages)
    metadata = result.metadata
    report = {
        "model_key": keys[result.model_file.name],
        "metadata_key": keys[result.metadata_file.name],
        "checksum_sha256": metadata.get("checksum_sha256") or metadata.get("sha256"),
        "size_bytes": result.size_bytes,
        "latency_ms": metadata.get("latency_ms") or metadata.get("latency"),
        "optimization": metadata.get("optimization"),
        "files": sorted(keys),
        "artifacts": {name: keys[path.name] for name, path in packages.items()},
        "validation": validation,
    }
    client.event("export", **report)
    return report


def _format(client: JobClient) -> str:
    fmt = client.spec.config.get("format")
    if not fmt:
        raise ValueError("the job's config names no format")
    return str(fmt)


def _calibration_images(snapshot: Any, work: Path) -> list[Path]:
    """Training images to calibrate static INT8 on (val images stay unseen: validation
    must not measure on what calibration looked at)."""
    images = [i for i in snapshot.manifest.images if i.split == "train"] or [
        i for i in snapshot.manifest.images if i.split not in ("val", "test")
    ]
    if not images:
        raise ValueError("static_int8 needs training images to calibrate on; the dataset has none")
    step = max(1, len(images) // CALIBRATION_IMAGES)
    return [work / "data" / "files" / i.path for i in images[::step][:CALIBRATION_IMAGES]]


def _validate(
    client: JobClient, checkpoint: Path, out_dir: Path, snapshot: Any, work: Path
) -> dict[str, Any]:
    """The checkpoint and the exported model on the same validation split."""
    from exporters import predictor as exported
    from functions import export_check, results
    from trainers.base import get_trainer

    spec, config = client.spec, client.spec.config
    manifest, split = results.pick_split(snapshot.manifest, "val" if _has_val(snapshot) else None)
    files = work / "data" / "files"
    count = sum(1 for i in manifest.images if i.split == split)
    client.heartbeat(progress=50, message=f"measuring the checkpoint on {count} {split} images")
    trainer = get_trainer(spec.framework or "")
    reference = trainer.evaluate(checkpoint, manifest, files, split, inputs.device(spec), True)
    client.heartbeat(progress=65, message=f"measuring the exported model on {count} images")
    report, predictions = export_check.measure(
        exported.load(out_dir), manifest, files, split, spec.task_type or ""
    )
    outcome = export_check.compare(reference, report, float(config.get("max_metric_drop", 0.02)))
    outcome.update(split=split, images=count)
    task = spec.task_type or ""
    outcome.update(export_check.agreement(task, reference.images or [], predictions))
    client.heartbeat(
        progress=80,
        message=f"{outcome['metric']}: checkpoint {outcome['checkpoint']:.4f}, "
        f"exported {outcome['exported']:.4f}",
    )
    return outcome


def _has_val(snapshot: Any) -> bool:
    return any(i.split == "val" for i in snapshot.manifest.images)


def _packages(result: Any, into: Path) -> dict[str, Path]:
    from exporters import package

    into.mkdir(parents=True, exist_ok=True)
    return {
        name: getattr(package, builder)(result, into / filename)
        for name, (builder, filename) in PACKAGES.items()
    }


def _upload(client: JobClient, result: Any, packages: dict[str, Path]) -> dict[str, str]:
    """Every file of the export and the packages, by file name -> storage key."""
    files = {p.name: p for p in result.files} | {p.name: p for p in packages.values()}
    urls = client.artifact_urls(sorted(files))
    for name, path in files.items():
        put_file(urls.urls[name], path)
    return dict(urls.keys)
