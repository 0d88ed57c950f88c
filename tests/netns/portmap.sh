#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# portmap chained after our bridge + host-local, as a runtime runs them, inside private "host"
# namespaces: TCP through a host port from the host (its address and 127.0.0.1) and from another
# container, hairpin (a container reaching itself), hostIP restriction, IPv6, a UDP flow that
# follows its host port to a second container (conntrack flushed), both layouts (nftables, the
# default, and iptables), every spec version, CHECK (IPv4-only passes), DEL twice, DEL without
# ADD, DEL with the netns gone, GC, "ADD B with A's IP, DEL A keeps B", bad configurations, and
# the iptables layout and results compared with the reference plugin's (/usr/lib/cni/portmap).
# Needs socat (installed with apt when missing: tests/deps.sh should list it).
. "$(dirname "$0")/lib.sh"
need_root portmap
P=$BIN/portmap
B=$BIN/bridge
REFP=$REF/portmap
tmpdir DATA
if ! command -v socat >/dev/null 2>&1; then
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq socat >/dev/null 2>&1
fi
if ! command -v socat >/dev/null 2>&1; then
	skip portmap "socat is not installed"
	exit 0
fi
if ! unshare -n nft list ruleset >/dev/null 2>&1; then
	skip portmap "nftables does not answer"
	exit 0
fi
PIDS=""
on_exit 'for p in $PIDS; do kill $p; done'

# bconf VERSION NAME: bridge + host-local, dual stack
bconf() {
	printf '{"cniVersion":"%s","name":"%s","type":"bridge","bridge":"pmbr0","isGateway":true,"hairpinMode":true,"ipam":{"type":"host-local","dataDir":"%s","ranges":[[{"subnet":"10.88.0.0/24"}],[{"subnet":"fd00:88::/64"}]],"routes":[{"dst":"0.0.0.0/0"},{"dst":"::/0"}]}}' \
		"$1" "$2" "$DATA"
}
# pconf VERSION NAME MAPPINGS-JSON [EXTRA-KEYS] [PREV-JSON]
pconf() {
	local c
	c=$(printf '{"cniVersion":"%s","name":"%s","type":"portmap","runtimeConfig":{"portMappings":%s}%s}' \
		"$1" "$2" "$3" "${4:+,$4}")
	if [ -n "${5:-}" ]; then
		with_prev "$c" "$5"
	else
		printf '%s' "$c"
	fi
}
# attach HOST NETNS CID MAPPINGS [EXTRA] [VERSION]: bridge then portmap ADD; $R = bridge result
attach() {
	local v=${6:-1.0.0}
	hrun "$1" "$B" ADD "$2" eth0 "$3" "$(bconf "$v" pmnet)"
	R=$OUT
	[ "$RC" = 0 ] || return 1
	hrun "$1" "$P" ADD "$2" eth0 "$3" "$(pconf "$v" pmnet "$4" "${5:-}" "$R")"
	[ "$RC" = 0 ]
}
detach() {
	hrun "$1" "$P" DEL "$2" eth0 "$3" "$(pconf "${6:-1.0.0}" pmnet "$4" "${5:-}")"
	local rc=$RC
	hrun "$1" "$B" DEL "$2" eth0 "$3" "$(bconf "${6:-1.0.0}" pmnet)"
	[ "$rc" = 0 ] && [ "$RC" = 0 ]
}
# serve NETNS NAME PORT [udp|tcp6]: a server answering its name
serve() {
	local addr="TCP-LISTEN:$3,fork,reuseaddr"
	[ "${4:-}" = udp ] && addr="UDP-RECVFROM:$3,fork,reuseaddr"
	[ "${4:-}" = tcp6 ] && addr="TCP6-LISTEN:$3,fork,reuseaddr,ipv6only=1"
	# ip netns exec execs socat: $! is socat (in_ns ... & would be a subshell, socat would stay)
	ip netns exec "$(basename "$1")" socat "$addr" SYSTEM:"echo $2" >/dev/null 2>&1 &
	PIDS="$PIDS $!"
}
ready() { in_ns "$1" ss -ln${3:-t} | grep -q ":$2 "; }
# the bridge's IPv6 address out of DAD
v6_ready() { ! in_ns "$1" ip -6 addr show dev pmbr0 | grep -q tentative; }
rules_of() { in_ns "$1" nft -j list ruleset 2>/dev/null | jq --arg c "$2" '[.nftables[] | select(.rule.comment? == $c)] | length'; }

