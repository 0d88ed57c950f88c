#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# ptp + host-local as a runtime runs them, inside a private "host" namespace: every spec version,
# IPv4, IPv6 and dual-stack, two containers pinging each other through the host, the routes and
# addresses of both sides read back from the kernel (ip -j), mtu, forwarding, masquerade rules in
# both layouts present after ADD and gone after DEL (also when the netns or the veth is already
# gone), the DNS override matrix, CHECK, STATUS, GC, bad configurations (code 7, nothing left),
# failures after IPAM that leave nothing behind, and DEL in every broken state.
. "$(dirname "$0")/lib.sh"
need_root ptp
P=$BIN/ptp
tmpdir DATA

# conf VERSION NAME RANGES-JSON [EXTRA-KEYS] [IPAM-EXTRA]: a ptp + host-local configuration.
conf() {
	printf '{"cniVersion":"%s","name":"%s","type":"ptp"%s,"ipam":{"type":"host-local","dataDir":"%s","ranges":%s%s}}' \
		"$1" "$2" "${4:+,$4}" "$DATA" "$3" "${5:+,$5}"
}

# Rules of the iptables layout (ip and ip6 nat, as iptables-nft writes them) that carry a CNI comment.
ipt_rules() {
	local n=0 f c
	for f in ip ip6; do
		c=$(in_ns "$1" nft -j list table "$f" nat 2>/dev/null | jq '[.nftables[] | select(.rule) | select(.rule.chain | startswith("CNI-") or . == "POSTROUTING")] | length' 2>/dev/null)
		n=$((n + ${c:-0}))
	done
	echo "$n"
}
ipt_chains() { for f in ip ip6; do in_ns "$1" nft -j list table "$f" nat 2>/dev/null | jq -r '.nftables[] | select(.chain) | .chain.name | select(startswith("CNI-"))'; done | wc -l; }
host_veths() { in_ns "$1" ip -j link show type veth | jq length; }
# Routes of a namespace as "dst gw dev scope src" lines (IPv4, or IPv6 with -6), sorted.
routes() { in_ns "$1" ip -j ${3:-} route show dev "$2" | jq -r '.[] | select(.dst | startswith("fe80") | not) | [.dst, (.gateway // "-"), (.scope // "-"), (.prefsrc // "-"), (.protocol // "-")] | join(" ")' | sort | tr '\n' ';'; }

