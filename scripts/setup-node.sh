#!/usr/bin/env bash
# Installs the dashboard's npm packages (web/package.json, versions pinned in
# the committed web/package-lock.json: uPlot, embedded in the binary at build
# time, and playwright-core for the browser test) with `npm ci`, by package
# name from the npm registry, and prints the node_modules directory. It is
# cached outside the clone, keyed by a hash of the lock file and node's
# major version, so a clean clone reuses it. Idempotent.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cache=${PYHOST_CACHE:-$HOME/.cache/pyhost}

if ! command -v npm > /dev/null; then
  # Debian ships npm apart from nodejs; a nodejs that brings its own npm
  # (NodeSource's) must not be replaced, so only install it when missing.
  echo "setup-node: installing npm" >&2
  sudo_cmd=()
  [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq \
    --no-install-recommends npm >&2
fi

node_major=$(node --version | sed -E 's/^v([0-9]+).*/\1/')
key=$(cat "$root/web/package.json" "$root/web/package-lock.json" | sha256sum | cut -c1-12)
dir="$cache/node-$key-v$node_major"

if [[ ! -f "$dir/.complete" ]]; then
  echo "setup-node: installing web/package-lock.json into $dir" >&2
  rm -rf "$dir"
  mkdir -p "$dir"
  cp "$root/web/package.json" "$root/web/package-lock.json" "$dir/"
  # --ignore-scripts: no package runs code at install time (playwright-core
  # has no install script anyway; the browser is Debian's chromium).
  (cd "$dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >&2)
  touch "$dir/.complete"
fi
echo "$dir/node_modules"
