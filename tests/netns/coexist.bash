# SPDX-License-Identifier: Apache-2.0
# Helpers of the coexistence tests (firewall_coexist.sh: iptables-nft, legacy_coexist.sh:
# iptables-legacy), sourced after lib.sh: configurations of bridge + portmap + firewall as podman
# chains them, a peer namespace "outside the host", servers and clients, and the rules of CNI-FORWARD
# read back with $IPT (the iptables the test is about). The caller sets P, PM, B, DATA, IPT, PIDS.

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

brconf6() { # NET BRIDGE SUBNET4 SUBNET6
	printf '{"cniVersion":"1.0.0","name":"%s","type":"bridge","bridge":"%s","isGateway":true,"ipam":{"type":"host-local","dataDir":"%s","ranges":[[{"subnet":"%s"}],[{"subnet":"%s"}]],"routes":[{"dst":"0.0.0.0/0"},{"dst":"::/0"}]}}' \
		"$1" "$2" "$DATA" "$3" "$4"
}
# parallel_adds HOST: 8 firewall ADDs at once (containers p1..p8, 198.18.9.1-8, no links needed:
# the firewall reads only prevResult); the number that failed in NFAIL.
parallel_adds() {
	local pids="" prev i p
	for i in 1 2 3 4 5 6 7 8; do
		prev=$(printf '{"cniVersion":"1.0.0","interfaces":[{"name":"br9"},{"name":"v9"},{"name":"eth0","sandbox":"/x"}],"ips":[{"address":"198.18.9.%d/24","interface":2}]}' "$i")
		fwconf net1 "" "$prev" | ip netns exec "$1" env CNI_COMMAND=ADD CNI_NETNS=/x CNI_IFNAME=eth0 \
			CNI_CONTAINERID="p$i" CNI_PATH="$BIN" "$P" >/dev/null 2>&1 &
		pids="$pids $!"
	done
	NFAIL=0
	for p in $pids; do wait "$p" || NFAIL=$((NFAIL + 1)); done
}