# ---- every spec version: two containers, routes both sides, masquerade, CHECK, DEL -----------------
for v in $VERSIONS; do
	mkhost H
	C=$(conf "$v" "ptp-$v" '[[{"subnet":"10.88.0.0/24"}]]' '"ipMasq":true' '"routes":[{"dst":"0.0.0.0/0"}]')
	add_two "$H" "$P" "$C" "$v"
	hv=$(in_ns "$H" ip -j link show type veth | jq -r --arg a "$a1" '.[].ifname' | while read -r l; do
		in_ns "$H" ip -j route show dev "$l" | jq -e --arg a "$a1" 'any(.[]; .dst == $a)' >/dev/null && echo "$l"; done)
	case $v in
	0.1.0 | 0.2.0)
		check_eq "$v result ip4" "$(printf '%s' "$R1" | jq -c '[.ip4.ip, .ip4.gateway, .ip4.routes]')" "[\"$a1/24\",\"10.88.0.1\",[{\"dst\":\"0.0.0.0/0\"}]]"
		;;
	*)
		check_eq "$v result interfaces" "$(printf '%s' "$R1" | jq -c '[.interfaces[].name | sub("^veth[0-9a-f]{8}$";"veth")]')" '["veth","eth0"]'
		check_eq "$v result host veth is the one with the route" "$(printf '%s' "$R1" | jq -r '.interfaces[0].name')" "$hv"
		check_eq "$v result sandbox only on the container" "$(printf '%s' "$R1" | jq -c '[.interfaces[].sandbox]')" "[null,\"$C1\"]"
		check_eq "$v result ip on interface 1" "$(printf '%s' "$R1" | jq -c '[.ips[0].interface, .ips[0].address, .ips[0].gateway]')" "[1,\"$a1/24\",\"10.88.0.1\"]"
		check_eq "$v result MACs are the kernel's" "$(printf '%s' "$R1" | jq -r '[.interfaces[].mac] | join(" ")')" \
			"$(in_ns "$H" ip -j link show "$hv" | jq -r '.[0].address') $(in_ns "$C1" ip -j link show eth0 | jq -r '.[0].address')"
		;;
	esac
	check_eq "$v container routes" "$(routes "$C1" eth0)" \
		"10.88.0.0/24 10.88.0.1 - $a1 -;10.88.0.1 - link $a1 -;default 10.88.0.1 - - -;"
	check_eq "$v host veth holds the gateway /32" "$(in_ns "$H" ip -j addr show "$hv" | jq -c '[.[0].addr_info[] | select(.family=="inet") | [.local, .prefixlen]]')" '[["10.88.0.1",32]]'
	check_eq "$v host route to the container" "$(routes "$H" "$hv")" "$a1 - host - -;"
	check_eq "$v ip_forward on" "$(in_ns "$H" cat /proc/sys/net/ipv4/ip_forward)" 1
	check_eq "$v accept_ra off on the host veth" "$(in_ns "$H" cat /proc/sys/net/ipv6/conf/$hv/accept_ra)" 0
	check "$v c1 pings c2 through the host" ping_ok "$C1" "$a2"
	check "$v c1 pings the gateway" ping_ok "$C1" 10.88.0.1
	check_eq "$v two masquerade rules" "$(masq_rules "$H")" 2
	check_readd "$H" "$P" "$C" "$v"
	hrun "$H" "$P" DEL "$C1" eth0 c1 "$C"
	check_eq "$v DEL c1" "$RC:$OUT" "0:"
	check_eq "$v c1's veth is gone on both sides" "$(has_link "$C1" eth0):$(has_link "$H" "$hv")" no:no
	check_eq "$v one masquerade rule left" "$(masq_rules "$H")" 1
	hrun "$H" "$P" DEL "$C1" eth0 c1 "$C"
	check_eq "$v second DEL c1" "$RC:$OUT" "0:"
	ip netns del "$(basename "$C2")"
	hrun "$H" "$P" DEL "$C2" eth0 c2 "$C"
	check_eq "$v DEL c2 after its netns vanished" "$RC:$OUT" "0:"
	check_eq "$v no masquerade rule left" "$(masq_rules "$H")" 0
	hrun "$H" "$P" DEL "" eth0 c2 "$C"
	check_eq "$v DEL with an empty CNI_NETNS" "$RC:$OUT" "0:"
	check_eq "$v no reservation, no veth left" "$(files_left):$(host_veths "$H")" "0:0"
done

# ---- IPv6 only ---------------------------------------------------------------------------------------
mkhost H
mkns C1
mkns C2
C=$(conf 1.0.0 ptp6 '[[{"subnet":"fd00:86::/64"}]]' '' '"routes":[{"dst":"::/0"}]')
hrun "$H" "$P" ADD "$C1" eth0 c1 "$C"
check_eq "v6 ADD c1" "$RC" 0
R1=$OUT
hrun "$H" "$P" ADD "$C2" eth0 c2 "$C"
a1=$(ip_of "$C1" eth0 inet6)
a2=$(ip_of "$C2" eth0 inet6)
hv=$(printf '%s' "$R1" | jq -r '.interfaces[0].name')
check_eq "v6 container routes" "$(routes "$C1" eth0 -6)" \
	"default fd00:86::1 - - -;fd00:86::/64 fd00:86::1 - $a1 -;fd00:86::1 - - $a1 -;"
