#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Two Kubernetes nodes, driven through CRI alone: two private containerd nodes (cri_lib.sh), each
# a private host netns, joined by a veth (the underlay, 198.18.0.N/24) and running kube-flannel's
# conflist (flannel, delegating to bridge + host-local, then portmap) from $BIN. The test plays
# flanneld's vxlan backend by hand, as tests/netns/flannel_multinode.sh does: on each node a
# flannel.1 (VNI 1, port 8472, nolearning, MTU 1450) holding 198.19.N.0/32, and for the other
# node the neighbour entry, the FDB entry and the onlink route of its subnet; each node's own
# subnet.env (198.19.N.1/24) given by the plugin's subnetFile key. A pod on node 1 reaches a pod
# on node 2 over the vxlan, and the other node's hostPort over the underlay; StopPodSandbox and
# RemovePodSandbox leave nothing on either node.
. "$(dirname "$0")/cri_lib.sh"
e2e_need "CRI two nodes"
if ! command -v bridge >/dev/null 2>&1; then
	skip "CRI two nodes" "the bridge command (iproute2) is missing"
	finish
fi
mkhost PROBE
if ! ip -n "$PROBE" link add vxprobe type vxlan id 1 dstport 8472 local 127.0.0.1 nolearning 2>/dev/null; then
	skip "CRI two nodes" "vxlan is not available in this kernel"
	finish
fi
tmpdir W
cri_client_start

# ---- two nodes and the overlay flanneld would make ------------------------------------------------
mkhost H1
mkhost H2
declare -A HOST=([1]=$H1 [2]=$H2) VTEP
ip link add eth0 netns "$H1" type veth peer name eth0 netns "$H2"
for n in 1 2; do
	h=${HOST[$n]}
	ip -n "$h" addr add "198.18.0.$n/24" dev eth0
	ip -n "$h" link set eth0 up
	ip -n "$h" link add flannel.1 type vxlan id 1 local "198.18.0.$n" dev eth0 dstport 8472 nolearning
	ip -n "$h" link set flannel.1 mtu 1450
	ip -n "$h" addr add "198.19.$n.0/32" dev flannel.1
	ip -n "$h" link set flannel.1 up
	ip netns exec "$h" sysctl -qw net.ipv4.ip_forward=1
	VTEP[$n]=$(ip -n "$h" -j link show flannel.1 | jq -r '.[0].address')
done
for n in 1 2; do
	m=$((3 - n))
	h=${HOST[$n]}
	ip -n "$h" neigh add "198.19.$m.0" lladdr "${VTEP[$m]}" dev flannel.1 nud permanent
	ip netns exec "$h" bridge fdb append "${VTEP[$m]}" dev flannel.1 dst "198.18.0.$m" self permanent
	ip -n "$h" route add "198.19.$m.0/24" via "198.19.$m.0" dev flannel.1 onlink
done
check "overlay: node 1's flannel.1 reaches node 2's" ping_ok "$H1" 198.19.2.0

for n in 1 2; do
	node_new "n$n" "${HOST[$n]}"
	D=${NODE_DIR[n$n]}
	printf 'FLANNEL_NETWORK=198.19.0.0/16\nFLANNEL_SUBNET=198.19.%s.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n' "$n" >"$D/subnet.env"
	cat >"$D/net.d/10-flannel.conflist" <<EOF
{"cniVersion": "1.0.0", "name": "cbr0", "plugins": [
  {"type": "flannel", "subnetFile": "$D/subnet.env", "dataDir": "$D/flannel", "ipam": {"dataDir": "$D/ipam"},
   "delegate": {"hairpinMode": true, "isDefaultGateway": true}},
  {"type": "portmap", "capabilities": {"portMappings": true}}
]}
EOF
	node_start "n$n" || finish
	image_import "n$n" || finish
done

