#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Crash safety: bridge ADD (with host-local, masquerade and the spoof check) killed with SIGKILL,
# with its IPAM child, at 50 random points, each followed by the runtime's DEL; afterwards no
# veth, address, route, nftables rule or reservation of that attachment may be left.
. "$(dirname "$0")/lib.sh"
need_root bridge_crash
tmpdir DATA
mkhost H
N=${CRASH_RUNS:-50}
C=$(printf '{"cniVersion":"1.1.0","name":"crash","type":"bridge","bridge":"brc","isGateway":true,"ipMasq":true,"macspoofchk":true,"ipam":{"type":"host-local","dataDir":"%s","ranges":[[{"subnet":"10.77.0.0/24"}],[{"subnet":"fd00:77::/64"}]]}}' "$DATA")

add_span "$H" "$BIN/bridge" "$C"

leftovers() {
	local veths rules files spoof
	veths=$(in_ns "$H" ip -j link show type veth | jq length)
	rules=$(masq_rules "$H")
	spoof=$(in_ns "$H" nft -j list table bridge nat 2>/dev/null | jq '[.nftables[] | select(.rule)] | length' 2>/dev/null)
	files=$(files_left)
	echo "veths=$veths masq=${rules:-0} spoof=${spoof:-0} reservations=$files"
}

killed=0
for i in $(seq 1 "$N"); do
	mkns CN
	crash_add "$H" "$BIN/bridge" "$CN" "k$i" "$C" && killed=$((killed + 1))
	hrun "$H" "$BIN/bridge" DEL "$CN" eth0 "k$i" "$C"
	if [ "$RC" != 0 ]; then
		fail "run $i (kill after ${DELAY}us): DEL failed" "$OUT"
		continue
	fi
	left=$(leftovers)
	check_eq "run $i (kill after ${DELAY}us of ~${SPAN}us): nothing left" "$left" "veths=0 masq=0 spoof=0 reservations=0"
	check_eq "run $i: no eth0 in the container" "$(in_ns "$CN" ip link show eth0 >/dev/null 2>&1 && echo yes || echo no)" no
	ip netns del "$(basename "$CN")"
done
echo "# $killed of $N ADDs were killed before they finished"
finish
