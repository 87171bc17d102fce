"""The training configuration: its fields, presets, the one validator, and the typed
model every trainer reads.

The API serves the schema (`GET /api/v1/training/config-schema`) and checks every
training job's config with `parse` on creation; the job row and the JobSpec carry its
`stored()` dict, and the worker reads that back into the same `TrainingConfig`, so
what was accepted is exactly what runs and no trainer casts a value again. Plain data:
no framework is imported here.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from contract import frameworks


class Option(BaseModel):
    value: str
    label: str


class ConfigField(BaseModel):
    name: str
    type: Literal["number", "integer", "select", "boolean"]
    label: str
    description: str
    default: Any
    min: float | None = None
    max: float | None = None
    options: list[Option] | None = None
    # Where the field applies; None: every framework / task.
    frameworks: list[str] | None = None
    task_types: list[str] | None = None


class ConfigSchema(BaseModel):
    framework: str
    task_type: str
    fields: list[ConfigField]
    presets: dict[str, dict[str, Any]]


class ConfigError(ValueError):
    """A config that does not fit the schema; `errors` names each bad field."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        super().__init__("; ".join(f"{e['field']}: {e['message']}" for e in errors))
        self.errors = errors


def _opts(*values: str) -> list[Option]:
    return [Option(value=v, label=v.replace("_", " ").title()) for v in values]


def _honoured_by(setting: str) -> list[str]:
    """The frameworks whose trainers read `setting`: each says so in its own facts
    (contract/frameworks/<framework>.py `settings`), so adding a framework edits no list
    here."""
    return [f.name for f in frameworks.all_frameworks().values() if setting in f.settings]


_DETECTION_LIKE = ["object_detection", "instance_segmentation", "pose_estimation"]

FIELDS: tuple[ConfigField, ...] = (
    ConfigField(
        name="epochs",
        type="integer",
        label="Epochs",
        default=10,
        min=1,
        max=1000,
        description="Passes over the training split",
    ),
    ConfigField(
        name="batch_size",
        type="integer",
        label="Batch size",
        default=16,
        min=1,
        max=1024,
        description="Images per optimizer step",
    ),
    ConfigField(
        name="learning_rate",
        type="number",
        label="Learning rate",
        default=0.001,
        min=1e-7,
        max=1.0,
        description="Initial learning rate",
    ),
    ConfigField(
        name="optimizer",
        type="select",
        label="Optimizer",
        default="adamw",
        options=_opts("adamw", "adam", "sgd"),
        description="Optimization algorithm",
    ),
    ConfigField(
        name="weight_decay",
        type="number",
        label="Weight decay",
        default=0.0001,
        min=0,
        max=1,
        description="L2 penalty (decoupled for AdamW)",
    ),
    ConfigField(
        name="scheduler",
        type="select",
        label="LR schedule",
        default="cosine",
        options=_opts("cosine", "step", "linear", "none"),
        description="How the learning rate decays over the epochs",
    ),
    ConfigField(
        name="warmup_epochs",
        type="integer",
        label="Warm-up epochs",
        default=0,
        min=0,
        max=100,
        description="Epochs of linear learning-rate warm-up",
    ),
    ConfigField(
        name="image_size",
        type="integer",
        label="Image size",
        default=None,
        min=16,
        max=2048,
        description="Square input size in pixels; empty: the model's default",
    ),
    ConfigField(
        name="augmentation",
        type="select",
        label="Augmentation",
        default="standard",
        options=_opts("none", "light", "standard", "heavy"),
        description="Strength of training-time augmentation",
    ),
    ConfigField(
        name="early_stopping_patience",
        type="integer",
        label="Early stopping patience",
        default=0,
        min=0,
        max=1000,
        description="Stop after this many epochs without a better primary metric; 0: never",
    ),
    ConfigField(
        name="pretrained",
        type="boolean",
        label="Pretrained weights",
        default=True,
        description="Start from pretrained weights (registry or local cache); "
        "false trains from scratch",
    ),
    ConfigField(
        name="mixed_precision",
        type="boolean",
        label="Mixed precision",
        default=True,
        description="Use automatic mixed precision on a GPU (ignored on the CPU)",
    ),
    ConfigField(
        name="seed",
        type="integer",
        label="Seed",
        default=42,
        min=0,
        max=2**31 - 1,
        description="Random seed for weights, shuffling and augmentation",
    ),
    ConfigField(
        name="label_smoothing",
        type="number",
        label="Label smoothing",
        default=0.0,
        min=0,
        max=0.5,
        description="Softens one-hot targets",
        task_types=["image_classification"],
        frameworks=_honoured_by("label_smoothing"),
    ),
    ConfigField(
        name="mosaic",
        type="number",
        label="Mosaic",
        default=1.0,
        min=0,
        max=1,
        description="Probability of mosaic augmentation",
        frameworks=_honoured_by("mosaic"),
        task_types=_DETECTION_LIKE,
    ),
)

PRESETS: dict[str, dict[str, Any]] = {
    "basic": {"epochs": 5, "optimizer": "adam", "learning_rate": 0.001, "scheduler": "none",
              "augmentation": "light"},
    "standard": {"epochs": 30, "optimizer": "adamw", "learning_rate": 0.001,
                 "scheduler": "cosine", "augmentation": "standard", "warmup_epochs": 1},
    "aggressive": {"epochs": 100, "optimizer": "sgd", "learning_rate": 0.01,
                   "scheduler": "cosine", "augmentation": "heavy", "warmup_epochs": 3,
                   "early_stopping_patience": 20, "weight_decay": 0.0005},
}  # fmt: skip


