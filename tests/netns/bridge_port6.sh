#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The bridge's host veth is a port with no IPv6 address of its own (addr_gen_mode "none", set
# before it is up, issue #20) and no accept_ra write: IPv6 containers still reach each other and
# the gateway, the host netns gets no link-local address or fe80::/64 route per port, and a router
# advertisement a container sends configures nothing on its port, even with accept_ra=2 inherited
# from the host's default. A control proves the advertisement would configure a veth that is not
# a bridge port, addr_gen_mode "none" or not: it is the enslavement, set before the port is up,
# that keeps advertisements away from the port's IP stack.
. "$(dirname "$0")/lib.sh"
need_root bridge_port6
need_cmds bridge_port6 python3 jq
P=$BIN/bridge
tmpdir DATA

# send_ra NS DEV: one router advertisement (prefix fd00:99::/64, autonomous, router lifetime
# 1800 s) from NS out of DEV to ff02::1, hop limit 255 (the kernel fills the ICMPv6 checksum).
send_ra() {
	in_ns "$1" python3 -c '
import socket, struct, sys
dev = sys.argv[1]
s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, socket.if_nametoindex(dev))
ra = struct.pack("!BBHBBHII", 134, 0, 0, 64, 0, 1800, 0, 0)
pio = struct.pack("!BBBBIII", 3, 4, 64, 0xC0, 86400, 14400, 0) + socket.inet_pton(socket.AF_INET6, "fd00:99::")
s.sendto(ra + pio, ("ff02::1", 0, 0, socket.if_nametoindex(dev)))
' "$2"
}
# v6_addrs NS DEV: the IPv6 addresses of DEV, space-separated ("" for none).
v6_addrs() { in_ns "$1" ip -j -6 addr show dev "$2" | jq -r '[.[0].addr_info[]?.local] | join(" ")'; }
has_slaac() { [[ " $(v6_addrs "$1" "$2") " == *" fd00:99:"* ]]; }

mkhost H
mkns C1
mkns C2
mkns C3
# Every new link in H accepts advertisements even with forwarding on: only the kernel's own
# handling of a bridge port keeps the port's IP stack out of reach.
in_ns "$H" sysctl -qw net.ipv6.conf.default.accept_ra=2 net.ipv6.conf.default.accept_dad=0
C=$(printf '{"cniVersion":"1.1.0","name":"net-p6","type":"bridge","bridge":"brp6","isGateway":true,"ipam":{"type":"host-local","dataDir":"%s","ranges":[[{"subnet":"10.86.0.0/24"}],[{"subnet":"fd00:86::/64"}]]}}' "$DATA")
hrun "$H" "$P" ADD "$C1" eth0 c1 "$C"
check_eq "ADD c1" "$RC" 0
R1=$OUT
hrun "$H" "$P" ADD "$C2" eth0 c2 "$C"
check_eq "ADD c2" "$RC" 0
hv=$(printf '%s' "$R1" | jq -r '.interfaces[1].name')
check_eq "host veth is a port of the bridge" "$(in_ns "$H" ip -j link show "$hv" | jq -r '.[0].master')" brp6
check_eq "host veth addr_gen_mode none" "$(in_ns "$H" ip -d -j link show "$hv" | jq -r '.[0].inet6_addr_gen_mode')" none
check_eq "host veth has no IPv6 address" "$(v6_addrs "$H" "$hv")" ""
check_eq "no IPv6 unicast route through any port in the host" \
	"$(in_ns "$H" ip -j -6 route show table all | jq -r --arg b brp6 '[.[] | select(.dev != $b and .dev != "lo" and (.dst | startswith("ff00") | not))] | length')" 0
check_eq "the container's eth0 keeps its link-local address" \
	"$(in_ns "$C1" ip -j -6 addr show dev eth0 | jq -r '[.[0].addr_info[] | select(.scope == "link") | .local | startswith("fe80:")] | length')" 1
check "c1 pings c2 over IPv6" ping_ok "$C1" "$(ip_of "$C2" eth0 inet6)"
check "c1 pings the IPv6 gateway" ping_ok "$C1" fd00:86::1
check "c1 pings c2 over IPv4" ping_ok "$C1" "$(ip_of "$C2")"
check "c2 pings the IPv4 gateway" ping_ok "$C2" 10.86.0.1

# Control: a veth in H that is not a port, addr_gen_mode none, accept_ra 2 (the default above),
# its peer in C3; an advertisement from C3 gives it a SLAAC address.
in_ns "$H" ip link add "p6c$T_TAG" addrgenmode none type veth peer name eth0 netns "$(basename "$C3")" 2>/dev/null ||
	{ in_ns "$H" ip link add "p6c$T_TAG" type veth peer name eth0 netns "$(basename "$C3")" &&
		in_ns "$H" ip link set "p6c$T_TAG" addrgenmode none; }
in_ns "$C3" sysctl -qw net.ipv6.conf.eth0.accept_dad=0
in_ns "$H" ip link set "p6c$T_TAG" up
in_ns "$C3" ip link set eth0 up
poll_until 3000 in_ns "$C3" sh -c 'ip -6 addr show dev eth0 scope link | grep -q fe80'
poll_until 3000 in_ns "$H" sh -c "ip link show p6c$T_TAG | grep -q LOWER_UP"
send_ra "$C3" eth0
poll_until 3000 has_slaac "$H" "p6c$T_TAG"
check "control: a standalone veth with addr_gen_mode none takes the advertisement's prefix" has_slaac "$H" "p6c$T_TAG"
in_ns "$H" ip link del "p6c$T_TAG" # and its default route

