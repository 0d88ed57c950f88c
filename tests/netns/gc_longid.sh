#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# GC of attachments whose rules name them by a hash, in a private "host" namespace: container IDs
# of 12 bytes (plain names), 64 hex (Kubernetes': with network "k8s-pod-network" every masquerade
# and firewall comment is cut at 128 bytes) and 300 bytes (portmap's nftables comment and the
# spoof check's chain names hashed, portmap's iptables comment cut at 255 bytes), through bridge
# (nftables ipMasq, macspoofchk), portmap (nftables, then iptables layout), firewall (default
# backend) and ptp (ipMasq, a second network on eth1). Two attachments a and b; GC of every
# plugin with only b valid removes every rule of a (its DEL never ran) and keeps b's, which CHECK
# still accepts; DEL of both then leaves nothing. A rule is a's or b's by what names it: the
# attachment hash (att.c), the hashed names, the ID itself, portmap's CNI-DN-<hash> chain.
. "$(dirname "$0")/lib.sh"
need_root gc_longid
B=$BIN/bridge
tmpdir DATA
tmpdir WORK
if ! unshare -n nft list ruleset >/dev/null 2>&1; then
	skip gc_longid "nftables does not answer"
	exit 0
fi
NET=k8s-pod-network
NET2=k8s-ptp-network

bconf() {
	printf '{"cniVersion":"1.1.0","name":"%s","type":"bridge","bridge":"kbr0","isGateway":true,"macspoofchk":true,"ipMasq":true,"ipMasqBackend":"nftables","ipam":{"type":"host-local","dataDir":"%s","ranges":[[{"subnet":"198.18.9.0/24"}]]}}' "$NET" "$DATA"
}
pconf() {
	printf '{"cniVersion":"1.1.0","name":"%s","type":"ptp","ipMasq":true,"ipMasqBackend":"nftables","ipam":{"type":"host-local","dataDir":"%s","ranges":[[{"subnet":"198.18.10.0/24"}]]}}' "$NET2" "$DATA"
}
# mconf TYPE BACKEND-KEY [PREV]: portmap or firewall of $NET, chained
mconf() {
	local c
	c=$(printf '{"cniVersion":"1.1.0","name":"%s","type":"%s"%s,"runtimeConfig":{"portMappings":[{"hostPort":8080,"containerPort":80,"protocol":"tcp"}]}}' "$NET" "$1" "$2")
	if [ -n "${3:-}" ]; then with_prev "$c" "$3"; else printf '%s' "$c"; fi
}
# gconf CONF IFNAME CID: CONF for GC with CID on IFNAME its only valid attachment
gconf() {
	printf '%s' "$1" | jq -c --arg c "$3" --arg i "$2" '. + {"cni.dev/valid-attachments":[{containerID:$c,ifname:$i}]}'
}
h() { printf '%s' "$1" | sha512sum | cut -c1-"$2"; }
# names ID: what names the attachment's rules (grep -F patterns, one a line) into a file
names() {
	printf '%s\n' "$1" "$(h "$NET" 16)-$(h "eth0:$1" 16)" "$(h "$NET2" 16)-$(h "eth1:$1" 16)" \
		"$(h "$1-eth0" 64)" "$(h "$1" 64)" "CNI-DN-$(h "$NET$1" 21)" >"$WORK/names.$(h "$1" 16)"
}
# rules ID: per table, the lines naming ID's attachment ("inet:cni_firewall=2 ... iptables=0")
TABLES="inet:cni_plugins_masquerade inet:cni_firewall bridge:nat ip:cni_hostport ip6:cni_hostport inet:cnic_index"
rules() {
	local f t
	f=$WORK/names.$(h "$1" 16)
	{
		in_ns "$H" nft list ruleset 2>/dev/null | awk '/^table /{t=$2":"$3} {print t, $0}'
		in_ns "$H" iptables-save -t nat 2>/dev/null | sed 's/^/iptables /'
		in_ns "$H" ip6tables-save -t nat 2>/dev/null | sed 's/^/iptables /'
	} | grep -F -f "$f" | cut -d' ' -f1 >"$f.hits"
	for t in $TABLES iptables; do printf '%s=%s ' "$t" "$(grep -cx "$t" "$f.hits")"; done
	echo
}
want_ok() {
	if [ "$RC" = 0 ]; then ok "$1"; else fail "$1" "rc $RC: $OUT $(head -c 300 "$LAST_STDERR")"; fi
}
# one PLUGIN COMMAND ID: run it on ID's attachment as a runtime would (bridge's result as the
# chained plugins' prevResult; ptp on eth1)
one() {
	local pl=$1 cmd=$2 id=$3 c
	case $pl in
	bridge) c=$(prev "$(bconf)" "${R[$id]:-}") ;;
	ptp) c=$(prev "$(pconf)" "${R2[$id]:-}") ;;
	*) c=$(mconf "$pl" "$(bk "$pl")" "${R[$id]}") ;;
	esac
	hrun "$H" "$BIN/$pl" "$cmd" "${NS[$id]}" "$([ "$pl" = ptp ] && echo eth1 || echo eth0)" "$id" "$c"
	if [ "$cmd" = ADD ] && [ "$pl" = bridge ]; then R[$id]=$OUT; fi
	if [ "$cmd" = ADD ] && [ "$pl" = ptp ]; then R2[$id]=$OUT; fi
	want_ok "$T: $pl $cmd ${id: -1}${4:-}"
}
prev() { if [ -n "$2" ]; then with_prev "$1" "$2"; else printf '%s' "$1"; fi; }
bk() { [ "$1" = portmap ] && printf ',"backend":"%s"' "$PMB"; }

