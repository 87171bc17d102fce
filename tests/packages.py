"""Running an unpacked export package as a user's machine would: a fresh Python in the
package's folder that cannot import this repository (the venv holds it as an editable
install) nor the frameworks given, so the package's own vap_runtime.py, first on
sys.path, must do everything."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]

_FORBID = """import json, sys

class Forbid:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {forbidden!r}:
            raise ImportError("the package imported " + name)

sys.meta_path.insert(0, Forbid())
"""


def package_env() -> dict[str, str]:
    """This process's environment without the PYTHONPATH that leads to the repository."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}


def run_alone(folder: Path, script: str, frameworks: Iterable[str]) -> Any:
    """Run `script` in `folder` with every package of this repository but vap_runtime,
    and `frameworks`, unimportable; the last line it prints, read as JSON."""
    forbidden = sorted(
        {p.name for p in REPO.iterdir() if (p / "__init__.py").exists()} - {"vap_runtime"}
        | set(frameworks)
    )
    (folder / "check.py").write_text(_FORBID.format(forbidden=forbidden) + script)
    done = subprocess.run(
        [sys.executable, "check.py"], cwd=folder, env=package_env(), capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])
