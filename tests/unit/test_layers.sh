#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The layering check (tests/layers.py, ARCHITECTURE.md): the tree keeps its layers, and a forbidden
# include planted in a copy of pkg/ and plugins/, one per rule (directly, and through a tree header
# the file includes), is caught and named; an exception that no longer matches fails too.
# No root, no kernel: a copy in a temporary directory, removed on exit.
set -u
top=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

if out=$(python3 "$top/tests/layers.py" "$top" 2>&1); then
	echo "ok - the tree keeps its layers"
else
	echo "not ok - the tree breaks its layers"
	echo "$out" | sed 's/^/# /'
fi

cp -r "$top/pkg" "$top/plugins" "$top/cmd" "$tmp/"

# check DESCRIPTION EXPECTED: the checker fails on the copy and its output has EXPECTED.
check() {
	if out=$(python3 "$top/tests/layers.py" "$tmp" 2>&1); then
		echo "not ok - $1: not caught"
	elif echo "$out" | grep -qF -- "$2"; then
		echo "ok - $1: caught"
	else
		echo "not ok - $1: the output does not name '$2'"
		echo "$out" | sed 's/^/# /'
	fi
}

# plant FILE LINE DESCRIPTION EXPECTED: LINE appended to FILE of the copy, checked, restored.
plant() {
	cp "$tmp/$1" "$tmp/saved"
	printf '%s\n' "$2" >>"$tmp/$1"
	check "$3" "$4"
	mv "$tmp/saved" "$tmp/$1"
}

# file | line planted | what it breaks | what the checker must say
while IFS='|' read -r file line what expected; do
	plant "$file" "$line" "$what" "$expected"
done <<'EOF'
pkg/wire/dns_wire.c|#include <jansson.h>|pkg/wire: a library header|pkg/wire/dns_wire.c: includes jansson.h
pkg/wire/dhcp_wire.h|#include "netutil/netutil.h"|pkg/wire: a header of pkg/netutil|pkg/wire/dhcp_wire.h: includes "pkg/netutil/netutil.h"
pkg/daemon/daemon.c|#include <jansson.h>|pkg/daemon: a library header|pkg/daemon/daemon.c: includes jansson.h
pkg/daemon/daemon.h|#include "cni/cni.h"|pkg/daemon: a header of pkg/cni|pkg/daemon/daemon.h: includes "pkg/cni/cni.h"
pkg/cni/conf.c|#include <linux/rtnetlink.h>|pkg/cni: linux/rtnetlink.h|pkg/cni/conf.c: includes linux/rtnetlink.h
pkg/cni/ip.c|#include <libmnl/libmnl.h>|pkg/cni: libmnl|pkg/cni/ip.c: includes libmnl/libmnl.h
pkg/cni/args.c|#include "netutil/netutil.h"|pkg/cni: a header of pkg/netutil|pkg/cni/args.c: includes "pkg/netutil/netutil.h"
pkg/netutil/link.c|#include <jansson.h>|pkg/netutil: jansson|pkg/netutil/link.c: includes jansson.h
pkg/netutil/addr.c|#include "cni/internal.h"|pkg/netutil: jansson through pkg/cni/internal.h|pkg/netutil/addr.c: includes jansson.h (through pkg/cni/internal.h)
pkg/cni/hash.c|#include "nft/nft.h"|pkg/cni: a header of pkg/nft|pkg/cni/hash.c: includes "pkg/nft/nft.h"
pkg/netutil/route.c|#include "nft/nft.h"|pkg/netutil: a header of pkg/nft|pkg/netutil/route.c: includes "pkg/nft/nft.h"
pkg/nft/masq.c|#include <jansson.h>|pkg/nft: jansson|pkg/nft/masq.c: includes jansson.h
pkg/nft/spoof.c|#include "cni/internal.h"|pkg/nft: pkg/cni's JSON header|pkg/nft/spoof.c: includes "pkg/cni/internal.h"
plugins/meta/firewall/nft.c|#include <linux/rtnetlink.h>|a plugin's nftables layout: a netlink header not of nftables|plugins/meta/firewall/nft.c: includes linux/rtnetlink.h
plugins/meta/dnsname/nft.c|#include <jansson.h>|a plugin's nftables layout: jansson|plugins/meta/dnsname/nft.c: includes jansson.h
plugins/meta/portmap/portmap.c|#include "nft/internal.h"|plugins: libnftnl through pkg/nft/internal.h outside a layout|plugins/meta/portmap/portmap.c: includes libnftnl/rule.h (through pkg/nft/internal.h)
plugins/meta/tuning/tuning.c|#include <netlink/route/link.h>|plugins: libnl|plugins/meta/tuning/tuning.c: includes netlink/route/link.h
plugins/meta/vrf/vrf.c|#include <libnftnl/rule.h>|plugins: libnftnl|plugins/meta/vrf/vrf.c: includes libnftnl/rule.h
plugins/main/loopback/loopback.c|#include <jansson.h>|plugins: jansson|plugins/main/loopback/loopback.c: includes jansson.h
plugins/main/ipvlan/ipvlan.c|#include <linux/rtnetlink.h>|plugins: linux/rtnetlink.h|plugins/main/ipvlan/ipvlan.c: includes linux/rtnetlink.h
plugins/main/macvlan/macvlan.c|#include <linux/if_link.h>|plugins: linux/if_link.h (an exception until #17)|plugins/main/macvlan/macvlan.c: includes linux/if_link.h
plugins/main/ptp/ptp.c|#include <linux/if_addr.h>|plugins: linux/if_addr.h (an exception until #17)|plugins/main/ptp/ptp.c: includes linux/if_addr.h
pkg/netutil/kind/vlan.c|#include <jansson.h>|pkg/netutil/kind: jansson|pkg/netutil/kind/vlan.c: includes jansson.h
pkg/runtime/exec.c|#include <linux/rtnetlink.h>|pkg/runtime: linux/rtnetlink.h|pkg/runtime/exec.c: includes linux/rtnetlink.h
pkg/runtime/conf.c|#include "netutil/netutil.h"|pkg/runtime: a header of pkg/netutil|pkg/runtime/conf.c: includes "pkg/netutil/netutil.h"
cmd/cnitool/cnitool.c|#include <jansson.h>|cmd: jansson|cmd/cnitool/cnitool.c: includes jansson.h
cmd/cnitool/cnitool.c|#include "runtime/internal.h"|cmd: jansson through pkg/runtime/internal.h|cmd/cnitool/cnitool.c: includes jansson.h (through pkg/runtime/internal.h)
pkg/netutil/tc.h|#include <linux/pkt_sched.h>|plugins: a netlink header through pkg/netutil/tc.h|plugins/meta/bandwidth/bandwidth.c: includes linux/pkt_sched.h (through pkg/netutil/tc.h)
EOF

# bridge.c no longer includes linux/if_addr.h: an exception naming it is stale.
LAYERS_EXCEPTIONS=plugins/main/bridge/bridge.c:linux/if_addr.h \
	check "an exception that no longer matches" \
	"plugins/main/bridge/bridge.c: exception for linux/if_addr.h no longer needed"

if python3 "$top/tests/layers.py" "$tmp" >/dev/null 2>&1; then
	echo "ok - the copy, restored, passes again"
else
	echo "not ok - the copy, restored, still fails"
fi
