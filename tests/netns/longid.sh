#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Container IDs are unbounded in the spec: 300- and 4000-byte IDs through bridge (ipMasq and
# macspoofchk), portmap and firewall, each in both layouts (nftables and iptables; the spoof
# check has only nftables), inside a private "host" namespace:
# ADD, CHECK, GC and DEL work, two IDs that differ only in their last byte keep apart (DEL of one
# leaves the other's rules, portmap's nftables GC removes exactly the invalid one), and nothing
# is left after the last DEL. (An nftables rule's userdata holds 256 bytes: portmap's comment
# for an ID over 253 bytes is its hash, and so is the spoof check's name when a chain name cannot
# hold it; iptables comments are cut at 255 bytes. GC matches all of them by hash:
# gc_longid.sh.)
. "$(dirname "$0")/lib.sh"
need_root longid
B=$BIN/bridge
P=$BIN/portmap
F=$BIN/firewall
tmpdir DATA
if ! unshare -n nft list ruleset >/dev/null 2>&1; then
	skip longid "nftables does not answer"
	exit 0
fi

# bconf BACKEND: bridge + host-local with ipMasq
bconf() {
	printf '{"cniVersion":"1.1.0","name":"lnet","type":"bridge","bridge":"lbr0","isGateway":true,"macspoofchk":true,"ipMasq":true,"ipMasqBackend":"%s","ipam":{"type":"host-local","dataDir":"%s","ranges":[[{"subnet":"198.18.7.0/24"}]]}}' "$1" "$DATA"
}
# mconf TYPE BACKEND-KEYS [PREV]: portmap or firewall, chained
mconf() {
	local c
	c=$(printf '{"cniVersion":"1.1.0","name":"lnet","type":"%s",%s,"runtimeConfig":{"portMappings":[{"hostPort":8080,"containerPort":80,"protocol":"tcp"}]}}' "$1" "$2")
	if [ -n "${3:-}" ]; then with_prev "$c" "$3"; else printf '%s' "$c"; fi
}
# gconf TYPE BACKEND-KEYS CID...: a GC configuration with these valid attachments
gconf() {
	local t=$1 k=$2 v=""
	shift 2
	for c in "$@"; do v="$v${v:+,}{\"containerID\":\"$c\",\"ifname\":\"eth0\"}"; done
	printf '{"cniVersion":"1.1.0","name":"lnet","type":"%s",%s,"cni.dev/valid-attachments":[%s]}' "$t" "$k" "$v"
}
# rules H PREFIX: rules mentioning PREFIX, nftables and iptables (nft shows no xt comment)
rules() {
	{
		in_ns "$1" nft list ruleset
		in_ns "$1" iptables-save
		in_ns "$1" ip6tables-save
	} 2>/dev/null | grep -c -- "$2"
}
# all PLUGIN-RESULT checks: $1 = what, RC/OUT from hrun
want_ok() {
	if [ "$RC" = 0 ]; then ok "$1"; else fail "$1" "rc $RC: $OUT $(head -c 300 "$LAST_STDERR")"; fi
}

# chained COMMAND ID BACKEND WHAT [SUFFIX]: portmap then firewall, chained after the bridge's R[ID]
chained() {
	local pl
	for pl in portmap firewall; do
		hrun "$H" "$BIN/$pl" "$1" "${NS[$2]}" eth0 "$2" "$(mconf $pl "\"backend\":\"$3\"" "${R[$2]}")"
		want_ok "$4: $pl $1 ${2: -1}${5:-}"
	done
}

# detach ID BACKEND WHAT SUFFIX: firewall, portmap and bridge DEL, in a runtime's order
detach() {
	local pl
	for pl in firewall portmap; do
		hrun "$H" "$BIN/$pl" DEL "${NS[$1]}" eth0 "$1" "$(mconf $pl "\"backend\":\"$2\"")"
		want_ok "$3: $pl DEL ${1: -1}$4"
	done
	hrun "$H" "$B" DEL "${NS[$1]}" eth0 "$1" "$(bconf "$2")"
	want_ok "$3: bridge DEL ${1: -1}$4"
}

