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
# A restart without --resolv-conf keeps the running daemon's (a network's resolvConf). While a
# handoff is under way the old daemon accepts no control client and makes no listener (a file
# written then gets its listener once the handoff ends, here by its failure); "restart" with stdin
# and fd 3 closed still gets its readiness byte.
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

ctl() { dn_ctl "$RUN" "$1" 2>/dev/null; }
link() { # NAME: its netns and bridge attachment, DCONF[NAME] the dnsname conf
	local n=$1 v
	mkns v
	NS[$n]=$v
	hrun "$H" "$BIN/bridge" ADD "$v" eth0 "$n" "$NET"
	[ "$RC" = 0 ] || { fail "$n: bridge ADD" "$OUT"; return 1; }
	DCONF[$n]=$(jq -cn --argjson p "$OUT" --arg run "$RUN" \
		'{cniVersion:"1.0.0",name:"ho",type:"dnsname",runDir:$run,resolvConf:($run+"/resolv.conf"),prevResult:$p}')
}
attach() { # NAME PLUGIN
	local n=$1 plugin=$2
	link "$n" || return 1
	hrun "$H" "$plugin" ADD "${NS[$n]}" eth0 "$n" "${DCONF[$n]}" "IgnoreUnknown=1;K8S_POD_NAME=pod-$n"
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

# under_load WHO FROM TO BINARY [RESTART ARGS]: FROM streams queries for pod-TO (and forwarded ones) while
# BINARY's "restart" replaces the daemon; a TCP connection of FROM has a slow forwarded query in
# flight across it (its upstream answers in 300 ms, under the daemon's 400 ms per attempt), then
# asks a local name on the same connection.
under_load() {
	local who=$1 from=$2 to=$3 bin=$4 args=${5:-} old new out
	old=$(dpid)
	in_ns "${NS[$from]}" python3 "$HERE/dnsload.py" --rate "$RATE" --secs "$SECS" --name "pod-$to" \
		--ext fast.example --ext-every 50 --wait 4 >"$RUN/load.out" 2>&1 &
	local lp=$!
	poll_until 5000 grep -q started "$RUN/load.out"
	sleep 1 # mid-stream
	in_ns "${NS[$from]}" python3 "$HERE/dnstcp.py" 127.0.0.11 slow.example "pod-$to" >"$RUN/tcp.out" 2>&1 &
	local tp=$!
	poll_until 5000 grep -q sent "$RUN/tcp.out"
	# shellcheck disable=SC2086 # ARGS: words
	out=$(ip netns exec "$H" "$bin" restart --run-dir "$RUN" $args 2>&1)
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
under_load "plugin-started" a b "$B/v2/dnsname" # no --resolv-conf: the network's is kept
check_eq "  rewrites kept" "$(rewrites a b)" yy
check_eq "  the network's resolvConf kept (forwarded there)" \
	"$(in_ns "${NS[a]}" dig +time=2 +tries=1 +short @127.0.0.11 fast.example)" 192.0.2.7
check_eq "  ping: 2 listeners" "$(ctl ping)" "ok 2 listeners port 61053 addrs"
attach c "$B/v2/dnsname"
check_eq "  a new ADD is served by it" "$(in_ns "${NS[a]}" dig +time=2 +tries=1 +short @127.0.0.11 pod-c)" "$(ipv4 c)"

# A handoff under way (a fake new daemon that takes the sockets, then fails): the old daemon
# answers "sync" of a client it had accepted "ask again", accepts no new client, makes no listener
# for a file written meanwhile; once the handoff failed it accepts, reloads, and the ADD waiting
# in the socket's queue succeeds.
fake_handoff() {
	python3 - "$RUN" <<'EOF'
import os, socket, sys, time
run = sys.argv[1]
def conn():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.settimeout(3)
    s.connect(run + "/dnsname.sock")
    return s
def take(s):
    msg, fds, _, _ = socket.recv_fds(s, 8192, 256)
    for f in fds:
        os.close(f)
    return msg.decode(), len(fds)
early = conn()
time.sleep(0.3)  # accepted before the handoff
h = conn()
h.send(b"handoff")
head, _ = take(h)
w = head.split(" ", 5)
print("head", w[0], w[1], w[5] if len(w) > 5 else "-", flush=True)
got = 0
while got < int(w[2]):
    got += take(h)[1] // 2
early.send(b"sync")
print("early", early.recv(512).decode(), flush=True)
late = conn()
late.send(b"ping")
late.settimeout(1)
try:
    print("late", late.recv(512).decode(), flush=True)
except socket.timeout:
    print("late none", flush=True)
print("pending", flush=True)
for _ in range(600):  # until the test says (within the old daemon's 10 s)
    if os.path.exists(run + "/abort"):
        break
    time.sleep(0.01)
h.close()
late.settimeout(5)
print("after", late.recv(512).decode(), flush=True)
EOF
}
rm -f "$RUN/abort"
fake_handoff >"$RUN/fake.out" 2>&1 &
FP=$!
poll_until 8000 grep -q pending "$RUN/fake.out"
check_eq "handoff under way: the header names the running daemon's resolv.conf" \
	"$(grep '^head' "$RUN/fake.out")" "head ok handoff $RUN/resolv.conf"
check_eq "  a sync of a client accepted before: ask again" \
	"$(grep '^early' "$RUN/fake.out" | cut -c1-17)" "early err again: "
check_eq "  a new control client waits" "$(grep '^late' "$RUN/fake.out")" "late none"
link f
(
	hrun "$H" "$B/v2/dnsname" ADD "${NS[f]}" eth0 f "${DCONF[f]}" "IgnoreUnknown=1;K8S_POD_NAME=pod-f"
	echo "$RC" >"$RUN/f.add"
	printf '%s\n' "$OUT" >"$RUN/f.out"
) &
AP=$!
poll_until 5000 grep -qF "${NS[f]}" "$RUN/networks/ho"
sleep 0.3 # the daemon's inotify has seen the file
check_eq "  no listener made for a file written meanwhile" "$(in_ns "${NS[f]}" ss -Hlun 'sport = 61053')" ""
touch "$RUN/abort"
wait $FP $AP
check_eq "  the handoff failed: the waiting client answered" "$(grep '^after' "$RUN/fake.out")" \
	"after ok 4 listeners port 61053 addrs"
check_eq "  the ADD waiting meanwhile succeeds ($(head -c 300 "$RUN/f.out"))" "$(cat "$RUN/f.add")" 0
check_eq "  and is served" "$(in_ns "${NS[a]}" dig +time=2 +tries=1 +short @127.0.0.11 pod-f)" "$(ipv4 f)"
sed 's/^/# /' "$RUN/fake.out"

# --exit-idle carried over: the last DEL makes it exit
NEWPID=$(dpid)
for n in a b c f; do hrun "$H" "$B/v2/dnsname" DEL "${NS[$n]}" eth0 "$n" "${DCONF[$n]}"; done
check "  --exit-idle carried over: it exits after the last DEL" poll_until 5000 eval "! kill -0 $NEWPID 2>/dev/null"
check_eq "  no rewrite left" "$(rewrites a b c f)" nnnn

# 2. As the systemd unit runs it (no --exit-idle; its control socket is its own here).
ip netns exec "$H" "$B/v1/dnsname" daemon --run-dir "$RUN" --resolv-conf "$RUN/resolv.conf" 2>>"$RUN/sysd.log" &
poll_until 5000 ctl ping >/dev/null
attach d "$B/v1/dnsname"
attach e "$B/v1/dnsname"
under_load "long-running" d e "$B/v3/dnsname" "--resolv-conf $RUN/resolv.conf"
for n in d e; do hrun "$H" "$B/v3/dnsname" DEL "${NS[$n]}" eth0 "$n" "${DCONF[$n]}"; done
check_eq "  no --exit-idle: it stays after the last DEL" "$(ctl ping)" "ok 0 listeners port 61053 addrs"

# 3. A restart with no daemon starts one.
kill "$(dpid)"
poll_until 5000 eval '[ ! -e "$RUN/dnsname.pid" ]'
# stdin and fd 3 closed: the readiness pipe's write end is fd 3, close-on-exec unless cleared
out=$(ip netns exec "$H" "$B/v2/dnsname" restart --run-dir "$RUN" --resolv-conf "$RUN/resolv.conf" 2>&1 <&- 3>&-)
check_eq "restart with no daemon (stdin, fd 3 closed): starts one ($out)" "$?:$(ctl ping)" "0:ok 0 listeners port 61053 addrs"
kill "$(dpid)"
poll_until 5000 eval '[ ! -e "$RUN/dnsname.pid" ]'

# 5. The new daemon's side against a fake old daemon (dnshofake.py) that hands over a listener no
#    record claims (its netns keeps the rewrite of a daemon killed before): refusing the release,
#    the new daemon leaves, the rewrite untouched (the old one would serve on); releasing but
#    holding the pid file's lock 300 ms more, the new daemon deletes the rewrite and serves.
attach g "$B/v2/dnsname"
kill -KILL "$(dpid)"
rm -f "$RUN/networks/ho"
check_eq "fake old daemon: the rewrite of a killed daemon is left" "$(rewrites g)" y
for reply in "err refused" "ok released"; do
	rm -f "$RUN/fake2.out" # not the last one's "ready"
	ip netns exec "$(basename "${NS[g]}")" python3 "$HERE/dnshofake.py" "$RUN" "$reply" >"$RUN/fake2.out" 2>&1 &
	FP=$!
	poll_until 5000 grep -q ready "$RUN/fake2.out"
	out=$(ip netns exec "$H" "$B/v2/dnsname" restart --run-dir "$RUN" 2>&1)
	rc=$?
	wait $FP
	sed 's/^/# /' "$RUN/fake2.out"
	if [ "$reply" = "ok released" ]; then
		check_eq "  released: the new daemon serves ($out)" "$rc:$(ctl ping)" "0:ok 0 listeners port 61053 addrs"
		check_eq "  the pid file's lock, once free, is its" "$(readlink "/proc/$(dpid)/exe")" "$B/v2/dnsname"
		check_eq "  the unclaimed listener's rewrite deleted" "$(rewrites g)" n
		kill "$(dpid)"
		poll_until 5000 eval '[ ! -e "$RUN/dnsname.pid" ]'
	else
		check_eq "  release refused: the new daemon leaves" "$rc" 1
		check_eq "  the rewrite kept (the old daemon serves on)" "$(rewrites g)" y
	fi
done

# 5b. A handed-over listener bound to another address than its name says (127.0.0.9, handed
#     over as 127.0.0.11's): not adopted, closed with a log line; the new daemon makes its own
attach g2 "$B/v2/dnsname"
kill -KILL "$(dpid)"
rm -f "$RUN/fake2.out"
ip netns exec "$(basename "${NS[g2]}")" python3 "$HERE/dnshofake.py" "$RUN" "ok released" 127.0.0.9 >"$RUN/fake2.out" 2>&1 &
FP=$!
poll_until 5000 grep -q ready "$RUN/fake2.out"
out=$(ip netns exec "$H" "$B/v2/dnsname" restart --run-dir "$RUN" 2>&1)
rc=$?
wait $FP
check_eq "mismatched listener: the restart succeeds ($out)" "$rc" 0
check_eq "  the socket refused, said so" "$(grep -c 'socket is bound to 127.0.0.9; closed, a new one made' "$RUN/dnsname.log")" 1
poll_until 5000 eval '[ -n "$(in_ns "${NS[g2]}" ss -Hlnu "src 127.0.0.11:61053")" ]'
check_eq "  its own listener on 127.0.0.11 serves g2" "$(in_ns "${NS[g2]}" dig +time=2 +tries=1 +short @127.0.0.11 pod-g2)" \
	"$(ipv4 g2)"
kill "$(dpid)"
poll_until 5000 eval '[ ! -e "$RUN/dnsname.pid" ]'
rm -f "$RUN/networks/ho"

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
	check_eq "  the old daemon serves on" "$(ctl ping)" "ok 0 listeners port 61053 addrs"
	check_eq "  and is still the one running" "$(readlink "/proc/$(dpid)/exe")" "$B/v1/dnsname"
	kill "$SAPID"
else
	skip "dnsname_handoff: systemd's daemon" "systemd-socket-activate missing"
fi
grep -h -A14 'Sanitizer' "$RUN"/*.log 2>/dev/null | head -40 | sed 's/^/# /'
check_eq "no sanitizer report from the daemons" "$(cat "$RUN"/*.log | grep -c 'Sanitizer')" 0
finish
