#!/usr/bin/env bash
# Prints the path of a wheelhouse holding every wheel the worker image installs: the
# project's dependencies and its `worker` extra, for CPython 3.11 on x86_64 Linux (the
# image's Python, whatever this machine runs), downloading it first when needed. It is
# made outside the image build, so the build needs no package index: serve it and pass
# its URL as WHEELHOUSE (infra/README.md). Cached under ~/.cache/vap/wheelhouses, keyed
# on those requirements and this script (other changes to pyproject.toml reuse it).
#   usage: scripts/worker_wheelhouse.sh      (everything else it says goes to stderr)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
py=${PYTHON:-python3}
# The list infra/Dockerfile.worker installs: [project] dependencies + the worker extra.
requirements=$("$py" -c '
import sys, tomllib
project = tomllib.load(open(sys.argv[1], "rb"))["project"]
print("\n".join(project["dependencies"] + project["optional-dependencies"]["worker"]))
' "$root/pyproject.toml")
key=$( { echo "$requirements"; cat "$0"; } | sha256sum | cut -c1-16)
base=${VAP_WHEELHOUSE_ROOT:-$HOME/.cache/vap/wheelhouses}
dir="$base/worker-$key"
mkdir -p "$base"
exec 9>"$base/.lock-worker"
flock 9  # two runs at once must not download the same gigabytes twice
if [ ! -f "$dir/.complete" ]; then
  echo "Downloading the worker image's wheels into $dir (first run only, ~3 GB) ..." >&2
  rm -rf "$dir" "$dir.partial"
  mkdir -p "$dir.partial"
  echo "$requirements" > "$dir.partial/requirements.txt"
  # Wheels for the image's interpreter, not this one. pip does not widen a manylinux_2_X
  # --platform to the older ones, so every glibc up to Debian bookworm's 2.36 is named.
  target=(--only-binary=:all: --python-version 3.11 --implementation cp --abi cp311)
  for v in $(seq 36 -1 17); do target+=(--platform "manylinux_2_${v}_x86_64"); done
  target+=(--platform manylinux2014_x86_64 --platform manylinux2010_x86_64 --platform manylinux1_x86_64)
  "$py" -m pip download -q --disable-pip-version-check "${target[@]}" \
    -d "$dir.partial" -r "$dir.partial/requirements.txt" >&2
  touch "$dir.partial/.complete"
  mv "$dir.partial" "$dir"
  # Older wheelhouses are dead weight.
  for old in "$base"/worker-????????????????; do
    [ "$old" != "$dir" ] && [ -d "$old" ] && rm -rf "$old"
  done
fi
echo "$dir"
