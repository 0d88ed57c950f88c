#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# dnsname leaves port 53 to the container: the resolver listens on 127.0.0.11:61053 and the
# daemon's stateless nftables rewrite (table ip cnic_dnsname, notrack) maps 127.0.0.11:53 to it
# and back. A container process binds the wildcard :53 (UDP and TCP, IPv4 and IPv6) and answers
# at its own addresses, while names keep resolving at 127.0.0.11:53 (UDP and TCP); no conntrack
# in the container's netns; the rewrite is one table per netns (the daemon's, with its
# listeners), a chain per resolver address (a container's second network has 127.0.0.12: one
# chain more), and goes with the last DEL; CHECK notices it missing and an ADD again restores it. (dnsname_upgrade.sh: builds before and after the rewrite mixed.)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/dnsname.bash"
dnsname_setup dnsname_port53 dig dnsmasq nft conntrack python3
printf 'nameserver 127.0.0.54\n' >"$RUN/resolv.conf"

declare -A DCONF
# attach KEY MAINCONF NS CID IFNAME NAME
attach() {
	local key=$1 mc=$2 ns=$3 cid=$4 ifn=$5 pod=$6 net
	net=$(jq -r .name <<<"$mc")
	hrun "$H" "$BIN/bridge" ADD "$ns" "$ifn" "$cid" "$mc"
	[ "$RC" = 0 ] || { fail "$key: bridge ADD" "$OUT"; return 1; }
	DCONF[$key]=$(dns_conf "$net" "$OUT")
	hrun "$H" "$P" ADD "$ns" "$ifn" "$cid" "${DCONF[$key]}" "IgnoreUnknown=1;K8S_POD_NAME=$pod"
	check_eq "$key: dnsname ADD" "$RC" 0
}
detach() { # KEY NS CID IFNAME
	hrun "$H" "$P" DEL "$2" "$4" "$3" "${DCONF[$1]}"
	check_eq "$1: dnsname DEL" "$RC:$OUT" "0:"
}
ipv4() { in_ns "$1" ip -j -4 addr show dev "${2:-eth0}" | jq -r '.[0].addr_info[0].local'; }
q() { # NS SERVER NAME [dig options]: the answer's addresses
	local ns=$1 s=$2
	shift 2
	in_ns "$ns" dig +time=2 +tries=1 +short "@$s" "$@" 2>&1 | sort | tr '\n' ' ' | sed 's/ $//'
}
table() { in_ns "$1" nft -j list table ip cnic_dnsname 2>/dev/null; }

mkns C1
mkns C2
NA=$(bridge_conf p53a brp53a 198.18.53.0/24)
NB=$(bridge_conf p53b brp53b 198.18.54.0/24)
attach c1 "$NA" "$C1" c1 eth0 web1
attach c2 "$NA" "$C2" c2 eth0 web2
A1=$(ipv4 "$C1")
A2=$(ipv4 "$C2")
check_eq "the result still announces 127.0.0.11" "$(jq -r '.dns.nameservers[0]' <<<"$OUT")" 127.0.0.11
check_eq "the resolver listens on 127.0.0.11:61053, not :53 (UDP/TCP)" \
	"$(in_ns "$C1" ss -Hlnu | grep -c '127.0.0.11:61053 ')/$(in_ns "$C1" ss -Hlnt | grep -c '127.0.0.11:61053 ')/$(in_ns "$C1" ss -Hlnut | grep -c ':53 ')" 1/1/0
check_eq "names resolve at 127.0.0.11:53 (UDP)" "$(q "$C1" 127.0.0.11 web2)" "$A2"
check_eq "  and TCP" "$(q "$C1" 127.0.0.11 web2 +tcp)" "$A2"

# A process of the container binds the wildcard :53, dual-stack ([::]:53 with IPV6_V6ONLY off
# covers 0.0.0.0:53 too), UDP and TCP: what the kernel refused while the resolver held :53.
check "a container process binds [::]:53 dual-stack, UDP and TCP" in_ns "$C1" python3 -c '
import socket
for t in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
    s = socket.socket(socket.AF_INET6, t)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.bind(("::", 53))
    if t == socket.SOCK_STREAM:
        s.listen()
'
# dnsmasq without --bind-interfaces: 0.0.0.0:53 and [::]:53, UDP and TCP
ip netns exec "$(basename "$C1")" dnsmasq --keep-in-foreground --no-resolv --no-hosts --user=root \
	--port=53 --pid-file= --address=/own.test/198.18.99.99 2>"$RUN/own.log" &
OWN=$! # ip netns exec execs dnsmasq: this is its pid
on_exit "kill $OWN"
poll_until 3000 in_ns "$C1" dig +time=1 +tries=1 +short "@$A1" own.test >/dev/null
check_eq "dnsmasq holds 0.0.0.0:53 and [::]:53, UDP and TCP" \
	"$(in_ns "$C1" ss -Hlnu | grep -cE '(0\.0\.0\.0|\[::\]|\*):53 ')/$(in_ns "$C1" ss -Hlnt | grep -cE '(0\.0\.0\.0|\[::\]|\*):53 ')" 2/2
