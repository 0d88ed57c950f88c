#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Differential test of bridge + host-local against the reference binaries (/usr/lib/cni, Debian's
# containernetworking-plugins): the same configuration and call sequence, each implementation in
# its own private "host" namespace with its own containers and dataDir, then the result JSON
# (MACs, veth names and netns paths normalised) and the kernel state read back with ip -j
# compared: container addresses, routes and sysctls; bridge addresses, flags and port flags.
# Debian's 1.1.1 stops at spec 1.0.0: a 1.1.0 run is compared with its 1.0.0 answer.
. "$(dirname "$0")/lib.sh"
need_root bridge_diff
need_ref "bridge differential" bridge host-local

# Kernel state that both implementations must leave: container side, then host side.
state() { # HOSTNS CONTAINER-NETNS BRIDGE
	local h=$1 c=$2 br=$3 hv
	in_ns "$c" ip -j addr show eth0 | jq -c '[.[0].addr_info[] | select(.scope=="global") | {family, local, prefixlen}]'
	in_ns "$c" ip -j route show table main | jq -c 'map({dst, gateway, dev, scope, protocol}) | sort_by(.dst)'
	in_ns "$c" ip -j -6 route show table main | jq -c 'map(select(.dst | startswith("fe80") | not) | {dst, gateway, dev}) | sort_by(.dst)'
	for k in ipv4/conf/eth0/arp_notify ipv6/conf/eth0/accept_dad; do
		printf '%s=%s\n' "$k" "$(in_ns "$c" cat /proc/sys/net/$k 2>/dev/null)"
	done
	in_ns "$c" ip -j link show eth0 | jq -c '.[0] | {mtu, operstate, flags}'
	in_ns "$h" ip -j addr show "$br" | jq -c '[.[0].addr_info[] | select(.scope=="global") | {family, local, prefixlen}]'
	in_ns "$h" ip -d -j link show "$br" | jq -c '.[0] | {mtu, promiscuity, vf: .linkinfo.info_data.vlan_filtering}'
	hv=$(in_ns "$h" ip -j link show master "$br" | jq -r '.[0].ifname')
	in_ns "$h" ip -d -j link show "$hv" | jq -c '.[0] | {mtu, operstate, hairpin: .linkinfo.info_slave_data.hairpin}'
	# The reference writes the host veth's accept_ra to 0; cnic leaves a bridge port's alone and
	# enslaves it before it is up: a port's IP stack never sees a frame (bridge_port6.sh sends an
	# advertisement to prove it). Compared: whether an advertisement could reach the veth's stack.
	if [ "$(in_ns "$h" cat /proc/sys/net/ipv6/conf/$hv/accept_ra)" = 0 ] ||
		[ "$(in_ns "$h" ip -j link show "$hv" | jq -r '.[0].master // empty')" = "$br" ]; then
		echo 'host veth takes router advertisements: no'
	else
		echo 'host veth takes router advertisements: yes'
	fi
	printf 'ip_forward=%s v6_forwarding=%s\n' "$(in_ns "$h" cat /proc/sys/net/ipv4/ip_forward)" \
		"$(in_ns "$h" cat /proc/sys/net/ipv6/conf/all/forwarding)"
}

# diff_case NAME VERSION EXTRA-KEYS RANGES [ROUTES]
diff_case() {
	local name=$1 v=$2 extra=$3 ranges=$4 routes=${5:-[]} rv conf_o conf_r so sr ro rr
	local HO HR CO CR DO DR
	diff_sides
	rv=$v
	[ "$v" = 1.1.0 ] && rv=1.0.0
	conf_o=$(printf '{"cniVersion":"%s","name":"dnet","type":"bridge","bridge":"brd"%s,"ipam":{"type":"host-local","dataDir":"%s","ranges":%s,"routes":%s}}' "$v" "${extra:+,$extra}" "$DO" "$ranges" "$routes")
	conf_r=$(printf '{"cniVersion":"%s","name":"dnet","type":"bridge","bridge":"brd"%s,"ipam":{"type":"host-local","dataDir":"%s","ranges":%s,"routes":%s}}' "$rv" "${extra:+,$extra}" "$DR" "$ranges" "$routes")
	hrun "$HO" "$BIN/bridge" ADD "$CO" eth0 cd1 "$conf_o"
	[ "$RC" = 0 ] || echo "# ours failed: rc=$RC $OUT $(cat "$LAST_STDERR")"
	ro=$(norm_result "$OUT" "$CO" | sed "s/\"$v\"/\"V\"/")
	CNI_PATH_OVERRIDE=$REFPATH hrun "$HR" "$REFPATH/bridge" ADD "$CR" eth0 cd1 "$conf_r"
	rr=$(norm_result "$OUT" "$CR" | sed "s/\"$rv\"/\"V\"/")
	check_eq "$name: result as the reference's" "$ro" "$rr"
	so=$(state "$HO" "$CO" brd 2>&1)
	sr=$(state "$HR" "$CR" brd 2>&1)
	if [ "$so" = "$sr" ]; then
		ok "$name: kernel state as the reference's"
	else
		fail "$name: kernel state" "$(diff <(echo "$sr") <(echo "$so") | tr '\n' ' ')"
	fi
	hrun "$HO" "$BIN/bridge" DEL "$CO" eth0 cd1 "$conf_o"
	CNI_PATH_OVERRIDE=$REFPATH hrun "$HR" "$REFPATH/bridge" DEL "$CR" eth0 cd1 "$conf_r"
	check_eq "$name: both DELs leave the same files" "$(cd "$DO" && find . -type f ! -name '.cnic*' | sort | tr '\n' ' ')" \
		"$(cd "$DR" && find . -type f | sort | tr '\n' ' ')"
}

for v in $VERSIONS; do
	diff_case "isGateway $v" "$v" '"isGateway":true' '[[{"subnet":"10.70.0.0/24"}]]'
done
diff_case "isDefaultGateway dual-stack" 1.0.0 '"isDefaultGateway":true' \
	'[[{"subnet":"10.71.0.0/24"}],[{"subnet":"fd00:71::/64"}]]'
diff_case "routes from IPAM" 0.4.0 '"isGateway":true' '[[{"subnet":"10.72.0.0/24","gateway":"10.72.0.254"}]]' \
	'[{"dst":"10.200.0.0/16"},{"dst":"10.201.0.0/16","gw":"10.72.0.9"}]'
diff_case "mtu and hairpin" 1.0.0 '"mtu":1400,"hairpinMode":true' '[[{"subnet":"10.73.0.0/24"}]]'
diff_case "promiscMode" 1.0.0 '"promiscMode":true,"isGateway":true' '[[{"subnet":"10.74.0.0/24"}]]'
diff_case "enabledad" 1.0.0 '"enabledad":true' '[[{"subnet":"fd00:75::/64"}]]'
diff_case "no gateway" 0.3.1 '' '[[{"subnet":"10.76.0.0/24"}]]'
finish
