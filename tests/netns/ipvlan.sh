#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# ipvlan (+ host-local) as a runtime runs it, inside a private "host" namespace H whose master m0
# is a veth to a "switch" namespace X (a bridge sw with the address 10.70.0.1): every spec
# version, the modes and flags proven by who can reach whom (X resolves a container's address by
# ARP only in l2; private isolates the containers; vepa sends their traffic to the switch, which
# returns it only with hairpin on), mtu, linkInContainer, the default-route master, chained mode
# (IPs and master from prevResult), L2 only, CHECK, STATUS, GC, DEL in every broken state (also
# those where the reference fails), the reference's results for the same calls, and ADDs killed
# with SIGKILL. Needs the ipvlan module: prints a skip line without it (the VM lane runs it).
. "$(dirname "$0")/lib.sh"
need_root ipvlan
P=$BIN/ipvlan
tmpdir DATA

# topo: fresh H and X, m0 in H (10.70.0.254/24, fd00:70::fe/64, default routes via X) and the
# switch sw in X (10.70.0.1/24, fd00:70::1/64) with hairpin on its port when $1 is "hairpin".
topo() {
	mkhost H
	mkhost X
	ip -n "$X" link add sw type bridge
	ip -n "$X" link add xp type veth peer name m0 netns "$H"
	ip -n "$X" link set xp master sw
	[ "${1:-}" = hairpin ] && ip -n "$X" link set xp type bridge_slave hairpin on
	ip -n "$X" addr add 10.70.0.1/24 dev sw
	ip -n "$X" addr add fd00:70::1/64 dev sw nodad
	ip -n "$X" link set xp up
	ip -n "$X" link set sw up
	ip -n "$H" addr add 10.70.0.254/24 dev m0
	ip -n "$H" addr add fd00:70::fe/64 dev m0 nodad
	ip -n "$H" link set m0 up
	ip -n "$H" route add default via 10.70.0.1
	ip -n "$H" -6 route add default via fd00:70::1
}

R4='[[{"subnet":"10.70.0.0/24","rangeStart":"10.70.0.10","gateway":"10.70.0.1"}]]'
conf() { # VERSION EXTRA-KEYS [RANGES]
	printf '{"cniVersion":"%s","name":"ivnet","type":"ipvlan"%s,"ipam":{"type":"host-local","dataDir":"%s","ranges":%s,"routes":[{"dst":"0.0.0.0/0"}]}}' \
		"$1" "${2:+,$2}" "$DATA" "${3:-$R4}"
}
with_prev() { printf '%s' "$1" | jq -c --argjson p "$2" '. + {prevResult: $p}'; }
ip_of() { in_ns "$1" ip -j addr show dev "${2:-eth0}" | jq -r --arg f "${3:-inet}" '[.[0].addr_info[] | select(.family==$f and .scope=="global") | .local][0] // empty'; }
has_link() { in_ns "$1" ip link show "$2" >/dev/null 2>&1 && echo yes || echo no; }
files_left() { find "$DATA" -type f ! -name lock ! -name 'last_reserved_ip.*' ! -name '.cnic*' | wc -l; }
info() { in_ns "$1" ip -d -j link show eth0 | jq -r ".[0].linkinfo.info_data$2 // empty"; }
no_ping() { ! in_ns "$1" ping -c1 -W1 "$2" >/dev/null 2>&1; }

mkhost PROBE
ip -n "$PROBE" link add pa type veth peer name pb
if ! ip -n "$PROBE" link add pi link pa type ipvlan mode l2 2>/dev/null; then
	skip "ipvlan" "kernel without ipvlan (CONFIG_IPVLAN): the VM lane runs these tests"
	exit 0
fi

