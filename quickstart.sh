#!/usr/bin/env bash
# Sets up and runs the platform on its embedded defaults: SQLite and local storage
# under ./data, the local subprocess runner. Nothing to configure.
set -euo pipefail
cd "$(dirname "$0")"
venv=$(scripts/venv.sh api)
exec "$venv/bin/vap" serve "$@"
