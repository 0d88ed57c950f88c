#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# dnsname rootless without a remapped /run (issue 21): the plugin run by a non-root user (nobody)
# in a user namespace of its own (unshare -Urn: root there, but /run is the real root's and not
# writable), XDG_RUNTIME_DIR a directory of that user, no runDir in the configuration. The plugin
# and the daemon it starts use $XDG_RUNTIME_DIR/cni/dnsname; the container (a netns of that user
# namespace) resolves its name and a DEL lets the daemon exit. Where the kernel refuses the port
# 53 rewrite in a user namespace's netns (EPERM on payload mangling, seen on 6.18), the daemon
# binds 127.0.0.11:53 itself there. The container on a second network (#21) gets 127.0.0.12,
# served the same way (the rewrite, or port 53 itself), and its DEL leaves 127.0.0.11 serving.
. "$(dirname "$0")/lib.sh"
need_root dnsname_rootless
for t in dig jq python3 setpriv unshare; do
	command -v $t >/dev/null || { skip dnsname_rootless "$t is not installed"; exit 0; }
done
tmpdir T
chmod 755 "$T"
mkdir -p "$T/bin" "$T/xdg"
cp "$BIN/dnsname" "$T/bin/"
chown 65534:65534 "$T/xdg"
chmod 700 "$T/xdg"
on_exit 'kill $(cat "$T/xdg/cni/dnsname/dnsname.pid" 2>/dev/null) 2>/dev/null'
cat >"$T/inner.sh" <<'INNER'
# runs as nobody, root of its own user namespace and netns
T=$1
ok() { echo "ok - $1"; }
nok() { echo "not ok - $1: $2"; }
eq() { if [ "$2" = "$3" ]; then ok "$1"; else nok "$1" "got '$2', want '$3'"; fi; }
eq "/run is not writable here" "$(touch /run/cnic-rootless 2>/dev/null && echo yes || echo no)" no
ip link set lo up
# the container: a netns of this user namespace (its address is the record's; lo carries it)
unshare -n sh -c 'ip link set lo up; ip addr add 198.18.60.2/32 dev lo; ip addr add 198.18.61.2/32 dev lo; exec sleep 60' &
C=$!
for _ in $(seq 100); do nsenter -t $C -n ip addr show lo 2>/dev/null | grep -q 198.18.60.2 && break; sleep 0.05; done
CONF='{"cniVersion":"1.0.0","name":"rootless","type":"dnsname","prevResult":{"cniVersion":"1.0.0","interfaces":[{"name":"eth0","sandbox":"/proc/'$C'/ns/net"}],"ips":[{"address":"198.18.60.2/24","interface":0}]}}'
CONF2='{"cniVersion":"1.0.0","name":"rootless2","type":"dnsname","runtimeConfig":{"aliases":{"rootless2":["r2"]}},"prevResult":{"cniVersion":"1.0.0","interfaces":[{"name":"eth1","sandbox":"/proc/'$C'/ns/net"}],"ips":[{"address":"198.18.61.2/24","interface":0}]}}'
plugin() { # CMD [CONF IFNAME]
	echo "${2:-$CONF}" | env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin XDG_RUNTIME_DIR="$T/xdg" CNI_COMMAND=$1 \
		CNI_CONTAINERID=rootless1 CNI_NETNS=/proc/$C/ns/net CNI_IFNAME="${3:-eth0}" CNI_PATH="$T/bin" \
		CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAME=pod-r" "$T/bin/dnsname"
}
out=$(plugin ADD 2>&1)
rc=$?
eq "ADD as nobody in a user namespace" "$rc" 0
[ "$rc" = 0 ] || echo "# $out" | tr '\n' ' '

eq "  the run directory is \$XDG_RUNTIME_DIR/cni/dnsname" "$(ls "$T/xdg/cni/dnsname" 2>&1 | grep -c -E '^(dnsname.pid|dnsname.sock|networks)$')" 3
pid=$(cat "$T/xdg/cni/dnsname/dnsname.pid" 2>/dev/null)
eq "  the daemon runs there" "$(grep -c -- "--run-dir $T/xdg/cni/dnsname" <(tr '\0' ' ' </proc/${pid:-0}/cmdline 2>/dev/null))" 1
eq "  the container resolves its name" "$(nsenter -t $C -n dig +time=2 +tries=1 +short @127.0.0.11 pod-r)" 198.18.60.2
eq "  and over TCP" "$(nsenter -t $C -n dig +tcp +time=2 +tries=1 +short @127.0.0.11 pod-r)" 198.18.60.2
out=$(plugin CHECK 2>&1)
eq "CHECK ($out)" "$?" 0
out=$(plugin ADD "$CONF2" eth1 2>&1)
rc=$?
eq "ADD on a second network: 127.0.0.12" "$rc:$(echo "$out" | grep -A1 '"nameservers"' | grep -o '127[0-9.]*')" 0:127.0.0.12
[ "$rc" = 0 ] || echo "# $out" | tr '\n' ' '
ADD2=$out
eq "  127.0.0.12 resolves the second network's name" "$(nsenter -t $C -n dig +time=2 +tries=1 +short @127.0.0.12 r2)" 198.18.61.2
eq "  and the first's, over TCP" "$(nsenter -t $C -n dig +tcp +time=2 +tries=1 +short @127.0.0.12 pod-r | sort | head -1)" 198.18.60.2
# CHECK gets the ADD's result as prevResult (the runtime's cached one): it lists 127.0.0.12
out=$(plugin CHECK "$(jq -c --argjson p "$ADD2" '.prevResult=$p' <<<"$CONF2")" eth1 2>&1)
eq "  CHECK of the second ($out)" "$?" 0
out=$(plugin CHECK "$CONF2" eth1 2>&1)
eq "  CHECK of the second with a prevResult without 127.0.0.12 fails" "$?:$(grep -c 'lacks 127.0.0.12' <<<"$out")" 1:1
out=$(plugin DEL "$CONF2" eth1 2>&1)
eq "  DEL of the second ($out)" "$?" 0
eq "  127.0.0.11 still answers" "$(nsenter -t $C -n dig +time=2 +tries=1 +short @127.0.0.11 pod-r)" 198.18.60.2
out=$(plugin DEL 2>&1)
eq "DEL ($out)" "$?" 0
for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
eq "  the daemon exits after the last DEL" "$(kill -0 "$pid" 2>/dev/null && echo running || echo gone)" gone
kill $C
INNER
setpriv --reuid=65534 --regid=65534 --clear-groups unshare -Urn bash "$T/inner.sh" "$T" 2>&1 | tee "$T/out"
T_FAILED=$(($(grep -c '^not ok' "$T/out") > 0 || $(grep -c '^ok' "$T/out") < 15))
[ "$(grep -c '^ok' "$T/out")" -ge 15 ] || fail "dnsname_rootless: every check ran" "$(grep -vc '^ok' "$T/out") lines were not ok"
finish
