#!/usr/bin/env bash
# Install the Debian 12 packages Turtle builds, runs and tests with. Idempotent: installs
# only what is missing. Needs root (or sudo) when something is missing.
#
#   scripts/deps.sh          what the build needs
#   scripts/deps.sh --demo   and what scripts/demo.sh runs (swtpm, tpm2-tools, curl)
#   scripts/deps.sh --test   and what the tests and CI need (everything)
#
# A failure prints the end of apt-get's output and exits non-zero.
set -euo pipefail

build_pkgs=(meson ninja-build pkg-config gcc libc6-dev
	libssl-dev openssl libsqlite3-dev sqlite3 libprotobuf-c-dev protobuf-c-compiler
	libinih-dev libtss2-dev libp11-kit-dev libjose-dev libjansson-dev libmicrohttpd-dev
	libcurl4-openssl-dev libcbor-dev)
demo_pkgs=(swtpm swtpm-tools tpm2-tools curl ca-certificates)
test_pkgs=(libcmocka-dev libyaml-dev clang libclang-rt-14-dev python3 python3-pytest python3-protobuf python3-cryptography
	protobuf-compiler util-linux swtpm swtpm-tools softhsm2 p11-kit tpm2-tools opensc
	man-db groff-base debootstrap curl ca-certificates python3-fusepy fuse3 libfuse2)

want=("${build_pkgs[@]}")
case "${1:-}" in
--demo) want+=("${demo_pkgs[@]}") ;;
--test) want+=("${demo_pkgs[@]}" "${test_pkgs[@]}") ;;
"") ;;
*) echo "usage: scripts/deps.sh [--demo|--test]" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null || {
		echo "deps: missing packages and no sudo; as root run: apt-get install ${missing[*]}" >&2
		exit 1
	}
	SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
log=$(mktemp /tmp/turtle-deps.XXXXXX)
if ! { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends \
	"${missing[@]}"; } >"$log" 2>&1; then
	echo "deps: apt-get failed installing: ${missing[*]}" >&2
	tail -n 30 "$log" >&2
	rm -f "$log"
	exit 1
fi
rm -f "$log"
