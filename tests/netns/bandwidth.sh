#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# bandwidth chained after bridge + host-local, as a runtime runs it, in a private "host"
# namespace: every spec version the reference accepts (0.3.0 on; older ones refused), the kernel
# layout read back with tc -j (tbf on the host veth, ingress qdisc + u32 mirred redirect to the
# IFB, tbf on the IFB, the IFB's name from sha512(net + cid)), ingress-only and egress-only,
# static config over runtimeConfig, invalid configs, CHECK (also noticing a changed qdisc), DEL
# (twice, without ADD, netns gone), GC (stale IFBs go, live ones of any network stay), shaped
# rates measured roughly with real TCP transfers, what Kubernetes runtimes send (containerd and
# CRI-O shapes) and the edges from 1 bit/s to 2^63-1, and a differential run against the reference
# binary (results, tc state, and each one's CHECK/DEL on the other's state).
. "$(dirname "$0")/lib.sh"
need_root bandwidth
P=$BIN/bandwidth
tmpdir DATA
tmpdir DATA2 # the reference's side of the differential

mkhost PROBE
if ! in_ns "$PROBE" ip link add bwprobe0 type ifb 2>/dev/null || ! in_ns "$PROBE" tc qdisc add dev bwprobe0 root tbf rate 1mbit burst 10kb latency 25ms 2>/dev/null; then
	skip bandwidth "the kernel has no ifb links or tbf qdiscs"
	exit 0
fi

SUB=0
# setup VERSION CID: host ns $H, container $C, bridge result in $PREV, host veth in $HV.
setup() {
	local v=$1 cid=$2
	SUB=$((SUB + 1))
	mkhost H
	mkns C
	BRC=$(printf '{"cniVersion":"%s","name":"pm","type":"bridge","bridge":"br0","isGateway":true,"ipam":{"type":"host-local","dataDir":"%s","ranges":[[{"subnet":"10.77.%d.0/24"}]]}}' "$v" "${DDIR:-$DATA}" "$SUB")
	hrun "$H" "$BIN/bridge" ADD "$C" eth0 "$cid" "$BRC"
	PREV=$OUT
	HV=$(in_ns "$C" ip -j link show eth0 | jq -r '.[0].link_index') # peer ifindex
	HV=$(in_ns "$H" ip -j link show | jq -r --argjson i "$HV" '.[] | select(.ifindex==$i) | .ifname')
}
# bwconf VERSION KEYS-JSON [PREV]: a bandwidth config for network "pm".
bwconf() {
	jq -cn --arg v "$1" --argjson k "$2" --argjson p "${3:-null}" \
		'{cniVersion: $v, name: "pm", type: "bandwidth"} + $k + (if $p then {prevResult: $p} else {} end)'
}
qd() { in_ns "$1" tc -j qdisc show dev "$2" 2>/dev/null | jq -c '[.[] | select(.kind != "noqueue") | {kind, handle, parent: (.parent // "root"), options}] | sort_by(.kind)'; }
redirect_to() { in_ns "$1" tc -j filter show dev "$2" parent ffff: | jq -r '[.[] | select(.options.actions) | .options.actions[] | select(.kind=="mirred") | .to_dev] | unique | join(",")'; }
ifbs() { in_ns "$1" ip -j link show type ifb | jq -r '[.[].ifname] | sort | join(",")'; }
BOTH='{"ingressRate":1000000,"ingressBurst":100000,"egressRate":2000000,"egressBurst":200000}'
TBF1='{"rate":125000,"burst":12500,"lat":25000}'
TBF2='{"rate":250000,"burst":25000,"lat":25000}'

# ---- versions: refused before 0.3.0, full layout after -----------------------------------------
for v in 0.1.0 0.2.0; do
	mkns C0
	hrun "$PROBE" "$P" ADD "$C0" eth0 cid1 "$(bwconf $v "$BOTH")"
	check_eq "$v refused (the reference starts at 0.3.0)" "$RC:$(err_code)" "1:1"
