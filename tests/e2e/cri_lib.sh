# SPDX-License-Identifier: Apache-2.0
# Shared helpers of the CRI lanes (cri_node.sh, cri_twonode.sh): private containerd "nodes" with
# their CRI plugin calling the plugins of $BIN, driven over CRI v1 as kubelet would (cri.py).
#
# A node is a private host netns (mkhost) plus a private mount namespace, held by a `sleep`
# ("the holder") started as `nsenter --net=HOST unshare -m` with a tmpfs on /run: containerd runs
# in both (nsenter -t HOLDER -m -n), so its shims, runc state, /run/containerd/s sockets and the
# pods' netns mounts (netns_mounts_under_state_dir) stay inside; root, state, socket and CNI files
# are under the test's temporary directory. Not `ip netns exec`: it remounts /sys and hides the
# cgroup mounts from runc. A containerd restart reuses the holder (the pods' netns mounts
# survive, as on a real node); a "reboot" kills every process of the node, the holder included.
# Pods go into the cgroup parent /cnic-e2e-<tag>-<node>; every process, cgroup and directory is
# removed at exit, on every path.
. "$(cd "$(dirname "${BASH_SOURCE[0]}")/../netns" && pwd)/lib.sh"
E2E=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PY=${PYTHON3:-/usr/bin/python3}
IMAGE=cnic.test/e2e/busybox:1
declare -A NODE_DIR NODE_HOST NODE_HOLD NODE_PID NODE_MNT
E2E_NODES=""

# e2e_need NAME: skip the whole lane unless root, containerd, runc, the Python gRPC modules and
# the tools the pods and checks use are all here.
e2e_need() {
	local c
	need_root "$1"
	for c in containerd containerd-shim-runc-v2 ctr runc socat nsenter unshare tc; do
		if ! command -v "$c" >/dev/null 2>&1; then
			skip "$1" "$c is not installed (Debian: containerd, runc, socat, util-linux, iproute2)"
			exit 0
		fi
	done
	if ! "$PY" -c 'import grpc, grpc_tools.protoc, google.protobuf' 2>/dev/null; then
		skip "$1" "$PY lacks grpc, grpc_tools or protobuf (Debian: python3-grpcio python3-grpc-tools python3-protobuf)"
		exit 0
	fi
	if [ ! -x /bin/busybox ] || readelf -l /bin/busybox 2>/dev/null | grep -q INTERP; then
		skip "$1" "/bin/busybox is not busybox-static"
		exit 0
	fi
	if [ ! -x "$BIN/bridge" ]; then
		skip "$1" "no plugins in $BIN (make all)"
		exit 0
	fi
}

# ---- the CRI client: one cri.py process answering one JSON line per request --------------------
cri_client_start() {
	coproc CRIC { exec "$PY" "$E2E/cri.py" serve 2>>"$W/cri-client.log"; }
	CRIC_PID_SAVED=$CRIC_PID
	exec 7>&"${CRIC[1]}" 8<&"${CRIC[0]}"
	on_exit 'exec 7>&- 8<&-; kill "$CRIC_PID_SAVED" 2>/dev/null'
}

# cri NODE METHOD REQUEST-JSON [TIMEOUT-S]: RC=0 and the response in $OUT, or RC=1 and the gRPC
# error in $OUT. Bounded: the call's deadline, and the read waits the deadline plus 10 s.
cri() {
	local t=${4:-60} line
	OUT=""
	RC=1
	printf '{"sock":"%s","method":"%s","timeout":%s,"req":%s}\n' "${NODE_DIR[$1]}/containerd.sock" "$2" "$t" "$3" >&7 || {
		OUT="the CRI client is gone"
		return 1
	}
	if ! read -r -t $((t + 10)) line <&8; then
		OUT="no answer from the CRI client in $((t + 10)) s"
		return 1
	fi
	if [ "$(jq -r .ok <<<"$line")" = true ]; then
		OUT=$(jq -c .resp <<<"$line")
		RC=0
	else
		OUT=$(jq -r .error <<<"$line")
	fi
	return $RC
}

