#!/usr/bin/env bash
# Runs the test suite against the real services it needs: PostgreSQL on
# 127.0.0.1:5432 (started here when it is installed but down), and a SeaweedFS S3
# server and a Docker engine that the tests start themselves. Extra arguments go to
# pytest.
set -euo pipefail
cd "$(dirname "$0")"
if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null && command -v pg_ctlcluster >/dev/null; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start
fi
# The Docker runner's tests start a real engine and build a base image without a
# registry (debootstrap): install both when missing and this user can.
if { ! command -v dockerd || ! command -v debootstrap; } >/dev/null 2>&1 \
   && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "Installing docker.io and debootstrap for the Docker runner's tests ..." >&2
  apt-get install -y -qq --no-install-recommends docker.io debootstrap >/dev/null 2>&1 \
    || { apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends docker.io debootstrap >/dev/null; }
fi
# The web console's browser tests (tests/web/) drive Debian's chromium, and its build
# (scripts/build_web.sh) needs Node.js and npm: install them when missing and this user can.
if { ! command -v chromium || ! command -v npm; } >/dev/null 2>&1 \
   && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  web_packages=chromium
  command -v npm >/dev/null || web_packages="$web_packages nodejs npm"
  echo "Installing $web_packages for the web console's tests ..." >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $web_packages >/dev/null 2>&1 \
    || { apt-get update -qq >/dev/null \
         && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $web_packages >/dev/null; }
fi
# The shape the platform ships in is tested too (tests/test_split_shape.py): the API from
# an environment with only the `api` extra, workers from one with only the `worker` extra.
scripts/venv.sh api >/dev/null
scripts/venv.sh worker >/dev/null
venv=$(scripts/venv.sh api,worker,modal,dev)
# The web console: npm ci, its types from the API's OpenAPI, tsc, vite build (seconds
# when nothing changed); the API under test serves it and tests/web/ drive it.
VAP_PYTHON="$venv/bin/python" scripts/build_web.sh
exec "$venv/bin/python" -m pytest "$@"