done
for v in 0.3.0 0.3.1 0.4.0 1.0.0 1.1.0; do
	setup "$v" cid1
	C1=$(bwconf "$v" "$BOTH" "$PREV")
	hrun "$H" "$P" ADD "$C" eth0 cid1 "$C1"
	check_eq "$v ADD" "$RC" 0
	R=$OUT
	check_eq "$v result: prevResult plus the IFB" "$(jq -c '[.interfaces[].name]' <<<"$R")" \
		"$(jq -c '[.interfaces[].name] + ["bwp5d3212c3d10f"]' <<<"$PREV")"
	check_eq "$v result: ips passed through" "$(jq -c .ips <<<"$R")" "$(jq -c .ips <<<"$PREV")"
	check_eq "$v IFB MAC in the result" "$(jq -r '.interfaces[-1].mac' <<<"$R")" \
		"$(in_ns "$H" ip -j link show bwp5d3212c3d10f | jq -r '.[0].address')"
	check_eq "$v host veth: tbf 1: + ingress" "$(qd "$H" "$HV")" \
		"[{\"kind\":\"ingress\",\"handle\":\"ffff:\",\"parent\":\"ffff:fff1\",\"options\":{}},{\"kind\":\"tbf\",\"handle\":\"1:\",\"parent\":\"root\",\"options\":$TBF1}]"
	check_eq "$v IFB: tbf 1:" "$(qd "$H" bwp5d3212c3d10f)" "[{\"kind\":\"tbf\",\"handle\":\"1:\",\"parent\":\"root\",\"options\":$TBF2}]"
	check_eq "$v u32 prio 1 protocol all redirects to the IFB" \
		"$(in_ns "$H" tc -j filter show dev "$HV" parent ffff: | jq -c '[.[] | select(.options.actions) | {protocol, pref, flowid: .options.flowid, a: [.options.actions[] | {kind, mirred_action, direction, to_dev, control_action}]}]')" \
		'[{"protocol":"all","pref":1,"flowid":"1:1","a":[{"kind":"mirred","mirred_action":"redirect","direction":"egress","to_dev":"bwp5d3212c3d10f","control_action":{"type":"stolen"}}]}]'
	check_eq "$v IFB: MTU of the host veth, txqlen 0, up" \
		"$(in_ns "$H" ip -j -d link show bwp5d3212c3d10f | jq -c '.[0] | [.mtu, (.txqlen // 0), (.flags | index("UP") != null)]')" \
		"[$(in_ns "$H" ip -j link show "$HV" | jq '.[0].mtu'),0,true]"
	if [[ $v == 0.4.0 || $v == 1.* ]]; then
		CK=$(bwconf "$v" "$BOTH" "$R")
		hrun "$H" "$P" CHECK "$C" eth0 cid1 "$CK"
		check_eq "$v CHECK" "$RC:$OUT" "0:"
		in_ns "$H" tc qdisc replace dev bwp5d3212c3d10f root handle 1: tbf rate 3mbit burst 25000 latency 25ms
		hrun "$H" "$P" CHECK "$C" eth0 cid1 "$CK"
		check_eq "$v CHECK notices a changed rate" "$RC" 1
		in_ns "$H" tc qdisc del dev "$HV" ingress
		hrun "$H" "$P" ADD "$C" eth0 cid1 "$C1"
		check_eq "$v ADD again (retried) repairs the layout" "$RC" 0
		hrun "$H" "$P" CHECK "$C" eth0 cid1 "$CK"
		check_eq "$v  and CHECK passes again" "$RC:$OUT" "0:"
	fi
	hrun "$H" "$P" DEL "$C" eth0 cid1 "$C1"
	check_eq "$v DEL" "$RC:$OUT" "0:"
	check_eq "$v DEL removed the IFB" "$(ifbs "$H")" ""
	hrun "$H" "$P" DEL "$C" eth0 cid1 "$C1"
	check_eq "$v second DEL" "$RC:$OUT" "0:"
	hrun "$H" "$BIN/bridge" DEL "$C" eth0 cid1 "$BRC"
	hrun "$H" "$P" DEL "$C" eth0 cid1 "$C1"
	check_eq "$v DEL after the veth is gone" "$RC:$OUT" "0:"
done

# ---- one direction, precedence, pass-through ---------------------------------------------------
v=1.0.0
setup $v c-in
hrun "$H" "$P" ADD "$C" eth0 c-in "$(bwconf $v '{"ingressRate":1000000,"ingressBurst":100000}' "$PREV")"
check_eq "ingress only: ADD" "$RC" 0
check_eq "ingress only: tbf on the host veth, no ingress qdisc" "$(qd "$H" "$HV" | jq -c 'map(.kind)')" '["tbf"]'
check_eq "ingress only: no IFB, result unchanged" "$(ifbs "$H"):$(jq -c . <<<"$OUT")" ":$(jq -c . <<<"$PREV")"
hrun "$H" "$P" CHECK "$C" eth0 c-in "$(bwconf $v '{"ingressRate":1000000,"ingressBurst":100000}' "$OUT")"
check_eq "ingress only: CHECK" "$RC:$OUT" "0:"

