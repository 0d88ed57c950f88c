#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# One Kubernetes node, driven through CRI as kubelet drives it: a private containerd (cri_lib.sh)
# whose CRI plugin runs bridge + portmap + bandwidth + tuning from $BIN, pods made with
# RunPodSandbox and checked from inside with ExecSync. The node is a private host netns with an
# address on a link to a second machine ("outside"), nothing else.
#   - pods a and b with hostPorts (TCP and UDP) and the bandwidth annotations (a: ingress and
#     egress, b: ingress only): addresses, loopback, tuning's sysctl, pod<->pod, a pod to the
#     other's hostPort through the node address, hairpin (a pod to its own hostPort), the host
#     ports from the node (its address and 127.0.0.1) and from outside, tbf and ifb on the host;
#   - containerd restarted under running pods: their network holds, ExecSync works, and a
#     StopPodSandbox/RemovePodSandbox after the restart leaves nothing of the pod; a pod run after
#     the restart works;
#   - a "reboot": every process of the node killed, its pods' netns gone with them, the runtime
#     state wiped, containerd started again; StopPodSandbox and RemovePodSandbox of the dead
#     pods (DEL without a netns) leave nothing: no veth, ifb, nftables rule, reservation, file.
. "$(dirname "$0")/cri_lib.sh"
e2e_need "CRI one node"
tmpdir W
cri_client_start

NODE_IP=198.18.1.1
OUTSIDE_IP=198.18.1.2
SUBNET_PREFIX=198.18.64
mkhost H
mkhost X
ip link add node0 netns "$H" type veth peer name eth0 netns "$X"
ip -n "$H" addr add "$NODE_IP/24" dev node0
ip -n "$H" link set node0 up
ip -n "$X" addr add "$OUTSIDE_IP/24" dev eth0
ip -n "$X" link set eth0 up

node_new n1 "$H"
D=${NODE_DIR[n1]}
cat >"$D/net.d/10-e2e.conflist" <<EOF
{"cniVersion": "1.0.0", "name": "e2e", "plugins": [
  {"type": "bridge", "bridge": "cni0", "isGateway": true, "ipMasq": true, "hairpinMode": true,
   "ipam": {"type": "host-local", "ranges": [[{"subnet": "$SUBNET_PREFIX.0/24"}]],
            "routes": [{"dst": "0.0.0.0/0"}], "dataDir": "$D/ipam"}},
  {"type": "portmap", "capabilities": {"portMappings": true}},
  {"type": "bandwidth", "capabilities": {"bandwidth": true}},
  {"type": "tuning", "sysctl": {"net.core.somaxconn": "1234"}, "dataDir": "$D/tuning"}
]}
EOF

node_start n1 || finish
cri n1 Status '{}'
check_eq "containerd reports the CNI network ready" \
	"$(jq -r '.status.conditions[] | select(.type == "NetworkReady") | .status' <<<"$OUT")" true
image_import n1 || finish

BW_IN_OUT='{"kubernetes.io/ingress-bandwidth":"10M","kubernetes.io/egress-bandwidth":"10M"}'
BW_IN='{"kubernetes.io/ingress-bandwidth":"10M"}'

# start POD HOSTPORT ANNOTATIONS: the pod, ok or not ok. A pod the bandwidth plugin refuses is
# started once more without the annotations, so that the other checks still run.
start() {
	if pod_run n1 "$1" "$(ports "$2")" "$3"; then
		ok "pod $1 runs (hostPort $2 TCP+UDP, annotations $3)"
		return 0
	fi
	fail "pod $1 runs (hostPort $2 TCP+UDP, annotations $3)" "$OUT"
	case $OUT in *bandwidth*) ;; *) return 1 ;; esac
	pod_run n1 "$1" "$(ports "$2")" '{}' || {
		fail "pod $1 runs without annotations" "$OUT"
		return 1
	}
}
start a 30080 "$BW_IN_OUT" || finish
start b 30081 "$BW_IN" || finish

