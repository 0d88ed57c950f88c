#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# macvlan (+ host-local) as a runtime runs it, inside a private "host" namespace whose master is a
# veth (or a bridge) there: every spec version, IPv4, IPv6 and dual-stack, two containers on one
# master pinging each other directly, every key read back from the kernel (ip -d -j link: mode,
# mtu, mac, bcqueuelen, lower device), the modes proven by who reaches whom (bridge yes, private
# no, vepa only through a hairpin switch), the default-route master, linkInContainer, L2-only
# configurations in every verb, CHECK, STATUS, GC, bad configurations (code 7, nothing left),
# failures after IPAM, and DEL in every broken state (master gone included: plugins#953).
. "$(dirname "$0")/lib.sh"
need_root macvlan
P=$BIN/macvlan
tmpdir DATA

# conf VERSION NAME RANGES-JSON [EXTRA-KEYS] [IPAM-EXTRA]
conf() {
	printf '{"cniVersion":"%s","name":"%s","type":"macvlan"%s,"ipam":{"type":"host-local","dataDir":"%s","ranges":%s%s}}' \
		"$1" "$2" "${4:+,$4}" "$DATA" "$3" "${5:+,$5}"
}
link_d() { in_ns "$1" ip -d -j link show "${2:-eth0}" 2>/dev/null | jq -c ".[0] | $3"; }

# ---- every spec version: two containers on one master, CHECK, DEL ----------------------------------
for v in $VERSIONS; do
	mkhost H
	mkmaster "$H" mst
	C=$(conf "$v" "mv-$v" '[[{"subnet":"10.60.0.0/24"}]]' '"master":"mst"' '"routes":[{"dst":"0.0.0.0/0"}]')
	add_two "$H" "$P" "$C" "$v"
	case $v in
	0.1.0 | 0.2.0)
		check_eq "$v result ip4" "$(printf '%s' "$R1" | jq -c '[.ip4.ip, .ip4.gateway]')" "[\"$a1/24\",\"10.60.0.1\"]"
		;;
	*)
		check_eq "$v result interface" "$(printf '%s' "$R1" | jq -c '[.interfaces[] | [.name, .sandbox]]')" "[[\"eth0\",\"$C1\"]]"
		check_eq "$v result MAC is the kernel's" "$(printf '%s' "$R1" | jq -r '.interfaces[0].mac')" "$(link_d "$C1" eth0 .address | tr -d '"')"
		check_eq "$v result ip on interface 0" "$(printf '%s' "$R1" | jq -c '[.ips[0].interface, .ips[0].address]')" "[0,\"$a1/24\"]"
		;;
	esac
	check_eq "$v a bridge-mode macvlan of mst" "$(link_d "$C1" eth0 '[.linkinfo.info_kind, .linkinfo.info_data.mode, .link_index]')" \
		"[\"macvlan\",\"bridge\",$(in_ns "$H" ip -j link show mst | jq '.[0].ifindex')]"
	check_eq "$v arp_notify and ndisc_notify" "$(in_ns "$C1" cat /proc/sys/net/ipv4/conf/eth0/arp_notify /proc/sys/net/ipv6/conf/eth0/ndisc_notify | tr '\n' ' ')" "1 1 "
	check_eq "$v default route" "$(in_ns "$C1" ip -j route show default | jq -r '.[0].gateway')" 10.60.0.1
	check_eq "$v no temporary name left in the host" "$(in_ns "$H" ip -j link show type macvlan | jq length)" 0
	check "$v c1 pings c2 directly" ping_ok "$C1" "$a2"
	check_readd "$H" "$P" "$C" "$v"
	hrun "$H" "$P" DEL "$C1" eth0 c1 "$C"
	check_eq "$v DEL c1" "$RC:$OUT:$(has_link "$C1" eth0)" "0::no"
	hrun "$H" "$P" DEL "$C1" eth0 c1 "$C"
	check_eq "$v second DEL c1" "$RC:$OUT" "0:"
	ip netns del "$(basename "$C2")"
	hrun "$H" "$P" DEL "$C2" eth0 c2 "$C"
	check_eq "$v DEL c2 after its netns vanished" "$RC:$OUT" "0:"
	hrun "$H" "$P" DEL "" eth0 c2 "$C"
	check_eq "$v DEL with an empty CNI_NETNS" "$RC:$OUT" "0:"
	check_eq "$v no reservation left" "$(files_left)" 0
