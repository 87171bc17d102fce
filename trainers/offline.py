"""Keep every framework off the network: no hub downloads, no telemetry, no font fetch,
no automatic pip install.

A hub that cannot be reached is not a quick failure but 20-50 s of retries, and many
installations are air-gapped. `apply()` must run before timm, transformers or
Ultralytics is imported (they read these variables at import time); the trainers and
functions call it first thing.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "HF_DATASETS_OFFLINE": "1",
    "YOLO_OFFLINE": "1",
    "YOLO_AUTOINSTALL": "False",
    "YOLO_VERBOSE": "False",
    "OPENVINO_TELEMETRY_OPTOUT": "1",
    "DO_NOT_TRACK": "1",
}


def config_dir() -> Path:
    """Where Ultralytics keeps its settings and fonts (writable, ours)."""
    base = os.environ.get("VAP_CACHE_DIR") or str(Path.home() / ".cache" / "vap")
    return Path(base) / "ultralytics"


def apply() -> None:
    """Set the offline environment (idempotent; values already set by the user win)."""
    for key, value in _ENV.items():
        os.environ.setdefault(key, value)
    ydir = Path(os.environ.setdefault("YOLO_CONFIG_DIR", str(config_dir())))
    _install_fonts(ydir / "Ultralytics")


def _install_fonts(folder: Path) -> None:
    """Ultralytics asks github.com for Arial when it first draws text: give it a local
    TrueType font under the names it looks for (matplotlib ships DejaVu Sans)."""
    wanted = [folder / "Arial.ttf", folder / "Arial.Unicode.ttf"]
    if all(p.exists() for p in wanted):
        return
    try:
        import matplotlib
    except ImportError:
        return
    source = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
    if not source.exists():
        return
    folder.mkdir(parents=True, exist_ok=True)
    for dest in wanted:
        if not dest.exists():
            tmp = dest.with_suffix(".tmp")
            shutil.copyfile(source, tmp)
            tmp.replace(dest)  # atomic: parallel workers never see half a font
