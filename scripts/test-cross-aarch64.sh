#!/usr/bin/env bash
# Runs the aarch64 build (build/aarch64, from `make cross-aarch64`) under
# qemu-user on this machine: the cmocka unit tests through ctest (the
# toolchain file names qemu-aarch64 as the emulator), then `pyhost check`
# and `pyhost call` of the example plugin, whose Python runs as aarch64 code
# that Cranelift compiled under emulation. The arm64 libraries are found at
# their Debian multiarch paths (libc6:arm64 and the -dev packages), so
# qemu-aarch64 needs no -L. The compiled-code cache is build/aarch64/cache:
# the first call compiles (about a minute emulated), later ones reuse it.
set -euo pipefail
cd "$(dirname "$0")/.."
build=build/aarch64
plugin=build/plugins/sensor-logic.wasm

(cd "$build" && ctest --output-on-failure)

echo "test-cross-aarch64: qemu-aarch64 $build/pyhost check $plugin"
qemu-aarch64 "$build/pyhost" check "$plugin"

echo "test-cross-aarch64: qemu-aarch64 $build/pyhost call --polls 3 $plugin"
mkdir -p "$build/cache"
output=$(XDG_CACHE_HOME="$PWD/$build/cache" qemu-aarch64 "$build/pyhost" call --polls 3 "$plugin")
echo "$output"
polls=$(grep -c '"sensor":"greenhouse"' <<< "$output" || true)
if [[ "$polls" -ne 3 ]]; then
  echo "test-cross-aarch64: expected 3 polls with readings, got $polls" >&2
  exit 1
fi
echo "test-cross-aarch64: ok (unit tests and 3 polls of the example plugin under qemu-aarch64)"
