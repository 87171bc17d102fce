"""Export formats are plug-ins: a format is its facts module (contract/export_formats/)
and, when export() makes it, its spec module (exporters/formats/); every list of formats
is derived from them, and reading them costs no framework."""

from __future__ import annotations

import json
import subprocess
import sys

from contract import export_formats


def test_formats_with_a_route_are_exactly_those_exporters_implement():
    from exporters.registry import formats

    routed = [name for name, facts in export_formats.all_formats().items() if facts.route]
    assert list(formats()) == routed
    for name, spec in formats().items():
        assert spec.facts is export_formats.facts_of(name)


def test_onnx_the_reference_graph_comes_first_and_is_served_by_the_endpoint():
    names = export_formats.names()
    assert names[0] == "onnx" and export_formats.facts_of("onnx").platform_endpoint
    assert [n for n in names if export_formats.facts_of(n).platform_endpoint] == ["onnx"]


def test_an_unknown_format_is_a_value_error_naming_the_known_ones():
    try:
        export_formats.facts_of("pickle")
    except ValueError as exc:
        assert "onnx" in str(exc)
    else:
        raise AssertionError("no error")


def test_the_api_lists_every_format_the_facts_describe():
    from api.db.models import ExportFormat
    from api.schemas.exports import ExportJobCreate

    schema = ExportJobCreate.model_json_schema()["properties"]["format"]
    assert schema["enum"] == list(export_formats.names())
    assert [f.value for f in ExportFormat] == list(export_formats.names())


def test_listing_formats_imports_no_runtime():
    code = (
        "import json, sys\n"
        "from contract import export_formats\n"
        "from exporters.registry import formats\n"
        "from exporters import package\n"
        "export_formats.names(); formats()\n"
        "heavy = ('torch', 'numpy', 'onnxruntime', 'openvino', 'onnx')\n"
        "print(json.dumps([m for m in heavy if m in sys.modules]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.splitlines()[-1]) == []
