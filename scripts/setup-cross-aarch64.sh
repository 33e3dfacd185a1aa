#!/usr/bin/env bash
# Prepares this Debian machine to cross-compile pyhost for aarch64
# (Raspberry Pi OS 64-bit): the cross gcc, qemu-user to run the results,
# the arm64 -dev packages through Debian multiarch, and Rust's aarch64
# target for the Wasmtime library. Only what is missing is installed, so a
# second run does nothing and needs no network. Idempotent. Heavy: used by
# `make cross-aarch64` only, never by `make test`.
set -euo pipefail

packages=(
  gcc-aarch64-linux-gnu qemu-user
  libjansson-dev:arm64 libinih-dev:arm64 libssl-dev:arm64 libsqlite3-dev:arm64
  libmosquitto-dev:arm64 libmicrohttpd-dev:arm64 libgpiod-dev:arm64 libcmocka-dev:arm64
)

sudo_cmd=()
[[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)

if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  echo "setup-cross-aarch64: adding the arm64 architecture to dpkg" >&2
  "${sudo_cmd[@]}" dpkg --add-architecture arm64
  "${sudo_cmd[@]}" apt-get update -qq
fi

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done
if [[ ${#missing[@]} -gt 0 ]]; then
  echo "setup-cross-aarch64: installing ${missing[*]}" >&2
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq \
    --no-install-recommends "${missing[@]}" >&2
fi

if ! rustup target list --installed | grep -qx aarch64-unknown-linux-gnu; then
  echo "setup-cross-aarch64: rustup target add aarch64-unknown-linux-gnu" >&2
  rustup target add aarch64-unknown-linux-gnu >&2
fi
