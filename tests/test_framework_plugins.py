"""Frameworks are plug-ins: a framework is its facts module (contract/frameworks/), its
trainer and its export source; every list of frameworks (catalog, config schema,
capability rule, API enums) and every dispatch on one (get_trainer, export) is derived
from those facts, and reading them costs no framework."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from contract import frameworks

ROOT = Path(__file__).parents[1]

# A framework that exists only in this test: its facts, trainer and export source are
# written to a folder that the fresh interpreter adds to the package's path.
_TOY_FACTS = """
from contract.frameworks import FrameworkFacts, catalog_entry as _m

FACTS = FrameworkFacts(
    name="toyfw",
    rank=9,
    package="toyfw_runtime",
    trainer="toyfw_trainer:ToyTrainer",
    export_source="toyfw_trainer:toy_source",
    settings=("mosaic",),
    models=(_m("toy-net", "toyfw", ["object_detection"], 1234, 96, "A toy detector"),),
)
"""
_TOY_TRAINER = """
class ToyTrainer:
    framework = "toyfw"


def toy_source(checkpoint):
    return ("toy source of", str(checkpoint))
"""
_PROBE = """
import json, sys
sys.path.insert(0, {folder!r})
import contract.frameworks
contract.frameworks.__path__.append({plugins!r})
from contract import catalog, export_capabilities, training_config
from api.schemas.common import FRAMEWORK_ENUM
from exporters.registry import source_loader
from trainers.base import get_trainer

schema = training_config.schema("toyfw", "object_detection")
print(json.dumps({{
    "catalog": list(catalog.FRAMEWORKS),
    "enum": FRAMEWORK_ENUM["enum"],
    "model": catalog.find("toyfw", "toy-net").default_image_size,
    "last_model": catalog.MODELS[-1].name,
    "settings": [f.name for f in schema.fields if f.frameworks is not None],
    "capability": export_capabilities.framework_support("toyfw", lambda m: m != "toyfw_runtime"),
    "export_table": list(export_capabilities.export_table(lambda m: True, False, "Linux")),
    "trainer": get_trainer("toyfw").framework,
    "source": source_loader("toyfw")("ckpt"),
}}))
"""


def _fresh(code: str) -> subprocess.CompletedProcess[str]:
    """Run `code` in a new interpreter (the facts are read once per process)."""
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=False
    )


def _last_line(code: str) -> str:
    done = _fresh(code)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


def test_a_framework_is_one_facts_module_and_every_list_and_dispatch_follows(tmp_path):
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "toyfw.py").write_text(_TOY_FACTS)
    (tmp_path / "toyfw_trainer.py").write_text(_TOY_TRAINER)
    seen = json.loads(_last_line(_PROBE.format(folder=str(tmp_path), plugins=str(plugins))))
    assert seen["catalog"] == sorted(["timm", "transformers", "ultralytics", "toyfw"])
    assert seen["enum"] == seen["catalog"]  # what the OpenAPI document lists
    assert seen["model"] == 96 and seen["last_model"] == "toy-net"  # rank 9: listed last
    assert seen["settings"] == ["mosaic"]  # claimed in its facts, served in its schema
    assert seen["capability"]["supported"] is False
    assert "toyfw_runtime not installed" in seen["capability"]["reason"]
    assert seen["export_table"] == ["timm", "ultralytics", "transformers", "toyfw"]
    assert seen["trainer"] == "toyfw"
    assert seen["source"] == ["toy source of", "ckpt"]


@pytest.mark.parametrize(
    ("module", "facts", "words"),
    [
        ("elsewise", _TOY_FACTS, "describes 'toyfw'"),
        ("toyfw", _TOY_FACTS.replace('"toy-net", "toyfw"', '"toy-net", "timm"'), "other frame"),
        ("toyfw", _TOY_FACTS.replace('("mosaic",)', '("epochs",)'), "not framework-specific"),
    ],
)
def test_facts_that_contradict_themselves_or_the_config_fail_at_import(
    tmp_path, module, facts, words
):
    (tmp_path / f"{module}.py").write_text(facts)
    code = (
        "import contract.frameworks\n"
        f"contract.frameworks.__path__.append({str(tmp_path)!r})\n"
        "from contract import training_config\n"
        "print('imported')\n"
    )
    done = _fresh(code)
    assert done.returncode != 0 and "imported" not in done.stdout
    assert words in done.stderr


def test_every_framework_names_an_adapter_and_a_source_of_its_own():
    from exporters.registry import source_loader
    from trainers.base import get_trainer

    assert frameworks.names() == ("timm", "ultralytics", "transformers")
    for name, facts in frameworks.all_frameworks().items():
        assert get_trainer(name).framework == name
        assert source_loader(name).__module__ == facts.export_source.partition(":")[0]
    with pytest.raises(ValueError, match="known: .*timm"):
        source_loader("caffe")


def test_reading_every_framework_s_facts_imports_no_framework():
    code = (
        "import json, sys\n"
        "from contract import catalog, export_capabilities, frameworks, training_config\n"
        "import exporters.registry, trainers.base\n"
        "frameworks.all_frameworks()\n"
        "heavy = ('torch', 'timm', 'ultralytics', 'transformers', 'numpy')\n"
        "print(json.dumps([m for m in heavy if m in sys.modules]))\n"
    )
    assert json.loads(_last_line(code)) == []
