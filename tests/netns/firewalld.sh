#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# firewall's firewalld backend and the default backend on a firewalld host, over a private D-Bus
# system bus (a dbus-daemon of the test's own, DBUS_SYSTEM_BUS_ADDRESS pointing to it) with a fake
# firewalld (firewalld_fake.py: records calls, injects firewalld's errors or no answer): ADD binds
# each address (/32, /128) to "trusted" or firewalldZone, ZONE_ALREADY_SET ignored, other errors
# named and what the failed ADD bound unbound, CHECK with querySource (a source lost to a
# firewalld reload named), DEL with removeSource (also with firewalld gone), the default backend
# asking firewalld only when it owns its name (its native rules in both cases), backend
# "firewalld" refused with code 11 without firewalld (50 for STATUS), no bus at all: libsystemd
# never loaded, a bus that never answers: bounded, a warning, the default goes on; libsystemd
# missing beside a bus: a warning, the default as before; and, where Debian's firewalld is
# installed (not by tests/deps.sh: on a systemd host its package starts it), a real firewalld
# in a private host netns: a container behind bridge + firewall reaches a peer only once bound.
. "$(dirname "$0")/lib.sh"
need_root firewalld
P=$BIN/firewall
PY=/usr/bin/python3
if ! command -v dbus-daemon >/dev/null 2>&1 || ! $PY -c 'import dbus, gi.repository.GLib' 2>/dev/null; then
	skip firewalld "dbus-daemon, python3-dbus or python3-gi is not installed"
	exit 0
fi
if ! in_ns_probe=$(unshare -n nft list tables 2>&1); then
	skip firewalld "nftables not available: $in_ns_probe"
	exit 0
fi
tmpdir D
PIDS=""
on_exit 'for p in $PIDS; do kill $p; done'

cat >"$D/bus.conf" <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=$D/bus</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
EOF
BUS="unix:path=$D/bus"
NOBUS="unix:path=$D/no-bus-here"

fwconf() { # NET EXTRA PREV
	local c
	c=$(printf '{"cniVersion":"1.1.0","name":"%s","type":"firewall"%s}' "$1" "${2:+,$2}")
	if [ -n "${3:-}" ]; then with_prev "$c" "$3"; else printf '%s' "$c"; fi
}
PREV='{"cniVersion":"1.1.0","interfaces":[{"name":"br9"},{"name":"veth9"},{"name":"eth0","sandbox":"/x"}],"ips":[{"address":"198.18.5.2/24","interface":2},{"address":"fd00:5::2/64","interface":2}]}'
# run BUS-ADDRESS CMD CID EXTRA [PREV]: the firewall in host H with that system bus ("-": the
# variable unset), bounded; LIBS=1: ld.so's library log in $LAST_STDERR
run() {
	local ns=/x ifn=eth0 bus=(env DBUS_SYSTEM_BUS_ADDRESS="$1")
	case $2 in STATUS | GC) ns="" ifn="" ;; esac
	[ "$1" = - ] && bus=(env -u DBUS_SYSTEM_BUS_ADDRESS)
	OUT=$(printf '%s' "$(fwconf netf "$4" "${5-$PREV}")" | ip netns exec "$H" timeout 30 \
		"${bus[@]}" ${LIBS:+LD_DEBUG=libs} CNI_COMMAND="$2" CNI_NETNS="$ns" CNI_IFNAME="$ifn" \
		CNI_CONTAINERID="$3" CNI_PATH="$BIN" "$P" 2>"$LAST_STDERR")
	RC=$?
}
cont_rules() { # CID: the native rules naming it (two per address)
	in_ns "$H" nft -j list chain inet cni_firewall containers 2>/dev/null |
		jq --arg id "id: $1" '[.nftables[] | select(.rule) | select(.rule.comment // "" | endswith($id))] | length' 2>/dev/null || echo 0
}
calls() { cat "$D/calls" 2>/dev/null; }
sources() { cat "$D/sources" 2>/dev/null; }
msg() { printf '%s' "$OUT" | jq -r .msg 2>/dev/null; }
has_msg() { grep -qF -- "$1" <<<"$(msg)"; }
stderr_has() { grep -qF -- "$1" "$LAST_STDERR"; }
start_bus() {
	dbus-daemon --config-file="$D/bus.conf" --nofork --nopidfile 2>>"$D/dbus.log" &
	BUSPID=$!
	PIDS="$PIDS $BUSPID"
	poll_until 5000 test -S "$D/bus" || fail "private bus" "did not start: $(cat "$D/dbus.log")"
}
start_fake() {
	rm -f "$D/ready" "$D/calls" "$D/inject"
	$PY "$(dirname "$0")/firewalld_fake.py" "$BUS" "$D" 2>>"$D/fake.log" &
	FAKE=$!
	PIDS="$PIDS $FAKE"
	poll_until 10000 test -e "$D/ready" || fail "fake firewalld" "did not start: $(cat "$D/fake.log")"
}
owned() {
	dbus-send --bus="$BUS" --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
		org.freedesktop.DBus.NameHasOwner string:org.fedoraproject.FirewallD1 2>/dev/null |
		grep -q 'boolean true'
}
not_owned() { ! owned; }
stop_fake() {
	kill "$FAKE"
	wait "$FAKE" 2>/dev/null
	poll_until 5000 not_owned || fail "fake firewalld" "its name is still owned"
}
loaded_libsystemd() { grep -q 'libsystemd.so.0' "$LAST_STDERR"; }