# ---- every spec version: two containers in l2, the switch, CHECK, DEL ---------------------------
for v in $VERSIONS; do
	topo
	C=$(conf "$v" '"master":"m0"')
	add_two "$H" "$P" "$C" "$v"
	case $v in
	0.1.0 | 0.2.0)
		check_eq "$v result ip4" "$(printf '%s' "$R1" | jq -c '[.ip4.ip, .ip4.gateway]')" "[\"$a1/24\",\"10.70.0.1\"]" ;;
	*)
		check_eq "$v result interfaces" "$(printf '%s' "$R1" | jq -c '[.interfaces[] | [.name, .sandbox]]')" "[[\"eth0\",\"$C1\"]]"
		check_eq "$v result ip on interface 0" "$(printf '%s' "$R1" | jq -c '[.ips[0].interface, .ips[0].address, .ips[0].gateway]')" "[0,\"$a1/24\",\"10.70.0.1\"]"
		check_eq "$v result MAC is the master's" "$(printf '%s' "$R1" | jq -r '.interfaces[0].mac')" \
			"$(in_ns "$H" ip -j link show m0 | jq -r '.[0].address')"
		;;
	esac
	check_eq "$v kind ipvlan, mode l2, flag bridge" "$(in_ns "$C1" ip -d -j link show eth0 | jq -r '.[0].linkinfo | [.info_kind, .info_data.mode, (.info_data.bridge // false)] | join(",")')" "ipvlan,l2,true"
	check_eq "$v default route from IPAM" "$(in_ns "$C1" ip -j route show default | jq -r '.[0].gateway')" 10.70.0.1
	check_eq "$v arp_notify" "$(in_ns "$C1" cat /proc/sys/net/ipv4/conf/eth0/arp_notify)" 1
	check "$v c1 pings c2" ping_ok "$C1" "$a2"
	check "$v c1 pings the switch" ping_ok "$C1" 10.70.0.1
	if [[ $v == 0.4.0 || $v == 1.* ]]; then
		hrun "$H" "$P" CHECK "$C1" eth0 c1 "$(with_prev "$C" "$R1")"
		check_eq "$v CHECK" "$RC:$OUT" "0:"
	fi
	hrun "$H" "$P" ADD "$C1" eth0 c1 "$C"
	check_eq "$v second ADD of the same attachment refused" "$RC" 1
	check_eq "$v  c1 keeps its address and no temporary link is left" "$(ip_of "$C1"):$(in_ns "$C1" ip -j link show type ipvlan | jq length)" "$a1:1"
	hrun "$H" "$P" DEL "$C1" eth0 c1 "$C"
	check_eq "$v DEL c1" "$RC:$OUT:$(has_link "$C1" eth0)" "0::no"
	hrun "$H" "$P" DEL "$C1" eth0 c1 "$C"
	check_eq "$v second DEL c1" "$RC" 0
	ip netns del "$(basename "$C2")"
	hrun "$H" "$P" DEL "$C2" eth0 c2 "$C"
	check_eq "$v DEL c2 after its netns vanished" "$RC" 0
	hrun "$H" "$P" DEL "" eth0 c2 "$C"
	check_eq "$v DEL with an empty CNI_NETNS" "$RC" 0
	hrun "$H" "$P" DEL "$C1" eth0 never "$C"
	check_eq "$v DEL without ADD" "$RC" 0
	check_eq "$v no reservation left" "$(files_left)" 0
done