check_eq "v6 no connected route left" "$(in_ns "$C1" ip -j -6 route show dev eth0 proto kernel | jq -r '[.[].dst | select(startswith("fe80") | not)] | length')" 0
check_eq "v6 host veth holds the gateway /128" "$(in_ns "$H" ip -j addr show "$hv" | jq -c '[.[0].addr_info[] | select(.family=="inet6" and .scope=="global") | [.local, .prefixlen]]')" '[["fd00:86::1",128]]'
check_eq "v6 host route to the container" "$(in_ns "$H" ip -j -6 route show dev "$hv" | jq -r --arg a "$a1" '[.[] | select(.dst == $a)] | length')" 1
check_eq "v6 forwarding on" "$(in_ns "$H" cat /proc/sys/net/ipv6/conf/all/forwarding)" 1
check "v6 c1 pings the gateway" ping_ok "$C1" fd00:86::1
check "v6 c1 pings c2 through the host" ping_ok "$C1" "$a2"
hrun "$H" "$P" CHECK "$C1" eth0 c1 "$(with_prev "$C" "$R1")"
check_eq "v6 CHECK" "$RC:$OUT" "0:"
hrun "$H" "$P" DEL "$C1" eth0 c1 "$C"
hrun "$H" "$P" DEL "$C2" eth0 c2 "$C"
check_eq "v6 DEL leaves nothing" "$RC:$(files_left):$(host_veths "$H")" "0:0:0"

# ---- dual stack, CHECK failures, GC, STATUS ---------------------------------------------------------
mkhost H
mkns C1
mkns C2
C=$(conf 1.1.0 ptpd '[[{"subnet":"10.89.0.0/24"}],[{"subnet":"fd00:89::/64"}]]' '"ipMasq":true,"mtu":1400')
hrun "$H" "$P" ADD "$C1" eth0 c1 "$C"
check_eq "dual ADD c1" "$RC" 0
R1=$OUT
hrun "$H" "$P" ADD "$C2" eth0 c2 "$C"
check_eq "dual ADD c2" "$RC" 0
hv=$(printf '%s' "$R1" | jq -r '.interfaces[0].name')
check_eq "dual result ips" "$(printf '%s' "$R1" | jq -c '[.ips[] | [.interface, .gateway]]')" '[[1,"10.89.0.1"],[1,"fd00:89::1"]]'
check_eq "dual mtu on both ends" "$(in_ns "$C1" ip -j link show eth0 | jq '.[0].mtu'):$(in_ns "$H" ip -j link show "$hv" | jq '.[0].mtu')" 1400:1400
check "dual c1 pings c2 over IPv4" ping_ok "$C1" "$(ip_of "$C2")"
check "dual c1 pings c2 over IPv6" ping_ok "$C1" "$(ip_of "$C2" eth0 inet6)"
check_eq "dual 4 masquerade rules" "$(masq_rules "$H")" 4
hrun "$H" "$P" CHECK "$C1" eth0 c1 "$(with_prev "$C" "$R1")"
check_eq "dual CHECK" "$RC:$OUT" "0:"
in_ns "$H" ip addr del 10.89.0.1/32 dev "$hv"
hrun "$H" "$P" CHECK "$C1" eth0 c1 "$(with_prev "$C" "$R1")"
[[ $RC = 1 && "$OUT" == *gateway* ]] && ok "CHECK notices the missing host gateway" || fail "CHECK host gateway" "$OUT"
in_ns "$H" ip addr add 10.89.0.1/32 dev "$hv"
in_ns "$C1" ip route del 10.89.0.0/24
hrun "$H" "$P" CHECK "$C1" eth0 c1 "$(with_prev "$C" "$R1")"
check_eq "CHECK notices the missing subnet route" "$RC" 1
hrun "$H" "$P" CHECK "$C2" eth0 c2 "$(with_prev "$C" "$R1")"
check_eq "CHECK with another container's prevResult fails" "$RC" 1
G=$(printf '%s' "$C" | jq -c '. + {"cni.dev/valid-attachments":[{"containerID":"c2","ifname":"eth0"}]}')
hrun "$H" "$P" GC "" "" "" "$G"
check_eq "GC succeeds" "$RC:$OUT" "0:"
check_eq "GC left c2's two masquerade rules and reservations" "$(masq_rules "$H"):$(files_left)" 2:2
hrun "$H" "$P" GC "" "" "" "$(printf '%s' "$C" | jq -c '. + {"cni.dev/valid-attachments":[]}')"
check_eq "GC with an empty list collects everything" "$(masq_rules "$H"):$(files_left)" "0:0"
hrun "$H" "$P" DEL "$C1" eth0 c1 "$C"
hrun "$H" "$P" DEL "$C2" eth0 c2 "$C"
check_eq "DEL after GC" "$RC:$(host_veths "$H")" 0:0
hrun "$H" "$P" STATUS "" "" "" "$C"
check_eq "STATUS ready" "$RC:$OUT" "0:"
C=$(conf 1.1.0 ptpx '[[{"subnet":"10.98.0.0/30"}]]')
hrun "$H" "$P" ADD "$C1" eth0 c1 "$C"
hrun "$H" "$P" STATUS "" "" "" "$C"
check_eq "STATUS of an exhausted range is code 50" "$RC:$(err_code)" "1:50"
hrun "$H" "$P" DEL "$C1" eth0 c1 "$C"

