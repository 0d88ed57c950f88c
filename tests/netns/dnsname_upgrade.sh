#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# dnsname across an upgrade and a downgrade with live containers. The build before the port 53
# rewrite (OLD_REV, built here in a temporary git worktree, or DNSNAME_OLD=/path/to/dnsname)
# has its daemon bind 127.0.0.11:53 in each container netns and no rewrite; this build's daemon
# binds :61053 and owns the rewrite (adds it with each listener, deletes it with the listener
# and when it exits). Shown: an old daemon serves a container the new plugin ADDs (no rewrite
# is put where nothing listens on 61053); a container the old build ADDed keeps resolving when
# the new daemon takes over, started by the plugin or by systemd; a stopped new daemon leaves no
# rewrite, so an old daemon started after it (downgrade) serves every container; an old
# plugin's DEL served by the new daemon removes the rewrite; the new build's "restart" refuses
# to take an old daemon over (it has no handoff) and leaves it serving. The new plugin's containers carry
# dnsServers and runtimeConfig.dns (#21): an old daemon serves them from the same file. A
# container on a second network (#21's per-network resolver address): under the old daemon the
# new plugin announces 127.0.0.11 (all that daemon serves) and writes no "addr" line (the address
# written is the one announced), so the new daemon serves it there too, also once the first
# network is gone; added under the new daemon it gets 127.0.0.12 and its "addr" line, which the
# old daemon, after a downgrade, skips.
. "$(dirname "$0")/lib.sh"
need_root dnsname_upgrade
OLD_REV=48d521f # "dnsname: one walk of the networks directory ...", before the port 53 work
P=$BIN/dnsname
for t in dig git nft python3 make; do
	command -v $t >/dev/null || { skip dnsname_upgrade "$t is not installed"; exit 0; }
done

tmpdir RUN
tmpdir DATA
tmpdir SRC
OLD=${DNSNAME_OLD:-}
if [ -z "$OLD" ]; then
	git -C "$TOP" cat-file -e "$OLD_REV^{commit}" 2>/dev/null ||
		{ skip dnsname_upgrade "commit $OLD_REV is not in this clone's history"; exit 0; }
	on_exit 'git -C "$TOP" worktree remove --force "$SRC/old"'
	git -C "$TOP" worktree add -q --detach "$SRC/old" "$OLD_REV" 2>/dev/null &&
		env -u BUILD -u SANITIZE make -C "$SRC/old" -s -j2 BUILD=build build/bin/dnsname >"$SRC/build.log" 2>&1 ||
		{ fail "building dnsname of $OLD_REV" "$(tail -5 "$SRC/build.log" 2>/dev/null)"; finish; }
	OLD=$SRC/old/build/bin/dnsname
fi

mkhost H
on_exit 'kill $(cat "$RUN/dnsname.pid" 2>/dev/null) 2>/dev/null'
printf 'nameserver 127.0.0.54\n' >"$RUN/resolv.conf"
NET=$(printf '{"cniVersion":"1.0.0","name":"upg","type":"bridge","bridge":"brupg","isGateway":true,"ipam":{"type":"host-local","dataDir":"%s","ranges":[[{"subnet":"198.18.57.0/24"}]]}}' "$DATA")
declare -A DCONF NS

