#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# tap as a runtime runs it: every spec version ADD/CHECK/DEL with host-local, the tap read back
# with `ip -d -j link` (tun driver, type tap, vnet_hdr, persistent, multi_queue, owner, group, mtu,
# MAC, up); a ping from the container to a peer on a bridge inside it (the "bridge" key, with a
# veth to a second namespace); DEL twice, without ADD, with the netns gone; a container that
# already has CNI_IFNAME is not clobbered; CNI_ARGS/runtimeConfig MAC precedence; CHECK noticing
# changes; STATUS, GC; bad configurations code 7 with nothing left. Debian's 1.1.1 has no tap
# plugin, so there is no differential run. Needs /dev/net/tun.
. "$(dirname "$0")/lib.sh"
need_root tap
if [ ! -c /dev/net/tun ]; then
	skip tap "no /dev/net/tun"
	exit 0
fi
P=$BIN/tap
tmpdir DATA

# conf VERSION EXTRA-KEYS [with-ipam]
conf() {
	local ipam=",\"ipam\":{\"type\":\"host-local\",\"dataDir\":\"$DATA\",\"ranges\":[[{\"subnet\":\"10.72.0.0/24\"}]],\"routes\":[{\"dst\":\"10.98.0.0/16\"}]}"
	[ "${3:-ipam}" = noipam ] && ipam=
	printf '{"cniVersion":"%s","name":"tp","type":"tap"%s%s}' "$1" "${2:+,$2}" "$ipam"
}
link_d() { in_ns "$1" ip -d -j link show "${2:-eth0}" 2>/dev/null | jq -c ".[0] | $3"; }
taps() { in_ns "$1" ip -j link show type tun | jq length; }

for v in $VERSIONS; do
	mkns C
	Cf=$(conf "$v" '"mtu":1400,"mac":"02:72:00:00:00:01"')
	cni_run "$P" ADD "$C" eth0 c1 "$Cf"
	check_eq "$v ADD" "$RC" 0
	R=$OUT
	a=$(ip_of "$C")
	case $v in
	0.1.0 | 0.2.0) check_eq "$v result ip4" "$(jq -c .ip4.ip <<<"$R")" "\"$a/24\"" ;;
	*) check_eq "$v result" "$(jq -c '[.interfaces[0].name, .interfaces[0].mac, .interfaces[0].sandbox, .ips[0].interface, .ips[0].address]' <<<"$R")" \
		"[\"eth0\",\"02:72:00:00:00:01\",\"$C\",0,\"$a/24\"]" ;;
	esac
	check_eq "$v a persistent vnet_hdr tap, mtu, mac, up" \
		"$(link_d "$C" eth0 '[.linkinfo.info_kind, .linkinfo.info_data.type, .linkinfo.info_data.vnet_hdr, .linkinfo.info_data.persist, .linkinfo.info_data.multi_queue, .mtu, .address, (.flags | any(. == "UP"))]')" \
		'["tun","tap",true,true,false,1400,"02:72:00:00:00:01",true]'
	check_eq "$v no owner, no group" "$(link_d "$C" eth0 '[.linkinfo.info_data.user, .linkinfo.info_data.group]')" '[null,null]'
	check_eq "$v arp_notify" "$(in_ns "$C" cat /proc/sys/net/ipv4/conf/eth0/arp_notify)" 1
	check_eq "$v route" "$(in_ns "$C" ip -j route show 10.98.0.0/16 | jq -r '.[0].gateway')" 10.72.0.1
	check_eq "$v only one tap, no temporary name" "$(taps "$C")" 1
	if [[ $v == 0.4.0 || $v == 1.* ]]; then
		cni_run "$P" CHECK "$C" eth0 c1 "$(with_prev "$Cf" "$R")"
		check_eq "$v CHECK" "$RC:$OUT" "0:"
	fi
	cni_run "$P" ADD "$C" eth0 c1 "$Cf"
	check_eq "$v second ADD refused, tap kept" "$RC:$(ip_of "$C")" "1:$a"
	cni_run "$P" DEL "$C" eth0 c1 "$Cf"
	check_eq "$v DEL" "$RC:$OUT:$(has_link "$C" eth0):$(files_left)" "0::no:0"
	cni_run "$P" DEL "$C" eth0 c1 "$Cf"
	check_eq "$v second DEL" "$RC:$OUT" "0:"
	mkns C2
	cni_run "$P" DEL "$C2" eth0 c2 "$Cf"
	check_eq "$v DEL without ADD" "$RC:$OUT" "0:"
	cni_run "$P" ADD "$C2" eth0 c2 "$Cf"
	ip netns del "$(basename "$C2")"
	cni_run "$P" DEL "$C2" eth0 c2 "$Cf"
	check_eq "$v DEL after the netns vanished" "$RC:$OUT:$(files_left)" "0::0"
	cni_run "$P" DEL "" eth0 c2 "$Cf"
	check_eq "$v DEL with an empty CNI_NETNS" "$RC:$OUT" "0:"