# ---- a pod on each node ----------------------------------------------------------------------------
for n in 1 2; do
	p=p$n
	if pod_run "n$n" "$p" "$(ports "3008$n")" '{}'; then ok "node $n: pod $p runs (hostPort 3008$n TCP+UDP)"; else
		fail "node $n: pod $p runs" "$OUT"
		finish
	fi
	case ${POD_IP[$p]} in
	198.19.$n.*) ok "node $n: pod $p got ${POD_IP[$p]}, from the node's subnet" ;;
	*) fail "node $n: pod $p address from the node's subnet" "PodSandboxStatus says '${POD_IP[$p]}'" ;;
	esac
	facts "$p"
	case $OUT in *" eth0"*" mtu 1450 "*) ok "node $n: pod $p's MTU is FLANNEL_MTU" ;; *) fail "node $n: pod $p's MTU" "$OUT" ;; esac
	check_eq "node $n: pod $p's default route via cni0" "$(grep ^default <<<"$OUT")" "default via 198.19.$n.1 dev eth0 "
	check_eq "node $n: saved delegate is bridge + host-local on the node's subnet" \
		"$(jq -c '[.type, .hairpinMode, .isDefaultGateway, .ipMasq, .ipam.ranges]' "${NODE_DIR[n$n]}/flannel/${POD_ID[$p]}" 2>&1)" \
		"[\"bridge\",true,true,false,[[{\"subnet\":\"198.19.$n.0/24\"}]]]"
done

tx_before=$(ip -n "$H1" -j -s link show flannel.1 | jq '.[0].stats64.tx.packets')
probe p1 "ping ${POD_IP[p2]}" "tcp ${POD_IP[p2]} 8080" "udp ${POD_IP[p2]} 8080" "tcp 198.18.0.2 30082" "udp 198.18.0.2 30082"
check_probe "pod p1 (node 1) pings pod p2 (node 2) over the vxlan" "ping ${POD_IP[p2]}" ok
for proto in tcp udp; do
	check_probe "$proto: pod p1 to pod p2's address, across nodes" "$proto ${POD_IP[p2]} 8080" p2
	check_probe "$proto: pod p1 to pod p2's hostPort on node 2's address" "$proto 198.18.0.2 30082" p2
done
tx_after=$(ip -n "$H1" -j -s link show flannel.1 | jq '.[0].stats64.tx.packets')
if [ "${tx_after:-0}" -gt "${tx_before:-0}" ]; then ok "node 1's traffic to node 2's pod went through flannel.1"; else
	fail "traffic through flannel.1" "tx $tx_before -> $tx_after"
fi
probe p2 "ping ${POD_IP[p1]}" "tcp ${POD_IP[p1]} 8080" "tcp 198.18.0.2 30082"
check_probe "pod p2 (node 2) pings pod p1 (node 1)" "ping ${POD_IP[p1]}" ok
check_probe "tcp: pod p2 to pod p1's address, across nodes" "tcp ${POD_IP[p1]} 8080" p1
check_probe "tcp: hairpin on node 2" "tcp 198.18.0.2 30082" p2
check_ask "tcp: node 1 to pod p2's hostPort on node 2" p2 ask_node "$H1" tcp 198.18.0.2 30082
check_ask "udp: node 2 to pod p1's hostPort on node 1" p1 ask_node "$H2" udp 198.18.0.1 30081

# ---- teardown through CRI: nothing left on either node ---------------------------------------------------
for n in 1 2; do
	p=p$n
	h=${HOST[$n]}
	D=${NODE_DIR[n$n]}
	pod_stop "$p"
	check_eq "node $n: StopPodSandbox $p" "$RC:$OUT" "0:{}"
	pod_remove "$p"
	check_eq "node $n: RemovePodSandbox $p" "$RC:$OUT" "0:{}"
	check_eq "node $n: no pod listed" "$(sandboxes "n$n")" 0
	check_eq "node $n: no veth but the underlay" "$(links "$h" veth)" "eth0 "
	DATA=$D/ipam
	check_eq "node $n: no host-local reservation" "$(files_left)" 0
	check_eq "node $n: no saved flannel configuration" "$(ls -A "$D/flannel" 2>/dev/null)" ""
	check_eq "node $n: no nftables rule of a pod" "$(pod_rules "$h" '198\.19\.|3008[0-9]')" 0
	check_eq "node $n: no entry in the attachment index" "$(att_count "$h")" 0
	check_eq "node $n: the overlay is flanneld's and untouched" "$(ip -n "$h" -j route show dev flannel.1 | jq length)" 1
	node_stop "n$n"
	check_eq "node $n: no process of the node but the holder of its mount namespace" "$(node_procs "n$n")" "${NODE_HOLD[n$n]}"
done
finish