echo "# versions done at ${SECONDS}s"
# ---- modes and flags, proven by reachability -------------------------------------------------------
# reach MODE FLAG [hairpin]: REACH="<mode>:<flag> <c1->c2> <c1->switch> <switch->c1 by ARP> <switch->c1 with a static
# neighbour>", on one topology whose switch port hairpin is set per call.
topo
reach() {
	local r=""
	mkns C1
	mkns C2
	ip -n "$X" link set xp type bridge_slave hairpin "$([ "${3:-}" = hairpin ] && echo on || echo off)"
	ip -n "$X" neigh flush dev sw
	C=$(conf 1.0.0 "\"master\":\"m0\",\"mode\":\"$1\",\"flag\":\"$2\"")
	hrun "$H" "$P" ADD "$C1" eth0 c1 "$C"
	[ "$RC" = 0 ] || echo "# ADD $1/$2: rc=$RC $OUT $(cat "$LAST_STDERR")"
	hrun "$H" "$P" ADD "$C2" eth0 c2 "$C"
	[ "$RC" = 0 ] || echo "# ADD $1/$2 c2: rc=$RC $OUT $(cat "$LAST_STDERR")"
	a1=$(ip_of "$C1")
	M=$(info "$C1" .mode):$(in_ns "$C1" ip -d -j link show eth0 | jq -r '.[0].linkinfo.info_data | if .private then "private" elif .vepa then "vepa" else "bridge" end')
	ping_ok "$C1" "$(ip_of "$C2")" && r="$r c2" || r="$r -"
	ping_ok "$C1" 10.70.0.1 && r="$r sw" || r="$r -"
	ping_ok "$X" "$a1" && r="$r arp" || r="$r -"
	ip -n "$X" neigh replace "$a1" lladdr "$(in_ns "$H" ip -j link show m0 | jq -r '.[0].address')" dev sw
	ping_ok "$X" "$a1" && r="$r static" || r="$r -"
	hrun "$H" "$P" DEL "$C1" eth0 c1 "$C"
	hrun "$H" "$P" DEL "$C2" eth0 c2 "$C"
	REACH="$M$r"
}
reach l2 bridge
check_eq "l2 bridge: containers, switch and ARP reach each other" "$REACH" "l2:bridge c2 sw arp static"
reach l2 private
check_eq "l2 private: containers isolated from each other" "$REACH" "l2:private - sw arp static"
reach l2 vepa
check_eq "l2 vepa: container traffic only through the switch" "$REACH" "l2:vepa - sw arp static"
reach l2 vepa hairpin
check_eq "l2 vepa with a hairpin switch: containers meet" "$REACH" "l2:vepa c2 sw arp static"
# l3: nobody outside answers ARP for a container's address, so only a routed (here: static
# neighbour) path reaches it, and replies to the container's own pings get lost the same way.
reach l3 bridge
check_eq "l3: no ARP for container addresses, routed in" "$REACH" "l3:bridge c2 - - static"
reach l3s bridge
check_eq "l3s: as l3" "$REACH" "l3s:bridge c2 - - static"
reach l3 private
check_eq "l3 private" "$REACH" "l3:private - - - static"
check_eq "modes: no reservation left" "$(files_left)" 0

echo "# modes done at ${SECONDS}s"
# ---- mtu, dual stack, default master, linkInContainer -----------------------------------------------
topo
mkns C1
C=$(conf 1.0.0 '"master":"m0","mtu":1280' '[[{"subnet":"10.70.0.0/24","rangeStart":"10.70.0.10","gateway":"10.70.0.1"}],[{"subnet":"fd00:70::/64","rangeStart":"fd00:70::10","gateway":"fd00:70::1"}]]')
hrun "$H" "$P" ADD "$C1" eth0 c1 "$C"
check_eq "mtu 1280 dual-stack ADD" "$RC:$(in_ns "$C1" ip -j link show eth0 | jq '.[0].mtu')" "0:1280"
check_eq "dual-stack result" "$(printf '%s' "$OUT" | jq -c '[.ips[] | [.interface, .gateway]]')" '[[0,"10.70.0.1"],[0,"fd00:70::1"]]'
check_eq "ndisc_notify" "$(in_ns "$C1" cat /proc/sys/net/ipv6/conf/eth0/ndisc_notify)" 1
check "pings the switch over IPv6" ping_ok "$C1" fd00:70::1
hrun "$H" "$P" DEL "$C1" eth0 c1 "$C"
check_eq "dual-stack DEL" "$RC:$(files_left)" "0:0"
hrun "$H" "$P" ADD "$C1" eth0 c1 "$(conf 1.0.0 '"master":"m0","mtu":9000')"
check_eq "mtu above the master's refused" "$RC:$(err_code):$(in_ns "$C1" ip -j link show type ipvlan | jq length):$(files_left)" "1:7:0:0"