# ---- traffic through the nftables layout ------------------------------------------------------
mkhost H
mkns C1
mkns C2
in_ns "$H" ip addr add 192.0.2.1/32 dev lo
M1='[{"hostPort":8080,"containerPort":80,"protocol":"tcp"},{"hostPort":8081,"containerPort":80,"protocol":"tcp","hostIP":"192.0.2.1"},{"hostPort":8053,"containerPort":53,"protocol":"udp"},{"hostPort":8086,"containerPort":80,"protocol":"tcp","hostIP":"::"}]'
if attach "$H" "$C1" c1 "$M1"; then ok "ADD bridge + portmap"; else fail "ADD bridge + portmap" "$OUT"; fi
check_eq "ADD passes the bridge result through" "$(printf '%s' "$OUT" | jq -cS .)" "$(printf '%s' "$R" | jq -cS .)"
hrun "$H" "$B" ADD "$C2" eth0 c2 "$(bconf 1.0.0 pmnet)"
a1=$(ip_of "$C1")
serve "$C1" c1 80
serve "$C1" c1-6 80 tcp6
serve "$C1" c1 53 udp
poll_until 2000 ready "$C1" 80
poll_until 2000 ready "$C1" 53 u
poll_until 5000 v6_ready "$H"
check_eq "host reaches the host port on its own address" "$(ask "$H" 10.88.0.1 8080)" c1
check_eq "host reaches the host port on 127.0.0.1 (route_localnet)" "$(ask "$H" 127.0.0.1 8080)" c1
check_eq "route_localnet set on the bridge" "$(in_ns "$H" cat /proc/sys/net/ipv4/conf/pmbr0/route_localnet)" 1
if command -v strace >/dev/null; then
	# read over rtnetlink (RTM_GETLINK) on every ADD, written through /proc/sys only when off
	# (a SETLINK would also send NETDEV_CHANGE: route cache flush, MLD, RTM_NEWLINK)
	tmpdir XP
	for was in 1 0; do
		hrun "$H" "$P" DEL "$C1" eth0 c1 "$(pconf 1.0.0 pmnet "$M1")"
		in_ns "$H" sh -c "echo $was >/proc/sys/net/ipv4/conf/pmbr0/route_localnet"
		OUT=$(printf '%s' "$(pconf 1.0.0 pmnet "$M1" "" "$R")" | ip netns exec "$H" env CNI_COMMAND=ADD \
			CNI_NETNS="$C1" CNI_IFNAME=eth0 CNI_CONTAINERID=c1 CNI_PATH="$BIN" ASAN_OPTIONS=detect_leaks=0 \
			strace -f -qq -e trace=openat -o "$XP/trace" "$P")
		check_eq "route_localnet $was before ADD: /proc/sys opened $((1 - was)) times, on after" \
			"$?:$(grep -c route_localnet "$XP/trace"):$(in_ns "$H" cat /proc/sys/net/ipv4/conf/pmbr0/route_localnet)" \
			"0:$((1 - was)):1"
	done
else
	skip "route_localnet over rtnetlink" "strace not installed"
fi
check_eq "another container reaches the host port" "$(ask "$C2" 10.88.0.1 8080)" c1
check_eq "hairpin: the container reaches itself through the host port" "$(ask "$C1" 10.88.0.1 8080)" c1
check_eq "hostIP: mapped on 192.0.2.1" "$(ask "$H" 192.0.2.1 8081)" c1
check_eq "hostIP: not on another host address" "$(ask "$H" 10.88.0.1 8081)" ""
check_eq "IPv6: the host reaches [fd00:88::1]:8080" "$(ask "$H" '[fd00:88::1]' 8080)" c1-6
check_eq "IPv6: hostIP :: means any" "$(ask "$H" '[fd00:88::1]' 8086)" c1-6
check_eq "IPv6: the v4-only hostIP mapping is not in ip6" "$(in_ns "$H" nft list chain ip6 cni_hostport hostports | grep -c 8081)" 0
got=$(ask "$H" 10.88.0.1 8053 udp 40001)
[ "$got" = c1 ] || { in_ns "$H" conntrack -L 2>&1 | sed 's/^/# ct /'; in_ns "$C1" ss -lnup | sed 's/^/# ss /'; }
check_eq "UDP reaches c1" "$got" c1
check_eq "conntrack has the UDP flow" "$(in_ns "$H" conntrack -L -p udp --orig-port-dst 8053 2>/dev/null | grep -c 40001)" 1

