"""`import api.main` is what a Lambda cold start pays: nothing heavy may load with it.

(Its time against a bare FastAPI app is measured in benchmarks/import_cost.py, not
asserted here: timings on shared machines are noise.)
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[1]
HEAVY = [
    "torch",
    "sqlalchemy",  # loaded by the first request that needs the database (api/routing.py)
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


def _fresh_interpreter(code: str, cwd: Path, data_dir: Path) -> str:
    """Run `code` in a new interpreter with a clean environment; return its last line."""
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=cwd,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "DATA_DIR": str(data_dir)},
    )
    return out.stdout.strip().splitlines()[-1]


def test_importing_the_api_loads_no_ml_framework_or_cloud_sdk(tmp_path):
    code = (
        "import json, sys; import api.main; import api.lambda_handler; "
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    )
    assert json.loads(_fresh_interpreter(code, tmp_path, tmp_path)) == []


def test_importing_the_api_opens_no_connection_and_writes_nothing(tmp_path):
    """Lambda runs lifespan on every call; engines and clients must be created lazily."""
    code = (
        "import sys, api.main; s = sys.modules.get('api.db.session'); "
        "print(s.engine_for.cache_info().currsize if s else 0)"
    )
    assert _fresh_interpreter(code, tmp_path, tmp_path / "data") == "0"
    assert not (tmp_path / "data").exists()
