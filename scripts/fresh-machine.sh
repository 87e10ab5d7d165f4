#!/usr/bin/env bash
# The README's two commands on a fresh Debian 12 machine, as a new user would run them.
#
# Builds a Debian 12 (bookworm) minbase root with debootstrap in build-fresh/root, copies
# the checkout (git archive of HEAD) to /root/turtle inside it (/root is mode 0700, as on
# a real machine), and runs, inside a chroot with /proc, /sys and /dev mounted:
#
#   1. scripts/demo.sh    the README's main command, as root from /root/turtle
#   2. scripts/demo.sh    again, as an ordinary user from a clone in their home (0700)
#   3. scripts/test.sh    the README's test command, as root
#
# Needs root (debootstrap, mount, chroot) and the package debootstrap.
# The Debian mirror is the one this machine's apt uses (/etc/apt/sources.list and
# sources.list.d); FRESH_MIRROR overrides it. Downloaded packages are kept in
# /var/cache/turtle/fresh-machine (debootstrap's and apt's; FRESH_CACHE overrides it),
# outside the checkout, so that a second run on the same machine, even from a new clone
# as CI makes, downloads only what changed. The test data beside the checkout
# (../shared, as CI lays it) is copied in beside the clone, so no test skips for want
# of it. The root itself is made anew on every run and removed at
# the end (FRESH_KEEP=1 keeps it for a look inside).
#
#   FRESH_DIR        work directory (default: build-fresh in the checkout)
#   FRESH_SKIP_TESTS=1   do not run the tests; FRESH_SKIP_USER_DEMO=1: no demo as a user
#   FRESH_DEMO_TIMEOUT, FRESH_TEST_TIMEOUT, FRESH_SETUP_TIMEOUT   seconds per step
#
# Each step is bounded by timeout(1). Any failure prints which step failed, its exit
# status and the tail of its log, and the script exits non-zero.
set -uo pipefail
cd "$(dirname "$0")/.."
top=$PWD

suite=bookworm
work=${FRESH_DIR:-$top/build-fresh}
root=$work/root
cache=${FRESH_CACHE:-/var/cache/turtle/fresh-machine}
logs=$work/logs
setup_timeout=${FRESH_SETUP_TIMEOUT:-900}
demo_timeout=${FRESH_DEMO_TIMEOUT:-900}
test_timeout=${FRESH_TEST_TIMEOUT:-1500}
start=$(date +%s)

say() { printf 'fresh-machine: %s\n' "$*" >&2; }
elapsed() { echo $(( $(date +%s) - start )); }

fail() {
	# fail STEP STATUS [LOG]
	say "FAILED: $1 (exit status $2, after $(elapsed) s)"
	if [ -n "${3:-}" ] && [ -s "$3" ]; then
		say "last lines of $3:"
		tail -n 40 "$3" >&2
	fi
	exit 1
}

[ "$(id -u)" -eq 0 ] || { say "needs root (debootstrap, mount and chroot)"; exit 1; }
for t in debootstrap chroot mount umount findmnt timeout git tar; do
	command -v "$t" >/dev/null || PATH=$PATH:/usr/sbin:/sbin
	command -v "$t" >/dev/null || {
		say "missing $t (Debian: apt-get install debootstrap util-linux coreutils git tar)"
		exit 1
	}
done

# The first URI this machine's apt uses for a suite: one-line sources.list entries and
# deb822 .sources stanzas. Prints nothing when no enabled entry names the suite.
host_mirror() {
	local want=$1 f
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		# deb [options] URI SUITE COMPONENTS...
		sed -e 's/#.*//' -e 's/\[[^]]*\]//' "$f" |
			awk -v s="$want" '$1 == "deb" && $3 == s { print $2; exit }'
	done
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		awk -v s="$want" '
			function flush() {
				if (deb && enabled && uri != "" && hit) { print uri; found = 1; exit }
				deb = 0; enabled = 1; uri = ""; hit = 0
			}
			BEGIN { enabled = 1 }
			/^[ \t]*#/ { next }
			/^[ \t]*$/ { flush(); next }
			tolower($1) == "types:" { for (i = 2; i <= NF; i++) if ($i == "deb") deb = 1 }
			tolower($1) == "enabled:" { enabled = (tolower($2) != "no") }
			tolower($1) == "uris:" { uri = $2 }
			tolower($1) == "suites:" { for (i = 2; i <= NF; i++) if ($i == s) hit = 1 }
			END { if (!found) flush() }' "$f"
	done
}

