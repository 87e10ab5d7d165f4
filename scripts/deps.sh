#!/usr/bin/env bash
# Install the Debian 12 packages Turtle builds, runs and tests with. Idempotent: installs
# only what is missing. Needs root (or sudo) when something is missing.
set -euo pipefail

build_pkgs=(meson ninja-build pkg-config gcc libc6-dev
	libssl-dev openssl libsqlite3-dev sqlite3 libprotobuf-c-dev protobuf-c-compiler
	libinih-dev libtss2-dev libp11-kit-dev libjose-dev libjansson-dev libmicrohttpd-dev
	libcurl4-openssl-dev libcbor-dev)
test_pkgs=(libcmocka-dev libyaml-dev clang libclang-rt-14-dev python3 python3-pytest python3-protobuf python3-cryptography
	protobuf-compiler util-linux swtpm swtpm-tools softhsm2 p11-kit tpm2-tools opensc)

want=("${build_pkgs[@]}")
if [ "${1:-}" = "--test" ]; then
	want+=("${test_pkgs[@]}")
fi

missing=()
for p in "${want[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
