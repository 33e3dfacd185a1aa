#!/usr/bin/env bash
# Builds Wasmtime's C API from crates.io (the wrapper crate in wasmtime/) and
# prints the directory holding lib/libpyhost_wasmtime.a and include/.
#
# The result is cached outside the clone under
#   ~/.cache/pyhost/wasmtime-<version>-<key>
# where <key> hashes the wrapper's Cargo.toml, Cargo.lock, its .rs and .h
# files (pyhost's extensions to the C API) and the Rust
# version: a clean clone on the same machine reuses it, a changed feature set
# or toolchain builds a new one. A cold build takes about 7 minutes on 2 cores.
#
# With an argument, a Rust target triple (e.g. aarch64-unknown-linux-gnu, see
# scripts/setup-cross-aarch64.sh), it cross-compiles with that target's
# Debian cross gcc and caches the result apart, under
#   ~/.cache/pyhost/wasmtime-<version>-<target>-<key>
# (the key then also hashes the target; the native key is unchanged).
#
# With PYHOST_RUNTIME_ONLY=1 it builds Wasmtime without its compilers (the
# wrapper crate's default feature `compiler` off): a runtime that only loads
# precompiled code. Cached apart, under
#   ~/.cache/pyhost/wasmtime-<version>-runtime-only-[<target>-]<key>
# in a cargo target directory of its own (its conf.h differs).
set -euo pipefail
target_triple=${1:-}
runtime_only=${PYHOST_RUNTIME_ONLY:-}
[[ "$runtime_only" == 1 ]] || runtime_only=
root=$(cd "$(dirname "$0")/.." && pwd)
crate="$root/wasmtime"
cache=${PYHOST_CACHE:-$HOME/.cache/pyhost}
version=$(sed -n 's/^version = "=\(.*\)"/\1/p' "$crate/Cargo.toml")
key=$( (cat "$crate/Cargo.toml" "$crate/Cargo.lock" "$crate"/*.rs "$crate"/*.h; rustc --version
        [[ -z "$target_triple" ]] || echo "target $target_triple"
        [[ -z "$runtime_only" ]] || echo "runtime-only") \
       | sha256sum | cut -c1-12)
out="$cache/wasmtime-$version-${runtime_only:+runtime-only-}${target_triple:+$target_triple-}$key"
cargo_target=()
[[ -z "$runtime_only" ]] || cargo_target=(--no-default-features)
release=release
if [[ -n "$target_triple" ]]; then
  # aarch64-unknown-linux-gnu -> aarch64-linux-gnu-gcc (Debian's cross gcc)
  arch=${target_triple%%-*}
  cross_cc="$arch-linux-gnu-gcc"
  triple_var=$(echo "$target_triple" | tr 'a-z-' 'A-Z_')
  export "CC_${target_triple//-/_}=$cross_cc" "AR_${target_triple//-/_}=$arch-linux-gnu-ar"
  export "CARGO_TARGET_${triple_var}_LINKER=$cross_cc"
  cargo_target+=(--target "$target_triple")
  release="$target_triple/release"
fi

if [[ ! -f "$out/.complete" ]]; then
  echo "build-wasmtime: building wasmtime-c-api-impl $version into $out" >&2
  target="$cache/cargo-target${runtime_only:+-runtime-only}"
  start=$(date +%s)
  mkdir -p "$target"
  cargo build --release --locked --manifest-path "$crate/Cargo.toml" \
    --target-dir "$target" ${cargo_target[@]+"${cargo_target[@]}"} \
    --message-format=json-render-diagnostics > "$target/messages.json"
  # The crate's build script installs the headers (and the generated
  # wasmtime/conf.h, which depends on the features) under its OUT_DIR: the
  # one of this build, as cargo reports it (the target directory may hold
  # others, of other feature sets).
  include=$(python3 - "$target/messages.json" <<'PY'
import json, sys
found = ""
for line in open(sys.argv[1]):
    message = json.loads(line)
    if (message.get("reason") == "build-script-executed"
            and "wasmtime-c-api-impl" in message.get("package_id", "")):
        found = message["out_dir"] + "/include"
print(found)
PY
)
  [[ -d "$include" ]] || { echo "build-wasmtime: no headers found in cargo's report" >&2; exit 1; }
  rm -rf "$out.tmp"
  mkdir -p "$out.tmp/lib"
  cp -r "$include" "$out.tmp/include"
  cp "$crate"/*.h "$out.tmp/include/"  # pyhost's own C API extensions
  cp "$target/$release/libpyhost_wasmtime.a" "$out.tmp/lib/"
  echo "built in $(( $(date +%s) - start )) s on $(nproc) cores, $(date -u +%F)" > "$out.tmp/BUILD-TIME"
  touch "$out.tmp/.complete"
  rm -rf "$out"
  mv "$out.tmp" "$out"
fi
echo "$out"