done

# ---- IPv6 and dual stack --------------------------------------------------------------------------------
mkhost H
mkmaster "$H" mst
mkns C1
mkns C2
C=$(conf 1.1.0 mv6 '[[{"subnet":"fd00:60::/64"}]]' '"master":"mst"')
hrun "$H" "$P" ADD "$C1" eth0 c1 "$C"
check_eq "v6 ADD" "$RC" 0
R1=$OUT
hrun "$H" "$P" ADD "$C2" eth0 c2 "$C"
check "v6 c1 pings c2" ping_ok "$C1" "$(ip_of "$C2" eth0 inet6)"
hrun "$H" "$P" CHECK "$C1" eth0 c1 "$(with_prev "$C" "$R1")"
check_eq "v6 CHECK" "$RC:$OUT" "0:"
hrun "$H" "$P" DEL "$C1" eth0 c1 "$C"
hrun "$H" "$P" DEL "$C2" eth0 c2 "$C"
C=$(conf 1.1.0 mvd '[[{"subnet":"10.61.0.0/24"}],[{"subnet":"fd00:61::/64"}]]' '"master":"mst"' '"routes":[{"dst":"0.0.0.0/0"},{"dst":"::/0"}]')
hrun "$H" "$P" ADD "$C1" eth0 c1 "$C"
check_eq "dual ADD" "$RC:$(printf '%s' "$OUT" | jq -c '[.ips[] | [.interface, .gateway]]')" '0:[[0,"10.61.0.1"],[0,"fd00:61::1"]]'
R1=$OUT
hrun "$H" "$P" ADD "$C2" eth0 c2 "$C"
check "dual c1 pings c2 over IPv4" ping_ok "$C1" "$(ip_of "$C2")"
check "dual c1 pings c2 over IPv6" ping_ok "$C1" "$(ip_of "$C2" eth0 inet6)"
check_eq "dual default v6 route" "$(in_ns "$C1" ip -j -6 route show default | jq -r '.[0].gateway')" fd00:61::1
hrun "$H" "$P" CHECK "$C1" eth0 c1 "$(with_prev "$C" "$R1")"
check_eq "dual CHECK" "$RC:$OUT" "0:"
in_ns "$C1" ip route del default
hrun "$H" "$P" CHECK "$C1" eth0 c1 "$(with_prev "$C" "$R1")"
check_eq "CHECK notices a missing route" "$RC" 1
hrun "$H" "$P" CHECK "$C1" eth0 c1 "$(with_prev "$(printf '%s' "$C" | jq -c '.mode = "vepa"')" "$R1")"
[[ $RC = 1 && "$OUT" == *"mode bridge does not match"*vepa* ]] && ok "CHECK notices another mode" || fail "CHECK mode" "$OUT"
hrun "$H" "$P" CHECK "$C2" eth0 c2 "$(with_prev "$C" "$R1")"
check_eq "CHECK with another container's prevResult fails" "$RC" 1
G=$(printf '%s' "$C" | jq -c '. + {"cni.dev/valid-attachments":[{"containerID":"c2","ifname":"eth0"}]}')
hrun "$H" "$P" GC "" "" "" "$G"
check_eq "GC keeps c2's two reservations" "$RC:$OUT:$(files_left)" "0::2"
hrun "$H" "$P" STATUS "" "" "" "$C"
check_eq "STATUS ready" "$RC:$OUT" "0:"
hrun "$H" "$P" DEL "$C1" eth0 c1 "$C"
hrun "$H" "$P" DEL "$C2" eth0 c2 "$C"
check_eq "dual DEL leaves nothing" "$RC:$(files_left)" 0:0

# ---- keys read back from the kernel ------------------------------------------------------------------------
mkhost H
mkmaster "$H" mst
mkns C1
bcq_ok=yes
in_ns "$H" ip link add cnic-bprobe link mst type macvlan bcqueuelen 77 2>/dev/null || bcq_ok=no
in_ns "$H" ip link del cnic-bprobe 2>/dev/null
C=$(conf 1.0.0 mvk '[[{"subnet":"10.62.0.0/24"}]]' '"master":"mst","mtu":1400,"mac":"02:00:00:00:00:01","bcqueuelen":123')
if [ $bcq_ok = no ]; then
	C=$(printf '%s' "$C" | jq -c 'del(.bcqueuelen)')
	skip "bcqueuelen" "kernel without IFLA_MACVLAN_BC_QUEUE_LEN (Linux 5.11)"