done

# ---- multiQueue, owner, group, no IPAM -------------------------------------------------------------
mkns C
Cf=$(conf 1.1.0 '"multiQueue":true,"owner":4242,"group":4343' noipam)
cni_run "$P" ADD "$C" tap0 c1 "$Cf"
R=$OUT
check_eq "L2 ADD: no ips" "$RC:$(jq -c '.ips // []' <<<"$R")" "0:[]"
check_eq "multi_queue, owner, group read back" \
	"$(link_d "$C" tap0 '[.linkinfo.info_data.multi_queue, .linkinfo.info_data.user, .linkinfo.info_data.group, (.flags | any(. == "UP"))]')" \
	'[true,4242,4343,true]'
cni_run "$P" CHECK "$C" tap0 c1 "$(with_prev "$Cf" "$R")"
check_eq "L2 CHECK" "$RC:$OUT" "0:"
cni_run "$P" DEL "$C" tap0 c1 "$Cf"
check_eq "L2 DEL" "$RC:$(taps "$C")" "0:0"
cni_run "$P" ADD "$C" tap0 c1 "$(conf 1.1.0 '"owner":0,"group":0' noipam)"
check_eq "owner 0 and group 0 are set, not ignored" "$(link_d "$C" tap0 '[.linkinfo.info_data.user, .linkinfo.info_data.group]')" '["root","root"]'
cni_run "$P" DEL "$C" tap0 c1 "$Cf"
if [ -e /sys/fs/selinux/enforce ]; then
	skip "selinuxContext ignored" "SELinux is enabled on this host"
else
	cni_run "$P" ADD "$C" tap0 c1 "$(conf 1.1.0 '"selinuxcontext":"system_u:system_r:container_t:s0"' noipam)"
	check_eq "selinuxContext accepted and ignored without SELinux" "$RC:$(has_link "$C" tap0)" "0:yes"
	cni_run "$P" DEL "$C" tap0 c1 "$Cf"
fi

# ---- MAC precedence --------------------------------------------------------------------------------
Cf=$(conf 1.0.0 '"mac":"02:72:00:00:00:01"' noipam)
cni_run "$P" ADD "$C" eth0 c1 "$Cf" "IgnoreUnknown=1;MAC=02:72:00:00:00:02"
check_eq "CNI_ARGS MAC wins over the config's" "$(link_d "$C" eth0 .address)" '"02:72:00:00:00:02"'
cni_run "$P" DEL "$C" eth0 c1 "$Cf"
Cr=$(jq -c '. + {runtimeConfig: {mac: "02:72:00:00:00:03"}}' <<<"$Cf")
cni_run "$P" ADD "$C" eth0 c1 "$Cr" "IgnoreUnknown=1;MAC=02:72:00:00:00:02"
check_eq "runtimeConfig.mac wins" "$RC:$(link_d "$C" eth0 .address):$(jq -r '.interfaces[0].mac' <<<"$OUT")" '0:"02:72:00:00:00:03":02:72:00:00:00:03'
R=$OUT
cni_run "$P" CHECK "$C" eth0 c1 "$(with_prev "$Cr" "$(jq -c '.interfaces[0].mac = "02:72:00:00:00:09"' <<<"$R")")"
check_eq "CHECK notices another MAC" "$RC" 1
cni_run "$P" CHECK "$C" eth0 c1 "$(with_prev "$(jq -c '.mtu = 1300' <<<"$Cr")" "$R")"
check_eq "CHECK notices another MTU" "$RC" 1
cni_run "$P" DEL "$C" eth0 c1 "$Cr"

# ---- bridge inside the container: the tap as a port, a ping across it ------------------------------
mkns C
mkns PEER
in_ns "$C" ip link add br0 type bridge
in_ns "$C" ip link set br0 up
in_ns "$C" ip link add vp type veth peer name vq
in_ns "$C" ip link set vq netns "$(basename "$PEER")"
in_ns "$C" ip link set vp master br0 up
in_ns "$PEER" ip addr add 10.73.0.9/24 dev vq
in_ns "$PEER" ip link set vq up
in_ns "$C" ip addr add 10.73.0.1/24 dev br0
Cf=$(conf 1.1.0 '"bridge":"br0"' noipam)
cni_run "$P" ADD "$C" tap0 c1 "$Cf"
R=$OUT
check_eq "bridge ADD: tap0 is a port of br0" "$RC:$(link_d "$C" tap0 .master)" '0:"br0"'
check "  the bridge still forwards: container pings the peer" ping_ok "$C" 10.73.0.9
cni_run "$P" CHECK "$C" tap0 c1 "$(with_prev "$Cf" "$R")"
check_eq "  CHECK" "$RC:$OUT" "0:"
in_ns "$C" ip link set tap0 nomaster
cni_run "$P" CHECK "$C" tap0 c1 "$(with_prev "$Cf" "$R")"
check_eq "  CHECK notices it left the bridge" "$RC" 1
cni_run "$P" DEL "$C" tap0 c1 "$Cf"
check_eq "  DEL leaves the bridge" "$RC:$(has_link "$C" tap0):$(has_link "$C" br0)" "0:no:yes"
cni_run "$P" ADD "$C" tap0 c1 "$(conf 1.1.0 '"bridge":"vp"' noipam)"
check_eq "bridge that is not a bridge: refused, nothing left" "$RC:$(taps "$C")" "1:0"
cni_run "$P" ADD "$C" tap0 c1 "$(conf 1.1.0 '"bridge":"nobr"' noipam)"
check_eq "missing bridge: refused, nothing left" "$RC:$(taps "$C")" "1:0"

