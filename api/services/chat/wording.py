"""What the chat says, in the user's language (English, or Korean when they write it)."""

from __future__ import annotations

import re
from typing import Any

_HANGUL = re.compile(r"[\uac00-\ud7a3]")

_TEXT: dict[str, dict[str, str]] = {
    "en": {
        "dataset_missing": "Which dataset should I train on?",
        "dataset_none": "You have no ready dataset yet: upload one (POST /api/v1/datasets), "
        "then tell me its name.",
        "dataset_unknown": "That dataset ({text}) is not one you can use. Which dataset should "
        "I train on?",
        "dataset_ambiguous": "Several datasets match “{text}”: which one?",
        "dataset_not_ready": "“{name}” is {status}, not ready: wait for it or choose another "
        "dataset.",
        "dataset_task": "“{name}” holds {dataset_task} labels, not {task}: which dataset?",
        "task_missing": "Which task is it: {options}?",
        "task_unknown": "“{text}” is not a task I know: which task is it?",
        "model_missing": "Which model should I train?",
        "model_ambiguous": "“{text}” could be several models: which one?",
        "model_unknown": "“{text}” is not in the model catalog (GET /api/v1/models): which of "
        "these?",
        "model_task": "{model} does {model_tasks}, not {task}: which model?",
        "config_invalid": "{field} {message}: what value should I use?",
        "complete": "Here is the training configuration: {framework} {model} on “{dataset}” "
        "({task}), {epochs} epochs, batch size {batch_size}, learning rate "
        "{learning_rate:g}{image_size}. Submit it with POST /api/v1/training/jobs.",
        "image_size": ", image size {value}",
        "needs": "I need a bit more information: {questions}",
    },
    "ko": {
        "dataset_missing": "어떤 데이터셋으로 학습할까요?",
        "dataset_none": "아직 준비된 데이터셋이 없습니다. 데이터셋을 "
        "업로드(POST /api/v1/datasets)한 뒤 이름을 알려 주세요.",
        "dataset_unknown": "그 데이터셋({text})은 사용할 수 없습니다. 어떤 데이터셋으로 "
        "학습할까요?",
        "dataset_ambiguous": "“{text}”에 맞는 데이터셋이 여러 개입니다. 어느 것인가요?",
        "dataset_not_ready": "“{name}” 데이터셋은 아직 준비되지 않았습니다({status}). "
        "기다리거나 다른 데이터셋을 골라 주세요.",
        "dataset_task": "“{name}” 데이터셋의 라벨은 {dataset_task}이지 {task}가 아닙니다. 어떤 "
        "데이터셋인가요?",
        "task_missing": "어떤 작업인가요: {options}?",
        "task_unknown": "“{text}”은(는) 알 수 없는 작업입니다. 어떤 작업인가요?",
        "model_missing": "어떤 모델로 학습할까요?",
        "model_ambiguous": "“{text}”에 해당하는 모델이 여러 개입니다. 어느 것인가요?",
        "model_unknown": "“{text}”은(는) 모델 카탈로그(GET /api/v1/models)에 없습니다. 다음 중 "
        "어느 것인가요?",
        "model_task": "{model}은(는) {model_tasks}용이지 {task}용이 아닙니다. 어떤 모델인가요?",
        "config_invalid": "{field} 값이 올바르지 않습니다({message}). 어떤 값을 쓸까요?",
        "complete": "학습 설정이 준비되었습니다: “{dataset}” 데이터셋({task})에서 {framework} "
        "{model}, 에폭 {epochs}, 배치 크기 {batch_size}, 학습률 {learning_rate:g}{image_size}. "
        "POST /api/v1/training/jobs 로 제출하세요.",
        "image_size": ", 이미지 크기 {value}",
        "needs": "몇 가지를 더 알려 주세요: {questions}",
    },
}


def language_of(message: str) -> str:
    return "ko" if _HANGUL.search(message) else "en"


def say(lang: str, key: str, **values: Any) -> str:
    return _TEXT.get(lang, _TEXT["en"])[key].format(**values)