# ---- nodes -----------------------------------------------------------------------------------------
# node_config NODE: containerd's configuration, every path private to the node.
# Its CNI table is README.md's containerd snippet (version = 2 dropped: it is the first line
# here), its paths moved to build/bin and the node's net.d.
node_config() {
	local d=${NODE_DIR[$1]} cni
	cni=$(/usr/bin/python3 "$TOP/tests/readme_blocks.py" snippet containerd | grep -v '^version = 2$' |
		sed -e "s|\"/usr/lib/cni\"|\"$BIN\"|" -e "s|\"/etc/cni/net.d\"|\"$d/net.d\"|")
	case $cni in
	*'[plugins."io.containerd.grpc.v1.cri".cni]'*"\"$BIN\""*"\"$d/net.d\""*) ;;
	*)
		fail "README's containerd snippet" "no CRI cni table with /usr/lib/cni and /etc/cni/net.d: $cni"
		return 1
		;;
	esac
	cat >"$d/config.toml" <<EOF
version = 2
root = "$d/root"
state = "$d/state"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"]
[grpc]
  address = "$d/containerd.sock"
[ttrpc]
  address = "$d/containerd.sock.ttrpc"
[debug]
  level = "info"
[plugins."io.containerd.internal.v1.opt"]
  path = "$d/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$IMAGE"
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "native"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
$cni
    max_conf_num = 1
EOF
}

# node_new NODE HOSTNS: a node on the private host netns HOSTNS (its files in $W/NODE).
node_new() {
	NODE_DIR[$1]=$W/$1
	NODE_HOST[$1]=$2
	mkdir -p "$W/$1/net.d" "$W/$1/logs"
	node_config "$1" || exit 1
	E2E_NODES="$E2E_NODES $1"
	[ -n "${E2E_CLEANUP_SET:-}" ] || on_exit 'e2e_cleanup'
	E2E_CLEANUP_SET=1
}

# node_hold NODE: the holder of the node's mount namespace (a fresh /run, as after a boot).
node_hold() {
	local n=$1
	nsenter --net="/run/netns/${NODE_HOST[$n]}" unshare -m --propagation private \
		sh -c 'mount -t tmpfs -o mode=0755 cnic-e2e-run /run && exec sleep infinity' \
		>>"${NODE_DIR[$n]}/holder.log" 2>&1 &
	NODE_HOLD[$n]=$!
	if ! wait_for 10 held "$n"; then
		fail "$n: mount namespace holder" "$(cat "${NODE_DIR[$n]}/holder.log")"
		return 1
	fi
	NODE_MNT[$n]=$(readlink "/proc/${NODE_HOLD[$n]}/ns/mnt")
}
held() { [ "$(cat "/proc/${NODE_HOLD[$1]}/comm" 2>/dev/null)" = sleep ]; }

# node_start NODE: containerd in the node's namespaces, waited for until CRI answers (bounded).
node_start() {
	local n=$1
	[ -n "${NODE_HOLD[$n]:-}" ] && held "$n" || node_hold "$n" || return 1
	nsenter -t "${NODE_HOLD[$n]}" -m -n containerd --config "${NODE_DIR[$n]}/config.toml" \
		>>"${NODE_DIR[$n]}/containerd.log" 2>&1 &
	NODE_PID[$n]=$!
	if ! wait_for 30 cri_up "$n"; then
		fail "$n: containerd serves CRI v1" "$OUT; $(tail -5 "${NODE_DIR[$n]}/containerd.log")"
		return 1
	fi
}
cri_up() { kill -0 "${NODE_PID[$1]}" 2>/dev/null && cri "$1" Version '{"version":"v1"}' 5; }

# node_stop NODE: containerd stopped as a service manager would (SIGTERM); pods keep running.
node_stop() {
	local p=${NODE_PID[$1]}
	{
		kill -TERM "$p"
		wait_for 20 gone "$p" || kill -KILL "$p"
		wait "$p"
	} 2>/dev/null
	NODE_PID[$1]=""
}
gone() { ! kill -0 "$1" 2>/dev/null; }

