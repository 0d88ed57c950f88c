#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# firewall chained after bridge + host-local, as a runtime runs them, inside private "host"
# namespaces: the native nftables layout (rules read back with nft -j), ingress policies proven
# with real traffic (same-bridge: a network's containers reach each other but not another
# policy network's; isolated: not even each other; open: everything), CHECK, DEL twice, without
# ADD, without prevResult, after the netns vanished, IP reuse across containers, GC; the iptables
# layout compared rule for rule (iptables -S / ip6tables -S) with the reference binary's, and each
# implementation removing and checking the other's rules; every spec version (0.4.0 and later
# accepted, older refused as the reference does); configuration errors.
. "$(dirname "$0")/lib.sh"
need_root firewall
P=$BIN/firewall
B=$BIN/bridge
tmpdir DATA
HAVE_REF=0
[ -x "$REF/firewall" ] && command -v iptables >/dev/null && HAVE_REF=1

if ! in_ns_probe=$(unshare -n nft list tables 2>&1); then
	skip firewall "nftables not available: $in_ns_probe"
	exit 0
fi

# brconf VERSION NET BRIDGE SUBNET: bridge + host-local, gateway on the bridge.
brconf() {
	printf '{"cniVersion":"%s","name":"%s","type":"bridge","bridge":"%s","isGateway":true,"isDefaultGateway":true,"ipam":{"type":"host-local","dataDir":"%s","ranges":[[{"subnet":"%s"}]]}}' \
		"$1" "$2" "$3" "$DATA" "$4"
}
# fwconf VERSION NET EXTRA-KEYS PREVRESULT-JSON: a firewall configuration.
fwconf() {
	local c
	c=$(printf '{"cniVersion":"%s","name":"%s","type":"firewall"%s}' "$1" "$2" "${3:+,$3}")
	if [ -n "${4:-}" ]; then
		with_prev "$c" "$4"
	else
		printf '%s' "$c"
	fi
}
# A prevResult without a real interface behind it (the firewall only reads it).
fake_prev() { # VERSION IP [IP6]
	local ips
	ips=$(printf '{"address":"%s/24","interface":2}' "$2")
	[ -n "${3:-}" ] && ips="$ips,$(printf '{"address":"%s/64","interface":2}' "$3")"
	printf '{"cniVersion":"%s","interfaces":[{"name":"br9"},{"name":"veth9"},{"name":"eth0","sandbox":"/x"}],"ips":[%s]}' "$1" "$ips"
}
# Rules of the native containers chain whose comment names container $2.
cont_rules() {
	in_ns "$1" nft -j list chain inet cni_firewall containers 2>/dev/null |
		jq --arg id "id: $2" '[.nftables[] | select(.rule) | select(.rule.comment // "" | endswith($id))] | length' 2>/dev/null || echo 0
}

# attach HOST NETNS CID NET BRIDGE SUBNET FIREWALL-EXTRA [VERSION]: bridge ADD then firewall ADD;
# the firewall's result in $FWR, the bridge's in $BRR.
attach() {
	local v=${8:-1.0.0}
	hrun "$1" "$B" ADD "$2" eth0 "$3" "$(brconf "$v" "$4" "$5" "$6")"
	BRR=$OUT
	[ "$RC" = 0 ] || { fail "bridge ADD $3" "$OUT"; return 1; }
	hrun "$1" "$P" ADD "$2" eth0 "$3" "$(fwconf "$v" "$4" "$7" "$BRR")"
	FWR=$OUT
	[ "$RC" = 0 ] || { fail "firewall ADD $3" "$OUT"; return 1; }
}