hrun "$H" "$P" CHECK "$C1" eth0 c1 "$(pconf 1.0.0 pmnet "$M1" "" "$R")"
check_eq "CHECK after ADD" "$RC:$OUT" "0:"
in_ns "$H" nft delete rule ip cni_hostport hostports handle \
	"$(in_ns "$H" nft -a list chain ip cni_hostport hostports | sed -n 's/.*8080.*handle \([0-9]*\)$/\1/p')"
hrun "$H" "$P" CHECK "$C1" eth0 c1 "$(pconf 1.0.0 pmnet "$M1" "" "$R")"
check_eq "CHECK notices a missing rule" "$RC:$(printf '%s' "$OUT" | jq -r .msg | grep -c 'host port 8080')" "1:1"

# the UDP host port moves to c2: the same flow (same source port) now reaches c2
hrun "$H" "$P" DEL "$C1" eth0 c1 "$(pconf 1.0.0 pmnet "$M1")"
check_eq "DEL c1's mappings" "$RC:$OUT" "0:"
check_eq "DEL flushed the UDP conntrack entry" "$(in_ns "$H" conntrack -L -p udp --orig-port-dst 8053 2>/dev/null | grep -c 40001)" 0
check_eq "no rule of c1 left" "$(rules_of "$H" c1)" 0
R2=$(printf '%s' "$OUT")
serve "$C2" c2 53 udp
poll_until 2000 ready "$C2" 53 u
# c2's prevResult: rebuild it from its interface (the bridge ADD output was not kept)
a2=$(ip_of "$C2")
PREV2=$(jq -cn --arg a "$a2/24" --arg s "$C2" '{cniVersion:"1.0.0",interfaces:[{name:"eth0",sandbox:$s}],ips:[{address:$a,interface:0}]}')
hrun "$H" "$P" ADD "$C2" eth0 c2 "$(pconf 1.0.0 pmnet '[{"hostPort":8053,"containerPort":53,"protocol":"udp"}]' "" "$PREV2")"
check_eq "ADD c2 takes the UDP port" "$RC" 0
got=$(ask "$H" 10.88.0.1 8053 udp 40001)
if [ "$got" != c2 ]; then
	echo "# DEBUG got=$got"; in_ns "$H" conntrack -L 2>&1 | sed 's/^/# /'; in_ns "$C2" ss -lnup | sed 's/^/# /'
	in_ns "$H" nft list ruleset | sed 's/^/# /' | head -50; echo "# again: $(ask "$H" 10.88.0.1 8053 udp 40001)"
	in_ns "$H" conntrack -L 2>&1 | sed 's/^/# /'
fi
check_eq "the same UDP flow now reaches c2" "$got" c2
# a flow left behind by nobody's DEL: ADD flushes it too
in_ns "$H" conntrack -L -p udp --orig-port-dst 8053 2>/dev/null | grep -q 40001 && ok "c2's flow is tracked" || fail "c2's flow is tracked"
hrun "$H" "$P" ADD "$C2" eth0 c2 "$(pconf 1.0.0 pmnet '[{"hostPort":8053,"containerPort":53,"protocol":"udp"}]' "" "$PREV2")"
check_eq "ADD flushes the UDP entries of its ports" "$(in_ns "$H" conntrack -L -p udp --orig-port-dst 8053 2>/dev/null | grep -c 40001)" 0