mkns C1
C=$(conf 1.0.0 '')
hrun "$H" "$P" ADD "$C1" eth0 c1 "$C"
check_eq "no master: the default route's interface" "$RC:$(in_ns "$C1" ip -d -j link show eth0 | jq '.[0].link_index')" "0:$(in_ns "$H" ip -j link show m0 | jq '.[0].ifindex')"
R1=$OUT
hrun "$H" "$P" CHECK "$C1" eth0 c1 "$(with_prev "$C" "$R1")"
check_eq "no master: CHECK" "$RC:$OUT" "0:"
ip -n "$H" route del default
ip -n "$H" -6 route del default
hrun "$H" "$P" DEL "$C1" eth0 c1 "$C"
check_eq "no master: DEL without a default route (the reference fails)" "$RC:$(has_link "$C1" eth0):$(files_left)" "0:no:0"
hrun "$H" "$P" ADD "$C1" eth0 c1 "$C"
check_eq "no master and no default route: ADD fails, nothing left" "$RC:$(has_link "$C1" eth0):$(files_left)" "1:no:0"

mkns C1
ip -n "$(basename "$C1")" link add cm0 type veth peer name cm1
ip -n "$(basename "$C1")" link set cm0 up
C=$(conf 1.0.0 '"master":"cm0","linkInContainer":true,"mode":"l3"')
hrun "$H" "$P" ADD "$C1" eth0 c1 "$C"
check_eq "linkInContainer: on the container's cm0" "$RC:$(in_ns "$C1" ip -d -j link show eth0 | jq -r '.[0].link'):$(info "$C1" .mode)" "0:cm0:l3"
hrun "$H" "$P" CHECK "$C1" eth0 c1 "$(with_prev "$C" "$OUT")"
check_eq "linkInContainer CHECK" "$RC:$OUT" "0:"
hrun "$H" "$P" DEL "$C1" eth0 c1 "$C"
check_eq "linkInContainer DEL" "$RC:$(has_link "$C1" eth0):$(has_link "$C1" cm0)" "0:no:yes"

echo "# keys done at ${SECONDS}s"
# ---- chained mode ------------------------------------------------------------------------------------
topo
mkns C1
PREV='{"cniVersion":"1.0.0","interfaces":[{"name":"m0"}],"ips":[{"address":"10.70.0.50/24","gateway":"10.70.0.1","interface":0}],"routes":[{"dst":"0.0.0.0/0"}],"dns":{"nameservers":["10.70.0.53"]}}'
C=$(printf '{"cniVersion":"1.0.0","name":"ivchain","type":"ipvlan","dns":{"search":["example.org"]},"prevResult":%s}' "$PREV")
hrun "$H" "$P" ADD "$C1" eth0 c1 "$C"
check_eq "chained ADD" "$RC" 0
R1=$OUT
check_eq "chained: prevResult's address on eth0" "$(ip_of "$C1")" 10.70.0.50
check_eq "chained: master from prevResult" "$(in_ns "$C1" ip -d -j link show eth0 | jq '.[0].link_index')" "$(in_ns "$H" ip -j link show m0 | jq '.[0].ifindex')"
check_eq "chained: result" "$(printf '%s' "$R1" | jq -cS '[[.interfaces[].name], .ips, .routes, .dns]')" \
	'[["eth0"],[{"address":"10.70.0.50/24","gateway":"10.70.0.1","interface":0}],[{"dst":"0.0.0.0/0"}],{"search":["example.org"]}]'
