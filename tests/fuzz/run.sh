#!/usr/bin/env bash
# Run every libFuzzer target of a fuzz build for a bounded time.
#
#   tests/fuzz/run.sh BUILD_DIR SECONDS [NAME_GLOB]
#
# Each target starts from a scratch copy of its working corpus (BUILD_DIR/fuzz-corpus/
# <target>, which grows from run to run) plus the committed seeds and crash regression
# inputs in tests/fuzz/corpus/<target>/ (read only). Crash, leak, timeout (-timeout=5)
# and out-of-memory (-rss_limit_mb=2048) all count as failures; the input that caused it
# is kept in BUILD_DIR/fuzz-artifacts/ and the log in BUILD_DIR/fuzz-logs/. Prints one
# line per target; exits 1 if any target failed.
set -u

if [ $# -lt 2 ]; then
	echo "usage: $0 BUILD_DIR SECONDS [NAME_GLOB]" >&2
	exit 2
fi
build=$(cd "$1" && pwd) || exit 2
secs=$2
glob=${3:-fuzz_*}
case $secs in ''|*[!0-9]*) echo "$0: SECONDS must be a number" >&2; exit 2;; esac
here=$(cd "$(dirname "$0")" && pwd)
supp="$here/../lsan.supp"

scratch=$(mktemp -d "${TMPDIR:-/tmp}/turtle-fuzz-run.XXXXXX") || exit 2
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$build/fuzz-corpus" "$build/fuzz-artifacts" "$build/fuzz-logs"

export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
if [ -f "$supp" ]; then
	export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$supp}
fi

failed=0 ran=0
for exe in "$build"/tests/fuzz/$glob; do
	[ -f "$exe" ] && [ -x "$exe" ] || continue
	name=$(basename "$exe")
	work="$scratch/$name"
	keep="$build/fuzz-corpus/$name"
	log="$build/fuzz-logs/$name.log"
	mkdir -p "$work" "$keep"
	cp -a "$keep/." "$work/" 2>/dev/null
	dirs=("$work")
	[ -d "$here/corpus/$name" ] && dirs+=("$here/corpus/$name")

	"$exe" -max_total_time="$secs" -timeout=5 -rss_limit_mb=2048 \
		-artifact_prefix="$build/fuzz-artifacts/$name-" -print_final_stats=1 \
		"${dirs[@]}" >"$log" 2>&1
	rc=$?
	ran=$((ran + 1))
	runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$log" | tail -n 1)
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)
	if [ $rc -eq 0 ]; then
		# Keep what this run learned for the next one.
		cp -a "$work/." "$keep/" 2>/dev/null
		printf '%-34s ok      %10s runs  cov %s\n' "$name" "${runs:-?}" "${cov:-?}"
	else
		failed=$((failed + 1))
		art=$(grep -o "Test unit written to [^ ]*" "$log" | tail -n 1 | sed 's/Test unit written to //')
		printf '%-34s FAILED  exit %d  input %s  log %s\n' "$name" "$rc" "${art:-?}" "$log"
	fi
done

if [ $ran -eq 0 ]; then
	echo "$0: no fuzz targets matching '$glob' in $build/tests/fuzz" >&2
	exit 2
fi
echo "fuzz: $ran targets, $failed failed, ${secs}s each"
[ $failed -eq 0 ]