# DEL twice, DEL with the netns gone, DEL without ADD, DEL without prevResult or runtimeConfig
hrun "$H" "$P" DEL "$C2" eth0 c2 "$(pconf 1.0.0 pmnet '[]')"
check_eq "DEL without mappings still removes the rules" "$RC:$(rules_of "$H" c2)" "0:0"
hrun "$H" "$P" DEL "$C2" eth0 c2 "$(pconf 1.0.0 pmnet '[]')"
check_eq "second DEL" "$RC:$OUT" "0:"
ip netns del "$(basename "$C1")"
hrun "$H" "$P" DEL "$C1" eth0 c1 "$(pconf 1.0.0 pmnet "$M1")"
check_eq "DEL with the netns gone" "$RC:$OUT" "0:"
hrun "$H" "$P" DEL "" eth0 never "$(pconf 1.0.0 pmnet "$M1")"
check_eq "DEL without ADD (no netns)" "$RC:$OUT" "0:"
mkhost H0
hrun "$H0" "$P" DEL "" eth0 never "$(pconf 1.0.0 pmnet "$M1")"
check_eq "DEL on a host without any table" "$RC:$OUT" "0:"
check_eq "  and it creates nothing" "$(in_ns "$H0" nft list ruleset | wc -l)" 0

# ---- the iptables layout: traffic, CHECK, DEL ---------------------------------------------
mkhost HI
mkns I1
mkns I2
MI='[{"hostPort":9080,"containerPort":80,"protocol":"tcp"},{"hostPort":9053,"containerPort":53,"protocol":"udp"}]'
if attach "$HI" "$I1" i1 "$MI" '"backend":"iptables"'; then ok "iptables: ADD"; else fail "iptables: ADD" "$OUT"; fi
RI=$R
hrun "$HI" "$B" ADD "$I2" eth0 i2 "$(bconf 1.0.0 pmnet)"
serve "$I1" i1 80
poll_until 2000 ready "$I1" 80
check_eq "iptables: host reaches the host port" "$(ask "$HI" 10.88.0.1 9080)" i1
check_eq "iptables: 127.0.0.1 too" "$(ask "$HI" 127.0.0.1 9080)" i1
check_eq "iptables: another container" "$(ask "$I2" 10.88.0.1 9080)" i1
check_eq "iptables: hairpin" "$(ask "$I1" 10.88.0.1 9080)" i1
check_eq "iptables: iptables -S lists the DNAT" "$(in_ns "$HI" iptables -t nat -S | grep -c -- "-j DNAT --to-destination $(ip_of "$I1"):80")" 1
hrun "$HI" "$P" CHECK "$I1" eth0 i1 "$(pconf 1.0.0 pmnet "$MI" '"backend":"iptables"' "$RI")"
check_eq "iptables: CHECK" "$RC:$OUT" "0:"
# IPv4-only container: CHECK passes (the reference fails: plugins#819)
PREV4=$(printf '%s' "$RI" | jq -c '.ips |= map(select(.address | contains(".")))')
hrun "$HI" "$P" CHECK "$I1" eth0 i1 "$(pconf 1.0.0 pmnet "$MI" '"backend":"iptables"' "$PREV4")"
check_eq "iptables: CHECK of an IPv4-only container" "$RC:$OUT" "0:"
hrun "$HI" "$P" DEL "$I1" eth0 i1 "$(pconf 1.0.0 pmnet "$MI" '"backend":"iptables"')"
check_eq "iptables: DEL" "$RC:$OUT" "0:"
check_eq "iptables: the container chain is gone" "$(in_ns "$HI" iptables -t nat -S | grep -c CNI-DN-)" 0
check_eq "iptables: host port no longer mapped" "$(ask "$HI" 10.88.0.1 9080)" ""
hrun "$HI" "$P" DEL "$I1" eth0 i1 "$(pconf 1.0.0 pmnet "$MI" '"backend":"iptables"')"
check_eq "iptables: second DEL" "$RC:$OUT" "0:"