def _default(name: str) -> Any:
    return next(f.default for f in FIELDS if f.name == name)


def _applies(field: ConfigField, framework: str, task_type: str) -> bool:
    return (field.frameworks is None or framework in field.frameworks) and (
        field.task_types is None or task_type in field.task_types
    )


def schema(framework: str, task_type: str) -> ConfigSchema:
    fields = [f for f in FIELDS if _applies(f, framework, task_type)]
    names = {f.name for f in fields}
    presets = {k: {n: v for n, v in p.items() if n in names} for k, p in PRESETS.items()}
    return ConfigSchema(framework=framework, task_type=task_type, fields=fields, presets=presets)


def _check(field: ConfigField, value: Any) -> tuple[Any, str | None]:
    """The value as the field's type, or an error message."""
    if value is None:
        return (None, None) if field.default is None else (None, "must not be null")
    if field.type == "boolean":
        return (value, None) if isinstance(value, bool) else (None, "must be true or false")
    if field.type == "select":
        allowed = [o.value for o in field.options or []]
        if value not in allowed:
            return None, f"must be one of {', '.join(allowed)}"
        return value, None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None, f"must be a{'n integer' if field.type == 'integer' else ' number'}"
    # NaN passes every min/max check and an infinity breaks int(); JSON as Python reads
    # it has both (NaN, Infinity, 1e999).
    if isinstance(value, float) and not math.isfinite(value):
        return None, "must be a finite number"
    if field.type == "integer":
        if value != int(value):
            return None, "must be an integer"
        value = int(value)
    # Compared before any conversion: Python compares ints and floats exactly, and an
    # int too large for a float is refused here rather than overflowing below.
    if field.min is not None and value < field.min:
        return None, f"must be at least {field.min:g}"
    if field.max is not None and value > field.max:
        return None, f"must be at most {field.max:g}"
    if field.type != "integer":
        try:
            value = float(value)
        except OverflowError:
            return None, "must be a finite number"
    return value, None


def parse(
    framework: str, task_type: str, config: dict[str, Any], preset: str | None = None
) -> TrainingConfig:
    """The complete config: defaults, then the preset, then `config`, each value checked.

    Only the fields that apply to `framework` and `task_type` are set (`stored()` gives
    exactly those). Raises ConfigError naming every unknown or bad field (and an unknown
    preset).
    """
    fields = {f.name: f for f in FIELDS if _applies(f, framework, task_type)}
    errors: list[dict[str, str]] = []
    merged: dict[str, Any] = {name: f.default for name, f in fields.items()}
    if preset is not None:
        if preset not in PRESETS:
            errors.append({"field": "preset", "message": f"must be one of {', '.join(PRESETS)}"})
        else:
            merged |= {k: v for k, v in PRESETS[preset].items() if k in fields}
    for name, value in config.items():
        field = fields.get(name)
        if field is None:
            where = f"{framework} {task_type}"
            errors.append({"field": name, "message": f"is not a setting for {where} training"})
            continue
        checked, message = _check(field, value)
        if message:
            errors.append({"field": name, "message": message})
        else:
            merged[name] = checked
    if errors:
        raise ConfigError(errors)
    return TrainingConfig(**merged)


def validate(
    framework: str, task_type: str, config: dict[str, Any], preset: str | None = None
) -> dict[str, Any]:
    """`parse`'s config as the plain dict a job row stores. Raises ConfigError."""
    return parse(framework, task_type, config, preset).stored()


class TrainingConfig(BaseModel):
    """A complete, valid training config as trainers read it (`parse` makes one; a stored
    dict reads back with `TrainingConfig.model_validate`). The fields are FIELDS' (their
    checks and applicability live there); a field a stored dict lacks has FIELDS' default.
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    epochs: int = _default("epochs")
    batch_size: int = _default("batch_size")
    learning_rate: float = _default("learning_rate")
    optimizer: Literal["adamw", "adam", "sgd"] = _default("optimizer")
    weight_decay: float = _default("weight_decay")
    scheduler: Literal["cosine", "step", "linear", "none"] = _default("scheduler")
    warmup_epochs: int = _default("warmup_epochs")
    image_size: int | None = _default("image_size")  # None: the model's default
    augmentation: Literal["none", "light", "standard", "heavy"] = _default("augmentation")
    early_stopping_patience: int = _default("early_stopping_patience")  # 0: never stop
    pretrained: bool = _default("pretrained")
    mixed_precision: bool = _default("mixed_precision")  # honoured on CUDA only
    seed: int = _default("seed")
    label_smoothing: float = _default("label_smoothing")  # timm, transformers classifiers
    mosaic: float = _default("mosaic")  # ultralytics detection-like tasks

    def stored(self) -> dict[str, Any]:
        """The plain dict a job row, a JobSpec and a checkpoint keep: the fields that were
        set (those that apply to the job's framework and task), nothing added."""
        return self.model_dump(exclude_unset=True)


if set(TrainingConfig.model_fields) != {f.name for f in FIELDS}:  # one list of settings
    raise RuntimeError("TrainingConfig and FIELDS name different settings")
# A framework may only claim a framework-specific setting (one whose `frameworks` list is
# derived above); a misspelt or common one would be silently ignored otherwise.
_SPECIFIC = {f.name for f in FIELDS if f.frameworks is not None}
for _facts in frameworks.all_frameworks().values():
    if not set(_facts.settings) <= _SPECIFIC:
        raise RuntimeError(
            f"contract/frameworks/{_facts.name}.py claims settings "
            f"{sorted(set(_facts.settings) - _SPECIFIC)} that are not framework-specific fields"
        )