mkhost H

# ---- no bus at all: today's behaviour, libsystemd never loaded ----------------------------------
LIBS=1 run "$NOBUS" ADD c0 ""
check_eq "no bus: default ADD writes the native rules" "$RC:$(cont_rules c0)" 0:4
if loaded_libsystemd; then fail "no bus: libsystemd not loaded" "$(grep libsystemd "$LAST_STDERR" | head -2)"; else ok "no bus: libsystemd not loaded"; fi
if [ ! -e /run/dbus/system_bus_socket ]; then
	LIBS=1 run - CHECK c0 ""
	check_eq "no bus (variable unset, no /run/dbus/system_bus_socket): CHECK" "$RC:$OUT" "0:"
	if loaded_libsystemd; then fail "  libsystemd not loaded" "loaded"; else ok "  libsystemd not loaded"; fi
else
	skip "no bus at the default path" "this machine has a system bus"
fi
run "$NOBUS" ADD c1 '"backend":"firewalld"'
check_eq "no bus: backend firewalld refused, try later" "$RC:$(err_code)" 1:11
check "  naming the backend and the missing bus" has_msg 'backend "firewalld": firewalld is not running (no D-Bus system bus)'
run "$NOBUS" CHECK c1 '"backend":"firewalld"'
check_eq "no bus: backend firewalld CHECK, try later" "$RC:$(err_code)" 1:11
run "$NOBUS" DEL c1 '"backend":"firewalld"'
check_eq "no bus: backend firewalld DEL succeeds" "$RC:$OUT" "0:"
run "$NOBUS" STATUS "" '"backend":"firewalld"' ""
check_eq "no bus: backend firewalld STATUS not available" "$RC:$(err_code)" 1:50
run "$NOBUS" STATUS "" "" ""
check_eq "no bus: default STATUS" "$RC:$OUT" "0:"
run "$NOBUS" DEL c0 ""
check_eq "no bus: default DEL removes the native rules" "$RC:$(cont_rules c0)" 0:0