# ---- every spec version: passthrough, rules, CHECK, DEL twice, DEL without prevResult ------------
for v in $VERSIONS; do
	mkhost H
	case $v in
	0.1.0 | 0.2.0 | 0.3.0 | 0.3.1)
		hrun "$H" "$P" ADD /x eth0 c1 "$(fwconf "$v" net1 "" "$(fake_prev "$v" 10.1.0.2)")"
		check_eq "$v refused as by the reference" "$RC:$(err_code)" 1:1
		if [ "$HAVE_REF" = 1 ]; then
			hrun "$H" "$REF/firewall" ADD /x eth0 c1 "$(fwconf "$v" net1 "" "$(fake_prev "$v" 10.1.0.2)")"
			check_eq "$v refused by the reference too" "$RC:$(err_code)" 1:1
		fi
		continue
		;;
	esac
	mkns C1
	attach "$H" "$C1" c1 net1 br1 10.1.0.0/24 "" "$v" || continue
	check_eq "$v result is prevResult" "$(printf '%s' "$FWR" | norm)" "$(printf '%s' "$BRR" | norm)"
	check_eq "$v two rules for c1" "$(cont_rules "$H" c1)" 2
	check_eq "$v forward hook chain" "$(in_ns "$H" nft -j list chain inet cni_firewall forward | jq -r '.nftables[] | select(.chain) | .chain.hook')" forward
	check_eq "$v forward jumps" "$(in_ns "$H" nft -j list chain inet cni_firewall forward | jq -c '[.nftables[] | select(.rule) | .rule.expr[0].jump.target]')" '["isolation_stage_1","admin","containers"]'
	check "$v admin chain exists" in_ns "$H" nft list chain inet cni_firewall admin
	hrun "$H" "$P" CHECK "$C1" eth0 c1 "$(fwconf "$v" net1 "" "$BRR")"
	check_eq "$v CHECK" "$RC:$OUT" "0:"
	hrun "$H" "$P" ADD "$C1" eth0 c1 "$(fwconf "$v" net1 "" "$BRR")"
	check_eq "$v second ADD keeps two rules" "$RC:$(cont_rules "$H" c1)" 0:2
	in_ns "$H" nft flush chain inet cni_firewall containers
	hrun "$H" "$P" CHECK "$C1" eth0 c1 "$(fwconf "$v" net1 "" "$BRR")"
	check_eq "$v CHECK fails without the rules" "$RC" 1
	hrun "$H" "$P" ADD "$C1" eth0 c1 "$(fwconf "$v" net1 "" "$BRR")"
	hrun "$H" "$P" DEL "$C1" eth0 c1 "$(fwconf "$v" net1 "" "$BRR")"
	check_eq "$v DEL" "$RC:$OUT" "0:"
	check_eq "$v rules gone" "$(cont_rules "$H" c1)" 0
	hrun "$H" "$P" DEL "$C1" eth0 c1 "$(fwconf "$v" net1 "" "$BRR")"
	check_eq "$v second DEL" "$RC:$OUT" "0:"
	hrun "$H" "$P" ADD "$C1" eth0 c1 "$(fwconf "$v" net1 "" "$BRR")"
	hrun "$H" "$P" DEL "$C1" eth0 c1 "$(fwconf "$v" net1)"
	check_eq "$v DEL without prevResult removes the rules" "$RC:$(cont_rules "$H" c1)" 0:0
	hrun "$H" "$P" DEL "" eth0 never "$(fwconf "$v" net1)"
	check_eq "$v DEL without ADD, without netns" "$RC:$OUT" "0:"
	hrun "$H" "$B" DEL "$C1" eth0 c1 "$(brconf "$v" net1 br1 10.1.0.0/24)"
done