fi
hrun "$H" "$P" ADD "$C1" eth0 c1 "$C"
check_eq "keys ADD" "$RC" 0
check_eq "mtu 1400" "$(link_d "$C1" eth0 .mtu)" 1400
check_eq "mac from the config" "$(link_d "$C1" eth0 .address)" '"02:00:00:00:00:01"'
[ $bcq_ok = yes ] && check_eq "bcqueuelen 123" "$(link_d "$C1" eth0 .linkinfo.info_data.bcqueuelen)" 123
hrun "$H" "$P" DEL "$C1" eth0 c1 "$C"
hrun "$H" "$P" ADD "$C1" eth0 c1 "$C" "IgnoreUnknown=1;MAC=02:00:00:00:00:02"
check_eq "CNI_ARGS MAC wins over the config's" "$(link_d "$C1" eth0 .address)" '"02:00:00:00:00:02"'
hrun "$H" "$P" DEL "$C1" eth0 c1 "$C"
C2K=$(printf '%s' "$C" | jq -c '. + {args: {cni: {mac: "02:00:00:00:00:03"}}}')
hrun "$H" "$P" ADD "$C1" eth0 c1 "$C2K" "IgnoreUnknown=1;MAC=02:00:00:00:00:02"
check_eq "args.cni.mac wins over CNI_ARGS" "$(link_d "$C1" eth0 .address)" '"02:00:00:00:00:03"'
hrun "$H" "$P" DEL "$C1" eth0 c1 "$C2K"
C2K=$(printf '%s' "$C2K" | jq -c '. + {runtimeConfig: {mac: "02:00:00:00:00:04"}}')
hrun "$H" "$P" ADD "$C1" eth0 c1 "$C2K" "IgnoreUnknown=1;MAC=02:00:00:00:00:02"
check_eq "runtimeConfig.mac wins over everything" "$(link_d "$C1" eth0 .address)" '"02:00:00:00:00:04"'
check_eq "  and is in the result" "$(printf '%s' "$OUT" | jq -r '.interfaces[0].mac')" 02:00:00:00:00:04
hrun "$H" "$P" CHECK "$C1" eth0 c1 "$(with_prev "$C2K" "$OUT")"
check_eq "  CHECK" "$RC:$OUT" "0:"
hrun "$H" "$P" DEL "$C1" eth0 c1 "$C2K"
for m in bridge private vepa passthru source; do
	C=$(conf 1.0.0 mvm '[[{"subnet":"10.63.0.0/24"}]]' "\"master\":\"mst\",\"mode\":\"$m\"")
	hrun "$H" "$P" ADD "$C1" eth0 c1 "$C"
	R1=$OUT
	check_eq "mode $m read back" "$RC:$(link_d "$C1" eth0 .linkinfo.info_data.mode)" "0:\"$m\""
	hrun "$H" "$P" CHECK "$C1" eth0 c1 "$(with_prev "$C" "$R1")"
	check_eq "mode $m CHECK" "$RC:$OUT" "0:"
	hrun "$H" "$P" DEL "$C1" eth0 c1 "$C"
	check_eq "mode $m DEL" "$RC:$(has_link "$C1" eth0)" "0:no"
done
# Several interfaces in one container; the temporary name never collides with the host's names.
in_ns "$H" ip link add eth0 type veth peer name eth0-p
C=$(conf 1.1.0 mvn '[[{"subnet":"10.64.0.0/24"}]]' '"master":"mst"')
hrun "$H" "$P" ADD "$C1" eth0 c1 "$C"
hrun "$H" "$P" ADD "$C1" net1 c1 "$C"
check_eq "two macvlans in one container, host has its own eth0" "$RC:$(in_ns "$C1" ip -j link show type macvlan | jq -c '[.[].ifname] | sort')" '0:["eth0","net1"]'
hrun "$H" "$P" DEL "$C1" net1 c1 "$C"
check_eq "DEL of one leaves the other" "$(has_link "$C1" net1):$(has_link "$C1" eth0)" no:yes
hrun "$H" "$P" DEL "$C1" eth0 c1 "$C"

