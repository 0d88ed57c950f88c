#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# bridge + host-local as a runtime runs them, inside a private "host" namespace: every spec
# version, IPv4, IPv6 and dual-stack, two containers pinging each other and the gateway, every
# key read back from the kernel (ip -j, bridge -j, nft -j, sysctls), masquerade rules present after
# ADD and gone after DEL (also when the netns is already gone), GC, STATUS, CHECK, failures that
# leave nothing behind, and DEL twice / without ADD everywhere.
. "$(dirname "$0")/lib.sh"
need_root bridge
P=$BIN/bridge
tmpdir DATA

# conf VERSION BRIDGE SUBNETS-JSON [EXTRA-KEYS]: a bridge + host-local configuration.
conf() {
	printf '{"cniVersion":"%s","name":"%s","type":"bridge","bridge":"%s"%s,"ipam":{"type":"host-local","dataDir":"%s","ranges":%s}}' \
		"$1" "net-$2" "$2" "${4:+,$4}" "$DATA" "$3"
}

no_veth() { [ "$(in_ns "$1" ip -j link show type veth | jq length)" = 0 ]; }

# ---- every spec version: two containers, gateway, masquerade, CHECK, DEL ------------------------
for v in $VERSIONS; do
	mkhost H
	mkns C1
	mkns C2
	C=$(conf "$v" br0 '[[{"subnet":"10.88.0.0/24"}]]' '"isGateway":true,"ipMasq":true')
	hrun "$H" "$P" ADD "$C1" eth0 c1 "$C"
	check_eq "$v ADD c1" "$RC" 0
	R1=$OUT
	check_eq "$v accept_ra off on the bridge" "$(in_ns "$H" cat /proc/sys/net/ipv6/conf/br0/accept_ra)" 0
	in_ns "$H" sh -c 'echo 1 >/proc/sys/net/ipv6/conf/br0/accept_ra'
	hrun "$H" "$P" ADD "$C2" eth0 c2 "$C"
	check_eq "$v ADD c2" "$RC" 0
	check_eq "$v  and it turns accept_ra off again (read over rtnetlink)" \
		"$(in_ns "$H" cat /proc/sys/net/ipv6/conf/br0/accept_ra)" 0
	a1=$(ip_of "$C1")
	a2=$(ip_of "$C2")
	case $v in
	0.1.0 | 0.2.0)
		check_eq "$v result ip4 is the container address" "$(printf '%s' "$R1" | jq -r .ip4.ip)" "$a1/24"
		check_eq "$v result gateway" "$(printf '%s' "$R1" | jq -r .ip4.gateway)" "10.88.0.1"
		;;
	*)
		check_eq "$v result interfaces" "$(printf '%s' "$R1" | jq -c '[.interfaces[].name | sub("^veth[0-9a-f]{8}$";"veth")]')" '["br0","veth","eth0"]'
		check_eq "$v result sandbox" "$(printf '%s' "$R1" | jq -r '.interfaces[2].sandbox')" "$C1"
		check_eq "$v result ip on interface 2" "$(printf '%s' "$R1" | jq -c '[.ips[0].interface, .ips[0].address, .ips[0].gateway]')" "[2,\"$a1/24\",\"10.88.0.1\"]"
		check_eq "$v result MACs are real" "$(printf '%s' "$R1" | jq -r '[.interfaces[].mac | test("^([0-9a-f]{2}:){5}[0-9a-f]{2}$")] | all')" true
		hv=$(printf '%s' "$R1" | jq -r '.interfaces[1].name')
		check_eq "$v host veth is a port of br0" "$(in_ns "$H" ip -j link show "$hv" | jq -r '.[0].master')" br0
		check_eq "$v container MAC in the result" "$(printf '%s' "$R1" | jq -r '.interfaces[2].mac')" \
			"$(in_ns "$C1" ip -j link show eth0 | jq -r '.[0].address')"
		;;
	esac
	check_eq "$v gateway on the bridge" "$(ip_of "$H" br0)" "10.88.0.1"
	check_eq "$v ip_forward on" "$(in_ns "$H" cat /proc/sys/net/ipv4/ip_forward)" 1
	check "$v c1 pings c2" ping_ok "$C1" "$a2"
	check "$v c1 pings the gateway" ping_ok "$C1" 10.88.0.1
	check_eq "$v two masquerade rules" "$(masq_rules "$H")" 2
	check_eq "$v arp_notify in the container" "$(in_ns "$C1" cat /proc/sys/net/ipv4/conf/eth0/arp_notify)" 1
	check_readd "$H" "$P" "$C" "$v"
	hrun "$H" "$P" DEL "$C1" eth0 c1 "$C"
	check_eq "$v DEL c1" "$RC:$OUT" "0:"
	check_eq "$v c1's veth is gone" "$(has_link "$C1" eth0)" no
	check_eq "$v one masquerade rule left" "$(masq_rules "$H")" 1
	hrun "$H" "$P" DEL "$C1" eth0 c1 "$C"
	check_eq "$v second DEL c1" "$RC" 0
	# The netns goes first, as when a runtime lost the container: rules and IPs still go.
	ip netns del "$(basename "$C2")"
	hrun "$H" "$P" DEL "$C2" eth0 c2 "$C"
	check_eq "$v DEL c2 after its netns vanished" "$RC" 0
	check_eq "$v no masquerade rule left" "$(masq_rules "$H")" 0
	hrun "$H" "$P" DEL "" eth0 c2 "$C"
	check_eq "$v DEL with an empty CNI_NETNS" "$RC" 0
	check_eq "$v no reservation left" "$(files_left)" 0
	# c2's host veth dies with its netns, which the kernel tears down asynchronously: poll.
	poll_until 3000 no_veth "$H"
	check_eq "$v no veth left in the host" "$(in_ns "$H" ip -j link show type veth | jq length)" 0
