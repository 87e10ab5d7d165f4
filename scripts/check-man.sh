#!/usr/bin/env bash
# The man pages: each one formats without a single groff/man warning (man --warnings),
# each one meson installs is in docs/, and the bash completion parses.
# Needs man-db and groff-base (scripts/deps.sh --test).
set -uo pipefail
cd "$(dirname "$0")/.."

command -v man >/dev/null || {
	echo "check-man: man is missing (Debian: apt-get install man-db groff-base)" >&2
	exit 1
}
status=0
pages=(docs/*.1 docs/*.5 docs/*.8)
for p in "${pages[@]}"; do
	# man -l formats the file; --warnings turns on groff's warnings, which go to stderr.
	out=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$p" 2>&1 >/dev/null)
	rc=$?
	if [ $rc -ne 0 ] || [ -n "$out" ]; then
		echo "check-man: $p: $out (exit $rc)" >&2
		status=1
	fi
done
for p in turtle.1 turtled.8 turtle-as.8 turtled.conf.5 turtle-as.conf.5; do
	grep -q "'$p'" docs/meson.build || { echo "check-man: docs/meson.build does not install $p" >&2; status=1; }
	[ -f "docs/$p" ] || { echo "check-man: docs/$p is missing" >&2; status=1; }
done
bash -n packaging/turtle.bash-completion || { echo "check-man: the bash completion does not parse" >&2; status=1; }
[ $status -eq 0 ] && echo "check-man: ${#pages[@]} man pages format without warnings"
exit $status