# ---- masquerade: the iptables layout -----------------------------------------------------------------
mkhost H
mkns C1
mkns C2
C=$(conf 1.0.0 ptpi '[[{"subnet":"10.85.0.0/24"}],[{"subnet":"fd00:85::/64"}]]' '"ipMasq":true,"ipMasqBackend":"iptables"')
hrun "$H" "$P" ADD "$C1" eth0 c1 "$C"
check_eq "iptables ADD" "$RC" 0
R1=$OUT
check_eq "iptables layout: a CNI- chain per family" "$(ipt_chains "$H")" 2
check_eq "iptables layout: 3 rules per family" "$(ipt_rules "$H")" 6
check_eq "iptables layout: no inet masquerade rule" "$(masq_rules "$H")" 0
hrun "$H" "$P" CHECK "$C1" eth0 c1 "$(with_prev "$C" "$R1")"
check_eq "iptables CHECK" "$RC:$OUT" "0:"
in_ns "$H" nft flush chain ip nat "$(in_ns "$H" nft -j list table ip nat | jq -r '.nftables[] | select(.chain) | .chain.name | select(startswith("CNI-"))')"
hrun "$H" "$P" CHECK "$C1" eth0 c1 "$(with_prev "$C" "$R1")"
check_eq "iptables CHECK notices a missing rule" "$RC" 1
hrun "$H" "$P" DEL "$C1" eth0 c1 "$C"
check_eq "iptables DEL removes chains and jumps" "$RC:$(ipt_chains "$H"):$(ipt_rules "$H")" 0:0:0
hrun "$H" "$P" ADD "$C2" eth0 c2 "$C"
ip netns del "$(basename "$C2")"
hrun "$H" "$P" DEL "$C2" eth0 c2 "$C"
check_eq "iptables DEL after the netns vanished" "$RC:$(ipt_chains "$H"):$(ipt_rules "$H")" 0:0:0