done

# ---- IPv6 and dual stack ------------------------------------------------------------------------
mkhost H
mkns C1
mkns C2
C=$(conf 1.1.0 br6 '[[{"subnet":"10.89.0.0/24"}],[{"subnet":"fd00:89::/64"}]]' '"isDefaultGateway":true,"ipMasq":true')
hrun "$H" "$P" ADD "$C1" eth0 c1 "$C"
check_eq "dual ADD c1" "$RC" 0
R1=$OUT
hrun "$H" "$P" ADD "$C2" eth0 c2 "$C"
check_eq "dual ADD c2" "$RC" 0
check_eq "dual result has both families" "$(printf '%s' "$R1" | jq -c '[.ips[].gateway]')" '["10.89.0.1","fd00:89::1"]'
check_eq "dual default routes in the result" "$(printf '%s' "$R1" | jq -c '[.routes[] | .dst + " " + .gw]')" '["0.0.0.0/0 10.89.0.1","::/0 fd00:89::1"]'
a6=$(ip_of "$C2" eth0 inet6)
check "dual c1 pings c2 over IPv6" ping_ok "$C1" "$a6"
check "dual c1 pings the v6 gateway" ping_ok "$C1" fd00:89::1
check "dual c1 pings c2 over IPv4" ping_ok "$C1" "$(ip_of "$C2")"
check_eq "dual default v4 route in c1" "$(in_ns "$C1" ip -j route show default | jq -r '.[0].gateway')" 10.89.0.1
check_eq "dual default v6 route in c1" "$(in_ns "$C1" ip -j -6 route show default | jq -r '.[0].gateway')" fd00:89::1
check_eq "dual accept_dad off in the container" "$(in_ns "$C1" cat /proc/sys/net/ipv6/conf/eth0/accept_dad)" 0
check_eq "dual v6 gateway on the bridge" "$(ip_of "$H" br6 inet6)" fd00:89::1
check_eq "dual 4 masquerade rules" "$(masq_rules "$H")" 4
hrun "$H" "$P" CHECK "$C1" eth0 c1 "$(printf '%s' "$C" | jq -c --argjson p "$R1" '. + {prevResult: $p}')"
check_eq "dual CHECK" "$RC:$OUT" "0:"
# CHECK notices a missing address and a missing masquerade rule.
in_ns "$C1" ip addr del "$(ip_of "$C1")/24" dev eth0
hrun "$H" "$P" CHECK "$C1" eth0 c1 "$(printf '%s' "$C" | jq -c --argjson p "$R1" '. + {prevResult: $p}')"
check_eq "CHECK fails without the address" "$RC" 1
# GC: c2 stays valid, c1 is stale.
G=$(printf '%s' "$C" | jq -c '. + {"cni.dev/valid-attachments":[{"containerID":"c2","ifname":"eth0"}]}')
hrun "$H" "$P" GC "" "" "" "$G"
check_eq "GC succeeds" "$RC:$OUT" "0:"
check_eq "GC left c2's two masquerade rules" "$(masq_rules "$H")" 2
check_eq "GC left c2's two reservations" "$(files_left)" 2
check_eq "GC left c2's entry alone in the attachment index" "$(att_entries "$H" masq | wc -l)" 1
hrun "$H" "$P" GC "" "" "" "$(printf '%s' "$C" | jq -c '. + {"cni.dev/valid-attachments":null}')"
check_eq "GC with a null list collects everything" "$(masq_rules "$H"):$(files_left):$(att_entries "$H" masq | wc -l)" "0:0:0"
hrun "$H" "$P" DEL "$C1" eth0 c1 "$C"
hrun "$H" "$P" DEL "$C2" eth0 c2 "$C"
check_eq "DEL after GC" "$RC" 0
hrun "$H" "$P" STATUS "" "" "" "$C"
check_eq "STATUS ready" "$RC:$OUT" "0:"