send_ra "$C1" eth0
send_ra "$C2" eth0
# The control's address came within a few ms; give the ports as long as it took there, twice.
sleep 1
check_eq "the port took no address from the advertisement" "$(v6_addrs "$H" "$hv")" ""
check_eq "no default route in the host from the advertisement" "$(in_ns "$H" ip -j -6 route show default | jq length)" 0
check_eq "accept_ra of the port is the host's default (not written)" "$(in_ns "$H" cat /proc/sys/net/ipv6/conf/$hv/accept_ra)" 2

hrun "$H" "$P" DEL "$C1" eth0 c1 "$C"
check_eq "DEL c1" "$RC:$OUT" "0:"
hrun "$H" "$P" DEL "$C2" eth0 c2 "$C"
check_eq "DEL c2" "$RC:$OUT" "0:"
check_eq "no veth port left" "$(in_ns "$H" ip -j link show master brp6 | jq length)" 0

# ---- ipv4OnlyNoLinkLocal: an IPv4-only container end with no IPv6 address at all -----------------
mkns C4
mkns C5
V4=$(printf '{"cniVersion":"1.1.0","name":"net-v4","type":"bridge","bridge":"brv4","isGateway":true%%s,"ipam":{"type":"host-local","dataDir":"%s","ranges":[[{"subnet":"10.85.0.0/24"}]]}}' "$DATA")
# shellcheck disable=SC2059
Q=$(printf "$V4" ',"ipv4OnlyNoLinkLocal":true')
# shellcheck disable=SC2059
D=$(printf "$V4" '')
hrun "$H" "$P" ADD "$C4" eth0 c4 "$Q"
check_eq "ipv4OnlyNoLinkLocal: ADD" "$RC" 0
hrun "$H" "$P" ADD "$C5" eth0 c5 "$D"
check_eq "IPv4-only without the key: ADD" "$RC" 0
check_eq "ipv4OnlyNoLinkLocal: addr_gen_mode none on eth0" "$(in_ns "$C4" ip -d -j link show eth0 | jq -r '.[0].inet6_addr_gen_mode')" none
check_eq "ipv4OnlyNoLinkLocal: no IPv6 address on eth0" "$(v6_addrs "$C4" eth0)" ""
check_eq "ipv4OnlyNoLinkLocal: eth0 joined no IPv6 group but all-nodes (nothing to report)" \
	"$(in_ns "$C4" ip -6 maddr show dev eth0 | awk '$1 == "inet6" {print $2}' | sort | tr '\n' ' ')" "ff01::1 ff02::1 "
check_eq "ipv4OnlyNoLinkLocal: accept_dad not written (the netns default)" \
	"$(in_ns "$C4" cat /proc/sys/net/ipv6/conf/eth0/accept_dad)" "$(in_ns "$C4" cat /proc/sys/net/ipv6/conf/default/accept_dad)"
check "ipv4OnlyNoLinkLocal: c4 pings c5" ping_ok "$C4" "$(ip_of "$C5")"
check "ipv4OnlyNoLinkLocal: c4 pings the gateway" ping_ok "$C4" 10.85.0.1
check_eq "without the key: eth0 keeps its link-local address, as the reference's" \
	"$(in_ns "$C5" ip -j -6 addr show dev eth0 | jq -r '[.[0].addr_info[] | select(.scope == "link")] | length')" 1
check_eq "without the key: accept_dad 0, as the reference's" "$(in_ns "$C5" cat /proc/sys/net/ipv6/conf/eth0/accept_dad)" 0
# The key changes nothing when IPAM gives IPv6.
mkns C6
hrun "$H" "$P" ADD "$C6" eth0 c6 "$(printf '%s' "$C" | jq -c '. + {ipv4OnlyNoLinkLocal: true}')"
check_eq "ipv4OnlyNoLinkLocal with IPv6 from IPAM: ADD" "$RC" 0
check_eq "ipv4OnlyNoLinkLocal with IPv6 from IPAM: link-local kept" \
	"$(in_ns "$C6" ip -j -6 addr show dev eth0 | jq -r '[.[0].addr_info[] | select(.scope == "link")] | length')" 1
check_eq "ipv4OnlyNoLinkLocal with IPv6 from IPAM: accept_dad 0" "$(in_ns "$C6" cat /proc/sys/net/ipv6/conf/eth0/accept_dad)" 0
hrun "$H" "$P" DEL "$C6" eth0 c6 "$(printf '%s' "$C" | jq -c '. + {ipv4OnlyNoLinkLocal: true}')"
hrun "$H" "$P" DEL "$C4" eth0 c4 "$Q"
check_eq "ipv4OnlyNoLinkLocal: DEL" "$RC:$OUT" "0:"
hrun "$H" "$P" DEL "$C5" eth0 c5 "$D"
check_eq "no veth port left on brv4" "$(in_ns "$H" ip -j link show master brv4 | jq length)" 0
finish
