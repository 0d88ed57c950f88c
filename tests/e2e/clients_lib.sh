# SPDX-License-Identifier: Apache-2.0
# Shared by the e2e tests of real clients (podman.sh, ctr.sh): a private host netns and a private
# mount namespace for the client, and their teardown.
#
# The mount namespace is held by a `sleep` (the holder), started as `nsenter --net=HOST unshare -m`
# (not `ip netns exec`, whose /sys remount hides the cgroup mounts from runc) with tmpfs over /run
# and /var/lib/cni (netns mounts, daemons' state, host-local leases, libcni's cache) and whatever
# the test's own mount script adds. The client runs with `hns` (nsenter into both).
. "$(cd "$(dirname "${BASH_SOURCE[0]}")/../netns" && pwd)/lib.sh"
HOLD=""
HMNT=""
EXTRA_PROCS="" # a command printing more pids to kill at exit (the client's cgroups)

# clients_need NAME CMD...: skip the test unless root, busybox-static, build/bin and every CMD.
clients_need() {
	local name=$1 c
	shift
	need_root "$name"
	for c in nsenter unshare iptables nft "$@"; do
		command -v "$c" >/dev/null || { skip "$name" "$c is not installed (tests/deps.sh)"; exit 0; }
	done
	file -L /bin/busybox 2>/dev/null | grep -q 'statically linked' || { skip "$name" "/bin/busybox is not busybox-static"; exit 0; }
	[ -x "$BIN/bridge" ] && [ -x "$BIN/dnsname" ] || { skip "$name" "no plugins in $BIN (make all)"; exit 0; }
}

# hold HOSTNS LOG SCRIPT [ARGS...]: the holder; SCRIPT (sh) runs first inside the new mount
# namespace with ARGS as $1...; on_exit kills every process of that namespace.
hold() {
	local h=$1 log=$2 script=$3
	shift 3
	nsenter --net="/run/netns/$h" unshare -m --propagation private sh -c "
		mount -t tmpfs -o mode=0755 cnic-e2e-run /run && mkdir -p /var/lib/cni &&
		mount -t tmpfs cnic-e2e-cni /var/lib/cni && $script && exec sleep infinity" sh "$@" >"$log" 2>&1 &
	HOLD=$!
	on_exit hold_cleanup
	if ! wait_for 10 held; then
		fail "mount namespace holder" "$(cat "$log")"
		exit 1
	fi
	HMNT=$(readlink "/proc/$HOLD/ns/mnt")
}
held() { [ "$(cat "/proc/$HOLD/comm" 2>/dev/null)" = sleep ]; }
hns() { nsenter -t "$HOLD" -m -n "$@"; }

# Every process of the holder's mount namespace (the client, its daemons and shims, the holder).
hold_procs() {
	local p
	[ -n "$HMNT" ] || return 0
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/ns/mnt" 2>/dev/null)" = "$HMNT" ] && echo "${p#/proc/}"
	done
	[ -n "$EXTRA_PROCS" ] && $EXTRA_PROCS
}
hold_cleanup() {
	local i p
	for i in 1 2 3 4 5; do
		p=$(hold_procs)
		[ -z "${p//[[:space:]]/}" ] && break
		kill -KILL $p 2>/dev/null
		sleep 0.2
	done
	[ -n "$HOLD" ] && wait "$HOLD" 2>/dev/null
}

# outside O HOSTADDR OUTADDR: namespace O (path in $O) routed through the host (up0 <-> eth0, /24).
outside() {
	mkns O
	ip -n "$H" link add up0 type veth peer name eth0 netns "$(basename "$O")"
	ip -n "$H" addr add "$1/24" dev up0
	ip -n "$H" link set up0 up
	ip -n "$(basename "$O")" addr add "$2/24" dev eth0
	ip -n "$(basename "$O")" link set eth0 up
}

# busybox_rootfs DIR APPLET...: a root filesystem of busybox-static and links to its applets.
busybox_rootfs() {
	local d=$1 a
	shift
	mkdir -p "$d/bin" "$d/etc" "$d/tmp" "$d/proc" "$d/sys" "$d/dev"
	cp /bin/busybox "$d/bin/busybox"
	for a in "$@"; do ln -s busybox "$d/bin/$a"; done
}
