#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Every binary's --version and --help (issue #19), run from the build:
# - --version: "<name> (cnic) <release>, commit <commit>, built <date>" with build/gen/version.h's
#   values, then the CNI versions, the same list as the binary's VERSION verb; exit 0;
# - without arguments and CNI_COMMAND the reference's "about" text, unchanged (no commit);
# - --help and -h: every key of the plugin's field tables (tests/fault/keys.py --all reads them from
#   the sources, a second reader) and no key without its meaning;
# - the daemons: --help/-h/-help, --version/-version, bad flags (exit 2, the flag named), and a
#   start with each flag style (-flag value, --flag=value...) until the socket is there;
# - version.h's generation: the commit's date or SOURCE_DATE_EPOCH, never the clock, and a tree
#   from `git archive` (no .git) that still names its commit (.version-info).
# No root, no kernel: daemons listen on sockets in a temporary directory, removed on exit.
set -u
top=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$top" || exit 1
BUILD=${BUILD:-build}
bin=$BUILD/bin
T=$(mktemp -d)
pids=
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
	rm -rf "$T"
}
trap cleanup EXIT INT TERM

ok() { echo "ok - $1"; }
fail() {
	echo "not ok - $1"
	[ $# -gt 1 ] && printf '%s\n' "$2" | head -20 | sed 's/^/# /'
	return 0
}

if [ ! -r "$BUILD/gen/version.h" ] || [ ! -x "$bin/bridge" ]; then
	echo "skip - version and help: $BUILD is not built"
	exit 0
fi
def() { sed -n "s/^#define $1 \"\\(.*\\)\"\$/\\1/p" "$BUILD/gen/version.h"; }
release=$(def CNIC_VERSION)
commit=$(def CNIC_COMMIT)
date=$(def CNIC_BUILD_DATE)
case $date in
[0-9][0-9][0-9][0-9]-[0-1][0-9]-[0-3][0-9] | unknown) ok "version.h: a build date ($date)" ;;
*) fail "version.h: a build date" "$date" ;;
esac
[ -n "$commit" ] && [ -n "$release" ] && ok "version.h: release $release, commit $commit" ||
	fail "version.h: release and commit" "$(cat "$BUILD/gen/version.h")"

# The spec versions a plugin answers VERSION with, ", "-joined.
supported() {
	CNI_COMMAND=VERSION "$1" </dev/null | python3 -c \
		'import json,sys; print(", ".join(json.load(sys.stdin)["supportedVersions"]))'
}

python3 tests/fault/keys.py --all >"$T/keys" 2>"$T/keys.err" ||
	fail "keys.py --all reads the tables" "$(cat "$T/keys.err")"

plugins=$(for d in plugins/*/*/; do basename "$d"; done | sort)
n=0
for p in $plugins; do
	b=$bin/$p
	[ -x "$b" ] || { fail "$p is built"; continue; }
	n=$((n + 1))
	out=$("$b" --version 2>&1)
	rc=$?
	want="$p (cnic) $release, commit $commit, built $date
CNI protocol versions supported: $(supported "$b")"
	if [ $rc = 0 ] && [ "$out" = "$want" ]; then
		ok "$p --version: release, commit, date and its VERSION verb's versions"
	else
		fail "$p --version (rc $rc)" "$out
# want:
$want"
	fi
	about=$(env -u CNI_COMMAND "$b" 2>&1 </dev/null)
	rc=$?
	case $about in
	"CNI $p plugin (cnic)
CNI protocol versions supported: "*)
		if [ $rc = 0 ] && [ "$about" != "$out" ] && ! printf '%s' "$about" | grep -q commit; then
			ok "$p without arguments: the reference's about text, not --version's"
		else
			fail "$p without arguments (rc $rc)" "$about"
		fi ;;
	*) fail "$p without arguments: the about text" "$about" ;;
	esac
	help=$("$b" --help 2>&1)
	rc=$?
	h2=$("$b" -h 2>&1)
	if [ $rc != 0 ] || [ "$help" != "$h2" ] || ! printf '%s\n' "$help" | grep -q "^usage: $p "; then
		fail "$p --help and -h: the usage, exit 0 (rc $rc)" "$help"
		continue
	fi
	# the key lines: between "Keys of the network configuration" and the blank line after
	printf '%s\n' "$help" | awk '/^Keys of the network configuration/ {k = 1; next}
		k && /^$/ {exit} k && /^  / {print}' >"$T/lines"
	awk '{print $1}' "$T/lines" | grep -v '^(none)$' | sort >"$T/have"
	awk -F '\t' -v p="$p" '$1 == p && $2 !~ /\[\]$/ {print $2}' "$T/keys" | sort >"$T/want"
	if cmp -s "$T/have" "$T/want"; then
		ok "$p --help lists exactly its tables' $(wc -l <"$T/want") keys"
	else
		fail "$p --help lists exactly its tables' keys" "$(diff "$T/want" "$T/have")"
	fi
	if grep -q '(no description)' "$T/lines"; then
		fail "$p --help: every key has a meaning" "$(grep '(no description)' "$T/lines")"
	else
		ok "$p --help: every key has a meaning"
	fi
