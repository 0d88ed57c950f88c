#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Crash safety: macvlan ADD (dual-stack host-local) killed with SIGKILL, with its IPAM child, at
# random points, each followed by the runtime's DEL; afterwards no macvlan (under its temporary
# or final name, in the host or the container) and no reservation may be left.
. "$(dirname "$0")/lib.sh"
need_root macvlan_crash
tmpdir DATA
mkhost H
mkmaster "$H" mst
N=${CRASH_RUNS:-20}
C=$(printf '{"cniVersion":"1.1.0","name":"crash","type":"macvlan","master":"mst","ipam":{"type":"host-local","dataDir":"%s","ranges":[[{"subnet":"10.46.0.0/24"}],[{"subnet":"fd00:46::/64"}]]}}' "$DATA")

add_span "$H" "$BIN/macvlan" "$C"

killed=0
for i in $(seq 1 "$N"); do
	mkns CN
	crash_add "$H" "$BIN/macvlan" "$CN" "k$i" "$C" && killed=$((killed + 1))
	[ $((i % 4)) = 0 ] && ip netns del "$(basename "$CN")"
	hrun "$H" "$BIN/macvlan" DEL "$CN" eth0 "k$i" "$C"
	if [ "$RC" != 0 ]; then
		fail "run $i (kill after ${DELAY}us): DEL failed" "$OUT"
		continue
	fi
	# A kill between create and rename leaves the temporary name in the container: DEL finds it
	# (the name is derived from the attachment). Nothing may be in the host either.
	cont=$(in_ns "$CN" ip -j link show type macvlan 2>/dev/null | jq length 2>/dev/null)
	check_eq "run $i (kill after ${DELAY}us of ~${SPAN}us): nothing left" \
		"host=$(in_ns "$H" ip -j link show type macvlan | jq length) container=${cont:-0} reservations=$(files_left)" \
		"host=0 container=0 reservations=0"
	ip netns del "$(basename "$CN")" 2>/dev/null
done
echo "# $killed of $N ADDs were killed before they finished"
finish
