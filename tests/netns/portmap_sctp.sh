#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# SCTP host ports carry traffic: bridge + portmap with a portMappings entry of protocol "sctp" in
# the shape CRI-O sends it (lower-case keys and protocol, hostIP ""), an SCTP server in the
# container (socat), a client in another namespace routed through the private host, which reaches
# hostIP:hostPort on IPv4 and IPv6; with cnic's nftables and iptables layouts and the reference
# plugin (/usr/lib/cni/portmap); DEL leaves no rule and the port answers no more. Needs a kernel
# with SCTP (CONFIG_IP_SCTP): without it the file skips, and the VM lane
# (tests/vm/test_kernel_features.sh, probe_sctp) runs it on Debian's stock kernel.
. "$(dirname "$0")/lib.sh"
need_root portmap_sctp
PY=/usr/bin/python3 # Debian's (a pyenv shim may come first in PATH)
for p in bridge portmap host-local; do
	if [ ! -x "$BIN/$p" ]; then
		skip portmap_sctp "plugin $p is not built"
		exit 0
	fi
done
if ! socat -V 2>/dev/null | grep -q 'WITH_SCTP 1'; then
	skip portmap_sctp "socat is not installed or has no SCTP"
	exit 0
fi
if [ ! -x "$PY" ]; then
	skip portmap_sctp "$PY is not installed"
	exit 0
fi
if ! unshare -n "$PY" -c 'import socket; socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_SCTP)' 2>/dev/null; then
	skip portmap_sctp "no SCTP sockets in this kernel (CONFIG_IP_SCTP); the VM lane runs this file"
	exit 0
fi
tmpdir DATA

