# SPDX-License-Identifier: Apache-2.0
# Shared helpers of the netns tests (bash). Each test script sources this file, makes its
# namespaces with mkns (random names, removed by the EXIT trap even on failure), runs the real
# binaries from $BIN as a runtime would (cni_run), and prints one line per check:
#   ok - <name> | not ok - <name>: <why> | skip - <name>: <why>
set -u
TOP=${TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD="$TOP/$BUILD" ;; esac
BIN="$BUILD/bin"
REF=${REF:-/usr/lib/cni}
VERSIONS="0.1.0 0.2.0 0.3.0 0.3.1 0.4.0 1.0.0 1.1.0"
T_FAILED=0
T_NS=""
T_LINKS=""
T_DIRS=""
T_CLEANUPS=""
# A plugin's stderr, this script's own: the VM lane runs beside the host's tests on the same
# tree (9p), so a file under $BUILD would be written by both.
LAST_STDERR=$(mktemp /tmp/cnic-stderr.XXXXXX)
T_DIRS="$T_DIRS $LAST_STDERR"
T_TAG=$(printf 'c%04x' $((RANDOM)))
# The plugins never talk to the machine's firewalld (the firewall's default backend asks the
# system bus): no bus, unless a test points this to one of its own (firewalld.sh).
export DBUS_SYSTEM_BUS_ADDRESS=unix:path=/nonexistent/cnic-tests-no-system-bus

ok() { echo "ok - $1"; }
fail() {
	echo "not ok - $1: ${2:-}"
	T_FAILED=1
}
skip() { echo "skip - $1: $2"; }

# check NAME COMMAND...: ok when the command succeeds.
check() {
	local name=$1
	shift
	if "$@" >/dev/null 2>&1; then ok "$name"; else fail "$name" "command failed: $*"; fi
}

# check_eq NAME GOT WANT
check_eq() {
	if [ "$2" = "$3" ]; then ok "$1"; else fail "$1" "got '$2', want '$3'"; fi
}

need_root() {
	if [ "$(id -u)" != 0 ] || ! ip netns add "cnic-probe-$T_TAG" 2>/dev/null; then
		skip "${1:-netns}" "needs root and network namespaces"
		exit 0
	fi
	ip netns del "cnic-probe-$T_TAG"
}

# need_cmds NAME CMD...: skip the test (exit 0) unless every CMD is installed.
need_cmds() {
	local name=$1 c
	shift
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || { skip "$name" "$c is not installed"; exit 0; }
	done
}

# mkns VAR: create a namespace with a random name, path in $VAR.
# A fresh name, retried: tests of several engineers (or CI runs) may share the machine.
new_ns() { # PREFIX -> prints the name of a namespace it created
	local n i
	for i in 1 2 3 4 5 6 7 8 9 10; do
		n="$1-$T_TAG-$RANDOM$RANDOM"
		ip netns add "$n" 2>/dev/null && {
			echo "$n"
			return 0
		}
	done
	echo "cannot create a network namespace" >&2
	return 1
}

mkns() {
	local n
	n=$(new_ns cnic) || exit 1
	ip -n "$n" link set lo up 2>/dev/null
	T_NS="$T_NS $n"
	printf -v "$1" '%s' "/run/netns/$n"
}

# tmpdir VAR: a scratch directory removed at exit.
tmpdir() {
	local d
	d=$(mktemp -d /tmp/cnic-test.XXXXXX)
	T_DIRS="$T_DIRS $d"
	printf -v "$1" '%s' "$d"
}

# hexec HOST PROGRAM ARGS...: a program run in host namespace HOST; stdout in $OUT, stderr in
# $ERR, exit status in $RC. tool ARGS...: cnitool so, in the caller's host $H.
hexec() {
	local h=$1
	shift
	OUT=$(ip netns exec "$h" "$@" 2>"$LAST_STDERR")
	RC=$?
	ERR=$(cat "$LAST_STDERR")
}
tool() { hexec "$H" "$BIN/cnitool" "$@"; }

# Host links (in the root netns) removed at exit.
track_link() { T_LINKS="$T_LINKS $1"; }
on_exit() { T_CLEANUPS="$T_CLEANUPS;$1"; }

t_cleanup() {
	local n l d
	eval "${T_CLEANUPS#;}" 2>/dev/null
	for l in $T_LINKS; do ip link del "$l" 2>/dev/null; done
	for n in $T_NS; do ip netns del "$n" 2>/dev/null; done
	for d in $T_DIRS; do rm -rf "$d"; done
}
trap t_cleanup EXIT
trap 'exit 1' INT TERM

# cni_run PLUGIN_PATH COMMAND NETNS IFNAME CONTAINERID CONFIG [CNI_ARGS]
# Output in $OUT, exit status in $RC.
cni_run() {
	local plugin=$1 cmd=$2 netns=$3 ifname=$4 cid=$5 conf=$6 args=${7:-}
	OUT=$(printf '%s' "$conf" | env CNI_COMMAND="$cmd" CNI_NETNS="$netns" CNI_IFNAME="$ifname" \
		CNI_CONTAINERID="$cid" CNI_PATH="${CNI_PATH_OVERRIDE:-$BIN}" CNI_ARGS="$args" \
		"$plugin" 2>"$LAST_STDERR")
	RC=$?
}

# Normalise a result or error for comparison with the reference: sorted keys, an empty dns
# dropped, cniVersion of error objects dropped (the Go library omits it).
norm() {
	jq -cS 'if has("code") then del(.cniVersion) else . end
		| if (.dns? // null) == {} then del(.dns) else . end' 2>/dev/null || echo "INVALID-JSON"
}

# Wait (bounded, no fixed sleep) until COMMAND succeeds: poll_until TIMEOUT_MS COMMAND...
poll_until() {
	local t=$1 waited=0 step=1
	shift
	while ! "$@" >/dev/null 2>&1; do
		[ "$waited" -ge "$t" ] && return 1
		sleep "0.00$step" 2>/dev/null || sleep 0.01
		waited=$((waited + step))
		[ "$step" -lt 9 ] && step=$((step + 1))
	done
	return 0
}

# wait_for SECONDS CMD...: poll CMD (every 0.2 s) until it succeeds, bounded in wall-clock time
# (poll_until counts only its own sleeps: for commands that take time of their own, e2e's).
wait_for() {
	local end=$(($(date +%s) + $1))
	shift
	until "$@" >/dev/null 2>&1; do
		[ "$(date +%s)" -ge "$end" ] && return 1
		sleep 0.2
	done
}

finish() { exit "$T_FAILED"; }

# diff_sides: a differential test's two sides, ours (O) and the reference's (R): private hosts HO
# and HR, containers CO and CR, data dirs DO and DR (variables of the caller, local there).
diff_sides() {
	mkhost HO
	mkhost HR
	mkns CO
	mkns CR
	tmpdir DO
	tmpdir DR
}

# Crash tests: add_span HOSTNS PLUGIN CONF sets SPAN to how long an undisturbed ADD takes (us, at
# least 1000; added and deleted in a netns of its own), to spread the kill points over it.
add_span() {
	local c0 t0
	mkns c0
	t0=$(date +%s%N)
	hrun "$1" "$2" ADD "$c0" eth0 warm "$3"
	SPAN=$((($(date +%s%N) - t0) / 1000))
	hrun "$1" "$2" DEL "$c0" eth0 warm "$3"
	[ "$SPAN" -lt 1000 ] && SPAN=1000
}

# crash_add HOSTNS PLUGIN NETNS CONTAINERID CONF: an ADD (IFNAME eth0) in a process group of its
# own, killed with SIGKILL, the group with it, after DELAY us drawn from [0, SPAN); waits
# (bounded) until none of the group (its IPAM child) is left. Fails when the ADD was over first.
crash_add() {
	local pid killed=1
	DELAY=$((RANDOM * SPAN / 32768))
	printf '%s' "$5" | ip netns exec "$1" setsid env CNI_COMMAND=ADD CNI_NETNS="$3" CNI_IFNAME=eth0 \
		CNI_CONTAINERID="$4" CNI_PATH="$BIN" "$2" >/dev/null 2>&1 &
	pid=$!
	sleep "$(printf '0.%06d' "$DELAY")"
	kill -KILL -- "-$pid" 2>/dev/null && killed=0
	wait "$pid" 2>/dev/null
	poll_until 2000 bash -c "! pgrep -g $pid >/dev/null"
	return $killed
}

# A private "host": the plugin runs inside HOSTNS (ip netns exec), so the bridge, the host veths,
# sysctls and nftables rules it makes never touch the machine's real network.
# hrun HOSTNS_NAME PLUGIN COMMAND NETNS IFNAME CONTAINERID CONFIG [CNI_ARGS]
hrun() {
	local h=$1 plugin=$2 cmd=$3 netns=$4 ifname=$5 cid=$6 conf=$7 args=${8:-}
	OUT=$(printf '%s' "$conf" | ip netns exec "$h" env CNI_COMMAND="$cmd" CNI_NETNS="$netns" \
		CNI_IFNAME="$ifname" CNI_CONTAINERID="$cid" CNI_PATH="${CNI_PATH_OVERRIDE:-$BIN}" \
		CNI_ARGS="$args" "$plugin" 2>"$LAST_STDERR")
	RC=$?
}

# mkhost VAR: a "host" namespace (its name, not path, in VAR) with lo up and forwarding off.
mkhost() {
	local n
	n=$(new_ns cnic-h) || exit 1
	ip -n "$n" link set lo up
	T_NS="$T_NS $n"
	printf -v "$1" '%s' "$n"
}

# in_ns NAME-OR-PATH CMD...: run a command inside a namespace.
in_ns() {
	local n=$1
	shift
	ip netns exec "$(basename "$n")" "$@"
}

# asan_build FILE: FILE is instrumented by AddressSanitizer (valgrind cannot run it, and its leak
# check fails under ptrace: run it under strace with ASAN_OPTIONS=detect_leaks=0).
asan_build() { nm "$1" 2>/dev/null | grep -q __asan_init; }

# Bounded connectivity check: ping_ok NS ADDR. Up to five one-second tries: an earlier no_ping
# leaves the neighbour entry INCOMPLETE for a few seconds, and what is queued behind it is
# dropped (ping reports "host unreachable" and stops) when it turns FAILED; the next try resolves.
ping_ok() {
	local n
	for n in 1 2 3 4 5; do
		in_ns "$1" ping -c1 -W1 "$2" >/dev/null 2>&1 && return 0
	done
	return 1
}

# err_code: the code of the error object in $OUT.
err_code() { printf '%s' "$OUT" | jq -r '.code // empty' 2>/dev/null; }

# ---- kernel state read back, shared by the plugin tests ---------------------------------------

# ip_of NS [DEV] [FAMILY]: the first global address of DEV (eth0) of family inet (or inet6).
ip_of() { in_ns "$1" ip -j addr show dev "${2:-eth0}" | jq -r --arg f "${3:-inet}" '[.[0].addr_info[] | select(.family==$f and .scope=="global") | .local][0] // empty'; }

# has_link NS NAME: "yes" or "no".
has_link() { in_ns "$1" ip link show "$2" >/dev/null 2>&1 && echo yes || echo no; }

# no_ping NS ADDR: ADDR does not answer one ping from NS (bounded).
no_ping() { ! in_ns "$1" ping -c1 -W1 "$2" >/dev/null 2>&1; }

# masq_rules NS: the rules of the native masquerade layout's per-attachment chain in NS.
masq_rules() {
	local j
	j=$(in_ns "$1" nft -j list chain inet cni_plugins_masquerade masq_checks 2>/dev/null)
	[ -n "$j" ] && printf '%s' "$j" | jq '[.nftables[] | select(.rule)] | length' || echo 0
}

# att_entries NS KIND: the entries of KIND (masq, fw, ...) in the attachment index of NS
# (pkg/nft/att.c: a named counter "KIND-<hash>" in table inet cnic_index), by name.
att_entries() {
	in_ns "$1" nft -j list counters table inet cnic_index 2>/dev/null |
		jq -r --arg k "$2-" '.nftables[] | select(.counter) | .counter.name | select(startswith($k))' | sort
}

# files_left: host-local reservations left in $DATA (its lock and bookkeeping files not counted).
files_left() { find "$DATA" -type f ! -name lock ! -name 'last_reserved_ip.*' ! -name '.cnic*' | wc -l; }

# with_prev CONF PREV-RESULT: CONF with prevResult set, as a runtime passes it to CHECK and DEL.
with_prev() { printf '%s' "$1" | jq -c --argjson p "$2" '. + {prevResult: $p}'; }

# ---- differential tests against the reference plugins (*_diff.sh) -------------------------------

# need_ref NAME PLUGIN...: skip the whole test unless $REF has every PLUGIN; else $REFPATH is a
# private CNI_PATH with those plugins and the reference's static (removed at exit).
need_ref() {
	local name=$1 p
	shift
	for p in "$@"; do
		if [ ! -x "$REF/$p" ]; then
			skip "$name" "reference plugins not installed in $REF"
			exit 0
		fi
	done
	REFPATH=$(mktemp -d /tmp/cnic-refpath.XXXXXX)
	T_DIRS="$T_DIRS $REFPATH"
	for p in "$@" static; do cp "$REF/$p" "$REFPATH/"; done
}

# norm_result RESULT NETNS [KEEP-MAC]: a result with its run-specific parts as placeholders (MACs
# unless KEEP-MAC is given, host veth names, the netns path), compared the way norm does.
norm_result() {
	jq -cS --arg ns "$2" --arg keep "${3:-}" '
		if has("code") then del(.cniVersion) else . end
		| if (.dns? // null) == {} then del(.dns) else . end
		| if .interfaces then .interfaces |= map(
			(if .mac and $keep == "" then .mac = "MAC" else . end)
			| (if (.name | test("^veth[0-9a-f]{8}$")) then .name = "VETH" else . end)
			| (if .sandbox == $ns then .sandbox = "NETNS" else . end)) else . end' <<<"$1"
}

# peer HOST VAR: a namespace behind a veth of HOST (198.18.100.2, host side hp0 198.18.100.1),
# routed to containers in 198.18.0.0/20 through the host: the "outside" of the host and a peer
# for egress.
peer() {
	local p
	mkns p
	in_ns "$1" ip link add hp0 type veth peer name pp0 netns "$(basename "$p")"
	in_ns "$1" ip addr add 198.18.100.1/24 dev hp0
	in_ns "$1" ip link set hp0 up
	in_ns "$p" ip addr add 198.18.100.2/24 dev pp0
	in_ns "$p" ip link set pp0 up
	in_ns "$p" ip route add 198.18.0.0/20 via 198.18.100.1
	printf -v "$2" '%s' "$p"
}

# mkmaster HOSTNS NAME: a veth NAME (peer NAME-p, both up: carrier) in the host namespace, as the
# lower link of macvlan.
mkmaster() {
	in_ns "$1" ip link add "$2" type veth peer name "$2-p"
	in_ns "$1" ip link set "$2" up
	in_ns "$1" ip link set "$2-p" up
}

# ask NETNS ADDR PORT [udp SRCPORT]: what answers a TCP (or UDP) client there, bounded: a host
# port's check
ask() {
	if [ "${4:-}" = udp ]; then
		# -t: socat stops waiting for the answer this long after stdin's EOF
		# UDP may lose the first datagram (neighbour resolution, a loaded machine): retries on
		# the same flow
		local a
		for _ in 1 2 3; do
			a=$(echo x | in_ns "$1" timeout 4 socat -t3 -T3 - "UDP:$2:$3,sourceport=$5,reuseaddr" 2>/dev/null | head -1)
			[ -n "$a" ] && break
		done
		printf '%s\n' "$a"
	else
		in_ns "$1" timeout 3 socat -T2 - "TCP:$2:$3" </dev/null 2>/dev/null | head -1
	fi
}

# example_host VAR: the host namespace every example of conf/examples/ runs in (examples.sh,
# cnitool_examples.sh; its name in VAR): an "eth0" (192.0.2.2/24, up, a veth whose peer
# eth0-peer is up) with the default route via 192.0.2.1, and host-device's "eth1".
example_host() {
	local h
	mkhost h
	in_ns "$h" ip link add eth0 type veth peer name eth0-peer
	in_ns "$h" ip addr add 192.0.2.2/24 dev eth0
	in_ns "$h" ip link set eth0 up
	in_ns "$h" ip link set eth0-peer up
	in_ns "$h" ip route add default via 192.0.2.1
	in_ns "$h" ip link add eth1 type veth peer name eth1-peer # the device of host-device's example
	printf -v "$1" '%s' "$h"
}

# example_load FILE HOSTNS: an example read as a list (a single .json becomes a one-plugin list)
# into $list, its network name into $net, its plugin types into the array $types; $missing says
# why it is skipped here ("" when it runs): a plugin (or IPAM) that needs a fixture of its own
# (flannel, dhcp, dnsname: their tests run them), a link kind this kernel lacks (probed in
# HOSTNS; the VM lane runs them) or a plugin not built. Fails when jq cannot read FILE.
example_load() {
	local -A kind=([ipvlan]="link eth0 type ipvlan mode l2" [vlan]="link eth0 type vlan id 4000"
		[dummy]="type dummy" [vrf]="type vrf table 4000")
	local -A fixture=([flannel]="tests/netns/flannel.sh" [dhcp]="tests/netns/dhcp.sh"
		[dnsname]="tests/netns/dnsname.sh")
	local t itypes
	list=$(jq -c 'if .plugins then . else {cniVersion, name, plugins: [.]} end' "$1" 2>/dev/null)
	[ -n "$list" ] || return 1
	net=$(jq -r .name <<<"$list")
	mapfile -t types < <(jq -r '.plugins[].type' <<<"$list")
	mapfile -t itypes < <(jq -r '.plugins[].ipam.type // empty' <<<"$list")
	missing=""
	for t in "${itypes[@]}" "${types[@]}"; do
		[ -n "${fixture[$t]:-}" ] && missing="needs its own fixture: exercised by ${fixture[$t]}"
	done
	for t in "${types[@]}"; do
		if [ -z "$missing" ] && [ -n "${kind[$t]:-}" ]; then
			in_ns "$2" ip link add cnic-probe ${kind[$t]} 2>/dev/null ||
				missing="kernel without $t: exercised by tests/netns/$t.sh in the VM lane"
			in_ns "$2" ip link del cnic-probe 2>/dev/null
		fi
		[ -z "$missing" ] && [ ! -x "$BIN/$t" ] && missing="plugin $t is not built"
	done
	return 0
}

# add_two HOSTNS PLUGIN CONF LABEL: two containers ADDed with CONF from HOSTNS (new namespaces
# C1 and C2, ifname eth0, container IDs c1 and c2), each ADD checked ("LABEL ADD c1", "... c2");
# the first result in $R1, the containers' IPv4 addresses in $a1 and $a2.
add_two() {
	mkns C1
	mkns C2
	hrun "$1" "$2" ADD "$C1" eth0 c1 "$3"
	check_eq "$4 ADD c1" "$RC" 0
	R1=$OUT
	hrun "$1" "$2" ADD "$C2" eth0 c2 "$3"
	check_eq "$4 ADD c2" "$RC" 0
	a1=$(ip_of "$C1")
	a2=$(ip_of "$C2")
}

# check_readd HOSTNS PLUGIN CONF LABEL: after add_two (C1, R1, a1), CHECK of c1 with its result
# (spec 0.4.0 and later: "LABEL CHECK after ADD"), then a second ADD of c1, refused ("LABEL second
# ADD of the same attachment refused"), that leaves c1 its address ("LABEL  and c1 keeps ...").
check_readd() {
	if [[ $4 == 0.4.0 || $4 == 1.* ]]; then
		hrun "$1" "$2" CHECK "$C1" eth0 c1 "$(with_prev "$3" "$R1")"
		check_eq "$4 CHECK after ADD" "$RC:$OUT" "0:"
	fi
	hrun "$1" "$2" ADD "$C1" eth0 c1 "$3"
	check_eq "$4 second ADD of the same attachment refused" "$RC" 1
	check_eq "$4  and c1 keeps its address" "$(ip_of "$C1")" "$a1"
}

# dn_ctl RUN_DIR REQUEST: a dnsname daemon's reply to one control request (its SOCK_SEQPACKET
# socket RUN_DIR/dnsname.sock, 3 s bound)
dn_ctl() {
	python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.settimeout(3)
s.connect(sys.argv[1] + "/dnsname.sock")
s.send(sys.argv[2].encode())
print(s.recv(512).decode())' "$1" "$2"
}
