#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# dhcp IPAM against a real server: dnsmasq (Debian dnsmasq-base) in its own namespace behind a
# bridge of a private "host" namespace, our daemon running in that host namespace with its socket
# and state dir under a temp dir. Containers attach through macvlan (master: the bridge) and
# through bridge, both with "ipam": {"type": "dhcp"}. dnsmasq hands out 2-minute leases with
# T1 = 10 s and T2 = 20 s (options 58/59 through --dhcp-option, which dnsmasq sends instead of its
# own), so a renewal is seen within a test. Checked: STATUS 50 and a clear ADD error without the
# daemon, DEL without the daemon; ADD result (address, gateway, routes of option 121) and kernel
# state; ADD latency; CHECK; renew by unicast seen by the server; daemon SIGKILLed and restarted
# mid-lease keeps and renews the lease; NAK on renewal removes the address and the lease is
# re-acquired; GC releases attachments not in the valid list; DEL makes the server see a RELEASE,
# DEL twice and DEL without ADD succeed; server absent: ADD fails within its timeout and leaves
# nothing behind.
. "$(dirname "$0")/lib.sh"
need_root dhcp
if ! command -v dnsmasq >/dev/null 2>&1; then
	skip dhcp "dnsmasq not installed (Debian package dnsmasq-base)"
	exit 0
fi
P=$BIN/dhcp
[ -x "$P" ] || {
	fail "dhcp binary" "$P missing"
	finish
}
tmpdir D
SOCK=$D/dhcp.sock
DPID=""
SPID=""

mkhost H
mkns S
mkns C1
mkns C2
mkns C3
mkns C4
SN=$(basename "$S")
BR=dbr$T_TAG
SV=vs$T_TAG
ip -n "$H" link add "$BR" type bridge
ip -n "$H" link set "$BR" up
ip -n "$H" link add "$SV" type veth peer name eth0 netns "$SN"
ip -n "$H" link set "$SV" master "$BR" up
ip -n "$SN" link set eth0 up
ip -n "$SN" addr add 10.77.0.1/24 dev eth0

# server RANGE-START RANGE-END: (re)start dnsmasq in S.
server() {
	ip netns exec "$SN" dnsmasq --keep-in-foreground --port=0 --interface=eth0 --bind-interfaces \
		-u root --dhcp-authoritative --no-ping --dhcp-range="$1,$2,255.255.255.0,2m" \
		--dhcp-option=3,10.77.0.1 --dhcp-option=option:T1,10 --dhcp-option=option:T2,20 \
		--dhcp-option=121,10.99.0.0/16,10.77.0.1,0.0.0.0/0,10.77.0.1 \
		--dhcp-leasefile="$D/leases" --log-dhcp --log-facility="$D/dnsmasq.log" \
		--pid-file="$D/dnsmasq.pid" 2>>"$D/dnsmasq.err" &
	SPID=$!
	poll_until 3000 grep -q 'DHCP, IP range' "$D/dnsmasq.log"
}
server_stop() {
	[ -n "$SPID" ] && kill "$SPID" 2>/dev/null && wait "$SPID" 2>/dev/null
	SPID=""
}
# daemon [FLAGS]: start our daemon in H (DHCP_DAEMON_WRAP, e.g. "valgrind -q", wraps it).
daemon() {
	# shellcheck disable=SC2086
	ip netns exec "$H" ${DHCP_DAEMON_WRAP:-} "$P" daemon -socketpath "$SOCK" -statedir "$D/state" \
		-pidfile "$D/daemon.pid" "$@" >>"$D/daemon.log" 2>&1 &
	DPID=$!
	poll_until 10000 test -S "$SOCK"
}
daemon_stop() { # SIGNAL
	[ -n "$DPID" ] && kill "-$1" "$DPID" 2>/dev/null && wait "$DPID" 2>/dev/null
	DPID=""
}
on_exit 'daemon_stop TERM; server_stop'

