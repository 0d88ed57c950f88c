#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# make demo: what a runtime does with cnic, on throwaway namespaces. A private "host" namespace
# stands in for the machine (so nothing touches its real network), two "containers" get a
# loopback and a bridge + host-local attachment each, exactly as a runtime execs the plugins;
# the results are printed, the containers ping each other and the gateway, then everything is
# deleted again and shown gone.
set -u
BUILD=${BUILD:-build}
BIN=$(cd "$BUILD/bin" && pwd)
tag=$$
HOST=cnic-demo-host-$tag A=cnic-demo-a-$tag B=cnic-demo-b-$tag
DATA=$(mktemp -d /tmp/cnic-demo.XXXXXX)
cleanup() {
	for n in $HOST $A $B; do ip netns del "$n" 2>/dev/null; done
	rm -rf "$DATA"
}
trap cleanup EXIT
if [ "$(id -u)" != 0 ]; then
	echo "make demo needs root (network namespaces)" >&2
	exit 1
fi
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

NET='{"cniVersion":"1.1.0","name":"demo","type":"bridge","bridge":"cnic0","isGateway":true,"ipMasq":true,
 "ipam":{"type":"host-local","dataDir":"'$DATA'","ranges":[[{"subnet":"10.123.0.0/24"}]],
 "routes":[{"dst":"0.0.0.0/0"}]}}'
LO='{"cniVersion":"1.1.0","name":"lo","type":"loopback"}'

# run NETNS-NAME PLUGIN COMMAND CONTAINER-ID IFNAME CONFIG: as a runtime does, in the private host.
run() {
	printf '%s' "$6" | ip netns exec "$HOST" env CNI_COMMAND="$3" CNI_CONTAINERID="$4" \
		CNI_NETNS="/run/netns/$1" CNI_IFNAME="$5" CNI_PATH="$BIN" "$BIN/$2"
}

say "namespaces: host $HOST, containers $A and $B"
ip netns add "$HOST" && ip netns add "$A" && ip netns add "$B" || exit 1
ip -n "$HOST" link set lo up

for c in $A $B; do
	say "ADD loopback + bridge for $c"
	run "$c" loopback ADD "$c" lo "$LO" >/dev/null || exit 1
	run "$c" bridge ADD "$c" eth0 "$NET" || exit 1
	echo
done

IPB=$(ip -n "$B" -j addr show eth0 | jq -r '.[0].addr_info[] | select(.family=="inet") | .local')
say "container $A: addresses and routes"
ip -n "$A" -br addr
ip -n "$A" route
say "host: the bridge, its ports and the masquerade rules"
ip -n "$HOST" -br link show master cnic0
ip -n "$HOST" -br addr show cnic0
ip netns exec "$HOST" nft list table inet cni_plugins_masquerade
say "ping: $A -> $B ($IPB) and $A -> gateway 10.123.0.1"
ip netns exec "$A" ping -c 2 -W 2 "$IPB" || exit 1
ip netns exec "$A" ping -c 2 -W 2 10.123.0.1 || exit 1

for c in $A $B; do
	say "DEL for $c (twice: DEL is idempotent)"
	run "$c" bridge DEL "$c" eth0 "$NET" && run "$c" bridge DEL "$c" eth0 "$NET" || exit 1
	run "$c" loopback DEL "$c" lo "$LO" || exit 1
done
say "after DEL: host veths, reservations and masquerade rules left"
echo "veths: $(ip -n "$HOST" -j link show type veth | jq length)"
echo "reservations: $(find "$DATA" -type f ! -name lock ! -name 'last_reserved_ip.*' ! -name '.cnic*' | wc -l)"
echo "masquerade rules: $(ip netns exec "$HOST" nft -j list chain inet cni_plugins_masquerade masq_checks | jq '[.nftables[] | select(.rule)] | length')"
say "done: namespaces removed"
