#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# sbr chained after bridge + host-local on a container's second interface (eth1, its own bridge
# network next to eth0's default route), in a private "host" namespace, at every spec version:
# the rule "from <eth1 address> lookup 100" and table 100 read back with ip -j rule / ip -j route,
# eth1's routes gone from the main table, traffic sourced from eth1's address leaving through eth1
# (packet counters) while other traffic keeps using eth0, CHECK, DEL (rules and table 100 gone;
# twice; without ADD; netns gone), "gateways", "table", "addSourceHints", refusals, and a
# differential run against the reference binary (result, rules and every table).
. "$(dirname "$0")/lib.sh"
need_root sbr
P=$BIN/sbr
# setup VERSION: a fresh host $H (with 192.0.2.1 on lo, reachable only by default routes), container $C
# with eth0 (10.60.0.0/24, default route) and eth1 (10.61.0.0/24); eth1's bridge result in $PREV.
setup() {
	local v=$1 hldir
	tmpdir hldir # host-local state of this host only
	mkhost H
	mkns C
	in_ns "$H" ip addr add 192.0.2.1/32 dev lo
	hrun "$H" "$BIN/bridge" ADD "$C" eth0 c1 "$(printf '{"cniVersion":"%s","name":"n0","type":"bridge","bridge":"br0","isDefaultGateway":true,"ipam":{"type":"host-local","dataDir":"%s","ranges":[[{"subnet":"10.60.0.0/24"}]]}}' "$v" "$hldir")"
	[ "$RC" = 0 ] || fail "setup $v eth0" "$OUT"
	hrun "$H" "$BIN/bridge" ADD "$C" eth1 c1 "$(printf '{"cniVersion":"%s","name":"n1","type":"bridge","bridge":"br1","isGateway":true,"ipam":{"type":"host-local","dataDir":"%s","ranges":[[{"subnet":"10.61.0.0/24"}]]}}' "$v" "$hldir")"
	[ "$RC" = 0 ] || fail "setup $v eth1" "$OUT"
	PREV=$OUT
	A1=$(in_ns "$C" ip -j addr show eth1 | jq -r '.[0].addr_info[] | select(.family=="inet") | .local')
	# the echo requests each interface sends (a link just up sends IPv6 autoconf packets of its
	# own, at times during a ping: the interface's packet counter is not the ping's)
	in_ns "$C" nft -f - <<-'EOF'
		table inet sbrt {
			counter echo0 {}
			counter echo1 {}
			chain o {
				type filter hook output priority 0;
				oifname "eth0" icmp type echo-request counter name "echo0"
				oifname "eth1" icmp type echo-request counter name "echo1"
			}
		}
	EOF
}
sconf() { # VERSION KEYS [PREV]
	jq -cn --arg v "$1" --argjson k "$2" --argjson p "${3:-null}" \
		'{cniVersion: $v, name: "n1", type: "sbr"} + $k + (if $p then {prevResult: $p} else {} end)'
}
rules() { in_ns "$1" ip -j rule show | jq -c '[.[] | select(.table != "local" and .table != "main" and .table != "default") | {src, table}]'; }
# routes of a table ([] when the table does not exist)
routes() { # NS TABLE FAMILY-FLAG
	local j
	j=$(in_ns "$1" ip -j $3 route show table "$2" 2>/dev/null)
	jq -e . >/dev/null 2>&1 <<<"$j" || j='[]' # ip prints a cut "[" for a missing table
	printf '%s' "$j"
}
rt() { routes "$1" "$2" -4 | jq -c 'map({dst, gateway, dev, prefsrc, protocol, scope}) | sort_by(.dst)'; }
rt6() { routes "$1" "$2" -6 | jq -c 'map({dst, gateway, dev}) | sort_by(.dst)'; }
txp() { in_ns "$1" nft -j list counter inet sbrt "echo${2#eth}" | jq '[.nftables[] | select(.counter) | .counter.packets][0]'; }

