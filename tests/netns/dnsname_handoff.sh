#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# dnsname's upgrade without loss (issue 21): "dnsname restart" of another binary starts a new
# daemon that takes the running one's sockets (control socket, every listener) over by fd
# passing, while a container sends 5,000 UDP queries a second (1 in 50 forwarded to a slow
# upstream, so some are in flight at the handoff) and a TCP connection has a slow forwarded query
# in flight: every query is answered, the TCP connection's queries too; the old daemon exits once
# it has finished, leaving the rewrites, the pid file and the control socket to the new one, in
# the old one's mode (--exit-idle carried over). Both for a plugin-started old daemon and one
# run as the systemd unit runs it (no --exit-idle). Knobs: HANDOFF_RATE (5000), HANDOFF_SECS (3).
. "$(dirname "$0")/lib.sh"
need_root dnsname_handoff
for t in dig nft python3 jq; do
	command -v $t >/dev/null || { skip dnsname_handoff "$t is not installed"; exit 0; }
done
RATE=${HANDOFF_RATE:-5000}
SECS=${HANDOFF_SECS:-3}
HERE=$(cd "$(dirname "$0")" && pwd)

tmpdir RUN
tmpdir DATA
tmpdir B
mkdir -p "$B/v1" "$B/v2" "$B/v3"
for v in v1 v2 v3; do cp "$BIN/dnsname" "$B/$v/dnsname"; done # "installing a new binary"

mkhost H
on_exit 'kill $(cat "$RUN/dnsname.pid" 2>/dev/null) 2>/dev/null'
printf 'nameserver 127.0.0.54\n' >"$RUN/resolv.conf"
ip netns exec "$H" python3 "$HERE/dnsslow.py" 127.0.0.54 50 300 >"$RUN/up.log" 2>&1 &
UP=$!
on_exit "kill $UP"
poll_until 5000 grep -q ready "$RUN/up.log" || { fail "slow upstream" "$(cat "$RUN/up.log")"; finish; }
NET=$(printf '{"cniVersion":"1.0.0","name":"ho","type":"bridge","bridge":"brho","isGateway":true,"ipam":{"type":"host-local","dataDir":"%s","ranges":[[{"subnet":"198.18.58.0/24"}]]}}' "$DATA")
declare -A DCONF NS

ctl() {
	python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.settimeout(3)
s.connect(sys.argv[1] + "/dnsname.sock")
s.send(sys.argv[2].encode())
print(s.recv(512).decode())' "$RUN" "$1" 2>/dev/null
}
attach() { # NAME PLUGIN
	local n=$1 plugin=$2 v
	mkns v
	NS[$n]=$v
	hrun "$H" "$BIN/bridge" ADD "$v" eth0 "$n" "$NET"
	[ "$RC" = 0 ] || { fail "$n: bridge ADD" "$OUT"; return 1; }
	DCONF[$n]=$(jq -cn --argjson p "$OUT" --arg run "$RUN" \
		'{cniVersion:"1.0.0",name:"ho",type:"dnsname",runDir:$run,resolvConf:($run+"/resolv.conf"),prevResult:$p}')
	hrun "$H" "$plugin" ADD "$v" eth0 "$n" "${DCONF[$n]}" "IgnoreUnknown=1;K8S_POD_NAME=pod-$n"
	check_eq "$n: ADD" "$RC" 0
}
ipv4() { in_ns "${NS[$1]}" ip -j -4 addr show dev eth0 | jq -r '.[0].addr_info[0].local'; }
rewrites() {
	local n out=""
	for n in "$@"; do
		if in_ns "${NS[$n]}" nft list table ip cnic_dnsname >/dev/null 2>&1; then out="${out}y"; else out="${out}n"; fi
	done
	echo "$out"
}
dpid() { cat "$RUN/dnsname.pid" 2>/dev/null; }

# under_load WHO FROM TO BINARY: FROM streams queries for pod-TO (and forwarded ones) while
# BINARY's "restart" replaces the daemon; a TCP connection of FROM has a slow forwarded query in
# flight across it (its upstream answers in 300 ms, under the daemon's 400 ms per attempt), then
# asks a local name on the same connection.
under_load() {
	local who=$1 from=$2 to=$3 bin=$4 old new out
	old=$(dpid)
	in_ns "${NS[$from]}" python3 "$HERE/dnsload.py" --rate "$RATE" --secs "$SECS" --name "pod-$to" \
		--ext fast.example --ext-every 50 --wait 4 >"$RUN/load.out" 2>&1 &
	local lp=$!
	poll_until 5000 grep -q started "$RUN/load.out"
	sleep 1 # mid-stream
	in_ns "${NS[$from]}" python3 "$HERE/dnstcp.py" 127.0.0.11 slow.example "pod-$to" >"$RUN/tcp.out" 2>&1 &
	local tp=$!
	poll_until 5000 grep -q sent "$RUN/tcp.out"
	out=$(ip netns exec "$H" "$bin" restart --run-dir "$RUN" --resolv-conf "$RUN/resolv.conf" 2>&1)
	check_eq "$who: dnsname restart ($out)" "$?" 0
	wait $lp $tp
	in_ns "${NS[$from]}" ss -Huanm 'sport = 61053' | tr -s ' \n' ' ' | sed 's/^/# listener: /'; echo
	out=$(tail -1 "$RUN/load.out")
	check_eq "$who: $RATE q/s across the restart, none lost ($out)" \
		"$(jq -r '"\(.lost) \(.bad) \(.sent > 0)"' <<<"$out" 2>/dev/null)" "0 0 true"
	check_eq "$who: a TCP connection's forwarded query in flight, then a local one" \
		"$(grep -v '^sent' "$RUN/tcp.out" | tr '\n' ' ')" "slow.example 192.0.2.7 pod-$to $(ipv4 "$to") "
	new=$(dpid)
	check_eq "$who: the new daemon runs the new binary" \
		"$([ -n "$new" ] && [ "$new" != "$old" ] && readlink "/proc/$new/exe")" "$bin"
	check "$who: the old daemon exits once done" poll_until 12000 eval "! kill -0 $old 2>/dev/null"
	check_eq "$who: its log says so" "$(grep -c 'stopped (handed over)' "$RUN/dnsname.log" "$RUN/sysd.log" 2>/dev/null | awk -F: '{s+=$2} END {print (s > 0)}')" 1
}