# node_procs NODE: every process of the node: containerd, shims and holder (its mount
# namespace), the pods' processes (its cgroup parent).
node_procs() {
	local n=$1
	[ -n "${NODE_MNT[$n]:-}" ] || return 0
	find /proc -mindepth 3 -maxdepth 3 -path '/proc/[0-9]*/ns/mnt' -lname "$(sed 's/[][]/\\&/g' <<<"${NODE_MNT[$n]}")" 2>/dev/null |
		cut -d/ -f3
	find "/sys/fs/cgroup/pids/$(node_cgroup "$n")" -name cgroup.procs -exec cat {} + 2>/dev/null
}
node_cgroup() { echo "cnic-e2e-$T_TAG-$1"; }

# node_crash NODE: every process of the node killed at once (a power cut), waited for (bounded).
# Its own children are waited for in the same block, stderr closed: bash reports a child killed
# by a signal ("Killed") wherever it next notices, unless a wait reaps it first.
node_crash() {
	local n=$1 i p
	for i in 1 2 3 4 5 6 7 8 9 10; do
		p=$(node_procs "$n")
		[ -z "$p${NODE_PID[$n]:-}${NODE_HOLD[$n]:-}" ] && break
		{
			kill -KILL $p ${NODE_PID[$n]:-} ${NODE_HOLD[$n]:-}
			[ -n "${NODE_PID[$n]:-}" ] && wait "${NODE_PID[$n]}"
			[ -n "${NODE_HOLD[$n]:-}" ] && wait "${NODE_HOLD[$n]}"
		} 2>/dev/null
		NODE_PID[$n]=""
		NODE_HOLD[$n]=""
		wait_for 2 no_procs "$n" && break
	done
}
no_procs() { [ -z "$(node_procs "$1")" ]; }

# node_reboot NODE: a power cut and a boot. The kernel state of the pods goes with their
# processes (their netns had no other holder), runtime state in /run and the state dir is wiped,
# containerd's root (its database) and the CNI data dirs stay. The private host netns is left as
# it was, so anything a DEL fails to remove there is seen.
node_reboot() {
	node_crash "$1"
	rm -rf "${NODE_DIR[$1]}/state"
	node_start "$1"
}

