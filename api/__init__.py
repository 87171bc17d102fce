"""The platform's HTTP API (see api/main.py)."""

import sys

# structlog imports its developer console, and through it rich (~50 ms, about a tenth of
# a cold start), whenever rich is installed (typer brings it). Our logs never use rich:
# format_exc_info turns tracebacks into plain text before any renderer sees them (see
# api/observability/logs.py). So structlog is first imported here with rich hidden from it.
if "structlog" not in sys.modules and "rich" not in sys.modules:
    sys.modules["rich"] = None  # type: ignore[assignment]
    try:
        import structlog  # noqa: F401
    finally:
        del sys.modules["rich"]
