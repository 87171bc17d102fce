"""`import api.main` is what a Lambda cold start pays: nothing heavy may load with it.

(Its time against a bare FastAPI app is measured in benchmarks/import_cost.py, not
asserted here: timings on shared machines are noise.)
"""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = [
    "torch",
    "sqlalchemy",  # loaded by the first request that needs the database (api/lazy.py)
    "torchvision",
    "timm",
    "ultralytics",
    "transformers",
    "onnxruntime",
    "openvino",
    "anthropic",
    "modal",
    "boto3",
    "botocore",
    "trainers",
    "exporters",
    "functions",
]


def test_importing_the_api_loads_no_ml_framework_or_cloud_sdk(tmp_path):
    code = (
        "import json, sys; import api.main; import api.lambda_handler; "
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
        env={
            "PATH": "/usr/bin:/bin",
            "PYTHONPATH": str(__import__("pathlib").Path(__file__).parents[1]),
            "DATA_DIR": str(tmp_path),
        },
    )
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


def test_importing_the_api_opens_no_connection_and_writes_nothing(tmp_path):
    """Lambda runs lifespan on every call; engines and clients must be created lazily."""
    code = "import api.main, api.db.session as s; print(s.engine_for.cache_info().currsize)"
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
        env={
            "PATH": "/usr/bin:/bin",
            "PYTHONPATH": str(__import__("pathlib").Path(__file__).parents[1]),
            "DATA_DIR": str(tmp_path / "data"),
        },
    )
    assert out.stdout.strip() == "0"
    assert not (tmp_path / "data").exists()