setup $v c-out
hrun "$H" "$P" ADD "$C" eth0 c-out "$(bwconf $v '{"egressRate":2000000,"egressBurst":200000}' "$PREV")"
check_eq "egress only: ADD" "$RC" 0
check_eq "egress only: ingress qdisc only on the host veth" "$(qd "$H" "$HV" | jq -c 'map(.kind)')" '["ingress"]'
IFB=$(jq -r '.interfaces[-1].name' <<<"$OUT")
check_eq "egress only: IFB with its tbf" "$(qd "$H" "$IFB" | jq -c 'map(.kind)')" '["tbf"]'
check_eq "egress only: redirect to it" "$(redirect_to "$H" "$HV")" "$IFB"
H_OUT=$H

setup $v c-prec
K=$(jq -c '. + {runtimeConfig: {bandwidth: {egressRate: 2000000, egressBurst: 200000}}}' <<<'{"ingressRate":1000000,"ingressBurst":100000}')
hrun "$H" "$P" ADD "$C" eth0 c-prec "$(bwconf $v "$K" "$PREV")"
check_eq "static config wins over runtimeConfig" "$RC:$(qd "$H" "$HV" | jq -c 'map(.kind)'):$(ifbs "$H")" '0:["tbf"]:'
setup $v c-rc
hrun "$H" "$P" ADD "$C" eth0 c-rc "$(bwconf $v '{"runtimeConfig":{"bandWidth":{"egressRate":2000000,"egressBurst":200000}}}' "$PREV")"
check_eq "runtimeConfig.bandWidth (any case) used when static keys are absent" "$RC:$(qd "$H" "$HV" | jq -c 'map(.kind)')" '0:["ingress"]'
hrun "$H" "$P" ADD "$C" eth0 c-rc "$(bwconf $v '{"ingressRate":0,"ingressBurst":0,"runtimeConfig":{"bandwidth":{"egressRate":1,"egressBurst":1}}}' "$PREV")"
check_eq "zero static config: nothing to do, prevResult passed through" "$RC:$(jq -c . <<<"$OUT")" "0:$(jq -c . <<<"$PREV")"
hrun "$H" "$P" ADD "$C" eth0 c-rc "$(bwconf $v '{}' "$PREV")"
check_eq "no limits at all: prevResult passed through" "$RC:$(jq -c . <<<"$OUT")" "0:$(jq -c . <<<"$PREV")"

# ---- invalid configurations ------------------------------------------------------------------
bad() { # NAME KEYS WANT-MESSAGE-PART
	hrun "$H" "$P" ADD "$C" eth0 c-bad "$(bwconf $v "$2" "$PREV")"
	if [ "$RC" = 1 ] && grep -q "$3" <<<"$OUT"; then ok "invalid: $1"; else fail "invalid: $1" "$RC $OUT"; fi
}
bad "rate without burst" '{"ingressRate":1000}' "if rate is set, burst must also be set"
bad "burst without rate" '{"egressBurst":1000}' "if burst is set, rate must also be set"
bad "negative rate" '{"ingressRate":-1,"ingressBurst":100}' "ingressRate"
bad "runtimeConfig rate without burst" '{"runtimeConfig":{"bandwidth":{"ingressRate":1000}}}' "burst must also be set"
hrun "$H" "$P" ADD "$C" eth0 c-bad "$(bwconf $v "$BOTH")"
check_eq "no prevResult: refused" "$RC:$(jq -r .msg <<<"$OUT")" "1:must be called as chained plugin"
mkns CX
in_ns "$CX" ip link add eth0 type veth peer name eth0p
hrun "$H" "$P" ADD "$CX" eth0 c-bad "$(bwconf $v "$BOTH" "$PREV")"
check_eq "container veth whose peer is not in this host: refused, nothing left" \
	"$RC:$(jq -r .msg <<<"$OUT"):$(has_link "$H" "$(printf 'bwp%s' "$(printf pmc-bad | sha512sum | cut -c1-12)")")" \
	"1:veth peer with index 2 is not in host ns:no"