# drop_host: a host whose $IPT filter FORWARD drops (policy DROP) before ADD, a foreign chain and
# rule in it, c1 and c2 on two networks (bridge + portmap + firewall): the layout read back,
# egress, cross-network traffic, host ports from the peer, CHECK; the accepts flushed (CHECK
# names one, ADD again restores); the firewall restarted (`restart`, policy DROP again): ADD again
# restores all. Sets H, C1, C2, PEER, BR1, BR2, a1, a2, FOREIGN_BEFORE. The caller sets WHY
# (the probe's text), NOTFOUND (CHECK's "not found in <table>"), restart() and TAG (labels).
drop_host() {
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
	attach "$H" "$C1" c1 net1 cbr1 198.18.1.0/24 && ok "${TAG}ADD bridge + portmap + firewall with FORWARD DROP"
	BR1=$BRR
	attach "$H" "$C2" c2 net2 cbr2 198.18.2.0/24
	BR2=$BRR
	a1=$(ip_of "$C1")
	a2=$(ip_of "$C2")
	check_eq "${TAG}FORWARD policy still DROP" "$(policy "$H")" "-P FORWARD DROP"
	check "${TAG}jump to CNI-FORWARD first in FORWARD" bash -c "ip netns exec $H $IPT -S FORWARD | sed -n 2p | grep -qx -- '-A FORWARD -m comment --comment \"CNI firewall plugin rules\" -j CNI-FORWARD'"
	check "${TAG}admin jump first in CNI-FORWARD" bash -c "ip netns exec $H $IPT -S CNI-FORWARD | sed -n 2p | grep -qx -- '-A CNI-FORWARD -m comment --comment \"CNI firewall plugin admin overrides\" -j CNI-ADMIN'"
	check "${TAG}reference-shaped egress accept" bash -c "ip netns exec $H $IPT -S CNI-FORWARD | grep -q -- '-A CNI-FORWARD -s $a1/32 -m comment --comment \".*id: c1\" -j ACCEPT'"
	check "${TAG}reference-shaped return accept" bash -c "ip netns exec $H $IPT -S CNI-FORWARD | grep -q -- '-A CNI-FORWARD -d $a1/32 -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment \".*id: c1\" -j ACCEPT'"
	check "${TAG}host port accept: DNAT only, tcp 80" bash -c "ip netns exec $H $IPT -S CNI-FORWARD | grep -q -- '-A CNI-FORWARD -d $a1/32 -p tcp -m tcp --dport 80 -m conntrack --ctstate DNAT -m comment --comment \"hostport .*id: c1\" -j ACCEPT'"
	check "${TAG}host port accept: DNAT only, udp 53" bash -c "ip netns exec $H $IPT -S CNI-FORWARD | grep -q -- '-A CNI-FORWARD -d $a1/32 -p udp -m udp --dport 53 -m conntrack --ctstate DNAT -m comment --comment \"hostport .*id: c1\" -j ACCEPT'"
	check "${TAG}iptables-save round-trips our rules" bash -c "ip netns exec $H $IPT-save -t filter | ip netns exec $H $IPT-restore --test"

	serve "$PEER" peer 7000
	serve "$C1" c1 80
	serve "$C1" c1-81 81
	serve "$C1" c1 53 udp
	poll_until 2000 ready "$PEER" 7000
	poll_until 2000 ready "$C1" 80
	poll_until 2000 ready "$C1" 81
	poll_until 2000 ready "$C1" 53 u
	check "${TAG}egress: container pings the peer through FORWARD DROP" ping_ok "$C1" 198.18.100.2
	check_eq "${TAG}egress: container's TCP to the peer" "$(ask "$C1" 198.18.100.2 7000)" peer
	check "${TAG}cross-network: c1 pings c2" ping_ok "$C1" "$a2"
	check "${TAG}cross-network: c2 pings c1" ping_ok "$C2" "$a1"
	check_eq "${TAG}host port from outside (tcp 8080 -> 80)" "$(ask "$PEER" 198.18.100.1 8080)" c1
	check_eq "${TAG}host port from outside (udp 8053 -> 53)" "$(ask "$PEER" 198.18.100.1 8053 udp 40053)" c1
	check_eq "${TAG}unmapped container port stays dropped (routed to :81)" "$(ask "$PEER" "$a1" 81)" ""
	check_eq "${TAG}mapped container port without DNAT stays dropped (routed to :80)" "$(ask "$PEER" "$a1" 80)" ""

	hrun "$H" "$P" CHECK "$C1" eth0 c1 "$(fwconf net1 "" "$BR1")"
	check_eq "${TAG}firewall CHECK passes" "$RC" 0
	hrun "$H" "$PM" CHECK "$C1" eth0 c1 "$(pmconf net1 "$MAPS" "$BR1")"
	check_eq "${TAG}portmap CHECK passes" "$RC" 0

	# ---- the host's firewall reloads: accepts flushed, CHECK reports, ADD again restores ------------
	in_ns "$H" $IPT -F CNI-FORWARD
	hrun "$H" "$P" CHECK "$C1" eth0 c1 "$(fwconf net1 "" "$BR1")"
	check_err "${TAG}firewall CHECK fails naming the missing accept and why" "$NOTFOUND" \
		"CNI-FORWARD" "$WHY"
	hrun "$H" "$PM" CHECK "$C1" eth0 c1 "$(pmconf net1 "$MAPS" "$BR1")"
	check_eq "${TAG}portmap CHECK fails with the accepts flushed" "$RC" 1
	check "${TAG}egress dropped again (the test can fail)" no_ping "$C1" 198.18.100.2
	hrun "$H" "$PM" ADD "$C1" eth0 c1 "$(pmconf net1 "$MAPS" "$BR1")"
	hrun "$H" "$P" ADD "$C1" eth0 c1 "$(fwconf net1 "" "$BR1")"
	check_eq "${TAG}ADD again (reload)" "$RC" 0
	hrun "$H" "$P" CHECK "$C1" eth0 c1 "$(fwconf net1 "" "$BR1")"
	check_eq "${TAG}firewall CHECK passes after the reload" "$RC" 0
	hrun "$H" "$PM" CHECK "$C1" eth0 c1 "$(pmconf net1 "$MAPS" "$BR1")"
	check_eq "${TAG}portmap CHECK passes after the reload" "$RC" 0
	check "${TAG}egress back after the reload" ping_ok "$C1" 198.18.100.2
	check_eq "${TAG}host port back after the reload" "$(ask "$PEER" 198.18.100.1 8080)" c1
	n1=$(ours "$H" c1)
	hrun "$H" "$P" ADD "$C1" eth0 c1 "$(fwconf net1 "" "$BR1")"
	check_eq "${TAG}ADD once more replaces, does not duplicate" "$(ours "$H" c1)" "$n1"

	# ---- whole ruleset flushed (firewall restart), FORWARD DROP back: ADD again restores all --------
	restart
	in_ns "$H" $IPT -P FORWARD DROP
	hrun "$H" "$P" CHECK "$C1" eth0 c1 "$(fwconf net1 "" "$BR1")"
	check_eq "${TAG}CHECK fails after a ruleset flush" "$RC" 1
	hrun "$H" "$PM" ADD "$C1" eth0 c1 "$(pmconf net1 "$MAPS" "$BR1")"
	hrun "$H" "$P" ADD "$C1" eth0 c1 "$(fwconf net1 "" "$BR1")"
	hrun "$H" "$P" CHECK "$C1" eth0 c1 "$(fwconf net1 "" "$BR1")"
	check_eq "${TAG}CHECK passes after ADD again" "$RC" 0
	check "${TAG}egress after the flush and ADD again" ping_ok "$C1" 198.18.100.2
	check_eq "${TAG}host port after the flush and ADD again" "$(ask "$PEER" 198.18.100.1 8080)" c1
	in_ns "$H" $IPT -N FOREIGN
	in_ns "$H" $IPT -A FOREIGN -s 198.18.99.0/24 -j ACCEPT
	in_ns "$H" $IPT -A FORWARD -s 198.18.99.0/24 -j FOREIGN
	hrun "$H" "$PM" ADD "$C2" eth0 c2 "$(pmconf net2 "$MAPS" "$BR2")"
	hrun "$H" "$P" ADD "$C2" eth0 c2 "$(fwconf net2 "" "$BR2")"
}

