#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# dnsname's upstreams and cache (#21): dnsmasq servers inside the private host namespace as the
# upstreams; a network's dnsServers, the default (resolv.conf), a container's own from the "dns"
# capability (runtimeConfig.dns: servers, searches and options in the result), a container on two
# networks, a change of a network's upstreams without a daemon restart and without a lost query,
# answers from the cache after the upstream is killed, TTL expiry forwarding again, a cached
# answer against a forwarded one through a slow upstream (same run), bad dnsServers (our own and
# link-local without a zone among them; a link-local one with its zone works), runtime servers
# skipped when bad, a stale "cdns" line (a dead container's, its netns inode reused) neither
# applied nor kept by GC, DEL with a bad or older config (succeeds, keeps the file's upstreams),
# the cache kept across a reload of the same resolv.conf, and "dnsname status" (text and --json)
# counting it all. The upstreams are on a veth of H; resolv.conf's is 127.0.0.63 (a host
# loopback, which dnsServers may name too; a container's runtime servers may not).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/dnsname.bash"
dnsname_setup dnsname_upstream dig dnsmasq jq python3

# up ADDR ANSWER-IP: a dnsmasq on ADDR:53 of H answering a.example.test (TTL 60) and
# short.example.test (TTL 2) with ANSWER-IP, and any other name under example.test too (TTL 60).
up() { dns_upstream "$1" "$2" --host-record=a.example.test,"$2",60 --host-record=short.example.test,"$2",2; }
ip -n "$H" link add up0 type veth peer name up1 && ip -n "$H" link set up1 up && ip -n "$H" link set up0 up &&
	ip -n "$H" addr add 198.18.0.61/32 dev up0 && ip -n "$H" addr add 198.18.0.62/32 dev up0 &&
	ip -n "$H" addr add 198.18.0.64/32 dev up0 && ip -n "$H" addr add fe80::61/64 dev up0 nodad ||
	fail "upstream link" "cannot make up0 in $H"
up 198.18.0.61 192.0.2.1
up 198.18.0.62 192.0.2.2
up 127.0.0.63 192.0.2.3
printf 'nameserver 127.0.0.63\n' >"$RUN/resolv.conf"

q() {
	local ns=$1
	shift
	in_ns "$ns" dig +time=2 +tries=1 @127.0.0.11 "$@" 2>&1
}
qs() { q "$@" +short | sort | tr '\n' ' ' | sed 's/ $//'; }
st() { in_ns "$H" "$P" status --json --run-dir "$RUN"; }
stat_of() { st | jq -r --arg n "$1" --arg k "$2" '.networks[] | select(.name==$n) | .[$k]'; }

# add KEY NET BRIDGE SUBNET NS IFNAME CID EXTRA-JSON: main plugin, then dnsname.
declare -A DC
add() {
	local key=$1 net=$2 br=$3 sub=$4 ns=$5 ifn=$6 cid=$7 x=$8
	hrun "$H" "$BIN/bridge" ADD "$ns" "$ifn" "$cid" "$(bridge_conf "$net" "$br" "$sub")"
	[ "$RC" = 0 ] || { fail "$key: bridge ADD" "$OUT"; return 1; }
	DC[$key]=$(dns_conf "$net" "$OUT" null "$x")
	hrun "$H" "$P" ADD "$ns" "$ifn" "$cid" "${DC[$key]}" "IgnoreUnknown=1;K8S_POD_NAME=$cid"
	check_eq "$key: dnsname ADD" "$RC" 0
	RES=$OUT
}

mkns C1
mkns C2
mkns C3
mkns C4
add c1 neta bra 10.89.31.0/24 "$C1" eth0 c1 '{"dnsServers":["198.18.0.61"]}'
add c2 netb brb 10.89.32.0/24 "$C2" eth0 c2 '{}'
add c3 neta bra 10.89.31.0/24 "$C3" eth0 c3 \
	'{"dnsServers":["198.18.0.61"],"runtimeConfig":{"dns":{"servers":["nope","127.0.0.1","198.18.0.62:53"],"searches":["corp.example"],"options":["ndots:2"]}}}'