# ipMasqBackend "iptables": the reference's layout in ip/ip6 nat, listed by iptables-nft as the Go
# plugin's iptables calls leave it; the Go plugin's DEL command (iptables -D) finds our jump.
if iptables -V 2>/dev/null | grep -q nf_tables && ip6tables -V 2>/dev/null | grep -q nf_tables; then
	mkhost H
	mkns C1
	C=$(conf 1.1.0 bri '[[{"subnet":"10.87.0.0/24"}],[{"subnet":"fd00:87::/64"}]]' '"isGateway":true,"ipMasq":true,"ipMasqBackend":"iptables"')
	ch="CNI-$(printf '%s' net-bric1 | sha512sum | cut -c1-24)"
	cmt='name: "net-bri" id: "c1"'
	cm='-m comment --comment "name: \"net-bri\" id: \"c1\""'
	hrun "$H" "$P" ADD "$C1" eth0 c1 "$C"
	check_eq "iptables backend ADD" "$RC" 0
	R1=$OUT
	a4=$(ip_of "$C1")
	a6=$(ip_of "$C1" eth0 inet6)
	check_eq "iptables backend v4 chain and jump" "$(in_ns "$H" iptables -t nat -S | grep -F -- "$ch")" \
		"-N $ch"$'\n'"-A POSTROUTING -s $a4/32 $cm -j $ch"$'\n'"-A $ch -d 10.87.0.0/24 $cm -j ACCEPT"$'\n'"-A $ch ! -d 224.0.0.0/4 $cm -j MASQUERADE"
	check_eq "iptables backend v6 chain and jump" "$(in_ns "$H" ip6tables -t nat -S | grep -F -- "$ch")" \
		"-N $ch"$'\n'"-A POSTROUTING -s $a6/128 $cm -j $ch"$'\n'"-A $ch -d fd00:87::/64 $cm -j ACCEPT"$'\n'"-A $ch ! -d ff00::/8 $cm -j MASQUERADE"
	check_eq "iptables backend writes no nftables-backend rule" "$(masq_rules "$H")" 0
	hrun "$H" "$P" CHECK "$C1" eth0 c1 "$(printf '%s' "$C" | jq -c --argjson p "$R1" '. + {prevResult: $p}')"
	check_eq "iptables backend CHECK" "$RC:$OUT" "0:"
	check "iptables backend: the Go plugin's DEL command deletes our jump" \
		in_ns "$H" iptables -t nat -D POSTROUTING -s "$a4" -j "$ch" -m comment --comment "$cmt"
	hrun "$H" "$P" CHECK "$C1" eth0 c1 "$(printf '%s' "$C" | jq -c --argjson p "$R1" '. + {prevResult: $p}')"
	check_eq "iptables backend CHECK notices the missing jump" "$RC" 1
	hrun "$H" "$P" DEL "$C1" eth0 c1 "$C"
	check_eq "iptables backend DEL" "$RC:$OUT" "0:"
	check_eq "iptables backend DEL leaves no CNI- chain or jump" \
		"$(in_ns "$H" iptables -t nat -S | grep -c -- CNI-):$(in_ns "$H" ip6tables -t nat -S | grep -c -- CNI-)" "0:0"
	hrun "$H" "$P" DEL "$C1" eth0 c1 "$C"
	check_eq "iptables backend second DEL" "$RC" 0
	check_eq "iptables backend no reservation left" "$(files_left)" 0
	if [ -x "$REF/bridge" ] && [ -x "$REF/host-local" ]; then
		hrun "$H" "$P" ADD "$C1" eth0 c1 "$C"
		# the installed reference speaks up to 1.0.0
		CNI_PATH_OVERRIDE=$REF hrun "$H" "$REF/bridge" DEL "$C1" eth0 c1 "$(printf '%s' "$C" | jq -c '.cniVersion="1.0.0"')"
		check_eq "iptables backend: the reference plugin's DEL removes our layout" \
			"$RC:$(in_ns "$H" iptables -t nat -S | grep -c -- CNI-):$(in_ns "$H" ip6tables -t nat -S | grep -c -- CNI-)" "0:0:0"
	fi
