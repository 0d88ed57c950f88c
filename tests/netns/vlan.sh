#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# vlan (+ host-local) as a runtime runs it, inside a private "host" namespace H whose master m0 is
# a veth to a "switch" namespace X that terminates VLAN 100 (xp.100, 10.80.0.1): every spec
# version (ADD, a ping through the tag, CHECK, DEL twice, DEL without ADD, DEL after the netns
# went), mtu (given, inherited, above the master's, negative), linkInContainer, STATUS, GC, bad
# configs, DEL after the master vanished (the reference fails), the example, and the reference's
# result and kernel state for the same call. Needs the 8021q module: prints a skip line without
# it (the VM lane runs it).
. "$(dirname "$0")/lib.sh"
need_root vlan
P=$BIN/vlan
tmpdir DATA

mkhost PROBE
ip -n "$PROBE" link add pa type veth peer name pb
if ! ip -n "$PROBE" link add pv link pa type vlan id 5 2>/dev/null; then
	skip "vlan" "kernel without 802.1Q VLANs (CONFIG_VLAN_8021Q): the VM lane runs these tests"
	exit 0
fi

topo() {
	mkhost H
	mkhost X
	ip -n "$X" link add xp type veth peer name m0 netns "$H"
	ip -n "$X" link add link xp name xp.100 type vlan id 100
	ip -n "$X" addr add 10.80.0.1/24 dev xp.100
	ip -n "$X" link set xp up
	ip -n "$X" link set xp.100 up
	ip -n "$H" link set m0 up
}
R4='[[{"subnet":"10.80.0.0/24","rangeStart":"10.80.0.10","gateway":"10.80.0.1"}]]'
conf() { # VERSION EXTRA-KEYS
	printf '{"cniVersion":"%s","name":"vlnet","type":"vlan"%s,"ipam":{"type":"host-local","dataDir":"%s","ranges":%s,"routes":[{"dst":"0.0.0.0/0"}]}}' \
		"$1" "${2:+,$2}" "$DATA" "$R4"
}
files_left() { find "$DATA" -type f ! -name lock ! -name 'last_reserved_ip.*' ! -name '.cnic*' | wc -l; }
vinfo() { in_ns "$1" ip -d -j link show "${2:-eth0}" | jq -r '.[0] | [.linkinfo.info_kind, .linkinfo.info_data.protocol, .linkinfo.info_data.id, .mtu] | join(",")'; }

# ---- every spec version -----------------------------------------------------------------------
topo
for v in $VERSIONS; do
	mkns C1
	C=$(conf "$v" '"master":"m0","vlanId":100')
	hrun "$H" "$P" ADD "$C1" eth0 c1 "$C"
	check_eq "$v ADD" "$RC" 0
	R1=$OUT
	a1=$(ip_of "$C1")
	case $v in
	0.1.0 | 0.2.0)
		check_eq "$v result ip4" "$(printf '%s' "$R1" | jq -c '[.ip4.ip, .ip4.gateway]')" "[\"$a1/24\",\"10.80.0.1\"]" ;;
	*)
		check_eq "$v result" "$(printf '%s' "$R1" | jq -c '[[.interfaces[] | .name, .sandbox], .ips[0].interface, .ips[0].address]')" "[[\"eth0\",\"$C1\"],0,\"$a1/24\"]"
		check_eq "$v result MAC is the link's" "$(printf '%s' "$R1" | jq -r '.interfaces[0].mac')" "$(in_ns "$C1" ip -j link show eth0 | jq -r '.[0].address')" ;;
	esac
	check_eq "$v kind vlan, 802.1Q, id 100, master's mtu" "$(vinfo "$C1")" "vlan,802.1Q,100,1500"
	check "$v pings the switch through the tag" ping_ok "$C1" 10.80.0.1
	if [[ $v == 0.4.0 || $v == 1.* ]]; then
		hrun "$H" "$P" CHECK "$C1" eth0 c1 "$(with_prev "$C" "$R1")"
		check_eq "$v CHECK" "$RC:$OUT" "0:"
		hrun "$H" "$P" CHECK "$C1" eth0 c1 "$(with_prev "$(conf "$v" '"master":"m0","vlanId":101')" "$R1")"
		check_eq "$v CHECK with another vlanId fails" "$RC" 1
	fi
	hrun "$H" "$P" DEL "$C1" eth0 c1 "$C"
	check_eq "$v DEL" "$RC:$OUT:$(has_link "$C1" eth0):$(files_left)" "0::no:0"
	hrun "$H" "$P" DEL "$C1" eth0 c1 "$C"
	check_eq "$v second DEL" "$RC" 0
	hrun "$H" "$P" DEL "$C1" eth0 never "$C"
	check_eq "$v DEL without ADD" "$RC" 0
	hrun "$H" "$P" ADD "$C1" eth0 c2 "$C"
	ip netns del "$(basename "$C1")"
	hrun "$H" "$P" DEL "$C1" eth0 c2 "$C"
	check_eq "$v DEL after the netns vanished" "$RC:$(files_left)" "0:0"
