#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# firewall (default backend: absent or "") and portmap next to an iptables filter FORWARD that
# drops (Docker's policy, hardened hosts), in private "host" namespaces: bridge + portmap +
# firewall as podman chains them, traffic to a peer namespace routed through the host (egress,
# cross-network, a host port from "outside", other ports still dropped), the accepts in the
# reference's CNI-FORWARD layout read back with iptables -S, CHECK after a flush, ADD again,
# "Docker starts later", a final REJECT rule, DEL and GC leaving the host's policy, its FORWARD
# rules and foreign chains untouched, iptables-legacy detected, backend "nftables" writing
# nothing there, and the reference firewall's egress in the same scenario (parity).
. "$(dirname "$0")/lib.sh"
need_root firewall_coexist
P=$BIN/firewall
PM=$BIN/portmap
B=$BIN/bridge
tmpdir DATA
for cmd in iptables socat; do
	if ! command -v $cmd >/dev/null 2>&1; then
		skip firewall_coexist "$cmd is not installed"
		exit 0
	fi
done
if ! unshare -n iptables-nft -S >/dev/null 2>&1; then
	skip firewall_coexist "iptables-nft does not work here"
	exit 0
fi
PIDS=""
on_exit 'for p in $PIDS; do kill $p; done'
IPT=iptables-nft

brconf() { # NET BRIDGE SUBNET
	printf '{"cniVersion":"1.0.0","name":"%s","type":"bridge","bridge":"%s","isGateway":true,"ipam":{"type":"host-local","dataDir":"%s","ranges":[[{"subnet":"%s"}]],"routes":[{"dst":"0.0.0.0/0"}]}}' \
		"$1" "$2" "$DATA" "$3"
}
fwconf() { # NET EXTRA PREV
	local c
	c=$(printf '{"cniVersion":"1.0.0","name":"%s","type":"firewall"%s}' "$1" "${2:+,$2}")
	if [ -n "${3:-}" ]; then with_prev "$c" "$3"; else printf '%s' "$c"; fi
}
pmconf() { # NET MAPPINGS PREV
	local c
	c=$(printf '{"cniVersion":"1.0.0","name":"%s","type":"portmap","runtimeConfig":{"portMappings":%s}}' "$1" "$2")
	if [ -n "${3:-}" ]; then with_prev "$c" "$3"; else printf '%s' "$c"; fi
}
gcconf() { # NET TYPE VALID-JSON
	printf '{"cniVersion":"1.1.0","name":"%s","type":"%s","cni.dev/valid-attachments":%s}' "$1" "$2" "$3"
}
MAPS='[{"hostPort":8080,"containerPort":80,"protocol":"tcp"},{"hostPort":8053,"containerPort":53,"protocol":"udp"}]'

# attach HOST NETNS CID NET BRIDGE SUBNET [FW-EXTRA] [FW-PLUGIN]: bridge, portmap, firewall ADD;
# the bridge's result in $BRR.
attach() {
	hrun "$1" "$B" ADD "$2" eth0 "$3" "$(brconf "$4" "$5" "$6")"
	BRR=$OUT
	[ "$RC" = 0 ] || { fail "bridge ADD $3" "$OUT"; return 1; }
	hrun "$1" "$PM" ADD "$2" eth0 "$3" "$(pmconf "$4" "$MAPS" "$BRR")"
	[ "$RC" = 0 ] || { fail "portmap ADD $3" "$OUT"; return 1; }
	hrun "$1" "${8:-$P}" ADD "$2" eth0 "$3" "$(fwconf "$4" "${7:-}" "$BRR")"
	[ "$RC" = 0 ] || { fail "firewall ADD $3" "$OUT"; return 1; }
}
serve() { # NETNS NAME PORT [udp]
	local addr="TCP-LISTEN:$3,fork,reuseaddr"
	[ "${4:-}" = udp ] && addr="UDP-RECVFROM:$3,fork,reuseaddr"
	ip netns exec "$(basename "$1")" socat "$addr" SYSTEM:"echo $2" >/dev/null 2>&1 &
	PIDS="$PIDS $!"
}
ask() { # NETNS ADDR PORT [udp]: what answers (bounded)
	local a
	if [ "${4:-}" = udp ]; then
		for _ in 1 2 3; do
			a=$(echo x | in_ns "$1" timeout 3 socat -t2 -T2 - "UDP:$2:$3" 2>/dev/null | head -1)
			[ -n "$a" ] && break
		done
		printf '%s\n' "$a"
	else
		in_ns "$1" timeout 3 socat -T2 - "TCP:$2:$3,connect-timeout=2" </dev/null 2>/dev/null | head -1
	fi
}
ready() { in_ns "$1" ss -ln${3:-t} | grep -q ":$2 "; }
ipt_s() { in_ns "$1" $IPT -S "${2:-}" 2>/dev/null; }
# ours HOST CID: rules of ours (comment naming the container) in CNI-FORWARD
ours() { ipt_s "$1" CNI-FORWARD | grep -c "id: $2\"" ; }
# ours_fw HOST CID: the firewall's (not portmap's) among them
ours_fw() { ipt_s "$1" CNI-FORWARD | grep "id: $2\"" | grep -vc '"hostport '; }
policy() { ipt_s "$1" FORWARD | head -1; }
# check_err NAME PATTERN...: the last run failed (exit 1) and its error matches every PATTERN
check_err() {
	local name=$1 p
	shift
	[ "$RC" = 1 ] || { fail "$name" "exit $RC, want 1: $OUT"; return; }
	for p in "$@"; do
		grep -q -- "$p" <<<"$OUT" || { fail "$name" "no '$p' in: $OUT"; return; }
	done
	ok "$name"
}

