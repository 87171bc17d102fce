"""The Modal app: the worker image and, with job dispatch, GPU functions wrapping
`functions/*` and a `@app.local_entrypoint()` for `modal run modal_app.py`.

Importing this module imports only `modal`; heavy imports happen inside functions.
"""

from __future__ import annotations

from pathlib import Path

import modal

APP_NAME = "vision-ai-platform"
ROOT = Path(__file__).parent

# The worker extra, installed step by step so Modal caches the heavy layers.
image = (
    modal.Image.debian_slim(python_version="3.11")
    .apt_install("libgl1", "libglib2.0-0")
    .pip_install("torch==2.14.1", "torchvision==0.29.1")
    .pip_install_from_pyproject(str(ROOT / "pyproject.toml"), optional_dependencies=["worker"])
    .add_local_python_source("functions", "trainers", "exporters")
)

app = modal.App(APP_NAME, image=image)