# ---- every spec version: result passed through, CHECK, DEL --------------------------------
for v in $VERSIONS; do
	mkhost HV
	mkns V
	if attach "$HV" "$V" "v-$v" '[{"hostPort":8080,"containerPort":80,"protocol":"tcp"}]' "" "$v"; then
		ok "$v ADD"
	else
		fail "$v ADD" "$OUT"
	fi
	check_eq "$v result passed through" "$(printf '%s' "$OUT" | jq -cS .)" "$(printf '%s' "$R" | jq -cS .)"
	check_eq "$v rules written (v4: DNAT + 2 masquerade, v6: DNAT + 1)" "$(rules_of "$HV" "v-$v")" 5
	if [[ $v == 0.4.0 || $v == 1.* ]]; then
		hrun "$HV" "$P" CHECK "$V" eth0 "v-$v" "$(pconf "$v" pmnet '[{"hostPort":8080,"containerPort":80,"protocol":"tcp"}]' "" "$R")"
		check_eq "$v CHECK" "$RC:$OUT" "0:"
	fi
	detach "$HV" "$V" "v-$v" '[{"hostPort":8080,"containerPort":80,"protocol":"tcp"}]' "" "$v"
	check_eq "$v DEL leaves no rule" "$RC:$(rules_of "$HV" "v-$v")" "0:0"
done

# ---- no mappings, not chained --------------------------------------------------------------
mkhost HN
PREVX='{"cniVersion":"1.0.0","interfaces":[{"name":"eth0","sandbox":"/x"}],"ips":[{"address":"10.9.0.2/24","interface":0}]}'
hrun "$HN" "$P" ADD /x eth0 n1 "$(pconf 1.0.0 pmnet '[]' "" "$PREVX")"
check_eq "no mappings: prevResult out unchanged" "$RC:$(printf '%s' "$OUT" | jq -cS .)" "0:$(printf '%s' "$PREVX" | jq -cS .)"
check_eq "no mappings: no table made" "$(in_ns "$HN" nft list ruleset | wc -l)" 0
hrun "$HN" "$P" ADD /x eth0 n1 "$(pconf 1.0.0 pmnet '[{"hostPort":1,"containerPort":1,"protocol":"tcp"}]')"
check_eq "ADD without prevResult refused" "$RC:$(printf '%s' "$OUT" | jq -r .msg)" "1:must be called as chained plugin"
# prevResult interface without index or sandbox: the address is taken (reference test)
hrun "$HN" "$P" ADD /x eth0 n2 "$(pconf 1.0.0 pmnet '[{"hostPort":7,"containerPort":7,"protocol":"tcp"}]' "" '{"cniVersion":"1.0.0","interfaces":[{"name":"host"}],"ips":[{"address":"10.9.0.3/24"}]}')"
check_eq "IP without interface index is used" "$RC:$(rules_of "$HN" n2)" "0:3"
hrun "$HN" "$P" ADD /x eth0 n3 "$(pconf 1.0.0 pmnet '[{"hostPort":7,"containerPort":7,"protocol":"tcp"}]' "" '{"cniVersion":"1.0.0","interfaces":[{"name":"veth0"}],"ips":[{"address":"10.9.0.4/24","interface":0}]}')"
check_eq "IP of a host interface is skipped" "$RC:$(rules_of "$HN" n3)" "0:0"