# ---- FORWARD DROP before ADD: egress, cross-network, host ports from outside -------------------
mkhost H
mkns C1
mkns C2
peer "$H" PEER
in_ns "$H" $IPT -P FORWARD DROP
# foreign state that must survive everything: a chain of someone else's and a rule in FORWARD
in_ns "$H" $IPT -N FOREIGN
in_ns "$H" $IPT -A FOREIGN -s 198.18.99.0/24 -j ACCEPT
in_ns "$H" $IPT -A FORWARD -s 198.18.99.0/24 -j FOREIGN
FOREIGN_BEFORE=$(ipt_s "$H" FOREIGN)
attach "$H" "$C1" c1 net1 cbr1 198.18.1.0/24 && ok "ADD bridge + portmap + firewall with FORWARD DROP"
BR1=$BRR
attach "$H" "$C2" c2 net2 cbr2 198.18.2.0/24
BR2=$BRR
a1=$(ip_of "$C1")
a2=$(ip_of "$C2")
check_eq "FORWARD policy still DROP" "$(policy "$H")" "-P FORWARD DROP"
check "jump to CNI-FORWARD first in FORWARD" bash -c "ip netns exec $H $IPT -S FORWARD | sed -n 2p | grep -qx -- '-A FORWARD -m comment --comment \"CNI firewall plugin rules\" -j CNI-FORWARD'"
check "admin jump first in CNI-FORWARD" bash -c "ip netns exec $H $IPT -S CNI-FORWARD | sed -n 2p | grep -qx -- '-A CNI-FORWARD -m comment --comment \"CNI firewall plugin admin overrides\" -j CNI-ADMIN'"
check "reference-shaped egress accept" bash -c "ip netns exec $H $IPT -S CNI-FORWARD | grep -q -- '-A CNI-FORWARD -s $a1/32 -m comment --comment \".*id: c1\" -j ACCEPT'"
check "reference-shaped return accept" bash -c "ip netns exec $H $IPT -S CNI-FORWARD | grep -q -- '-A CNI-FORWARD -d $a1/32 -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment \".*id: c1\" -j ACCEPT'"
check "host port accept: DNAT only, tcp 80" bash -c "ip netns exec $H $IPT -S CNI-FORWARD | grep -q -- '-A CNI-FORWARD -d $a1/32 -p tcp -m tcp --dport 80 -m conntrack --ctstate DNAT -m comment --comment \"hostport .*id: c1\" -j ACCEPT'"
check "host port accept: DNAT only, udp 53" bash -c "ip netns exec $H $IPT -S CNI-FORWARD | grep -q -- '-A CNI-FORWARD -d $a1/32 -p udp -m udp --dport 53 -m conntrack --ctstate DNAT -m comment --comment \"hostport .*id: c1\" -j ACCEPT'"
check "iptables-save round-trips our rules" bash -c "ip netns exec $H iptables-nft-save -t filter | ip netns exec $H iptables-nft-restore --test"

