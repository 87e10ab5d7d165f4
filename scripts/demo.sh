#!/usr/bin/env bash
# The README's main command: install what is missing, build, start turtled on the
# embedded default (software provider + SQLite key store) and run a short CLI session
# against it: keys are created, used, checked with OpenSSL and deleted.
#
# turtled runs as an unprivileged user: as root, the demo runs it as `nobody`.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD

scripts/deps.sh
if [ ! -f build/build.ninja ]; then
	meson setup build >/dev/null
fi
ninja -C build >/dev/null

work=$(mktemp -d /tmp/turtle-demo.XXXXXX)
sock="$work/run/turtled.sock"
data="$work/data"
mkdir -p "$work/run" "$data"
run_as=()
if [ "$(id -u)" -eq 0 ]; then
	chown -R nobody:nogroup "$work"
	chmod 0755 "$work"
	run_as=(runuser -u nobody --)
fi

"${run_as[@]}" "$top/build/src/service/turtled" --foreground --socket "$sock" --data-dir "$data" \
	2>"$work/turtled.log" &
pid=$!
cleanup() {
	kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.05; done
[ -S "$sock" ] || { cat "$work/turtled.log"; exit 1; }

export TURTLE_SOCKET="$sock"
t() { echo "\$ turtle $*"; "${run_as[@]}" env TURTLE_SOCKET="$sock" "$top/build/src/cli/turtle" "$@"; }
cd "$work"
echo "turtled (pid $pid) listening on $sock"
t ping
t list-providers
t list-authenticators
t create-ecc-key demo-ecc --curve p256
t list-keys
echo "hello from turtle" >"$work/msg.txt"
t sign demo-ecc --in "$work/msg.txt" --out "$work/msg.sig"
t export-public-key demo-ecc --out "$work/demo-ecc.pub.pem"
echo "\$ openssl dgst -sha256 -verify demo-ecc.pub.pem -signature msg.sig msg.txt"
openssl dgst -sha256 -verify "$work/demo-ecc.pub.pem" -signature "$work/msg.sig" "$work/msg.txt"
t create-csr demo-ecc --subject "/CN=demo.turtle.local" --out "$work/demo.csr"
echo "\$ openssl req -verify -noout -in demo.csr"
openssl req -verify -noout -in "$work/demo.csr"
t generate-random --bytes 16 --hex
t delete-key demo-ecc
t list-keys
echo "demo finished; turtled stops now"
