#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# firewall (default backend: absent or "") and portmap next to an iptables filter FORWARD that
# drops (Docker's policy, hardened hosts), in private "host" namespaces: bridge + portmap +
# firewall as podman chains them, traffic to a peer namespace routed through the host (egress,
# cross-network, a host port from "outside", other ports still dropped), the accepts in the
# reference's CNI-FORWARD layout read back with iptables -S, CHECK after a flush, ADD again,
# "Docker starts later", a final REJECT rule, DEL and GC leaving the host's policy, its FORWARD
# rules and foreign chains untouched, backend "nftables" writing nothing there, and the reference
# firewall's egress in the same scenario (parity). iptables-legacy: legacy_coexist.sh.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/coexist.bash"
need_root firewall_coexist
P=$BIN/firewall
PM=$BIN/portmap
B=$BIN/bridge
tmpdir DATA
need_cmds firewall_coexist iptables socat
if ! unshare -n iptables-nft -S >/dev/null 2>&1; then
	skip firewall_coexist "iptables-nft does not work here"
	exit 0
fi
PIDS=""
on_exit 'for p in $PIDS; do kill $p; done'
IPT=iptables-nft
# ---- FORWARD DROP before ADD, the host's firewall reloading and restarting, DEL and GC ----------
TAG=""
WHY="ip filter FORWARD (iptables-nft): policy DROP"
NOTFOUND="not found in ip filter"
restart() { in_ns "$H" nft flush ruleset; }
drop_host
drop_host_end

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
drop_later

# ---- backend "nftables": the native layout only, nothing in iptables ----------------------------
in_ns "$H2" $IPT -P FORWARD DROP
hrun "$H2" "$P" DEL "$D1" eth0 d1 "$(fwconf net1 "" "$BRD")"
hrun "$H2" "$P" ADD "$D1" eth0 d1 "$(fwconf net1 '"backend":"nftables"' "$BRD")"
check_eq "backend nftables: ADD" "$RC" 0
check_eq "backend nftables: no accept in CNI-FORWARD" "$(ours_fw "$H2" d1)" 0
hrun "$H2" "$P" CHECK "$D1" eth0 d1 "$(fwconf net1 '"backend":"nftables"' "$BRD")"
check_eq "backend nftables: CHECK does not probe iptables" "$RC" 0

# ---- parallel ADDs on a FORWARD DROP host: one jump, one admin jump, every accept ---------------
mkhost H6
in_ns "$H6" $IPT -P FORWARD DROP
parallel_adds "$H6"
check_eq "8 parallel ADDs succeed" "$NFAIL" 0
check_eq "parallel ADDs: one jump from FORWARD" "$(ipt_s "$H6" FORWARD | grep -c -- '-j CNI-FORWARD')" 1
check_eq "parallel ADDs: one admin jump" "$(ipt_s "$H6" CNI-FORWARD | grep -c -- '-j CNI-ADMIN')" 1
check_eq "parallel ADDs: every accept" "$(ipt_s "$H6" CNI-FORWARD | grep -c 'id: p[1-8]"')" 16

# ---- IPv6: each family decided on its own ------------------------------------------------------
v6_host ip6tables-nft
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
