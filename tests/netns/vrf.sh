#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# vrf, chained after an interface made here by hand (a veth eth0 with addresses and a route, and
# the prevResult describing it), in throwaway namespaces: every spec version it accepts (0.3.1
# and later: older ones are refused) with ADD (prevResult passed through, VRF made with the first
# free table, the route moved into it), CHECK, DEL twice, DEL without ADD, DEL after the netns
# went; two interfaces in one VRF (it goes with the last), the same address in two VRFs, table
# conflicts, an interface that already has a master, bad configs, and the reference's result and
# kernel state for the same call. Needs the vrf module: prints a skip line without it (the VM lane
# runs it).
. "$(dirname "$0")/lib.sh"
need_root vrf
P=$BIN/vrf

mkhost PROBE
if ! ip -n "$PROBE" link add pv type vrf table 10 2>/dev/null; then
	skip "vrf" "kernel without VRF links (CONFIG_NET_VRF): the VM lane runs these tests"
	exit 0
fi
mkhost H

# iface NS NAME ADDR4 ADDR6 [N]: a veth NAME (peer NAME-p) with the addresses and the routes
# 10.N.0.0/16 via the .1 of its subnet and fd00:N::/64 via ::1 of its v6 subnet (N: 99; "none":
# no routes).
iface() {
	local rn=${5:-99}
	local n
	n=$(basename "$1")
	ip -n "$n" link add "$2" type veth peer name "$2-p"
	ip -n "$n" addr add "$3/24" dev "$2"
	ip -n "$n" addr add "$4/64" dev "$2" nodad
	ip -n "$n" link set "$2-p" up
	ip -n "$n" link set "$2" up
	[ "$rn" = none ] && return
	ip -n "$n" route add "10.$rn.0.0/16" via "${3%.*}.1" dev "$2"
	ip -n "$n" route add "fd00:$rn::/64" via "${4%::*}::1" dev "$2"
}
prev() { # NAME NETNS ADDR4 ADDR6 [VERSION]
	printf '{"cniVersion":"%s","interfaces":[{"name":"%s","sandbox":"%s"}],"ips":[{"address":"%s/24","interface":0},{"address":"%s/64","interface":0}],"routes":[{"dst":"10.99.0.0/16"}]}' "${5:-1.0.0}" "$1" "$2" "$3" "$4"
}
conf() { # VERSION KEYS PREV
	printf '{"cniVersion":"%s","name":"vnet","type":"vrf",%s,"prevResult":%s}' "$1" "$2" "$3"
}
master_of() { in_ns "$1" ip -j link show "${2:-eth0}" | jq -r '.[0].master // "none"'; }
vrf_table() { in_ns "$1" ip -d -j link show "$2" 2>/dev/null | jq -r '.[0].linkinfo.info_data.table // "none"'; }
# the routes of table $2 through $3 (eth0), ours only (not the kernel's, not local ones)
routes_in() { in_ns "$1" ip -j route show table "$2" dev "${3:-eth0}" | jq -r '[.[] | select(.protocol != "kernel") | .dst] | sort | join(",")'; }
routes6_in() { in_ns "$1" ip -6 -j route show table "$2" dev "${3:-eth0}" | jq -r '[.[] | select(.protocol != "kernel") | .dst] | sort | join(",")'; }

for v in $VERSIONS; do
	mkns C1
	iface "$C1" eth0 10.98.0.5 fd00:98::5
	PV=$(prev eth0 "$C1" 10.98.0.5 fd00:98::5)
	C=$(conf "$v" '"vrfname":"vrf0"' "$PV")
	hrun "$H" "$P" ADD "$C1" eth0 c1 "$C"
	case $v in
	0.1.0 | 0.2.0 | 0.3.0)
		check_eq "$v refused (needs 0.3.1)" "$RC:$(err_code):$(master_of "$C1")" "1:1:none"
		continue ;;
	esac
	check_eq "$v ADD" "$RC" 0
	check_eq "$v result is prevResult" "$(printf '%s' "$OUT" | jq -c '[[.interfaces[].name], [.ips[].address], [.routes[].dst]]')" \
		'[["eth0"],["10.98.0.5/24","fd00:98::5/64"],["10.99.0.0/16"]]'
	check_eq "$v eth0 in vrf0, table 1 (the first free)" "$(master_of "$C1"):$(vrf_table "$C1" vrf0)" "vrf0:1"
	check_eq "$v routes moved to table 1" "$(routes_in "$C1" 1):$(routes6_in "$C1" 1):$(routes_in "$C1" main)" "10.99.0.0/16:fd00:99::/64:"
	check_eq "$v IPv6 address kept" "$(ip_of "$C1" eth0 inet6)" "fd00:98::5"
	if [[ $v == 0.4.0 || $v == 1.* ]]; then
		hrun "$H" "$P" CHECK "$C1" eth0 c1 "$C"
		check_eq "$v CHECK" "$RC:$OUT" "0:"
	fi
	hrun "$H" "$P" DEL "$C1" eth0 c1 "$C"
	check_eq "$v DEL: eth0 out, vrf0 gone" "$RC:$OUT:$(master_of "$C1"):$(has_link "$C1" vrf0)" "0::none:no"
	if [[ $v == 0.4.0 || $v == 1.* ]]; then
		hrun "$H" "$P" CHECK "$C1" eth0 c1 "$C"
		check_eq "$v CHECK after DEL fails" "$RC" 1
	fi
	hrun "$H" "$P" DEL "$C1" eth0 c1 "$C"
	check_eq "$v second DEL" "$RC" 0
	hrun "$H" "$P" DEL "$C1" eth1 never "$C"
	check_eq "$v DEL without ADD" "$RC" 0
	hrun "$H" "$P" ADD "$C1" eth0 c1 "$C"
	ip netns del "$(basename "$C1")"
	hrun "$H" "$P" DEL "$C1" eth0 c1 "$C"
	check_eq "$v DEL after the netns vanished" "$RC" 0
