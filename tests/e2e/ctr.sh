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
. "$(cd "$(dirname "$0")/../netns" && pwd)/lib.sh"
need_root ctr
for c in containerd containerd-shim-runc-v2 ctr runc nsenter unshare iptables; do
	command -v "$c" >/dev/null || { skip ctr "$c is not installed (Debian: containerd, runc)"; exit 0; }
done
file -L /bin/busybox 2>/dev/null | grep -q 'statically linked' || { skip ctr "/bin/busybox is not busybox-static"; exit 0; }
[ -x "$BIN/bridge" ] || { skip ctr "no plugins in $BIN (make all)"; exit 0; }

tmpdir W
mkhost H
mkns O
HOLD="" CPID=""
CG=cnic-e2e-$T_TAG
wait_for() {
	local end=$(($(date +%s) + $1))
	shift
	until "$@" >/dev/null 2>&1; do
		[ "$(date +%s)" -ge "$end" ] && return 1
		sleep 0.2
	done
}

# the outside: namespace O routed through the host
ip -n "$H" link add up0 type veth peer name eth0 netns "$(basename "$O")"
ip -n "$H" addr add 198.18.82.1/24 dev up0
ip -n "$H" link set up0 up
ip -n "$(basename "$O")" addr add 198.18.82.2/24 dev eth0
ip -n "$(basename "$O")" link set eth0 up

mkdir -p "$W/net.d" "$W/rootfs/bin" "$W/rootfs/etc" "$W/rootfs/proc" "$W/rootfs/sys" "$W/rootfs/dev" "$W/rootfs/tmp"
cp /bin/busybox "$W/rootfs/bin/busybox"
for a in sh ping ip cat; do ln -s busybox "$W/rootfs/bin/$a"; done
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

nsenter --net="/run/netns/$H" unshare -m --propagation private sh -c '
	mount -t tmpfs -o mode=0755 cnic-e2e-run /run &&
	mount -t tmpfs cnic-e2e-cni /var/lib/cni 2>/dev/null || { mkdir -p /run/cni-lib && mount --bind /run/cni-lib /var/lib/cni; }
	mount -t tmpfs cnic-e2e-netd /etc/cni/net.d && cp "$1"/net.d/* /etc/cni/net.d/ &&
	mount -t tmpfs cnic-e2e-opt /opt && mkdir -p /opt/cni/bin && mount --bind "$2" /opt/cni/bin &&
	exec sleep infinity' sh "$W" "$BIN" >"$W/holder.log" 2>&1 &
HOLD=$!
held() { [ "$(cat "/proc/$HOLD/comm" 2>/dev/null)" = sleep ]; }
wait_for 10 held || { fail "ctr: mount namespace holder" "$(cat "$W/holder.log")"; exit 1; }
HMNT=$(readlink "/proc/$HOLD/ns/mnt")
hns() { nsenter -t "$HOLD" -m -n "$@"; }
procs() {
	local p
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/ns/mnt" 2>/dev/null)" = "$HMNT" ] && echo "${p#/proc/}"
	done
	cat /sys/fs/cgroup/pids/$CG/*/cgroup.procs 2>/dev/null
}
ctr_cleanup() {
	local i p
	for i in 1 2 3 4 5; do
		p=$(procs)
		[ -z "$p" ] && break
		kill -KILL $p 2>/dev/null
		sleep 0.2
	done
	[ -n "$CPID" ] && wait "$CPID" 2>/dev/null
	[ -n "$HOLD" ] && wait "$HOLD" 2>/dev/null
	for i in /sys/fs/cgroup/*/$CG; do
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
