#!/usr/bin/env bash
# The README's main command: Turtle whole, in about a minute once built.
#
#   1. installs the Debian packages it needs (scripts/deps.sh --demo) and builds;
#   2. the key service: turtled on the embedded default (software provider + SQLite),
#      keys created and used, a signature and a CSR checked by OpenSSL;
#   3. attestation: swtpm as the node's TPM, turtled quoting it, turtle-as beside it;
#      the node registered with one command and attested with one command, the EAR token
#      verified offline against turtle-as's JWKS, a secret released over the KBS protocol;
#      then a PCR changed: the next attestation is refused with its reason, and so is
#      the secret.
#
# Where the checkout may be private (/root is 0700, a mktemp -d folder, a home directory),
# the built programs are installed (meson install --destdir) into a fresh directory under
# /var/tmp that the service user can read, and run from there. As root, every service and
# client runs as `nobody` (TURTLE_DEMO_USER overrides); as an ordinary user, as that user.
# Every process the demo starts is stopped by its PID when it exits, however it exits.
# Any failure says what failed and shows the end of the log that explains it.
set -uo pipefail
cd "$(dirname "$0")/.."
top=$PWD
t_start=$(date +%s)

pids=()
stage=""
fail() {
	# fail WHAT [LOG...]: what failed, the tail of each log given, exit 1
	local what=$1 f
	shift
	printf '\ndemo: FAILED: %s\n' "$what" >&2
	for f in "$@"; do
		[ -s "$f" ] || continue
		printf -- '--- last lines of %s\n' "$f" >&2
		tail -n 30 "$f" >&2
	done
	exit 1
}
cleanup() {
	local rc=$? i
	trap - EXIT INT TERM
	for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
		kill -TERM "${pids[$i]}" 2>/dev/null
	done
	for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
		wait "${pids[$i]}" 2>/dev/null
	done
	[ -n "$stage" ] && rm -rf "$stage"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

section() { printf '\n== %s\n' "$*"; }

# ---- install and build ----

section "install what is missing, build"
scripts/deps.sh --demo || fail "installing the Debian packages (scripts/deps.sh --demo)"
mkdir -p build
if [ ! -f build/build.ninja ]; then
	meson setup build >build/setup.log 2>&1 || fail "meson setup build" build/setup.log \
		build/meson-logs/meson-log.txt
fi
ninja -C build >build/ninja.log 2>&1 || fail "ninja -C build" build/ninja.log
echo "built in $top/build"

# The service user and a directory it can reach, whatever the checkout's permissions.
me=$(id -un)
if [ "$(id -u)" -eq 0 ]; then
	svc=${TURTLE_DEMO_USER:-nobody}
	id "$svc" >/dev/null 2>&1 || fail "the service user '$svc' does not exist"
else
	svc=$me
fi
svc_uid=$(id -u "$svc")
svc_gid=$(id -g "$svc")
stage=$(mktemp -d /var/tmp/turtle-demo.XXXXXX) || fail "mktemp -d /var/tmp/turtle-demo.XXXXXX"
chmod 0755 "$stage"
meson install -C build --destdir "$stage/install" --no-rebuild >"$stage/install.log" 2>&1 ||
	fail "meson install --destdir $stage/install" "$stage/install.log"
installed() { find "$stage/install" -path "*bin/$1" -type f | head -n 1; }
turtled=$(installed turtled)
turtle_as=$(installed turtle-as)
turtle=$(installed turtle)
libdir=$(dirname "$(find "$stage/install" -name libturtle.so.0 | head -n 1)")
[ -x "$turtled" ] && [ -x "$turtle_as" ] && [ -x "$turtle" ] ||
	fail "meson install did not install turtled, turtle-as and turtle" "$stage/install.log"
chmod -R go+rX "$stage/install"
mkdir -p "$stage/run" "$stage/data" "$stage/as" "$stage/home" "$stage/work" "$stage/log"
chmod 0700 "$stage/as"
[ "$(id -u)" -eq 0 ] && chown "$svc_uid:$svc_gid" "$stage/run" "$stage/data" "$stage/as" "$stage/home" \
	"$stage/work" "$stage/log"
echo "installed into $stage/install; services run as $svc"

# Become a program run as the service user (exec all the way down: started with `&`,
# $! is the program's own PID, which is what the demo stops it by).
svc_exec() {
	if [ "$(id -u)" -eq 0 ]; then
		exec setpriv --reuid="$svc_uid" --regid="$svc_gid" --clear-groups -- \
			env HOME="$stage/home" LD_LIBRARY_PATH="$libdir" "$@"
	fi
	exec env HOME="$stage/home" LD_LIBRARY_PATH="$libdir" "$@"
}
as_svc() { (svc_exec "$@"); }
sock=$stage/run/turtled.sock
t() {
	echo "\$ turtle $*"
	(cd "$stage/work" && as_svc "$turtle" --socket "$sock" "$@")
}
show() { echo "\$ $*"; (cd "$stage/work" && as_svc "$@"); }
wait_for() {
	# wait_for WHAT LOG PID TEST...: up to 10 s for TEST to succeed while PID runs
	local what=$1 log=$2 pid=$3 i
	shift 3
	for i in $(seq 200); do
		"$@" 2>/dev/null && return 0
		kill -0 "$pid" 2>/dev/null || fail "$what exited at start" "$log"
		sleep 0.05
	done
	fail "$what did not become ready in 10 s" "$log"
}
start_turtled() {
	# start_turtled LOG [ARGS...]
	local log=$1
	shift
	svc_exec "$turtled" --foreground --socket "$sock" --data-dir "$stage/data" "$@" \
		>"$log" 2>&1 &
	turtled_pid=$!
	pids+=("$turtled_pid")
	wait_for turtled "$log" "$turtled_pid" test -S "$sock"
	echo "turtled (pid $turtled_pid) listening on $sock"
}
stop_pid() {
	kill -TERM "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	return 0
}
t_demo=$(date +%s)

# ---- the key service ----

section "1. turtled on the embedded default: software provider, SQLite key store"
start_turtled "$stage/log/turtled.log"
cd "$stage/work" || fail "cd $stage/work"
t ping || fail "turtle ping" "$stage/log/turtled.log"
t list-providers || fail "turtle list-providers" "$stage/log/turtled.log"
t create-ecc-key demo-ecc --curve p256 || fail "turtle create-ecc-key" "$stage/log/turtled.log"
t list-keys || fail "turtle list-keys"
echo "hello from turtle" >msg.txt
t sign demo-ecc --in msg.txt --out msg.sig || fail "turtle sign" "$stage/log/turtled.log"
t export-public-key demo-ecc --out demo-ecc.pub.pem || fail "turtle export-public-key"
echo "\$ openssl dgst -sha256 -verify demo-ecc.pub.pem -signature msg.sig msg.txt"
openssl dgst -sha256 -verify demo-ecc.pub.pem -signature msg.sig msg.txt ||
	fail "OpenSSL did not verify turtled's signature"
t create-csr demo-ecc --subject "/CN=demo.turtle.local" --out demo.csr || fail "turtle create-csr"
echo "\$ openssl req -verify -noout -subject -in demo.csr"
openssl req -verify -noout -subject -in demo.csr || fail "OpenSSL did not verify the CSR"
t delete-key demo-ecc || fail "turtle delete-key"
stop_pid "$turtled_pid"

# ---- attestation ----

section "2. attestation: swtpm as the node's TPM, turtle-as beside it"
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
pick_ports() {
	# three free TCP ports in a row on 127.0.0.1 (swtpm's two and turtle-as's) into $base
	local p
	base=""
	for _ in $(seq 50); do
		p=$((20000 + RANDOM % 40000))
		if port_free "$p" && port_free $((p + 1)) && port_free $((p + 2)); then
			base=$p
			return 0
		fi
	done
	fail "no three free TCP ports on 127.0.0.1"
}
start_listener() {
	# start_listener WHAT LOG PORT CMD...: start CMD in the background as the service
	# user; ready when PORT answers while CMD still runs. Returns 1 (for another port)
	# when another process took PORT between the probe and the bind; fails otherwise.
	local what=$1 log=$2 port=$3
	shift 3
	svc_exec "$@" >"$log" 2>&1 &
	listener_pid=$!
	for _ in $(seq 200); do
		if ! kill -0 "$listener_pid" 2>/dev/null; then
			wait "$listener_pid" 2>/dev/null
			grep -qi "address already in use" "$log" && return 1
			fail "$what exited at start" "$log"
		fi
		if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			sleep 0.2   # a process that lost the bind exits at once
			kill -0 "$listener_pid" 2>/dev/null && { pids+=("$listener_pid"); return 0; }
			continue
		fi
		sleep 0.05
	done
	fail "$what did not become ready in 10 s" "$log"
}
pick_ports
tpm_port=$base
as_port=$((base + 2))
tcti="swtpm:host=127.0.0.1,port=$tpm_port"
as_url="http://127.0.0.1:$as_port"
export TPM2TOOLS_TCTI=$tcti

# A manufactured TPM: EK made by swtpm_setup, SHA-256 PCR bank.
mkdir -p "$stage/tpm"
[ "$(id -u)" -eq 0 ] && chown "$svc_uid:$svc_gid" "$stage/tpm"
echo "active_pcr_banks = sha256" >"$stage/swtpm_setup.conf"
as_svc swtpm_setup --tpm2 --tpmstate "$stage/tpm" --createek --overwrite \
	--config "$stage/swtpm_setup.conf" --logfile "$stage/log/swtpm_setup.log" \
	>"$stage/log/swtpm_setup.out" 2>&1 ||
	fail "swtpm_setup" "$stage/log/swtpm_setup.out" "$stage/log/swtpm_setup.log"
# Other processes on this machine (tests, another demo) may take a port between the probe
# and the bind: then it is tried again on other ports.
for try in 1 2 3 4 5; do
	start_listener swtpm "$stage/log/swtpm.log" "$tpm_port" swtpm socket --tpm2 \
		--tpmstate "dir=$stage/tpm" \
		--server "type=tcp,port=$tpm_port,bindaddr=127.0.0.1" \
		--ctrl "type=tcp,port=$((tpm_port + 1)),bindaddr=127.0.0.1" \
		--flags not-need-init,startup-clear && break
	[ "$try" -lt 5 ] || fail "swtpm: its ports were taken five times" "$stage/log/swtpm.log"
	pick_ports
	tpm_port=$base
	as_port=$((base + 2))
done
swtpm_pid=$listener_pid
tcti="swtpm:host=127.0.0.1,port=$tpm_port"
as_url="http://127.0.0.1:$as_port"
export TPM2TOOLS_TCTI=$tcti
echo "swtpm (pid $swtpm_pid) on 127.0.0.1:$tpm_port"

# turtled with the TPM as its first provider; the demo user is its admin (registration
# reads the EK and activates the AK). No event log or IMA log: swtpm's PCRs match
# neither of this machine's logs, and turtle-as refuses a log that does not replay.
cat >"$stage/turtled.conf" <<EOF
[authenticator]
admins = unix:$svc_uid

[provider.tpm]
tcti = $tcti
quote_pcrs = sha256:0-10
event_log = /nonexistent/turtle-demo/event_log
ima_log = /nonexistent/turtle-demo/ima_log

[provider.soft]
EOF
chmod 0644 "$stage/turtled.conf"
start_turtled "$stage/log/turtled-tpm.log" --config "$stage/turtled.conf"

head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$stage/as-admin-token"
chmod 0600 "$stage/as-admin-token"
[ "$(id -u)" -eq 0 ] && chown "$svc_uid:$svc_gid" "$stage/as-admin-token"
for try in 1 2 3 4 5; do
	start_listener turtle-as "$stage/log/turtle-as.log" "$as_port" "$turtle_as" \
		--listen "127.0.0.1:$as_port" --data-dir "$stage/as" \
		--admin-token-file "$stage/as-admin-token" && break
	[ "$try" -lt 5 ] || fail "turtle-as: its port was taken five times" \
		"$stage/log/turtle-as.log"
	pick_ports
	as_port=$base
	as_url="http://127.0.0.1:$as_port"
done
as_pid=$listener_pid
wait_for turtle-as "$stage/log/turtle-as.log" "$as_pid" \
	curl -fsS -o "$stage/work/jwks.json" "$as_url/.well-known/jwks.json"
echo "turtle-as (pid $as_pid) on $as_url"
chmod 0644 "$stage/work/jwks.json"
admin=(--as "$as_url" --admin-token-file "$stage/as-admin-token")
logs=("$stage/log/turtled-tpm.log" "$stage/log/turtle-as.log" "$stage/log/swtpm.log")

section "3. register the node (EK and AK from the TPM, AK activated) with one command"
t as node register --node demo-node --group demo "${admin[@]}" || fail "node register" "${logs[@]}"

# Reference values: the PCRs turtled quotes (sha256:0-10), read from the TPM itself.
echo "\$ tpm2_pcrread sha256:0,1,...,10  -> reference values for group demo"
pcrs=$(tpm2_pcrread sha256:0,1,2,3,4,5,6,7,8,9,10 2>"$stage/log/tpm2.log") ||
	fail "tpm2_pcrread" "$stage/log/tpm2.log"
refvals=$(printf '%s\n' "$pcrs" | sed -n 's/^ *\([0-9]*\) *: *0x\([0-9A-Fa-f]*\)$/\1 \2/p' |
	while read -r i v; do
		printf '{"name":"pcr.sha256.%s","value":"%s","scope":"group:demo"},' "$i" \
			"$(echo "$v" | tr 'A-F' 'a-f')"
	done)
[ "$(printf '%s' "$refvals" | grep -o '"name"' | wc -l)" -eq 11 ] ||
	fail "tpm2_pcrread did not give PCRs 0-10: $pcrs"
printf '{"reference_values":[%s]}\n' "${refvals%,}" >"$stage/work/refvals.json"
chmod 0644 "$stage/work/refvals.json"
t as refvals import refvals.json "${admin[@]}" || fail "refvals import" "${logs[@]}"

echo "a database password only a trusted node may see" >"$stage/work/secret.txt"
chmod 0644 "$stage/work/secret.txt"
t as resource put default/demo/db-password secret.txt "${admin[@]}" ||
	fail "resource put" "${logs[@]}"

section "4. attest: TPM quote through turtled, appraised by turtle-as, EAR token"
t attest --as "$as_url" --node demo-node --out token.jwt || fail "turtle attest" "${logs[@]}"
echo "\$ curl $as_url/.well-known/jwks.json > jwks.json   (done above)"
t token verify --jwks jwks.json --in token.jwt >"$stage/work/verify.txt" 2>&1 ||
	fail "the token did not verify offline" "$stage/work/verify.txt"
sed -n '2p' "$stage/work/verify.txt"
grep -E '"(ear.status|turtle.node-id|ear.appraisal-policy-id)"' "$stage/work/verify.txt"
grep -q '"ear.status": *"affirming"' "$stage/work/verify.txt" ||
	fail "the node is not affirming" "$stage/work/verify.txt" "${logs[@]}"

section "5. a secret, released over the KBS protocol to the affirming node"
t get-resource --as "$as_url" default/demo/db-password || fail "get-resource" "${logs[@]}"

section "6. a PCR changes (an unexpected boot component): refused, with the reason"
echo "\$ tpm2_pcrextend 7:sha256=\$(echo 'unexpected bootloader' | sha256sum)"
tpm2_pcrextend "7:sha256=$(echo 'unexpected bootloader' | sha256sum | cut -d' ' -f1)" \
	2>"$stage/log/tpm2.log" || fail "tpm2_pcrextend" "$stage/log/tpm2.log"
t attest --as "$as_url" --node demo-node --out token2.jwt || fail "turtle attest" "${logs[@]}"
t token verify --jwks jwks.json --in token2.jwt >"$stage/work/verify2.txt" 2>&1 ||
	fail "the second token did not verify" "$stage/work/verify2.txt"
grep -E '"ear.status"' "$stage/work/verify2.txt"
grep -A3 '"turtle.reasons"' "$stage/work/verify2.txt"
grep -q '"ear.status": *"contraindicated"' "$stage/work/verify2.txt" &&
	grep -q 'pcr.sha256.7' "$stage/work/verify2.txt" ||
	fail "a changed PCR 7 was not refused by name" "$stage/work/verify2.txt"
if t get-resource --as "$as_url" default/demo/db-password; then
	fail "the secret was released to a node that is not affirming"
fi
echo "(refused, as it must be)"

section "done"
echo "the demo took $(( $(date +%s) - t_demo )) s after the build ($(( $(date +%s) - t_start )) s in all);"
echo "turtle-as, turtled and swtpm stop now (by PID: $as_pid $turtled_pid $swtpm_pid)"