for v in $VERSIONS; do
	setup "$v"
	S=$(sconf "$v" '{}' "$PREV")
	hrun "$H" "$P" ADD "$C" eth1 c1 "$S"
	check_eq "$v ADD" "$RC" 0
	check_eq "$v result is prevResult" "$(jq -cS 'del(.cniVersion)' <<<"$OUT")" "$(jq -cS 'del(.cniVersion)' <<<"$PREV")"
	check_eq "$v rule from eth1's address to table 100" "$(rules "$C")" "[{\"src\":\"$A1\",\"table\":\"100\"}]"
	check_eq "$v table 100: default via the gateway and the subnet route, on eth1" "$(rt "$C" 100)" \
		"[{\"dst\":\"10.61.0.0/24\",\"gateway\":null,\"dev\":\"eth1\",\"prefsrc\":\"$A1\",\"protocol\":\"kernel\",\"scope\":\"link\"},{\"dst\":\"default\",\"gateway\":\"10.61.0.1\",\"dev\":\"eth1\",\"prefsrc\":null,\"protocol\":null,\"scope\":null}]"
	check_eq "$v main table: nothing through eth1 left" "$(in_ns "$C" ip -j route show table main dev eth1 | jq length)" 0
	check_eq "$v main table: eth0's default route kept" "$(rt "$C" main | jq -c 'map(select(.dst=="default")) | map(.dev)')" '["eth0"]'
	check_eq "$v the kernel routes eth1-sourced traffic through eth1" \
		"$(in_ns "$C" ip -j route get 192.0.2.1 from "$A1" | jq -r '.[0].dev')" eth1
	t0=$(txp "$C" eth1)
	check "$v ping sourced from eth1's address" in_ns "$C" ping -c2 -W2 -I "$A1" 192.0.2.1
	t1=$(txp "$C" eth1)
	if [ $((t1 - t0)) -ge 2 ]; then ok "$v  it left through eth1"; else fail "$v  it left through eth1" "eth1 sent $((t1 - t0)) packets"; fi
	t0=$(txp "$C" eth1)
	check "$v ping without a source" in_ns "$C" ping -c2 -W2 192.0.2.1
	check_eq "$v  it left through eth0" "$(($(txp "$C" eth1) - t0))" 0
	check "$v  (eth0 sent them)" test "$(txp "$C" eth0)" -ge 2
	if [[ $v == 0.4.0 || $v == 1.* ]]; then
		hrun "$H" "$P" CHECK "$C" eth1 c1 "$S"
		check_eq "$v CHECK" "$RC:$OUT" "0:"
	fi
	hrun "$H" "$P" ADD "$C" eth1 c1 "$S"
	check_eq "$v ADD again (retried) keeps one rule and table 100" "$RC:$(rules "$C")" "0:[{\"src\":\"$A1\",\"table\":\"100\"}]"
	hrun "$H" "$P" DEL "$C" eth1 c1 "$(sconf "$v" '{}')"
	check_eq "$v DEL" "$RC:$OUT" "0:"
	check_eq "$v DEL removed the rule" "$(rules "$C")" "[]"
	check_eq "$v DEL emptied table 100" "$(rt "$C" 100):$(rt6 "$C" 100)" "[]:[]"
	if [[ $v == 0.4.0 || $v == 1.* ]]; then
		hrun "$H" "$P" CHECK "$C" eth1 c1 "$S"
		check_eq "$v CHECK after DEL fails" "$RC" 1
	fi
	hrun "$H" "$P" DEL "$C" eth1 c1 "$(sconf "$v" '{}')"
	check_eq "$v second DEL" "$RC:$OUT" "0:"
	in_ns "$C" ip link del eth1
	hrun "$H" "$P" DEL "$C" eth1 c1 "$(sconf "$v" '{}')"
	check_eq "$v DEL with the interface gone" "$RC:$OUT" "0:"
	ip netns del "$(basename "$C")"
	hrun "$H" "$P" DEL "$C" eth1 c1 "$(sconf "$v" '{}')"
	check_eq "$v DEL with the netns gone" "$RC:$OUT" "0:"
done

# ---- keys ---------------------------------------------------------------------------------------
v=1.0.0
setup $v
hrun "$H" "$P" ADD "$C" eth1 c1 "$(sconf $v '{"gateways":["10.61.0.254"]}' "$PREV")"
check_eq "gateways: ADD" "$RC" 0
check_eq "gateways: the static gateway is the table's default route" \
	"$(in_ns "$C" ip -j route show table 100 default | jq -r '.[0].gateway')" 10.61.0.254
hrun "$H" "$P" CHECK "$C" eth1 c1 "$(sconf $v '{"gateways":["10.61.0.254"]}' "$PREV")"
check_eq "gateways: CHECK" "$RC:$OUT" "0:"
hrun "$H" "$P" ADD "$C" eth1 c1 "$(sconf $v '{"gateways":["10.61.0.1","10.61.0.2"]}' "$PREV")"
check_eq "gateways: two IPv4 gateways refused" "$RC:$(err_code)" "1:7"