serve "$PEER" peer 7000
serve "$C1" c1 80
serve "$C1" c1-81 81
serve "$C1" c1 53 udp
poll_until 2000 ready "$PEER" 7000
poll_until 2000 ready "$C1" 80
poll_until 2000 ready "$C1" 81
poll_until 2000 ready "$C1" 53 u
check "egress: container pings the peer through FORWARD DROP" ping_ok "$C1" 198.18.100.2
check_eq "egress: container's TCP to the peer" "$(ask "$C1" 198.18.100.2 7000)" peer
check "cross-network: c1 pings c2" ping_ok "$C1" "$a2"
check "cross-network: c2 pings c1" ping_ok "$C2" "$a1"
check_eq "host port from outside (tcp 8080 -> 80)" "$(ask "$PEER" 198.18.100.1 8080)" c1
check_eq "host port from outside (udp 8053 -> 53)" "$(ask "$PEER" 198.18.100.1 8053 udp)" c1
check_eq "unmapped container port stays dropped (routed to :81)" "$(ask "$PEER" "$a1" 81)" ""
check_eq "mapped container port without DNAT stays dropped (routed to :80)" "$(ask "$PEER" "$a1" 80)" ""

hrun "$H" "$P" CHECK "$C1" eth0 c1 "$(fwconf net1 "" "$BR1")"
check_eq "firewall CHECK passes" "$RC" 0
hrun "$H" "$PM" CHECK "$C1" eth0 c1 "$(pmconf net1 "$MAPS" "$BR1")"
check_eq "portmap CHECK passes" "$RC" 0

# ---- the host's firewall reloads: accepts flushed, CHECK reports, ADD again restores ------------
in_ns "$H" $IPT -F CNI-FORWARD
hrun "$H" "$P" CHECK "$C1" eth0 c1 "$(fwconf net1 "" "$BR1")"
check_err "firewall CHECK fails naming the missing accept and why" "not found in ip filter" \
	"CNI-FORWARD" "ip filter FORWARD (iptables-nft): policy DROP"
hrun "$H" "$PM" CHECK "$C1" eth0 c1 "$(pmconf net1 "$MAPS" "$BR1")"
check_eq "portmap CHECK fails with the accepts flushed" "$RC" 1
check "egress dropped again (the test can fail)" no_ping "$C1" 198.18.100.2
hrun "$H" "$PM" ADD "$C1" eth0 c1 "$(pmconf net1 "$MAPS" "$BR1")"
hrun "$H" "$P" ADD "$C1" eth0 c1 "$(fwconf net1 "" "$BR1")"
check_eq "ADD again (reload)" "$RC" 0
hrun "$H" "$P" CHECK "$C1" eth0 c1 "$(fwconf net1 "" "$BR1")"
check_eq "firewall CHECK passes after the reload" "$RC" 0
hrun "$H" "$PM" CHECK "$C1" eth0 c1 "$(pmconf net1 "$MAPS" "$BR1")"
check_eq "portmap CHECK passes after the reload" "$RC" 0
check "egress back after the reload" ping_ok "$C1" 198.18.100.2
check_eq "host port back after the reload" "$(ask "$PEER" 198.18.100.1 8080)" c1
n1=$(ours "$H" c1)
hrun "$H" "$P" ADD "$C1" eth0 c1 "$(fwconf net1 "" "$BR1")"
check_eq "ADD once more replaces, does not duplicate" "$(ours "$H" c1)" "$n1"