check "chained: pings the switch" ping_ok "$C1" 10.70.0.1
hrun "$H" "$P" CHECK "$C1" eth0 c1 "$(printf '%s' "$C" | jq -c --argjson p "$R1" '.prevResult = $p')"
check_eq "chained CHECK" "$RC:$OUT" "0:"
hrun "$H" "$P" DEL "$C1" eth0 c1 "$C"
check_eq "chained DEL" "$RC:$(has_link "$C1" eth0)" "0:no"
TWO='{"cniVersion":"1.0.0","interfaces":[{"name":"m0"},{"name":"eth9","sandbox":"/x"}],"ips":[{"address":"10.70.0.51/24","interface":1}]}'
C2C=$(printf '{"cniVersion":"1.0.0","name":"ivchain","type":"ipvlan","prevResult":%s}' "$TWO")
hrun "$H" "$P" ADD "$C1" eth0 c1 "$C2C"
check_eq "chained: two interfaces and no master refused" "$RC:$(printf '%s' "$OUT" | jq -r .msg)" "1:chained master failure. PrevResult lacks a single named interface"
hrun "$H" "$P" DEL "$C1" eth0 c1 "$C2C"
check_eq "chained: DEL with two interfaces in prevResult (the reference fails)" "$RC" 0
# Chained with IPAM: the master from prevResult, the addresses from IPAM.
C=$(conf 1.0.0 '' | jq -c --argjson p "$PREV" '. + {prevResult: $p}')
hrun "$H" "$P" ADD "$C1" eth0 c1 "$C"
a1=$(ip_of "$C1")
check_eq "chained with IPAM: the address is IPAM's" "$RC:$a1:$(printf '%s' "$OUT" | jq -r '.ips[0].address')" "0:$a1:$a1/24"
hrun "$H" "$P" DEL "$C1" eth0 c1 "$C"
check_eq "chained with IPAM: DEL releases it" "$RC:$(files_left)" "0:0"

echo "# chained done at ${SECONDS}s"
# ---- L2 only, STATUS, GC, bad configs, a vanished master --------------------------------------------
mkns C1
for ipam in '' ',"ipam":{}'; do
	C=$(printf '{"cniVersion":"1.1.0","name":"ivl2","type":"ipvlan","master":"m0"%s}' "$ipam")
	hrun "$H" "$P" ADD "$C1" eth0 c1 "$C"
	check_eq "L2 only ($ipam): ADD, link up, no address" "$RC:$(printf '%s' "$OUT" | jq -c '.ips // []'):$(in_ns "$C1" ip -j link show eth0 | jq -r '.[0].flags | index("UP") != null'):$(ip_of "$C1")" "0:[]:true:"
	hrun "$H" "$P" CHECK "$C1" eth0 c1 "$(with_prev "$C" "$OUT")"
	check_eq "L2 only ($ipam): CHECK" "$RC:$OUT" "0:"
	hrun "$H" "$P" STATUS "" "" "" "$C"
	check_eq "L2 only ($ipam): STATUS" "$RC:$OUT" "0:"
	hrun "$H" "$P" DEL "$C1" eth0 c1 "$C"
	check_eq "L2 only ($ipam): DEL" "$RC:$(has_link "$C1" eth0)" "0:no"
done
C=$(conf 1.1.0 '"master":"m0"')
hrun "$H" "$P" STATUS "" "" "" "$C"
check_eq "STATUS with IPAM" "$RC:$OUT" "0:"
hrun "$H" "$P" STATUS "" "" "" "$(conf 1.1.0 '"master":"nosuch0"')"
check_eq "STATUS without the master: code 50" "$RC:$(err_code)" "1:50"
mkns C2
hrun "$H" "$P" ADD "$C1" eth0 c1 "$C"
hrun "$H" "$P" ADD "$C2" eth0 c2 "$C"
hrun "$H" "$P" GC "" "" "" "$(printf '%s' "$C" | jq -c '. + {"cni.dev/valid-attachments":[{"containerID":"c2","ifname":"eth0"}]}')"
check_eq "GC keeps c2's reservation only" "$RC:$OUT:$(files_left)" "0::1"
for bad in '"mode":"l4"' '"flag":"both"' '"master":"a/b"' '"mtu":-1'; do
	hrun "$H" "$P" ADD "$C1" eth9 c1 "$(conf 1.0.0 "$bad")"
	check_eq "bad config $bad: code 7, nothing made" "$RC:$(err_code):$(has_link "$C1" eth9)" "1:7:no"
