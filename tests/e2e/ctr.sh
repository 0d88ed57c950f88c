#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# containerd 1.6's `ctr run --cni` on cnic's plugins: ADD when the task starts, ping through the
# bridge and out of the host, DEL when `--rm` in the foreground ends (`-d` never calls DEL), no
# link, lease or rule left. Then the same host with iptables' FORWARD policy DROP.
#
# ctr's --cni takes go-cni's defaults (/etc/cni/net.d, /opt/cni/bin): a private mount namespace
# (held by a `sleep`, `nsenter --net=HOST unshare -m`; not `ip netns exec`, whose /sys remount
# hides the cgroup mounts from runc) puts tmpfs over /run, /var/lib/cni, /etc/cni/net.d and
# /opt, with the test's conflist and a bind mount of build/bin at /opt/cni/bin: the host's
# /etc/cni stays untouched. containerd's root, state and socket are under the test's temporary
# directory; the container runs from a busybox-static rootfs (--rootfs, no image).
. "$(dirname "$0")/clients_lib.sh"
clients_need ctr containerd containerd-shim-runc-v2 ctr runc
# a tmpfs goes over it in the private mount namespace: the host's stays untouched
[ -d /etc/cni/net.d ] || { skip ctr "no /etc/cni/net.d to mount the test's configuration over"; exit 0; }

tmpdir W
mkhost H
CPID=""
CG=cnic-e2e-$T_TAG
outside 198.18.82.1 198.18.82.2

mkdir -p "$W/net.d"
busybox_rootfs "$W/rootfs" sh ping ip cat
cat >"$W/net.d/10-cnic.conflist" <<EOF
{"cniVersion":"1.0.0","name":"cnic-ctr","plugins":[
 {"type":"bridge","bridge":"cnic-ctr0","isGateway":true,"ipMasq":true,
  "ipam":{"type":"host-local","ranges":[[{"subnet":"198.18.81.0/24"}]],"routes":[{"dst":"0.0.0.0/0"}]}},
 {"type":"portmap","capabilities":{"portMappings":true}},
 {"type":"firewall"}]}
EOF
cat >"$W/config.toml" <<EOF
version = 2
root = "$W/root"
state = "$W/state"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"]
[grpc]
  address = "$W/containerd.sock"
[ttrpc]
  address = "$W/containerd.sock.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "$W/opt"
EOF

# the pids of the tasks' cgroups (a task killed with its shim), and the cgroups themselves
EXTRA_PROCS=ctr_cgroup_procs
ctr_cgroup_procs() { cat /sys/fs/cgroup/pids/"$CG"/*/cgroup.procs 2>/dev/null; }
# go-cni's defaults, private: the test's conflist in /etc/cni/net.d, build/bin at /opt/cni/bin
hold "$H" "$W/holder.log" 'mount -t tmpfs cnic-e2e-netd /etc/cni/net.d && cp "$1"/net.d/* /etc/cni/net.d/ &&
	mount -t tmpfs cnic-e2e-opt /opt && mkdir -p /opt/cni/bin && mount --bind "$2" /opt/cni/bin' "$W" "$BIN"
ctr_cleanup() {
	local i
	[ -n "$CPID" ] && wait "$CPID" 2>/dev/null
	for i in /sys/fs/cgroup/*/"$CG"; do
		[ -d "$i" ] && { rmdir "$i"/* 2>/dev/null; rmdir "$i" 2>/dev/null; }
	done
}
on_exit ctr_cleanup

hns containerd --config "$W/config.toml" >"$W/containerd.log" 2>&1 &
CPID=$!
c() { timeout 60 nsenter -t "$HOLD" -m -n ctr -a "$W/containerd.sock" "$@"; }
up() { kill -0 "$CPID" && c version; }
wait_for 30 up || { fail "ctr: containerd answers" "$(tail -5 "$W/containerd.log")"; exit 1; }
ok "private containerd answers"

# leftovers: host links, leases, rules naming the subnet
leftovers() {
	local links leases rules
	links=$(ip -n "$H" -o link show type veth | awk -F': ' '{sub(/@.*/, "", $2); print $2}' | grep -v -x up0 | tr '\n' ' ')
	leases=$(hns sh -c 'ls /var/lib/cni/networks/cnic-ctr 2>/dev/null' | grep -v -x -e lock -e 'last_reserved_ip.*' | wc -l)
	rules=$(hns nft list ruleset 2>/dev/null | grep -c '198\.18\.81\.')
	echo "veths:[${links% }] leases:$leases rules:$rules"
}

# run NAME: one `ctr run --rm --cni` in the foreground: address, ping the gateway and the outside
run() {
	local r=$1 out rc
	out=$(c run --rm --cni --rootfs --cgroup "$CG/ctr-$r" "$W/rootfs" "ctr-$r" /bin/sh -c '
		ip -4 -o addr show dev eth0 | grep -o "inet [0-9.]*"
		ping -c1 -W2 198.18.81.1 >/dev/null && echo gw-ok
		for i in 1 2 3; do ping -c1 -W1 198.18.82.2 >/dev/null && { echo out-ok; break; }; done; true' 2>&1)
	rc=$?
	check_eq "$r: ctr run --rm --cni: ADD gave eth0 an address" "$rc:$(grep -c 'inet 198\.18\.81\.' <<<"$out")" 0:1
	check "$r:   the container pings its gateway" grep -q gw-ok <<<"$out"
	check "$r:   and the outside through the host" grep -q out-ok <<<"$out"
	check_eq "$r: DEL at exit: no veth, lease or rule left" "$(leftovers)" "veths:[] leases:0 rules:0"
}

run plain
# a host whose iptables FORWARD policy is DROP, as Docker leaves it
hns iptables -P FORWARD DROP
run drop
finish