else
	skip "bridge ipMasqBackend iptables" "iptables with the nf_tables backend is not installed"
fi

# ---- keys read back from the kernel --------------------------------------------------------------
mkhost H
mkns C1
C=$(conf 1.0.0 brk '[[{"subnet":"10.90.0.0/24"}]]' '"mtu":1400,"hairpinMode":true,"portIsolation":true,"enabledad":true')
hrun "$H" "$P" ADD "$C1" eth0 c1 "$C" "IgnoreUnknown=1;MAC=02:11:22:33:44:55"
check_eq "keys ADD" "$RC" 0
hv=$(printf '%s' "$OUT" | jq -r '.interfaces[1].name')
check_eq "mtu on the container end" "$(in_ns "$C1" ip -j link show eth0 | jq '.[0].mtu')" 1400
check_eq "mtu on the host end" "$(in_ns "$H" ip -j link show "$hv" | jq '.[0].mtu')" 1400
check_eq "mtu on the new bridge" "$(in_ns "$H" ip -j link show brk | jq '.[0].mtu')" 1400
check_eq "hairpin on the port" "$(in_ns "$H" ip -d -j link show "$hv" | jq '.[0].linkinfo.info_slave_data.hairpin')" true
check_eq "isolation on the port" "$(in_ns "$H" ip -d -j link show "$hv" | jq '.[0].linkinfo.info_slave_data.isolated')" true
check_eq "MAC from CNI_ARGS" "$(in_ns "$C1" ip -j link show eth0 | jq -r '.[0].address')" 02:11:22:33:44:55
check_eq "enabledad: accept_dad 1" "$(in_ns "$C1" cat /proc/sys/net/ipv6/conf/eth0/accept_dad)" 1
check_eq "enabledad: enhanced_dad 1" "$(in_ns "$C1" cat /proc/sys/net/ipv6/conf/eth0/enhanced_dad)" 1
check_eq "bridge not promiscuous by default" "$(in_ns "$H" ip -d -j link show brk | jq '.[0].promiscuity')" 0
hrun "$H" "$P" DEL "$C1" eth0 c1 "$C"
mkns C1
C=$(conf 1.0.0 brk '[[{"subnet":"10.90.0.0/24"}]]' '"runtimeConfig":{"mac":"02:aa:00:00:00:01"},"args":{"cni":{"mac":"02:bb:00:00:00:01"}}')
hrun "$H" "$P" ADD "$C1" eth0 c1 "$C" "IgnoreUnknown=1;MAC=02:cc:00:00:00:01"
check_eq "runtimeConfig.mac wins over args and CNI_ARGS" "$(in_ns "$C1" ip -j link show eth0 | jq -r '.[0].address')" 02:aa:00:00:00:01
hrun "$H" "$P" DEL "$C1" eth0 c1 "$C"
mkns C1
C=$(conf 1.0.0 brp '[[{"subnet":"10.91.0.0/24"}]]' '"promiscMode":true')
hrun "$H" "$P" ADD "$C1" eth0 c1 "$C"
check_eq "promiscMode" "$(in_ns "$H" ip -d -j link show brp | jq '.[0].promiscuity > 0')" true
hrun "$H" "$P" DEL "$C1" eth0 c1 "$C"

