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

mkns C0
t0=$(date +%s%N)
hrun "$H" "$BIN/macvlan" ADD "$C0" eth0 warm "$C"
span=$((($(date +%s%N) - t0) / 1000))
hrun "$H" "$BIN/macvlan" DEL "$C0" eth0 warm "$C"
[ "$span" -lt 1000 ] && span=1000

killed=0
for i in $(seq 1 "$N"); do
	mkns CN
	delay=$((RANDOM * span / 32768))
	printf '%s' "$C" | ip netns exec "$H" setsid env CNI_COMMAND=ADD CNI_NETNS="$CN" CNI_IFNAME=eth0 \
		CNI_CONTAINERID="k$i" CNI_PATH="$BIN" "$BIN/macvlan" >/dev/null 2>&1 &
	pid=$!
	sleep "$(printf '0.%06d' "$delay")"
	kill -KILL -- "-$pid" 2>/dev/null && killed=$((killed + 1))
	wait "$pid" 2>/dev/null
	poll_until 2000 bash -c "! pgrep -g $pid >/dev/null"
	[ $((i % 4)) = 0 ] && ip netns del "$(basename "$CN")"
	hrun "$H" "$BIN/macvlan" DEL "$CN" eth0 "k$i" "$C"
	if [ "$RC" != 0 ]; then
		fail "run $i (kill after ${delay}us): DEL failed" "$OUT"
		continue
	fi
	# A kill between create and rename leaves the temporary name in the container: DEL finds it
	# (the name is derived from the attachment). Nothing may be in the host either.
	cont=$(in_ns "$CN" ip -j link show type macvlan 2>/dev/null | jq length 2>/dev/null)
	check_eq "run $i (kill after ${delay}us of ~${span}us): nothing left" \
		"host=$(in_ns "$H" ip -j link show type macvlan | jq length) container=${cont:-0} reservations=$(find "$DATA" -type f ! -name lock ! -name 'last_reserved_ip.*' ! -name '.cnic*' | wc -l)" \
		"host=0 container=0 reservations=0"
	ip netns del "$(basename "$CN")" 2>/dev/null
done
echo "# $killed of $N ADDs were killed before they finished"
finish
