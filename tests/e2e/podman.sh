#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# podman 4.3 with its CNI backend on cnic's plugins (build/bin), as a user runs it: network create
# with DNS (podman then chains bridge, portmap, firewall, tuning and dnsname), two containers that
# ping and resolve each other by name and alias, -p TCP and UDP reached from a namespace outside
# the host, `network reload` after the ruleset was flushed, stop/start, network connect and
# disconnect, a container binding 0.0.0.0:53, rm and `network rm` leaving no link, rule, lease or
# record. Then the same host with iptables' FORWARD policy DROP (what Docker sets), and, with
# PODMAN_ROUNDS=legacy, with iptables-legacy's FORWARD policy DROP (Docker on a legacy host).
#
# Everything is private: a host netns (mkhost) and a mount namespace held by a `sleep` (the
# holder, `nsenter --net=HOST unshare -m`; not `ip netns exec`, whose /sys remount hides the
# cgroup mounts from runc) with tmpfs over /run (podman's netns, the dnsname daemon's state),
# /var/lib/cni (host-local leases, libcni's cache) and /etc/cni; podman's configuration
# (CONTAINERS_CONF), storage (CONTAINERS_STORAGE_CONF: vfs, graphroot/runroot) and network
# config dir under the test's temporary directory. The image is imported from busybox-static.
. "$(dirname "$0")/clients_lib.sh"
clients_need podman podman conmon runc

tmpdir W
mkhost H

# [network]: README.md's containers.conf snippet, its paths moved to build/bin and $W/net.d.
README_NET=$(/usr/bin/python3 "$TOP/tests/readme_blocks.py" snippet podman |
	sed -e "s|\"/usr/lib/cni\"|\"$BIN\"|" -e "s|\"/etc/cni/net.d\"|\"$W/net.d\"|")
case $README_NET in
*"[network]"*"\"$BIN\""*"\"$W/net.d\""*) ;;
*)
	fail "README's podman snippet" "no [network] with /usr/lib/cni and /etc/cni/net.d: $README_NET"
	exit 1
	;;
esac
cat >"$W/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
log_driver = "k8s-file"
$README_NET
default_subnet = "198.18.70.0/24"
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$W/events.log"
tmp_dir = "$W/tmp"
image_copy_tmp_dir = "$W/tmp"
volume_path = "$W/volumes"
static_dir = "$W/static"
EOF
cat >"$W/storage.conf" <<EOF
[storage]
driver = "vfs"
graphroot = "$W/graph"
runroot = "$W/runroot"
EOF
mkdir -p "$W/net.d" "$W/tmp"
export CONTAINERS_CONF=$W/containers.conf CONTAINERS_STORAGE_CONF=$W/storage.conf
export CONTAINERS_REGISTRIES_CONF=$W/registries.conf
: >"$W/registries.conf"

# pm ARGS...: podman in the private namespaces, bounded.
pm() { timeout 60 nsenter -t "$HOLD" -m -n podman "$@"; }
podman_rm() { [ -n "$HMNT" ] && timeout 30 pm rm -a -f -t 0 >/dev/null 2>&1; }
on_exit podman_rm
# /etc/cni hidden too (podman reads only its own directory here; nothing can land there)
hold "$H" "$W/holder.log" '{ [ ! -d /etc/cni ] || mount -t tmpfs cnic-e2e-etccni /etc/cni; }'
# cgroupfs: podman's parent cgroup (conmon's too), when this test made it, after the processes
LIBPOD_CG=$(ls -d /sys/fs/cgroup/*/libpod_parent 2>/dev/null)
cgroup_cleanup() {
	local i
	[ -n "$LIBPOD_CG" ] || for i in /sys/fs/cgroup/*/libpod_parent; do
		[ -d "$i" ] && find "$i" -depth -type d -exec rmdir {} \; 2>/dev/null
	done
}
on_exit cgroup_cleanup

# in_ctr NAME CMD...: a command in a running container.
in_ctr() { local n=$1; shift; pm exec "$n" "$@"; }

# ---- the image: busybox-static and its applets; the host's /usr (socat, dnsmasq) is mounted
# read-only into the containers that need it ----------------------------------------------------------
busybox_rootfs "$W/rootfs" sh sleep ping nslookup nc cat echo ip
mkdir -p "$W/rootfs/usr"
ln -s usr/lib "$W/rootfs/lib"
ln -s usr/lib64 "$W/rootfs/lib64"
printf 'root:x:0:0:root:/:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n' >"$W/rootfs/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$W/rootfs/etc/group"
tar -C "$W/rootfs" -cf "$W/rootfs.tar" .
IMG=localhost/cnic-busybox:e2e
pm import --change 'CMD ["/bin/sh"]' "$W/rootfs.tar" "$IMG" >"$W/import.log" 2>&1
check_eq "image imported from busybox-static" "$?" 0
USR=(-v /usr:/usr:ro)

# ---- the outside: namespace O routed through the host ------------------------------------------------
outside 198.18.72.1 198.18.72.2
HOSTIP=198.18.72.1

