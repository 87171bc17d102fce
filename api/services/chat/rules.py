"""The rule-based parser: common English and Korean phrasings, no network, deterministic.

It runs when no Anthropic key is set and whenever Claude fails. It reads what a message
says (a dataset by name, a model family and size, task words, epochs, batch size,
learning rate, image size, a few other settings) into a `Patch`; it judges nothing:
`resolve` checks every value and asks for whatever is missing or wrong.

Matched spans are blanked out as they are read, so a number is used once: the 50 of
"resnet 50" is not also an epoch count, the 3 of "warm-up 3 epochs" is not the epochs.
"""

from __future__ import annotations

import re
import unicodedata
from difflib import SequenceMatcher

from api.services.chat.context import DatasetInfo, parse_id
from api.services.chat.patch import ModelRequest, Patch
from contract import catalog

# Numbers are bounded and must start and end at a digit boundary: a message of 4000
# digits or spaces must cost milliseconds, not minutes of backtracking.
_NUM = r"(?<![\d.])(\d{1,9}(?:\.\d{1,12})?(?:e[-+]?\d{1,3})?|\.\d{1,12}(?:e[-+]?\d{1,3})?)(?!\d)"
_INT = r"(?<![\d.])(\d{1,9})(?![\d.])"
# Words that may stand between a setting's name and its value.
_JOIN = r" ?(?:(?:of|=|:|is|to|at|as|수|값|는|은|을|를|이|가) ?){0,2}"
_EPOCH_WORD = r"(?:epochs?|에폭|에포크|에퐄|에포치)"
_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"

# Each integer setting: patterns whose first group is the value, tried in this order
# (warm-up and patience first: "warm-up 3 epochs" must not read as 3 epochs).
_INT_SETTINGS: list[tuple[str, list[str]]] = [
    ("warmup_epochs", [
        rf"warm[\s-]?up(?:\s*epochs?)?{_JOIN}{_INT}(?:\s*{_EPOCH_WORD})?",
        rf"{_INT}\s*{_EPOCH_WORD}?\s*(?:of\s*)?(?:warm[\s-]?up|워밍업|웜업)",
        rf"(?:워밍업|웜업){_JOIN}{_INT}(?:\s*{_EPOCH_WORD})?",
    ]),
    ("early_stopping_patience", [
        rf"(?:early[\s-]?stopping(?:\s*patience)?|patience){_JOIN}(?:after\s*)?{_INT}"
        rf"(?:\s*{_EPOCH_WORD})?",
        rf"(?:조기\s*종료|얼리\s*스토핑){_JOIN}{_INT}(?:\s*{_EPOCH_WORD})?",
    ]),
    ("seed", [rf"(?:random\s*)?(?:seed|시드){_JOIN}{_INT}"]),
    ("batch_size", [
        rf"batch(?:[\s_-]?size)?{_JOIN}{_INT}",
        rf"{_INT}\s*(?:images?\s*)?(?:per|a|each)\s*batch",
        rf"배치\s*(?:크기|사이즈)?{_JOIN}{_INT}",
    ]),
    ("image_size", [
        rf"(?:image[\s_-]?size|img[\s_-]?size|imgsz|input[\s_-]?size|resolution|"
        rf"이미지\s*(?:크기|사이즈)|입력\s*크기|해상도){_JOIN}{_INT}(?:\s*(?:px|pixels?|픽셀))?",
        rf"{_INT}\s*(?:x|×)\s*\d{{1,5}}\s*(?:px|pixels?|픽셀)?",
        rf"{_INT}\s*(?:px|pixels?|픽셀)",
    ]),
    ("epochs", [
        rf"{_INT}\s*{_EPOCH_WORD}",
        rf"{_EPOCH_WORD}{_JOIN}{_INT}",
        rf"{_INT}\s*(?:번|회)\s*(?:반복|학습|돌려)",
    ]),
]  # fmt: skip
_FLOAT_SETTINGS: list[tuple[str, list[str]]] = [
    ("learning_rate", [
        rf"(?:\blr\b|learning[\s_-]?rate|학습률|학습\s*률|러닝\s*레이트){_JOIN}{_NUM}",
        rf"{_NUM}\s*(?:lr|learning[\s_-]?rate)\b",
    ]),
    ("label_smoothing", [rf"label[\s_-]?smoothing{_JOIN}{_NUM}"]),
]  # fmt: skip
_CHOICES: list[tuple[str, str, dict[str, object]]] = [
    ("optimizer", r"(?<![a-z])(adamw|adam|sgd)(?![a-z])", {}),
    ("scheduler", r"(cosine|step|linear)\s*(?:lr\s*)?(?:schedul\w*|decay|annealing)", {}),
    ("augmentation", r"(no|light|standard|heavy|strong)\s*(?:data\s*)?augment\w*",
     {"no": "none", "strong": "heavy"}),
    ("augmentation", r"(강한|약한)\s*(?:데이터\s*)?증강", {"강한": "heavy", "약한": "light"}),
    ("augmentation", r"증강\s*(?:없이|안\s*함|off)", {"": "none"}),
]  # fmt: skip
_FROM_SCRATCH = (
    r"from\s*scratch|without\s*pre[\s-]?train\w*|no\s*pre[\s-]?train\w*|처음부터|사전\s*학습\s*없이"  # noqa: E501
)
_PRESET = [
    r"(basic|standard|aggressive)\s*(?:preset|settings|config\w*)",
    r"preset\s*(?:of|=|:)?\s*(basic|standard|aggressive)",
    r"(기본|표준|공격적인?)\s*(?:프리셋|설정)",
]
_PRESET_WORDS = {"기본": "basic", "표준": "standard", "공격적": "aggressive",
                 "공격적인": "aggressive"}  # fmt: skip

