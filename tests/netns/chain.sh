#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The chain runtimes write: a podman-style conflist (bridge + portmap + firewall + tuning) run as
# libcni runs it (plugins in order with prevResult on ADD, CHECK with the final result, DEL in
# reverse with it), at cniVersion 0.4.0, 1.0.0 and 1.1.0: a mapped port reached through the host,
# CHECK, DEL, DEL again, and at 1.1.0 GC of a stale attachment while a valid one keeps everything.
# Afterwards no veth, reservation, tuning backup or nftables rule naming the containers is left.
. "$(dirname "$0")/lib.sh"
need_root chain
for p in bridge portmap firewall tuning host-local; do
	if [ ! -x "$BIN/$p" ]; then
		skip chain "plugin $p is not built"
		exit 0
	fi
done
if ! command -v socat >/dev/null; then
	skip chain "socat is not installed"
	exit 0
fi
tmpdir DATA

# list VERSION: the conflist, with every state directory in the scratch dir.
list() {
	jq -nc --arg v "$1" --arg d "$DATA" '{cniVersion: $v, name: "podman", plugins: [
		{type: "bridge", bridge: "cni-podman0", isGateway: true, ipMasq: true, hairpinMode: true,
		 ipam: {type: "host-local", dataDir: ($d + "/ipam"), routes: [{dst: "0.0.0.0/0"}],
		        ranges: [[{subnet: "10.88.0.0/16", gateway: "10.88.0.1"}]]}},
		{type: "portmap", capabilities: {portMappings: true}},
		{type: "firewall"},
		{type: "tuning", dataDir: ($d + "/tuning"), sysctl: {"net.ipv4.conf.IFNAME.arp_filter": "1"}}]}'
}

# plugin_conf LIST INDEX [PREV] [EXTRA-JSON]: what libcni sends to plugin INDEX.
plugin_conf() {
	jq -c --argjson i "$2" --argjson p "${3:-null}" --argjson x "${4:-{\}}" '
		(.plugins[$i] + {cniVersion, name}) as $c
		| $c + (if $p == null then {} else {prevResult: $p} end) + $x
		| if .capabilities.portMappings then . + {runtimeConfig: {portMappings:
			[{hostPort: 8080, containerPort: 80, protocol: "tcp"}]}} else . end' <<<"$1"
}

TYPES=(bridge portmap firewall tuning)

# add CONTAINER-NETNS CID VERSION -> final result in RESULT, success in RC
add() {
	local l i prev=null
	l=$(list "$3")
	for i in 0 1 2 3; do
		hrun "$H" "$BIN/${TYPES[$i]}" ADD "$1" eth0 "$2" "$(plugin_conf "$l" $i "$prev")"
		if [ "$RC" != 0 ]; then
			fail "$3 ADD ${TYPES[$i]} for $2" "$OUT"
			return 1
		fi
		prev=$OUT
	done
	RESULT=$prev
}

# verb VERB CONTAINER-NETNS CID VERSION RESULT: CHECK in order, DEL in reverse
verb() {
	local l i order="0 1 2 3" failed=0
	l=$(list "$4")
	[ "$1" = DEL ] && order="3 2 1 0"
	for i in $order; do
		hrun "$H" "$BIN/${TYPES[$i]}" "$1" "$2" eth0 "$3" "$(plugin_conf "$l" $i "$5")"
		[ "$RC" = 0 ] || {
			fail "$4 $1 ${TYPES[$i]} for $3" "$OUT"
			failed=1
		}
	done
	return $failed
}

leftovers() { # CID...: veths, reservations, backups, rules naming the containers
	local rules=0 c
	for c in "$@"; do
		rules=$((rules + $(in_ns "$H" nft list ruleset | grep -c -- "$c")))
	done
	echo "veths=$(in_ns "$H" ip -j link show type veth | jq length)" \
		"reservations=$(find "$DATA/ipam" -type f ! -name lock ! -name 'last_reserved_ip.*' ! -name '.cnic*' 2>/dev/null | wc -l)" \
		"backups=$(find "$DATA/tuning" -type f 2>/dev/null | wc -l) rules=$rules"
}