# 1. The plugin-started daemon (v1, --exit-idle) replaced by v2.
attach a "$B/v1/dnsname"
attach b "$B/v1/dnsname"
check_eq "v1's daemon serves" "$(readlink "/proc/$(dpid)/exe")" "$B/v1/dnsname"
under_load "plugin-started" a b "$B/v2/dnsname"
check_eq "  rewrites kept" "$(rewrites a b)" yy
check_eq "  ping: 2 listeners" "$(ctl ping)" "ok 2 listeners port 61053"
attach c "$B/v2/dnsname"
check_eq "  a new ADD is served by it" "$(in_ns "${NS[a]}" dig +time=2 +tries=1 +short @127.0.0.11 pod-c)" "$(ipv4 c)"
# --exit-idle carried over: the last DEL makes it exit
NEWPID=$(dpid)
for n in a b c; do hrun "$H" "$B/v2/dnsname" DEL "${NS[$n]}" eth0 "$n" "${DCONF[$n]}"; done
check "  --exit-idle carried over: it exits after the last DEL" poll_until 5000 eval "! kill -0 $NEWPID 2>/dev/null"
check_eq "  no rewrite left" "$(rewrites a b c)" nnn

# 2. As the systemd unit runs it (no --exit-idle; its control socket is its own here).
ip netns exec "$H" "$B/v1/dnsname" daemon --run-dir "$RUN" --resolv-conf "$RUN/resolv.conf" 2>>"$RUN/sysd.log" &
poll_until 5000 ctl ping >/dev/null
attach d "$B/v1/dnsname"
attach e "$B/v1/dnsname"
under_load "long-running" d e "$B/v3/dnsname"
for n in d e; do hrun "$H" "$B/v3/dnsname" DEL "${NS[$n]}" eth0 "$n" "${DCONF[$n]}"; done
check_eq "  no --exit-idle: it stays after the last DEL" "$(ctl ping)" "ok 0 listeners port 61053"

# 3. A restart with no daemon starts one.
kill "$(dpid)"
poll_until 5000 eval '[ ! -e "$RUN/dnsname.pid" ]'
out=$(ip netns exec "$H" "$B/v2/dnsname" restart --run-dir "$RUN" --resolv-conf "$RUN/resolv.conf" 2>&1)
check_eq "restart with no daemon: starts one ($out)" "$?:$(ctl ping)" "0:ok 0 listeners port 61053"
kill "$(dpid)"
poll_until 5000 eval '[ ! -e "$RUN/dnsname.pid" ]'

# 4. A socket-activated daemon (systemd's) is not taken over: the new one would live outside the
#    unit. The restart says so; the old daemon never stopped serving.
if command -v systemd-socket-activate >/dev/null; then
	rm -f "$RUN/dnsname.sock"
	ip netns exec "$H" systemd-socket-activate --seqpacket -l "$RUN/dnsname.sock" \
		"$B/v1/dnsname" daemon --run-dir "$RUN" --resolv-conf "$RUN/resolv.conf" >>"$RUN/sysd.log" 2>&1 &
	SAPID=$!
	on_exit "kill $SAPID"
	poll_until 5000 test -S "$RUN/dnsname.sock"
	ctl ping >/dev/null
	ip netns exec "$H" "$B/v2/dnsname" restart --run-dir "$RUN" --resolv-conf "$RUN/resolv.conf" >/dev/null 2>&1
	check_eq "systemd's daemon: restart refused, it says why" "$?:$(grep -c "systemd's (socket-activated)" "$RUN/dnsname.log")" 1:1
	check_eq "  the old daemon serves on" "$(ctl ping)" "ok 0 listeners port 61053"
	check_eq "  and is still the one running" "$(readlink "/proc/$(dpid)/exe")" "$B/v1/dnsname"
	kill "$SAPID"
else
	skip "dnsname_handoff: systemd's daemon" "systemd-socket-activate missing"
fi
grep -h -A14 'Sanitizer' "$RUN"/*.log 2>/dev/null | head -40 | sed 's/^/# /'
check_eq "no sanitizer report from the daemons" "$(cat "$RUN"/*.log | grep -c 'Sanitizer')" 0
finish
