"""Where `vap login` keeps the server's URL and the login token: a JSON file at
$VAP_CONFIG, else ~/.config/vap/config.json (readable by its owner only). VAP_SERVER and
VAP_TOKEN in the environment win over the file, for scripts and CI."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

DEFAULT_SERVER = "http://127.0.0.1:8000"


@dataclass
class CliConfig:
    server: str = DEFAULT_SERVER
    token: str | None = None
    email: str | None = None


def config_path() -> Path:
    explicit = os.environ.get("VAP_CONFIG")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base) / "vap" / "config.json"


def load() -> CliConfig:
    """The saved settings, with the environment's overrides; defaults when none saved."""
    path = config_path()
    saved: dict[str, str] = {}
    if path.is_file():
        try:
            saved = json.loads(path.read_text())
        except (OSError, ValueError):
            saved = {}
    config = CliConfig(**{k: v for k, v in saved.items() if k in CliConfig.__dataclass_fields__})
    config.server = os.environ.get("VAP_SERVER") or config.server
    config.token = os.environ.get("VAP_TOKEN") or config.token
    return config


def save(config: CliConfig) -> Path:
    """Write the settings; the file holds a login token, so only its owner may read it."""
    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(asdict(config), f, indent=2)
    tmp.replace(path)
    return path