# ---- a bus without firewalld -------------------------------------------------------------------
start_bus
LIBS=1 run "$BUS" ADD c2 ""
check_eq "bus, no firewalld: default ADD writes the native rules" "$RC:$(cont_rules c2)" 0:4
check "  libsystemd loaded (the bus was asked)" loaded_libsystemd
check_eq "  no warning" "$(grep -c warning "$LAST_STDERR")" 0
run "$BUS" ADD c3 '"backend":"firewalld"'
check_eq "bus, no firewalld: backend firewalld refused, try later" "$RC:$(err_code)" 1:11
check "  naming the name without owner" has_msg 'org.fedoraproject.FirewallD1 has no owner on the system bus'
run "$BUS" DEL c2 ""
check_eq "bus, no firewalld: default DEL" "$RC:$(cont_rules c2)" 0:0

# ---- fake firewalld: backend "firewalld" --------------------------------------------------------
start_fake
run "$BUS" ADD c4 '"backend":"firewalld"'
check_eq "firewalld ADD" "$RC" 0
check_eq "  result is prevResult" "$(printf '%s' "$OUT" | norm)" "$(printf '%s' "$PREV" | norm)"
check_eq "  addSource(trusted, ip/32), (trusted, ip6/128)" "$(calls)" "addSource trusted 198.18.5.2/32
addSource trusted fd00:5::2/128"
check_eq "  both bound" "$(sources)" "trusted 198.18.5.2/32
trusted fd00:5::2/128"
check_eq "  no native rules (policy open)" "$(cont_rules c4)" 0
run "$BUS" ADD c4 '"backend":"firewalld"'
check_eq "firewalld ADD again: ZONE_ALREADY_SET ignored" "$RC:$(sources | wc -l)" 0:2
: >"$D/calls"
run "$BUS" CHECK c4 '"backend":"firewalld"'
check_eq "firewalld CHECK" "$RC:$OUT" "0:"
check_eq "  querySource for each" "$(calls)" "querySource trusted 198.18.5.2/32
querySource trusted fd00:5::2/128"
dbus-send --bus="$BUS" --print-reply --dest=org.fedoraproject.FirewallD1 /org/fedoraproject/FirewallD1 \
	org.fedoraproject.FirewallD1.reload >/dev/null
run "$BUS" CHECK c4 '"backend":"firewalld"'
check_eq "firewalld CHECK after a firewalld reload fails" "$RC" 1
check "  naming source and zone" has_msg 'source "198.18.5.2/32" is not in zone "trusted"'
run "$BUS" ADD c4 '"backend":"firewalld"'
check_eq "  ADD again restores the sources" "$RC:$(sources | wc -l)" 0:2
echo "querySource * DBUS_BROKE" >"$D/inject"
run "$BUS" CHECK c4 '"backend":"firewalld"'
check_eq "firewalld CHECK: a failed querySource is an error" "$RC" 1
check "  naming method, zone, source and the D-Bus error" has_msg 'firewalld querySource(zone "trusted", source "198.18.5.2/32"): org.fedoraproject.FirewallD1.Exception: DBUS_BROKE'
rm -f "$D/inject"
: >"$D/calls"
run "$BUS" DEL c4 '"backend":"firewalld"'
check_eq "firewalld DEL" "$RC:$OUT" "0:"
check_eq "  removeSource for each" "$(calls)" "removeSource trusted 198.18.5.2/32
removeSource trusted fd00:5::2/128"
check_eq "  nothing bound" "$(sources)" ""
run "$BUS" DEL c4 '"backend":"firewalld"'
check_eq "firewalld DEL again (UNKNOWN_SOURCE ignored)" "$RC:$OUT" "0:"
run "$BUS" DEL c4 '"backend":"firewalld"' ""
check_eq "firewalld DEL without prevResult" "$RC:$OUT" "0:"