check_eq "runtimeConfig.dns.searches after the domain" "$(jq -c .dns.search <<<"$RES")" '["dns.podman","corp.example"]'
check_eq "runtimeConfig.dns.options in the result" "$(jq -c .dns.options <<<"$RES")" '["ndots:2"]'
add c4a neta bra 10.89.31.0/24 "$C4" eth0 c4 '{"dnsServers":["198.18.0.61"]}'
add c4d netd brd 10.89.34.0/24 "$C4" eth1 c4 '{"dnsServers":["[fe80::61%up0]:53","198.18.0.62"]}'
grep -q '^servers 198.18.0.61:53$' "$RUN/networks/neta" && ok "network file: servers line" ||
	fail "network file: servers line" "$(cat "$RUN/networks/neta")"
grep -q '^servers \[fe80::61%up0\]:53,198.18.0.62:53$' "$RUN/networks/netd" && ok "network file: IPv6 with its zone" ||
	fail "network file: IPv6 with its zone" "$(cat "$RUN/networks/netd")"
grep -q '^cdns c3 eth0 [0-9]* [0-9]* 198.18.0.62:53$' "$RUN/networks/neta" && ok "runtime servers: the bad ones skipped" ||
	fail "runtime servers: the bad ones skipped" "$(cat "$RUN/networks/neta")"

check_eq "network's dnsServers" "$(qs "$C1" a.example.test)" 192.0.2.1
check_eq "no dnsServers: resolv.conf" "$(qs "$C2" a.example.test)" 192.0.2.3
check_eq "container's runtimeConfig.dns.servers wins" "$(qs "$C3" a.example.test)" 192.0.2.2
check_eq "link-local upstream with its zone read by the daemon" "$(stat_of netd upstreams)" "[fe80::61%up0]:53,198.18.0.62:53"
check_eq "two networks: the first by name with dnsServers (neta)" "$(qs "$C4" a.example.test)" 192.0.2.1
check_eq "local names still answered" "$(qs "$C1" c3.dns.podman)" "$(ip_of "$C3")"

# bad dnsServers: the key and the value named, code 7, nothing written
for bad in '"10.0.0.300"' '"1.2.3.4:0"' '"[1.2.3.4]:53"' '"2001:db8::1:53x"' '"a","b","c","d"' \
	'"127.0.0.11"' '"fe80::1"' '"fe80::1%cnicnosuch0"' '"2001:db8::1%up0"'; do
	hrun "$H" "$P" ADD "$C2" eth0 c2 "$(dns_conf netb "$(jq -c .prevResult <<<"${DC[c2]}")" null "{\"dnsServers\":[$bad]}")"
	check_eq "dnsServers [$bad] rejected" "$RC:$(err_code)" 1:7
	grep -q dnsServers <<<"$OUT" && ok "dnsServers [$bad]: the key named" || fail "dnsServers [$bad]: the key named" "$OUT"
done
# runtime-supplied servers: the bad and the unreachable skipped (as glibc skips bad nameserver
# lines); none left: the network's
hrun "$H" "$P" ADD "$C2" eth0 c2 "$(dns_conf netb "$(jq -c .prevResult <<<"${DC[c2]}")" null '{"runtimeConfig":{"dns":{"servers":["nope","127.0.0.1","::1","127.0.0.11"]}}}')"
check_eq "runtimeConfig.dns.servers all bad: ADD succeeds" "$RC" 0
grep -q '^cdns ' "$RUN/networks/netb" && fail "runtimeConfig.dns.servers all bad: no cdns line" "$(cat "$RUN/networks/netb")" ||
	ok "runtimeConfig.dns.servers all bad: no cdns line"
check_eq "netb still served by resolv.conf" "$(qs "$C2" a.example.test)" 192.0.2.3