# ---- modes: who reaches whom --------------------------------------------------------------------------------
# mode_case NAME MODE HAIRPIN(yes|no) WANT(reach|isolated)
mode_case() {
	local H C1 C2 C a2
	mkhost H
	in_ns "$H" ip link add mst type veth peer name mst-p
	if [ "$3" = yes ]; then
		# The peer is a port of a bridge that sends frames back where they came from.
		in_ns "$H" ip link add sw type bridge
		in_ns "$H" ip link set mst-p master sw
		in_ns "$H" ip link set sw up
		in_ns "$H" bridge link set dev mst-p hairpin on
	fi
	in_ns "$H" ip link set mst up
	in_ns "$H" ip link set mst-p up
	mkns C1
	mkns C2
	C=$(conf 1.0.0 "mvr-$2" '[[{"subnet":"10.65.0.0/24"}]]' "\"master\":\"mst\",\"mode\":\"$2\"")
	hrun "$H" "$P" ADD "$C1" eth0 c1 "$C"
	hrun "$H" "$P" ADD "$C2" eth0 c2 "$C"
	a2=$(ip_of "$C2")
	if [ "$4" = reach ]; then
		check "$1: c1 reaches c2" ping_ok "$C1" "$a2"
	else
		check "$1: c1 does not reach c2" no_ping "$C1" "$a2"
	fi
	hrun "$H" "$P" DEL "$C1" eth0 c1 "$C"
	hrun "$H" "$P" DEL "$C2" eth0 c2 "$C"
}
mode_case "bridge" bridge no reach
mode_case "private" private no isolated
mode_case "private behind a hairpin switch" private yes isolated
mode_case "vepa" vepa no isolated
mode_case "vepa behind a hairpin switch" vepa yes reach
# A bridge as the master: containers reach each other and the bridge's own address.
mkhost H
in_ns "$H" ip link add brm type bridge
in_ns "$H" ip link add brm-a type veth peer name brm-b
in_ns "$H" ip link set brm-a master brm
for l in brm brm-a brm-b; do in_ns "$H" ip link set "$l" up; done
in_ns "$H" ip addr add 10.66.0.1/24 dev brm
mkns C1
mkns C2
C=$(conf 1.0.0 mvbr '[[{"subnet":"10.66.0.0/24","rangeStart":"10.66.0.10"}]]' '"master":"brm"')
hrun "$H" "$P" ADD "$C1" eth0 c1 "$C"
hrun "$H" "$P" ADD "$C2" eth0 c2 "$C"
check "bridge master: c1 reaches c2" ping_ok "$C1" "$(ip_of "$C2")"
check_eq "bridge master: lower device is brm" "$(link_d "$C1" eth0 .link_index)" "$(in_ns "$H" ip -j link show brm | jq '.[0].ifindex')"
hrun "$H" "$P" DEL "$C1" eth0 c1 "$C"
hrun "$H" "$P" DEL "$C2" eth0 c2 "$C"