# ---- ADD B with A's IP, DEL A keeps B; GC ------------------------------------------------------
hrun "$HN" "$P" ADD /x eth0 A "$(pconf 1.0.0 pmnet '[{"hostPort":80,"containerPort":80,"protocol":"tcp"}]' "" "$PREVX")"
hrun "$HN" "$P" ADD /x eth0 B "$(pconf 1.0.0 pmnet '[{"hostPort":81,"containerPort":80,"protocol":"tcp"}]' "" "$PREVX")"
hrun "$HN" "$P" DEL /x eth0 A "$(pconf 1.0.0 pmnet '[{"hostPort":80,"containerPort":80,"protocol":"tcp"}]')"
check_eq "DEL A leaves A nothing" "$(rules_of "$HN" A)" 0
check_eq "DEL A keeps B's rules (same IP)" "$(rules_of "$HN" B)" 3
hrun "$HN" "$P" ADD /x eth0 K "$(pconf 1.0.0 pmnet '[{"hostPort":82,"containerPort":80,"protocol":"tcp"}]' "" "$PREVX")"
hrun "$HN" "$P" ADD /x eth0 O "$(pconf 1.0.0 othernet '[{"hostPort":83,"containerPort":80,"protocol":"tcp"}]' "" "$PREVX")"
hrun "$HN" "$P" ADD /x eth0 IK "$(pconf 1.0.0 pmnet '[{"hostPort":84,"containerPort":80,"protocol":"tcp"}]' '"backend":"iptables"' "$PREVX")"
hrun "$HN" "$P" ADD /x eth0 ID "$(pconf 1.0.0 pmnet '[{"hostPort":85,"containerPort":80,"protocol":"tcp"}]' '"backend":"iptables"' "$PREVX")"
GC='{"cniVersion":"1.1.0","name":"pmnet","type":"portmap","cni.dev/valid-attachments":[{"containerID":"K","ifname":"eth0"},{"containerID":"IK","ifname":"eth0"}]}'
hrun "$HN" "$P" GC "" "" "" "$GC"
check_eq "GC" "$RC:$OUT" "0:"
check_eq "GC removed B" "$(rules_of "$HN" B):$(rules_of "$HN" n2)" "0:0"
check_eq "GC kept K" "$(rules_of "$HN" K)" 3
check_eq "GC kept another network's rules" "$(rules_of "$HN" O)" 3
check_eq "GC: iptables chain of IK kept, of ID removed" "$(in_ns "$HN" iptables -t nat -S | grep -c -- '-N CNI-DN-')" 1
check "GC: IK's chain is the one left" in_ns "$HN" sh -c "iptables -t nat -S | grep -q 'id: \\\\\"IK\\\\\"'"

# ---- bad configurations: code 7 naming the key ---------------------------------------------
bad() { # NAME EXTRA-KEYS MAPPINGS WANT-IN-MSG
	hrun "$HN" "$P" ADD /x eth0 bad "$(pconf 1.0.0 pmnet "$3" "$2" "$PREVX")"
	if [ "$RC" != 0 ] && [ "$(err_code)" = 7 ] && printf '%s' "$OUT" | jq -r .msg | grep -qF -- "$4"; then
		ok "bad config: $1"
	else
		fail "bad config: $1" "$OUT"
	fi
}
PM1='[{"hostPort":80,"containerPort":80,"protocol":"tcp"}]'
bad "markMasqBit 32" '"markMasqBit":32' "$PM1" "MasqMarkBit must be between 0 and 31"
bad "externalSetMarkChain longer than a chain name" "\"externalSetMarkChain\":\"$(printf 'M%.0s' $(seq 70000))\"" "$PM1" "longer than 28 bytes"
bad "markMasqBit with externalSetMarkChain" '"markMasqBit":3,"externalSetMarkChain":"X"' "$PM1" "Cannot specify externalSetMarkChain and markMasqBit"
bad "iptables options with backend nftables" '"backend":"nftables","externalSetMarkChain":"KUBE-MARK-MASQ","conditionsV4":["-a","b"],"conditionsV6":["-c","d"]' "$PM1" "nftables backend was requested but configuration contains iptables-specific options [externalSetMarkChain conditionsV4 conditionsV6]"
bad "nftables options with backend iptables" '"backend":"iptables","conditionsV4":["aaa","bbbb"],"conditionsV6":["ccc"]' "$PM1" "iptables backend was requested but configuration contains nftables-specific options [conditionsV4 conditionsV6]"
bad "unknown backend" '"backend":"ebtables"' "$PM1" 'invalid backend "ebtables"'
bad "host port 0" "" '[{"hostPort":0,"containerPort":80,"protocol":"tcp"}]' "Invalid host port number: 0"
bad "container port -1" "" '[{"hostPort":80,"containerPort":-1,"protocol":"tcp"}]' "Invalid container port number: -1"
bad "protocol icmp" "" '[{"hostPort":80,"containerPort":80,"protocol":"icmp"}]' 'invalid protocol "icmp"'
bad "hostIP not an address" "" '[{"hostPort":80,"containerPort":80,"protocol":"tcp","hostIP":"x"}]' 'invalid hostIP "x"'
bad "unsupported condition" '"conditionsV4":["meta","mark","1"]' "$PM1" "conditionsV4"

