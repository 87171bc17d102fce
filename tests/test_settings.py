"""Settings: `.env.example` lists every setting with exactly its embedded default."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from api.settings import Settings

EXAMPLE = Path(__file__).parents[1] / ".env.example"


def test_env_example_names_every_setting():
    listed = set(re.findall(r"^([A-Z0-9_]+)=", EXAMPLE.read_text(), flags=re.M))
    fields = {name.upper() for name in Settings.model_fields}
    assert listed == fields


def test_env_example_values_are_the_embedded_defaults(monkeypatch, tmp_path):
    # A clean environment, so only the file (or nothing) speaks.
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env
    from_file = Settings(_env_file=EXAMPLE)  # type: ignore[call-arg]
    defaults = Settings(_env_file=None)  # type: ignore[call-arg]
    assert from_file.model_dump() == defaults.model_dump()


def test_a_short_secret_key_is_refused():
    with pytest.raises(ValueError):
        Settings(secret_key="too-short")
    assert Settings(secret_key="x" * 32).signing_key() == "x" * 32
