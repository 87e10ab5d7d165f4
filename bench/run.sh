#!/bin/sh
# Build a release tree (build-bench) if needed and run the three benchmarks, printing
# their tables. Each figure is printed next to a baseline measured in the same run.
#
#   bench/run.sh                 # all three, defaults (about a minute and a half in all)
#   bench/run.sh sign --seconds 1 --threads 2,8
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
ninja -C "$build" -j2 src/service/turtled bench/bench_sign bench/bench_ping bench/bench_mem >/dev/null

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
fi