for len in 12 64 300; do
	case $len in
	12) base=short-00000 ;;
	64) base=$(printf '0123456789abcdef%.0s' 1 2 3)0123456789abcde ;;
	*) base=L300-$(head -c 294 /dev/zero | tr '\0' x) ;;
	esac
	A=${base}a
	B2=${base}b
	names "$A"
	names "$B2"
	for PMB in nftables iptables; do
		# portmap's iptables comment is cut only for the 300-byte IDs (portmap.sh has short ones)
		[ "$PMB" = iptables ] && [ "$len" != 300 ] && continue
		T="$len-byte ids, portmap $PMB"
		mkhost H
		declare -A NS R R2
		for id in "$A" "$B2"; do
			mkns CNS
			NS[$id]=$CNS
			for pl in bridge ptp portmap firewall; do one $pl ADD "$id"; done
		done
		ra=$(rules "$A")
		rb=$(rules "$B2")
		none=$(printf '%s' "$ra" | sed 's/=[0-9]*/=0/g')
		[ "$ra" != "$none" ] && [ "$rb" = "$ra" ] && ok "$T: rules of a and b seen ($ra)" ||
			fail "$T: rules of a and b seen" "a: $ra; b: $rb"
		for pl in bridge portmap firewall ptp; do
			case $pl in
			bridge) c=$(gconf "$(bconf)" eth0 "$B2") ;;
			ptp) c=$(gconf "$(pconf)" eth1 "$B2") ;;
			*) c=$(gconf "$(mconf $pl "$(bk $pl)")" eth0 "$B2") ;;
			esac
			hrun "$H" "$BIN/$pl" GC "" "" "" "$c"
			want_ok "$T: $pl GC with only b valid"
		done
		check_eq "$T: GC removed a's rules" "$(rules "$A")" "$none"
		check_eq "$T: GC kept b's rules" "$(rules "$B2")" "$rb"
		# b still works: every CHECK accepts its rules
		for pl in bridge ptp portmap firewall; do one $pl CHECK "$B2" " after GC"; done
		for id in "$A" "$B2"; do
			for pl in firewall portmap ptp bridge; do one $pl DEL "$id"; done
		done
		check_eq "$T: nothing left after DEL" "$(rules "$A") / $(rules "$B2")" "$none / $none"
		unset NS R R2
	done
done
finish