# ---- ingress policies with real traffic ---------------------------------------------------------
mkhost H
mkns A1
mkns A2
mkns B1
mkns O1
mkns I1
mkns I2
attach "$H" "$A1" a1 neta bra 10.20.1.0/24 '"ingressPolicy":"same-bridge"'
attach "$H" "$A2" a2 neta bra 10.20.1.0/24 '"ingressPolicy":"same-bridge"'
attach "$H" "$B1" b1 netb brb 10.20.2.0/24 '"ingressPolicy":"same-bridge"'
attach "$H" "$O1" o1 neto bro 10.20.3.0/24 '"ingressPolicy":"open"'
attach "$H" "$I1" i1 neti bri 10.20.4.0/24 '"ingressPolicy":"isolated"'
attach "$H" "$I2" i2 neti bri 10.20.4.0/24 '"ingressPolicy":"isolated"'
IPR=$FWR
a1=$(ip_of "$A1") a2=$(ip_of "$A2") b1=$(ip_of "$B1") o1=$(ip_of "$O1") i1=$(ip_of "$I1") i2=$(ip_of "$I2")
check "same-bridge: a1 reaches a2 (same network)" ping_ok "$A1" "$a2"
check "same-bridge: a1 does not reach b1 (other policy network)" no_ping "$A1" "$b1"
check "same-bridge: b1 does not reach a1" no_ping "$B1" "$a1"
check "same-bridge: the host reaches a1" ping_ok "$H" "$a1"
check "same-bridge: a1 reaches its gateway" ping_ok "$A1" 10.20.1.1
check "open: o1 reaches a1" ping_ok "$O1" "$a1"
check "open: a1 reaches o1" ping_ok "$A1" "$o1"
check "isolated: i1 does not reach i2 (same network)" no_ping "$I1" "$i2"
check "isolated: i2 does not reach i1" no_ping "$I2" "$i1"
check "isolated: i1 does not reach a1" no_ping "$I1" "$a1"
check "isolated: a1 does not reach i1" no_ping "$A1" "$i1"
check "isolated: i1 reaches its gateway" ping_ok "$I1" 10.20.4.1
check "isolated: the host reaches i1" ping_ok "$H" "$i1"
hrun "$H" "$P" CHECK "$I2" eth0 i2 "$(fwconf 1.0.0 neti '"ingressPolicy":"isolated"' "$IPR")"
check_eq "isolated CHECK" "$RC:$OUT" "0:"
in_ns "$H" nft flush chain bridge cni_firewall forward
hrun "$H" "$P" CHECK "$I2" eth0 i2 "$(fwconf 1.0.0 neti '"ingressPolicy":"isolated"' "$IPR")"
check_eq "isolated CHECK notices the missing port rules" "$RC" 1
hrun "$H" "$P" ADD "$I2" eth0 i2 "$(fwconf 1.0.0 neti '"ingressPolicy":"isolated"' "$IPR")"
check "  ADD restores it: i1 does not reach i2" no_ping "$I1" "$i2"
# Switched traffic bypasses the inet hooks without br_netfilter: the port rules alone hold it.
if in_ns "$H" sysctl -qw net.bridge.bridge-nf-call-iptables=0 net.bridge.bridge-nf-call-ip6tables=0 2>/dev/null; then
	check "isolated without br_netfilter: i1 does not reach i2" no_ping "$I1" "$i2"
	in_ns "$H" nft flush chain bridge cni_firewall forward
	check "  and does once the port rules are gone (so they are what blocks it)" ping_ok "$I1" "$i2"
	hrun "$H" "$P" ADD "$I2" eth0 i2 "$(fwconf 1.0.0 neti '"ingressPolicy":"isolated"' "$IPR")"
else
	skip "isolated without br_netfilter" "bridge-nf-call-iptables is not per netns here"
fi
hrun "$H" "$P" DEL "$I2" eth0 i2 "$(fwconf 1.0.0 neti '"ingressPolicy":"isolated"' "$IPR")"
check_eq "isolated: DEL removes the attachment's port rules" "$(in_ns "$H" nft -j list chain bridge cni_firewall forward | jq '[.nftables[] | select(.rule) | select(.rule.comment | endswith("id: i2"))] | length')" 0
check_eq "policy rules written once per bridge" "$(in_ns "$H" nft -j list chain inet cni_firewall isolation_stage_2 | jq '[.nftables[] | select(.rule)] | length')" 3
hrun "$H" "$P" ADD "$A1" eth0 a1 "$(fwconf 1.0.0 neta '"ingressPolicy":"same-bridge"' '{"cniVersion":"1.0.0","ips":[{"address":"10.20.1.9/24"}]}')"
check_eq "a policy without an interface in prevResult is refused" "$RC:$(printf '%s' "$OUT" | jq -r .msg | grep -c 'make sure to chain')" 1:1

# ---- GC, IP reuse, netns gone ----------------------------------------------------------------------
mkhost H
for c in g1 g2 g3; do
	hrun "$H" "$P" ADD /x eth0 $c "$(fwconf 1.1.0 netg "" "$(fake_prev 1.1.0 10.30.0.2 fd30::2)")"
done
hrun "$H" "$P" ADD /x eth0 o1 "$(fwconf 1.1.0 neto "" "$(fake_prev 1.1.0 10.31.0.2)")"
check_eq "IP reuse: g1..g3 share an address, each has its rules" "$(cont_rules "$H" g1):$(cont_rules "$H" g2):$(cont_rules "$H" g3)" 4:4:4
hrun "$H" "$P" DEL /x eth0 g3 "$(fwconf 1.1.0 netg "" "$(fake_prev 1.1.0 10.30.0.2 fd30::2)")"
check_eq "IP reuse: DEL g3 keeps g1's and g2's rules" "$(cont_rules "$H" g1):$(cont_rules "$H" g2):$(cont_rules "$H" g3)" 4:4:0
# the attachment index: "fw-" h16(net) "-" h16(ifname:cid), one entry per attachment
h16() { printf '%s' "$1" | sha512sum | cut -c1-16; }
check_eq "the index has g1, g2 and o1" "$(att_entries "$H" fw | paste -sd' ')" \
	"$(printf 'fw-%s-%s\n' "$(h16 netg)" "$(h16 eth0:g1)" "$(h16 netg)" "$(h16 eth0:g2)" "$(h16 neto)" "$(h16 eth0:o1)" | sort | paste -sd' ')"