done
hrun "$H" "$P" DEL "$C1" eth9 c1 "$(conf 1.0.0 '"mode":"l4"')"
check_eq "DEL of a config with a bad mode" "$RC" 0
hrun "$H" "$P" ADD "$C1" eth9 c1 "$(conf 1.0.0 '"master":"nosuch0"')"
check_eq "missing master: ADD fails, nothing left" "$RC:$(has_link "$C1" eth9)" "1:no"
# The master goes: the kernel takes its ipvlans along; DEL must not care.
ip -n "$H" link del m0
hrun "$H" "$P" DEL "$C1" eth0 c1 "$C"
check_eq "DEL after the master vanished" "$RC:$(has_link "$C1" eth0)" "0:no"
hrun "$H" "$P" DEL "$C2" eth0 c2 "$C"
check_eq "DEL after the master vanished (c2)" "$RC:$(files_left)" "0:0"

# ---- the example configuration list works as is (its master eth0 made in the private host) ----------
EX=$TOP/conf/examples/ipvlan.conflist
mkhost H
mkhost X
ip -n "$X" link add xp type veth peer name eth0 netns "$H"
ip -n "$X" link set xp up
ip -n "$H" link set eth0 up
mkns C1
mkns C2
if [ -f "$EX" ]; then
	C=$(jq -c --arg d "$DATA" '.plugins[0] + {cniVersion, name} | .ipam.dataDir = $d' "$EX")
	hrun "$H" "$P" ADD "$C1" eth0 ex1 "$C"
	R1=$OUT
	check_eq "conf/examples/ipvlan.conflist ADD" "$RC:$(printf '%s' "$R1" | jq -r '.ips[0].address')" "0:192.168.87.100/24"
	hrun "$H" "$P" ADD "$C2" eth0 ex2 "$C"
	check "  two containers reach each other" ping_ok "$C1" 192.168.87.101
	hrun "$H" "$P" CHECK "$C1" eth0 ex1 "$(with_prev "$C" "$R1")"
	check_eq "  CHECK" "$RC:$OUT" "0:"
	hrun "$H" "$P" DEL "$C1" eth0 ex1 "$C"
	hrun "$H" "$P" DEL "$C2" eth0 ex2 "$C"
	check_eq "  DEL leaves nothing" "$RC:$(files_left):$(has_link "$C1" eth0)" "0:0:no"
else
	fail "conf/examples/ipvlan.conflist" "missing"