# a stale cdns line: a container gone without DEL whose netns inode C2 now has. The daemon
# applies a cdns line only with its record (same attachment, same netns): C2 stays on resolv.conf
read -r DEV INO < <(awk '$1 == "rec" && $2 == "c2" {print $5, $6}' "$RUN/networks/netb")
echo "cdns cdead eth0 $DEV $INO 198.18.0.61:53" >>"$RUN/networks/netb"
hrun "$H" "$P" DEL "$C4" eth9 nosuch "$(jq -c 'del(.prevResult)' <<<"${DC[c4d]}")" # a reload, netb untouched
check_eq "reload" "$RC" 0
check_eq "stale cdns line (reused netns inode) not applied" "$(qs "$C2" stale.example.test)" 192.0.2.3
# ... and one with its record: GC drops both (a dead container's record and its cdns line)
awk '$1 == "rec" && $2 == "c2" {print "rec cdead eth0", $4, $5, $6, "10.89.32.250 dead"}' "$RUN/networks/netb" >"$RUN/dead.rec"
cat "$RUN/dead.rec" >>"$RUN/networks/netb"
hrun "$H" "$P" GC "" "" "" "$(jq -c '. + {cniVersion:"1.1.0","cni.dev/valid-attachments":[{"containerID":"c2","ifname":"eth0"}]} | del(.prevResult)' <<<"${DC[c2]}")"
check_eq "GC" "$RC" 0
grep -q 'cdead' "$RUN/networks/netb" && fail "GC drops the dead container's record and cdns line" "$(cat "$RUN/networks/netb")" ||
	ok "GC drops the dead container's record and cdns line"
grep -q '^rec c2 ' "$RUN/networks/netb" && ok "GC keeps the live record" || fail "GC keeps the live record" "$(cat "$RUN/networks/netb")"

# a change of neta's upstreams (a new ADD with another config): no restart, no query lost
PID=$(daemon_pid)
ip netns exec "$(basename "$C1")" python3 - "$RUN/flood.out" <<'PY' &
import socket, struct, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
ok = lost = 0
end = time.time() + 3
i = 0
while time.time() < end:
    i += 1
    name = b"".join(bytes([len(l)]) + l for l in [b"f%d" % i, b"example", b"test"]) + b"\0"
    s.sendto(struct.pack(">HHHHHH", i & 0xffff, 0x0100, 1, 0, 0, 0) + name + b"\0\1\0\1", ("127.0.0.11", 53))
    try:
        r = s.recv(4096)
        ok += (r[3] & 0xf) == 0
    except socket.timeout:
        lost += 1
open(sys.argv[1], "w").write("%d %d\n" % (ok, lost))
PY
FLOOD=$!
on_exit "kill $FLOOD 2>/dev/null"
sleep 1
hrun "$H" "$P" ADD "$C1" eth0 c1 "$(dns_conf neta "$(jq -c .prevResult <<<"${DC[c1]}")" null '{"dnsServers":["198.18.0.62"]}')"
check_eq "re-ADD with new dnsServers" "$RC" 0
wait $FLOOD
read -r FOK FLOST <"$RUN/flood.out"
check_eq "queries lost across the change" "$FLOST" 0
[ "${FOK:-0}" -gt 10 ] && ok "queries answered across the change ($FOK)" || fail "queries answered across the change" "$FOK"
check_eq "change took effect (no restart)" "$(qs "$C1" a.example.test)" 192.0.2.2
check_eq "same daemon" "$(daemon_pid)" "$PID"
check_eq "c4 (neta) follows" "$(qs "$C4" a.example.test)" 192.0.2.2
# the network file changing by itself (a writer of a newer build, or by hand) is seen too
sed -i 's/^servers .*/servers 198.18.0.61:53/' "$RUN/networks/neta"
poll_until 3000 sh -c "[ \"\$(ip netns exec $(basename "$C1") dig +time=1 +tries=1 +short @127.0.0.11 a.example.test)\" = 192.0.2.1 ]" &&
	ok "network file edited: upstreams follow" || fail "network file edited: upstreams follow" "$(qs "$C1" a.example.test)"