# ctl REQUEST: the daemon's reply on its control socket
ctl() { dn_ctl "$RUN" "$1"; }
# attach NAME PLUGIN: a container NAME (its netns in NS[NAME], its name pod-NAME) on the
# network, dnsname by PLUGIN
attach() {
	local n=$1 plugin=$2 v
	mkns v
	NS[$n]=$v
	hrun "$H" "$BIN/bridge" ADD "$v" eth0 "$n" "$NET"
	[ "$RC" = 0 ] || { fail "$n: bridge ADD" "$OUT"; return 1; }
	# the new plugin's containers name upstreams (#21): lines an old daemon or plugin skips
	DCONF[$n]=$(jq -cn --argjson p "$OUT" --arg run "$RUN" --argjson new "$([ "$plugin" = "$P" ] && echo true || echo false)" \
		'{cniVersion:"1.0.0",name:"upg",type:"dnsname",runDir:$run,resolvConf:($run+"/resolv.conf"),prevResult:$p}
		 + (if $new then {dnsServers:["198.18.0.1:5353"],runtimeConfig:{dns:{servers:["198.18.0.2:5354"]}}} else {} end)')
	hrun "$H" "$plugin" ADD "$v" eth0 "$n" "${DCONF[$n]}" "IgnoreUnknown=1;K8S_POD_NAME=pod-$n"
	check_eq "$n: ADD by the $([ "$plugin" = "$P" ] && echo new || echo old) plugin" "$RC" 0
}
ipv4() { in_ns "${NS[$1]}" ip -j -4 addr show dev "${2:-eth0}" | jq -r '.[0].addr_info[0].local'; }
# second NAME: the container on network upg2 too (eth1, alias NAME2), by the new plugin; NSV2 the
# nameserver its result announces
second() {
	local n=$1 net2
	net2=$(printf '{"cniVersion":"1.0.0","name":"upg2","type":"bridge","bridge":"brupg2","isGateway":true,"ipam":{"type":"host-local","dataDir":"%s","ranges":[[{"subnet":"198.18.56.0/24"}]]}}' "$DATA")
	hrun "$H" "$BIN/bridge" ADD "${NS[$n]}" eth1 "$n" "$net2"
	[ "$RC" = 0 ] || { fail "$n: bridge ADD on upg2" "$OUT"; return 1; }
	DCONF2[$n]=$(jq -cn --argjson p "$OUT" --arg run "$RUN" --arg a "${n}2" \
		'{cniVersion:"1.0.0",name:"upg2",type:"dnsname",runDir:$run,resolvConf:($run+"/resolv.conf"),prevResult:$p,
		  runtimeConfig:{aliases:{upg2:[$a]}}}')
	hrun "$H" "$P" ADD "${NS[$n]}" eth1 "$n" "${DCONF2[$n]}" # no pod name: pod-NAME stays eth0's
	check_eq "$n: ADD on a second network by the new plugin" "$RC" 0
	NSV2=$(jq -r '.dns.nameservers[0]' <<<"$OUT")
}
declare -A DCONF2
ask() { in_ns "${NS[$1]}" dig +time=2 +tries=1 +short @"$2" "$3" 2>&1; } # NAME ADDR QNAME
# resolves FROM NAME...: FROM asks 127.0.0.11:53 for each pod-NAME, prints the NAMEs it got right
resolves() {
	local from=$1 n got out=""
	shift
	for n in "$@"; do
		got=$(in_ns "${NS[$from]}" dig +time=2 +tries=1 +short @127.0.0.11 "pod-$n" 2>&1)
		[ "$got" = "$(ipv4 "$n")" ] && out="$out $n"
	done
	echo "${out# }"
}
# every NAME asks for every NAME (UDP; one over TCP too)
all_resolve() {
	local who=$1 n want
	shift
	want=$*
	for n in $want; do
		check_eq "$who: $n resolves ${want// /, }" "$(resolves "$n" $want)" "$want"
	done
	check_eq "$who:   and over TCP" \
		"$(in_ns "${NS[$1]}" dig +tcp +time=2 +tries=1 +short @127.0.0.11 "pod-$1")" "$(ipv4 "$1")"
}
rewrites() { # NAME...: "y" or "n" per container: the rewrite table is in its netns
	local n out=""
	for n in "$@"; do
		if in_ns "${NS[$n]}" nft list table ip cnic_dnsname >/dev/null 2>&1; then out="${out}y"; else out="${out}n"; fi
	done
	echo "$out"
}
daemon_stop() { # SIGTERM, as systemd stops it; waits for its exit
	local pid
	pid=$(cat "$RUN/dnsname.pid" 2>/dev/null) || return 1
	kill "$pid" && poll_until 10000 eval "! kill -0 $pid"
}
daemon_systemd() { # BINARY: the daemon as the systemd unit runs it (no --exit-idle)
	ip netns exec "$H" "$1" daemon --run-dir "$RUN" --resolv-conf "$RUN/resolv.conf" 2>>"$RUN/sysd.log" &
	SYSD=$!
	on_exit "kill $SYSD"
	poll_until 5000 ctl ping
}

# 1. The old build: plugin and the daemon it starts (port 53 itself).
attach a "$OLD"
check_eq "old daemon: its ping reply names no port" "$(ctl ping | grep -c port)" 0
check_eq "  it listens on 127.0.0.11:53 in the container" "$(in_ns "${NS[a]}" ss -Hlnu | grep -c '127.0.0.11:53 ')" 1
# the new build's "restart" cannot take an old daemon's sockets: it says so, the old one serves on
ip netns exec "$H" "$P" restart --run-dir "$RUN" --resolv-conf "$RUN/resolv.conf" >/dev/null 2>&1
check_eq "new 'dnsname restart' against the old daemon: refused" "$?:$(grep -c 'cannot hand its sockets over' "$RUN/dnsname.log")" 1:1
check_eq "  the old daemon serves on" "$(resolves a a)" a

# 2. Upgrade, the old daemon still running: the new plugin puts no rewrite where nothing
#    listens on 61053, and the old daemon serves its container.
attach b "$P"
check_eq "  the new plugin wrote the servers and cdns lines" "$(grep -c '^servers \|^cdns ' "$RUN/networks/upg")" 2
second b
check_eq "  b's second network, old daemon: 127.0.0.11 announced" "$NSV2" 127.0.0.11
check_eq "  ... and no addr line written (the address written is the one announced)" \
	"$(grep -c '^addr ' "$RUN/networks/upg2")" 0
check_eq "  the old daemon serves b's second network on 127.0.0.11" "$(ask b 127.0.0.11 b2)" "$(ipv4 b eth1)"
all_resolve "old daemon, new ADD" a b
check_eq "  no rewrite in either container" "$(rewrites a b)" nn
hrun "$H" "$P" CHECK "${NS[b]}" eth0 b "${DCONF[b]}"
check_eq "  the new plugin's CHECK (old daemon: no rewrite to check)" "$RC:$OUT" "0:"

# 3. The old daemon goes; the next ADD starts a new one (plugin-started, --exit-idle): it adds
#    the rewrite in every netns it listens in, the old build's container's included.
check "old daemon stopped" daemon_stop
attach c "$P"
check_eq "new daemon: its ping reply names port 61053" "$(ctl ping | grep -c 'port 61053')" 1
check_eq "  rewrites in every container, the old build's too" "$(rewrites a b c)" yyy
all_resolve "new daemon (plugin-started)" a b c
check_eq "  b's second network on the address its ADD announced, 127.0.0.11" "$(ask b 127.0.0.11 b2)" "$(ipv4 b eth1)"
# b leaves its first network (podman network disconnect): the address b's second network
# announced keeps answering
hrun "$H" "$P" DEL "${NS[b]}" eth0 b "${DCONF[b]}"
check_eq "  b's DEL on its first network" "$RC" 0
check_eq "  b's second network still answers on the address it announced ($NSV2)" \
	"$(ask b "$NSV2" b2)" "$(ipv4 b eth1)"
# b back on both, the new daemon serving: the second network gets its own address, 127.0.0.12
hrun "$H" "$P" DEL "${NS[b]}" eth1 b "${DCONF2[b]}"
check_eq "  b's DEL on its second network" "$RC" 0
hrun "$H" "$P" ADD "${NS[b]}" eth0 b "${DCONF[b]}" "IgnoreUnknown=1;K8S_POD_NAME=pod-b"
check_eq "  b's ADD on its first network again" "$RC:$(jq -r '.dns.nameservers[0]' <<<"$OUT")" 0:127.0.0.11
hrun "$H" "$P" ADD "${NS[b]}" eth1 b "${DCONF2[b]}"
check_eq "  b's second network, new daemon: 127.0.0.12 announced" "$RC:$(jq -r '.dns.nameservers[0]' <<<"$OUT")" 0:127.0.0.12
check "  ... and its addr line written" grep -q '^addr b eth1 [0-9]* [0-9]* 127.0.0.12$' "$RUN/networks/upg2"
check_eq "  b's second network on its own address, 127.0.0.12" "$(ask b 127.0.0.12 b2)" "$(ipv4 b eth1)"
check_eq "  ... which resolves the first network's names too" "$(ask b 127.0.0.12 pod-a)" "$(ipv4 a)"
hrun "$H" "$P" CHECK "${NS[a]}" eth0 a "${DCONF[a]}"
check_eq "  CHECK of the old build's container (rules verified)" "$RC:$OUT" "0:"
in_ns "${NS[a]}" nft flush chain ip cnic_dnsname output
hrun "$H" "$P" CHECK "${NS[a]}" eth0 a "${DCONF[a]}"
check "  CHECK notices its rewrite flushed" grep -q 'cnic_dnsname output' <<<"$OUT"
hrun "$H" "$P" ADD "${NS[a]}" eth0 a "${DCONF[a]}" "IgnoreUnknown=1;K8S_POD_NAME=pod-a"
check_eq "  an ADD again restores it" "$RC:$(resolves a a b)" "0:a b"

# 4. Downgrade: the new daemon stops (SIGTERM) and takes its rewrites along; the old plugin
#    starts an old daemon, which serves every container on port 53.
check "new daemon stopped" daemon_stop
check_eq "  no rewrite left" "$(rewrites a b c)" nnn
attach d "$OLD"
check_eq "old daemon again" "$(ctl ping | grep -c port)" 0
all_resolve "downgraded" a b c d
check_eq "  the old daemon skips the addr line: b2 on 127.0.0.11" "$(ask b 127.0.0.11 b2)" "$(ipv4 b eth1)"

# 5. Upgrade under systemd: the old daemon stops, the new one (no --exit-idle) starts.
check "old daemon stopped" daemon_stop
check "new daemon started as the systemd unit does" daemon_systemd "$P"
check_eq "  rewrites in every container" "$(rewrites a b c d)" yyyy
all_resolve "new daemon (systemd)" a b c d

# 6. An old plugin's DEL served by the new daemon: its listener and rewrite go.
hrun "$H" "$OLD" DEL "${NS[d]}" eth0 d "${DCONF[d]}"
check_eq "old plugin's DEL" "$RC:$OUT" "0:"
check_eq "  the rewrite went with the listener" "$(rewrites a b c d)" yyyn
all_resolve "after the DEL" a b c

# 7. Downgrade under systemd: the new daemon stops, the old one starts in its place.
check "new daemon stopped" daemon_stop
check_eq "  no rewrite left" "$(rewrites a b c)" nnn
check "old daemon started as the systemd unit does" daemon_systemd "$OLD"
all_resolve "old daemon (systemd)" a b c
check "old daemon stopped" daemon_stop
finish