# ---- whole ruleset flushed (firewall restart), FORWARD DROP back: ADD again restores all --------
in_ns "$H" nft flush ruleset
in_ns "$H" $IPT -P FORWARD DROP
hrun "$H" "$P" CHECK "$C1" eth0 c1 "$(fwconf net1 "" "$BR1")"
check_eq "CHECK fails after a ruleset flush" "$RC" 1
hrun "$H" "$PM" ADD "$C1" eth0 c1 "$(pmconf net1 "$MAPS" "$BR1")"
hrun "$H" "$P" ADD "$C1" eth0 c1 "$(fwconf net1 "" "$BR1")"
hrun "$H" "$P" CHECK "$C1" eth0 c1 "$(fwconf net1 "" "$BR1")"
check_eq "CHECK passes after ADD again" "$RC" 0
check "egress after the flush and ADD again" ping_ok "$C1" 198.18.100.2
check_eq "host port after the flush and ADD again" "$(ask "$PEER" 198.18.100.1 8080)" c1
in_ns "$H" $IPT -N FOREIGN
in_ns "$H" $IPT -A FOREIGN -s 198.18.99.0/24 -j ACCEPT
in_ns "$H" $IPT -A FORWARD -s 198.18.99.0/24 -j FOREIGN
hrun "$H" "$PM" ADD "$C2" eth0 c2 "$(pmconf net2 "$MAPS" "$BR2")"
hrun "$H" "$P" ADD "$C2" eth0 c2 "$(fwconf net2 "" "$BR2")"