mvconf() { # NAME [EXTRA-IPAM-KEYS]
	printf '{"cniVersion":"1.1.0","name":"%s","type":"macvlan","master":"%s","mode":"bridge","ipam":{"type":"dhcp","daemonSocketPath":"%s"%s}}' \
		"$1" "$BR" "$SOCK" "${2:+,$2}"
}
brconf() {
	printf '{"cniVersion":"1.1.0","name":"%s","type":"bridge","bridge":"%s","ipam":{"type":"dhcp","daemonSocketPath":"%s"}}' \
		"$1" "$BR" "$SOCK"
}
ipamconf() { # COMMAND-NETWORK: the IPAM plugin called directly
	printf '{"cniVersion":"1.1.0","name":"%s","ipam":{"type":"dhcp","daemonSocketPath":"%s"}}' "$1" "$SOCK"
}
ip_of() { in_ns "$1" ip -j -4 addr show dev eth0 2>/dev/null | jq -r '[.[0].addr_info[]? | select(.scope=="global") | .local][0] // empty'; }
has_link() { in_ns "$1" ip link show eth0 >/dev/null 2>&1 && echo yes || echo no; }
acks() { grep -c "DHCPACK.* $1" "$D/dnsmasq.log" 2>/dev/null || true; }
acks_gt() { [ "$(acks "$1")" -gt "$2" ]; }
released() { grep -q "DHCPRELEASE.* $1" "$D/dnsmasq.log"; }
leases_files() { find "$D/state" -name '*.lease' ! -name '.tmp-*' 2>/dev/null | wc -l; } # not a save in flight
now_ms() { date +%s%3N; }

server 10.77.0.50 10.77.0.150

# ---- no daemon --------------------------------------------------------------------------------
hrun "$H" "$P" STATUS "" "" "" "$(ipamconf net-a)"
check_eq "STATUS without daemon is code 50" "$RC:$(err_code)" "1:50"
hrun "$H" "$BIN/macvlan" ADD "$C1" eth0 c1 "$(mvconf net-a)"
check_eq "ADD without daemon fails" "$RC" 1
case $(printf '%s' "$OUT" | jq -r .msg) in
*"cannot reach the DHCP daemon"*) ok "ADD without daemon: clear error" ;;
*) fail "ADD without daemon: clear error" "$OUT" ;;
esac
check_eq "ADD without daemon leaves no link" "$(has_link "$C1")" no
hrun "$H" "$BIN/macvlan" DEL "$C1" eth0 c1 "$(mvconf net-a)"
check_eq "DEL without daemon succeeds" "$RC:$OUT" "0:"

daemon -timeout 5s
hrun "$H" "$P" STATUS "" "" "" "$(ipamconf net-a)"
check_eq "STATUS with daemon" "$RC:$OUT" "0:"
check_eq "socket mode 0600" "$(stat -c %a "$SOCK")" 600

# ---- macvlan + dhcp --------------------------------------------------------------------------
t0=$(now_ms)
hrun "$H" "$BIN/macvlan" ADD "$C1" eth0 c1 "$(mvconf net-a)"
t1=$(now_ms)
check_eq "macvlan ADD" "$RC" 0
R1=$OUT
A1=$(printf '%s' "$R1" | jq -r '.ips[0].address')
MAC1=$(printf '%s' "$R1" | jq -r '.interfaces[0].mac')
# ADD waited for no retransmission: one DISCOVER and one REQUEST reached the server before T1
# renews (the time itself printed, not asserted: speed is make bench's)
echo "# macvlan + dhcp ADD took $((t1 - t0)) ms"
check_eq "ADD needed one DISCOVER" "$(grep -ci "DHCPDISCOVER.* $MAC1" "$D/dnsmasq.log")" 1
check_eq "ADD needed one REQUEST" "$(grep -ci "DHCPREQUEST.* $MAC1" "$D/dnsmasq.log")" 1
case $A1 in 10.77.0.*/24) ok "macvlan ADD address from the range ($A1)" ;; *) fail "macvlan ADD address" "$A1" ;; esac
check_eq "gateway is the router option" "$(printf '%s' "$R1" | jq -r '.ips[0].gateway')" 10.77.0.1
check_eq "routes from option 121" "$(printf '%s' "$R1" | jq -c '[.routes[] | [.dst, .gw]]')" \
	'[["10.99.0.0/16","10.77.0.1"],["0.0.0.0/0","10.77.0.1"]]'
check_eq "address on eth0" "$(ip_of "$C1")/24" "$A1"
check_eq "route 10.99.0.0/16 in the container" \
	"$(in_ns "$C1" ip -j route show 10.99.0.0/16 | jq -r '.[0].gateway')" 10.77.0.1
check "container pings the server" ping_ok "$C1" 10.77.0.1
check_eq "one lease file" "$(leases_files)" 1
hrun "$H" "$BIN/macvlan" CHECK "$C1" eth0 c1 "$(mvconf net-a | jq -c --argjson p "$R1" '. + {prevResult: $p}')"
check_eq "CHECK after ADD" "$RC:$OUT" "0:"
hrun "$H" "$P" CHECK "$C1" eth0 nope "$(ipamconf net-a)"
check_eq "CHECK of an unknown attachment fails" "$RC" 1