# custom zone, an error in the middle, a conflict
run "$BUS" ADD c5 '"backend":"firewalld","firewalldZone":"internal"'
check_eq "firewalldZone: ADD binds to it" "$RC:$(sources)" "0:internal 198.18.5.2/32
internal fd00:5::2/128"
run "$BUS" DEL c5 '"backend":"firewalld","firewalldZone":"internal"'
check_eq "  DEL unbinds" "$RC:$(sources)" "0:"
echo "addSource fd00:5::2/128 INVALID_ZONE" >"$D/inject"
run "$BUS" ADD c6 '"backend":"firewalld"'
check_eq "firewalld error on the second address: ADD fails" "$RC" 1
check "  naming method, zone, source and firewalld's error" has_msg 'firewalld addSource(zone "trusted", source "fd00:5::2/128"): org.fedoraproject.FirewallD1.Exception: INVALID_ZONE'
check_eq "  the first address unbound again" "$(sources)" ""
rm -f "$D/inject"
run "$BUS" ADD c7 '"backend":"firewalld","firewalldZone":"public"'
run "$BUS" ADD c8 '"backend":"firewalld"'
check_eq "source bound to another zone: ADD fails" "$RC" 1
check "  with ZONE_CONFLICT" has_msg "ZONE_CONFLICT: '198.18.5.2/32' already bound to 'public'"
check_eq "  the other zone's sources untouched" "$(sources)" "public 198.18.5.2/32
public fd00:5::2/128"
run "$BUS" DEL c7 '"backend":"firewalld","firewalldZone":"public"'
# with an ingress policy, the native rules carry it
run "$BUS" ADD c9 '"backend":"firewalld","ingressPolicy":"same-bridge"'
check_eq "firewalld + ingressPolicy: sources and the native rules" "$RC:$(sources | wc -l):$(cont_rules c9)" 0:2:4
run "$BUS" DEL c9 '"backend":"firewalld","ingressPolicy":"same-bridge"'
check_eq "  DEL removes both" "$RC:$(sources | wc -l):$(cont_rules c9)" 0:0:0
run "$BUS" STATUS "" '"backend":"firewalld"' ""
check_eq "firewalld STATUS" "$RC:$OUT" "0:"
# a firewalld that never answers: bounded (2 s per call), named
echo "addSource * hang" >"$D/inject"
run "$BUS" ADD c10 '"backend":"firewalld"'
check_eq "firewalld not answering: ADD fails (bounded), try later" "$RC:$(err_code)" 1:11
check "  naming the call and the timeout" has_msg 'firewalld addSource(zone "trusted", source "198.18.5.2/32"): no answer within 2 s'
rm -f "$D/inject"

# ---- fake firewalld: the default backend --------------------------------------------------------
: >"$D/calls"
run "$BUS" ADD c11 ""
check_eq "default backend, firewalld running: ADD" "$RC" 0
check_eq "  binds the sources" "$(sources)" "trusted 198.18.5.2/32
trusted fd00:5::2/128"
check_eq "  and keeps its native rules" "$(cont_rules c11)" 4
run "$BUS" CHECK c11 ""
check_eq "  CHECK" "$RC:$OUT" "0:"
run "$BUS" DEL c11 ""
check_eq "  DEL unbinds and removes the native rules" "$RC:$(sources):$(cont_rules c11)" "0::0"
LIBS=1 run "$BUS" ADD c12 '"backend":"nftables"'
check_eq "backend nftables: ADD" "$RC:$(sources)" "0:"
if loaded_libsystemd; then fail "  never asks the bus" "libsystemd loaded"; else ok "  never asks the bus"; fi
run "$BUS" DEL c12 '"backend":"nftables"'

# ---- firewalld gone ----------------------------------------------------------------------------
run "$BUS" ADD c13 '"backend":"firewalld"'
run "$BUS" ADD c14 ""
stop_fake
run "$BUS" DEL c13 '"backend":"firewalld"'
check_eq "firewalld gone: backend firewalld DEL succeeds" "$RC:$OUT" "0:"
run "$BUS" DEL c14 ""
check_eq "firewalld gone: default DEL removes the native rules" "$RC:$(cont_rules c14)" 0:0
run "$BUS" ADD c13 '"backend":"firewalld"'
check_eq "firewalld gone: backend firewalld ADD, try later" "$RC:$(err_code)" 1:11
run "$BUS" ADD c14 ""
check_eq "firewalld gone: default ADD as without it" "$RC:$(cont_rules c14)" 0:4
run "$BUS" DEL c14 ""