# an entry of this network whose rules someone else removed: GC prunes it too
stray="fw-$(h16 netg)-0000000000000000"
in_ns "$H" nft add counter inet cnic_index "$stray"
hrun "$H" "$P" GC "" "" "" "$(fwconf 1.1.0 netg '"cni.dev/valid-attachments":[{"containerID":"g1","ifname":"eth0"},{"containerID":"g2","ifname":"eth1"}]')"
check_eq "GC" "$RC:$OUT" "0:"
check_eq "GC keeps the valid attachment, removes the stale ones" "$(cont_rules "$H" g1):$(cont_rules "$H" g2)" 4:0
check_eq "GC leaves other networks alone" "$(cont_rules "$H" o1)" 2
check_eq "  the index: g1's and o1's entries stay, g2's and the stray one go" \
	"$(att_entries "$H" fw | paste -sd' ')" \
	"$(printf 'fw-%s-%s\n' "$(h16 netg)" "$(h16 eth0:g1)" "$(h16 neto)" "$(h16 eth0:o1)" | sort | paste -sd' ')"
hrun "$H" "$P" GC "" "" "" "$(fwconf 1.0.0 netg '"cni.dev/valid-attachments":[]')"
check_eq "GC refused below 1.1.0" "$RC" 1
hrun "$H" "$P" STATUS "" "" "" "$(fwconf 1.1.0 netg)"
check_eq "STATUS" "$RC:$OUT" "0:"
mkns GONE
hrun "$H" "$P" ADD "$GONE" eth0 gone "$(fwconf 1.0.0 netg "" "$(fake_prev 1.0.0 10.30.0.7)")"
ip netns del "$(basename "$GONE")"
hrun "$H" "$P" DEL "$GONE" eth0 gone "$(fwconf 1.0.0 netg "" "$(fake_prev 1.0.0 10.30.0.7)")"
check_eq "DEL after the netns vanished removes the rules" "$RC:$(cont_rules "$H" gone)" 0:0

# ---- configuration errors ----------------------------------------------------------------------------
hrun "$H" "$P" ADD /x eth0 c1 "$(fwconf 1.0.0 netx '"backend":"firewalld"' "$(fake_prev 1.0.0 10.40.0.2)")"
check_eq "firewalld without a bus refused, try later (firewalld.sh has the rest)" "$RC:$(err_code)" 1:11
check_eq "  naming key and value" "$(printf '%s' "$OUT" | jq -r .msg | grep -c 'backend "firewalld"')" 1
hrun "$H" "$P" DEL /x eth0 c1 "$(fwconf 1.0.0 netx '"backend":"firewalld"' "$(fake_prev 1.0.0 10.40.0.2)")"
check_eq "firewalld DEL without firewalld succeeds" "$RC:$OUT" "0:"
hrun "$H" "$P" ADD /x eth0 c1 "$(fwconf 1.0.0 netx '"backend":"ebtables"' "$(fake_prev 1.0.0 10.40.0.2)")"
check_eq "unknown backend refused" "$RC:$(err_code)" 1:7
hrun "$H" "$P" ADD /x eth0 c1 "$(fwconf 1.0.0 netx '"backend":""' "$(fake_prev 1.0.0 10.40.0.2)")"
check_eq "empty backend is the default" "$RC:$(cont_rules "$H" c1)" 0:2
hrun "$H" "$P" ADD /x eth0 c1 "$(fwconf 1.0.0 netx '"ingressPolicy":"closed"' "$(fake_prev 1.0.0 10.40.0.2)")"
check_eq "unknown ingressPolicy refused" "$RC:$(printf '%s' "$OUT" | jq -r .msg)" '1:unknown ingress policy: "closed"'
hrun "$H" "$P" ADD /x eth0 c1 "$(fwconf 1.0.0 netx)"
check_eq "ADD without prevResult refused" "$RC:$(printf '%s' "$OUT" | jq -r .msg)" "1:missing prevResult from earlier plugin"

