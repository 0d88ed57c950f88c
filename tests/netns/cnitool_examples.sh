#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Every configuration in conf/examples/ through cnitool, as a user runs it (the file alone in
# NETCONFPATH, every dataDir moved to a scratch directory), in a private host namespace with an
# "eth0" and a default route as tests/netns/examples.sh builds it: add (the result printed, the
# libcni cache file written), check, del (cache, addresses and eth0 gone), del again, add then gc
# (the stale attachment DELeted), status. Skipped as examples.sh skips them: link kinds this
# kernel lacks (ipvlan, vlan, dummy, vrf: the VM lane runs their own tests) and the examples whose
# plugins need a fixture of their own (flannel, dhcp, dnsname).
. "$(dirname "$0")/lib.sh"
need_root cnitool_examples
if [ ! -x "$BIN/cnitool" ]; then
	skip cnitool_examples "cnitool is not built"
	exit 0
fi
tmpdir D
DATA="$D/data"
mkdir -p "$D/net.d" "$DATA"
example_host H
export NETCONFPATH="$D/net.d" CNI_PATH="$BIN" CNITOOL_CACHE_DIR="$D/cache"
unset CNI_IFNAME CNI_ARGS CAP_ARGS

# tool ARGS...: cnitool in the host namespace $H (lib.sh).
# step NAME WANT-RC ARGS...: a cnitool run checked for its exit status (stderr shown on failure).
step() {
	local name=$1 want=$2
	shift 2
	tool "$@"
	check_eq "$name" "$RC" "$want"
	[ "$RC" = "$want" ] || printf '%s\n' "$ERR" | sed 's/^/# /' | head -5
}
cached() { [ -e "$1" ] && echo yes || echo no; }

for f in "$TOP"/conf/examples/*; do
	name=$(basename "$f")
	if ! example_load "$f" "$H"; then
		fail "$name is valid JSON" "jq cannot read it"
		continue
	fi
	if [ -n "$missing" ]; then
		skip "cnitool example $name" "$missing"
		continue
	fi
	# the file as it is, but for its dataDirs (a .json stays a single plugin's configuration)
	rm -f "$D/net.d"/*
	jq --arg d "$DATA" 'def dd: (if .ipam.dataDir then .ipam.dataDir = $d else . end)
		| (if .dataDir then .dataDir = $d else . end);
		if .plugins then .plugins |= map(dd) else dd end' "$f" >"$D/net.d/$name"
	mkns C
	cache="$D/cache/results/$net-cnitool-$(printf '%s' "$C" | sha512sum | cut -c1-20)-eth0"

	step "$name: add" 0 add "$net" "$C"
	check_eq "$name: add prints a result" "$(printf '%s' "$OUT" | jq -r 'has("cniVersion")' 2>/dev/null)" true
	check_eq "$name: add caches the result" "$(jq -cS .result "$cache" 2>/dev/null)" \
		"$(printf '%s' "$OUT" | jq -cS . 2>/dev/null)"
	step "$name: check" 0 check "$net" "$C"
	step "$name: del" 0 del "$net" "$C"
	check_eq "$name: del removes the cache file" "$(cached "$cache")" no
	check_eq "$name: del leaves no reservation" "$(files_left)" 0
	check_eq "$name: del leaves no eth0" "$(has_link "$C" eth0)" no
	step "$name: del again" 0 del "$net" "$C"

	step "$name: add before gc" 0 add "$net" "$C"
	step "$name: gc" 0 gc "$net"
	check_eq "$name: gc removes the cache file" "$(cached "$cache")" no
	check_eq "$name: gc leaves no reservation" "$(files_left)" 0
	check_eq "$name: gc leaves no eth0" "$(has_link "$C" eth0)" no
	step "$name: status" 0 status "$net"
	ip netns del "$(basename "$C")"
done
check_eq "host-device's eth1 is back in the host" "$(has_link "$H" eth1)" yes
check_eq "nothing left in the cache" "$(find "$D/cache" -type f 2>/dev/null | wc -l)" 0
finish