before=$(qd "$H" "$HV")
hrun "$H" "$P" ADD "$C" eth0 c-bad "$(bwconf $v "$BOTH" "$(jq -c '.interfaces |= map(select(.sandbox))' <<<"$PREV")")"
check_eq "host veth not listed in prevResult: refused, nothing changed" "$RC:$(jq -r .msg <<<"$OUT"):$(qd "$H" "$HV")" \
	"1:no veth peer of container interface found in host ns:$before"
hrun "$H" "$P" DEL "$C" eth0 never-added "$(bwconf $v "$BOTH")"
check_eq "DEL without ADD" "$RC:$OUT" "0:"
hrun "$H_OUT" "$P" DEL /run/netns/does-not-exist eth0 c-out "$(bwconf $v "$BOTH")"
check_eq "DEL with the netns gone removes the IFB" "$RC:$(has_link "$H_OUT" "$IFB")" "0:no"

# ---- what Kubernetes runtimes send, and the edges ----------------------------------------------
# containerd (go-cni's BandWidth has no JSON tags: capitalised keys) sends a burst of 2^32-1 bits
# for a rate-only annotation; CRI-O (ocicni) 8*(2^32-1)-1 bits, older CRI-O 8*(2^32-1). kubelet's
# annotations range from 1 kbit/s to 1 Pbit/s in containerd (CRI-O checks no range). A burst
# longer than 2^32-1 ticks (274.9 s) at its rate is capped there: never refused.
# tbfis HOSTNS DEV N: the first N of [rate bytes/s, burst bytes as tc derives it from the buffer]
# (tc's derivation overflows above 4 GB/s: there only the rate, and CHECK reads the raw values)
tbfis() { in_ns "$1" tc -j qdisc show dev "$2" root | jq -c --argjson n "$3" '.[0] | select(.kind == "tbf") | [.options.rate, .options.burst][:$n]'; }
# bwraw VERSION KEYS PREV: bwconf built with text only (jq turns integers above 2^53 into doubles)
bwraw() {
	local k=${2#\{}
	printf '{"cniVersion":"%s","name":"pm","type":"bandwidth",%s%s}' "$1" "${k%\}}" "${3:+,\"prevResult\":$3}"
}
edge() { # NAME RATE BURST WANT-TBF [KEYS-TEMPLATE]: ingress and egress, CHECK, DEL
	local tpl=${5:-'{"runtimeConfig":{"bandwidth":{"ingressRate":%s,"ingressBurst":%s,"egressRate":%s,"egressBurst":%s}}}'}
	local keys cid=c-edge$SUB n
	setup $v "$cid"
	keys=$(printf "$tpl" "$2" "$3" "$2" "$3")
	hrun "$H" "$P" ADD "$C" eth0 "$cid" "$(bwraw $v "$keys" "$PREV")"
	check_eq "$1: ADD" "$RC" 0
	local ifb r=$OUT
	ifb=$(jq -r '.interfaces[-1].name' <<<"$r")
	n=$(jq length <<<"$4")
	check_eq "$1: tbf on the host veth and on the IFB" "$(tbfis "$H" "$HV" "$n") $(tbfis "$H" "$ifb" "$n")" "$4 $4"
	hrun "$H" "$P" CHECK "$C" eth0 "$cid" "$(bwraw $v "$keys" "$r")"
	check_eq "$1: CHECK" "$RC:$OUT" "0:"
	hrun "$H" "$P" DEL "$C" eth0 "$cid" "$(bwraw $v "$keys")"
	check_eq "$1: DEL" "$RC:$(ifbs "$H")" "0:"
}
v=1.0.0
# tc shows the burst it derives, rate * buffer: 2^32-1 ticks of 64 ns at 1.25 MB/s are 343597382 B
edge "containerd 10M annotation (burst 2^32-1 bits)" 10000000 4294967295 '[1250000,343597382]' \
	'{"runtimeConfig":{"bandwidth":{"IngressRate":%s,"IngressBurst":%s,"EgressRate":%s,"EgressBurst":%s}}}'
edge "containerd 1k annotation (kubelet's smallest)" 1000 4294967295 '[125,34359]' \
	'{"runtimeConfig":{"bandwidth":{"IngressRate":%s,"IngressBurst":%s,"EgressRate":%s,"EgressBurst":%s}}}'
edge "containerd 1P annotation (kubelet's largest)" 1000000000000000 4294967295 \
	'[125000000000000]' \
	'{"runtimeConfig":{"bandwidth":{"IngressRate":%s,"IngressBurst":%s,"EgressRate":%s,"EgressBurst":%s}}}'
edge "CRI-O 10M annotation (burst 8*(2^32-1)-1 bits)" 10000000 34359738359 '[1250000,343597382]'
edge "older CRI-O (burst 8*(2^32-1) bits, refused by the reference)" 10000000 34359738360 '[1250000,343597382]'
edge "rate 1 bit/s, burst 1 bit: one byte each" 1 1 '[1,1]'
edge "rate 7 bits/s, burst 1 MB" 7 8000000 '[1,274]'
# (jq prints the rate 2^60-1 as a double; CHECK compares the exact value)
edge "largest rate (2^63-1 bits/s), 1-byte burst" 9223372036854775807 8 '[1152921504606847000]'
edge "largest burst (2^63-1 bits) at 1 Gbit/s: 2^32-1 bytes" 1000000000 9223372036854775807 '[125000000,4294967125]'
edge "34 Gbit/s (a 64-bit rate), 1-byte burst" 34359738368 8 '[4294967296]'
hrun "$H" "$P" ADD "$C" eth0 c-zero "$(bwconf $v '{"runtimeConfig":{"bandwidth":{"IngressRate":0,"IngressBurst":0,"EgressRate":0,"EgressBurst":0}}}' "$PREV")"
check_eq "rate 0 and burst 0: no limit, prevResult passed through" "$RC:$(jq -c . <<<"$OUT"):$(ifbs "$H")" "0:$(jq -c . <<<"$PREV"):"

# ---- GC ----------------------------------------------------------------------------------------
v=1.1.0
mkhost H
SUB=$((SUB + 1))
gc_add() { # NET CID: bridge + bandwidth (egress) for that attachment
	local c
	mkns c
	eval "NS_$2=$c"
	local b
	b=$(printf '{"cniVersion":"%s","name":"%s","type":"bridge","bridge":"br0","isGateway":true,"ipam":{"type":"host-local","dataDir":"%s","ranges":[[{"subnet":"10.78.0.0/24"}]]}}' "$v" "$1" "$DATA")
	hrun "$H" "$BIN/bridge" ADD "$c" eth0 "$2" "$b"
	hrun "$H" "$P" ADD "$c" eth0 "$2" "$(jq -c --arg n "$1" '.name = $n' <<<"$(bwconf $v '{"egressRate":8000000,"egressBurst":800000}' "$OUT")")"
	[ "$RC" = 0 ] || fail "GC setup: ADD $1/$2" "$OUT"
}
gc_add pm a
gc_add pm b
gc_add other c
gc_add other d
in_ns "$H" ip link add myifb0 type ifb
name_of() { printf 'bwp%s' "$(printf '%s%s' "$1" "$2" | sha512sum | cut -c1-12)"; }
# b and d lose their veth as if their main plugin's DEL ran but bandwidth's did not
in_ns "$NS_b" ip link del eth0
in_ns "$NS_d" ip link del eth0
hrun "$H" "$P" GC "" "" "" "$(jq -cn --arg v $v '{cniVersion: $v, name: "pm", type: "bandwidth", "cni.dev/valid-attachments": [{containerID: "a", ifname: "eth0"}]}')"
check_eq "GC" "$RC:$OUT" "0:"
check_eq "GC kept a valid attachment's IFB" "$(has_link "$H" "$(name_of pm a)")" yes
check_eq "GC removed the IFB of a stale attachment" "$(has_link "$H" "$(name_of pm b)")" no
check_eq "GC kept another network's live IFB" "$(has_link "$H" "$(name_of other c)")" yes
check_eq "GC removed an IFB no veth redirects to" "$(has_link "$H" "$(name_of other d)")" no
check_eq "GC kept an IFB not named like ours" "$(has_link "$H" myifb0)" yes
hrun "$H" "$P" GC "" "" "" "$(jq -cn --arg v $v '{cniVersion: $v, name: "pm", type: "bandwidth", "cni.dev/valid-attachments": []}')"
check_eq "GC with no valid attachment keeps IFBs still redirected to" "$RC:$(has_link "$H" "$(name_of pm a)")" "0:yes"

# ---- shaped rates, measured roughly ----------------------------------------------------------
# xfer NS-FROM ADDR NS-TO BYTES: milliseconds for BYTES over TCP, measured at the receiver.
xfer() {
	local from=$1 addr=$2 to=$3 bytes=$4 port=$((20000 + RANDOM % 10000)) pid t0 t1
	in_ns "$to" timeout 20 socat -u "TCP-LISTEN:$port,reuseaddr" - >/dev/null &
	pid=$!
	poll_until 3000 in_ns "$to" sh -c "ss -ltn | grep -q :$port" || { echo 99999; return; }
	t0=$(date +%s%N)
	head -c "$bytes" /dev/zero | in_ns "$from" timeout 20 socat -u - "TCP:$addr:$port" 2>/dev/null
	wait "$pid"
	t1=$(date +%s%N)
	echo $(((t1 - t0) / 1000000))
}
if ! command -v socat >/dev/null || ! command -v ss >/dev/null; then
	skip "measured rates" "socat or ss missing"
else
	v=1.0.0
	setup $v c-rate
	CIP=$(jq -r '.ips[0].address | split("/")[0]' <<<"$PREV")
	GW=$(jq -r '.ips[0].gateway' <<<"$PREV")
	base_in=$(xfer "$H" "$CIP" "$C" 300000)
	base_out=$(xfer "$C" "$GW" "$H" 300000)
	hrun "$H" "$P" ADD "$C" eth0 c-rate "$(bwconf $v '{"ingressRate":1000000,"ingressBurst":100000,"egressRate":1000000,"egressBurst":100000}' "$PREV")"
	shaped_in=$(xfer "$H" "$CIP" "$C" 300000)
	shaped_out=$(xfer "$C" "$GW" "$H" 300000)
	echo "# 300 kB: unshaped in ${base_in} ms, out ${base_out} ms; at 1 Mbit/s in ${shaped_in} ms, out ${shaped_out} ms"
	# 300 kB at 125 kB/s is 2.4 s less the 12.5 kB burst
	if [ "$shaped_in" -ge 1800 ] && [ "$shaped_in" -lt 15000 ]; then ok "ingress shaped to about 1 Mbit/s"; else fail "ingress shaped to about 1 Mbit/s" "$shaped_in ms"; fi
	if [ "$shaped_out" -ge 1800 ] && [ "$shaped_out" -lt 15000 ]; then ok "egress shaped to about 1 Mbit/s"; else fail "egress shaped to about 1 Mbit/s" "$shaped_out ms"; fi
	if [ "$base_in" -lt 600 ] && [ "$base_out" -lt 600 ]; then ok "unshaped transfers are much faster"; else fail "unshaped transfers are much faster" "$base_in / $base_out ms"; fi
fi

# ---- differential against the reference --------------------------------------------------------
if [ ! -x "$REF/bandwidth" ]; then
	skip "bandwidth differential" "reference plugin not installed in $REF"
	finish
fi
norm_r() { jq -cS --arg hv "$2" 'if (.dns? // null) == {} then del(.dns) else . end | .interfaces |= map((if .mac then .mac = "MAC" else . end) | (if .name == $hv then .name = "HOSTVETH" else . end) | del(.sandbox))' <<<"$1"; }
tcstate() { # HOSTNS HOSTVETH
	qd "$1" "$2"
	qd "$1" bwp5d3212c3d10f
	redirect_to "$1" "$2"
	in_ns "$1" ip -j -d link show bwp5d3212c3d10f 2>/dev/null | jq -c '.[0] | {mtu, txqlen, operstate, kind: .linkinfo.info_kind}'
}
for v in 0.3.0 0.3.1 0.4.0 1.0.0 1.1.0; do
	rv=$v
	[ "$v" = 1.1.0 ] && rv=1.0.0 # Debian's reference stops at 1.0.0
	for keys in "$BOTH" '{"ingressRate":800000,"ingressBurst":160000}' '{"runtimeConfig":{"bandwidth":{"egressRate":123456789,"egressBurst":999999}}}'; do
		setup $rv cid1
		HO=$H CO=$C PO=$PREV HVO=$HV
		SUB=$((SUB - 1)) # the same subnet in the reference's own host
		DDIR=$DATA2 setup $rv cid1
		HR=$H CR=$C PR=$PREV HVR=$HV
		hrun "$HO" "$P" ADD "$CO" eth0 cid1 "$(bwconf $v "$keys" "$PO")"
		ro=$RC oo=$OUT
		hrun "$HR" "$REF/bandwidth" ADD "$CR" eth0 cid1 "$(bwconf $rv "$keys" "$PR")"
		rr=$RC or=$OUT
		tag="$v $(jq -c 'keys' <<<"$keys")"
		check_eq "diff $tag: ADD status" "$ro" "$rr"
		check_eq "diff $tag: result" "$(norm_r "$oo" "$HVO" | jq -c '.cniVersion = "X"')" "$(norm_r "$or" "$HVR" | jq -c '.cniVersion = "X"')"
		check_eq "diff $tag: tc state" "$(tcstate "$HO" "$HVO")" "$(tcstate "$HR" "$HVR")"
		if [[ $rv == 0.4.0 || $rv == 1.* ]]; then
			# each one's CHECK on the other's kernel state
			hrun "$HR" "$P" CHECK "$CR" eth0 cid1 "$(bwconf $v "$keys" "$or")"
			check_eq "diff $tag: our CHECK passes on the reference's state" "$RC:$OUT" "0:"
			hrun "$HO" "$REF/bandwidth" CHECK "$CO" eth0 cid1 "$(bwconf $rv "$keys" "$(jq -c --arg v $rv '.cniVersion = $v' <<<"$oo")")"
			check_eq "diff $tag: the reference's CHECK passes on our state" "$RC:$OUT" "0:"
		fi
		hrun "$HR" "$P" DEL "$CR" eth0 cid1 "$(bwconf $v "$keys")"
		check_eq "diff $tag: our DEL cleans the reference's state" "$RC:$(ifbs "$HR")" "0:"
		hrun "$HO" "$REF/bandwidth" DEL "$CO" eth0 cid1 "$(bwconf $rv "$keys")"
		check_eq "diff $tag: the reference's DEL cleans ours" "$RC:$(ifbs "$HO")" "0:"
	done
done
for keys in '{"ingressRate":1000}' '{"egressBurst":1000}'; do
	hrun "$PROBE" "$P" ADD "$C" eth0 cid1 "$(bwconf 1.0.0 "$keys" "$PREV")"
	mo=$(jq -r .msg <<<"$OUT")
	hrun "$PROBE" "$REF/bandwidth" ADD "$C" eth0 cid1 "$(bwconf 1.0.0 "$keys" "$PREV")"
	check_eq "diff invalid $keys: same message" "$mo" "$(jq -r .msg <<<"$OUT")"
done
# containerd's shape (burst 2^32-1 bits at 10 Mbit/s): both accept; the reference's buffer wraps
# (154.6 s instead of 429.5 s), ours is capped at 274.9 s; rate and limit agree, and our CHECK
# passes on the reference's qdisc (a host moving from the Go plugin keeps its pods' CHECK green)
K8S='{"runtimeConfig":{"bandwidth":{"IngressRate":10000000,"IngressBurst":4294967295,"EgressRate":10000000,"EgressBurst":4294967295}}}'
setup 1.0.0 cid1
HO=$H CO=$C PO=$PREV HVO=$HV
SUB=$((SUB - 1))
DDIR=$DATA2 setup 1.0.0 cid1
HR=$H CR=$C PR=$PREV HVR=$HV
hrun "$HO" "$P" ADD "$CO" eth0 cid1 "$(bwconf 1.0.0 "$K8S" "$PO")"
ro=$RC
hrun "$HR" "$REF/bandwidth" ADD "$CR" eth0 cid1 "$(bwconf 1.0.0 "$K8S" "$PR")"
check_eq "diff containerd shape: both ADD" "$ro:$RC" "0:0"
or=$OUT
check_eq "diff containerd shape: tbf rates agree" "$(tbfis "$HO" "$HVO" 1)" "$(tbfis "$HR" "$HVR" 1)"
check_eq "diff containerd shape: the reference's buffer wraps, ours is capped" \
	"$(tbfis "$HR" "$HVR" 2) $(tbfis "$HO" "$HVO" 2)" "[1250000,193273526] [1250000,343597382]"
hrun "$HR" "$P" CHECK "$CR" eth0 cid1 "$(bwconf 1.0.0 "$K8S" "$or")"
check_eq "diff containerd shape: our CHECK passes on the reference's qdiscs" "$RC:$OUT" "0:"
finish
