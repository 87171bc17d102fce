"""The per-process cache of loaded models (ONNX Runtime sessions behind vap_runtime).

Loading a session costs far more than a call, so each API process keeps the most
recently used `infer_max_cached_models` loaded, keyed by the model file's sha256 (two
deployments of one export share a session). The files are downloaded from storage once
per machine into data_dir/endpoint-models/{sha256}/ and checked against that sha256.
Thread-safe: calls run in a thread pool, and concurrent first calls of one model load
it once.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from api.errors import ServiceUnavailable
from api.settings import Settings

if TYPE_CHECKING:
    from vap_runtime import Model

METADATA_FILE = "metadata.json"


@dataclass(frozen=True)
class ModelRef:
    """Where an export's files are and what the model file's sha256 must be."""

    cache_key: str  # the sha256 (or the export id when an export has none)
    model_key: str
    metadata_key: str
    checksum_sha256: str | None

    @classmethod
    def of_export(
        cls,
        export_id: object,
        checksum_sha256: str | None,
        export_key: str | None,
        metadata_key: str | None,
    ) -> ModelRef:
        """The files of an export row (its id, checksum and storage keys)."""
        return cls(
            cache_key=checksum_sha256 or str(export_id),
            model_key=export_key or "",
            metadata_key=metadata_key or "",
            checksum_sha256=checksum_sha256,
        )


class ModelCache:
    """A thread-safe LRU of loaded models."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._models: OrderedDict[str, Any] = OrderedDict()
        self._lock = threading.Lock()
        self._loading: dict[str, threading.Lock] = {}

    def get(self, key: str, load: Callable[[], Any]) -> Any:
        with self._lock:
            model = self._models.get(key)
            if model is not None:
                self._models.move_to_end(key)
                return model
            loading = self._loading.setdefault(key, threading.Lock())
        with loading:
            with self._lock:
                model = self._models.get(key)
                if model is not None:
                    return model
            model = load()
            with self._lock:
                self._models[key] = model
                self._models.move_to_end(key)
                while len(self._models) > self.capacity:
                    # Calls still running on an evicted model hold it until they finish.
                    self._models.popitem(last=False)
                self._loading.pop(key, None)
            return model

    def keys(self) -> list[str]:
        with self._lock:
            return list(self._models)

    def drop(self, key: str) -> None:
        """Forget `key`'s model (calls running on it keep it until they finish)."""
        with self._lock:
            self._models.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._models.clear()


_cache: ModelCache | None = None
_cache_lock = threading.Lock()


def cache(settings: Settings) -> ModelCache:
    global _cache
    with _cache_lock:
        if _cache is None or _cache.capacity != settings.infer_max_cached_models:
            _cache = ModelCache(settings.infer_max_cached_models)
        return _cache


def providers() -> list[str]:
    """CUDA when this process's onnxruntime has it (onnxruntime-gpu on a GPU host), else CPU."""
    import onnxruntime as ort

    available = ort.get_available_providers()
    if "CUDAExecutionProvider" in available:
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    return ["CPUExecutionProvider"]


def model_for(settings: Settings, ref: ModelRef) -> Model:
    """The loaded model of `ref`, from the cache or loaded now.

    ServiceUnavailable (`model_unavailable`) when storage cannot give the files or they do
    not match the export's checksum."""
    return cache(settings).get(ref.cache_key, lambda: _load(settings, ref))  # type: ignore[no-any-return]


class Runner:
    """An ONNX Runtime model that runs a lone call on every core and overlapping calls
    on one core each (on CPU).

    A call alone runs on the session of all cores, whose threads spin between an op's
    parallel parts (ORT's default; ~10% of a YOLO11n run on 2 cores) and stop as the run
    ends (force_spinning_stop: by default they spin on, taking the CPU that decoding,
    HTTP and usage records need). Calls that overlap run on a second session of one
    thread, made when calls first overlap (a second copy of the weights, for models
    under load only): then each core is busy with a call anyway, and threads spinning
    for one call would take another's CPU. On CUDA every call runs on the one session."""

    def __init__(self, model_file: Path) -> None:
        self._model_file = model_file
        self._providers = providers()
        self._one_session = self._providers[0] != "CPUExecutionProvider"  # CUDA
        self._alone = self._session(threads=0)
        self.overlapping: Any = None  # the one-thread session, once calls overlapped
        self.input_name = self._alone.get_inputs()[0].name
        self._running = 0
        self._counting = threading.Lock()
        self._making = threading.Lock()

    def _session(self, threads: int) -> Any:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads  # 0: one per core
        options.add_session_config_entry("session.force_spinning_stop", "1")
        return ort.InferenceSession(
            str(self._model_file), sess_options=options, providers=self._providers
        )

    def __call__(self, x: Any) -> list[Any]:
        with self._counting:
            self._running += 1
            alone = self._running == 1 or self._one_session
        try:
            session = self._alone if alone else self._overlapping_session()
            return list(session.run(None, {self.input_name: x}))
        finally:
            with self._counting:
                self._running -= 1

    def _overlapping_session(self) -> Any:
        if self.overlapping is None:
            with self._making:  # made once, by the first overlap
                if self.overlapping is None:
                    self.overlapping = self._session(threads=1)
        return self.overlapping


def _load(settings: Settings, ref: ModelRef) -> Model:
    from vap_runtime import Model

    folder = fetch(settings, ref)
    try:
        metadata = json.loads((folder / METADATA_FILE).read_text())
        runner = Runner(folder / Path(str(metadata["model_file"])).name)
        return Model(folder, runner=runner)
    except Exception as exc:  # a corrupt file: refuse the call, keep the process
        raise ServiceUnavailable(
            f"The model could not be loaded: {type(exc).__name__}: {exc}",
            code="model_unavailable",
        ) from exc


def fetch(settings: Settings, ref: ModelRef) -> Path:
    """The folder holding the export's metadata.json and model file, downloaded once."""
    from api.services.storage import StorageError, get_storage

    root = settings.data_dir / "endpoint-models"
    folder = root / ref.cache_key
    if (folder / METADATA_FILE).exists():
        return folder
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".fetch-", dir=root))
    try:
        storage = get_storage(settings)
        storage.download_file(ref.metadata_key, staging / METADATA_FILE)
        metadata = json.loads((staging / METADATA_FILE).read_text())
        model_file = staging / Path(str(metadata["model_file"])).name
        storage.download_file(ref.model_key, model_file)
        if ref.checksum_sha256 and _sha256(model_file) != ref.checksum_sha256:
            raise ServiceUnavailable(
                "The stored model does not match the export's checksum",
                code="model_unavailable",
            )
        try:
            # Atomic: another process (or thread) fetching the same model wins or loses whole.
            os.rename(staging, folder)
        except OSError:
            if not (folder / METADATA_FILE).exists():
                raise
        return folder
    except StorageError as exc:
        raise ServiceUnavailable(
            f"Storage could not give the model: {exc}", code="model_unavailable"
        ) from exc
    except (KeyError, ValueError) as exc:
        raise ServiceUnavailable(
            f"The export's metadata.json is unusable: {exc}", code="model_unavailable"
        ) from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1024 * 1024), b""):
            digest.update(chunk)
    return digest.hexdigest()


def loaded() -> list[str]:
    """The cache keys of the models this process has loaded, least recently used first."""
    return _cache.keys() if _cache is not None else []


def drop(key: str) -> None:
    """Unload `key`'s model from this process, if loaded."""
    if _cache is not None:
        _cache.drop(key)