# ---- DEL and GC: ours go, the host's policy, FORWARD rules and foreign chains stay --------------
FWD_BEFORE=$(ipt_s "$H" FORWARD | grep -v CNI-FORWARD)
hrun "$H" "$P" DEL "$C1" eth0 c1 "$(fwconf net1 "" "$BR1")"
check_eq "firewall DEL" "$RC" 0
hrun "$H" "$PM" DEL "$C1" eth0 c1 "$(pmconf net1 "$MAPS" "$BR1")"
check_eq "portmap DEL" "$RC" 0
check_eq "DEL removed every accept of c1" "$(ours "$H" c1)" 0
check "c2's accepts stay" test "$(ours "$H" c2)" -ge 4
check "c1's egress dropped after DEL" no_ping "$C1" 198.18.100.2
hrun "$H" "$P" DEL "$C1" eth0 c1 "$(fwconf net1 "")"
check_eq "DEL again (nothing left)" "$RC" 0
check_eq "FORWARD's other rules and policy untouched" "$(ipt_s "$H" FORWARD | grep -v CNI-FORWARD)" "$FWD_BEFORE"
check_eq "foreign chain untouched" "$(ipt_s "$H" FOREIGN)" "$FOREIGN_BEFORE"
hrun "$H" "$P" GC "" "" "" "$(gcconf net2 firewall '[{"containerID":"c2","ifname":"eth0"}]')"
hrun "$H" "$PM" GC "" "" "" "$(gcconf net2 portmap '[{"containerID":"c2","ifname":"eth0"}]')"
check "GC keeps a valid attachment's accepts" test "$(ours "$H" c2)" -ge 4
hrun "$H" "$P" GC "" "" "" "$(gcconf net1 firewall '[]')"
hrun "$H" "$PM" GC "" "" "" "$(gcconf net1 portmap '[]')"
check "GC of another network keeps them" test "$(ours "$H" c2)" -ge 4
hrun "$H" "$P" GC "" "" "" "$(gcconf net2 firewall '[]')"
check_eq "firewall GC" "$RC" 0
hrun "$H" "$PM" GC "" "" "" "$(gcconf net2 portmap '[]')"
check_eq "portmap GC" "$RC" 0
check_eq "GC removed every accept of c2" "$(ours "$H" c2)" 0
check_eq "FORWARD policy still DROP after DEL and GC" "$(policy "$H")" "-P FORWARD DROP"
check_eq "foreign chain untouched by GC" "$(ipt_s "$H" FOREIGN)" "$FOREIGN_BEFORE"
# real names: a 64-hex container ID and "k8s-pod-network" cut the owner comments (128 bytes);
# GC goes by their hash: a leaked attachment's accepts go (its DEL never ran), a valid one's stay
mkns K1
mkns K2
KA=$(printf 'a%.0s' $(seq 64))
KB=$(printf 'b%.0s' $(seq 64))
attach "$H" "$K1" "$KA" k8s-pod-network kbr0 198.18.7.0/24
attach "$H" "$K2" "$KB" k8s-pod-network kbr0 198.18.7.0/24
k1=$(ip_of "$K1")
k2=$(ip_of "$K2")
by_ip() { ipt_s "$H" CNI-FORWARD | grep -c -- " $1/32 "; }
check "long names: accepts of both with FORWARD DROP" test "$(by_ip "$k1"):$(by_ip "$k2")" = "6:6"
hrun "$H" "$P" GC "" "" "" "$(gcconf k8s-pod-network firewall "[{\"containerID\":\"$KA\",\"ifname\":\"eth0\"}]")"
check_eq "long names: firewall GC" "$RC" 0
hrun "$H" "$PM" GC "" "" "" "$(gcconf k8s-pod-network portmap "[{\"containerID\":\"$KA\",\"ifname\":\"eth0\"}]")"
check_eq "long names: portmap GC" "$RC" 0
check_eq "long names: GC removed the leaked attachment's accepts, kept the valid one's" \
	"$(by_ip "$k1"):$(by_ip "$k2")" "6:0"

# ---- Docker starts later: ADD on an open host, then FORWARD DROP -------------------------------
mkhost H2
mkns D1
peer "$H2" PEER2
attach "$H2" "$D1" d1 net1 dbr1 198.18.3.0/24
BRD=$BRR
check_eq "open host: nothing written in iptables" "$(ipt_s "$H2" | grep -c CNI-FORWARD)" 0
check "open host: egress" ping_ok "$D1" 198.18.100.2
in_ns "$H2" $IPT -P FORWARD DROP
hrun "$H2" "$P" CHECK "$D1" eth0 d1 "$(fwconf net1 "" "$BRD")"
check_eq "CHECK reports FORWARD DROP set after ADD" "$RC" 1
hrun "$H2" "$PM" CHECK "$D1" eth0 d1 "$(pmconf net1 "$MAPS" "$BRD")"
check_eq "portmap CHECK reports it too" "$RC" 1
check "egress dropped once Docker started" no_ping "$D1" 198.18.100.2
hrun "$H2" "$PM" ADD "$D1" eth0 d1 "$(pmconf net1 "$MAPS" "$BRD")"
hrun "$H2" "$P" ADD "$D1" eth0 d1 "$(fwconf net1 "" "$BRD")"
hrun "$H2" "$P" CHECK "$D1" eth0 d1 "$(fwconf net1 "" "$BRD")"
check_eq "ADD again fixes it: CHECK passes" "$RC" 0
check "egress back after ADD again" ping_ok "$D1" 198.18.100.2
serve "$D1" d1 80
poll_until 2000 ready "$D1" 80
check_eq "host port from outside after ADD again" "$(ask "$PEER2" 198.18.100.1 8080)" d1
# policy back to ACCEPT: ADD again removes what is no longer needed
in_ns "$H2" $IPT -P FORWARD ACCEPT
hrun "$H2" "$P" ADD "$D1" eth0 d1 "$(fwconf net1 "" "$BRD")"
check_eq "ADD on an open host again removes its accepts" "$(ours_fw "$H2" d1)" 0
hrun "$H2" "$PM" ADD "$D1" eth0 d1 "$(pmconf net1 "$MAPS" "$BRD")"
check_eq "portmap ADD on an open host removes its accepts" "$(ours "$H2" d1)" 0
# a last REJECT rule drops too (firewalld's iptables backend, hardened hosts)
in_ns "$H2" $IPT -A FORWARD -j REJECT
hrun "$H2" "$P" CHECK "$D1" eth0 d1 "$(fwconf net1 "" "$BRD")"
check_err "CHECK names the final REJECT" "its last rule is -j REJECT"
hrun "$H2" "$P" ADD "$D1" eth0 d1 "$(fwconf net1 "" "$BRD")"
check "egress through a final REJECT after ADD" ping_ok "$D1" 198.18.100.2
in_ns "$H2" $IPT -D FORWARD -j REJECT

# ---- backend "nftables": the native layout only, nothing in iptables ----------------------------
in_ns "$H2" $IPT -P FORWARD DROP
hrun "$H2" "$P" DEL "$D1" eth0 d1 "$(fwconf net1 "" "$BRD")"
hrun "$H2" "$P" ADD "$D1" eth0 d1 "$(fwconf net1 '"backend":"nftables"' "$BRD")"
check_eq "backend nftables: ADD" "$RC" 0
check_eq "backend nftables: no accept in CNI-FORWARD" "$(ours_fw "$H2" d1)" 0
hrun "$H2" "$P" CHECK "$D1" eth0 d1 "$(fwconf net1 '"backend":"nftables"' "$BRD")"
check_eq "backend nftables: CHECK does not probe iptables" "$RC" 0

# ---- iptables-legacy: detected, never written --------------------------------------------------
if command -v iptables-legacy >/dev/null 2>&1 && unshare -n iptables-legacy -S >/dev/null 2>&1; then
	mkhost H3
	mkns L1
	in_ns "$H3" iptables-legacy -P FORWARD DROP
	hrun "$H3" "$B" ADD "$L1" eth0 l1 "$(brconf net1 lbr1 198.18.4.0/24)"
	LBR=$OUT
	hrun "$H3" "$P" ADD "$L1" eth0 l1 "$(fwconf net1 "" "$LBR")"
	check_eq "legacy FORWARD DROP: firewall ADD succeeds (native rules, as before)" "$RC" 0
	check "legacy FORWARD DROP: firewall warns naming the chain and the ways out" \
		grep -q "warning: .*ip legacy iptables (x_tables) filter FORWARD: policy DROP.*iptables-nft.*\"backend\": \"nftables" "$BUILD/last-stderr"
	check "legacy: the native rules are in place" test "$(in_ns "$H3" nft list ruleset | grep -c 'id: l1"')" -gt 0
	hrun "$H3" "$P" CHECK "$L1" eth0 l1 "$(fwconf net1 "" "$LBR")"
	check_eq "legacy FORWARD DROP: CHECK passes a live container" "$RC" 0
	check "legacy FORWARD DROP: CHECK warns" grep -q "warning: .*ip legacy iptables (x_tables) filter FORWARD: policy DROP" "$BUILD/last-stderr"
	hrun "$H3" "$P" DEL "$L1" eth0 l1 "$(fwconf net1 "" "$LBR")"
	hrun "$H3" "$PM" ADD "$L1" eth0 l1 "$(pmconf net1 "$MAPS" "$LBR")"
	check_eq "legacy FORWARD DROP: portmap ADD succeeds" "$RC" 0
	check "legacy FORWARD DROP: portmap warns" grep -q "warning: host ports unreachable" "$BUILD/last-stderr"
	hrun "$H3" "$P" ADD "$L1" eth0 l1 "$(fwconf net1 '"backend":"nftables"' "$LBR")"
	check_eq "legacy FORWARD DROP: backend nftables is the way out" "$RC" 0
	check_eq "legacy: nothing written in iptables-nft" "$(ipt_s "$H3" | grep -c CNI-FORWARD)" 0
	check_eq "legacy: x_tables untouched" "$(in_ns "$H3" iptables-legacy -S | tr '\n' ' ')" "-P INPUT ACCEPT -P FORWARD DROP -P OUTPUT ACCEPT "
	in_ns "$H3" iptables-legacy -P FORWARD ACCEPT
	in_ns "$H3" iptables-legacy -A FORWARD -j REJECT
	hrun "$H3" "$P" ADD "$L1" eth0 l1 "$(fwconf net1 "" "$LBR")"
	check "legacy final REJECT detected" grep -q "legacy iptables (x_tables) filter FORWARD: its last rule is -j REJECT" "$BUILD/last-stderr"
	in_ns "$H3" iptables-legacy -F FORWARD
	hrun "$H3" "$P" ADD "$L1" eth0 l1 "$(fwconf net1 "" "$LBR")"
	check_eq "legacy table with FORWARD ACCEPT: ADD" "$RC" 0
	if command -v strace >/dev/null 2>&1; then
		# strace-injected faults in the x_tables read (its only getsockopt calls)
		inject() { # NAME PLUGIN INJECT: a wrapper running PLUGIN with the fault (no LSan under ptrace)
			printf '#!/bin/sh\nASAN_OPTIONS=detect_leaks=0 exec strace -f -qq -o /dev/null -e inject=getsockopt:%s %s\n' "$3" "$2" >"$DATA/$1"
			chmod +x "$DATA/$1"
		}
		in_ns "$H3" iptables-legacy -P FORWARD DROP
		# GET_ENTRIES answers EAGAIN (the table changed size since GET_INFO): read again
		inject fw-eagain "$P" error=EAGAIN:when=2
		hrun "$H3" "$DATA/fw-eagain" ADD "$L1" eth0 l1 "$(fwconf net1 "" "$LBR")"
		check_eq "legacy: GET_ENTRIES EAGAIN once: ADD reads again and succeeds" "$RC:$(grep -c 'policy DROP' "$BUILD/last-stderr")" 0:1
		# the probe fails: a first ADD leaves nothing, an ADD again (network reload) keeps the rules
		inject fw-eio "$P" error=EIO
		hrun "$H3" "$DATA/fw-eio" ADD "$L1" eth0 l1g "$(fwconf net1 "" "$LBR")"
		check_err "legacy: firewall probe failing: ADD fails naming it" "legacy iptables filter"
		check_eq "legacy: the failed first ADD left no rule behind" "$(in_ns "$H3" nft list ruleset | grep -c 'id: l1g"')" 0
		hrun "$H3" "$DATA/fw-eio" ADD "$L1" eth0 l1 "$(fwconf net1 "" "$LBR")"
		check_err "legacy: firewall probe failing: ADD again fails" "legacy iptables filter"
		hrun "$H3" "$P" CHECK "$L1" eth0 l1 "$(fwconf net1 "" "$LBR")"
		check_eq "legacy: the failed ADD again kept the running container's rules" "$RC" 0
		# portmap's probe fails after its DNAT is committed: the ADD leaves none of its rules
		inject pm-eio "$PM" error=EIO
		hrun "$H3" "$DATA/pm-eio" ADD "$L1" eth0 l1f "$(pmconf net1 "$MAPS" "$LBR")"
		check_err "legacy: portmap probe failing: ADD fails naming it" "legacy iptables filter"
		check_eq "legacy: the failed portmap ADD left no rule behind" "$(in_ns "$H3" nft list ruleset | grep -c 'l1f')" 0
		in_ns "$H3" iptables-legacy -P FORWARD ACCEPT
	else
		skip "legacy faults" "strace is not installed"
	fi
else
	skip "iptables-legacy" "iptables-legacy is not installed or does not work"
fi

# ---- parallel ADDs on a FORWARD DROP host: one jump, one admin jump, every accept ---------------
mkhost H6
in_ns "$H6" $IPT -P FORWARD DROP
pids=""
for i in 1 2 3 4 5 6 7 8; do
	prev=$(printf '{"cniVersion":"1.0.0","interfaces":[{"name":"br9"},{"name":"v9"},{"name":"eth0","sandbox":"/x"}],"ips":[{"address":"198.18.9.%d/24","interface":2}]}' "$i")
	fwconf net1 "" "$prev" | ip netns exec "$H6" env CNI_COMMAND=ADD CNI_NETNS=/x CNI_IFNAME=eth0 \
		CNI_CONTAINERID="p$i" CNI_PATH="$BIN" "$P" >/dev/null 2>&1 &
	pids="$pids $!"
done
nfail=0
for p in $pids; do wait "$p" || nfail=$((nfail + 1)); done
check_eq "8 parallel ADDs succeed" "$nfail" 0
check_eq "parallel ADDs: one jump from FORWARD" "$(ipt_s "$H6" FORWARD | grep -c -- '-j CNI-FORWARD')" 1
check_eq "parallel ADDs: one admin jump" "$(ipt_s "$H6" CNI-FORWARD | grep -c -- '-j CNI-ADMIN')" 1
check_eq "parallel ADDs: every accept" "$(ipt_s "$H6" CNI-FORWARD | grep -c 'id: p[1-8]"')" 16

# ---- IPv6: each family decided on its own ------------------------------------------------------
brconf6() { # NET BRIDGE SUBNET4 SUBNET6
	printf '{"cniVersion":"1.0.0","name":"%s","type":"bridge","bridge":"%s","isGateway":true,"ipam":{"type":"host-local","dataDir":"%s","ranges":[[{"subnet":"%s"}],[{"subnet":"%s"}]],"routes":[{"dst":"0.0.0.0/0"},{"dst":"::/0"}]}}' \
		"$1" "$2" "$DATA" "$3" "$4"
}
mkhost H5
mkns V1
peer "$H5" PEER5
in_ns "$H5" ip addr add fd00:c0e::1/64 dev hp0 nodad
in_ns "$PEER5" ip addr add fd00:c0e::2/64 dev pp0 nodad
in_ns "$PEER5" ip -6 route add fd00:c0f::/64 via fd00:c0e::1
in_ns "$H5" ip6tables-nft -P FORWARD DROP
hrun "$H5" "$B" ADD "$V1" eth0 v1 "$(brconf6 net6 vbr1 198.18.7.0/24 fd00:c0f::/64)"
BRV=$OUT
hrun "$H5" "$PM" ADD "$V1" eth0 v1 "$(pmconf net6 "$MAPS" "$BRV")"
hrun "$H5" "$P" ADD "$V1" eth0 v1 "$(fwconf net6 "" "$BRV")"
check_eq "dual stack ADD with ip6 FORWARD DROP" "$RC" 0
v6=$(ip_of "$V1" eth0 inet6)
check_eq "ip filter untouched (v4 does not drop)" "$(ipt_s "$H5" | grep -c CNI-FORWARD)" 0
check "ip6 filter: the container's accepts" bash -c "ip netns exec $H5 ip6tables-nft -S CNI-FORWARD | grep -q -- '-A CNI-FORWARD -s $v6/128 -m comment --comment \".*id: v1\" -j ACCEPT'"
check "ip6 filter: the host port's accept" bash -c "ip netns exec $H5 ip6tables-nft -S CNI-FORWARD | grep -q -- '-A CNI-FORWARD -d $v6/128 -p tcp -m tcp --dport 80 -m conntrack --ctstate DNAT -m comment --comment \"hostport .*id: v1\" -j ACCEPT'"
check "IPv6 egress through ip6 FORWARD DROP" ping_ok "$V1" fd00:c0e::2
check "IPv4 egress (v4 open)" ping_ok "$V1" 198.18.100.2
hrun "$H5" "$P" CHECK "$V1" eth0 v1 "$(fwconf net6 "" "$BRV")"
check_eq "dual stack CHECK" "$RC" 0
in_ns "$H5" ip6tables-nft -F CNI-FORWARD
hrun "$H5" "$P" CHECK "$V1" eth0 v1 "$(fwconf net6 "" "$BRV")"
check_err "dual stack CHECK names the ip6 accept" "ip6 filter FORWARD (iptables-nft): policy DROP" "not found in ip6 filter"
hrun "$H5" "$PM" DEL "$V1" eth0 v1 "$(pmconf net6 "$MAPS")"
hrun "$H5" "$P" DEL "$V1" eth0 v1 "$(fwconf net6 "")"
check_eq "dual stack DEL leaves no accept" "$(in_ns "$H5" ip6tables-nft -S CNI-FORWARD | grep -c 'id: v1')" 0
if command -v ip6tables-legacy >/dev/null 2>&1 && unshare -n ip6tables-legacy -S >/dev/null 2>&1; then
	in_ns "$H5" ip6tables-legacy -P FORWARD DROP
	hrun "$H5" "$P" ADD "$V1" eth0 v1 "$(fwconf net6 "" "$BRV")"
	check_eq "ip6 legacy FORWARD DROP: ADD succeeds" "$RC" 0
	check "ip6 legacy FORWARD DROP detected" grep -q "warning: .*ip6 legacy iptables (x_tables) filter FORWARD: policy DROP" "$BUILD/last-stderr"
fi

# ---- parity: the reference firewall on the same FORWARD DROP host -------------------------------
if [ -x "$REF/firewall" ] && [ -x "$REF/portmap" ]; then
	mkhost H4
	mkns R1
	peer "$H4" PEER4
	in_ns "$H4" $IPT -P FORWARD DROP
	attach "$H4" "$R1" r1 net1 rbr1 198.18.5.0/24 '"backend":"iptables"' "$REF/firewall"
	check "reference: egress through FORWARD DROP" ping_ok "$R1" 198.18.100.2
	mkns O1
	attach "$H4" "$O1" o1 net2 rbr2 198.18.6.0/24
	check "ours: egress in the same host" ping_ok "$O1" 198.18.100.2
	check "ours to the reference's container (cross-network, both layouts)" ping_ok "$O1" "$(ip_of "$R1")"
	check_eq "both in one CNI-FORWARD, one jump" "$(ipt_s "$H4" FORWARD | grep -c 'CNI-FORWARD')" 1
else
	skip "reference parity" "reference firewall not installed in $REF"
fi
finish
