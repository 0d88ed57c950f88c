#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# flannel across three simulated nodes. A "switch" namespace holds a bridge; three "node"
# namespaces hang off it by veths (underlay 192.168.77.N/24, only inside these namespaces). In
# each node the test plays flanneld's vxlan backend with `ip`/`bridge`: a flannel.1 vxlan device
# (VNI 1, dstport 8472, local = the node's underlay address, nolearning, MTU 1450) holding
# 10.244.N.0/32, and for every other node M the neighbour entry (10.244.M.0 -> M's VTEP MAC,
# permanent), the FDB entry (M's VTEP MAC -> M's underlay address) and the onlink route
# 10.244.M.0/24 via 10.244.M.0; plus the node's own subnet.env (10.244.N.1/24) and dataDir.
# The plugin runs inside each node (its bridge and host-local delegates from build/bin) for pods
# of that node; pods on different nodes ping each other over the overlay. Then everything is
# deleted (twice, one node after its subnet.env vanished) and nothing may be left: no pod
# veths, no reservations, no saved configurations.
. "$(dirname "$0")/lib.sh"
need_root flannel_multinode
P=$BIN/flannel
NODES="1 2 3"
PODS="a b"

if ! command -v bridge >/dev/null 2>&1; then
	skip "flannel multi-node" "the bridge command (iproute2) is missing"
	finish
fi
mkhost PROBE
if ! ip -n "$PROBE" link add vxprobe type vxlan id 1 dstport 8472 local 127.0.0.1 nolearning 2>/dev/null; then
	skip "flannel multi-node" "vxlan is not available in this kernel"
	finish
fi

tmpdir W
mkhost SW
ip -n "$SW" link add br0 type bridge
ip -n "$SW" link set br0 up

# ---- the fixture that plays flanneld ---------------------------------------------------------------
declare -A NODE MAC
for n in $NODES; do
	mkhost h
	NODE[$n]=$h
	ip link add "fl$T_TAG$n" type veth peer name "sw$T_TAG$n"
	track_link "fl$T_TAG$n"
	ip link set "fl$T_TAG$n" netns "$h" name eth0
	ip link set "sw$T_TAG$n" netns "$SW" name "p$n"
	ip -n "$SW" link set "p$n" master br0 up
	ip -n "$h" addr add "192.168.77.$n/24" dev eth0
	ip -n "$h" link set eth0 up
	ip -n "$h" link add flannel.1 type vxlan id 1 local "192.168.77.$n" dev eth0 dstport 8472 nolearning
	ip -n "$h" link set flannel.1 mtu 1450
	ip -n "$h" addr add "10.244.$n.0/32" dev flannel.1
	ip -n "$h" link set flannel.1 up
	in_ns "$h" sysctl -qw net.ipv4.ip_forward=1
	MAC[$n]=$(ip -n "$h" -j link show flannel.1 | jq -r '.[0].address')
	mkdir -p "$W/node$n"
	printf 'FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.%s.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n' "$n" \
		>"$W/node$n/subnet.env"
done
for n in $NODES; do
	for m in $NODES; do
		[ "$n" = "$m" ] && continue
		h=${NODE[$n]}
		ip -n "$h" neigh add "10.244.$m.0" lladdr "${MAC[$m]}" dev flannel.1 nud permanent
		in_ns "$h" bridge fdb append "${MAC[$m]}" dev flannel.1 dst "192.168.77.$m" self permanent
		ip -n "$h" route add "10.244.$m.0/24" via "10.244.$m.0" dev flannel.1 onlink
	done
done
check "underlay: node 1 reaches node 3" ping_ok "${NODE[1]}" 192.168.77.3
check "overlay fixture: node 1's flannel.1 reaches node 2's" ping_ok "${NODE[1]}" 10.244.2.0

# conf N: the flannel configuration of node N (same shape on every node, own files).
conf() {
	printf '{"cniVersion":"1.0.0","name":"cbr0","type":"flannel","subnetFile":"%s","dataDir":"%s","ipam":{"dataDir":"%s"}}' \
		"$W/node$1/subnet.env" "$W/node$1/flannel" "$W/node$1/ipam"
}
reservations() { ls "$W/node$1/ipam/cbr0" 2>/dev/null | grep -c '^[0-9]'; }
pod_veths() { ip -n "${NODE[$1]}" -j link show type veth | jq '[.[] | select(.ifname != "eth0")] | length'; }

