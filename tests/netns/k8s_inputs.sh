#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Every input the Kubernetes path sends, in the exact shape each runtime sends it, through the
# chain bridge + portmap + bandwidth + tuning + firewall run as libcni runs it (capabilities
# filter runtimeConfig; prevResult threaded; CHECK in order, DEL in reverse with the cached
# result), in a private "host" namespace with a node address. One block per row of README's
# "Kubernetes inputs" table, each asserting the effect in the kernel:
#   CNI_ARGS     containerd (go-cni labels, map order: IgnoreUnknown anywhere) and CRI-O (ocicni:
#                IgnoreUnknown first, then IP= and MAC= when it has them)
#   portMappings containerd (go-cni's PortMapping has no JSON tags: HostPort, ContainerPort,
#                Protocol, HostIP) and CRI-O (hostPort, ...); hostIP "", 0.0.0.0, ::, 127.0.0.1,
#                an IPv6 node address; tcp/udp/sctp lowercased by both runtimes, and upper case
#   bandwidth    containerd (IngressRate..., burst 2^32-1) and CRI-O (ingressRate..., 8*(2^32-1)-1)
#   dns, cgroupPath, io.kubernetes.cri.pod-annotations: containerd's and CRI-O's shapes, ignored
#   node reboot  DEL with CNI_NETNS "" (containerd once the netns is closed) and with the vanished
#                path (CRI-O): success, and no IFB, rule, lease or backup left
#   restart      CHECK (CRI-O at >= 0.4.0), STATUS (containerd's and CRI-O's Status at 1.1.0),
#                GC (CRI-O at start, with the valid attachments)
. "$(dirname "$0")/lib.sh"
need_root k8s_inputs
for p in bridge portmap bandwidth tuning firewall host-local; do
	if [ ! -x "$BIN/$p" ]; then
		skip k8s_inputs "plugin $p is not built"
		exit 0
	fi
done
if ! command -v socat >/dev/null; then
	skip k8s_inputs "socat is not installed"
	exit 0
fi
tmpdir DATA