# ---- the iptables layout against the reference ---------------------------------------------------
ipt_dump() { in_ns "$1" sh -c 'iptables -S; ip6tables -S' 2>&1; }
if [ "$HAVE_REF" = 0 ]; then
	skip "iptables layout vs reference" "no $REF/firewall or iptables"
else
	for pol in "" '"ingressPolicy":"same-bridge"' '"iptablesAdminChainName":"MY-ADMIN"'; do
		mkhost HR
		mkhost HO
		ex='"backend":"iptables"'${pol:+,$pol}
		prev=$(fake_prev 1.0.0 10.50.0.2 fd50::2)
		prev2=$(fake_prev 1.0.0 10.50.0.3)
		name="iptables ${pol:-default}"
		hrun "$HR" "$REF/firewall" ADD /x eth0 r1 "$(fwconf 1.0.0 neti "$ex" "$prev")"
		RR=$OUT
		hrun "$HO" "$P" ADD /x eth0 r1 "$(fwconf 1.0.0 neti "$ex" "$prev")"
		check_eq "$name: ADD" "$RC" 0
		check_eq "$name: result as the reference's" "$(printf '%s' "$OUT" | norm)" "$(printf '%s' "$RR" | norm)"
		hrun "$HR" "$REF/firewall" ADD /x eth0 r2 "$(fwconf 1.0.0 neti "$ex" "$prev2")"
		hrun "$HO" "$P" ADD /x eth0 r2 "$(fwconf 1.0.0 neti "$ex" "$prev2")"
		hrun "$HO" "$P" ADD /x eth0 r2 "$(fwconf 1.0.0 neti "$ex" "$prev2")"
		got=$(ipt_dump "$HO") want=$(ipt_dump "$HR")
		check_eq "$name: iptables -S as the reference's (two containers, one ADD repeated)" "$got" "$want"
		hrun "$HR" "$P" CHECK /x eth0 r1 "$(fwconf 1.0.0 neti "$ex" "$prev")"
		check_eq "$name: our CHECK accepts the reference's rules" "$RC:$OUT" "0:"
		hrun "$HO" "$REF/firewall" CHECK /x eth0 r1 "$(fwconf 1.0.0 neti "$ex" "$prev")"
		check_eq "$name: the reference's CHECK accepts ours" "$RC:$OUT" "0:"
		hrun "$HO" "$REF/firewall" DEL /x eth0 r1 "$(fwconf 1.0.0 neti "$ex" "$prev")"
		hrun "$HR" "$P" DEL /x eth0 r1 "$(fwconf 1.0.0 neti "$ex" "$prev")"
		check_eq "$name: our DEL" "$RC:$OUT" "0:"
		got=$(ipt_dump "$HO") want=$(ipt_dump "$HR")
		check_eq "$name: each DEL removes the other's rules alike" "$got" "$want"
		check_eq "$name: r1's rules gone, r2's kept" "$(printf '%s' "$got" | grep -c '10.50.0.2\|fd50::2'):$(printf '%s' "$got" | grep -c '10.50.0.3')" 0:2
		hrun "$HO" "$P" CHECK /x eth0 r1 "$(fwconf 1.0.0 neti "$ex" "$prev")"
		check_eq "$name: CHECK after DEL fails" "$RC" 1
		hrun "$HO" "$P" DEL /x eth0 r1 "$(fwconf 1.0.0 neti "$ex" "$prev")"
		check_eq "$name: second DEL" "$RC:$OUT" "0:"
		hrun "$HO" "$P" DEL /x eth0 r1 "$(fwconf 1.0.0 neti "$ex")"
		check_eq "$name: DEL without prevResult" "$RC:$OUT" "0:"
	done
	# same-bridge with real traffic through the iptables layout
	mkhost H
	mkns A1
	mkns B1
	mkns A2
	attach "$H" "$A1" a1 neta bra 10.60.1.0/24 '"backend":"iptables","ingressPolicy":"same-bridge"'
	attach "$H" "$A2" a2 neta bra 10.60.1.0/24 '"backend":"iptables","ingressPolicy":"same-bridge"'
	attach "$H" "$B1" b1 netb brb 10.60.2.0/24 '"backend":"iptables","ingressPolicy":"same-bridge"'
	check "iptables same-bridge: a1 reaches a2" ping_ok "$A1" "$(ip_of "$A2")"
	check "iptables same-bridge: a1 does not reach b1" no_ping "$A1" "$(ip_of "$B1")"
	check "iptables same-bridge: the host reaches b1" ping_ok "$H" "$(ip_of "$B1")"
fi
finish
