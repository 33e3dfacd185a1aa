#!/usr/bin/env bash
# Makes the Python virtual environment with the pinned tools of
# requirements.txt (componentize-py, pytest) and prints its path. The venv is
# cached outside the clone, keyed by a hash of requirements.txt, so a clean
# clone reuses it and a changed pin builds a new one. Idempotent.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cache=${PYHOST_CACHE:-$HOME/.cache/pyhost}
key=$(sha256sum "$root/requirements.txt" | cut -c1-12)
venv="$cache/venv-$key"

if [[ ! -f "$venv/.complete" ]]; then
  echo "setup-venv: creating $venv" >&2
  rm -rf "$venv"
  mkdir -p "$cache"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -r "$root/requirements.txt" >&2
  touch "$venv/.complete"
fi
echo "$venv"