# VLANs: tests/netns/bridge_vlan.sh (run in the VM lane where the kernel lacks VLAN filtering).
for bad in '"vlan":4095' '"vlanTrunk":[{"minID":10}]' '"vlanTrunk":[{"minID":10,"maxID":5}]' '"vlanTrunk":[{"id":0}]' '"hairpinMode":true,"promiscMode":true' '"ipMasqBackend":"pf"' '"mtu":-1'; do
	hrun "$H" "$P" ADD "$C1" eth0 c1 "$(conf 1.0.0 brv '[[{"subnet":"10.92.0.0/24"}]]' "$bad")"
	check_eq "bad config $bad: code 7" "$RC:$(err_code)" "1:7"
done
check_eq "bad configs left no veth" "$(in_ns "$C1" ip -j link show type veth | jq length)" 0

# macspoofchk: the reference layout in table bridge nat.
mkns C1
C=$(conf 1.0.0 brs '[[{"subnet":"10.93.0.0/24"}]]' '"macspoofchk":true')
hrun "$H" "$P" ADD "$C1" eth0 c1 "$C"
R1=$OUT
check_eq "macspoofchk ADD" "$RC" 0
mac=$(in_ns "$C1" ip -j link show eth0 | jq -r '.[0].address')
rules=$(in_ns "$H" nft -j list table bridge nat 2>/dev/null)
check_eq "spoofchk chains" "$(printf '%s' "$rules" | jq -c '[.nftables[] | select(.chain) | .chain.name] | sort')" '["PREROUTING","cni-br-iface-c1-eth0","cni-br-iface-c1-eth0-mac"]'
[[ "$(in_ns "$H" nft list table bridge nat)" == *"ether saddr $mac return"* ]] && ok "spoofchk allows the container MAC" || fail "spoofchk MAC rule" "$rules"
hrun "$H" "$P" CHECK "$C1" eth0 c1 "$(printf '%s' "$C" | jq -c --argjson p "$R1" '. + {prevResult: $p}')"
check_eq "macspoofchk CHECK" "$RC:$OUT" "0:"
hrun "$H" "$P" DEL "$C1" eth0 c1 "$C"
check_eq "spoofchk chains removed" "$(in_ns "$H" nft -j list table bridge nat 2>/dev/null | jq -c '[.nftables[] | select(.chain) | .chain.name]')" '["PREROUTING"]'

# L2 only: no ipam, or an empty one, in every verb.
mkns C1
for ipam in '' ',"ipam":{}'; do
	C="{\"cniVersion\":\"1.1.0\",\"name\":\"l2\",\"type\":\"bridge\",\"bridge\":\"brl2\"$ipam}"
	hrun "$H" "$P" ADD "$C1" eth0 c1 "$C"
	check_eq "L2 ADD (ipam '$ipam')" "$RC:$(printf '%s' "$OUT" | jq -c '[.ips, (.interfaces | length)]')" "0:[null,3]"
	check_eq "L2 container end up" "$(in_ns "$C1" ip -j link show eth0 | jq -r '.[0].operstate')" UP
	hrun "$H" "$P" CHECK "$C1" eth0 c1 "$(printf '%s' "$C" | jq -c --argjson p "$OUT" '. + {prevResult: $p}')"
	check_eq "L2 CHECK" "$RC:$OUT" "0:"
	hrun "$H" "$P" STATUS "" "" "" "$C"
	check_eq "L2 STATUS" "$RC" 0
	hrun "$H" "$P" GC "" "" "" "$C"
	check_eq "L2 GC" "$RC" 0
	hrun "$H" "$P" DEL "$C1" eth0 c1 "$C"
	check_eq "L2 DEL" "$RC" 0
