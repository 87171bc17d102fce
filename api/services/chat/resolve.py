"""Check a conversation's state against the user's datasets, the catalog and the config
schema: a job body when everything is there and valid, questions otherwise.

The checks are job creation's own (api/services/training.py): ownership through the
readable-dataset list (ownership.visible_to), `catalog.find` and the model's task types,
the dataset's task, and `training.validated_config` (contract.training_config.validate).
A value that fails them is dropped from the partial config and becomes a question; it is
never passed on.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from api.schemas.chat import Question
from api.schemas.training import TrainingJobCreate
from api.services import training
from api.services.chat import context
from api.services.chat.context import DatasetInfo
from api.services.chat.patch import ModelRequest
from api.services.chat.wording import say
from contract import catalog, training_config

MAX_OPTIONS = 10
# Settings that apply to every framework and task: checkable before the model is known.
_UNIVERSAL = {
    f.name for f in training_config.FIELDS if f.frameworks is None and f.task_types is None
}
_ALL_SETTINGS = {f.name for f in training_config.FIELDS}


@dataclass
class Resolution:
    partial: dict[str, Any]
    hints: dict[str, Any]
    questions: list[Question] = field(default_factory=list)
    # (field, why) for each value that was given but refused: the LLM path falls back on it.
    rejected: list[tuple[str, str]] = field(default_factory=list)
    body: dict[str, Any] | None = None
    dataset: DatasetInfo | None = None

    def ask(self, field_: str, question: str, options: list[str] | None = None) -> None:
        if any(q.field == field_ for q in self.questions):
            return  # one question per field is precise enough
        options = options[:MAX_OPTIONS] if options else None
        self.questions.append(Question(field=field_, question=question, options=options))

    def refuse(self, field_: str, why: str) -> None:
        self.rejected.append((field_, why))


def model_by_name(name: str, framework: str | None = None) -> catalog.ModelInfo | None:
    """The catalog model called `name` (names are unique across frameworks)."""
    if framework:
        return catalog.find(framework, name)
    found = [m for m in catalog.MODELS if m.name == name]
    return found[0] if len(found) == 1 else None


def resolve(
    partial: dict[str, Any], hints: dict[str, Any], datasets: list[DatasetInfo], lang: str
) -> Resolution:
    r = Resolution(partial=copy.deepcopy(partial), hints=copy.deepcopy(hints))
    dataset = _dataset(r, datasets, lang)
    task = _task(r, dataset, datasets, lang)
    if r.dataset is None:
        dataset = None
    model = _model(r, task, lang)
    if task is None and model is not None and len(model.task_types) == 1 and dataset is None:
        task = model.task_types[0]
    config = _config(r, model, task, lang)
    if (
        not r.questions and dataset is not None and dataset.ready and model is not None
        and task is not None and config is not None
    ):  # fmt: skip
        req = TrainingJobCreate(
            name=f"{model.name} on {dataset.name}"[:255],
            dataset_id=dataset.id,  # type: ignore[arg-type]
            framework=model.framework,
            model_name=model.name,
            task_type=task,  # type: ignore[arg-type]
            config=config,
        )
        # Job creation's own config gate, on exactly the body we hand out.
        req.config = training.validated_config(req, task).stored()
        r.body = req.model_dump(
            mode="json", include={"name", "dataset_id", "framework", "model_name", "task_type",
                                  "config"}
        )  # fmt: skip
    return r


def _names(datasets: list[DatasetInfo]) -> list[str]:
    return [d.name for d in datasets]


def _dataset(r: Resolution, datasets: list[DatasetInfo], lang: str) -> DatasetInfo | None:
    known = context.by_id(datasets)
    ready = [d for d in datasets if d.ready]
    given = r.partial.get("dataset_id")
    if given is not None:
        r.dataset = known.get(context.parse_id(given) or "")
        if r.dataset is None:
            r.partial.pop("dataset_id")
            r.refuse("dataset_id", f"{given} is not a dataset this user can read")
            r.ask("dataset_id", say(lang, "dataset_unknown", text=given), _names(ready))
            return None
        r.partial["dataset_id"] = r.dataset.id
        r.hints.pop("datasets", None)
        if not r.dataset.ready:
            r.ask("dataset_id", say(lang, "dataset_not_ready", name=r.dataset.name,
                                    status=r.dataset.status), _names(ready))  # fmt: skip
        return r.dataset
    several = r.hints.get("datasets")
    matching = [known[i] for i in (several or {}).get("ids", []) if i in known]
    if len(matching) > 1:
        text = several.get("text") or ""  # type: ignore[union-attr]
        r.ask("dataset_id", say(lang, "dataset_ambiguous", text=text), _names(matching))
    elif ready:
        r.ask("dataset_id", say(lang, "dataset_missing"), _names(ready))
    else:
        r.ask("dataset_id", say(lang, "dataset_none"))
    return None


def _task(
    r: Resolution, dataset: DatasetInfo | None, datasets: list[DatasetInfo], lang: str
) -> str | None:
    task = r.partial.get("task_type")
    if task is not None and task not in catalog.TASK_TYPES:
        r.partial.pop("task_type")
        r.refuse("task_type", f"{task!r} is not a task type")
        r.ask("task_type", say(lang, "task_unknown", text=task), list(catalog.TASK_TYPES))
        task = None
    if dataset is None or not dataset.task_type:
        return task
    if task is not None and task != dataset.task_type:
        # The user asked for one task and named a dataset labelled for another: ask which.
        # (Refused too: job creation would refuse the pair, so Claude's proposing it is
        # a failure; the rules only ask.)
        why = f"the dataset holds {dataset.task_type} labels, not {task}"
        r.refuse("task_type", why)
        r.refuse("dataset_id", why)
        r.partial.pop("dataset_id", None)
        r.dataset = None
        fitting = [d for d in datasets if d.ready and d.task_type == task]
        question = say(lang, "dataset_task", name=dataset.name, dataset_task=dataset.task_type,
                       task=task)  # fmt: skip
        r.ask("dataset_id", question, _names(fitting))
        return task
    return dataset.task_type


def _model_options(task: str | None, framework: str | None) -> list[str]:
    return [m.name for m in catalog.models(task_type=task, framework=framework)]


def _model(r: Resolution, task: str | None, lang: str) -> catalog.ModelInfo | None:
    framework = r.partial.get("framework")
    if framework is not None and framework not in catalog.FRAMEWORKS:
        r.partial.pop("framework")
        r.refuse("framework", f"{framework!r} is not a framework")
        framework = None
    model: catalog.ModelInfo | None = None
    if "model" in r.hints:
        model = _from_request(r, ModelRequest.from_json(r.hints["model"]), framework, task, lang)
    elif r.partial.get("model_name"):
        name = r.partial["model_name"]
        model = model_by_name(name, framework)
        if model is None:
            r.partial.pop("model_name")
            r.refuse("model_name", f"{name!r} is not a {framework or ''} model in the catalog")
            r.ask("model_name", say(lang, "model_unknown", text=name),
                  _model_options(task, framework))  # fmt: skip
        elif task is not None and task not in model.task_types:
            r.partial.pop("model_name")
            r.refuse("model_name", f"{model.name} does not do {task}")
            r.ask("model_name", say(lang, "model_task", model=model.name, task=task,
                                    model_tasks=", ".join(model.task_types)),
                  _model_options(task, framework))  # fmt: skip
            model = None
    else:
        r.ask("model_name", say(lang, "model_missing"), _model_options(task, framework))
    if model is not None:
        r.partial["framework"], r.partial["model_name"] = model.framework, model.name
    return model


def _from_request(
    r: Resolution, req: ModelRequest, framework: str | None, task: str | None, lang: str
) -> catalog.ModelInfo | None:
    named = [m for m in (catalog.find(f, n) for f, n in req.candidates) if m is not None]
    named = [m for m in named if framework is None or m.framework == framework]
    fitting = [m for m in named if task is None or task in m.task_types]
    options = [m.name for m in fitting] or _model_options(task, framework)
    if not req.known:
        r.hints.pop("model")
        r.ask("model_name", say(lang, "model_unknown", text=req.text), options)
        return None
    if len(fitting) == 1:
        r.hints.pop("model")
        return fitting[0]
    if not fitting:
        r.hints.pop("model")
        if named and task is not None:
            tasks = sorted({t for m in named for t in m.task_types})
            r.refuse("model_name", f"{req.text} does not do {task}")
            r.ask("model_name", say(lang, "model_task", model=req.text, task=task,
                                    model_tasks=", ".join(tasks)), options)  # fmt: skip
        else:
            r.ask("model_name", say(lang, "model_unknown", text=req.text), options)
        return None
    if task is None and r.dataset is None and any(q.field == "dataset_id" for q in r.questions):
        return None  # the dataset's task will pick among them (yolo11s or yolo11s-seg)
    r.ask("model_name", say(lang, "model_ambiguous", text=req.text), options)
    return None


def _config(
    r: Resolution, model: catalog.ModelInfo | None, task: str | None, lang: str
) -> dict[str, Any] | None:
    """The complete config once model and task are known (None before); refused values
    are dropped from the partial config and asked about."""
    config = dict(r.partial.get("config") or {})
    preset = r.partial.get("preset")
    if preset is not None and preset not in training_config.PRESETS:
        r.partial.pop("preset")
        r.refuse("preset", f"{preset!r} is not a preset")
        r.ask("preset", say(lang, "config_invalid", field="preset",
                            message=f"must be one of {', '.join(training_config.PRESETS)}"),
              list(training_config.PRESETS))  # fmt: skip
        preset = None
    for name in [n for n in config if n not in _ALL_SETTINGS]:
        _refuse_setting(r, config, name, "is not a training setting", lang)
    known = model is not None and task is not None
    for _ in range(2):  # a second pass validates what is left after dropping bad values
        if model is not None and task is not None:
            framework, task_type, checked = model.framework, task, config
        else:
            framework, task_type = "", ""
            checked = {k: v for k, v in config.items() if k in _UNIVERSAL}
        try:
            validated = training_config.validate(framework, task_type, checked, preset)
        except training_config.ConfigError as exc:
            for error in exc.errors:
                _refuse_setting(r, config, error["field"], error["message"], lang)
            continue
        r.partial["config"] = config
        return validated if known else None
    r.partial["config"] = config
    return None


def _refuse_setting(
    r: Resolution, config: dict[str, Any], name: str, message: str, lang: str
) -> None:
    config.pop(name, None)
    r.refuse(f"config.{name}", message)
    r.ask(f"config.{name}", say(lang, "config_invalid", field=name, message=message))