# conditions: nft syntax and iptables syntax both take effect
mkhost HC
hrun "$HC" "$P" ADD /x eth0 cn "$(pconf 1.0.0 pmnet "$PM1" '"conditionsV4":["ip daddr != 10.0.0.0/8", "iifname", "\"eth0\""]' "$PREVX")"
check_eq "nft conditions in the entry rules" "$RC:$(in_ns "$HC" nft list chain ip cni_hostport prerouting | grep -c 'ip daddr != 10.0.0.0/8 iifname "eth0" fib daddr type local jump hostports_all')" "0:1"
hrun "$HC" "$P" ADD /x eth0 ci "$(pconf 1.0.0 pmnet "$PM1" '"conditionsV4":["!","-d","10.0.0.0/8","-i","eth0"]' "$PREVX")"
check_eq "iptables conditions in the entry rule" "$RC:$(in_ns "$HC" iptables -t nat -S CNI-HOSTPORT-DNAT | grep -c -- '! -d 10.0.0.0/8 -i eth0 -p tcp')" "0:1"
# malformed conditions: ADD answers code 7 with a message and leaves nothing; DEL succeeds, and
# removes what an earlier ADD of the same container installed with valid conditions
for conds in '["!"]' '["-d","10.0.0.0/8","!"]' '["! -d 10.0.0.0/8 !"]' '["!","-d"]' '["-m"]' '["-s",""]' '["iifname","!="]'; do
	hrun "$HC" "$P" ADD /x eth0 cbad "$(pconf 1.0.0 pmnet "$PM1" "\"conditionsV4\":$conds" "$PREVX")"
	msg=$(printf '%s' "$OUT" | jq -r '.msg // empty' 2>/dev/null)
	if [ "$RC" = 1 ] && [ "$(err_code)" = 7 ] && [ -n "$msg" ] && [ "${msg#*null}" = "$msg" ] &&
		[ "$(rules_of "$HC" cbad)" = 0 ] && ! in_ns "$HC" iptables -t nat -S | grep -q 'cbad'; then
		ok "ADD with conditionsV4 $conds: a clean error ($msg)"
	else
		fail "ADD with conditionsV4 $conds: a clean error" "rc $RC: $OUT"
	fi
	hrun "$HC" "$P" DEL /x eth0 cbad "$(pconf 1.0.0 pmnet "$PM1" "\"conditionsV4\":$conds")"
	check_eq "DEL with conditionsV4 $conds" "$RC:$OUT" "0:"
done
hrun "$HC" "$P" ADD /x eth0 cbad "$(pconf 1.0.0 pmnet "$PM1" '"conditionsV4":["-d","10.0.0.0/8"]' "$PREVX")"
check_eq "ADD cbad with valid conditions" "$RC:$(in_ns "$HC" iptables -t nat -S | grep -c 'id: \\"cbad\\"')" "0:1"
hrun "$HC" "$P" DEL /x eth0 cbad "$(pconf 1.0.0 pmnet "$PM1" '"conditionsV4":["-d","10.0.0.0/8","!"]')"
check_eq "DEL with a malformed condition removes cbad's rules" "$RC:$(in_ns "$HC" iptables -t nat -S | grep -c 'cbad')" "0:0"
hrun "$HC" "$P" GC "" "" "" '{"cniVersion":"1.1.0","name":"pmnet","type":"portmap","conditionsV4":["!"],"cni.dev/valid-attachments":[{"containerID":"cn","ifname":"eth0"},{"containerID":"ci","ifname":"eth0"}]}'
check_eq "GC with a malformed condition" "$RC:$OUT" "0:"