# drop_host_end: DEL and GC after drop_host: ours go, the host's policy, FORWARD's other rules and
# the foreign chain stay.
drop_host_end() {
	# ---- DEL and GC: ours go, the host's policy, FORWARD rules and foreign chains stay --------------
	FWD_BEFORE=$(ipt_s "$H" FORWARD | grep -v CNI-FORWARD)
	hrun "$H" "$P" DEL "$C1" eth0 c1 "$(fwconf net1 "" "$BR1")"
	check_eq "${TAG}firewall DEL" "$RC" 0
	hrun "$H" "$PM" DEL "$C1" eth0 c1 "$(pmconf net1 "$MAPS" "$BR1")"
	check_eq "${TAG}portmap DEL" "$RC" 0
	check_eq "${TAG}DEL removed every accept of c1" "$(ours "$H" c1)" 0
	check "${TAG}c2's accepts stay" test "$(ours "$H" c2)" -ge 4
	check "${TAG}c1's egress dropped after DEL" no_ping "$C1" 198.18.100.2
	hrun "$H" "$P" DEL "$C1" eth0 c1 "$(fwconf net1 "")"
	check_eq "${TAG}DEL again (nothing left)" "$RC" 0
	check_eq "${TAG}FORWARD's other rules and policy untouched" "$(ipt_s "$H" FORWARD | grep -v CNI-FORWARD)" "$FWD_BEFORE"
	check_eq "${TAG}foreign chain untouched" "$(ipt_s "$H" FOREIGN)" "$FOREIGN_BEFORE"
	hrun "$H" "$P" GC "" "" "" "$(gcconf net2 firewall '[{"containerID":"c2","ifname":"eth0"}]')"
	hrun "$H" "$PM" GC "" "" "" "$(gcconf net2 portmap '[{"containerID":"c2","ifname":"eth0"}]')"
	check "${TAG}GC keeps a valid attachment's accepts" test "$(ours "$H" c2)" -ge 4
	hrun "$H" "$P" GC "" "" "" "$(gcconf net1 firewall '[]')"
	hrun "$H" "$PM" GC "" "" "" "$(gcconf net1 portmap '[]')"
	check "${TAG}GC of another network keeps them" test "$(ours "$H" c2)" -ge 4
	hrun "$H" "$P" GC "" "" "" "$(gcconf net2 firewall '[]')"
	check_eq "${TAG}firewall GC" "$RC" 0
	hrun "$H" "$PM" GC "" "" "" "$(gcconf net2 portmap '[]')"
	check_eq "${TAG}portmap GC" "$RC" 0
	check_eq "${TAG}GC removed every accept of c2" "$(ours "$H" c2)" 0
	check_eq "${TAG}FORWARD policy still DROP after DEL and GC" "$(policy "$H")" "-P FORWARD DROP"
	check_eq "${TAG}foreign chain untouched by GC" "$(ipt_s "$H" FOREIGN)" "$FOREIGN_BEFORE"
}

