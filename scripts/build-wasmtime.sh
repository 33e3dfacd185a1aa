#!/usr/bin/env bash
# Builds Wasmtime's C API from crates.io (the wrapper crate in wasmtime/) and
# prints the directory holding lib/libpyhost_wasmtime.a and include/.
#
# The result is cached outside the clone under
#   ~/.cache/pyhost/wasmtime-<version>-<key>
# where <key> hashes the wrapper's Cargo.toml, Cargo.lock and the Rust
# version: a clean clone on the same machine reuses it, a changed feature set
# or toolchain builds a new one. A cold build takes about 7 minutes on 2 cores.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
crate="$root/wasmtime"
cache=${PYHOST_CACHE:-$HOME/.cache/pyhost}
version=$(sed -n 's/^version = "=\(.*\)"/\1/p' "$crate/Cargo.toml")
key=$( (cat "$crate/Cargo.toml" "$crate/Cargo.lock" "$crate/lib.rs"; rustc --version) \
       | sha256sum | cut -c1-12)
out="$cache/wasmtime-$version-$key"

if [[ ! -f "$out/.complete" ]]; then
  echo "build-wasmtime: building wasmtime-c-api-impl $version into $out" >&2
  target="$cache/cargo-target"
  start=$(date +%s)
  cargo build --release --locked --manifest-path "$crate/Cargo.toml" \
    --target-dir "$target" >&2
  # The crate's build script installs the headers (and the generated
  # wasmtime/conf.h) under its OUT_DIR; take the newest one.
  include=$(ls -dt "$target"/release/build/wasmtime-c-api-impl-*/out/include | head -n1)
  rm -rf "$out.tmp"
  mkdir -p "$out.tmp/lib"
  cp -r "$include" "$out.tmp/include"
  cp "$target/release/libpyhost_wasmtime.a" "$out.tmp/lib/"
  echo "built in $(( $(date +%s) - start )) s on $(nproc) cores, $(date -u +%F)" > "$out.tmp/BUILD-TIME"
  touch "$out.tmp/.complete"
  rm -rf "$out"
  mv "$out.tmp" "$out"
fi
echo "$out"
