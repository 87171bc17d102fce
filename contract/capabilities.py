"""What a worker environment can do, as it reports it, and what a job may ask of one.

Both sides import this module: a worker computes a `WorkerCapabilities` of its own
environment (`python -m functions capabilities`, functions/capabilities.py); each
runner gets it from its workers and the API stores it per runner
(api/services/jobs/capabilities.py). The API never looks at its own packages or GPU to
decide what a job can do: its environment is not the workers'.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, Field

# A GPU request: a type ("T4", "H100", "A100-80GB") or "any", optionally ":COUNT".
GPU_REQUEST_PATTERN = r"^(any|[A-Za-z][A-Za-z0-9-]{0,23})(:[1-8])?$"


class GpuRequest(BaseModel):
    type: str | None  # None: any GPU will do
    count: int = 1

    @classmethod
    def parse(cls, value: str) -> GpuRequest:
        """ "T4", "H100:2", "any", "any:4". ValueError for anything else."""
        match = re.fullmatch(GPU_REQUEST_PATTERN, value.strip())
        if match is None:
            raise ValueError(
                f"gpu: {value!r} is not a GPU request: a type (T4, A10G, H100, ...) or "
                "'any', optionally followed by :COUNT (1 to 8)"
            )
        kind, count = match.group(1), match.group(2)
        return cls(type=None if kind == "any" else kind, count=int(count[1:]) if count else 1)

    def __str__(self) -> str:
        """The request as it is written: "T4", "any", "H100:2"."""
        return (self.type or "any") + (f":{self.count}" if self.count > 1 else "")


class GpuInfo(BaseModel):
    """The GPUs a worker sees (`devices`: one name per device, as nvidia-smi says), or,
    for a runner that provisions GPUs per job (Modal), the types a job may ask for."""

    devices: list[str] = Field(default_factory=list)
    requestable: list[str] | None = None  # None: only the devices above
    max_count: int | None = None  # with `requestable`: the most one job may ask for
    default: str | None = None  # the type a job gets when it asks for "any"


class Support(BaseModel):
    supported: bool
    route: str | None = None  # exports: "native" or "via_onnx"
    reason: str | None = None  # why not; or, when supported, a caveat


class WorkerCapabilities(BaseModel):
    """One worker environment's own table: what it has installed, exports, sees."""

    contract_version: int
    python: str
    platform: str
    versions: dict[str, str | None]  # package -> version, None when not installed
    frameworks: dict[str, Support]
    export: dict[str, dict[str, Support]]  # framework -> format -> support
    quantizations: dict[str, Support]  # of the ONNX export
    gpu: GpuInfo = Field(default_factory=GpuInfo)

    def gpu_problem(self, request: GpuRequest) -> str | None:
        """Why this worker cannot satisfy `request`; None when it can."""
        gpu = self.gpu
        if gpu.requestable is not None:
            if request.type is not None and request.type.upper() not in {
                t.upper() for t in gpu.requestable
            }:
                return (
                    f"it offers no {request.type} GPUs (it offers "
                    f"{', '.join(gpu.requestable) or 'none'})"
                )
            if gpu.max_count is not None and request.count > gpu.max_count:
                return f"it gives one job at most {gpu.max_count} GPUs"
            return None
        matching = matching_devices(gpu.devices, request.type)
        if len(matching) >= request.count:
            return None
        if not gpu.devices:
            return "its workers see no GPU"
        wanted = f"{request.count} {request.type or ''} GPU(s)".replace("  ", " ")
        return f"its workers see {', '.join(gpu.devices)}, not {wanted}"


def matching_devices(devices: list[str], gpu_type: str | None) -> list[int]:
    """Indices of the devices a request for `gpu_type` may use ("T4" matches
    "Tesla T4", "H100" matches "NVIDIA H100 80GB HBM3"; None matches every device)."""
    if gpu_type is None:
        return list(range(len(devices)))
    pattern = re.compile(rf"(^|[\s-]){re.escape(gpu_type.upper())}($|[\s-])")
    return [i for i, name in enumerate(devices) if pattern.search(name.upper())]