mirror=${FRESH_MIRROR:-$(host_mirror "$suite" | head -n 1)}
security=$(host_mirror "$suite-security" | head -n 1)
if [ -z "$mirror" ]; then
	say "no Debian mirror for $suite in /etc/apt/sources.list(.d); set FRESH_MIRROR=URL"
	exit 1
fi

# ---- mounts, and their removal on every exit path ----

mounted=()
mount_in() {
	# mount_in TARGET mount-arguments...
	local target=$1
	shift
	mkdir -p "$target"
	mount "$@" "$target" || return 1
	mounted+=("$target")
}

# Processes still running inside the root (started by the steps), by PID.
stop_leftovers() {
	local p pid r sig
	for sig in TERM KILL; do
		for p in /proc/[0-9]*; do
			pid=${p#/proc/}
			r=$(readlink "$p/root" 2>/dev/null) || continue
			[ "$r" = "$root" ] || continue
			[ "$sig" = TERM ] && say "stopping leftover process $pid ($(tr '\0' ' ' <"$p/cmdline" 2>/dev/null | cut -c1-80))"
			kill "-$sig" "$pid" 2>/dev/null
		done
		[ "$sig" = TERM ] && sleep 1
	done
}

unmount_all() {
	local m i
	# Everything mounted under the root, deepest first (rbind brought submounts).
	for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
		m=${mounted[$i]}
		mountpoint -q "$m" 2>/dev/null || continue
		umount -R "$m" 2>/dev/null || umount -R -l "$m" 2>/dev/null ||
			say "could not unmount $m"
	done
	mounted=()
}

still_mounted() {
	findmnt -rn -o TARGET | awk -v r="$root" 'index($0, r "/") == 1 || $0 == r' | grep -q .
}

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	[ -d "$root" ] && stop_leftovers
	unmount_all
	if still_mounted; then
		say "something is still mounted under $root; leaving it in place:"
		findmnt -rn -o TARGET | grep -F "$root" >&2
		rc=1
	elif [ "${FRESH_KEEP:-0}" != 1 ] && [ -d "$root" ]; then
		rm -rf --one-file-system "$root"
	fi
	rm -f "$work/checkout.tar"
	exit "$rc"
}
trap cleanup EXIT
trap 'say "interrupted"; exit 130' INT TERM

# ---- 1. a fresh root ----

mkdir -p "$cache/debootstrap" "$cache/apt/partial" "$logs"
if [ -e "$root" ]; then
	if still_mounted; then
		say "$root has mounts from an earlier run; unmount them first"
		exit 1
	fi
	rm -rf --one-file-system "$root"
fi
mkdir -p "$root"

say "debootstrap --variant=minbase $suite from $mirror (cache: $cache)"
t0=$(date +%s)
timeout --kill-after=30 "$setup_timeout" debootstrap --variant=minbase \
	--cache-dir="$cache/debootstrap" "$suite" "$root" "$mirror" \
	>"$logs/debootstrap.log" 2>&1 || fail "debootstrap" $? "$logs/debootstrap.log"
say "debootstrap done in $(( $(date +%s) - t0 )) s"