# ---- an existing interface of that name is not clobbered ---------------------------------------------
mkns C
in_ns "$C" ip tuntap add mode tap name eth0
idx=$(link_d "$C" eth0 .ifindex)
cni_run "$P" ADD "$C" eth0 c1 "$(conf 1.1.0 '')"
check_eq "ADD into an existing eth0 (a tap) refused, no reservation" "$RC:$(link_d "$C" eth0 .ifindex):$(taps "$C"):$(files_left)" "1:$idx:1:0"
in_ns "$C" ip link del eth0
in_ns "$C" ip link add eth0 type veth peer name eth0p
cni_run "$P" DEL "$C" eth0 c1 "$(conf 1.1.0 '')"
check_eq "DEL leaves a non-tap eth0" "$RC:$(has_link "$C" eth0)" "0:yes"

# ---- a tap left under the temporary name by an ADD killed before its rename ----------------------------
# tmpname CONTAINERID IFNAME: "tap" + the low 48 bits of FNV-1a 64 over "CID/IFNAME", as tap.c.
tmpname() {
	local s="$1/$2" h=$((0xcbf29ce484222325)) i b
	for ((i = 0; i < ${#s}; i++)); do
		printf -v b '%d' "'${s:i:1}"
		h=$(((h ^ b) * 0x100000001b3))
	done
	printf 'tap%012x' $((h & 0xffffffffffff))
}
mkns C
in_ns "$C" ip tuntap add mode tap name "$(tmpname ck eth0)"
cni_run "$P" ADD "$C" eth0 ck "$(conf 1.1.0 '' noipam)"
check_eq "ADD after a killed ADD: the leftover is replaced" "$RC:$(taps "$C"):$(has_link "$C" "$(tmpname ck eth0)")" "0:1:no"
in_ns "$C" ip tuntap add mode tap name "$(tmpname ck eth0)"
cni_run "$P" DEL "$C" eth0 ck "$(conf 1.1.0 '' noipam)"
check_eq "DEL removes the tap and a leftover" "$RC:$(taps "$C")" "0:0"

STATUS_CONF=$(conf 1.1.0 '')
cni_run "$P" STATUS "" "" "" "$STATUS_CONF"
check_eq "STATUS" "$RC:$OUT" "0:"
mkns C
cni_run "$P" ADD "$C" eth0 g1 "$STATUS_CONF"
cni_run "$P" ADD "$C" eth1 g2 "$STATUS_CONF"
cni_run "$P" GC "" "" "" "$(jq -c '. + {"cni.dev/valid-attachments":[{"containerID":"g1","ifname":"eth0"}]}' <<<"$STATUS_CONF")"
check_eq "GC keeps g1, releases g2" "$RC:$(files_left)" "0:1"
cni_run "$P" DEL "$C" eth0 g1 "$STATUS_CONF"
cni_run "$P" DEL "$C" eth1 g2 "$STATUS_CONF"
check_eq "DEL after GC leaves nothing" "$RC:$(taps "$C"):$(files_left)" "0:0:0"

# ---- bad configurations: code 7, nothing created --------------------------------------------------------
mkns C
for bad in '"mtu":-1' '"mtu":70000' '"owner":-1' '"group":4294967296' '"mac":"nope"' '"mac":"01:00:00:00:00:01"' \
	'"bridge":"a/b"' '"multiQueue":"yes"'; do
	cni_run "$P" ADD "$C" eth0 c1 "$(conf 1.0.0 "$bad")"
	c=$(err_code)
	[[ $c == 7 || ($bad == '"multiQueue":"yes"' && $c == 6) ]] && r=ok || r=bad
	check_eq "bad config {$bad}: refused ($c), nothing left" "$RC:$r:$(taps "$C"):$(files_left)" "1:ok:0:0"
done
finish