# ---- inside the pods -----------------------------------------------------------------------------
declare -A IFLINK
for p in a b; do
	case ${POD_IP[$p]} in
	$SUBNET_PREFIX.*) ok "pod $p: CRI reports ${POD_IP[$p]}, from the node's range" ;;
	*) fail "pod $p: address from the node's range" "PodSandboxStatus says '${POD_IP[$p]}'" ;;
	esac
	facts "$p"
	F=$OUT
	case $F in *" eth0 "*" ${POD_IP[$p]}/24 "*) ok "pod $p: eth0 holds ${POD_IP[$p]}/24" ;; *) fail "pod $p: eth0 address" "$F" ;; esac
	case $F in *" lo "*" 127.0.0.1/8 "*) ok "pod $p: lo is up with 127.0.0.1 (containerd's loopback run)" ;; *) fail "pod $p: lo" "$F" ;; esac
	check_eq "pod $p: default route via the bridge" "$(grep ^default <<<"$F")" "default via $SUBNET_PREFIX.1 dev eth0 "
	check_eq "pod $p: tuning's sysctl" "$(grep ^somaxconn <<<"$F")" "somaxconn 1234"
	IFLINK[$p]=$(sed -n 's/^iflink //p' <<<"$F")
done
probe a "ping ${POD_IP[b]}" "ping $OUTSIDE_IP" "tcp ${POD_IP[b]} 8080" "udp ${POD_IP[b]} 8080" \
	"tcp $NODE_IP 30081" "udp $NODE_IP 30081" "tcp $NODE_IP 30080" "udp $NODE_IP 30080"
check_probe "pod a pings pod b" "ping ${POD_IP[b]}" ok
check_probe "pod a pings the machine outside (masqueraded)" "ping $OUTSIDE_IP" ok
for proto in tcp udp; do
	check_probe "$proto: pod a to pod b's address" "$proto ${POD_IP[b]} 8080" b
	check_probe "$proto: pod a to pod b's hostPort on the node address" "$proto $NODE_IP 30081" b
	check_probe "$proto: hairpin, pod a to its own hostPort on the node address" "$proto $NODE_IP 30080" a
done
probe b "ping ${POD_IP[a]}"
check_probe "pod b pings pod a" "ping ${POD_IP[a]}" ok
for proto in tcp udp; do
	check_ask "$proto: the node to pod a's hostPort on 127.0.0.1" a ask_node "$H" "$proto" 127.0.0.1 30080
	check_ask "$proto: the node to pod b's hostPort on its address" b ask_node "$H" "$proto" "$NODE_IP" 30081
	check_ask "$proto: outside to pod a's hostPort" a ask_node "$X" "$proto" "$NODE_IP" 30080
done

# ---- the host side of the pods -------------------------------------------------------------------
# host_veth POD: the node's end of the pod's veth (the peer index of its eth0).
host_veth() { ip -n "$H" -j link show | jq -r --argjson i "${IFLINK[$1]:-0}" '.[] | select(.ifindex == $i) | .ifname'; }
# qdisc HOSTNS DEV: the root qdisc of DEV, "KIND rate RATE".
qdisc() { tc -n "$1" qdisc show dev "$2" root 2>/dev/null | awk '{for (i = 1; i < NF; i++) if ($i == "rate") r = $(i + 1); print $2, "rate", r; exit}'; }
VA=$(host_veth a)
VB=$(host_veth b)
check_eq "pod a: its ingress (tbf on the host veth $VA)" "$(qdisc "$H" "$VA")" "tbf rate 10Mbit"
check_eq "pod b: its ingress (tbf on the host veth $VB)" "$(qdisc "$H" "$VB")" "tbf rate 10Mbit"
IFB=$(links "$H" ifb)
check_eq "one ifb on the node (pod a's egress; pod b has none)" "$(wc -w <<<"$IFB")" 1
check_eq "pod a: its egress (tbf on the ifb)" "$(qdisc "$H" ${IFB:-none})" "tbf rate 10Mbit"
check_eq "pod a: the host veth's ingress is redirected to the ifb" \
	"$(tc -n "$H" filter show dev "$VA" ingress 2>/dev/null | grep -o "Redirect to device ${IFB% }" | head -1)" \
	"Redirect to device ${IFB% }"

# ---- containerd restarted under running pods --------------------------------------------------------
node_stop n1
check_ask "containerd stopped: the node still reaches pod a's hostPort" a ask_node "$H" tcp 127.0.0.1 30080
node_start n1 || finish
cri n1 ListPodSandbox '{}'
check_eq "after the restart: both pods listed ready" \
	"$(jq -c '[.items[] | [.metadata.name, .state]] | sort' <<<"$OUT")" '[["a","SANDBOX_READY"],["b","SANDBOX_READY"]]'