# apt inside the root: the same mirrors as this machine, packages kept in the cache,
# no service started by a package's maintainer scripts.
{
	echo "deb $mirror $suite main"
	echo "deb $mirror $suite-updates main"
	[ -n "$security" ] && echo "deb $security $suite-security main"
} >"$root/etc/apt/sources.list"
cat >"$root/etc/apt/apt.conf.d/90fresh-machine" <<'EOF'
APT::Keep-Downloaded-Packages "true";
APT::Sandbox::User "root";
EOF
# A throwaway root: dpkg need not fsync every file it unpacks.
echo "force-unsafe-io" >"$root/etc/dpkg/dpkg.cfg.d/90fresh-machine"
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod 0755 "$root/usr/sbin/policy-rc.d"
cp -L /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
echo "fresh" >"$root/etc/hostname"

# The checkout, as a clone would have it: tracked files of HEAD, nothing built.
if [ -n "$(git -C "$top" status --porcelain --untracked-files=no 2>/dev/null)" ]; then
	say "note: uncommitted changes are not copied (git archive of HEAD)"
fi
head=$(git -C "$top" rev-parse --short HEAD) || fail "git rev-parse HEAD" $?
git -C "$top" archive --format=tar --prefix=turtle/ -o "$work/checkout.tar" HEAD ||
	fail "git archive HEAD" $?
tar -x -C "$root/root" -f "$work/checkout.tar" || fail "copy the checkout to /root" $?
chmod 0700 "$root/root"
if [ -d "$top/../shared" ]; then
	cp -a "$top/../shared" "$root/root/shared" || fail "copy ../shared to /root/shared" $?
	chmod -R a+rX,go-w "$root/root/shared"
fi
cp "$work/checkout.tar" "$root/tmp/turtle-checkout.tar"
say "checkout $head copied to /root/turtle"

mount_in "$root/proc" -t proc proc || fail "mount /proc" $?
mount_in "$root/sys" --rbind /sys || fail "mount /sys" $?
mount --make-rslave "$root/sys"
mount_in "$root/dev" --rbind /dev || fail "mount /dev" $?
mount --make-rslave "$root/dev"
mount_in "$root/var/cache/apt/archives" --bind "$cache/apt" || fail "mount the apt cache" $?

in_root() {
	# in_root SECONDS COMMAND: a login-like environment for root, no stdin.
	timeout --kill-after=30 "$1" chroot "$root" /usr/bin/env -i \
		HOME=/root USER=root LOGNAME=root SHELL=/bin/bash TERM=dumb LANG=C.UTF-8 \
		PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		CI="${CI:-}" DEBIAN_FRONTEND=noninteractive \
		/bin/bash -c "$2" </dev/null
}

step() {
	# step NAME SECONDS COMMAND: run in the root, output to the console and a log.
	local name=$1 secs=$2 cmd=$3 log=$logs/$1.log rc t0
	say "step $name: $cmd (at most $secs s)"
	t0=$(date +%s)
	in_root "$secs" "$cmd" 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	[ "$rc" -eq 124 ] && say "$name: timed out after $secs s"
	[ "$rc" -eq 0 ] || fail "$name ($cmd)" "$rc" "$log"
	say "step $name passed in $(( $(date +%s) - t0 )) s"
}

# ---- 2. the README's commands ----

step demo "$demo_timeout" 'cd /root/turtle && scripts/demo.sh'
if [ "${FRESH_SKIP_USER_DEMO:-0}" != 1 ]; then
	# The same checkout cloned by an ordinary user into a private home, run as that user
	# (the packages are there now: the user has no way to install them).
	step user-demo "$demo_timeout" 'useradd --create-home --shell /bin/bash newuser &&
		chmod 0700 /home/newuser &&
		runuser -u newuser -- tar -x -C /home/newuser -f /tmp/turtle-checkout.tar &&
		runuser -l newuser -c "cd ~/turtle && scripts/demo.sh"'
fi
if [ "${FRESH_SKIP_TESTS:-0}" != 1 ]; then
	step tests "$test_timeout" 'cd /root/turtle && scripts/test.sh'
fi
say "passed: checkout $head on a fresh Debian $suite root in $(elapsed) s"