done

# ---- mtu, linkInContainer, STATUS, GC, bad configs ---------------------------------------------
mkns C1
C=$(conf 1.1.0 '"master":"m0","vlanId":100,"mtu":1280')
hrun "$H" "$P" ADD "$C1" eth0 c1 "$C"
check_eq "mtu 1280" "$RC:$(vinfo "$C1")" "0:vlan,802.1Q,100,1280"
hrun "$H" "$P" CHECK "$C1" eth0 c1 "$(with_prev "$C" "$OUT")"
check_eq "mtu CHECK" "$RC:$OUT" "0:"
hrun "$H" "$P" ADD "$C1" eth1 c1b "$(conf 1.1.0 '"master":"m0","vlanId":100')"
check_eq "a second vlan with the same id on the master refused, nothing left" "$RC:$(has_link "$C1" eth1):$(in_ns "$C1" ip -j link show type vlan | jq length)" "1:no:1"
hrun "$H" "$P" DEL "$C1" eth0 c1 "$C"
check_eq "mtu DEL" "$RC:$(files_left)" "0:0"
for bad in '"vlanId":100,"mtu":9000' '"vlanId":100,"mtu":-1' '"vlanId":5000' '"vlanId":-1' '"vlanId":100,"master":""' '"vlanId":100,"master":"a/b"'; do
	hrun "$H" "$P" ADD "$C1" eth9 c1 "$(conf 1.0.0 "\"master\":\"m0\",$bad")"
	check_eq "bad config $bad: code 7, nothing made" "$RC:$(err_code):$(has_link "$C1" eth9):$(files_left)" "1:7:no:0"
done
hrun "$H" "$P" DEL "$C1" eth9 c1 "$(conf 1.0.0 '"vlanId":5000')"
check_eq "DEL of a config without master and a bad id" "$RC" 0
hrun "$H" "$P" ADD "$C1" eth9 c1 "$(conf 1.0.0 '"master":"nosuch0","vlanId":7')"
check_eq "missing master: ADD fails, nothing left" "$RC:$(has_link "$C1" eth9):$(files_left)" "1:no:0"

ip -n "$(basename "$C1")" link add cm0 type veth peer name cm1
ip -n "$(basename "$C1")" link set cm0 up
C=$(conf 1.0.0 '"master":"cm0","vlanId":7,"linkInContainer":true')
hrun "$H" "$P" ADD "$C1" eth0 c1 "$C"
check_eq "linkInContainer: on the container's cm0" "$RC:$(in_ns "$C1" ip -d -j link show eth0 | jq -r '.[0].link'):$(vinfo "$C1")" "0:cm0:vlan,802.1Q,7,1500"
hrun "$H" "$P" CHECK "$C1" eth0 c1 "$(with_prev "$C" "$OUT")"
check_eq "linkInContainer CHECK" "$RC:$OUT" "0:"
hrun "$H" "$P" DEL "$C1" eth0 c1 "$C"
check_eq "linkInContainer DEL" "$RC:$(has_link "$C1" eth0):$(has_link "$C1" cm0)" "0:no:yes"