# ---- DNS: IPAM's kept unless the plugin sets any field (an empty list counts) ------------------------
mkhost H
mkns C1
tmpdir ETC
printf 'nameserver 10.0.0.53\nsearch ipam.test\n' >"$ETC/resolv.conf"
dns_case() { # NAME PLUGIN-DNS-KEY-OR-EMPTY WANT-DNS-JSON
	local C
	C=$(conf 1.0.0 ptpdns '[[{"subnet":"10.84.0.0/24"}]]' "$2" "\"resolvConf\":\"$ETC/resolv.conf\"")
	hrun "$H" "$P" ADD "$C1" eth0 c1 "$C"
	check_eq "dns: $1" "$RC:$(printf '%s' "$OUT" | jq -cS '.dns // {}')" "0:$3"
	hrun "$H" "$P" DEL "$C1" eth0 c1 "$C"
}
IPAMDNS='{"nameservers":["10.0.0.53"],"search":["ipam.test"]}'
dns_case "no plugin dns keeps IPAM's" '' "$IPAMDNS"
dns_case "empty plugin dns keeps IPAM's" '"dns":{}' "$IPAMDNS"
dns_case "null nameservers keeps IPAM's" '"dns":{"nameservers":null}' "$IPAMDNS"
dns_case "empty domain keeps IPAM's" '"dns":{"domain":""}' "$IPAMDNS"
dns_case "nameservers override" '"dns":{"nameservers":["1.1.1.1"]}' '{"nameservers":["1.1.1.1"]}'
dns_case "an empty nameservers list overrides" '"dns":{"nameservers":[]}' '{}'
dns_case "an empty search list overrides" '"dns":{"search":[]}' '{}'
dns_case "options override" '"dns":{"options":["ndots:2"]}' '{"options":["ndots:2"]}'
dns_case "domain overrides" '"dns":{"domain":"plugin.test"}' '{"domain":"plugin.test"}'

# ---- DEL in every broken state -------------------------------------------------------------------------
mkhost H
C=$(conf 1.1.0 ptpb '[[{"subnet":"10.83.0.0/24"}]]' '"ipMasq":true')
mkns C1
hrun "$H" "$P" DEL "$C1" eth0 never "$C"
check_eq "DEL without ADD" "$RC:$OUT" "0:"
hrun "$H" "$P" DEL "/run/netns/cnic-no-such-ns-$T_TAG" eth0 never "$C"
check_eq "DEL with a netns that never existed" "$RC:$OUT" "0:"
hrun "$H" "$P" ADD "$C1" eth0 c1 "$C"
R1=$OUT
in_ns "$C1" ip link del eth0
hrun "$H" "$P" DEL "$C1" eth0 c1 "$C"
check_eq "DEL after the veth vanished" "$RC:$OUT" "0:"
check_eq "  rules and reservation gone" "$(masq_rules "$H"):$(files_left)" 0:0
hrun "$H" "$P" ADD "$C1" eth0 c1 "$C"
hrun "$H" "$P" DEL "" eth0 c1 "$C"
check_eq "DEL with an empty CNI_NETNS first" "$RC:$(masq_rules "$H"):$(files_left)" 0:0:0
hrun "$H" "$P" DEL "$C1" eth0 c1 "$C"
check_eq "  then the runtime's DEL removes the veth" "$RC:$(host_veths "$H")" 0:0
hrun "$H" "$P" ADD "$C1" eth0 c1 "$C"
hrun "$H" "$P" DEL "$C1" eth0 c1 "$(printf '%s' "$C" | jq -c --argjson p "$R1" '. + {prevResult: $p}')"
check_eq "DEL with a stale prevResult" "$RC:$(masq_rules "$H"):$(files_left):$(host_veths "$H")" 0:0:0:0

# ---- bad configurations: code 7 naming key and value, exit 1, nothing left ------------------------------
mkns C1
for bad in '"mtu":-1|mtu' '"mtu":70000|70000' '"ipMasqBackend":"pf"|pf'; do
	hrun "$H" "$P" ADD "$C1" eth0 c1 "$(conf 1.0.0 ptpbad '[[{"subnet":"10.82.0.0/24"}]]' "${bad%|*}")"
	[[ $RC = 1 && "$(err_code)" = 7 && "$(printf '%s' "$OUT" | jq -r .msg)" == *"${bad#*|}"* ]] &&
		ok "bad config ${bad%|*}: code 7 naming it" || fail "bad config ${bad%|*}" "$RC $OUT"