# ---- bridge + dhcp ---------------------------------------------------------------------------
hrun "$H" "$BIN/bridge" ADD "$C2" eth0 c2 "$(brconf net-b)"
check_eq "bridge ADD" "$RC" 0
R2=$OUT
A2=$(printf '%s' "$R2" | jq -r '.ips[0].address')
case $A2 in 10.77.0.*/24) ok "bridge ADD address ($A2)" ;; *) fail "bridge ADD address" "$A2" ;; esac
[ "$A2" != "$A1" ] && ok "two attachments, two leases" || fail "two attachments, two leases" "$A1 $A2"
check "bridge container pings the server" ping_ok "$C2" 10.77.0.1

# ---- renewal ---------------------------------------------------------------------------------
if poll_until 16000 acks_gt "$MAC1" 1; then ok "renewal seen by the server within T1"; else fail "renewal" "acks=$(acks "$MAC1")"; fi
# The server logs its ACK before our daemon has read it: wait (bounded) for the daemon's line.
poll_until 3000 grep -q "c1/net-a/eth0: lease renewed (unicast" "$D/daemon.log" && ok "renewal was unicast" ||
	fail "renewal was unicast" "$(tail -3 "$D/daemon.log")"

# ---- daemon killed and restarted mid-lease -----------------------------------------------------
daemon_stop KILL
n=$(acks "$MAC1")
daemon -timeout 5s
if poll_until 3000 grep -q "c1/net-a/eth0: resuming lease of ${A1}" "$D/daemon.log"; then ok "restarted daemon resumes the lease"; else fail "resume" "$(tail -3 "$D/daemon.log")"; fi
if poll_until 16000 acks_gt "$MAC1" "$n"; then ok "resumed lease renewed"; else fail "resumed lease renewed" "acks=$(acks "$MAC1")"; fi
check_eq "address kept after restart" "$(ip_of "$C1")/24" "$A1"
hrun "$H" "$BIN/macvlan" ADD "$C1" eth0 c1 "$(mvconf net-a)"
check_eq "a second ADD is refused by macvlan (eth0 exists)" "$RC" 1
hrun "$H" "$P" ADD "$C1" eth0 c1 "$(ipamconf net-a)"
check_eq "IPAM ADD of a live attachment returns its lease" "$RC:$(printf '%s' "$OUT" | jq -r '.ips[0].address')" "0:$A1"

# ---- GC ----------------------------------------------------------------------------------------
hrun "$H" "$BIN/macvlan" ADD "$C3" eth0 c3 "$(mvconf net-a)"
check_eq "macvlan ADD c3" "$RC" 0
MAC3=$(printf '%s' "$OUT" | jq -r '.interfaces[0].mac')
hrun "$H" "$P" GC "" "" "" "$(ipamconf net-a | jq -c '. + {"cni.dev/valid-attachments":[{"containerID":"c1","ifname":"eth0"}]}')"
check_eq "GC" "$RC:$OUT" "0:"
if poll_until 2000 released "$MAC3"; then ok "GC released c3 (server saw DHCPRELEASE)"; else fail "GC release" "no DHCPRELEASE for $MAC3"; fi
check_eq "GC kept c1 (other network's c2 untouched)" "$(leases_files)" 2
hrun "$H" "$BIN/macvlan" DEL "$C3" eth0 c3 "$(mvconf net-a)"
check_eq "DEL after GC" "$RC" 0

# ---- lease loss: the server NAKs the renewal -----------------------------------------------------
server_stop
: >"$D/dnsmasq.log"
server 10.77.0.200 10.77.0.210
if poll_until 25000 grep -q "c1/net-a/eth0: lease of ${A1} lost" "$D/daemon.log"; then ok "NAK on renewal: lease lost, logged"; else fail "lease loss" "$(tail -3 "$D/daemon.log")"; fi
if poll_until 8000 sh -c "ip -n $(basename "$C1") -4 addr show dev eth0 | grep -q 'inet 10.77.0.2[01]'"; then
	ok "lost address removed, new lease re-acquired and added ($(ip_of "$C1"))"
else
	fail "re-acquire" "$(ip -n "$(basename "$C1")" -4 addr show dev eth0)"
fi
in_ns "$C1" ip -4 addr show dev eth0 | grep -q "inet $A1" && fail "old address removed" "still there" || ok "old address removed"