fi
echo "# broken states done at ${SECONDS}s"
# ---- the reference, same calls ------------------------------------------------------------------------
if [ -x "$REF/ipvlan" ] && [ -x "$REF/host-local" ]; then
	REFPATH=$(mktemp -d /tmp/cnic-refpath.XXXXXX)
	T_DIRS="$T_DIRS $REFPATH"
	cp "$REF/ipvlan" "$REF/host-local" "$REFPATH/"
	norm_result() {
		jq -cS --arg ns "$2" 'if has("code") then del(.cniVersion) else . end
			| if (.dns? // null) == {} then del(.dns) else . end
			| if .interfaces then .interfaces |= map(.mac = "MAC" | (if .sandbox == $ns then .sandbox = "NETNS" else . end)) else . end' <<<"$1"
	}
	state() { # CONTAINER-NETNS
		in_ns "$1" ip -d -j link show eth0 | jq -c '.[0] | {mtu, operstate, flags, kind: .linkinfo.info_kind, mode: .linkinfo.info_data.mode}'
		in_ns "$1" ip -j addr show eth0 | jq -c '[.[0].addr_info[] | select(.scope=="global") | {family, local, prefixlen}]'
		in_ns "$1" ip -j route show table main | jq -c 'map({dst, gateway, dev, scope}) | sort_by(.dst)'
		# not ndisc_notify: the reference sets it since 1.2, Debian's 1.1.1 does not
		in_ns "$1" cat /proc/sys/net/ipv4/conf/eth0/arp_notify
	}
	# Each implementation on its own master: ipvlans of one master cannot share an address.
	diff_case() { # NAME VERSION CONF-WITHOUT-VERSION (with DATADIR for the dataDir)
		local rv=$2 co cr ro rr HO HR
		[ "$rv" = 1.1.0 ] && rv=1.0.0 # Debian's 1.1.1 stops at 1.0.0
		topo
		HR=$H
		topo
		HO=$H
		mkns CO
		mkns CR
		tmpdir DO
		tmpdir DR
		co=$(printf '%s' "$3" | sed "s|DATADIR|$DO|" | jq -c --arg v "$2" '.cniVersion = $v')
		cr=$(printf '%s' "$3" | sed "s|DATADIR|$DR|" | jq -c --arg v "$rv" '.cniVersion = $v')
		hrun "$HO" "$P" ADD "$CO" eth0 d1 "$co"
		ro=$(norm_result "$OUT" "$CO" | sed "s/\"$2\"/\"V\"/")
		CNI_PATH_OVERRIDE=$REFPATH hrun "$HR" "$REFPATH/ipvlan" ADD "$CR" eth0 d1 "$cr"
		rr=$(norm_result "$OUT" "$CR" | sed "s/\"$rv\"/\"V\"/")
		check_eq "reference $1: result" "$ro" "$rr"
		check_eq "reference $1: kernel state" "$(state "$CO" 2>&1)" "$(state "$CR" 2>&1)"
		hrun "$HO" "$P" DEL "$CO" eth0 d1 "$co"
		CNI_PATH_OVERRIDE=$REFPATH hrun "$HR" "$REFPATH/ipvlan" DEL "$CR" eth0 d1 "$cr"
		check_eq "reference $1: DEL" "$RC:$(has_link "$CO" eth0):$(has_link "$CR" eth0)" "0:no:no"
	}
	HL='"ipam":{"type":"host-local","dataDir":"DATADIR","ranges":[[{"subnet":"10.70.0.0/24","rangeStart":"10.70.0.10","gateway":"10.70.0.1"}]],"routes":[{"dst":"0.0.0.0/0"}]}'
	for v in 0.3.1 1.0.0; do
		diff_case "l2 $v" "$v" "{\"name\":\"dn\",\"type\":\"ipvlan\",\"master\":\"m0\",$HL}"
	done
	diff_case "l3 mtu dns" 1.0.0 "{\"name\":\"dn\",\"type\":\"ipvlan\",\"master\":\"m0\",\"mode\":\"l3\",\"mtu\":1300,\"dns\":{\"nameservers\":[\"1.1.1.1\"]},$HL}"
	diff_case "default master" 0.4.0 "{\"name\":\"dn\",\"type\":\"ipvlan\",$HL}"
	diff_case "chained" 1.0.0 "{\"name\":\"dn\",\"type\":\"ipvlan\",\"prevResult\":$PREV}"
else
	skip "ipvlan differential" "reference plugins not installed in $REF"
fi

echo "# reference done at ${SECONDS}s"
# ---- SIGKILL during ADD ---------------------------------------------------------------------------------
topo
C=$(conf 1.1.0 '"master":"m0"')
mkns C0
t0=$(date +%s%N)
hrun "$H" "$P" ADD "$C0" eth0 warm "$C"
span=$((($(date +%s%N) - t0) / 1000))
hrun "$H" "$P" DEL "$C0" eth0 warm "$C"
for i in $(seq 1 "${CRASH_RUNS:-5}"); do
	mkns CN
	delay=$((RANDOM * span / 32768))
	printf '%s' "$C" | ip netns exec "$H" setsid env CNI_COMMAND=ADD CNI_NETNS="$CN" CNI_IFNAME=eth0 \
		CNI_CONTAINERID="k$i" CNI_PATH="$BIN" "$P" >/dev/null 2>&1 &
	pid=$!
	sleep "$(printf '0.%06d' "$delay")"
	kill -KILL -- "-$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	poll_until 2000 bash -c "! pgrep -g $pid >/dev/null"
	hrun "$H" "$P" DEL "$CN" eth0 "k$i" "$C"
	check_eq "SIGKILL run $i (after ${delay}us of ~${span}us): DEL, then no link and no reservation" \
		"$RC:$(in_ns "$CN" ip -j link show type ipvlan | jq length):$(files_left)" "0:0:0"
	ip netns del "$(basename "$CN")"
done
echo "# SIGKILL done at ${SECONDS}s"
finish