# the cache: netb (resolv.conf, 127.0.0.63) asked once, then its upstream killed
F0=$(stat_of netb forwarded)
check_eq "cache: first answer" "$(qs "$C2" cached.example.test)" 192.0.2.3
TTL1=$(q "$C2" cached.example.test +noall +answer | awk '{print $2}')
check_eq "cache: forwarded once" "$(stat_of netb forwarded)" $((F0 + 1))
kill "${UPPID[127.0.0.63]}"
poll_until 3000 sh -c "! kill -0 ${UPPID[127.0.0.63]}"
check_eq "cache: answered with the upstream dead" "$(qs "$C2" cached.example.test)" 192.0.2.3
check_eq "cache: case-insensitive" "$(qs "$C2" CACHED.Example.TEST)" 192.0.2.3
# a resolv.conf reload with the same servers (a rewrite of the same text, SIGHUP) keeps the
# upstream set and its cache; the status round trip after the signal orders it before the query
printf 'nameserver 127.0.0.63\n' >"$RUN/resolv.conf"
kill -HUP "$(daemon_pid)"
st >/dev/null
check_eq "cache: kept across a reload of the same resolv.conf" "$(qs "$C2" cached.example.test)" 192.0.2.3
check_eq "cache: a new name fails (upstream really dead)" "$(q "$C2" other.example.test | grep -o 'status: [A-Z]*')" "status: SERVFAIL"
[ "$(stat_of netb cache_hits)" -ge 2 ] && ok "status: cache hits counted" || fail "status: cache hits counted" "$(st)"
[ "$(stat_of netb upstream_errors)" -ge 1 ] && ok "status: upstream errors counted" || fail "status: upstream errors counted" "$(st)"
[ "${TTL1:-99}" -le 60 ] && ok "cache: TTL served ($TTL1 <= 60)" || fail "cache: TTL served" "$TTL1"

# TTL expiry: short.example.test has a TTL of 2 s
F0=$(stat_of neta forwarded)
check_eq "ttl: first" "$(qs "$C1" short.example.test)" 192.0.2.1
check_eq "ttl: again (cached)" "$(qs "$C1" short.example.test)" 192.0.2.1
check_eq "ttl: forwarded once" "$(stat_of neta forwarded)" $((F0 + 1))
sleep 2.2
check_eq "ttl: after expiry" "$(qs "$C1" short.example.test)" 192.0.2.1
check_eq "ttl: forwarded again after expiry" "$(stat_of neta forwarded)" $((F0 + 2))

# latency: through a slow upstream (a relay in H adding 30 ms before dnsmasq), the cached answer
# against forwarded ones, in the same run
ip netns exec "$H" python3 - <<'PY' & # not in_ns: $! must be python's pid
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("198.18.0.64", 53))
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.settimeout(1)
while True:
    q, peer = s.recvfrom(4096)
    time.sleep(0.03)
    u.sendto(q, ("198.18.0.62", 53))
    try:
        s.sendto(u.recv(4096), peer)
    except socket.timeout:
        pass
PY
RELAY=$!
on_exit "kill $RELAY 2>/dev/null"
hrun "$H" "$P" ADD "$C1" eth0 c1 "$(dns_conf neta "$(jq -c .prevResult <<<"${DC[c1]}")" null '{"dnsServers":["198.18.0.64"]}')"
check_eq "slow upstream set" "$RC" 0
poll_until 3000 sh -c "[ \"\$(ip netns exec $(basename "$C1") dig +time=1 +tries=1 +short @127.0.0.11 warm.example.test)\" = 192.0.2.2 ]" ||
	fail "slow upstream" "no answer"