# ---- the default-route master, linkInContainer ----------------------------------------------------------------
mkhost H
mkmaster "$H" up0
mkmaster "$H" up1
in_ns "$H" ip addr add 192.0.2.2/24 dev up1
in_ns "$H" ip route add default via 192.0.2.1 dev up1
mkns C1
C=$(conf 1.1.0 mvdef '[[{"subnet":"10.67.0.0/24"}]]')
hrun "$H" "$P" ADD "$C1" eth0 c1 "$C"
R1=$OUT
check_eq "no master: the default route's interface (up1)" "$RC:$(link_d "$C1" eth0 .link_index)" "0:$(in_ns "$H" ip -j link show up1 | jq '.[0].ifindex')"
hrun "$H" "$P" CHECK "$C1" eth0 c1 "$(with_prev "$C" "$R1")"
check_eq "no master: CHECK" "$RC:$OUT" "0:"
hrun "$H" "$P" DEL "$C1" eth0 c1 "$C"
in_ns "$H" ip route del default
in_ns "$H" ip -6 addr add fd00:67::2/64 dev up0 nodad
in_ns "$H" ip -6 route add default via fd00:67::1 dev up0
hrun "$H" "$P" ADD "$C1" eth0 c1 "$C"
check_eq "no master, IPv6 default route only: up0" "$RC:$(link_d "$C1" eth0 .link_index)" "0:$(in_ns "$H" ip -j link show up0 | jq '.[0].ifindex')"
hrun "$H" "$P" DEL "$C1" eth0 c1 "$C"
in_ns "$H" ip -6 route del default
hrun "$H" "$P" ADD "$C1" eth0 c1 "$C"
[[ $RC = 1 && "$OUT" == *"default route"* ]] && ok "no master and no default route: refused" || fail "no default route" "$OUT"
check_eq "  and nothing left" "$(has_link "$C1" eth0):$(files_left)" no:0
hrun "$H" "$P" STATUS "" "" "" "$C"
check_eq "  STATUS says not available (50)" "$RC:$(err_code)" "1:50"
# linkInContainer: the master lives in the container.
in_ns "$C1" ip link add in0 type veth peer name in0-p
in_ns "$C1" ip link set in0 up
in_ns "$C1" ip link set in0-p up
C=$(conf 1.1.0 mvin '[[{"subnet":"10.68.0.0/24"}]]' '"master":"in0","linkInContainer":true')
hrun "$H" "$P" ADD "$C1" eth0 c1 "$C"
R1=$OUT
check_eq "linkInContainer ADD on the container's in0" "$RC:$(link_d "$C1" eth0 .link)" '0:"in0"'
hrun "$H" "$P" CHECK "$C1" eth0 c1 "$(with_prev "$C" "$R1")"
check_eq "linkInContainer CHECK" "$RC:$OUT" "0:"
hrun "$H" "$P" DEL "$C1" eth0 c1 "$C"
check_eq "linkInContainer DEL" "$RC:$(has_link "$C1" eth0):$(has_link "$C1" in0)" "0:no:yes"
in_ns "$C1" ip addr add 198.51.100.2/24 dev in0
in_ns "$C1" ip route add default via 198.51.100.1
C=$(conf 1.1.0 mvin '[[{"subnet":"10.68.0.0/24"}]]' '"linkInContainer":true')
hrun "$H" "$P" ADD "$C1" eth1 c1 "$C"
check_eq "linkInContainer without master: the container's default route (in0)" "$RC:$(link_d "$C1" eth1 .link)" '0:"in0"'
hrun "$H" "$P" DEL "$C1" eth1 c1 "$C"
hrun "$H" "$P" ADD "$C1" eth0 c1 "$(conf 1.1.0 mvin '[[{"subnet":"10.68.0.0/24"}]]' '"master":"nope0","linkInContainer":true')"
[[ $RC = 1 && "$OUT" == *nope0* ]] && ok "linkInContainer with a missing master: refused by name" || fail "missing master in container" "$OUT"

# ---- L2 only: no ipam or an empty one, in every verb ----------------------------------------------------------
mkhost H
mkmaster "$H" mst
mkns C1
mkns C2
for ipam in '' ',"ipam":{}'; do
	C="{\"cniVersion\":\"1.1.0\",\"name\":\"l2\",\"type\":\"macvlan\",\"master\":\"mst\"$ipam}"
	hrun "$H" "$P" ADD "$C1" eth0 c1 "$C"
	R1=$OUT
	check_eq "L2 ADD (ipam '$ipam')" "$RC:$(printf '%s' "$OUT" | jq -c '[.ips, (.interfaces | length)]')" "0:[null,1]"
	check_eq "L2 link up" "$(link_d "$C1" eth0 '.flags | any(. == "UP")')" true
	hrun "$H" "$P" CHECK "$C1" eth0 c1 "$(with_prev "$C" "$R1")"
	check_eq "L2 CHECK" "$RC:$OUT" "0:"
	hrun "$H" "$P" STATUS "" "" "" "$C"
	check_eq "L2 STATUS" "$RC:$OUT" "0:"
	hrun "$H" "$P" GC "" "" "" "$C"
	check_eq "L2 GC" "$RC:$OUT" "0:"
	hrun "$H" "$P" DEL "$C1" eth0 c1 "$C"
	check_eq "L2 DEL" "$RC:$(has_link "$C1" eth0)" "0:no"