check_eq "  it answers at the container's address (UDP)" "$(q "$C1" "$A1" own.test)" 198.18.99.99
check_eq "  and TCP" "$(q "$C1" "$A1" own.test +tcp)" 198.18.99.99
check_eq "  at ::1 (UDP)" "$(q "$C1" ::1 own.test)" 198.18.99.99
check_eq "  and TCP" "$(q "$C1" ::1 own.test +tcp)" 198.18.99.99
check_eq "  at 127.0.0.1" "$(q "$C1" 127.0.0.1 own.test)" 198.18.99.99
check_eq "  and from the other container" "$(q "$C2" "$A1" own.test)" 198.18.99.99
check_eq "while names resolve at 127.0.0.11:53 (UDP)" "$(q "$C1" 127.0.0.11 web2)" "$A2"
check_eq "  and TCP" "$(q "$C1" 127.0.0.11 web2 +tcp)" "$A2"
check_eq "  and 127.0.0.11 does not answer the container's names" "$(q "$C1" 127.0.0.11 own.test.dns.podman)" ""

# No conntrack: the queries above (ours, rewritten and notrack, and the container's own server's,
# untouched) left no entry, IPv4 or IPv6: no conntrack hook is registered in the netns.
check_eq "no conntrack entry in the container netns (IPv4/IPv6)" \
	"$(in_ns "$C1" conntrack -L 2>/dev/null | wc -l)/$(in_ns "$C1" conntrack -L -f ipv6 2>/dev/null | wc -l)" 0/0
check_eq "  and no nat chain" "$(table "$C1" | jq '[.nftables[] | select(.chain.type? == "nat")] | length')" 0
check_eq "the rewrite: one output chain at raw priority, 4 rules, notrack" \
	"$(table "$C1" | jq -c '[([.nftables[] | select(.chain) | .chain | "\(.hook)/\(.prio)"] | join(",")),
		([.nftables[] | select(.rule)] | length), ([.nftables[] | select(.rule) | .rule.expr[] | select(has("notrack"))] | length)]')" \
	'["output/-300",4,4]'

# The rewrite is per netns, a chain per resolver address: a second network has 127.0.0.12 (the
# network it asked on: dnsname_multinet.sh); the first DEL keeps the other's.
attach c1b "$NB" "$C1" c1 eth1 web1
check_eq "a second network: still one rewrite, the daemon's" "$(table "$C1" | jq -c '[.nftables[] | select(.counter) | .counter.name]')" '["att-dnsname-daemon"]'
check_eq "  a chain for its address" "$(table "$C1" | jq -c '[.nftables[] | select(.chain) | .chain.name]')" '["output","output-127.0.0.12"]'

hrun "$H" "$P" CHECK "$C1" eth0 c1 "${DCONF[c1]}"
check_eq "CHECK" "$RC:$OUT" "0:"
in_ns "$C1" nft flush chain ip cnic_dnsname output
hrun "$H" "$P" CHECK "$C1" eth0 c1 "${DCONF[c1]}"
check "CHECK reports the flushed rewrite" grep -q 'cnic_dnsname output' <<<"$OUT"
hrun "$H" "$P" ADD "$C1" eth0 c1 "${DCONF[c1]}" "IgnoreUnknown=1;K8S_POD_NAME=web1"
check_eq "ADD again restores it" "$RC:$(q "$C1" 127.0.0.11 web2)" "0:$A2"
hrun "$H" "$P" CHECK "$C1" eth0 c1 "${DCONF[c1]}"
check_eq "  CHECK passes again" "$RC:$OUT" "0:"
check_eq "  still 4 rules per address, 1 owner" "$(table "$C1" | jq -c '[([.nftables[] | select(.rule)] | length), ([.nftables[] | select(.counter)] | length)]')" '[8,1]'
detach c1 "$C1" c1 eth0
check_eq "DEL of one network keeps the rewrite for the other" "$(q "$C1" 127.0.0.12 web1)" "$(ipv4 "$C1" eth1)"
check_eq "  and only its chain" "$(table "$C1" | jq -c '[.nftables[] | select(.chain) | .chain.name]')" '["output-127.0.0.12"]'
detach c1b "$C1" c1 eth1
check_eq "the last DEL removes the table" "$(table "$C1" | wc -c)" 0
detach c1b "$C1" c1 eth1
hrun "$H" "$P" DEL "/run/netns/cnic-gone-$$" eth0 c2 "${DCONF[c2]}"
check_eq "DEL with its netns gone" "$RC:$OUT" "0:"
check_eq "  the record went, and with it the listener and its rewrite" \
	"$(in_ns "$C2" ss -Hlnu | grep -c 61053)/$(table "$C2" | wc -c)" 0/0
detach c2 "$C2" c2 eth0
finish
