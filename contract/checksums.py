"""The one way a file's sha256 is computed, wherever bytes are checked: a worker's
downloads (functions/inputs.py), an export's metadata.json (exporters/metadata.py), the
GPU inference class's model cache (modal_app.py).

Standard library only: the inference image carries no pydantic.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

_BLOCK = 1 << 20


def sha256_of(path: Path) -> str:
    """The hex sha256 of the file at `path`, read in blocks (models are large)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(_BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()