# The host port as CRI-O passes it (ocicni: hostPort, containerPort, protocol lower-cased, hostIP).
MAP='[{"hostPort":9132,"containerPort":132,"protocol":"sctp","hostIP":""}]'
bconf() { # NAME
	jq -nc --arg n "$1" --arg d "$DATA/$1" '{cniVersion: "1.0.0", name: $n, type: "bridge",
		bridge: "scbr0", isGateway: true, ipam: {type: "host-local", dataDir: $d,
		ranges: [[{subnet: "198.18.40.0/24"}], [{subnet: "fd00:198:18:40::/64"}]],
		routes: [{dst: "0.0.0.0/0"}, {dst: "::/0"}]}}'
}
pconf() { # NAME EXTRA-JSON [PREV]
	jq -nc --arg n "$1" --argjson m "$MAP" --argjson x "$2" --argjson p "${3:-null}" \
		'{cniVersion: "1.0.0", name: $n, type: "portmap", capabilities: {portMappings: true},
		  runtimeConfig: {portMappings: $m}} + $x + (if $p then {prevResult: $p} else {} end)'
}
# ask NETNS ADDR: the line the SCTP server behind ADDR:9132 answers ("" when none); the client only
# reads, so no shutdown races the answer (SCTP has no half-close)
ask() {
	in_ns "$1" timeout 5 "$PY" -c 'import socket, sys
a = sys.argv[1]
s = socket.socket(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_SCTP)
s.settimeout(3)
s.connect((a, 9132))
print(s.recv(100).decode().strip())' "$2" 2>/dev/null
}
# serve NETNS ANSWER: SCTP servers on port 132 of both families answering ANSWER-4 and ANSWER-6
serve() {
	ip netns exec "$(basename "$1")" socat SCTP4-LISTEN:132,fork,reuseaddr SYSTEM:"echo $2-4" >/dev/null 2>&1 &
	on_exit "kill $! 2>/dev/null"
	ip netns exec "$(basename "$1")" socat SCTP6-LISTEN:132,fork,reuseaddr,ipv6only=1 SYSTEM:"echo $2-6" >/dev/null 2>&1 &
	on_exit "kill $! 2>/dev/null"
}
# listening NETNS: both servers accept (asked from inside the container, no host port involved)
listening() {
	[ "$(in_ns "$1" "$PY" -c 'import socket
for f, a in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
    s = socket.socket(f, socket.SOCK_STREAM, socket.IPPROTO_SCTP)
    s.settimeout(2)
    s.connect((a, 132))
    print(s.recv(100).decode().strip())' 2>/dev/null | wc -l)" = 2 ]
}
# sctp_rules NETNS: the rules of either layout that name the SCTP host port
sctp_rules() {
	{
		in_ns "$1" nft list ruleset 2>/dev/null
		in_ns "$1" iptables-save -t nat 2>/dev/null
		in_ns "$1" ip6tables-save -t nat 2>/dev/null
	} | grep -c -E 'sctp.*9132|9132.*sctp'
}
no_tentative() { ! in_ns "$1" ip -6 addr show | grep -q tentative; }

# run_case LABEL PORTMAP EXTRA-JSON: a fresh host H with a client namespace X behind a veth
# (198.18.41.0/24, fd00:198:18:41::/64), a container C behind the bridge, its host port asked from X
run_case() {
	local l=$1 pm=$2 x=$3 H X C R a4 a6
	mkhost H
	mkns X
	mkns C
	in_ns "$H" ip link add up0 type veth peer name cl0 netns "$(basename "$X")"
	in_ns "$H" ip addr add 198.18.41.1/24 dev up0
	in_ns "$H" ip addr add fd00:198:18:41::1/64 dev up0 nodad
	in_ns "$H" ip link set up0 up
	in_ns "$X" ip addr add 198.18.41.2/24 dev cl0
	in_ns "$X" ip addr add fd00:198:18:41::2/64 dev cl0 nodad
	in_ns "$X" ip link set cl0 up
	in_ns "$X" ip route add default via 198.18.41.1
	in_ns "$X" ip -6 route add default via fd00:198:18:41::1
	in_ns "$H" sysctl -qw net.ipv6.conf.all.forwarding=1
	hrun "$H" "$BIN/bridge" ADD "$C" eth0 "sctp-$l" "$(bconf sctpnet)"
	R=$OUT
	[ "$RC" = 0 ] || { fail "$l: bridge ADD" "$OUT"; return; }
	hrun "$H" "$pm" ADD "$C" eth0 "sctp-$l" "$(pconf sctpnet "$x" "$R")"
	check_eq "$l: portmap ADD with protocol \"sctp\"" "$RC" 0
	[ "$RC" = 0 ] || { echo "# $OUT"; return; }
	a4=$(ip_of "$C")
	a6=$(ip_of "$C" eth0 inet6)
	serve "$C" "$l"
	poll_until 5000 no_tentative "$H"
	poll_until 5000 no_tentative "$C"
	check "$l: the SCTP servers listen in the container" poll_until 5000 listening "$C"
	[ "$l" = nftables ] && check_eq "$l: the DNAT rules, one per family" \
		"$(in_ns "$H" nft list ruleset | grep -o "sctp dport 9132 dnat to .*:132" | sort)" \
		"$(printf 'sctp dport 9132 dnat to %s:132\nsctp dport 9132 dnat to [%s]:132' "$a4" "$a6")"
	check_eq "$l: IPv4: the client reaches the pod through 198.18.41.1:9132" "$(ask "$X" 198.18.41.1)" "$l-4"
	check_eq "$l: IPv6: the client reaches the pod through [fd00:198:18:41::1]:9132" \
		"$(ask "$X" fd00:198:18:41::1)" "$l-6"
	check "$l: the SCTP rules are listed" [ "$(sctp_rules "$H")" -gt 0 ]
	hrun "$H" "$pm" DEL "$C" eth0 "sctp-$l" "$(pconf sctpnet "$x")"
	check_eq "$l: portmap DEL" "$RC:$OUT" "0:"
	check_eq "$l: no SCTP rule left" "$(sctp_rules "$H")" 0
	check_eq "$l: the host port answers no more, on either family" \
		"$(ask "$X" 198.18.41.1)$(ask "$X" fd00:198:18:41::1)" ""
	hrun "$H" "$BIN/bridge" DEL "$C" eth0 "sctp-$l" "$(bconf sctpnet)"
	check_eq "$l: bridge DEL" "$RC:$OUT" "0:"
}

run_case nftables "$BIN/portmap" '{}'
run_case iptables "$BIN/portmap" '{"backend": "iptables"}'
if [ -x "$REF/portmap" ]; then
	run_case reference "$REF/portmap" '{}'
else
	skip "reference: SCTP through the host port" "reference plugins not installed in $REF"
fi
finish