C=$(conf 1.1.0 '"master":"m0","vlanId":100')
hrun "$H" "$P" STATUS "" "" "" "$C"
check_eq "STATUS" "$RC:$OUT" "0:"
hrun "$H" "$P" STATUS "" "" "" "$(conf 1.1.0 '"master":"nosuch0","vlanId":100')"
check_eq "STATUS without the master: code 50" "$RC:$(err_code)" "1:50"
mkns C2
hrun "$H" "$P" ADD "$C1" eth0 c1 "$C"
hrun "$H" "$P" ADD "$C2" eth0 c2 "$(conf 1.1.0 '"master":"m0","vlanId":200')"
hrun "$H" "$P" GC "" "" "" "$(printf '%s' "$C" | jq -c '. + {"cni.dev/valid-attachments":[{"containerID":"c2","ifname":"eth0"}]}')"
check_eq "GC keeps c2's reservation only" "$RC:$OUT:$(files_left)" "0::1"
# The master goes: the kernel takes its VLANs along; DEL must not care (the reference fails).
ip -n "$H" link del m0
hrun "$H" "$P" DEL "$C1" eth0 c1 "$C"
check_eq "DEL after the master vanished" "$RC:$(has_link "$C1" eth0)" "0:no"
hrun "$H" "$P" DEL "$C2" eth0 c2 "$C"
check_eq "DEL after the master vanished (c2)" "$RC:$(files_left)" "0:0"

# ---- the example configuration list works as is (its master eth0 made in the private host) -------
EX=$TOP/conf/examples/vlan.conflist
mkhost H
mkhost X
ip -n "$X" link add xp type veth peer name eth0 netns "$H"
ip -n "$X" link set xp up
ip -n "$H" link set eth0 up
mkns C1
C=$(jq -c --arg d "$DATA" '.plugins[0] + {cniVersion, name} | .ipam.dataDir = $d' "$EX")
hrun "$H" "$P" ADD "$C1" eth0 ex1 "$C"
R1=$OUT
check_eq "conf/examples/vlan.conflist ADD" "$RC:$(vinfo "$C1" | cut -d, -f1,3)" "0:vlan,$(jq '.plugins[0].vlanId' "$EX")"
hrun "$H" "$P" CHECK "$C1" eth0 ex1 "$(with_prev "$C" "$R1")"
check_eq "  CHECK" "$RC:$OUT" "0:"
hrun "$H" "$P" DEL "$C1" eth0 ex1 "$C"
check_eq "  DEL leaves nothing" "$RC:$(files_left):$(has_link "$C1" eth0)" "0:0:no"

# ---- the reference, same call ------------------------------------------------------------------
if [ -x "$REF/vlan" ] && [ -x "$REF/host-local" ]; then
	REFPATH=$(mktemp -d /tmp/cnic-refpath.XXXXXX)
	T_DIRS="$T_DIRS $REFPATH"
	cp "$REF/vlan" "$REF/host-local" "$REFPATH/"
	state() {
		in_ns "$1" ip -d -j link show eth0 | jq -c '.[0] | {mtu, operstate, flags, kind: .linkinfo.info_kind, d: .linkinfo.info_data}'
		in_ns "$1" ip -j addr show eth0 | jq -c '[.[0].addr_info[] | select(.scope=="global") | {family, local, prefixlen}]'
		in_ns "$1" ip -j route show table main | jq -c 'map({dst, gateway, dev, scope}) | sort_by(.dst)'
	}
	for v in 0.3.1 1.0.0; do
		topo
		HO=$H
		topo
		HR=$H
		mkns CO
		mkns CR
		tmpdir DO
		tmpdir DR
		K='"master":"m0","vlanId":100,"mtu":1400,"dns":{"nameservers":["10.80.0.53"]}'
		co=$(conf "$v" "$K" | jq -c --arg d "$DO" '.ipam.dataDir = $d')
		cr=$(conf "$v" "$K" | jq -c --arg d "$DR" '.ipam.dataDir = $d')
		hrun "$HO" "$P" ADD "$CO" eth0 d1 "$co"
		ro=$(norm_result "$OUT" "$CO")
		CNI_PATH_OVERRIDE=$REFPATH hrun "$HR" "$REFPATH/vlan" ADD "$CR" eth0 d1 "$cr"
		rr=$(norm_result "$OUT" "$CR")
		check_eq "reference $v: result" "$ro" "$rr"
		check_eq "reference $v: kernel state" "$(state "$CO" 2>&1)" "$(state "$CR" 2>&1)"
		hrun "$HO" "$P" DEL "$CO" eth0 d1 "$co"
		CNI_PATH_OVERRIDE=$REFPATH hrun "$HR" "$REFPATH/vlan" DEL "$CR" eth0 d1 "$cr"
		check_eq "reference $v: DEL" "$RC:$(has_link "$CO" eth0):$(has_link "$CR" eth0)" "0:no:no"
	done
else
	skip "vlan differential" "reference plugins not installed in $REF"
fi
finish
