#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# bridge VLANs, read back from the kernel: the access VLAN (PVID, untagged), trunk VLANs, the
# native VLAN of a trunk-only port, and with isGateway the "<bridge>.<vlan>" gateway interface.
# Needs CONFIG_BRIDGE_VLAN_FILTERING: where the host kernel lacks it, this file skips and the VM
# lane (tests/vm/test_kernel_features.sh) runs it under Debian's stock kernel.
. "$(dirname "$0")/lib.sh"
need_root bridge_vlan
P=$BIN/bridge
tmpdir DATA
mkhost H

conf() {
	printf '{"cniVersion":"%s","name":"%s","type":"bridge","bridge":"%s"%s,"ipam":{"type":"host-local","dataDir":"%s","ranges":%s}}' \
		"$1" "net-$2" "$2" "${4:+,$4}" "$DATA" "$3"
}
ip_of() { in_ns "$1" ip -j addr show dev "${2:-eth0}" | jq -r --arg f "${3:-inet}" '[.[0].addr_info[] | select(.family==$f and .scope=="global") | .local][0] // empty'; }

# VLANs: access VLAN 100 (PVID untagged), trunk 101 and 200-202, vlan_filtering on the new bridge.
mkns C1
if in_ns "$H" ip link add cnic-vprobe type bridge vlan_filtering 1 2>/dev/null; then
	in_ns "$H" ip link del cnic-vprobe
	C=$(conf 1.0.0 brv '[[{"subnet":"10.92.0.0/24"}]]' '"vlan":100,"vlanTrunk":[{"id":101},{"minID":200,"maxID":202}]')
	hrun "$H" "$P" ADD "$C1" eth0 c1 "$C"
	check_eq "vlan ADD" "$RC" 0
	hv=$(printf '%s' "$OUT" | jq -r '.interfaces[1].name')
	check_eq "vlan_filtering on the bridge" "$(in_ns "$H" ip -d -j link show brv | jq '.[0].linkinfo.info_data.vlan_filtering')" 1
	# Ranges expanded: kernels list a run of VLANs as one range or one by one.
	vl=$(in_ns "$H" bridge -j vlan show dev "$hv" | jq -c '[.[0].vlans[] | ((.flags // []) | sort | join(",")) as $f | range(.vlan; (.vlanEnd // .vlan) + 1) | [., $f]]')
	check_eq "VLAN table of the port" "$vl" '[[100,"Egress Untagged,PVID"],[101,""],[200,""],[201,""],[202,""]]'
	hrun "$H" "$P" DEL "$C1" eth0 c1 "$C"
	check_eq "vlan DEL" "$RC" 0
	# vlan + isGateway: the gateway sits on a "<bridge>.<vlan>" veth whose peer is in the VLAN.
	C=$(conf 1.0.0 brw '[[{"subnet":"10.99.0.0/24"}]]' '"vlan":200,"isGateway":true')
	hrun "$H" "$P" ADD "$C1" eth0 c1 "$C"
	check_eq "vlan gateway ADD" "$RC:$(printf '%s' "$OUT" | jq -c '[.interfaces[].name | sub("^veth[0-9a-f]{8}$";"veth")]')" '0:["brw","veth","eth0","brw.200"]'
	check_eq "gateway on brw.200" "$(ip_of "$H" brw.200)" 10.99.0.1
	check "c1 pings the VLAN gateway" ping_ok "$C1" 10.99.0.1
	hrun "$H" "$P" DEL "$C1" eth0 c1 "$C"
	check_eq "vlan gateway DEL" "$RC" 0
else
	skip "bridge VLANs" "kernel without CONFIG_BRIDGE_VLAN_FILTERING"
fi

# Trunk only: VLAN 1 is the native (PVID, untagged) VLAN of the port.
if in_ns "$H" ip link add cnic-vprobe type bridge vlan_filtering 1 2>/dev/null; then
	in_ns "$H" ip link del cnic-vprobe
	mkns C1
	C=$(conf 1.0.0 brt '[[{"subnet":"10.98.0.0/24"}]]' '"vlanTrunk":[{"id":300}]')
	hrun "$H" "$P" ADD "$C1" eth0 c1 "$C"
	hv=$(printf '%s' "$OUT" | jq -r '.interfaces[1].name')
	vl=$(in_ns "$H" bridge -j vlan show dev "$hv" | jq -c '[.[0].vlans[] | ((.flags // []) | sort | join(",")) as $f | range(.vlan; (.vlanEnd // .vlan) + 1) | [., $f]]')
	check_eq "trunk only: native VLAN 1 and VLAN 300" "$vl" '[[1,"Egress Untagged,PVID"],[300,""]]'
	hrun "$H" "$P" DEL "$C1" eth0 c1 "$C"
	check_eq "trunk DEL" "$RC" 0
fi
finish