done

# ---- two interfaces, same and different VRFs, tables ------------------------------------------
mkns C1
iface "$C1" eth0 10.98.0.5 fd00:98::5
iface "$C1" eth1 10.97.0.5 fd00:97::5 96
iface "$C1" eth2 10.98.0.5 fd00:98::5 95 # the same address, for a second VRF
ip -n "$(basename "$C1")" link add other type vrf table 7
ip -n "$(basename "$C1")" link set other up
C0=$(conf 1.0.0 '"vrfname":"vrfA"' "$(prev eth0 "$C1" 10.98.0.5 fd00:98::5)")
C1c=$(conf 1.0.0 '"vrfname":"vrfA"' "$(prev eth1 "$C1" 10.97.0.5 fd00:97::5)")
hrun "$H" "$P" ADD "$C1" eth0 c1 "$C0"
check_eq "vrfA: the first free table skips other VRFs' tables" "$RC:$(vrf_table "$C1" vrfA)" "0:1"
hrun "$H" "$P" ADD "$C1" eth1 c1 "$C1c"
check_eq "eth1 into the same vrfA" "$RC:$(master_of "$C1" eth1):$(routes_in "$C1" 1 eth1)" "0:vrfA:10.96.0.0/16"
C2=$(conf 1.0.0 '"vrfname":"vrfB","table":100' "$(prev eth2 "$C1" 10.98.0.5 fd00:98::5)")
hrun "$H" "$P" ADD "$C1" eth2 c1 "$C2"
check_eq "eth2 with the same address into vrfB, table 100" "$RC:$(master_of "$C1" eth2):$(vrf_table "$C1" vrfB):$(routes_in "$C1" 100 eth2)" "0:vrfB:100:10.95.0.0/16"
check_eq "  the same address in both tables" "$(in_ns "$C1" ip -j route show table local 10.98.0.5 | jq length):$(in_ns "$C1" ip -j route show table 1 | jq -r '[.[] | select(.type=="local") | .dst] | join(",")'):$(in_ns "$C1" ip -j route show table 100 | jq -r '[.[] | select(.type=="local") | .dst] | join(",")')" \
	"0:10.97.0.5,10.98.0.5:10.98.0.5"
hrun "$H" "$P" CHECK "$C1" eth2 c1 "$C2"
check_eq "  CHECK with the table" "$RC:$OUT" "0:"
hrun "$H" "$P" ADD "$C1" eth1 c1 "$(conf 1.0.0 '"vrfname":"vrfA","table":55' "$(prev eth1 "$C1" 10.97.0.5 fd00:97::5)")"
check_eq "vrfA with another table: refused" "$RC:$(printf '%s' "$OUT" | jq -r .msg)" "1:VRF vrfA already exist with different routing table 1"
hrun "$H" "$P" DEL "$C1" eth0 c1 "$C0"
check_eq "DEL eth0: vrfA stays for eth1" "$RC:$(master_of "$C1" eth0):$(has_link "$C1" vrfA)" "0:none:yes"
hrun "$H" "$P" DEL "$C1" eth1 c1 "$C1c"
check_eq "DEL eth1: vrfA goes with its last member" "$RC:$(has_link "$C1" vrfA):$(has_link "$C1" other)" "0:no:yes"
hrun "$H" "$P" ADD "$C1" eth2 c1 "$(conf 1.0.0 '"vrfname":"vrfC"' "$(prev eth2 "$C1" 10.98.0.5 fd00:98::5)")"
check_eq "an interface that has a master already: refused, no VRF left" "$RC:$(printf '%s' "$OUT" | jq -r .msg):$(has_link "$C1" vrfC)" \
	"1:interface eth2 has already a master set: vrfB:no"
