#!/usr/bin/env bash
# Prints a directory holding the standard WIT packages that pyhost's contract
# imports (today: wasi:config, for plugin settings), ready to be a `deps/`.
#
# They are not copied into the repository: the text comes from the crates.io
# package `wasmtime-wasi-config` of the Wasmtime version the host is built
# with (wasmtime/Cargo.toml), whose wit/deps/config is the wasi:config
# package that Wasmtime implements. Cargo downloads it by name (a throwaway
# manifest and `cargo fetch`, pinned by the wrapper's Cargo.lock); the
# unpacked WIT is cached outside the clone under
#   ~/.cache/pyhost/wit-deps-<version>
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cache=${PYHOST_CACHE:-$HOME/.cache/pyhost}
version=$(sed -n 's/^version = "=\(.*\)"/\1/p' "$root/wasmtime/Cargo.toml")
out="$cache/wit-deps-$version"
crate=wasmtime-wasi-config-$version
if [[ ! -f $out/.complete ]]; then
  cargo_home=${CARGO_HOME:-$HOME/.cargo}
  find_crate() { find "$cargo_home/registry/cache" -name "$crate.crate" 2>/dev/null | head -n 1; }
  file=$(find_crate)
  if [[ -z $file ]]; then
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    mkdir -p "$work/src" && : > "$work/src/lib.rs"
    printf '[package]\nname = "pyhost-wit-deps"\nversion = "0.0.0"\nedition = "2021"\n\n[dependencies]\nwasmtime-wasi-config = "=%s"\n' \
      "$version" > "$work/Cargo.toml"
    cp "$root/wasmtime/Cargo.lock" "$work/Cargo.lock"
    echo "wit-deps: fetching $crate from crates.io" >&2
    (cd "$work" && cargo fetch -q >&2)
    file=$(find_crate)
    [[ -n $file ]] || { echo "wit-deps: cargo did not fetch $crate" >&2; exit 1; }
  fi
  rm -rf "$out.tmp" && mkdir -p "$out.tmp"
  tar -xzf "$file" -C "$out.tmp" --strip-components=3 "$crate/wit/deps/config"
  [[ -f $out.tmp/config/store.wit ]] || { echo "wit-deps: $file has no wit/deps/config" >&2; exit 1; }
  touch "$out.tmp/.complete"
  rm -rf "$out" && mv "$out.tmp" "$out"
fi
echo "$out"
