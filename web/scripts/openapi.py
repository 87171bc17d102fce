"""Write the API's own OpenAPI document (`create_app().openapi()`) to a JSON file, for
openapi-typescript to turn into the console's types (scripts/build_web.sh runs it).

Run it with the project's Python: `python web/scripts/openapi.py web/openapi.json`.
The file is rewritten only when its content changes, so an unchanged API leaves the
console's build inputs untouched.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def main(out: str) -> None:
    sys.path.insert(0, str(ROOT))
    from api.main import create_app

    text = json.dumps(create_app().openapi(), indent=1, sort_keys=True) + "\n"
    path = Path(out)
    if not path.exists() or path.read_text() != text:
        path.write_text(text)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else str(ROOT / "web" / "openapi.json"))
