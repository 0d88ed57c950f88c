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
example_host H

for f in "$TOP"/conf/examples/*; do
	name=$(basename "$f")
	if ! example_load "$f" "$H"; then
		fail "$name is valid JSON" "jq cannot read it"
		continue
	fi
	v=$(jq -r .cniVersion <<<"$list")
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