done
[ "$n" -ge 20 ] && ok "$n plugins checked" || fail "20 plugins or more checked: $n"

# cnitool: the same helper, every spec version.
out=$("$bin/cnitool" --version 2>&1)
want="cnitool (cnic) $release, commit $commit, built $date
CNI protocol versions supported: 0.1.0, 0.2.0, 0.3.0, 0.3.1, 0.4.0, 1.0.0, 1.1.0"
[ "$out" = "$want" ] && ok "cnitool --version" || fail "cnitool --version" "$out"
out=$("$bin/cnitool" -h 2>&1)
case $out in *"$want") ok "cnitool -h ends with the version" ;; *) fail "cnitool -h" "$out" ;; esac

# ---- the daemons ----------------------------------------------------------------------------

# daemon_help NAME FLAG...: --help, -h and -help print the same usage with a meaning per flag.
daemon_help() {
	d=$1
	shift
	h=$("$bin/$d" daemon --help 2>&1)
	rc=$?
	[ $rc = 0 ] && [ "$h" = "$("$bin/$d" daemon -h 2>&1)" ] && [ "$h" = "$("$bin/$d" daemon -help 2>&1)" ] &&
		ok "$d daemon --help, -h, -help: exit 0, one text" || fail "$d daemon --help (rc $rc)" "$h"
	for f in "$@"; do
		if printf '%s\n' "$h" | grep -Eq "^  -$f( [A-Z]+)? +[a-z]"; then
			ok "$d daemon --help: -$f with its meaning"
		else
			fail "$d daemon --help: -$f with its meaning" "$h"
		fi
	done
	v=$("$bin/$d" --version)
	for f in --version -version; do
		out=$("$bin/$d" daemon $f 2>&1)
		rc=$?
		[ $rc = 0 ] && [ "$out" = "$v" ] && ok "$d daemon $f: $d --version's text" ||
			fail "$d daemon $f (rc $rc)" "$out"
	done
}

# bad NAME WHAT ARG...: exit 2, the message names WHAT, nothing started.
bad() {
	d=$1 what=$2
	shift 2
	out=$(timeout 10 "$bin/$d" daemon "$@" 2>&1)
	rc=$?
	if [ $rc = 2 ] && printf '%s' "$out" | grep -qF -- "$what"; then
		ok "$d daemon $*: exit 2 naming $what"
	else
		fail "$d daemon $*: exit 2 naming $what (rc $rc)" "$out"
	fi
}

# wait_for FILE: up to 10 s for FILE to exist and not be empty (sockets: to exist).
wait_for() {
	w=0
	while [ $w -lt 100 ]; do
		if [ -S "$1" ] || [ -s "$1" ]; then return 0; fi
		sleep 0.1
		w=$((w + 1))
	done
	return 1
}

# stop PID: SIGTERM, then its exit status.
stop() {
	kill "$1" 2>/dev/null
	wait "$1"
	st=$?
	pids=$(echo "$pids" | sed "s/\\b$1\\b//")
	return $st
}

daemon_help dhcp socketpath pidfile hostprefix statedir broadcast timeout resendmax resendtimeout \
	idletimeout
bad dhcp '"--bogus"' --bogus
bad dhcp 'bogus' -bogus=1
bad dhcp 'timeout' -timeout=abc
bad dhcp 'timeout' --timeout abc
bad dhcp 'socketpath' -socketpath
bad dhcp 'broadcast' --broadcast=maybe
bad dhcp '"extra"' extra

# Go's style (the reference's units), then GNU's, each until it listens; the pid file says who.
i=0
for style in go gnu; do
	i=$((i + 1))
	if [ $style = go ]; then
		set -- -socketpath "$T/dhcp$i.sock" -statedir "$T/state$i" -pidfile "$T/dhcp$i.pid" \
			-timeout 5s -resendmax=30s -broadcast
	else
		set -- --socketpath="$T/dhcp$i.sock" --statedir "$T/state$i" --pidfile="$T/dhcp$i.pid" \
			--timeout=5s --resendtimeout 60s --broadcast=false --idletimeout=10s
	fi
	"$bin/dhcp" daemon "$@" 2>"$T/dhcp$i.log" &
	pid=$!
	pids="$pids $pid"
	if wait_for "$T/dhcp$i.sock" && wait_for "$T/dhcp$i.pid" && [ "$(cat "$T/dhcp$i.pid")" = "$pid" ]; then
		ok "dhcp daemon with $style-style flags listens at -socketpath, writes -pidfile"
	else
		fail "dhcp daemon with $style-style flags listens" "$(cat "$T/dhcp$i.log")"
	fi
	stop "$pid" && ok "dhcp daemon ($style flags) stops on SIGTERM with 0" ||
		fail "dhcp daemon ($style flags) stops on SIGTERM with 0" "$(cat "$T/dhcp$i.log")"
