"""Running a function from its JobSpec, the same way under every runner: the local
and Docker runners go through `python -m functions.<name> SPEC_FILE`, Modal through
`modal_app.py`, which hands the spec over as a dict."""

from __future__ import annotations

import importlib
from typing import Any

from contract.jobs import CONTRACT_VERSION, FUNCTION_FOR_KIND, JobSpec
from functions.client import JobClient, Superseded


def run_spec(spec: dict[str, Any] | JobSpec) -> int:
    """Run the function the spec's kind names; its exit status (0: it reported its end)."""
    job = spec if isinstance(spec, JobSpec) else JobSpec.model_validate(spec)
    if job.version != CONTRACT_VERSION:
        raise SystemExit(f"Job spec version {job.version}, this worker speaks {CONTRACT_VERSION}")
    module = importlib.import_module(f"functions.{FUNCTION_FOR_KIND[job.kind]}")
    try:
        return int(module.run(JobClient(job)))
    except Superseded:
        return 0  # a newer attempt owns the job