# The conflist, with capabilities as a Kubernetes node's: every plugin also declares the
# capabilities no cnic plugin reads, so the runtime passes them and they must be ignored.
IGN='"dns": true, "cgroupPath": true, "io.kubernetes.cri.pod-annotations": true'
list() { # VERSION
	jq -nc --arg v "$1" --arg d "$DATA" "{cniVersion: \$v, name: \"k8s\", plugins: [
		{type: \"bridge\", bridge: \"cni0\", isGateway: true, ipMasq: true, hairpinMode: true,
		 capabilities: {$IGN},
		 ipam: {type: \"host-local\", dataDir: (\$d + \"/ipam\"), routes: [{dst: \"0.0.0.0/0\"}, {dst: \"::/0\"}],
		        ranges: [[{subnet: \"198.18.30.0/24\"}], [{subnet: \"fd00:198:18:30::/64\"}]]}},
		{type: \"portmap\", capabilities: {portMappings: true, $IGN}},
		{type: \"bandwidth\", capabilities: {bandwidth: true, $IGN}},
		{type: \"tuning\", dataDir: (\$d + \"/tuning\"), capabilities: {mac: true, $IGN},
		 sysctl: {\"net.ipv4.conf.IFNAME.arp_filter\": \"1\"}},
		{type: \"firewall\", capabilities: {$IGN}}]}"
}
TYPES=(bridge portmap bandwidth tuning firewall)

# plugin_conf LIST INDEX PREV: what libcni sends plugin INDEX, $CAPS (the runtime's capability
# arguments) filtered by the plugin's capabilities into runtimeConfig
# (through a file: 256 KiB of pod annotations exceed one exec argument)
plugin_conf() {
	printf '%s' "$CAPS" >"$DATA/caps.json"
	jq -c --argjson i "$2" --argjson p "${3:-null}" --slurpfile caps "$DATA/caps.json" '
		(.plugins[$i] + {cniVersion, name}) as $c
		| ([$caps[0] | to_entries[] | select($c.capabilities[.key] == true)] | from_entries) as $rc
		| $c + (if $p == null then {} else {prevResult: $p} end)
		     + (if $rc == {} then {} else {runtimeConfig: $rc} end)' <<<"$1"
}
add() { # NETNS CID VERSION: final result in RESULT
	local l i prev=null
	l=$(list "$3")
	for i in "${!TYPES[@]}"; do
		hrun "$H" "$BIN/${TYPES[$i]}" ADD "$1" eth0 "$2" "$(plugin_conf "$l" "$i" "$prev")" "$ARGS"
		if [ "$RC" != 0 ]; then
			fail "ADD ${TYPES[$i]} for $2" "$OUT"
			return 1
		fi
		prev=$OUT
	done
	RESULT=$prev
}
verb() { # VERB NETNS CID VERSION RESULT: every plugin (DEL in reverse), all must succeed
	local l i order="0 1 2 3 4" failed=0
	l=$(list "$4")
	[ "$1" = DEL ] && order="4 3 2 1 0"
	for i in $order; do
		hrun "$H" "$BIN/${TYPES[$i]}" "$1" "$2" eth0 "$3" "$(plugin_conf "$l" "$i" "$5")" "$ARGS"
		[ "$RC" = 0 ] || {
			fail "$1 ${TYPES[$i]} for $3" "$(printf '%s' "$OUT" | tr '\n' ' ')"
			failed=1
		}
	done
	return $failed
}
# left CID: what names the attachment on the host: IFBs, nft rules, leases, tuning backups
left() {
	echo "ifbs=$(has_link "$H" "bwp$(printf 'k8s%s' "$1" | sha512sum | cut -c1-12)" | sed 's/yes/1/; s/no/0/')" \
		"rules=$(in_ns "$H" nft list ruleset | grep -c -- "$1")" \
		"leases=$(grep -rlx -- "$1" "$DATA/ipam" 2>/dev/null | wc -l)" \
		"backups=$(find "$DATA/tuning" -name "$1*" 2>/dev/null | wc -l)"
}
dnat() { in_ns "$H" nft list ruleset | grep -- "comment \"$1\"" | grep -o '.*dnat to [^ ]*' | sed 's/^[[:space:]]*//' | sort; }
serve() { # NETNS ANSWER LISTEN-ADDRESS: its pid appended to SERVERS
	ip netns exec "$(basename "$1")" socat "$3,fork,reuseaddr" SYSTEM:"echo $2" >/dev/null 2>&1 &
	on_exit "kill $! 2>/dev/null"
	SERVERS="$SERVERS $!"
}
# reboot NETNS HOSTVETH: the netns really gone (its servers stopped: they would hold it), as after
# a node's reboot; waits (bounded) until its veth pair has gone with it
reboot() {
	local p
	for p in $SERVERS; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
	SERVERS=
	ip netns del "$(basename "$1")"
	poll_until 5000 sh -c "! ip -n $H link show $2" || fail "netns $1 gone" "$2 still there"
}

mkhost H
in_ns "$H" ip link add node0 type veth peer name node0p
in_ns "$H" ip link set node0p up
in_ns "$H" ip addr add 198.18.31.1/24 dev node0
in_ns "$H" ip addr add fd00:198:18:31::1/64 dev node0 nodad
in_ns "$H" ip link set node0 up
SERVERS=
UID1=1b7c0a52-9d2e-4c55-8f0e-0c1d2e3f4a5b
SB1=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef

# ---- containerd: CNI_ARGS in map order, go-cni's capability shapes -----------------------------
v=1.0.0
mkns C1
serve "$C1" tcp-c1 TCP6-LISTEN:80,ipv6only=0
serve "$C1" udp-c1 UDP-RECVFROM:81
# go-cni joins its labels map: any order; IgnoreUnknown need not come first
ARGS="K8S_POD_UID=$UID1;K8S_POD_NAMESPACE=default;IgnoreUnknown=1;K8S_POD_NAME=web-0;K8S_POD_INFRA_CONTAINER_ID=$SB1"
CAPS=$(jq -nc '{
	portMappings: [
		{HostPort: 8080, ContainerPort: 80, Protocol: "tcp", HostIP: ""},
		{HostPort: 8081, ContainerPort: 81, Protocol: "udp", HostIP: "0.0.0.0"},
		{HostPort: 8082, ContainerPort: 82, Protocol: "sctp", HostIP: "::"},
		{HostPort: 8083, ContainerPort: 80, Protocol: "tcp", HostIP: "127.0.0.1"},
		{HostPort: 8084, ContainerPort: 80, Protocol: "TCP", HostIP: "fd00:198:18:31::1"}],
	bandwidth: {IngressRate: 10000000, IngressBurst: 4294967295, EgressRate: 1000000, EgressBurst: 4294967295},
	dns: {Servers: ["10.96.0.10"], Searches: ["default.svc.cluster.local", "svc.cluster.local"], Options: ["ndots:5"]},
	cgroupPath: "/kubepods/besteffort/pod1b7c0a52-9d2e-4c55-8f0e-0c1d2e3f4a5b",
	"io.kubernetes.cri.pod-annotations": {
		"kubernetes.io/ingress-bandwidth": "10M", "kubernetes.io/egress-bandwidth": "1M",
		"kubernetes.io/config.source": "api", "kubernetes.io/config.seen": "2026-12-07T06:58:43.123456789Z",
		"kubectl.kubernetes.io/last-applied-configuration": ("{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"annotations\":{},\"name\":\"web-0\"},\"spec\":{\"note\":\"" + ("x" * 250000) + "\"}}\n"),
		"example.com/unicode": "naïve ✓ \u0001 \"quoted\""}}')
add "$C1" "$SB1" $v
R1=$RESULT
check_eq "containerd: CNI_ARGS in map order, every plugin ADDs" "$RC" 0
C1V4=$(jq -r '[.ips[].address | select(contains(".")) | split("/")[0]][0]' <<<"$R1")
C1V6=$(jq -r '[.ips[].address | select(contains(":")) | split("/")[0]][0]' <<<"$R1")
check_eq "containerd: dual-stack addresses in the result and in the container" \
	"$(ip_of "$C1" eth0) $(ip_of "$C1" eth0 inet6)" "$C1V4 $C1V6"
check_eq "containerd: portMappings (capitalised keys) as DNAT rules, per family" "$(dnat "$SB1")" "$(sort <<EOF
ip daddr 127.0.0.1 tcp dport 8083 dnat to $C1V4:80
ip6 daddr fd00:198:18:31::1 tcp dport 8084 dnat to [$C1V6]:80
sctp dport 8082 dnat to [$C1V6]:82
tcp dport 8080 dnat to $C1V4:80
tcp dport 8080 dnat to [$C1V6]:80
udp dport 8081 dnat to $C1V4:81
EOF
)"
check_eq "containerd: hostIP \"\" reaches the pod on the node's IPv4 address" "$(ask "$H" 198.18.31.1 8080)" tcp-c1
check_eq "containerd: hostIP \"\" reaches the pod on the node's IPv6 address" "$(ask "$H" "[fd00:198:18:31::1]" 8080)" tcp-c1
check_eq "containerd: hostIP 127.0.0.1 reaches the pod (route_localnet)" "$(ask "$H" 127.0.0.1 8083)" tcp-c1
check_eq "containerd: hostIP IPv6, protocol \"TCP\" reaches the pod" "$(ask "$H" "[fd00:198:18:31::1]" 8084)" tcp-c1
check_eq "containerd: hostIP 0.0.0.0 UDP reaches the pod" "$(ask "$H" 198.18.31.1 8081 udp 40011)" udp-c1
check_eq "containerd: hostIP IPv6 is not mapped on IPv4" "$(ask "$H" 198.18.31.1 8084)" ""
skip "containerd: SCTP through the host port" "no SCTP sockets without CONFIG_IP_SCTP here (the rule above is checked; the VM lane runs portmap_sctp.sh)"
HV1=$(jq -r '.interfaces[] | select(.name | startswith("veth")) | .name' <<<"$R1")
IFB1=$(jq -r '.interfaces[] | select(.name | startswith("bwp")) | .name' <<<"$R1")
check_eq "containerd: bandwidth (capitalised keys, burst 2^32-1): tbf on the host veth and the IFB" \
	"$(in_ns "$H" tc -j qdisc show dev "$HV1" root | jq -c '.[0] | [.kind, .options.rate]') $(in_ns "$H" tc -j qdisc show dev "$IFB1" root | jq -c '.[0] | [.kind, .options.rate]')" \
	'["tbf",1250000] ["tbf",125000]'
check_eq "containerd: tuning applied" "$(in_ns "$C1" cat /proc/sys/net/ipv4/conf/eth0/arp_filter)" 1
check_eq "containerd: dns, cgroupPath and pod annotations ignored (no dns in the result)" "$(jq -c '.dns // {}' <<<"$R1")" '{}'
check "containerd: the pod reaches its gateway" ping_ok "$C1" 198.18.30.1
# kubelet's Status: containerd's go-cni runs STATUS on every network at 1.1.0
l=$(list 1.1.0)
for i in "${!TYPES[@]}"; do
	hrun "$H" "$BIN/${TYPES[$i]}" STATUS "" "" "" "$(jq -c --argjson i "$i" '.plugins[$i] + {cniVersion, name}' <<<"$l")"
	check_eq "STATUS ${TYPES[$i]} (containerd's and CRI-O's Status)" "$RC:$OUT" "0:"
done
verb CHECK "$C1" "$SB1" $v "$R1" && ok "containerd: CHECK of every plugin with the cached result"

# node reboot: the netns is gone; containerd finds it closed and sends CNI_NETNS ""
reboot "$C1" "$HV1"
verb DEL "" "$SB1" $v "$R1" && ok "reboot (containerd): DEL with CNI_NETNS \"\" succeeds"
check_eq "reboot (containerd): nothing of the pod left" "$(left "$SB1")" "ifbs=0 rules=0 leases=0 backups=0"

# ---- CRI-O: ocicni's order and shapes, IP= and MAC= in CNI_ARGS ---------------------------------
mkns C2
serve "$C2" tcp-c2 TCP-LISTEN:80
SB2=fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210
ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=kube-system;K8S_POD_NAME=dns-1.example;K8S_POD_INFRA_CONTAINER_ID=$SB2;K8S_POD_UID=$UID1;IP=198.18.30.77;MAC=02:42:c6:12:1e:4d"
CAPS=$(jq -nc '{
	portMappings: [{hostPort: 9080, containerPort: 80, protocol: "tcp", hostIP: ""},
	               {hostPort: 9082, containerPort: 82, protocol: "sctp", hostIP: ""},
	               {hostPort: 9053, containerPort: 53, protocol: "tcp", hostIP: ""},
	               {hostPort: 9053, containerPort: 53, protocol: "udp", hostIP: ""}],
	bandwidth: {ingressRate: 1000, ingressBurst: 34359738359, egressRate: 1000000000000000, egressBurst: 34359738359},
	cgroupPath: "/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-burstable.slice/kubelet-kubepods-burstable-pod1b7c0a52_9d2e_4c55_8f0e_0c1d2e3f4a5b.slice",
	"io.kubernetes.cri.pod-annotations": {"kubernetes.io/ingress-bandwidth": "1k"}}')
add "$C2" "$SB2" $v
R2=$RESULT
check_eq "CRI-O: IP= from CNI_ARGS (host-local)" "$(ip_of "$C2")" 198.18.30.77
check_eq "CRI-O: MAC= from CNI_ARGS on the container's interface" \
	"$(in_ns "$C2" ip -j link show eth0 | jq -r '.[0].address') $(jq -r '.interfaces[] | select(.name == "eth0") | .mac' <<<"$R2")" \
	"02:42:c6:12:1e:4d 02:42:c6:12:1e:4d"
check_eq "CRI-O: portMappings (lower-case keys) as DNAT rules" "$(dnat "$SB2" | grep -c 'dport 90')" 8
check_eq "CRI-O: one port number for TCP and UDP (a DNS pod): both, on both families" "$(dnat "$SB2" | grep -c 'dport 9053')" 4
check_eq "CRI-O: SCTP host port on both families" "$(dnat "$SB2" | grep -c 'sctp dport 9082')" 2
check_eq "CRI-O: the host port reaches the pod" "$(ask "$H" 198.18.31.1 9080)" tcp-c2
HV2=$(jq -r '.interfaces[] | select(.name | startswith("veth")) | .name' <<<"$R2")
IFB2=$(jq -r '.interfaces[] | select(.name | startswith("bwp")) | .name' <<<"$R2")
check_eq "CRI-O: bandwidth (burst 8*(2^32-1)-1 bits, 1 kbit/s and 1 Pbit/s): tbf on both" \
	"$(in_ns "$H" tc -j qdisc show dev "$HV2" root | jq -c '.[0] | [.kind, .options.rate]') $(in_ns "$H" tc -j qdisc show dev "$IFB2" root | jq -c '.[0] | [.kind, .options.rate]')" \
	'["tbf",125] ["tbf",125000000000000]'
verb CHECK "$C2" "$SB2" $v "$R2" && ok "CRI-O: CHECK after a restart (GetPodNetworkStatus at >= 0.4.0)"

# CRI-O's GC at start: a pod it still knows (C3) stays, C2 (lost) goes; then its late DEL
v=1.1.0
mkns C3
SB3=00000000000000000000000000000000000000000000000000000000000000c3
ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=keep;K8S_POD_INFRA_CONTAINER_ID=$SB3;K8S_POD_UID=$UID1"
CAPS='{"portMappings":[{"hostPort":7080,"containerPort":80,"protocol":"tcp","hostIP":""}],"bandwidth":{"ingressRate":0,"ingressBurst":0,"egressRate":1000000,"egressBurst":34359738359}}'
add "$C3" "$SB3" $v
R3=$RESULT
reboot "$C2" "$HV2"
l=$(list $v)
for i in "${!TYPES[@]}"; do
	hrun "$H" "$BIN/${TYPES[$i]}" GC "" "" "" "$(jq -c --argjson i "$i" --arg c "$SB3" '(.plugins[$i] + {cniVersion, name})
		+ {"cni.dev/valid-attachments": [{containerID: $c, ifname: "eth0"}]}' <<<"$l")"
	check_eq "GC ${TYPES[$i]} (CRI-O at start)" "$RC:$OUT" "0:"
done
check_eq "GC: nothing of the lost pod left" "$(left "$SB2")" "ifbs=0 rules=0 leases=0 backups=0"
check_eq "GC: the kept pod's IFB and rules stay" "$(in_ns "$H" ip -j link show type ifb | jq -r '.[].ifname') $(dnat "$SB3" | wc -l)" \
	"$(jq -r '.interfaces[] | select(.name | startswith("bwp")) | .name' <<<"$R3") 2"
verb CHECK "$C3" "$SB3" $v "$R3" && ok "GC: the kept pod still CHECKs"
# reboot as CRI-O sees it: the netns path it recorded no longer exists
v=1.0.0
ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=kube-system;K8S_POD_NAME=dns-1.example;K8S_POD_INFRA_CONTAINER_ID=$SB2;K8S_POD_UID=$UID1"
verb DEL "$C2" "$SB2" $v "$R2" && ok "reboot (CRI-O): DEL with the vanished netns path succeeds"
check_eq "reboot (CRI-O): nothing of the pod left" "$(left "$SB2")" "ifbs=0 rules=0 leases=0 backups=0"
ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=keep;K8S_POD_INFRA_CONTAINER_ID=$SB3;K8S_POD_UID=$UID1"
verb DEL "$C3" "$SB3" 1.1.0 "$R3" && ok "DEL of the kept pod"
# ipRanges: neither containerd's CRI nor CRI-O fills it (ocicni could: [][]IpRange, lower-case
# keys, the convention's shape); host-local takes it as its ranges
CAPS='{"ipRanges":[[{"subnet":"198.18.32.0/24","rangeStart":"198.18.32.100","rangeEnd":"198.18.32.110","gateway":"198.18.32.1"}]]}'
hrun "$H" "$BIN/host-local" ADD "$C3" eth1 ipr "$(jq -c --arg d "$DATA" --argjson c "$CAPS" '{cniVersion: "1.0.0", name: "k8s-ipr", type: "bridge", ipam: {type: "host-local", dataDir: ($d + "/ipr")}, runtimeConfig: $c}' <<<null)" "$ARGS"
check_eq "ocicni's ipRanges shape: host-local allocates from it" "$RC:$(jq -c '[.ips[0].address, .ips[0].gateway]' <<<"$OUT")" '0:["198.18.32.100/24","198.18.32.1"]'
check_eq "no pod veth left" "$(in_ns "$H" ip -j link show type veth | jq '[.[] | select(.ifname | startswith("node0") | not)] | length')" 0
finish