done
hrun "$H" "$P" ADD "$C1" eth0 c1 '{"cniVersion":"1.0.0","name":"ptpbad","type":"ptp"}'
check_eq "no ipam: code 7" "$RC:$(err_code)" "1:7"
hrun "$H" "$P" ADD "$C1" eth0 c1 '{"cniVersion":"1.0.0","name":"ptpbad","type":"ptp","ipam":{}}'
check_eq "empty ipam: code 7" "$RC:$(err_code)" "1:7"
hrun "$H" "$P" ADD "$C1" eth0 c1 '{"cniVersion":"1.0.0","name":"ptpbad","type":"ptp","mtu":"x","ipam":{"type":"host-local"}}'
check_eq "mtu of the wrong type: code 6" "$RC:$(err_code)" "1:6"
check_eq "bad configs left nothing" "$(has_link "$C1" eth0):$(host_veths "$H"):$(files_left)" "no:0:0"

# ---- failures after IPAM leave nothing behind -----------------------------------------------------------
hrun "$H" "$P" ADD "$C1" eth0 c1 '{"cniVersion":"1.0.0","name":"f","type":"ptp","ipam":{"type":"no-such-ipam"}}'
check_eq "missing IPAM plugin fails" "$RC:$(has_link "$C1" eth0)" "1:no"
C=$(conf 1.0.0 ptpf '[[{"subnet":"10.81.0.0/24"}]]' '"ipMasq":true' '"routes":[{"dst":"10.200.0.0/16","gw":"192.0.2.1"}]')
hrun "$H" "$P" ADD "$C1" eth0 c1 "$C"
check_eq "failing route after IPAM" "$RC" 1
check_eq "  released the address, removed the veth, no rule" "$(files_left):$(has_link "$C1" eth0):$(host_veths "$H"):$(masq_rules "$H")" "0:no:0:0"
C=$(printf '{"cniVersion":"1.0.0","name":"ptpf","type":"ptp","ipam":{"type":"static","addresses":[{"address":"10.80.0.5/24"}]}}')
hrun "$H" "$P" ADD "$C1" eth0 c1 "$C"
[[ $RC = 1 && "$OUT" == *"no gateway"* ]] && ok "an IPAM result without gateway is refused by name" || fail "no gateway" "$OUT"
check_eq "  and leaves no veth" "$(has_link "$C1" eth0):$(host_veths "$H")" "no:0"
in_ns "$C1" ip link add eth0 type veth peer name eth0p
hrun "$H" "$P" ADD "$C1" eth0 c1 "$(conf 1.0.0 ptpf '[[{"subnet":"10.79.0.0/24"}]]')"
check_eq "ifname taken: refused" "$RC" 1
check_eq "  existing eth0 untouched, no reservation, no host veth" "$(in_ns "$C1" ip -j link show eth0 | jq -r '.[0].ifname'):$(files_left):$(host_veths "$H")" "eth0:0:0"

# ---- the example configuration list works as is (dataDir redirected) ------------------------------------
EX=$TOP/conf/examples/ptp.conflist
mkhost H
mkns C1
if [ -f "$EX" ]; then
	C=$(jq -c --arg d "$DATA" '.plugins[0] + {cniVersion, name} | .ipam.dataDir = $d' "$EX")
	hrun "$H" "$P" ADD "$C1" eth0 ex "$C"
	R1=$OUT
	check_eq "conf/examples/ptp.conflist ADD" "$RC:$(printf '%s' "$R1" | jq -c '[(.ips | length), .dns.nameservers]')" '0:[2,["10.87.0.1"]]'
	check "  pings its gateway" ping_ok "$C1" 10.87.0.1
	hrun "$H" "$P" CHECK "$C1" eth0 ex "$(with_prev "$C" "$R1")"
	check_eq "  CHECK" "$RC:$OUT" "0:"
	hrun "$H" "$P" DEL "$C1" eth0 ex "$C"
	check_eq "  DEL leaves nothing" "$RC:$(files_left):$(masq_rules "$H"):$(host_veths "$H")" "0:0:0:0"
else
	fail "conf/examples/ptp.conflist" "missing"
fi
finish
