#!/usr/bin/env bash
# Prints the path of a virtualenv holding this project with the given extras,
# creating it first when needed. Virtualenvs are cached outside the checkout, keyed
# on pyproject.toml, the extras and the Python version, so a fresh clone with the
# same dependencies reuses one (torch alone is minutes and gigabytes).
#   usage: scripts/venv.sh api,dev        (everything it says goes to stderr)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
extras=${1:?usage: scripts/venv.sh EXTRAS}
py=${PYTHON:-python3}
key=$( { cat "$root/pyproject.toml"; echo "$extras"; "$py" --version; } | sha256sum | cut -c1-16)
base=${VAP_VENV_ROOT:-$HOME/.cache/vap/venvs}
name="${extras//,/-}-$key"
venv="$base/$name"
mkdir -p "$base"
exec 9>"$base/.lock-${extras//,/-}"
flock 9  # two runs at once must not build the same venv twice
if [ ! -f "$venv/.complete" ]; then
  echo "Installing the project with extras [$extras] into $venv (first run only) ..." >&2
  rm -rf "$venv"
  "$py" -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check --upgrade pip "setuptools>=69" wheel >&2
  "$venv/bin/pip" install -q --disable-pip-version-check --no-build-isolation -e "$root[$extras]" >&2
  touch "$venv/.complete"
  echo "$root" > "$venv/.root"
  # Older venvs of the same extras are dead weight.
  # Exactly "<extras>-<16-hex key>": "api-worker-*" would also match "api-worker-modal-dev-*".
  for old in "$base/${extras//,/-}"-????????????????; do
    [ "$old" != "$venv" ] && [ -d "$old" ] && rm -rf "$old"
  done
elif [ "$(cat "$venv/.root" 2>/dev/null)" != "$root" ]; then
  # Same dependencies, another checkout: point the editable install at this one.
  "$venv/bin/pip" install -q --disable-pip-version-check --no-build-isolation --no-deps -e "$root" >&2
  echo "$root" > "$venv/.root"
fi
echo "$venv"
