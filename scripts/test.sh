#!/usr/bin/env bash
# The README's test command: install what is missing, build, and run every test tier
# (unit tests with cmocka, integration tests against the real daemon with pytest).
#
#   scripts/test.sh              normal build in build-test/
#   scripts/test.sh --sanitize   the same suite under ASan+UBSan in build-asan/
#
# The last line is "tests: N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."

mode=normal
[ "${1:-}" = "--sanitize" ] && mode=sanitize

scripts/deps.sh --test || exit 1

# As root the tests run turtled, turtle-as and swtpm as `nobody`, which cannot reach a
# checkout in a private directory (a clone in /root, mode 0700). Then the suite runs from
# a copy under /var/tmp: the sources are refreshed on every run, its build directories are
# kept (incremental builds), and ../shared (test data) is linked beside it.
if [ "$(id -u)" -eq 0 ] && [ -z "${TURTLE_TEST_COPY:-}" ] &&
	! setpriv --reuid=nobody --regid=nogroup --clear-groups -- test -r "$PWD/scripts/test.sh"; then
	copy=/var/tmp/turtle-test-$(printf '%s' "$PWD" | sha256sum | cut -c1-12)
	echo "test: nobody (the services' user) cannot reach $PWD; testing a copy in $copy/turtle"
	mkdir -p "$copy/turtle" && chmod 0755 "$copy" "$copy/turtle" || exit 1
	find "$copy/turtle" -mindepth 1 -maxdepth 1 ! -name 'build*' -exec rm -rf {} + || exit 1
	tar -C "$PWD" --exclude='./build*' -cf - . | tar -C "$copy/turtle" -xf - || exit 1
	[ -d ../shared ] && ln -sfn "$(cd ../shared && pwd)" "$copy/shared"
	TURTLE_TEST_COPY=1 exec "$copy/turtle/scripts/test.sh" "$@"
fi

if [ "$mode" = sanitize ]; then
	bdir=build-asan
	setup_args=(-Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug
		-Dc_args=-fno-sanitize-recover=all -Dc_link_args=-fno-sanitize-recover=all)
	export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
	export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
	export LSAN_OPTIONS=suppressions=$PWD/tests/lsan.supp
else
	bdir=build-test
	setup_args=()
fi

if [ ! -f "$bdir/build.ninja" ]; then
	meson setup "$bdir" "${setup_args[@]}" >/dev/null || exit 1
fi
ninja -C "$bdir" >"$bdir/ninja.log" 2>&1 || { tail -n 60 "$bdir/ninja.log"; exit 1; }

pass=0
fail=0

# Tier 1: unit tests.
meson test -C "$bdir" --suite unit --print-errorlogs --num-processes 2 2>&1 | tee "$bdir/unit.log"
u_ok=$(sed -n 's/^Ok:[[:space:]]*\([0-9]*\).*/\1/p' "$bdir/unit.log" | tail -n 1)
u_fail=$(sed -n 's/^Fail:[[:space:]]*\([0-9]*\).*/\1/p' "$bdir/unit.log" | tail -n 1)
u_to=$(sed -n 's/^Timeout:[[:space:]]*\([0-9]*\).*/\1/p' "$bdir/unit.log" | tail -n 1)
pass=$((pass + ${u_ok:-0}))
fail=$((fail + ${u_fail:-0} + ${u_to:-0}))
[ -n "$u_ok" ] || fail=$((fail + 1))

# Tiers 2 and 3: integration and the provider conformance suite, against real daemons.
export TURTLED="$PWD/$bdir/src/service/turtled"
export TURTLE_CLI="$PWD/$bdir/src/cli/turtle"
export TURTLE_BUILD_DIR="$PWD/$bdir"
# Debian's interpreter: it sees the apt-installed pytest and protobuf modules even
# where another python3 comes first in PATH.
/usr/bin/python3 -m pytest -q -p no:cacheprovider tests/integration 2>&1 | tee "$bdir/integration.log"
i_pass=$(tail -n 3 "$bdir/integration.log" | grep -o '[0-9]* passed' | grep -o '[0-9]*' | tail -n 1)
i_fail=$(tail -n 3 "$bdir/integration.log" | grep -oE '[0-9]+ (failed|error|errors)' | awk '{s += $1} END {print s + 0}')
pass=$((pass + ${i_pass:-0}))
fail=$((fail + ${i_fail:-0}))
[ -n "$i_pass" ] || fail=$((fail + 1))

echo "tests: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