for v in 0.4.0 1.0.0 1.1.0; do
	mkhost H
	mkns C1
	# ip netns exec execs socat: $! is socat (in_ns ... & would be a subshell, socat would stay)
	ip netns exec "$(basename "$C1")" socat TCP-LISTEN:80,fork,reuseaddr SYSTEM:'echo hello-from-c1' >/dev/null 2>&1 &
	on_exit "kill $! 2>/dev/null"
	cid="pod${v//./}-a"
	add "$C1" "$cid" "$v" || continue
	R=$RESULT
	check_eq "$v chain ADD: the final result names the container" \
		"$(jq -c '[.interfaces[2].name, .ips[0].interface]' <<<"$R")" '["eth0",2]'
	check_eq "$v tuning applied" "$(in_ns "$C1" cat /proc/sys/net/ipv4/conf/eth0/arp_filter)" 1
	poll_until 3000 in_ns "$H" sh -c 'exec 3<>/dev/tcp/10.88.0.1/8080'
	got=$(in_ns "$H" timeout 5 socat -T2 - TCP:10.88.0.1:8080 </dev/null 2>/dev/null)
	check_eq "$v mapped port 8080 reaches the container" "$got" hello-from-c1
	check "$v container reaches its gateway" ping_ok "$C1" 10.88.0.1
	verb CHECK "$C1" "$cid" "$v" "$R" && ok "$v CHECK of every plugin"
	verb DEL "$C1" "$cid" "$v" "$R" && ok "$v DEL of every plugin"
	verb DEL "$C1" "$cid" "$v" "$R" && ok "$v DEL again"
	verb DEL "$C1" never "$v" null && ok "$v DEL without ADD and without prevResult"
	check_eq "$v nothing left" "$(leftovers "$cid" never)" "veths=0 reservations=0 backups=0 rules=0"

	if [ "$v" = 1.1.0 ]; then
		mkns C2
		mkns C3
		add "$C2" stale-c2 "$v"
		add "$C3" valid-c3 "$v"
		R3=$RESULT
		l=$(list "$v")
		for i in 0 1 2 3; do
			hrun "$H" "$BIN/${TYPES[$i]}" GC "" "" "" "$(jq -c --argjson i $i '(.plugins[$i] + {cniVersion, name})
				+ {"cni.dev/valid-attachments": [{containerID: "valid-c3", ifname: "eth0"}]}' <<<"$l")"
			check_eq "GC ${TYPES[$i]}" "$RC:$OUT" "0:"
		done
		check_eq "GC removed the stale attachment's rules" "$(leftovers stale-c2 | sed 's/.*rules=//')" 0
		check_eq "GC kept only the valid attachment's reservation" \
			"$(find "$DATA/ipam" -type f -name '10.88.*' -exec cat {} \; | tr -d '\r' | tr '\n' ' ')" "valid-c3 eth0"
		check_eq "GC removed the stale attachment's tuning backup" "$(find "$DATA/tuning" -name 'stale-c2*' 2>/dev/null | wc -l)" 0
		verb CHECK "$C3" valid-c3 "$v" "$R3" && ok "CHECK of the valid attachment after GC"
		verb DEL "$C3" valid-c3 "$v" "$R3" && ok "DEL of the valid attachment"
		ip netns del "$(basename "$C2")"
		verb DEL "$C2" stale-c2 "$v" null && ok "the runtime's late DEL of the stale one"
		poll_until 3000 sh -c "[ \"\$(ip -n $H -j link show type veth | jq length)\" = 0 ]"
		check_eq "nothing left after GC and DEL" "$(leftovers stale-c2 valid-c3)" "veths=0 reservations=0 backups=0 rules=0"
	fi
done
finish