_TASKS: list[tuple[str, str]] = [
    ("semantic_segmentation", r"semantic\s*segment\w*|시맨틱\s*(?:분할|세그멘테이션)"),
    ("instance_segmentation", r"(?:instance\s*)?segment\w*|분할|세그멘테이션|세그먼테이션"),
    ("object_detection", r"(?:object\s*)?detect\w*|탐지|검출|디텍션"),
    ("pose_estimation", r"pose(?:\s*estimation)?|key[\s-]?points?|포즈|자세|키포인트"),
    ("image_classification", r"(?:image\s*)?classif\w*|분류"),
]
_FRAMEWORKS: list[tuple[str, str]] = [
    ("timm", r"(?<![a-z])timm(?![a-z])"),
    ("ultralytics", r"ultralytics|울트라리틱스"),
    ("transformers", r"(?<![a-z])transformers|hugging\s*face|(?<![a-z])hf(?![a-z])|허깅\s*페이스"),
]

_YOLO_SIZES = {
    "nano": "n", "n": "n", "나노": "n", "small": "s", "s": "s", "스몰": "s",
    "medium": "m", "m": "m", "미디엄": "m", "large": "l", "l": "l", "라지": "l",
    "xlarge": "x", "x": "x", "extra large": "x", "extra-large": "x", "엑스라지": "x",
}  # fmt: skip
_YOLO_SUFFIX = {"seg": "seg", "segment": "seg", "segmentation": "seg", "pose": "pose",
                "cls": "cls", "classify": "cls", "classification": "cls"}  # fmt: skip

# Words too common to say which dataset is meant.
_STOP_WORDS = (
    "a an the my our your this that these those on in of for with to at by and or use using "
    "train training trained fine tune tuned finetune fine-tune model models dataset datasets "
    "data set one please images image pictures photos epochs epoch batch size lr learning "
    "rate px detection detector classification classifier segmentation pose object objects "
    "new run start make want would like can could it its me i we 데이터셋 데이터 세트 학습 "
    "모델 이미지 크기 해주세요 해줘 으로 로 에서 을 를 이 가 은 는 사용 사용해 사용해서 "
    "돌려줘 학습해줘 분류 탐지 검출 내 제 나의"
)
_STOP = set(_STOP_WORDS.split())


class _Text:
    """The message, lower-cased, runs of white space made one space, and each matched
    span replaced by a bar once read (so the words around it do not join up)."""

    def __init__(self, message: str) -> None:
        text = unicodedata.normalize("NFKC", message).lower()
        text = text.replace("“", '"').replace("”", '"').replace("’", "'")
        self.s = re.sub(r"\s+", " ", text)

    def take(self, pattern: str) -> re.Match[str] | None:
        m = re.search(pattern, self.s)
        if m:
            self.s = self.s[: m.start()] + " | " + self.s[m.end() :]
        return m

    def take_all(self, pattern: str) -> list[re.Match[str]]:
        found = []
        while (m := self.take(pattern)) is not None:
            found.append(m)
        return found


def parse(message: str, datasets: list[DatasetInfo], pending: ModelRequest | None = None) -> Patch:
    """What `message` says, read against the names of `datasets` (the user's readable
    ones). `pending` is a model asked about before ("yolo": which size?): a bare size
    ("small", "50", "tiny") narrows it. Never raises; an unreadable message is empty."""
    text = _Text(message)
    patch = Patch()
    _dataset_by_id_or_name(text, datasets, patch)
    exact = _exact_models(text)
    _settings(text, patch)
    families = exact + _model_families(text)
    if families:
        known = all(r.known for r in families)
        candidates = list(dict.fromkeys(c for r in families for c in r.candidates))
        words = " / ".join(r.text for r in families)
        patch.model = ModelRequest(text=words, candidates=candidates, known=known)
    elif pending is not None:
        patch.model = _narrow(text, pending)
    for name, pattern in _FRAMEWORKS:
        if text.take(pattern):
            patch.framework = name
            break
    tasks = {task for task, pattern in _TASKS if text.take_all(pattern)}
    if len(tasks) == 1:
        patch.task_type = tasks.pop()
    if patch.dataset_id is None:
        _dataset_by_words(text, datasets, patch)
    return patch


