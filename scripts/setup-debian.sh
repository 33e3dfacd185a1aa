#!/usr/bin/env bash
# Installs the Debian packages pyhost needs, only those that are missing, so
# a second run does nothing and needs no network. Idempotent.
set -euo pipefail

packages=(
  build-essential cmake pkg-config python3-venv clang-format strace
  libjansson-dev libinih-dev libcmocka-dev libssl-dev
  libmicrohttpd-dev libsqlite3-dev libmosquitto-dev mosquitto libgpiod-dev
  wrk chromium nodejs
  openssl util-linux  # the MQTT TLS test makes certificates; history tests use unshare
  zstd                # scripts/python-stdlib.py unpacks the runtime's standard library
)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "setup-debian: installing ${missing[*]}"
sudo_cmd=()
[[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
"${sudo_cmd[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq \
  --no-install-recommends "${missing[@]}"