# ---- conf/examples/dhcp.conflist (provide host-name fromArg K8S_POD_NAME) -------------------------
EX=$(jq -c --arg br "$BR" --arg s "$SOCK" '. as $l | $l.plugins[0] + {cniVersion: $l.cniVersion, name: $l.name}
	| .master = $br | .ipam.daemonSocketPath = $s' "$TOP/conf/examples/dhcp.conflist")
hrun "$H" "$BIN/macvlan" ADD "$C3" eth0 ex1 "$EX" "IgnoreUnknown=1;K8S_POD_NAME=pod-$T_TAG"
check_eq "example dhcp.conflist: ADD" "$RC" 0
RX=$OUT
MACX=$(printf '%s' "$RX" | jq -r '.interfaces[0].mac')
if grep -q "client provides name: pod-$T_TAG" "$D/dnsmasq.log"; then ok "example: host-name sent from K8S_POD_NAME"; else fail "example: host-name" "not in the server log"; fi
hrun "$H" "$BIN/macvlan" CHECK "$C3" eth0 ex1 "$(printf '%s' "$EX" | jq -c --argjson p "$RX" '. + {prevResult: $p}')"
check_eq "example dhcp.conflist: CHECK" "$RC:$OUT" "0:"
hrun "$H" "$BIN/macvlan" DEL "$C3" eth0 ex1 "$EX"
check_eq "example dhcp.conflist: DEL" "$RC:$OUT" "0:"
if poll_until 2000 released "$MACX"; then ok "example: released"; else fail "example: released" "no DHCPRELEASE"; fi

# ---- DEL -----------------------------------------------------------------------------------------
hrun "$H" "$BIN/macvlan" DEL "$C1" eth0 c1 "$(mvconf net-a)"
check_eq "macvlan DEL" "$RC:$OUT" "0:"
if poll_until 2000 released "$MAC1"; then ok "DEL: server saw DHCPRELEASE"; else fail "DEL release" "no DHCPRELEASE for $MAC1"; fi
check_eq "macvlan DEL removed eth0" "$(has_link "$C1")" no
hrun "$H" "$BIN/macvlan" DEL "$C1" eth0 c1 "$(mvconf net-a)"
check_eq "macvlan DEL twice" "$RC:$OUT" "0:"
hrun "$H" "$BIN/macvlan" DEL "$C1" eth9 never "$(mvconf net-a)"
check_eq "DEL without ADD" "$RC:$OUT" "0:"
hrun "$H" "$BIN/bridge" DEL "$C2" eth0 c2 "$(brconf net-b)"
check_eq "bridge DEL" "$RC:$OUT" "0:"
hrun "$H" "$BIN/bridge" DEL "$C2" eth0 c2 "$(brconf net-b)"
check_eq "bridge DEL twice" "$RC:$OUT" "0:"
check_eq "no lease file left" "$(leases_files)" 0

# ---- server absent ---------------------------------------------------------------------------
server_stop
t0=$(now_ms)
hrun "$H" "$BIN/macvlan" ADD "$C4" eth0 c4 "$(mvconf net-a '"timeout":"2s"')"
t1=$(now_ms)
check_eq "ADD without server fails" "$RC" 1
case $(printf '%s' "$OUT" | jq -r .msg) in
*"no DHCP lease on eth0"*) ok "ADD without server: clear error" ;;
*) fail "ADD without server: clear error" "$OUT" ;;
esac
ms=$((t1 - t0))
if [ "$ms" -ge 1900 ] && [ "$ms" -lt 4000 ]; then ok "failed within its 2 s timeout (${ms} ms)"; else fail "timeout" "${ms} ms"; fi
check_eq "nothing left: no link" "$(has_link "$C4")" no
check_eq "nothing left: no lease file" "$(leases_files)" 0
hrun "$H" "$P" CHECK "$C4" eth0 c4 "$(ipamconf net-a)"
check_eq "nothing left: daemon has no client" "$RC" 1

# ---- SIGTERM -------------------------------------------------------------------------------------
daemon_stop TERM
check_eq "SIGTERM: socket removed" "$(test -e "$SOCK" && echo yes || echo no)" no
check_eq "SIGTERM: pidfile removed" "$(test -e "$D/daemon.pid" && echo yes || echo no)" no
if grep -qiE 'Sanitizer|runtime error|ERROR SUMMARY: [1-9]|definitely lost: [1-9]' "$D/daemon.log"; then
	fail "daemon log clean" "$(grep -iE 'Sanitizer|SUMMARY|lost' "$D/daemon.log" | head -3)"
else
	ok "daemon log clean"
fi
# The daemon's own account, for whoever reads the test log.
sed 's/^/# /' "$D/daemon.log"
finish