done
hrun "$H" "$P" ADD "$C1" eth0 c1 '{"cniVersion":"0.2.0","name":"l2","type":"bridge","bridge":"brl2"}'
check_eq "L2 at 0.2.0 cannot be expressed" "$RC:$(printf '%s' "$OUT" | jq -r .msg)" "1:cannot convert: no valid IP addresses"
check_eq "  and leaves no veth" "$(in_ns "$C1" ip -j link show type veth | jq length)" 0
hrun "$H" "$P" ADD "$C1" eth0 c1 '{"cniVersion":"1.0.0","name":"l2","type":"bridge","bridge":"brl2","disableContainerInterface":true}'
check_eq "disableContainerInterface leaves eth0 down" "$(in_ns "$C1" ip -j link show eth0 | jq -r '.[0].flags | any(. == "UP") | not')" true
hrun "$H" "$P" DEL "$C1" eth0 c1 '{"cniVersion":"1.0.0","name":"l2","type":"bridge","bridge":"brl2","disableContainerInterface":true}'
hrun "$H" "$P" ADD "$C1" eth0 c1 "$(conf 1.0.0 brl2 '[[{"subnet":"10.94.0.0/24"}]]' '"disableContainerInterface":true')"
check_eq "disableContainerInterface with IPAM refused" "$RC:$(err_code)" "1:7"

# ---- failures leave nothing behind ---------------------------------------------------------------
mkhost H
mkns C1
in_ns "$H" ip link add notabridge type veth peer name notabridge-p
hrun "$H" "$P" ADD "$C1" eth0 c1 "$(conf 1.0.0 notabridge '[[{"subnet":"10.95.0.0/24"}]]')"
[[ $RC = 1 && "$OUT" == *"notabridge"*"not a bridge"* ]] && ok "existing non-bridge refused by name" || fail "non-bridge" "$OUT"
# IPAM fails: the veth goes.
hrun "$H" "$P" ADD "$C1" eth0 c1 '{"cniVersion":"1.0.0","name":"f","type":"bridge","bridge":"brf","ipam":{"type":"no-such-ipam"}}'
check_eq "missing IPAM plugin fails" "$RC" 1
check_eq "  and leaves no veth" "$(in_ns "$C1" ip -j link show type veth | jq length):$(in_ns "$H" ip -j link show type veth | jq length)" "0:2"
# Routes fail after IPAM ADD (a gateway that is not reachable): IPAM is released, veth removed.
C=$(printf '{"cniVersion":"1.0.0","name":"f","type":"bridge","bridge":"brf","ipMasq":true,"ipam":{"type":"host-local","dataDir":"%s","ranges":[[{"subnet":"10.96.0.0/24"}]],"routes":[{"dst":"10.200.0.0/16","gw":"192.0.2.1"}]}}' "$DATA")
hrun "$H" "$P" ADD "$C1" eth0 c1 "$C"
check_eq "failing route after IPAM" "$RC" 1
check_eq "  released the address" "$(files_left)" 0
check_eq "  removed the veth" "$(in_ns "$C1" ip -j link show type veth | jq length)" 0
check_eq "  left no masquerade rule" "$(masq_rules "$H")" 0
# Container interface name taken: refused, the existing interface untouched.
in_ns "$C1" ip link add eth0 type veth peer name eth0p
hrun "$H" "$P" ADD "$C1" eth0 c1 "$(conf 1.0.0 brf '[[{"subnet":"10.97.0.0/24"}]]')"
check_eq "ifname taken: refused" "$RC" 1
check_eq "  existing eth0 untouched, no reservation" "$(in_ns "$C1" ip -j link show eth0 | jq -r '.[0].ifname'):$(files_left)" "eth0:0"