probe a "ping ${POD_IP[b]}" "tcp $NODE_IP 30080"
check_probe "after the restart: pod a pings pod b (ExecSync through the recovered shims)" "ping ${POD_IP[b]}" ok
check_probe "after the restart: hairpin" "tcp $NODE_IP 30080" a
check_ask "after the restart: outside to pod b's hostPort" b ask_node "$X" udp "$NODE_IP" 30081

pod_stop a
check_eq "after the restart: StopPodSandbox a" "$RC" 0
pod_stop a
check_eq "StopPodSandbox a again (kubelet repeats it)" "$RC" 0
pod_remove a
check_eq "RemovePodSandbox a" "$RC" 0
check_eq "pod a: its host veth is gone" "$(links "$H" veth)" "$(printf '%s\n' node0 "$VB" | sort | tr '\n' ' ')"
check_eq "pod a: its ifb is gone" "$(links "$H" ifb)" ""
check_eq "pod a: its reservation is gone" "$(ls "$D/ipam/e2e")" "$(ls "$D/ipam/e2e" | grep -vx "${POD_IP[a]}")"
check_eq "pod a: its netns mount is gone (b's is left)" "$(find "$D/state" -path '*/netns/*' | wc -l)" 1
check_eq "pod a: no nftables rule names its address" "$(pod_rules "$H" "${POD_IP[a]}\b")" 0
check_eq "pod a: its hostPort no longer answers" "$(ask_node "$H" tcp 127.0.0.1 30080)" ""
check_ask "pod b still answers on its hostPort" b ask_node "$H" tcp "$NODE_IP" 30081

start c 30082 "$BW_IN_OUT" || finish
check_ask "pod c, run after the restart, answers on its hostPort" c ask_node "$X" tcp "$NODE_IP" 30082
check "pod c pings pod b" pod_ping c "${POD_IP[b]}"

check_eq "before the reboot: pod c's ifb is there" "$(links "$H" ifb | wc -w)" 1
POD_RULES="$SUBNET_PREFIX\\.|3008[0-9]"
if [ "$(pod_rules "$H" "$POD_RULES")" -gt 0 ]; then ok "before the reboot: the pods have nftables rules"; else fail "rules of pods b and c" "none found"; fi

# ---- reboot ----------------------------------------------------------------------------------------
node_reboot n1 || finish
check_eq "after the reboot: the pods' veths went with their netns" "$(links "$H" veth)" "node0 "
cri n1 ListPodSandbox '{}'
check_eq "after the reboot: pods b and c listed, not ready" \
	"$(jq -c '[.items[] | [.metadata.name, .state]] | sort' <<<"$OUT")" '[["b","SANDBOX_NOTREADY"],["c","SANDBOX_NOTREADY"]]'
for p in b c; do
	pod_stop "$p"
	check_eq "after the reboot: StopPodSandbox $p (DEL without its netns)" "$RC:$OUT" "0:{}"
	pod_remove "$p"
	check_eq "after the reboot: RemovePodSandbox $p" "$RC:$OUT" "0:{}"
done

# ---- nothing left ------------------------------------------------------------------------------------
check_eq "nothing left: no pod listed" "$(sandboxes n1)" 0
check_eq "nothing left: no veth but the node's own" "$(links "$H" veth)" "node0 "
check_eq "nothing left: no ifb" "$(links "$H" ifb)" ""
check_eq "nothing left: no nftables rule of a pod" "$(pod_rules "$H" "$POD_RULES")" 0
check_eq "nothing left: no entry in the attachment index" "$(att_count "$H")" 0
DATA=$D/ipam
check_eq "nothing left: no host-local reservation" "$(files_left)" 0
check_eq "nothing left: no tuning state" "$(find "$D/tuning" -type f 2>/dev/null | wc -l)" 0
check_eq "nothing left: no hostPort answers" "$(ask_node "$H" tcp "$NODE_IP" 30081)$(ask_node "$H" udp "$NODE_IP" 30082)" ""
node_stop n1
check_eq "nothing left: no process of the node but the holder of its mount namespace" "$(node_procs n1)" "${NODE_HOLD[n1]}"
finish
