#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# make demo: what a runtime does with cnic, on throwaway namespaces, through cnitool and the two
# example networks conf/examples/loopback.conflist and conf/examples/bridge.conflist (their
# dataDir moved to a scratch directory). A private "host" namespace stands in for the machine (so
# nothing touches its real network); two "containers" get both networks, as upstream's cnitool
# instructions do it; the results and libcni's cache are shown, the containers ping each other
# and the gateway, CHECK passes, then everything is deleted again (twice) and shown gone.
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

EX=$(cd "$(dirname "$0")/../conf/examples" && pwd)
mkdir -p "$DATA/net.d" "$DATA/ipam" "$DATA/cache"
jq --arg d "$DATA/ipam" '.plugins[0].ipam.dataDir = $d' "$EX/bridge.conflist" >"$DATA/net.d/10-bridge.conflist"
cp "$EX/loopback.conflist" "$DATA/net.d/20-loopback.conflist"
export NETCONFPATH="$DATA/net.d" CNI_PATH="$BIN" CNITOOL_CACHE_DIR="$DATA/cache"
unset CNI_ARGS CAP_ARGS

# cnitool ARGS...: as a user runs it on the machine, here in the private host.
cnitool() { ip netns exec "$HOST" "$BIN/cnitool" "$@"; }

say "namespaces: host $HOST, containers $A and $B"
ip netns add "$HOST" && ip netns add "$A" && ip netns add "$B" || exit 1
ip -n "$HOST" link set lo up
say "cnitool ls (NETCONFPATH=$NETCONFPATH)"
cnitool ls

for c in $A $B; do
	say "cnitool add loopback-example and bridge-example /run/netns/$c"
	CNI_IFNAME=lo cnitool add loopback-example "/run/netns/$c" >/dev/null || exit 1
	cnitool add bridge-example "/run/netns/$c" || exit 1
done

IPB=$(ip -n "$B" -j addr show eth0 | jq -r '.[0].addr_info[] | select(.family=="inet") | .local')
say "container $A: addresses and routes"
ip -n "$A" -br addr
ip -n "$A" route
say "host: the bridge, its ports and the masquerade rules"
ip -n "$HOST" -br link show master cni0
ip -n "$HOST" -br addr show cni0
ip netns exec "$HOST" nft list table inet cni_plugins_masquerade
say "libcni's result cache ($CNITOOL_CACHE_DIR/results)"
ls "$CNITOOL_CACHE_DIR/results"
say "ping: $A -> $B ($IPB) and $A -> gateway 10.85.0.1"
ip netns exec "$A" ping -c 2 -W 2 "$IPB" || exit 1
ip netns exec "$A" ping -c 2 -W 2 10.85.0.1 || exit 1
say "cnitool check bridge-example (both containers)"
for c in $A $B; do
	cnitool check bridge-example "/run/netns/$c" && echo "$c: ok" || exit 1
done

for c in $A $B; do
	say "cnitool del for $c (twice: DEL is idempotent)"
	cnitool del bridge-example "/run/netns/$c" && cnitool del bridge-example "/run/netns/$c" || exit 1
	CNI_IFNAME=lo cnitool del loopback-example "/run/netns/$c" || exit 1
done
say "after DEL: host veths, reservations, masquerade rules and cache files left"
echo "veths: $(ip -n "$HOST" -j link show type veth | jq length)"
echo "reservations: $(find "$DATA/ipam" -type f ! -name lock ! -name 'last_reserved_ip.*' ! -name '.cnic*' | wc -l)"
echo "masquerade rules: $(ip netns exec "$HOST" nft -j list chain inet cni_plugins_masquerade masq_checks | jq '[.nftables[] | select(.rule)] | length')"
echo "cache files: $(find "$DATA/cache" -type f | wc -l)"
say "done: namespaces removed"
