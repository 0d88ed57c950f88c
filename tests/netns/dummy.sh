#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# dummy (+ host-local) as a runtime runs it, inside a private "host" namespace H: every spec
# version (ADD, the address and routes, CHECK, DEL twice, DEL without ADD, DEL after the netns
# went), a link of the same name in the host netns (no clash: nothing is made there), an
# interface of another kind under CNI_IFNAME in the container (ADD refused, DEL leaves it),
# IPAM required (code 7), STATUS, GC and the example. Needs the dummy module: prints a skip line
# without it (the VM lane runs it).
. "$(dirname "$0")/lib.sh"
need_root dummy
P=$BIN/dummy
tmpdir DATA

mkhost PROBE
if ! ip -n "$PROBE" link add pd type dummy 2>/dev/null; then
	skip "dummy" "kernel without dummy links (CONFIG_DUMMY): the VM lane runs these tests"
	exit 0
fi

conf() { # VERSION [EXTRA-KEYS]
	printf '{"cniVersion":"%s","name":"dnet","type":"dummy"%s,"ipam":{"type":"host-local","dataDir":"%s","ranges":[[{"subnet":"10.90.0.0/24","gateway":"10.90.0.1"}]],"routes":[{"dst":"10.91.0.0/16"}]}}' \
		"$1" "${2:+,$2}" "$DATA"
}
files_left() { find "$DATA" -type f ! -name lock ! -name 'last_reserved_ip.*' ! -name '.cnic*' | wc -l; }
kind() { in_ns "$1" ip -d -j link show "${2:-eth0}" | jq -r '.[0] | [.linkinfo.info_kind, (.flags | index("UP") != null)] | join(",")'; }

mkhost H
# a link named like the container's interface in the host netns: no clash
ip -n "$H" link add eth0 type dummy
for v in $VERSIONS; do
	mkns C1
	C=$(conf "$v")
	hrun "$H" "$P" ADD "$C1" eth0 c1 "$C"
	check_eq "$v ADD (eth0 exists in the host netns)" "$RC" 0
	R1=$OUT
	a1=$(ip_of "$C1")
	case $v in
	0.1.0 | 0.2.0)
		check_eq "$v result ip4" "$(printf '%s' "$R1" | jq -c '[.ip4.ip, .ip4.gateway]')" "[\"$a1/24\",\"10.90.0.1\"]" ;;
	*)
		check_eq "$v result" "$(printf '%s' "$R1" | jq -c '[[.interfaces[] | .name, .sandbox], .ips[0].interface, .ips[0].address, .routes[0].dst]')" \
			"[[\"eth0\",\"$C1\"],0,\"$a1/24\",\"10.91.0.0/16\"]" ;;
	esac
	check_eq "$v kind dummy, up, address 10.90.0.x" "$(kind "$C1"):${a1%.*}" "dummy,true:10.90.0"
	check_eq "$v route through eth0" "$(in_ns "$C1" ip -j route show 10.91.0.0/16 | jq -r '.[0].dev')" eth0
	check "$v the address answers" ping_ok "$C1" "$a1"
	check_eq "$v the host's eth0 untouched" "$(kind "$H")" "dummy,false"
	if [[ $v == 0.4.0 || $v == 1.* ]]; then
		hrun "$H" "$P" CHECK "$C1" eth0 c1 "$(with_prev "$C" "$R1")"
		check_eq "$v CHECK" "$RC:$OUT" "0:"
		ip -n "$(basename "$C1")" link set eth0 down
		hrun "$H" "$P" CHECK "$C1" eth0 c1 "$(with_prev "$C" "$R1")"
		check_eq "$v CHECK of a down link fails" "$RC" 1
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

mkns C1
C=$(conf 1.1.0)
ip -n "$(basename "$C1")" link add eth0 type veth peer name eth0p
hrun "$H" "$P" ADD "$C1" eth0 c1 "$C"
check_eq "eth0 (a veth) exists in the container: ADD refused, nothing reserved" "$RC:$(kind "$C1"):$(files_left)" "1:veth,false:0"
hrun "$H" "$P" DEL "$C1" eth0 c1 "$C"
check_eq "  DEL leaves the veth alone" "$RC:$(has_link "$C1" eth0)" "0:yes"
for ipam in '' ',"ipam":{}'; do
	hrun "$H" "$P" ADD "$C1" eth1 c1 "$(printf '{"cniVersion":"1.0.0","name":"d","type":"dummy"%s}' "$ipam")"
	check_eq "no IPAM ($ipam): code 7, nothing made" "$RC:$(err_code):$(printf '%s' "$OUT" | jq -r .msg):$(has_link "$C1" eth1)" \
		"1:7:dummy interface requires an IPAM configuration:no"
done
hrun "$H" "$P" DEL "$C1" eth1 c1 '{"cniVersion":"1.0.0","name":"d","type":"dummy"}'
check_eq "DEL without IPAM" "$RC" 0
hrun "$H" "$P" STATUS "" "" "" "$C"
check_eq "STATUS" "$RC:$OUT" "0:"
mkns C2
hrun "$H" "$P" ADD "$C1" eth1 c1 "$C"
hrun "$H" "$P" ADD "$C2" eth0 c2 "$C"
hrun "$H" "$P" GC "" "" "" "$(printf '%s' "$C" | jq -c '. + {"cni.dev/valid-attachments":[{"containerID":"c2","ifname":"eth0"}]}')"
check_eq "GC keeps c2's reservation only" "$RC:$OUT:$(files_left)" "0::1"
hrun "$H" "$P" DEL "$C1" eth1 c1 "$C"
hrun "$H" "$P" DEL "$C2" eth0 c2 "$C"
check_eq "GC: DELs leave nothing" "$RC:$(files_left):$(has_link "$C2" eth0)" "0:0:no"

EX=$TOP/conf/examples/dummy.conflist
mkns C1
C=$(jq -c --arg d "$DATA" '.plugins[0] + {cniVersion, name} | .ipam.dataDir = $d' "$EX")
hrun "$H" "$P" ADD "$C1" eth0 ex1 "$C"
R1=$OUT
check_eq "conf/examples/dummy.conflist ADD" "$RC:$(kind "$C1")" "0:dummy,true"
hrun "$H" "$P" CHECK "$C1" eth0 ex1 "$(with_prev "$C" "$R1")"
check_eq "  CHECK" "$RC:$OUT" "0:"
hrun "$H" "$P" DEL "$C1" eth0 ex1 "$C"
check_eq "  DEL leaves nothing" "$RC:$(files_left):$(has_link "$C1" eth0)" "0:0:no"
finish
