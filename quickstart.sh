#!/usr/bin/env bash
# Sets up and runs the platform on its embedded defaults: SQLite and local storage
# under ./data, the local subprocess runner. Nothing to configure. The worker extra
# (torch and the frameworks) is installed too: local workers train in this environment.
set -euo pipefail
cd "$(dirname "$0")"
venv=$(scripts/venv.sh api,worker)
exec "$venv/bin/vap" serve "$@"