# ---- IPAM in-process only when CNI_PATH's binary is this very build ----------------------------
tmpdir XP
mkns C1
C=$(conf 1.0.0 brx '[[{"subnet":"10.65.0.0/24"}]]')
# A foreign host-local (here a wrapper script) is exec'd, as the spec says.
printf '#!/bin/sh\ntouch %s/exec-seen\nexec %s/host-local "$@"\n' "$XP" "$BIN" >"$XP/host-local"
chmod +x "$XP/host-local"
CNI_PATH_OVERRIDE=$XP hrun "$H" "$P" ADD "$C1" eth0 c1 "$C"
check_eq "foreign host-local: ADD works" "$RC" 0
check_eq "foreign host-local: it was exec'd" "$([ -e "$XP/exec-seen" ] && echo yes)" yes
CNI_PATH_OVERRIDE=$XP hrun "$H" "$P" DEL "$C1" eth0 c1 "$C"
check_eq "foreign host-local: DEL works" "$RC" 0
if command -v strace >/dev/null; then
	OUT=$(printf '%s' "$C" | ip netns exec "$H" env CNI_COMMAND=ADD CNI_NETNS="$C1" CNI_IFNAME=eth0 \
		CNI_CONTAINERID=c2 CNI_PATH="$BIN" ASAN_OPTIONS=detect_leaks=0 strace -f -qq -e trace=execve -o "$XP/trace" "$P")
	check_eq "our host-local: ADD runs it in-process (one execve)" "$(grep -c execve "$XP/trace")" 1
	check_eq "  with the address it configured" "$(printf '%s' "$OUT" | jq -r '.ips[0].address')" "$(ip_of "$C1")/24"
	hrun "$H" "$P" DEL "$C1" eth0 c2 "$C"
	check_eq "  and DEL releases it" "$(files_left)" 0
	# A gateway turns forwarding on: when it is on already, it is read over rtnetlink
	# (RTM_GETNETCONF), with no /proc/sys lookup; when it is off, written through /proc/sys.
	CG=$(conf 1.0.0 brx '[[{"subnet":"10.65.0.0/24"}]]' '"isGateway":true')
	for want in 1 0; do
		in_ns "$H" sh -c "echo $((1 - want)) >/proc/sys/net/ipv4/ip_forward"
		OUT=$(printf '%s' "$CG" | ip netns exec "$H" env CNI_COMMAND=ADD CNI_NETNS="$C1" CNI_IFNAME=eth0 \
			CNI_CONTAINERID=c3 CNI_PATH="$BIN" ASAN_OPTIONS=detect_leaks=0 strace -f -qq -e trace=openat -o "$XP/trace" "$P")
		check_eq "ip_forward $((1 - want)) before ADD: /proc/sys opened $((2 * want)) times, on after" \
			"$(grep -c 'ip_forward' "$XP/trace"):$(in_ns "$H" cat /proc/sys/net/ipv4/ip_forward)" "$((2 * want)):1"
		hrun "$H" "$P" DEL "$C1" eth0 c3 "$CG"
	done
else
	skip "in-process IPAM" "strace not installed"
fi