def _dataset_by_id_or_name(text: _Text, datasets: list[DatasetInfo], patch: Patch) -> None:
    m = text.take(_UUID)
    if m:
        # Passed on as given: resolve refuses it unless the user may read it.
        patch.dataset_id = parse_id(m.group(0))
        patch.dataset_text = m.group(0)
        return
    # A dataset's whole name, longest first ("cats-v2" before "cats"); - _ and space alike.
    for d in sorted(datasets, key=lambda d: -len(d.name)):
        words = re.findall(r"[a-z0-9]+|[가-힣]+", unicodedata.normalize("NFKC", d.name).lower())
        if not words:
            continue
        pattern = r"(?<![a-z0-9가-힣])" + r"[\s_\-.]*".join(map(re.escape, words)) + r"(?![a-z0-9])"
        if text.take(pattern):
            patch.dataset_id, patch.dataset_text = d.id, d.name
            return


def _tokens(s: str) -> list[str]:
    return [t for t in re.findall(r"[a-z0-9]+|[가-힣]+", s) if t not in _STOP]


def _token_match(said: str, name_token: str) -> float:
    if said == name_token:
        return 1.0
    if said.rstrip("s") == name_token.rstrip("s") and len(name_token) >= 3:
        return 0.9  # cat / cats
    if re.fullmatch(r"[가-힣]+", said) and said.startswith(name_token) and len(name_token) >= 2:
        return 0.9  # 고양이 / 고양이로 (a particle attached)
    if (
        len(name_token) >= 5
        and abs(len(said) - len(name_token)) <= 2
        and SequenceMatcher(None, said, name_token).ratio() >= 0.85
    ):
        return 0.8  # a typo
    return 0.0


def _dataset_by_words(text: _Text, datasets: list[DatasetInfo], patch: Patch) -> None:
    """Fuzzy: the dataset whose significant name words the message says most of."""
    said = list(dict.fromkeys(_tokens(text.s)))
    if not said:
        return
    scored: list[tuple[float, DatasetInfo]] = []
    for d in datasets:
        words = [
            w for w in _tokens(unicodedata.normalize("NFKC", d.name).lower())
            if len(w) >= 3 or re.fullmatch(r"[가-힣]+", w) and len(w) >= 2
        ]  # fmt: skip
        if not words:
            continue
        matches = [max(_token_match(s, w) for s in said) for w in words]
        score = sum(matches) / len(words)
        # Half the name's words, or one clearly said ("the cats one" for "cat-dog").
        if score >= 0.5 or (score >= 0.4 and max(matches) >= 0.9):
            scored.append((score, d))
    if not scored:
        return
    best = max(s for s, _ in scored)
    top = [d for s, d in scored if s == best]
    patch.dataset_text = " ".join(said)[:200]
    if len(top) == 1:
        patch.dataset_id = top[0].id
    else:
        patch.dataset_candidates = [d.id for d in top]


def _settings(text: _Text, patch: Patch) -> None:
    for name, patterns in _INT_SETTINGS:
        for pattern in patterns:
            m = text.take(pattern)
            if m:
                patch.config[name] = int(m.group(1))
                break
    for name, patterns in _FLOAT_SETTINGS:
        for pattern in patterns:
            m = text.take(pattern)
            if m:
                patch.config[name] = float(m.group(1))
                break
    for name, pattern, aliases in _CHOICES:
        m = text.take(pattern)
        if m and name not in patch.config:
            word = m.group(1) if m.groups() else ""
            patch.config[name] = aliases.get(word, word)
    if text.take(_FROM_SCRATCH):
        patch.config["pretrained"] = False
    for pattern in _PRESET:
        m = text.take(pattern)
        if m:
            patch.preset = _PRESET_WORDS.get(m.group(1), m.group(1))
            break


def _exact_models(text: _Text) -> list[ModelRequest]:
    found = []
    for m in sorted(catalog.MODELS, key=lambda m: -len(m.name)):
        if text.take(r"(?<![a-z0-9_-])" + re.escape(m.name) + r"(?![a-z0-9_])"):
            candidates = [(m.framework, m.name)]
            if re.fullmatch(r"yolo11[nsmlx]", m.name):
                # "yolo11n" on a segmentation dataset means its -seg variant, as in
                # Ultralytics' own usage: the task picks among the size's variants.
                candidates = _catalog(m.name, "ultralytics")
            found.append(ModelRequest(text=m.name, candidates=candidates))
    return found


