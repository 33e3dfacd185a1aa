#!/usr/bin/env bash
# Prepares the 32-bit (i386, gcc -m32) build of the Wasmtime-free modules
# and their unit tests: gcc-multilib from Debian, and the i386 builds of the
# libraries they link, unpacked into a private sysroot that
# cmake/i386-linux-gnu.cmake points at. Prints that sysroot's path.
#
# Why a sysroot and not `dpkg --add-architecture i386`: multiarch installs
# need each i386 library at exactly the version of its amd64 twin, and a
# machine whose amd64 packages came from a newer (or older) security update
# than the mirror's i386 index cannot have both; adding i386 to dpkg also
# makes every later `apt-get update` fail where the i386 index is missing.
# Here apt reads i386 indexes into its own state directory (the machine's
# sources, nothing added to dpkg), `apt-get download`s the .debs and
# `dpkg-deb -x` unpacks them; nothing is installed but gcc-multilib.
#
# The sysroot is cached outside the clone under
#   ~/.cache/pyhost/i386-sysroot-<key>   (key: this package list)
# so a second run does nothing and needs no network. Idempotent.
set -euo pipefail

cache=${PYHOST_CACHE:-$HOME/.cache/pyhost}
# The -dev packages and the shared libraries they (and libmosquitto) link.
libraries=(
  libjansson-dev libjansson4 libinih-dev libinih1 libcmocka-dev libcmocka0
  libsqlite3-dev libsqlite3-0 libmosquitto-dev libmosquitto1
  libgpiod-dev libgpiod2 libssl-dev libssl3
)

status=$(dpkg-query -W -f='${Status}' gcc-multilib 2>/dev/null || true)
if [[ "$status" != "install ok installed" ]]; then
  echo "setup-m32: installing gcc-multilib" >&2
  sudo_cmd=()
  [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq \
    --no-install-recommends gcc-multilib >&2
fi

key=$(printf '%s\n' "${libraries[@]}" | sha256sum | cut -c1-12)
sysroot="$cache/i386-sysroot-$key"
if [[ -d $sysroot ]]; then
  echo "$sysroot"
  exit 0
fi

echo "setup-m32: unpacking the i386 libraries into $sysroot" >&2
mkdir -p "$cache"
work=$(mktemp -d "$cache/i386-sysroot.XXXXXX")
trap 'rm -rf "$work"' EXIT
# apt's own state for i386 only: the machine's lists and dpkg are untouched.
mkdir -p "$work/lists/partial" "$work/apt-cache/archives/partial" "$work/debs" "$work/root"
apt_options=(
  -o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/apt-cache"
  -o "APT::Sandbox::User=$(id -un)"  # private files: no _apt download user
  -o "Dir::State::status=/dev/null" -o APT::Architecture=i386 -o APT::Architectures::=i386
)
# A mirror may lack one suite's i386 index (apt then fails as a whole);
# what matters is that every library below has a candidate, checked next.
apt-get "${apt_options[@]}" update -qq >&2 || \
  echo "setup-m32: some i386 indexes did not download; using the others" >&2
for p in "${libraries[@]}"; do
  candidate=$(apt-cache "${apt_options[@]}" policy "$p" | awk '/Candidate:/ {print $2}')
  if [[ -z $candidate || $candidate == "(none)" ]]; then
    echo "setup-m32: no i386 package $p in the machine's apt sources" >&2
    exit 1
  fi
done
(cd "$work/debs" && apt-get "${apt_options[@]}" download -qq "${libraries[@]}" >&2)
for deb in "$work"/debs/*.deb; do
  dpkg-deb -x "$deb" "$work/root"
done
# Another run may have finished first: keep its sysroot, drop ours.
mv -T "$work/root" "$sysroot" 2>/dev/null || [[ -d $sysroot ]]
echo "$sysroot"