done
# L2 reachability: link-local IPv6 between two L2 macvlans.
C='{"cniVersion":"1.1.0","name":"l2","type":"macvlan","master":"mst"}'
hrun "$H" "$P" ADD "$C1" eth0 c1 "$C"
hrun "$H" "$P" ADD "$C2" eth0 c2 "$C"
in_ns "$C1" ip addr add 10.69.0.1/24 dev eth0
in_ns "$C2" ip addr add 10.69.0.2/24 dev eth0
check "L2 containers reach each other" ping_ok "$C1" 10.69.0.2
hrun "$H" "$P" DEL "$C1" eth0 c1 "$C"
hrun "$H" "$P" DEL "$C2" eth0 c2 "$C"
hrun "$H" "$P" ADD "$C1" eth0 c1 '{"cniVersion":"0.2.0","name":"l2","type":"macvlan","master":"mst"}'
check_eq "L2 at 0.2.0 cannot be expressed" "$RC:$(printf '%s' "$OUT" | jq -r .msg)" "1:cannot convert: no valid IP addresses"
check_eq "  and leaves no link" "$(has_link "$C1" eth0)" no

# ---- DEL in every broken state ----------------------------------------------------------------------------------
mkhost H
mkmaster "$H" mst
mkns C1
C=$(conf 1.1.0 mvb '[[{"subnet":"10.70.0.0/24"}]]' '"master":"mst"')
hrun "$H" "$P" DEL "$C1" eth0 never "$C"
check_eq "DEL without ADD" "$RC:$OUT" "0:"
hrun "$H" "$P" DEL "/run/netns/cnic-no-such-ns-$T_TAG" eth0 never "$C"
check_eq "DEL with a netns that never existed" "$RC:$OUT" "0:"
hrun "$H" "$P" ADD "$C1" eth0 c1 "$C"
R1=$OUT
in_ns "$H" ip link del mst
hrun "$H" "$P" CHECK "$C1" eth0 c1 "$(with_prev "$C" "$R1")"
[[ $RC = 1 && "$OUT" == *mst* ]] && ok "CHECK with the master gone fails naming it" || fail "CHECK master gone" "$OUT"
hrun "$H" "$P" STATUS "" "" "" "$C"
check_eq "STATUS with the master gone: 50" "$RC:$(err_code)" "1:50"
hrun "$H" "$P" DEL "$C1" eth0 c1 "$C"
check_eq "DEL with the master gone (plugins#953)" "$RC:$OUT:$(files_left)" "0::0"
hrun "$H" "$P" DEL "$C1" eth0 c1 "$C"
check_eq "  and again" "$RC:$OUT" "0:"
mkmaster "$H" mst
hrun "$H" "$P" ADD "$C1" eth0 c1 "$C"
in_ns "$C1" ip link del eth0
hrun "$H" "$P" DEL "$C1" eth0 c1 "$C"
check_eq "DEL after the link vanished" "$RC:$OUT:$(files_left)" "0::0"
hrun "$H" "$P" ADD "$C1" eth0 c1 "$C"
hrun "$H" "$P" DEL "" eth0 c1 "$C"
check_eq "DEL with an empty CNI_NETNS releases IPAM" "$RC:$(files_left)" "0:0"
hrun "$H" "$P" DEL "$C1" eth0 c1 "$(with_prev "$C" "$R1")"
check_eq "  then the runtime's DEL (stale prevResult) removes the link" "$RC:$(has_link "$C1" eth0)" "0:no"
hrun "$H" "$P" DEL "$C1" eth0 c1 "$(conf 1.1.0 mvb '[[{"subnet":"10.70.0.0/24"}]]' '"master":"gone0"')"
check_eq "DEL naming a master that never existed" "$RC:$OUT" "0:"

