#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Every configuration in conf/examples/ run as a runtime runs it (libcni's rules: cniVersion and
# name injected, plugins in order with prevResult on ADD, CHECK with the final result, DEL in
# reverse), inside a private host namespace that has an "eth0" with a default route, with every
# dataDir moved to a scratch directory. Examples whose plugins need a fixture of their own
# (flannel's subnet.env, dhcp's server) are exercised by that plugin's test and skipped here.
. "$(dirname "$0")/lib.sh"
need_root examples
tmpdir DATA
mkhost H
in_ns "$H" ip link add eth0 type veth peer name eth0-peer
in_ns "$H" ip addr add 192.0.2.2/24 dev eth0
in_ns "$H" ip link set eth0 up
in_ns "$H" ip link set eth0-peer up
in_ns "$H" ip route add default via 192.0.2.1
in_ns "$H" ip link add eth1 type veth peer name eth1-peer # the device of host-device's example

# Link kinds this kernel may lack, with how to probe for them.
declare -A KIND=([ipvlan]="link eth0 type ipvlan mode l2" [vlan]="link eth0 type vlan id 4000"
	[dummy]="type dummy" [vrf]="type vrf table 4000")
declare -A FIXTURE=([flannel]="tests/netns/flannel.sh" [dhcp]="tests/netns/dhcp.sh" [dnsname]="tests/netns/dnsname.sh")

for f in "$TOP"/conf/examples/*; do
	name=$(basename "$f")
	list=$(jq -c 'if .plugins then . else {cniVersion, name, plugins: [.]} end' "$f" 2>/dev/null)
	if [ -z "$list" ]; then
		fail "$name is valid JSON" "jq cannot read it"
		continue
	fi
	v=$(jq -r .cniVersion <<<"$list")
	net=$(jq -r .name <<<"$list")
	mapfile -t types < <(jq -r '.plugins[].type' <<<"$list")
	mapfile -t itypes < <(jq -r '.plugins[].ipam.type // empty' <<<"$list")
	missing=""
	for t in "${itypes[@]}"; do
		[ -n "${FIXTURE[$t]:-}" ] && missing="needs its own fixture: exercised by ${FIXTURE[$t]}"
	done
	for t in "${types[@]}"; do
		if [ -n "${KIND[$t]:-}" ] && ! in_ns "$H" ip link add cnic-probe ${KIND[$t]} 2>/dev/null; then
			missing="kernel without $t: exercised by tests/netns/$t.sh in the VM lane"
		fi
		in_ns "$H" ip link del cnic-probe 2>/dev/null
		[ -n "${FIXTURE[$t]:-}" ] && missing="needs its own fixture: exercised by ${FIXTURE[$t]}"
		[ -z "$missing" ] && [ ! -x "$BIN/$t" ] && missing="plugin $t is not built"
	done
	if [ -n "$missing" ]; then
		skip "example $name" "$missing"
		continue
	fi
	mkns C
	n=${#types[@]}
	prev=""
	okadd=1
	for i in $(seq 0 $((n - 1))); do
		pc=$(jq -c --argjson i "$i" --arg v "$v" --arg n "$net" --arg d "$DATA" \
			'.plugins[$i] + {cniVersion: $v, name: $n} | if .ipam.dataDir then .ipam.dataDir = $d else . end
			 | if .dataDir then .dataDir = $d else . end' <<<"$list")
		[ -n "$prev" ] && pc=$(with_prev "$pc" "$prev")
		hrun "$H" "$BIN/${types[$i]}" ADD "$C" eth0 "ex-$net" "$pc"
		if [ "$RC" != 0 ]; then
			fail "example $name: ADD ${types[$i]}" "$OUT"
			okadd=0
			break
		fi
		prev=$OUT
	done
	[ "$okadd" = 1 ] && ok "example $name: ADD"
	if [ "$okadd" = 1 ]; then
		for i in $(seq 0 $((n - 1))); do
			pc=$(jq -c --argjson i "$i" --arg v "$v" --arg n "$net" --arg d "$DATA" --argjson p "$prev" \
				'.plugins[$i] + {cniVersion: $v, name: $n, prevResult: $p} | if .ipam.dataDir then .ipam.dataDir = $d else . end
				 | if .dataDir then .dataDir = $d else . end' <<<"$list")
			hrun "$H" "$BIN/${types[$i]}" CHECK "$C" eth0 "ex-$net" "$pc"
			check_eq "example $name: CHECK ${types[$i]}" "$RC:$OUT" "0:"
		done
	fi
	for i in $(seq $((n - 1)) -1 0); do
		pc=$(jq -c --argjson i "$i" --arg v "$v" --arg n "$net" --arg d "$DATA" \
			'.plugins[$i] + {cniVersion: $v, name: $n} | if .ipam.dataDir then .ipam.dataDir = $d else . end
			 | if .dataDir then .dataDir = $d else . end' <<<"$list")
		[ -n "$prev" ] && pc=$(with_prev "$pc" "$prev")
		hrun "$H" "$BIN/${types[$i]}" DEL "$C" eth0 "ex-$net" "$pc"
		check_eq "example $name: DEL ${types[$i]}" "$RC:$OUT" "0:"
	done
	check_eq "example $name: no reservation left" "$(files_left)" 0
done
finish