done

daemon_help dnsname run-dir resolv-conf ready-fd exit-idle
bad dnsname '"--bogus"' --bogus
bad dnsname 'ready-fd' --ready-fd=x
bad dnsname 'ready-fd' -ready-fd
bad dnsname 'exit-idle' --exit-idle=2

echo "nameserver 127.0.0.1" >"$T/resolv.conf"
for style in go gnu; do
	i=$((i + 1))
	if [ $style = go ]; then
		set -- -run-dir "$T/run$i" -resolv-conf="$T/resolv.conf" -ready-fd 3
	else
		set -- --run-dir="$T/run$i" --resolv-conf "$T/resolv.conf" --ready-fd=3
	fi
	"$bin/dnsname" daemon "$@" 3>"$T/ready$i" 2>"$T/dnsname$i.log" &
	pid=$!
	pids="$pids $pid"
	if wait_for "$T/ready$i" && [ -d "$T/run$i/networks" ]; then
		ok "dnsname daemon with $style-style flags: ready on -ready-fd, serving -run-dir"
	else
		fail "dnsname daemon with $style-style flags: ready" "$(cat "$T/dnsname$i.log")"
	fi
	stop "$pid" && ok "dnsname daemon ($style flags) stops on SIGTERM with 0" ||
		fail "dnsname daemon ($style flags) stops on SIGTERM with 0" "$(cat "$T/dnsname$i.log")"
done

# ---- version.h: reproducible, and without .git ----------------------------------------------

# gen DIR BUILDDIR [VAR=VALUE...]: the version.h the Makefile of DIR writes (make -n: nothing built).
gen() {
	src=$1 out=$2
	shift 2
	env -u BUILD -u GIT_COMMIT -u BUILD_DATE -u SOURCE_DATE_EPOCH "$@" \
		make -s -n -C "$src" BUILD="$out" layers >/dev/null 2>&1
	cat "$out/gen/version.h" 2>/dev/null
}
if ! git -C "$top" rev-parse HEAD >/dev/null 2>&1; then
	echo "skip - version.h from git: $top is not a git tree this user may read"
else
	head=$(git -C "$top" rev-parse HEAD)
	day=$(date -u -d "@$(git -C "$top" log -1 --format=%ct)" +%F)
	h=$(gen "$top" "$T/b1")
	case $h in *"CNIC_COMMIT \"${head%"${head#????????????}"}"*"CNIC_BUILD_DATE \"$day\""*)
		ok "version.h in git: HEAD's hash and HEAD's date ($day), not today's" ;;
	*) fail "version.h in git: HEAD's hash and date" "$h" ;; esac
	cp "$T/b1/gen/version.h" "$T/h1"
	gen "$top" "$T/b1" GIT_COMMIT=unknown >/dev/null
	cmp -s "$T/h1" "$T/b1/gen/version.h" &&
		ok "version.h in a git tree git will not read (GIT_COMMIT unknown): the last one kept" ||
		fail "version.h kept when git cannot say" "$(cat "$T/b1/gen/version.h")"
	h=$(gen "$top" "$T/b2" SOURCE_DATE_EPOCH=86400)
	case $h in *'CNIC_BUILD_DATE "1970-01-02"'*) ok "version.h: SOURCE_DATE_EPOCH wins" ;;
	*) fail "version.h: SOURCE_DATE_EPOCH wins" "$h" ;; esac
	mkdir "$T/tar"
	if git -C "$top" archive --format=tar HEAD | tar -x -C "$T/tar" 2>/dev/null; then
		h=$(gen "$T/tar" "$T/b3")
		case $h in *"CNIC_COMMIT \"${head%"${head#????????????}"}\""*"CNIC_BUILD_DATE \"$day\""*)
			ok "version.h from git archive (no .git): the commit and its date from .version-info" ;;
		*) fail "version.h from git archive" "$h" ;; esac
		rm -f "$T/tar/.version-info"
		h=$(gen "$T/tar" "$T/b4")
		case $h in *'CNIC_COMMIT "unknown"'*'CNIC_BUILD_DATE "unknown"'*)
			ok "version.h without .git nor .version-info: unknown, not the clock" ;;
		*) fail "version.h without .git nor .version-info" "$h" ;; esac
	else
		fail "git archive HEAD"
	fi
fi
