"""TFLite: named so that clients and capability tables can say why it is not offered."""

from contract.export_formats import FormatFacts

FACTS = FormatFacts(
    name="tflite",
    rank=30,
    requires=("litert_torch", "ai_edge_litert"),
    not_implemented=(
        "TFLite export is not implemented here: it needs litert-torch and ai-edge-litert "
        "(~830 MB with jaxlib), which downgrade pydantic to 2.11 and typing_extensions, "
        "so they belong in a separate worker image, never the API's environment"
    ),
)