cpid() { pm inspect -f '{{.State.Pid}}' "$1"; }
cip() { pm inspect -f "{{(index .NetworkSettings.Networks \"$2\").IPAddress}}" "$1"; }
# resolve CTR NAME: the address busybox nslookup gets from the container's resolv.conf server
resolve() { in_ctr "$1" nslookup "$2" 2>/dev/null | awk '/^Name:/ {n=1} n && /^Address/ {print $NF; exit}'; }
ctr_ping() { local i; for i in 1 2 3; do in_ctr "$1" ping -c1 -W1 "$2" >/dev/null 2>&1 && return 0; done; return 1; }
# ask PROTO PORT: what a server behind -p answers to a client in O (three tries: UDP)
ask() {
	local i r
	for i in 1 2 3; do
		if [ "$1" = udp ]; then
			r=$(echo q | timeout 3 ip netns exec "$(basename "$O")" socat -T1 - "UDP:$HOSTIP:$2" 2>/dev/null)
		else
			r=$(timeout 3 ip netns exec "$(basename "$O")" socat -T1 - "TCP:$HOSTIP:$2" </dev/null 2>/dev/null)
		fi
		[ -n "$r" ] && break
	done
	echo "$r"
}
# leftovers NET SUBNET-PREFIX: links, rules, leases and dnsname records of network NET
leftovers() {
	local links rules leases recs
	links=$(ip -n "$H" -o link show | awk -F': ' '{sub(/@.*/, "", $2); print $2}' | grep -v -x -e lo -e up0 | tr '\n' ' ')
	rules=$(hns nft list ruleset 2>/dev/null | grep -c -e "$2" -e "$1")
	leases=$(hns sh -c "ls /var/lib/cni/networks/$1 2>/dev/null" | grep -v -x -e lock -e 'last_reserved_ip.*' | wc -l)
	recs=$(hns sh -c "ls /run/cni/dnsname/networks 2>/dev/null" | grep -c -x "$1")
	echo "links:[${links% }] rules:$rules leases:$leases records:$recs"
}

# round NAME N: one network (198.18.N.0/24) and its containers, checked, then removed.
round() {
	local r=$1 net=e2e-$1 net2=e2e-$1-b sub=198.18.$2 sub2=198.18.$(($2 + 1)) x ia ib id out
	pm network create --subnet "$sub.0/24" "$net" >/dev/null 2>"$W/err"
	check_eq "$r: network create (DNS enabled)" "$?:$(jq -r '[.plugins[].type] | join(",")' "$W/net.d/$net.conflist" 2>/dev/null)" \
		"0:bridge,portmap,firewall,tuning,dnsname"
	pm run -d --name "a-$r" --network "$net" --network-alias "alias-a-$r" --cap-add NET_RAW "$IMG" sleep 600 >/dev/null 2>"$W/err" ||
		fail "$r: run a" "$(cat "$W/err")"
	pm run -d --name "b-$r" --network "$net" --cap-add NET_RAW -p 8080:8080 -p 8081:8081/udp "${USR[@]}" "$IMG" \
		sh -c 'socat TCP-LISTEN:8080,fork,reuseaddr SYSTEM:"echo tcp-ok" & exec socat UDP-RECVFROM:8081,fork SYSTEM:"echo udp-ok"' \
		>/dev/null 2>"$W/err" || fail "$r: run b with -p 8080/tcp, 8081/udp" "$(cat "$W/err")"
	ia=$(cip "a-$r" "$net")
	ib=$(cip "b-$r" "$net")
	check_eq "$r: a resolves b by name" "$(resolve "a-$r" "b-$r")" "$ib"
	check_eq "$r: b resolves a by alias" "$(resolve "b-$r" "alias-a-$r")" "$ia"
	check "$r: a pings b by name" ctr_ping "a-$r" "b-$r"
	check "$r: b pings a by alias" ctr_ping "b-$r" "alias-a-$r"
	check "$r: a reaches the outside (egress, masquerade)" ctr_ping "a-$r" 198.18.72.2
	check_eq "$r: -p 8080/tcp from outside the host" "$(ask tcp 8080)" tcp-ok
	check_eq "$r: -p 8081/udp from outside the host" "$(ask udp 8081)" udp-ok

	# a container of its own DNS server on the wildcard :53, UDP and TCP, IPv4 and IPv6
	pm run -d --name "d-$r" --network "$net" "${USR[@]}" "$IMG" dnsmasq -k --no-resolv --no-hosts --user=root \
		--port=53 --pid-file= --address=/own.test/198.18.99.99 >/dev/null 2>"$W/err" ||
		fail "$r: run d (dnsmasq on 0.0.0.0:53)" "$(cat "$W/err")"
	id=$(cip "d-$r" "$net")
	wait_for 10 sh -c "nsenter --net=/proc/$(cpid "d-$r")/ns/net ss -Hlnu | grep -q '0.0.0.0:53 '"
	out=$(nsenter --net="/proc/$(cpid "d-$r")/ns/net" ss -Hlnut 2>/dev/null | grep -cE '(0\.0\.0\.0|\[::\]|\*):53 ')
	check_eq "$r: d's dnsmasq holds 0.0.0.0:53 and [::]:53, UDP and TCP" "$out" 4
	check_eq "$r: a asks d's server at d's address" "$(in_ctr "a-$r" nslookup own.test "$id" 2>/dev/null | awk '/^Name:/ {n=1} n && /^Address/ {print $NF; exit}')" 198.18.99.99
	check_eq "$r: d still resolves a through 127.0.0.11" "$(resolve "d-$r" "a-$r")" "$ia"
	check_eq "$r:   over TCP too" "$(nsenter --net="/proc/$(cpid "d-$r")/ns/net" dig +tcp +short +time=2 +tries=1 @127.0.0.11 "a-$r.dns.podman" 2>&1)" "$ia"

	# network reload after the host's ruleset was flushed
	hns nft flush ruleset
	[ "$r" = drop ] && hns iptables -P FORWARD DROP
	pm network reload --all >/dev/null 2>"$W/err"
	check_eq "$r: network reload after nft flush ruleset" "$?" 0
	check_eq "$r:   -p 8080/tcp answers again" "$(ask tcp 8080)" tcp-ok
	check "$r:   a reaches the outside again" ctr_ping "a-$r" 198.18.72.2
	check_eq "$r:   names still resolve" "$(resolve "a-$r" "b-$r")" "$ib"

	[ "$r" = plain ] && lifecycle "$r" "$net" "$net2" "$sub2" "$ib"

	# rm and network rm leave nothing
	pm rm -f -t 0 "a-$r" "b-$r" "d-$r" >/dev/null 2>"$W/err"
	check_eq "$r: rm -f" "$?" 0
	pm network rm "$net" >/dev/null 2>"$W/err"
	check_eq "$r: network rm" "$?" 0
	check_eq "$r:   no link, rule, lease or record left" "$(leftovers "$net" "$sub.")" "links:[] rules:0 leases:0 records:0"
	[ "$r" = plain ] && check_eq "$r:   nor of the second network" "$(leftovers "$net2" "$sub2.")" "links:[] rules:0 leases:0 records:0"
}