# ---- differential: the reference's iptables layout and results --------------------------------
if [ -x "$REFP" ]; then
	DM='[{"hostPort":8080,"containerPort":80,"protocol":"tcp"},{"hostPort":8053,"containerPort":53,"protocol":"udp","hostIP":"127.0.0.1"},{"hostPort":8443,"containerPort":443,"protocol":"tcp","hostIP":"::"}]'
	DPREV='{"cniVersion":"1.0.0","interfaces":[{"name":"eth0","sandbox":"/x"}],"ips":[{"address":"10.6.0.2/24","interface":0},{"address":"fd00:6::2/64","interface":0}]}'
	for extra in '"snat":true' '"snat":false' '"markMasqBit":5' '"externalSetMarkChain":"KUBE-MARK-MASQ"' '"masqAll":true' '"conditionsV4":["-d","192.0.2.0/24"]'; do
		mkhost HR
		mkhost HO
		if [[ $extra == *KUBE* ]]; then
			for h in "$HR" "$HO"; do
				in_ns "$h" iptables -t nat -N KUBE-MARK-MASQ
				in_ns "$h" ip6tables -t nat -N KUBE-MARK-MASQ
			done
		fi
		cfg=$(pconf 1.0.0 pm "$DM" "$extra" "$DPREV")
		hrun "$HR" "$REFP" ADD /x eth0 cid1 "$cfg"
		ref_out=$(printf '%s' "$OUT" | norm)
		ref_rc=$RC
		hrun "$HO" "$P" ADD /x eth0 cid1 "$(printf '%s' "$cfg" | jq -c '. + {backend:"iptables"}')"
		check_eq "vs reference ($extra): ADD result" "$RC:$(printf '%s' "$OUT" | norm)" "$ref_rc:$ref_out"
		if [[ $extra == *masqAll* ]] && ! in_ns "$HR" iptables -t nat -S | grep -q 0.0.0.0/0; then
			# Debian 1.1.1 predates masqAll: nothing to compare the layout with
			skip "vs reference ($extra): iptables layout" "the reference predates masqAll"
		else
			check_eq "vs reference ($extra): iptables -S" "$(in_ns "$HO" sh -c 'iptables -t nat -S; ip6tables -t nat -S')" \
				"$(in_ns "$HR" sh -c 'iptables -t nat -S; ip6tables -t nat -S')"
		fi
		# each DEL removes the other's layout
		hrun "$HR" "$P" DEL /x eth0 cid1 "$(printf '%s' "$cfg" | jq -c '. + {backend:"iptables"}')"
		check_eq "vs reference ($extra): our DEL removes the reference's chain" "$RC:$(in_ns "$HR" iptables -t nat -S | grep -c CNI-DN-)" "0:0"
		hrun "$HO" "$REFP" DEL /x eth0 cid1 "$cfg"
		check_eq "vs reference ($extra): its DEL removes ours" "$RC:$(in_ns "$HO" iptables -t nat -S | grep -c CNI-DN-)" "0:0"
	done
	mkhost HR
	hrun "$HR" "$REFP" ADD /x eth0 cid1 "$(pconf 1.0.0 pm '[]' "" "$DPREV")"
	ref_out=$(printf '%s' "$OUT" | norm)
	hrun "$HR" "$P" ADD /x eth0 cid1 "$(pconf 1.0.0 pm '[]' "" "$DPREV")"
	check_eq "vs reference: no mappings" "$(printf '%s' "$OUT" | norm)" "$ref_out"
	for v in $VERSIONS; do
		[ "$v" = 1.1.0 ] && continue # the Debian 1.1.1 reference does not accept 1.1.0
		vprev=$(printf '%s' "$DPREV" | jq -c --arg v "$v" '.cniVersion = $v | if ($v|startswith("0.")) then .ips |= map(. + {version: (if (.address|contains(":")) then "6" else "4" end)}) else . end')
		[[ $v == 0.1.0 || $v == 0.2.0 ]] && vprev='{"cniVersion":"'$v'","ip4":{"ip":"10.6.0.2/24"},"ip6":{"ip":"fd00:6::2/64"}}'
		hrun "$HR" "$REFP" ADD /x eth0 cid1 "$(pconf "$v" pm "$DM" "" "$vprev")"
		ref_out=$(printf '%s' "$OUT" | norm)
		hrun "$HR" "$P" ADD /x eth0 cid2 "$(pconf "$v" pm "$DM" "" "$vprev")"
		check_eq "vs reference: $v result" "$(printf '%s' "$OUT" | norm)" "$ref_out"
		hrun "$HR" "$REFP" DEL /x eth0 cid1 "$(pconf "$v" pm "$DM")"
		hrun "$HR" "$P" DEL /x eth0 cid2 "$(pconf "$v" pm "$DM")"
	done
else
	skip "vs reference" "$REFP is not installed"
fi
finish