LAT=$(in_ns "$C1" python3 - <<'PY'
import socket, struct, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
def ask(n, i):
    name = b"".join(bytes([len(l)]) + l for l in n.split(b".")) + b"\0"
    t = time.perf_counter()
    s.sendto(struct.pack(">HHHHHH", i, 0x0100, 1, 0, 0, 0) + name + b"\0\1\0\1", ("127.0.0.11", 53))
    s.recv(4096)
    return (time.perf_counter() - t) * 1e6
fwd = [ask(b"lat%d.example.test" % i, i) for i in range(5)]
hit = [ask(b"lat0.example.test", 100 + i) for i in range(5)]
print(int(min(fwd)), int(min(hit)))
PY
)
read -r LFWD LHIT <<<"$LAT"
[ -n "$LHIT" ] && [ $((LHIT * 10)) -le "$LFWD" ] && ok "cached answer <= 1/10 of forwarded ($LHIT us vs $LFWD us)" ||
	fail "cached answer <= 1/10 of forwarded" "cached ${LHIT:-?} us, forwarded ${LFWD:-?} us"

# status: text and JSON
TXT=$(in_ns "$H" "$P" status --run-dir "$RUN")
grep -q '^network neta: records 3, upstreams 198.18.0.64:53, queries [0-9]*, forwarded [0-9]*, cache hits [0-9]*' <<<"$TXT" &&
	ok "status: text" || fail "status: text" "$TXT"
P50=$(stat_of neta latency_ms | jq -r .p50)
awk -v p="$P50" 'BEGIN{exit !(p > 0)}' && ok "status: latency percentiles ($P50 ms p50)" || fail "status: latency percentiles" "$(st)"
check_eq "status: records of netd" "$(stat_of netd records)" 1
in_ns "$H" "$P" status --run-dir /nonexistent >/dev/null 2>&1
check_eq "status: no daemon exits 1" "$?" 1
in_ns "$H" "$P" status --bogus >/dev/null 2>&1
check_eq "status: usage exits 2" "$?" 2

# DEL with an older config: succeeds, the network keeps its upstreams (only ADD writes them); DEL
# with a config ADD refuses succeeds too (a runtime's cleanup must reach bridge and IPAM)
hrun "$H" "$P" DEL "$C1" eth0 c1 "$(dns_conf neta "$(jq -c .prevResult <<<"${DC[c1]}")" null '{"dnsServers":["198.18.0.61"]}')"
check_eq "DEL c1 with an older dnsServers" "$RC" 0
grep -q '^servers 198.18.0.64:53$' "$RUN/networks/neta" && ok "DEL keeps the network's upstreams" ||
	fail "DEL keeps the network's upstreams" "$(cat "$RUN/networks/neta")"
hrun "$H" "$P" DEL "$C2" eth0 c2 "$(dns_conf netb "$(jq -c .prevResult <<<"${DC[c2]}")" null '{"dnsServers":["fe80::1","127.0.0.1"],"domainName":"bad..name"}')"
check_eq "DEL c2 with dnsServers ADD refuses" "$RC" 0
grep -q '^rec c2 ' "$RUN/networks/netb" 2>/dev/null && fail "that DEL removed the record" "$(cat "$RUN/networks/netb")" ||
	ok "that DEL removed the record"

# DEL drops the container's own upstreams
hrun "$H" "$P" DEL "$C3" eth0 c3 "${DC[c3]}"
check_eq "DEL c3" "$RC" 0
grep -q '^cdns ' "$RUN/networks/neta" && fail "DEL drops cdns" "$(cat "$RUN/networks/neta")" || ok "DEL drops the cdns line"
for k in c1 c4a c4d; do
	case $k in c1) ns=$C1 i=eth0 ;; c2) ns=$C2 i=eth0 ;; c4a) ns=$C4 i=eth0 ;; c4d) ns=$C4 i=eth1 ;; esac
	hrun "$H" "$P" DEL "$ns" "$i" "${k:0:2}" "${DC[$k]}"
	check_eq "DEL $k" "$RC" 0
done
check_eq "no network file left" "$(ls "$RUN/networks" | wc -l)" 0
check_eq "no sanitizer report from the daemon" "$(cat "$RUN"/dnsname.log* 2>/dev/null | grep -c 'Sanitizer')" 0
finish