# After a commit, the netfilter socket's last reference goes to an io_uring ring, whose teardown
# (a kernel worker) waits for the transaction's RCU grace period instead of the runtime; without
# io_uring (injected failures) the socket is closed as before. Either way the rules are live when
# the plugin returns and no netfilter socket outlives it for long.
nf_socks() { in_ns "$H" awk '$2 == 12 && $3 != 0' /proc/net/netlink | wc -l; }
nf_gone() { [ "$(nf_socks)" = 0 ]; }
C=$(conf 1.0.0 bru '[[{"subnet":"10.66.0.0/24"}]]' '"ipMasq":true')
if command -v strace >/dev/null; then
	for inj in "" io_uring_setup:error=ENOSYS io_uring_register:error=EPERM; do
		what=${inj:-io_uring}
		for cmd in ADD DEL; do
			OUT=$(printf '%s' "$C" | ip netns exec "$H" env CNI_COMMAND=$cmd CNI_NETNS="$C1" \
				CNI_IFNAME=eth0 CNI_CONTAINERID=cu CNI_PATH="$BIN" ASAN_OPTIONS=detect_leaks=0 \
				strace -f -qq -o "$XP/trace" \
				-e trace=io_uring_setup,io_uring_register,sendmsg,sendto ${inj:+-e inject=$inj} "$P")
			check_eq "release ($what): $cmd succeeds" "$?" 0
			if [ -z "$inj" ]; then
				check "  the socket is handed to a ring" grep -q 'IORING_REGISTER_FILES.* = 0' "$XP/trace"
				# DEL: rules first, the link after, the sockets at exit (the link
				# deletion's wait covers the grace period of the deleted rules); strace
				# cannot name RTM_DELLINK (0x11) on a socket of another netns
				[ $cmd = DEL ] && check_eq "  rules deleted, then the link, then the sockets released" \
					"$(grep -oE 'NFT_MSG_DELRULE|nlmsg_type=(RTM_DELLINK|0x11 )|IORING_REGISTER_FILES' "$XP/trace" | sed 's/nlmsg_type=.*/DELLINK/' | uniq | paste -sd' ')" \
					"NFT_MSG_DELRULE DELLINK IORING_REGISTER_FILES"
			else
				check "  the failure was injected" grep -q INJECTED "$XP/trace"
			fi
			want=0:0
			[ $cmd = ADD ] && want=1:1
			check_eq "  its rule and reservation as soon as it returns" "$(masq_rules "$H"):$(files_left)" "$want"
			check "  no netfilter socket left behind" poll_until 3000 nf_gone
		done
	done
	# With the chains in place an ADD sends rules only: re-adding an existing chain is an update
	# transaction the kernel frees after an RCU grace period, which someone would wait for.
	hrun "$H" "$P" ADD "$C1" eth0 cw "$C"
	hrun "$H" "$P" DEL "$C1" eth0 cw "$C"
	OUT=$(printf '%s' "$C" | ip netns exec "$H" env CNI_COMMAND=ADD CNI_NETNS="$C1" CNI_IFNAME=eth0 \
		CNI_CONTAINERID=cw CNI_PATH="$BIN" ASAN_OPTIONS=detect_leaks=0 strace -f -qq -o "$XP/trace" -e trace=sendto "$P")
	check_eq "existing chains: the ADD batch adds rules, no chain" \
		"$(grep -c 'NFT_MSG_NEWRULE' "$XP/trace"):$(grep -c 'NFT_MSG_NEWCHAIN' "$XP/trace")" 1:0
	check_eq "  and its rule is there" "$(masq_rules "$H")" 1
	hrun "$H" "$P" DEL "$C1" eth0 cw "$C"
else
	skip "netfilter socket release" "strace not installed"
fi
# Memcheck over the whole ADD/DEL with masquerade: netlink requests carry no uninitialised bytes.
if command -v valgrind >/dev/null && ! asan_build "$P"; then
	for cmd in ADD DEL; do
		OUT=$(printf '%s' "$C" | ip netns exec "$H" env CNI_COMMAND=$cmd CNI_NETNS="$C1" CNI_IFNAME=eth0 \
			CNI_CONTAINERID=cv CNI_PATH="$BIN" valgrind -q --error-exitcode=99 --log-file="$XP/vg" "$P")
		check_eq "valgrind: $cmd with ipMasq is clean" "$?:$(cat "$XP/vg")" 0:
	done
else
	skip "valgrind" "valgrind not installed or sanitizer build"
fi

# ---- DEL without ADD, STATUS through IPAM --------------------------------------------------------
mkns C1
hrun "$H" "$P" DEL "$C1" eth0 never "$(conf 1.1.0 brz '[[{"subnet":"10.98.0.0/24"}]]' '"ipMasq":true,"macspoofchk":true')"
check_eq "DEL without ADD" "$RC:$OUT" "0:"
C=$(conf 1.1.0 brz '[[{"subnet":"10.98.0.0/30"}]]')
hrun "$H" "$P" ADD "$C1" eth0 c1 "$C"
hrun "$H" "$P" STATUS "" "" "" "$C"
check_eq "STATUS of an exhausted range is code 50" "$RC:$(err_code)" "1:50"
hrun "$H" "$P" DEL "$C1" eth0 c1 "$C"
finish