def _catalog(prefix: str, framework: str) -> list[tuple[str, str]]:
    return [(m.framework, m.name) for m in catalog.MODELS
            if m.framework == framework and m.name.startswith(prefix)]  # fmt: skip


def _model_families(text: _Text) -> list[ModelRequest]:
    found: list[ModelRequest] = []
    for m in text.take_all(r"(?<![a-z])yolos(?:[\s_-]*(?:tiny|ti))?(?![a-z])"):
        found.append(ModelRequest(m.group(0).strip(), [("transformers", "yolos-tiny")]))
    sizes = "|".join(sorted(map(re.escape, _YOLO_SIZES), key=len, reverse=True))
    suffixes = "|".join(sorted(_YOLO_SUFFIX, key=len, reverse=True))
    yolo = (rf"(?<![a-z])(?:yolo|욜로)\s*(?:v\s*)?(\d{{1,3}})?[\s_-]*(?:({sizes})(?![a-z]))?"
            rf"(?:[\s_-]*({suffixes})(?![a-z]))?")  # fmt: skip
    for m in text.take_all(yolo):
        version, size, suffix = m.group(1), _YOLO_SIZES.get(m.group(2) or ""), m.group(3)
        pool = _catalog("yolo11", "ultralytics")
        if size:
            pool = [c for c in pool if c[1][len("yolo11")] == size]
        if suffix:
            tail = "-" + _YOLO_SUFFIX[suffix]
            pool = [c for c in pool if c[1].endswith(tail)]
        known = version in (None, "11") and bool(pool)
        found.append(ModelRequest(m.group(0).strip(), pool or _catalog("yolo11", "ultralytics"),
                                  known))  # fmt: skip
    for m in text.take_all(r"(?<![a-z])(?:res[\s-]?net|레즈넷|레스넷)[\s_-]*(\d{1,4})?"):
        pool = _catalog("resnet", "timm")
        depth = m.group(1)
        exact = [c for c in pool if c[1] == f"resnet{depth}"]
        found.append(ModelRequest(m.group(0).strip(), exact or pool, not depth or bool(exact)))
    families = [
        (r"efficient[\s_-]?net(?:[\s_-]*(b\d))?", "efficientnet_b0", "b0"),
        (r"mobile[\s_-]?net(?:[\s_-]*(v\d))?", "mobilenetv3_small_100", "v3"),
        (r"conv[\s_-]?next(?:[\s_-]*(tiny|small|base|large))?", "convnext_tiny", "tiny"),
    ]
    for pattern, name, variant in families:
        for m in text.take_all(r"(?<![a-z])" + pattern):
            known = m.group(1) in (None, variant)
            found.append(ModelRequest(m.group(0).strip(), [("timm", name)], known))
    vit = (r"(?:(?<![a-z])vit(?![a-z])|vision[\s-]?transformers?|비전\s*트랜스포머)"
           r"(?:[\s_/-]*(tiny|ti|small|base|large|huge)(?![a-z]))?")  # fmt: skip
    for m in text.take_all(vit):
        tiny = [("timm", "vit_tiny_patch16_224"), ("transformers", "vit-tiny")]
        base = [("transformers", "vit-base")]
        size = m.group(1)
        sized = {"tiny": tiny, "ti": tiny, "base": base, None: tiny + base}.get(size)
        found.append(ModelRequest(m.group(0).strip(), sized or tiny + base, sized is not None))
    return found


def _size_of(name: str) -> set[str]:
    """The size words that single out a catalog model within its family."""
    if m := re.fullmatch(r"yolo11([nsmlx])(?:-\w+)?", name):
        return {w for w, letter in _YOLO_SIZES.items() if letter == m.group(1)}
    if m := re.fullmatch(r"resnet(\d+)", name):
        return {m.group(1)}
    return {w for w in ("tiny", "small", "base") if w in name}


def _narrow(text: _Text, pending: ModelRequest) -> ModelRequest | None:
    """`pending` narrowed by a size word the message says; None when it says none."""
    words = set(re.findall(r"[a-z0-9]+|[가-힣]+", text.s))
    kept = [c for c in pending.candidates if _size_of(c[1]) & words]
    if not kept or len(kept) == len(pending.candidates):
        return None
    said = sorted(_size_of(kept[0][1]) & words)[0]
    return ModelRequest(text=f"{pending.text} {said}", candidates=kept, known=pending.known)