# lifecycle ROUND NET NET2 SUBNET2-PREFIX B-IP: stop/start, network connect and disconnect.
lifecycle() {
	local r=$1 net=$2 net2=$3 sub2=$4 ib=$5 ia
	# stop/start: a new netns, the same names
	pm stop -t 0 "a-$r" >/dev/null 2>&1
	pm start "a-$r" >/dev/null 2>"$W/err"
	check_eq "$r: stop/start" "$?" 0
	ia=$(cip "a-$r" "$net")
	check_eq "$r:   b resolves the restarted a" "$(resolve "b-$r" "a-$r")" "$ia"
	check "$r:   and pings it" ctr_ping "b-$r" "a-$r"

	# connect/disconnect a second network
	pm network create --subnet "$sub2.0/24" "$net2" >/dev/null 2>&1
	pm network connect "$net2" "a-$r" 2>"$W/err"
	check_eq "$r: network connect" "$?" 0
	check_eq "$r:   a resolves itself on both networks" "$(in_ctr "a-$r" nslookup "a-$r.dns.podman" 2>/dev/null | grep -c "Address.*198.18.")" 2
	pm network disconnect "$net2" "a-$r" 2>"$W/err"
	check_eq "$r: network disconnect" "$?" 0
	check_eq "$r:   a has no eth1 left" "$(in_ctr "a-$r" ip -o link 2>/dev/null | grep -c eth1)" 0
	# podman drops the disconnected network's nameservers from resolv.conf, and every dnsname
	# network announces 127.0.0.11: ask it directly (the rewrite and listener must stay).
	check_eq "$r:   127.0.0.11:53 still answers a for the first network" \
		"$(nsenter --net="/proc/$(cpid "a-$r")/ns/net" dig +short +time=2 +tries=1 @127.0.0.11 "b-$r.dns.podman" 2>&1)" "$ib"

	pm network rm "$net2" >/dev/null 2>"$W/err"
	check_eq "$r: network rm of the second network" "$?" 0
}

# legacy (~3 min more) only when asked: PODMAN_ROUNDS="plain drop legacy"; legacy_coexist.sh
# covers the same accepts in make check
ROUNDS=${PODMAN_ROUNDS:-plain drop}
for R in $ROUNDS; do
	case $R in
	plain) round plain 73 ;;
	drop)
		# a host whose iptables FORWARD policy is DROP, as Docker leaves it
		hns iptables -P FORWARD DROP
		round drop 75
		;;
	legacy)
		# the same DROP in iptables-legacy's filter table (Docker on a legacy host), nft open
		if ! hns iptables-legacy -P FORWARD DROP 2>/dev/null; then
			skip "legacy round" "iptables-legacy does not work here"
			continue
		fi
		hns iptables -P FORWARD ACCEPT
		round legacy 77
		check_eq "legacy: no accept left in the legacy CNI-FORWARD" \
			"$(hns iptables-legacy -S CNI-FORWARD 2>/dev/null | grep -c -- '-j ACCEPT')" 0
		;;
	esac
done
finish
