"""Core ML: named so that clients and capability tables can say why it is not offered."""

from contract.export_formats import FormatFacts

FACTS = FormatFacts(
    name="coreml",
    rank=40,
    requires=("coremltools",),
    not_implemented=(
        "Core ML export is not implemented here: it needs coremltools>=9 with numpy<=2.3.5, "
        "and a Core ML model can only be run (validated) on macOS"
    ),
    validated_on=("Darwin", "exported, not validated here: Core ML models only run on macOS"),
)