# ---- a real firewalld (Debian's, if installed) in a private host: a container reaches a peer ----
# firewalld runs in host netns HF on the test's bus with a private configuration directory; the
# peer's link is in zone "work", the bridge in the default zone (public): firewalld rejects the
# container's forwarded traffic until its address is a source of "trusted".
if command -v firewalld >/dev/null && $PY -c 'import firewall' 2>/dev/null; then
	mkhost HF
	mkns RCN
	peer "$HF" RPN
	mkdir -p "$D/fwetc"
	[ -f /etc/firewalld/firewalld.conf ] && cp /etc/firewalld/firewalld.conf "$D/fwetc/"
	[ -d /run/firewalld ] || on_exit 'rmdir /run/firewalld 2>/dev/null'
	ip netns exec "$HF" env DBUS_SYSTEM_BUS_ADDRESS="$BUS" firewalld --nofork --nopid \
		--system-config "$D/fwetc" --log-target console >"$D/firewalld.log" 2>&1 &
	FWD=$!
	PIDS="$PIDS $FWD"
	if wait_for 60 owned && wait_for 30 in_ns "$HF" nft list chain inet firewalld filter_FORWARD; then
		fwd_call() { # METHOD ARGS...: a zone method of the real firewalld
			dbus-send --bus="$BUS" --print-reply --dest=org.fedoraproject.FirewallD1 \
				/org/fedoraproject/FirewallD1 "org.fedoraproject.FirewallD1.zone.$1" "${@:2}"
		}
		fwd_call changeZoneOfInterface string:work string:hp0 >/dev/null
		RBR='{"cniVersion":"1.0.0","name":"netr","type":"bridge","bridge":"cnifr0","isGateway":true,"ipam":{"type":"host-local","dataDir":"'$D/ipam'","ranges":[[{"subnet":"198.18.9.0/24"}]],"routes":[{"dst":"0.0.0.0/0"}]}}'
		hrun "$HF" "$BIN/bridge" ADD "$RCN" eth0 r1 "$RBR"
		RPREV=$OUT
		rfw() { # CMD EXTRA
			OUT=$(printf '%s' "$(printf '{"cniVersion":"1.0.0","name":"netr","type":"firewall"%s}' \
				"${2:+,$2}" | jq -c --argjson p "$RPREV" '. + {prevResult: $p}')" |
				ip netns exec "$HF" timeout 30 env DBUS_SYSTEM_BUS_ADDRESS="$BUS" \
					CNI_COMMAND="$1" CNI_NETNS="$RCN" CNI_IFNAME=eth0 CNI_CONTAINERID=r1 \
					CNI_PATH="$BIN" "$P" 2>"$LAST_STDERR")
			FRC=$?
		}
		trusted() { fwd_call getSources string:trusted | grep -o '"[^"]*"' | tr -d '"'; }
		rfw ADD '"backend":"nftables"'
		check_eq "real firewalld: backend nftables ADD" "$FRC" 0
		check "  firewalld rejects the container's traffic (native accepts alone)" no_ping "$RCN" 198.18.100.2
		rfw DEL '"backend":"nftables"'
		rfw ADD ""
		check_eq "real firewalld: default backend ADD" "$FRC:$(trusted)" "0:198.18.9.2/32"
		check "  the container reaches the peer through firewalld" ping_ok "$RCN" 198.18.100.2
		rfw CHECK ""
		check_eq "  CHECK" "$FRC:$OUT" "0:"
		dbus-send --bus="$BUS" --print-reply --dest=org.fedoraproject.FirewallD1 \
			/org/fedoraproject/FirewallD1 org.fedoraproject.FirewallD1.reload >/dev/null
		wait_for 30 sh -c "! dbus-send --bus='$BUS' --print-reply --dest=org.fedoraproject.FirewallD1 /org/fedoraproject/FirewallD1 org.fedoraproject.FirewallD1.zone.getSources string:trusted | grep -q 198.18.9.2"
		rfw CHECK ""
		check_eq "  CHECK after firewall-cmd --reload names the lost source" "$FRC:$(grep -c 'not in zone' <<<"$OUT")" 1:1
		rfw ADD ""
		check_eq "  ADD again binds it again" "$FRC:$(trusted)" "0:198.18.9.2/32"
		rfw DEL ""
		check_eq "  DEL unbinds it" "$FRC:$(trusted)" "0:"
		check "  and firewalld rejects again" no_ping "$RCN" 198.18.100.2
		hrun "$HF" "$BIN/bridge" DEL "$RCN" eth0 r1 "$RBR"
	else
		fail "real firewalld" "did not start: $(tail -5 "$D/firewalld.log")"
	fi
	kill "$FWD"
	wait "$FWD" 2>/dev/null
