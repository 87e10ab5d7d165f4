#!/bin/sh
# Build a release tree (build-bench) if needed and run the benchmarks, printing
# their tables. Each figure is printed next to a baseline measured in the same run.
#
#   bench/run.sh                 # ping, mem, sign, then p11 and tpm where built (about 3 min)
#   bench/run.sh sign --seconds 1 --threads 2,8
#   bench/run.sh p11                # pkcs11 provider vs SoftHSM2 in-process / p11-kit remoting
#   bench/run.sh tpm                # tpm provider vs raw Esys_Sign on one swtpm
#   bench/run.sh as                 # turtle-as TPM attestations/s vs the raw verification work
#   bench/run.sh dcap               # Intel DCAP (TDX) verifications/s vs the raw ECDSA chain
#   bench/run.sh tee                # SEV-SNP and Arm CCA verifications/s vs the raw signatures
#   bench/run.sh rego               # Rego engine appraisals/s vs the default engine
#   BENCH_BUILD=build-foo bench/run.sh ping
#
# Any arguments after the bench name are passed to that bench.
set -eu

here=$(cd "$(dirname "$0")/.." && pwd)
build=${BENCH_BUILD:-"$here/build-bench"}
case $build in /*) ;; *) build="$here/$build" ;; esac

if [ ! -f "$build/build.ninja" ]; then
	meson setup "$build" "$here" -Dbuildtype=release
fi
ninja -C "$build" -j2 src/service/turtled bench/bench_sign bench/bench_ping bench/bench_mem bench/bench_dcap bench/bench_tee bench/bench_rego >/dev/null
# hardware-provider benches: built only where p11-kit / tss2 were found (bench/meson.build)
for hw in bench_p11 bench_tpm bench_as; do
	if ninja -C "$build" -t targets all 2>/dev/null | grep -q "^bench/$hw:"; then
		ninja -C "$build" -j2 "bench/$hw" >/dev/null
	fi
done
# bench_as starts the turtle-as of this tree ($TURTLE_AS overrides)
if [ -f "$build/bench/bench_as" ] || ninja -C "$build" -t targets all 2>/dev/null | grep -q "^bench/bench_as:"; then
	ninja -C "$build" -j2 src/as/turtle-as >/dev/null
fi

export TURTLED="${TURTLED:-$build/src/service/turtled}"

run() {
	name=$1
	shift
	echo "== bench_$name $* =="
	"$build/bench/bench_$name" "$@"
	echo
}

if [ $# -gt 0 ]; then
	which=$1
	shift
	run "$which" "$@"
else
	run ping
	run mem
	run sign
	run dcap
	run tee
	run rego
	# SoftHSM2 + p11-kit server, and swtpm: each bench sets up and stops its own
	if [ -x "$build/bench/bench_p11" ]; then run p11; fi
	if [ -x "$build/bench/bench_tpm" ]; then run tpm; fi
	# turtle-as: starts its own daemon on a free port with a temporary data dir
	if [ -x "$build/bench/bench_as" ]; then run as; fi
fi