hrun "$H" "$P" DEL "$C1" eth2 c1 "$C2"
check_eq "DEL eth2: vrfB gone" "$RC:$(has_link "$C1" vrfB)" "0:no"
hrun "$H" "$P" ADD "$C1" eth0 c1 '{"cniVersion":"1.0.0","name":"v","type":"vrf","vrfname":"vrfD"}'
check_eq "no prevResult: refused" "$RC:$(has_link "$C1" vrfD)" "1:no"
for bad in '"vrfname":""' '"vrfname":"a/b"' '"vrfname":"x","table":-1'; do
	hrun "$H" "$P" ADD "$C1" eth0 c1 "$(conf 1.0.0 "$bad" "$(prev eth0 "$C1" 10.98.0.5 fd00:98::5)")"
	check_eq "bad config $bad: refused" "$RC:$(master_of "$C1")" "1:none"
done
# DEL left eth0 without its custom route (the kernel flushes it on release, as with the reference)
ip -n "$(basename "$C1")" route replace 10.99.0.0/16 via 10.98.0.1 dev eth0
hrun "$H" "$P" ADD "$C1" eth0 c1 "$(conf 1.0.0 '"vrfname":"other"' "$(prev eth0 "$C1" 10.98.0.5 fd00:98::5)")"
check_eq "an existing VRF is joined with its table" "$RC:$(master_of "$C1"):$(routes_in "$C1" 7)" "0:other:10.99.0.0/16"
hrun "$H" "$P" STATUS "" "" "" '{"cniVersion":"1.1.0","name":"v","type":"vrf","vrfname":"x"}'
check_eq "STATUS" "$RC:$OUT" "0:"

# ---- the reference, same call ------------------------------------------------------------------
if [ -x "$REF/vrf" ]; then
	state() {
		in_ns "$1" ip -d -j link show vrf0 | jq -c '.[0] | {flags, kind: .linkinfo.info_kind, table: .linkinfo.info_data.table}'
		in_ns "$1" ip -j link show eth0 | jq -c '.[0] | {master, flags}'
		in_ns "$1" ip -j addr show eth0 | jq -c '[.[0].addr_info[] | select(.scope=="global") | {family, local, prefixlen}]'
		for t in main 1; do
			in_ns "$1" ip -j route show table $t | jq -c 'map({dst, gateway, dev, scope, type}) | sort_by(.dst)'
			in_ns "$1" ip -6 -j route show table $t | jq -c 'map(select(.dst | startswith("fe80") | not) | {dst, gateway, dev}) | sort_by(.dst)'
		done
	}
	# Debian's 1.1.1 predates moving custom routes into the VRF table (it loses them): the
	# interfaces here have only their connected routes.
	for v in 0.4.0 1.0.0; do
		mkns CO
		mkns CR
		iface "$CO" eth0 10.98.0.5 fd00:98::5 none
		iface "$CR" eth0 10.98.0.5 fd00:98::5 none
		co=$(conf "$v" '"vrfname":"vrf0"' "$(prev eth0 "$CO" 10.98.0.5 fd00:98::5 "$v")")
		cr=$(conf "$v" '"vrfname":"vrf0"' "$(prev eth0 "$CR" 10.98.0.5 fd00:98::5 "$v")")
		hrun "$H" "$P" ADD "$CO" eth0 d1 "$co"
		ro=$(norm_result "$OUT" "$CO")
		hrun "$H" "$REF/vrf" ADD "$CR" eth0 d1 "$cr"
		rr=$(norm_result "$OUT" "$CR")
		check_eq "reference $v: result" "$ro" "$rr"
		check_eq "reference $v: kernel state" "$(state "$CO" 2>&1)" "$(state "$CR" 2>&1)"
		hrun "$H" "$P" DEL "$CO" eth0 d1 "$co"
		hrun "$H" "$REF/vrf" DEL "$CR" eth0 d1 "$cr"
		check_eq "reference $v: DEL" "$RC:$(has_link "$CO" vrf0):$(has_link "$CR" vrf0)" "0:no:no"
		check_eq "reference $v: state after DEL" "$(state "$CO" 2>&1)" "$(state "$CR" 2>&1)"
	done
else
	skip "vrf differential" "reference plugins not installed in $REF"
fi
finish
