#!/usr/bin/env bash
# Runs the aarch64 build (build/aarch64, from `make cross-aarch64`) under
# qemu-user on this machine: the cmocka unit tests through ctest (the
# toolchain file names qemu-aarch64 as the emulator), then `pyhost check`
# and `pyhost call` of the example plugin, whose Python runs as aarch64 code
# that Cranelift compiled under emulation. The arm64 libraries are found at
# their Debian multiarch paths (libc6:arm64 and the -dev packages), so
# qemu-aarch64 needs no -L. The compiled-code cache is build/aarch64/cache:
# the first call compiles (about a minute emulated), later ones reuse it.
# Last, the service's end-to-end tests (tests/e2e/test_service.py, but the
# `make install` one) against the aarch64 binary: they run from a copy of
# tests/e2e in build/aarch64/e2e whose build/pyhost is a qemu-aarch64
# wrapper (conftest.py finds the binary relative to its own directory), with
# a compiled-code cache of their own.
set -euo pipefail
cd "$(dirname "$0")/.."
build=build/aarch64
plugin=build/plugins/sensor-logic.wasm

(cd "$build" && ctest --output-on-failure)

# One compiled-code cache for check and call, apart from the native one's.
mkdir -p "$build/cache"
export XDG_CACHE_HOME="$PWD/$build/cache"

echo "test-cross-aarch64: qemu-aarch64 $build/pyhost check $plugin"
qemu-aarch64 "$build/pyhost" check "$plugin"

echo "test-cross-aarch64: qemu-aarch64 $build/pyhost call --polls 3 $plugin"
output=$(qemu-aarch64 "$build/pyhost" call --polls 3 "$plugin")
echo "$output"
polls=$(grep -c '"sensor":"greenhouse"' <<< "$output" || true)
if [[ "$polls" -ne 3 ]]; then
  echo "test-cross-aarch64: expected 3 polls with readings, got $polls" >&2
  exit 1
fi

e2e="$build/e2e"
rm -rf "$e2e/tests"
mkdir -p "$e2e/tests" "$e2e/build/test-cache"
cp -r tests/e2e "$e2e/tests/"
ln -sfn "$PWD/build/plugins" "$e2e/build/plugins"
ln -sfn "$PWD/build/test-plugins" "$e2e/build/test-plugins"
printf '#!/bin/sh\nexec qemu-aarch64 %s "$@"\n' "$PWD/$build/pyhost" > "$e2e/build/pyhost"
chmod +x "$e2e/build/pyhost"
# Compile the plugins these tests use once, before their timeouts run.
printf '[host]\ncache_dir = %s\nlog_level = error\n' "$PWD/$e2e/build/test-cache" > "$e2e/warm.ini"
for p in build/test-plugins/counter.wasm "$plugin"; do
  "$e2e/build/pyhost" call --config "$e2e/warm.ini" "$p" > /dev/null
done
echo "test-cross-aarch64: tests/e2e/test_service.py under qemu-aarch64"
venv=$(cat build/.venv-dir)
(cd "$e2e" && "$venv/bin/python" -m pytest -q tests/e2e/test_service.py \
   -k "not make_install")
echo "test-cross-aarch64: ok (unit tests, 3 polls of the example plugin and the service tests under qemu-aarch64)"