# ---- bad configurations: code 7 naming key and value, exit 1, nothing left --------------------------------------
for bad in '"mode":"foo"|foo' '"mtu":-1|mtu' '"mtu":9000|9000' '"mac":"zz"|zz' '"mac":"01:00:00:00:00:01"|01:00:00:00:00:01' \
	'"master":"a/b"|a/b' '"bcqueuelen":-1|bcqueuelen' '"runtimeConfig":{"mac":"x"}|runtimeConfig'; do
	hrun "$H" "$P" ADD "$C1" eth0 c1 "$(conf 1.0.0 mvbad '[[{"subnet":"10.71.0.0/24"}]]' "\"master\":\"mst\",${bad%|*}")"
	[[ $RC = 1 && "$(err_code)" = 7 && "$(printf '%s' "$OUT" | jq -r .msg)" == *"${bad#*|}"* ]] &&
		ok "bad config ${bad%|*}: code 7 naming it" || fail "bad config ${bad%|*}" "$RC $OUT"
done
hrun "$H" "$P" ADD "$C1" eth0 c1 "$(conf 1.0.0 mvbad '[[{"subnet":"10.71.0.0/24"}]]' '"master":"mst"')" "MAC=nonsense"
check_eq "bad CNI_ARGS MAC: code 7" "$RC:$(err_code)" "1:7"
hrun "$H" "$P" ADD "$C1" eth0 c1 "$(conf 1.0.0 mvbad '[[{"subnet":"10.71.0.0/24"}]]' '"master":"nope0"')"
[[ $RC = 1 && "$OUT" == *nope0* ]] && ok "missing master refused by name" || fail "missing master" "$OUT"
check_eq "bad configs left nothing" "$(has_link "$C1" eth0):$(files_left)" "no:0"

# ---- failures after the link exists leave nothing behind ---------------------------------------------------------
hrun "$H" "$P" ADD "$C1" eth0 c1 '{"cniVersion":"1.0.0","name":"f","type":"macvlan","master":"mst","ipam":{"type":"no-such-ipam"}}'
check_eq "missing IPAM plugin: fails, no link" "$RC:$(has_link "$C1" eth0)" "1:no"
C=$(conf 1.0.0 mvf '[[{"subnet":"10.72.0.0/24"}]]' '"master":"mst"' '"routes":[{"dst":"10.200.0.0/16","gw":"192.0.2.1"}]')
hrun "$H" "$P" ADD "$C1" eth0 c1 "$C"
check_eq "failing route after IPAM: released, no link" "$RC:$(files_left):$(has_link "$C1" eth0)" "1:0:no"
in_ns "$C1" ip link add eth0 type veth peer name eth0p
hrun "$H" "$P" ADD "$C1" eth0 c1 "$(conf 1.0.0 mvf '[[{"subnet":"10.72.0.0/24"}]]' '"master":"mst"')"
check_eq "ifname taken: refused" "$RC" 1
check_eq "  existing eth0 untouched, no macvlan or reservation left" "$(link_d "$C1" eth0 .linkinfo.info_kind):$(in_ns "$C1" ip -j link show type macvlan | jq length):$(files_left)" '"veth":0:0'

# ---- the example configuration list works as is (its master eth0 made in the private host) ----------------------
EX=$TOP/conf/examples/macvlan.conflist
mkhost H
mkmaster "$H" eth0
mkns C1
mkns C2
if [ -f "$EX" ]; then
	C=$(jq -c --arg d "$DATA" '.plugins[0] + {cniVersion, name} | .ipam.dataDir = $d' "$EX")
	hrun "$H" "$P" ADD "$C1" eth0 ex1 "$C"
	R1=$OUT
	check_eq "conf/examples/macvlan.conflist ADD" "$RC:$(printf '%s' "$R1" | jq -r '.ips[0].address')" "0:192.168.86.100/24"
	hrun "$H" "$P" ADD "$C2" eth0 ex2 "$C"
	check "  two containers reach each other" ping_ok "$C1" 192.168.86.101
	hrun "$H" "$P" CHECK "$C1" eth0 ex1 "$(with_prev "$C" "$R1")"
	check_eq "  CHECK" "$RC:$OUT" "0:"
	hrun "$H" "$P" DEL "$C1" eth0 ex1 "$C"
	hrun "$H" "$P" DEL "$C2" eth0 ex2 "$C"
	check_eq "  DEL leaves nothing" "$RC:$(files_left):$(has_link "$C1" eth0)" "0:0:no"
else
	fail "conf/examples/macvlan.conflist" "missing"
fi
finish
