#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# README.md's commands, run as a user would run them: every ```sh block marked
# <!-- test: netns --> (tests/readme_blocks.py extracts them) runs in a fresh bash (set -eu,
# pipefail) from the top of the tree, its namespaces cnic-host/cnic-demo and its files under
# /tmp/cnic-demo renamed with a tag of this run; it must succeed and leave none of them behind
# (its own last line cleans up; ours only catches what it missed). Then the README's conflist
# snippet (containerd's and kubelet's network) runs through cnitool in throwaway namespaces, its
# dataDir moved to a scratch directory.
. "$(dirname "$0")/lib.sh"
need_root readme
need_cmds readme python3 jq ping
[ -x "$BIN/cnitool" ] && [ -x "$BIN/bridge" ] || {
	skip readme "no build in $BIN (make)"
	exit 0
}
cd "$TOP" || exit 1
RB="/usr/bin/python3 $TOP/tests/readme_blocks.py"
tag=$T_TAG$RANDOM
rhost=cnic-host-$tag rdemo=cnic-demo-$tag rtmp=/tmp/cnic-demo-$tag
readme_cleanup() {
	ip netns del "$rhost" 2>/dev/null
	ip netns del "$rdemo" 2>/dev/null
	rm -rf "$rtmp"
}
on_exit readme_cleanup

# The blocks, NUL-separated, renamed: cnic-demo (namespace, /tmp dir) and cnic-host.
mapfile -d '' BLOCKS < <($RB tests)
check_eq "README has runnable blocks" "$([ "${#BLOCKS[@]}" -ge 2 ] && echo yes)" yes
i=0
for b in "${BLOCKS[@]}"; do
	i=$((i + 1))
	first=$(printf '%s\n' "$b" | grep -v '^\s*$' | head -1)
	b=${b//cnic-demo/cnic-demo-$tag}
	b=${b//cnic-host/cnic-host-$tag}
	out=$(env -u NETCONFPATH -u CNI_PATH -u CAP_ARGS -u CNI_ARGS -u CNITOOL_CACHE_DIR \
		timeout 120 bash -euo pipefail -c "$b" 2>&1)
	rc=$?
	if [ "$rc" = 0 ]; then
		ok "README block $i runs ($first)"
	else
		fail "README block $i runs ($first)" "exit $rc: $(tail -5 <<<"$out" | tr '\n' '|')"
	fi
	left=""
	ip netns list | grep -q "^$rhost\b" && left="$left $rhost"
	ip netns list | grep -q "^$rdemo\b" && left="$left $rdemo"
	[ -e "$rtmp" ] && left="$left $rtmp"
	check_eq "README block $i leaves nothing behind" "${left:-nothing}" nothing
	readme_cleanup
done

# The conflist snippet, as containerd would run it (cnitool: libcni's order), in a private host.
mkdir -p "$rtmp/net.d" "$rtmp/ipam" "$rtmp/tuning" "$rtmp/cache"
if $RB snippet conflist | jq --arg d "$rtmp" '.plugins[0].ipam.dataDir = $d + "/ipam" |
	(.plugins[] | select(.type == "tuning")).dataDir = $d + "/tuning"' \
	>"$rtmp/net.d/10-cnic.conflist" 2>/dev/null && [ -s "$rtmp/net.d/10-cnic.conflist" ]; then
	ok "README conflist snippet is JSON"
	name=$(jq -r .name "$rtmp/net.d/10-cnic.conflist")
	ip netns add "$rhost" && ip netns add "$rdemo" && ip -n "$rhost" link set lo up
	ct() { NETCONFPATH=$rtmp/net.d CNI_PATH=$BIN CNITOOL_CACHE_DIR=$rtmp/cache \
		ip netns exec "$rhost" "$BIN/cnitool" "$@"; }
	if out=$(CAP_ARGS='{"portMappings":[{"hostPort":8080,"containerPort":80,"protocol":"tcp"}],
		"bandwidth":{"ingressRate":1000000,"ingressBurst":100000,"egressRate":1000000,"egressBurst":100000}}' \
		ct add "$name" "/run/netns/$rdemo" 2>&1); then
		ok "README conflist: cnitool add"
		addr=$(jq -r '.ips[0].address // empty' <<<"$out")
		check "README conflist: the container reaches its gateway" \
			ip netns exec "$rdemo" ping -c1 -W2 "$(jq -r '.ips[0].gateway // empty' <<<"$out")"
		check_eq "README conflist: an address from its subnet" "${addr%.*.*}" 10.88
		out=$(ct check "$name" "/run/netns/$rdemo" 2>&1)
		check_eq "README conflist: cnitool check" "$?" 0
	else
		fail "README conflist: cnitool add" "$out"
	fi
	out=$(ct del "$name" "/run/netns/$rdemo" 2>&1)
	rc=$?
	check_eq "README conflist: cnitool del releases the address" \
		"$rc:$(find "$rtmp/ipam/$name" -maxdepth 1 -name '10.*' 2>/dev/null | wc -l)" 0:0
else
	fail "README conflist snippet is JSON" "$($RB snippet conflist 2>&1 | head -3)"
fi
readme_cleanup
exit "$T_FAILED"