else
	skip "real firewalld" "firewalld (Debian package firewalld) is not installed"
fi

# ---- a bus that accepts and never speaks: bounded, a warning, the default goes on -------------
# bound and listening under a temporary name, then renamed: the path appears only once a
# connect() can no longer be refused (between bind and listen it would be)
$PY -c 'import os, socket, signal, sys
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1] + ".tmp")
s.listen(16)
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
signal.pause()' "$D/mute" &
PIDS="$PIDS $!"
poll_until 5000 test -S "$D/mute" || fail "mute bus" "did not start"
run "unix:path=$D/mute" ADD c15 ""
check_eq "mute bus: default ADD goes on (bounded)" "$RC:$(cont_rules c15)" 0:4
W='firewall: warning: firewalld not asked, going on without it: system bus: NameHasOwner("org.fedoraproject.FirewallD1"): no answer within 2 s'
check "  with a warning naming the bus call" stderr_has "$W"
stderr_has "$W" || echo "# its stderr: $(cat "$LAST_STDERR")"
run "$NOBUS" DEL c15 ""

# ---- libsystemd missing beside a bus: a warning, the default as before -------------------------
LIBSD=$(ldconfig -p 2>/dev/null | awk '/libsystemd\.so\.0 .*x86-64/ {print $NF; exit}')
[ -n "$LIBSD" ] || LIBSD=$(ldconfig -p 2>/dev/null | awk '/libsystemd\.so\.0 / {print $NF; exit}')
if [ -n "$LIBSD" ] && command -v unshare >/dev/null; then
	OUT=$(printf '%s' "$(fwconf netf "" "$PREV")" | ip netns exec "$H" unshare -m sh -c \
		'mount --bind /dev/null "$(readlink -f "$0")" && exec env "$@"' "$LIBSD" \
		DBUS_SYSTEM_BUS_ADDRESS="$BUS" CNI_COMMAND=ADD CNI_NETNS=/x CNI_IFNAME=eth0 \
		CNI_CONTAINERID=c16 CNI_PATH="$BIN" "$P" 2>"$LAST_STDERR")
	RC=$?
	check_eq "libsystemd missing: default ADD as before" "$RC:$(cont_rules c16)" 0:4
	check "  with a warning naming the library" stderr_has 'firewall: warning: firewalld not asked, going on without it: cannot load libsystemd.so.0'
	run "$NOBUS" DEL c16 ""
else
	skip "libsystemd missing" "no libsystemd.so.0 in ldconfig's cache to hide"
fi

check_eq "nothing left in the native chain" "$(in_ns "$H" nft -j list chain inet cni_firewall containers | jq '[.nftables[] | select(.rule)] | length')" 0
finish
