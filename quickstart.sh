#!/usr/bin/env bash
# The README's first command: installs the platform, starts the API on its embedded
# defaults (SQLite and local storage under ./data, the local subprocess runner; nothing
# to configure) unless one answers on the port already, and runs the demo through the
# client: digits dataset -> training -> test run -> ONNX export -> endpoint -> /v1/infer.
# The API then keeps running until Ctrl-C.
#   ./quickstart.sh [--port N] [--smoke] [--exit] [--epochs N]      (vap demo --help)
# The worker extra (torch and the frameworks, a few GB the first time) is installed too:
# local workers train in this environment. VAP_VENV names a virtualenv that has the
# project installed already (the tests pass theirs) instead.
set -euo pipefail
cd "$(dirname "$0")"
venv=${VAP_VENV:-$(scripts/venv.sh api,worker)}
# The web console (web/), built when missing or stale; the API serves it at /. The demo
# runs without it when it cannot be built here.
VAP_PYTHON="$venv/bin/python" scripts/build_web.sh \
  || echo "quickstart: the web console could not be built (scripts/build_web.sh); going on without it" >&2
exec "$venv/bin/python" -m api.cli demo "$@"
