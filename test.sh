#!/usr/bin/env bash
# Runs the test suite against the real services it needs: PostgreSQL on
# 127.0.0.1:5432 (started here when it is installed but down) and a SeaweedFS S3
# server that the tests start themselves. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")"
if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null && command -v pg_ctlcluster >/dev/null; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start
fi
venv=$(scripts/venv.sh api,worker,modal,dev)
exec "$venv/bin/python" -m pytest "$@"
