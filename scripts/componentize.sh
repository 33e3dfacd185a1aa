#!/usr/bin/env bash
# Builds one Python plugin into a component with componentize-py:
#   scripts/componentize.sh VENV PLUGIN_DIR OUTPUT [EXTRA_MODULE_DIR...]
# The plugin names its world in PLUGIN_DIR/world (default sensor-plugin) and
# may bring its own WIT in PLUGIN_DIR/wit; plugins/sdk and the extra
# directories are on its module path. `WORLD@VERSION` (sensor-reader@0.1.0)
# builds against an older release of the contract, kept in wit/VERSION/.
# The current contract imports standard WIT packages (wasi:config), which
# scripts/wit-deps.sh provides as its deps/ at build time.
#
# componentize-py takes seconds per plugin and its output is not
# byte-for-byte reproducible, so results are cached outside the clone,
# keyed by a hash of every input (sources, WIT, SDK, the tool's version):
# a clean clone reuses them, and so do the compiled-code caches keyed by
# the component's bytes.
set -euo pipefail
venv=$1 dir=$2 out=$3
shift 3
root=$(cd "$(dirname "$0")/.." && pwd)
cache=${PYHOST_CACHE:-$HOME/.cache/pyhost}/components
wit=wit world=sensor-plugin
[[ -f $dir/world ]] && world=$(cat "$dir/world")
if [[ $world == *@* ]]; then
  wit=wit/${world#*@} world=${world%@*}
  [[ -d $root/$wit ]] || { echo "componentize: no contract $wit for $dir" >&2; exit 1; }
fi
[[ -d $dir/wit ]] && wit=$dir/wit
paths=(-p "$dir" -p plugins/sdk)
for extra in "$@"; do paths+=(-p "$extra"); done

cd "$root"
key=$( { "$venv/bin/componentize-py" --version; echo "$world"; \
         find -L "$dir" "$wit" wit plugins/sdk "$@" -type f \( -name '*.py' -o -name '*.wit' -o -name world \) \
           -not -path '*/__pycache__/*' -print0 | sort -z | xargs -0 sha256sum; } \
       | sha256sum | cut -c1-32)
if [[ -f $cache/$key.wasm ]]; then
  cp "$cache/$key.wasm" "$out.tmp"
else
  if [[ $wit == wit ]]; then
    # The current contract with its standard dependencies beside it.
    deps=$(scripts/wit-deps.sh)
    assembled=$(mktemp -d)
    trap 'rm -rf "$assembled"' EXIT
    cp wit/*.wit "$assembled/" && ln -s "$deps" "$assembled/deps"
    wit=$assembled
  fi
  "$venv/bin/componentize-py" -d "$wit" -w "$world" componentize "${paths[@]}" app \
    -o "$out.tmp" > /dev/null
  mkdir -p "$cache"
  cp "$out.tmp" "$cache/$key.wasm.tmp" && mv "$cache/$key.wasm.tmp" "$cache/$key.wasm"
fi
mv "$out.tmp" "$out"