# Every process of every node, their cgroups (leaves first, in every hierarchy). IFS is set
# again for this and lib.sh's cleanup: a signal trapped during `IFS= read` runs the EXIT trap
# with the empty IFS of that read, and no list would split.
e2e_cleanup() {
	local n
	IFS=$' \t\n'
	for n in $E2E_NODES; do
		node_crash "$n"
		find /sys/fs/cgroup/*/"$(node_cgroup "$n")" -depth -type d -exec rmdir {} \; 2>/dev/null
	done
}

# image_import NODE: the pods' image (built once per test run) in the node's k8s.io namespace.
image_import() {
	if [ ! -s "$W/image.tar" ]; then
		"$PY" "$E2E/cri.py" image "$W/image.tar" "$IMAGE" 2>"$W/image.log" ||
			fail "build the pod image" "$(tail -3 "$W/image.log")"
	fi
	ctr -a "${NODE_DIR[$1]}/containerd.sock" -n k8s.io images import --snapshotter native "$W/image.tar" \
		>"${NODE_DIR[$1]}/import.log" 2>&1
	cri "$1" ImageStatus "{\"image\":{\"image\":\"$IMAGE\"}}"
	if [ "$RC" = 0 ] && [ "$(jq -r '.image.id' <<<"$OUT")" != "" ]; then
		ok "$1: image imported, CRI sees it"
	else
		fail "$1: image import" "$OUT $(cat "${NODE_DIR[$1]}/import.log")"
		return 1
	fi
}

# ---- pods ------------------------------------------------------------------------------------------
declare -A POD_ID CTR_ID POD_NODE POD_IP
# pod_config NODE NAME PORTS-JSON ANNOTATIONS-JSON: the PodSandboxConfig kubelet would send.
pod_config() {
	jq -nc --arg n "$2" --arg uid "uid-$2-$T_TAG" --arg logs "${NODE_DIR[$1]}/logs/$2" \
		--arg cg "/$(node_cgroup "$1")" --argjson ports "$3" --argjson ann "$4" \
		'{metadata: {name: $n, uid: $uid, namespace: "e2e", attempt: 0}, hostname: $n,
		  log_directory: $logs, port_mappings: $ports, annotations: $ann,
		  labels: {"io.kubernetes.pod.name": $n}, linux: {cgroup_parent: $cg}}'
}

# ports HOSTPORT: the TCP and UDP mappings of a pod's port 8080 to HOSTPORT (kubelet's hostPort).
ports() { printf '[{"protocol":"TCP","container_port":8080,"host_port":%s},{"protocol":"UDP","container_port":8080,"host_port":%s}]' "$1" "$1"; }

# pod_run NODE NAME PORTS-JSON ANNOTATIONS-JSON: RunPodSandbox, then one container that serves
# TCP and UDP on 8080 (each answer is the pod's hostname), started and waited for (bounded).
pod_run() {
	local node=$1 name=$2 conf
	conf=$(pod_config "$@")
	POD_NODE[$name]=$node
	cri "$node" RunPodSandbox "{\"config\":$conf}" 120 || return 1
	POD_ID[$name]=$(jq -r .pod_sandbox_id <<<"$OUT")
	cri "$node" PodSandboxStatus "{\"pod_sandbox_id\":\"${POD_ID[$name]}\"}" || return 1
	POD_IP[$name]=$(jq -r .status.network.ip <<<"$OUT")
	cri "$node" CreateContainer "$(jq -nc --arg id "${POD_ID[$name]}" --arg img "$IMAGE" --argjson sc "$conf" \
		'{pod_sandbox_id: $id, sandbox_config: $sc, config: {metadata: {name: "srv"}, image: {image: $img},
		  log_path: "srv.log", command: ["/bin/sh", "-c",
		  "socat TCP-LISTEN:8080,fork,reuseaddr EXEC:hostname & exec socat UDP-RECVFROM:8080,fork EXEC:hostname"]}}')" 60 ||
		return 1
	CTR_ID[$name]=$(jq -r .container_id <<<"$OUT")
	cri "$node" StartContainer "{\"container_id\":\"${CTR_ID[$name]}\"}" 60 || return 1
	wait_for 20 pod_serves "$name" || {
		OUT="the pod's servers did not answer in 20 s: $OUT"
		return 1
	}
}
pod_serves() {
	local h=${NODE_HOST[${POD_NODE[$1]}]}
	[ "$(ask_node "$h" tcp "${POD_IP[$1]}" 8080)" = "$1" ] && [ "$(ask_node "$h" udp "${POD_IP[$1]}" 8080)" = "$1" ]
}

# pexec POD CMD...: ExecSync in the pod's container (timeout $PEXEC_TIMEOUT or 10 s); its stdout
# in $OUT, RC its exit code (or 1 when the call failed).
pexec() {
	local pod=$1
	shift
	local t=${PEXEC_TIMEOUT:-10} a cmd=""
	for a in "$@"; do
		cmd="$cmd${cmd:+,}$(jq -n --arg a "$a" '$a')"
	done
	cri "${POD_NODE[$pod]}" ExecSync "{\"container_id\":\"${CTR_ID[$pod]}\",\"timeout\":$t,\"cmd\":[$cmd]}" $((t + 10)) ||
		return 1
	RC=$(jq -r .exit_code <<<"$OUT")
	OUT=$(jq -r .stdout <<<"$OUT")
	return "$RC"
}

# facts POD: what the pod's container sees of its network (addresses of eth0 and lo, eth0's
# link, routes, a sysctl, the index of eth0's peer), in one ExecSync.
facts() {
	pexec "$1" sh -c 'ip -o -4 addr show dev eth0; ip -o -4 addr show dev lo; ip -o link show dev eth0
		ip route; echo "somaxconn $(cat /proc/sys/net/core/somaxconn)"; echo "iflink $(cat /sys/class/net/eth0/iflink)"'
}

# probe POD PROBE...: from inside POD, in one ExecSync (each takes a runc exec), every PROBE:
# "tcp ADDR PORT" or "udp ADDR PORT" (what the server there answers to a line), "ping ADDR"
# ("ok" when answered). Up to three tries each (a first packet may meet an unresolved neighbour),
# bounded by socat's and ping's timeouts. The answers in PROBED[PROBE].
declare -A PROBED
probe() {
	local pod=$1 line
	shift
	PROBED=()
	PEXEC_TIMEOUT=90 pexec "$pod" sh -c 'for q in "$@"; do
		set -- $q
		r=
		for i in 1 2 3; do
			case $1 in
			ping) ping -c1 -W1 "$2" >/dev/null 2>&1 && r=ok ;;
			tcp) r=$(echo x | socat -T2 - "TCP:$2:$3,connect-timeout=2" 2>/dev/null) ;;
			udp) r=$(echo x | socat -T2 - "UDP:$2:$3" 2>/dev/null) ;;
			esac
			[ -n "$r" ] && break
		done
		echo "$q=$r"
	done' sh "$@"
	while IFS= read -r line; do
		[ -n "${line%%=*}" ] && PROBED[${line%%=*}]=${line#*=}
	done <<<"$OUT"
}
# check_probe NAME PROBE WANT: the answer to PROBE of the last probe() is WANT.
check_probe() { check_eq "$1" "${PROBED[$2]:-}" "$3"; }
# ask_node HOSTNS tcp|udp ADDR PORT: what the server at ADDR:PORT answers to a line from the
# node itself (its host netns), bounded by socat's 2 s timeouts.
ask_node() {
	local proto=TCP
	[ "$2" = udp ] && proto=UDP
	echo x | ip netns exec "$1" socat -T2 - "$proto:$3:$4,connect-timeout=2" 2>/dev/null | tr -d '\n'
}
# check_ask NAME WANT CMD...: ok when CMD prints WANT, within three tries.
check_ask() {
	local name=$1 want=$2 got n
	shift 2
	for n in 1 2 3; do
		got=$("$@")
		[ "$got" = "$want" ] && break
	done
	check_eq "$name" "$got" "$want"
}
# pod_ping POD ADDR: ADDR answers a ping from POD (see probe()).
pod_ping() {
	probe "$1" "ping $2"
	[ "${PROBED[ping $2]:-}" = ok ]
}

# pod_stop POD / pod_remove POD: StopPodSandbox / RemovePodSandbox as kubelet calls them.
pod_stop() { cri "${POD_NODE[$1]}" StopPodSandbox "{\"pod_sandbox_id\":\"${POD_ID[$1]}\"}" 120; }
pod_remove() { cri "${POD_NODE[$1]}" RemovePodSandbox "{\"pod_sandbox_id\":\"${POD_ID[$1]}\"}" 120; }

# ---- node state read back --------------------------------------------------------------------------
# pod_rules HOSTNS REGEX: the nftables rules of the node (iptables-nft's included) that match
# REGEX (a pod's address, a hostPort): what is left of pods once the fixed layout of each plugin
# (base chains, dispatch rules) is set apart.
pod_rules() { ip netns exec "$1" nft list ruleset 2>/dev/null | grep -cE "$2"; }
# att_count HOSTNS: the entries of the node's attachment index (pkg/nft/att.c).
att_count() {
	local j
	j=$(ip netns exec "$1" nft -j list counters table inet cnic_index 2>/dev/null)
	if [ -n "$j" ]; then jq '[.nftables[] | select(.counter)] | length' <<<"$j"; else echo 0; fi
}
# links HOSTNS TYPE: the names of the node's links of TYPE (veth, ifb, ...), sorted.
links() { ip -n "$1" -j link show type "$2" 2>/dev/null | jq -r '.[].ifname' | sort | tr '\n' ' '; }
# sandboxes NODE: the number of pod sandboxes containerd lists.
sandboxes() {
	cri "$1" ListPodSandbox '{}' >/dev/null
	jq '.items | length' <<<"$OUT"
}