# ---- pods on every node --------------------------------------------------------------------------------
declare -A POD IP
for n in $NODES; do
	for p in $PODS; do
		mkns ns
		POD[$n$p]=$ns
		hrun "${NODE[$n]}" "$P" ADD "$ns" eth0 "pod-$n$p" "$(conf "$n")"
		check_eq "node $n: ADD pod $n$p" "$RC" 0
		IP[$n$p]=$(printf '%s' "$OUT" | jq -r '.ips[0].address | split("/")[0]' 2>/dev/null)
		case ${IP[$n$p]} in
		10.244.$n.*) ok "node $n: pod $n$p got ${IP[$n$p]} from the node's subnet" ;;
		*) fail "node $n: pod $n$p address from the node's subnet" "got '${IP[$n$p]}': $OUT" ;;
		esac
	done
	check_eq "node $n: saved delegate configs" "$(ls "$W/node$n/flannel" | tr '\n' ' ')" "pod-${n}a pod-${n}b "
	check_eq "node $n: delegate is bridge + host-local on the node subnet, no masquerade (flanneld does it)" \
		"$(jq -c '[.type, .isGateway, .ipMasq, .mtu, .ipam.type, .ipam.ranges, .ipam.routes]' "$W/node$n/flannel/pod-${n}a")" \
		"[\"bridge\",true,false,1450,\"host-local\",[[{\"subnet\":\"10.244.$n.0/24\"}]],[{\"dst\":\"10.244.0.0/16\"}]]"
	check_eq "node $n: cni0 holds the gateway 10.244.$n.1" \
		"$(ip -n "${NODE[$n]}" -j addr show cni0 | jq -r '[.[0].addr_info[] | select(.family=="inet") | .local][0]')" "10.244.$n.1"
	check_eq "node $n: pod MTU is FLANNEL_MTU" "$(in_ns "${POD[${n}a]}" ip -j link show eth0 | jq '.[0].mtu')" 1450
done

tx_before=$(ip -n "${NODE[1]}" -j -s link show flannel.1 | jq '.[0].stats64.tx.packets')
for n in $NODES; do
	for m in $NODES; do
		check "pod ${n}a pings pod ${m}b$([ "$n" = "$m" ] && echo ' (same node)' || echo ' over the overlay')" \
			ping_ok "${POD[${n}a]}" "${IP[${m}b]}"
	done
done
tx_after=$(ip -n "${NODE[1]}" -j -s link show flannel.1 | jq '.[0].stats64.tx.packets')
if [ "${tx_after:-0}" -gt "${tx_before:-0}" ]; then ok "node 1's traffic to other nodes went through flannel.1"; else fail "traffic through flannel.1" "tx $tx_before -> $tx_after"; fi
check_eq "the switch carries no pod route (only the overlay can deliver)" "$(ip -n "$SW" -j route show | jq '[.[] | select(.dst | startswith("10.244"))] | length')" 0

# CHECK on one pod with the runtime's prevResult.
hrun "${NODE[2]}" "$P" ADD "${POD[2a]}" eth0 pod-2a "$(conf 2)"
check_eq "second ADD of a live attachment is refused" "$RC" 1
hrun "${NODE[2]}" "$P" DEL "${POD[2a]}" eth0 pod-2a "$(conf 2)"
check_eq "DEL after the refused ADD" "$RC" 0
hrun "${NODE[2]}" "$P" ADD "${POD[2a]}" eth0 pod-2a "$(conf 2)"
check_eq "ADD again" "$RC" 0
R2A=$OUT
IP[2a]=$(printf '%s' "$OUT" | jq -r '.ips[0].address | split("/")[0]')
check "pod 1b pings pod 2a again" ping_ok "${POD[1b]}" "${IP[2a]}"
hrun "${NODE[2]}" "$P" CHECK "${POD[2a]}" eth0 pod-2a "$(with_prev "$(conf 2)" "$R2A")"
check_eq "CHECK pod 2a" "$RC:$OUT" "0:"

# ---- teardown: nothing left ----------------------------------------------------------------------------
rm -f "$W/node3/subnet.env" # flanneld gone on node 3: DEL replays the saved configuration
for n in $NODES; do
	for p in $PODS; do
		hrun "${NODE[$n]}" "$P" DEL "${POD[$n$p]}" eth0 "pod-$n$p" "$(conf "$n")"
		check_eq "node $n: DEL pod $n$p$([ "$n" = 3 ] && echo ' without subnet.env')" "$RC:$OUT" "0:"
		hrun "${NODE[$n]}" "$P" DEL "${POD[$n$p]}" eth0 "pod-$n$p" "$(conf "$n")"
		check_eq "node $n: DEL pod $n$p twice" "$RC:$OUT" "0:"
		check_eq "node $n: pod $n$p has no eth0" "$(ip -n "$(basename "${POD[$n$p]}")" link show eth0 2>/dev/null)" ""
	done
	check_eq "node $n: no pod veth left" "$(pod_veths "$n")" 0
	check_eq "node $n: no reservation left" "$(reservations "$n")" 0
	check_eq "node $n: no saved configuration left" "$(ls -A "$W/node$n/flannel")" ""
	check_eq "node $n: the overlay is flanneld's and untouched" \
		"$(ip -n "${NODE[$n]}" -j route show dev flannel.1 | jq length)" 2
done
hrun "${NODE[1]}" "$P" DEL "${POD[1a]}" eth0 pod-never "$(conf 1)"
check_eq "DEL without ADD" "$RC:$OUT" "0:"
finish