setup $v
hrun "$H" "$P" ADD "$C" eth1 c1 "$(sconf $v '{"table":5000}' "$PREV")"
check_eq "table: ADD" "$RC" 0
check_eq "table: the rule goes to that table" "$(rules "$C")" "[{\"src\":\"$A1\",\"table\":\"5000\"}]"
check_eq "table: routes untouched" "$(in_ns "$C" ip -j route show table main dev eth1 | jq length):$(rt "$C" 5000)" "1:[]"
hrun "$H" "$P" CHECK "$C" eth1 c1 "$(sconf $v '{"table":5000}' "$PREV")"
check_eq "table: CHECK" "$RC:$OUT" "0:"
hrun "$H" "$P" DEL "$C" eth1 c1 "$(sconf $v '{"table":5000}')"
check_eq "table: DEL removes the rule" "$RC:$(rules "$C")" "0:[]"

setup $v
hrun "$H" "$P" ADD "$C" eth1 c1 "$(sconf $v '{"addSourceHints":true}' "$PREV")"
check_eq "addSourceHints: ADD" "$RC" 0
check_eq "addSourceHints: the subnet route stays in main with eth1's address as source" \
	"$(in_ns "$C" ip -j route show table main dev eth1 | jq -c 'map({dst, prefsrc})')" "[{\"dst\":\"10.61.0.0/24\",\"prefsrc\":\"$A1\"}]"
check_eq "addSourceHints: rule and table as usual" "$(rules "$C"):$(rt "$C" 100 | jq length)" "[{\"src\":\"$A1\",\"table\":\"100\"}]:2"

mkns CN
hrun "$H" "$P" ADD "$CN" eth1 c1 "$(sconf 0.2.0 '{"anotherAwesomeArg":"foo"}')"
check_eq "no prevResult: refused as the reference" "$RC:$(jq -r .msg <<<"$OUT")" "1:This plugin must be called as chained plugin"
hrun "$H" "$P" ADD "$C" eth1 c1 "$(sconf $v '{}' "$(jq -c '.ips = []' <<<"$PREV")")"
check_eq "prevResult without addresses: refused" "$RC:$(jq -r .msg <<<"$OUT")" "1:No IP addresses supplied on interface: eth1"
hrun "$H" "$P" DEL "$CN" eth1 never "$(sconf $v '{}')"
check_eq "DEL without ADD" "$RC:$OUT" "0:"

# ---- differential -------------------------------------------------------------------------------
if [ ! -x "$REF/sbr" ]; then
	skip "sbr differential" "reference plugin not installed in $REF"
	finish
fi
state() {
	rules "$1"
	for t in 100 101 main; do rt "$1" $t; rt6 "$1" $t; done
}
for v in $VERSIONS; do
	rv=$v
	[ "$v" = 1.1.0 ] && rv=1.0.0 # Debian's reference stops at 1.0.0
	setup $rv
	HO=$H CO=$C PO=$PREV
	setup $rv
	HR=$H CR=$C PR=$PREV
	hrun "$HO" "$P" ADD "$CO" eth1 c1 "$(sconf $v '{}' "$PO")"
	ro=$RC oo=$OUT
	hrun "$HR" "$REF/sbr" ADD "$CR" eth1 c1 "$(sconf $rv '{}' "$PR")"
	check_eq "diff $v: ADD status" "$ro" "$RC"
	norm_s() { jq -cS 'del(.cniVersion) | if (.dns? // null) == {} then del(.dns) else . end | if .interfaces then .interfaces |= map(.mac = "MAC" | if .sandbox then .sandbox = "NS" else . end | if (.name|test("^veth")) then .name = "VETH" else . end) else . end' <<<"$1"; }
	check_eq "diff $v: result" "$(norm_s "$oo")" "$(norm_s "$OUT")"
	check_eq "diff $v: rules and tables" "$(state "$CO")" "$(state "$CR")"
	hrun "$HO" "$P" DEL "$CO" eth1 c1 "$(sconf $v '{}')"
	hrun "$HR" "$REF/sbr" DEL "$CR" eth1 c1 "$(sconf $rv '{}')"
	check_eq "diff $v: rules after DEL" "$(rules "$CO")" "$(rules "$CR")"
done
finish