for len in 300 4000; do
	base=L$len-$(head -c $((len - 7)) /dev/zero | tr '\0' x)
	A=${base}-a
	B2=${base}-b
	PFX=${A:0:32}
	for be in nftables iptables; do
		T="$len-byte ids, $be"
		mkhost H
		declare -A NS R
		for id in "$A" "$B2"; do
			mkns CNS
			NS[$id]=$CNS
			hrun "$H" "$B" ADD "$CNS" eth0 "$id" "$(bconf $be)"
			R[$id]=$OUT
			want_ok "$T: bridge ADD ${id: -1}"
			chained ADD "$id" "$be" "$T"
		done
		both=$(rules "$H" "$PFX")
		[ "$both" -gt 0 ] && ok "$T: rules written ($both)" || fail "$T: rules written" "$both"
		for id in "$A" "$B2"; do
			hrun "$H" "$B" CHECK "${NS[$id]}" eth0 "$id" "$(with_prev "$(bconf $be)" "${R[$id]}")"
			want_ok "$T: bridge CHECK ${id: -1}"
			chained CHECK "$id" "$be" "$T"
		done
		for pl in bridge portmap firewall; do
			k="\"backend\":\"$be\""
			[ $pl = bridge ] && k="\"ipMasq\":true,\"ipMasqBackend\":\"$be\""
			hrun "$H" "$BIN/$pl" GC "" "" "" "$(gconf $pl "$k" "$A" "$B2")"
			want_ok "$T: $pl GC with both valid"
		done
		check_eq "$T: GC kept every rule" "$(rules "$H" "$PFX")" "$both"
		if [ $be = nftables ]; then
			n0=$(in_ns "$H" nft list table ip cni_hostport 2>/dev/null | grep -c -- "$PFX")
			hrun "$H" "$P" GC "" "" "" "$(gconf portmap '"backend":"nftables"' "$B2")"
			want_ok "$T: portmap GC with only b valid"
			n1=$(in_ns "$H" nft list table ip cni_hostport 2>/dev/null | grep -c -- "$PFX")
			[ "$n0" -gt 0 ] && [ "$n1" -gt 0 ] && [ $((n1 * 2)) = "$n0" ] &&
				ok "$T: portmap GC removed a's rules only ($n0 -> $n1)" ||
				fail "$T: portmap GC removed a's rules only" "$n0 -> $n1"
			hrun "$H" "$P" CHECK "${NS[$B2]}" eth0 "$B2" "$(mconf portmap '"backend":"nftables"' "${R[$B2]}")"
			want_ok "$T: portmap CHECK b after GC"
		fi
		detach "$A" "$be" "$T" ""
		left=$(rules "$H" "$PFX")
		[ "$left" -gt 0 ] && [ "$left" -lt "$both" ] && ok "$T: DEL of a left b's rules ($left)" ||
			fail "$T: DEL of a left b's rules" "$both -> $left"
		chained CHECK "$B2" "$be" "$T" " after DEL a"
		hrun "$H" "$B" CHECK "${NS[$B2]}" eth0 "$B2" "$(with_prev "$(bconf $be)" "${R[$B2]}")"
		want_ok "$T: bridge CHECK b after DEL a"
		detach "$B2" "$be" "$T" " (1)"
		detach "$B2" "$be" "$T" " (2)"
		check_eq "$T: no rule left" "$(rules "$H" "$PFX")" 0
		check_eq "$T: no per-container iptables chain left" \
			"$(in_ns "$H" iptables-save 2>/dev/null | grep -c -- '^:CNI-[0-9a-f]\|^:CNI-DN-')" 0
		unset NS R
	done
done
# The longest ID an earlier build could write keeps its comment: the ID itself (an upgraded host
# deletes the rules of its live containers by it); one byte more is hashed.
mkhost H
for len in 253 254; do
	id=M$len-$(head -c $((len - 5)) /dev/zero | tr '\0' y)
	PREV='{"cniVersion":"1.1.0","interfaces":[{"name":"eth0","sandbox":"/x"}],"ips":[{"address":"198.18.8.2/24","interface":0}]}'
	hrun "$H" "$P" ADD /x eth0 "$id" "$(mconf portmap '"backend":"nftables"' "$PREV")"
	n=$(in_ns "$H" nft -j list ruleset | jq --arg c "$id" '[.nftables[] | select(.rule.comment? == $c)] | length')
	h=$(in_ns "$H" nft -j list ruleset | jq --arg c "${id:0:32}:sha512:" '[.nftables[] | select(.rule.comment? // "" | startswith($c))] | length')
	if [ $len = 253 ]; then want=3:0; else want=0:3; fi
	check_eq "$len-byte id: comment verbatim:hashed" "$RC:$n:$h" "0:$want"
	hrun "$H" "$P" DEL /x eth0 "$id" "$(mconf portmap '"backend":"nftables"')"
	check_eq "$len-byte id: DEL" "$RC:$(rules "$H" "${id:0:32}")" "0:0"
done
finish
