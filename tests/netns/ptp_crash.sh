#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Crash safety: ptp ADD (dual-stack host-local, masquerade in both layouts) killed with SIGKILL,
# with its IPAM child, at random points, each followed by the runtime's DEL; afterwards no veth,
# host address or route, nftables rule or reservation of that attachment may be left.
. "$(dirname "$0")/lib.sh"
need_root ptp_crash
tmpdir DATA
mkhost H
N=${CRASH_RUNS:-20}
conf() {
	printf '{"cniVersion":"1.1.0","name":"crash","type":"ptp","ipMasq":true,"ipMasqBackend":"%s","ipam":{"type":"host-local","dataDir":"%s","ranges":[[{"subnet":"10.47.0.0/24"}],[{"subnet":"fd00:47::/64"}]]}}' "$1" "$DATA"
}

add_span "$H" "$BIN/ptp" "$(conf nftables)"

leftovers() {
	local veths masq ipt files routes
	veths=$(in_ns "$H" ip -j link show type veth | jq length)
	masq=$(masq_rules "$H")
	ipt=$(for f in ip ip6; do in_ns "$H" nft -j list table $f nat 2>/dev/null | jq -r '.nftables[] | select(.rule) | .rule.chain'; done | wc -l)
	routes=$(in_ns "$H" ip -j route show | jq '[.[] | select(.dst | startswith("10.47."))] | length')
	files=$(files_left)
	echo "veths=$veths masq=${masq:-0} iptables=$ipt routes=$routes reservations=$files"
}

killed=0
for i in $(seq 1 "$N"); do
	backend=nftables
	[ $((i % 2)) = 0 ] && backend=iptables
	C=$(conf $backend)
	mkns CN
	crash_add "$H" "$BIN/ptp" "$CN" "k$i" "$C" && killed=$((killed + 1))
	# Half of the runs lose the netns before DEL, as a runtime that lost the container would.
	[ $((i % 4)) -lt 2 ] && ip netns del "$(basename "$CN")"
	hrun "$H" "$BIN/ptp" DEL "$CN" eth0 "k$i" "$C"
	if [ "$RC" != 0 ]; then
		fail "run $i ($backend, kill after ${DELAY}us): DEL failed" "$OUT"
		continue
	fi
	# A deleted netns loses its devices in the kernel's background cleanup (cleanup_net), the
	# host end of the veth with them: wait for that, bounded, before counting leftovers.
	poll_until 3000 sh -c "[ \"\$(ip -n $H -j link show type veth | jq length)\" = 0 ]"
	check_eq "run $i ($backend, kill after ${DELAY}us of ~${SPAN}us): nothing left" "$(leftovers)" \
		"veths=0 masq=0 iptables=0 routes=0 reservations=0"
	ip netns del "$(basename "$CN")" 2>/dev/null
done
echo "# $killed of $N ADDs were killed before they finished"
finish