# drop_later: "Docker starts later": ADD on an open host (H2, D1, PEER2, BRD), then $IPT's FORWARD
# DROP: CHECK reports it, ADD again fixes it (egress, host port); policy back to ACCEPT: ADD
# removes the accepts; a final REJECT rule drops too.
drop_later() {
	mkhost H2
	mkns D1
	peer "$H2" PEER2
	attach "$H2" "$D1" d1 net1 dbr1 198.18.3.0/24
	BRD=$BRR
	# before anything reads it: a read with iptables-legacy instantiates the table
	check "${TAG}open host: the legacy table not instantiated by ADD" bash -c "! ip netns exec $H2 grep -qx filter /proc/net/ip_tables_names"
	check_eq "${TAG}open host: nothing written in iptables" "$(ipt_s "$H2" | grep -c CNI-FORWARD)" 0
	check "${TAG}open host: egress" ping_ok "$D1" 198.18.100.2
	in_ns "$H2" $IPT -P FORWARD DROP
	hrun "$H2" "$P" CHECK "$D1" eth0 d1 "$(fwconf net1 "" "$BRD")"
	check_err "${TAG}CHECK reports FORWARD DROP set after ADD" "$WHY"
	hrun "$H2" "$PM" CHECK "$D1" eth0 d1 "$(pmconf net1 "$MAPS" "$BRD")"
	check_eq "${TAG}portmap CHECK reports it too" "$RC" 1
	check "${TAG}egress dropped once Docker started" no_ping "$D1" 198.18.100.2
	hrun "$H2" "$PM" ADD "$D1" eth0 d1 "$(pmconf net1 "$MAPS" "$BRD")"
	hrun "$H2" "$P" ADD "$D1" eth0 d1 "$(fwconf net1 "" "$BRD")"
	hrun "$H2" "$P" CHECK "$D1" eth0 d1 "$(fwconf net1 "" "$BRD")"
	check_eq "${TAG}ADD again fixes it: CHECK passes" "$RC" 0
	check "${TAG}egress back after ADD again" ping_ok "$D1" 198.18.100.2
	serve "$D1" d1 80
	poll_until 2000 ready "$D1" 80
	check_eq "${TAG}host port from outside after ADD again" "$(ask "$PEER2" 198.18.100.1 8080)" d1
	# policy back to ACCEPT: ADD again removes what is no longer needed
	in_ns "$H2" $IPT -P FORWARD ACCEPT
	hrun "$H2" "$P" ADD "$D1" eth0 d1 "$(fwconf net1 "" "$BRD")"
	check_eq "${TAG}ADD on an open host again removes its accepts" "$(ours_fw "$H2" d1)" 0
	hrun "$H2" "$PM" ADD "$D1" eth0 d1 "$(pmconf net1 "$MAPS" "$BRD")"
	check_eq "${TAG}portmap ADD on an open host removes its accepts" "$(ours "$H2" d1)" 0
	# a last REJECT rule drops too (firewalld's iptables backend, hardened hosts)
	in_ns "$H2" $IPT -A FORWARD -j REJECT
	hrun "$H2" "$P" CHECK "$D1" eth0 d1 "$(fwconf net1 "" "$BRD")"
	check_err "${TAG}CHECK names the final REJECT" "its last rule is -j REJECT"
	hrun "$H2" "$P" ADD "$D1" eth0 d1 "$(fwconf net1 "" "$BRD")"
	check "${TAG}egress through a final REJECT after ADD" ping_ok "$D1" 198.18.100.2
	in_ns "$H2" $IPT -D FORWARD -j REJECT
}

# v6_host IP6TABLES: a host (H5) whose IP6TABLES filter FORWARD drops, a peer (PEER5) routed over
# IPv6 too, a dual-stack container (V1, bridge result BRV) with portmap and firewall ADDed (the
# firewall's exit in RC).
v6_host() {
	mkhost H5
	mkns V1
	peer "$H5" PEER5
	in_ns "$H5" ip addr add fd00:c0e::1/64 dev hp0 nodad
	in_ns "$PEER5" ip addr add fd00:c0e::2/64 dev pp0 nodad
	in_ns "$PEER5" ip -6 route add fd00:c0f::/64 via fd00:c0e::1
	in_ns "$H5" "$1" -P FORWARD DROP
	hrun "$H5" "$B" ADD "$V1" eth0 v1 "$(brconf6 net6 vbr1 198.18.7.0/24 fd00:c0f::/64)"
	BRV=$OUT
	hrun "$H5" "$PM" ADD "$V1" eth0 v1 "$(pmconf net6 "$MAPS" "$BRV")"
	hrun "$H5" "$P" ADD "$V1" eth0 v1 "$(fwconf net6 "" "$BRV")"
}
