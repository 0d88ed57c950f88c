#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The dnsname bench (issue 6): `dnsname daemon` against dnsmasq configured as containers/dnsname
# configures it and against aardvark-dns (Debian's 1.4), on the same 1000 records, measured with
# dnsperf from one client container netns. Everything runs in private namespaces:
#   host netns H:  the fake upstream (dnsmasq, --address=/example.test/192.0.2.7, on 192.0.2.53
#                  of a veth pair inside H), our daemon (its sockets live in the container netns),
#                  aardvark-dns (it listens on the network's gateway 10.99.0.1, as with netavark);
#   client netns C: eth0 10.99.0.2/16 (veth to H's gw0 10.99.0.1), ours on 127.0.0.11:53 (the
#                  daemon's listener on :61053 behind the plugin's rewrite), dnsmasq on
#                  127.0.0.12 (run inside C, so its path is loopback like ours);
#   999 more container netns, empty, so the daemon holds 1000 listeners as with 1000 containers.
# The network file is written directly in the daemon's format (no 1000 CNI ADDs).
# Runs: local A, A+AAAA mix, forwarded A, forwarded and cached A (100 names of TTL 300 s from a
# second upstream on 127.0.0.54 of H, relayed by the first; aardvark has no cache), local A over TCP (dnsperf -c4 -q100 -l$BENCH_DNS_SECS);
# reload: -Q 5000 -l8 of local A while the records are rewritten every 50 ms (ours: atomic
# rename, picked up by inotify; dnsmasq and aardvark: rewrite + SIGHUP, as their managers do);
# restart (ours alone, after the memory is read): 5000 q/s of local A (tests/netns/dnsload.py,
# 1 in 50 forwarded) for BENCH_DNS_RESTART_SECS (4) while "dnsname restart" of another copy of
# the binary takes the daemon's sockets over: queries lost and the largest latency;
# VmHWM of every server after all runs.
# Writes build/bench/dns.{md,json}; prints PASS/MISS lines. Knobs: BENCH_DNS_SECS (10),
# BENCH_DNS_RELOAD_SECS (8), BENCH_DNS_RESTART_SECS (4), BENCH_DNS_N (records, 1000).
set -u

TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD="$TOP/$BUILD" ;; esac
OUT="$BUILD/bench"
SECS=${BENCH_DNS_SECS:-10}
RSECS=${BENCH_DNS_RELOAD_SECS:-8}
NREC=${BENCH_DNS_N:-1000}
TAG=cbd$$
AARDVARK=/usr/lib/podman/aardvark-dns

[ "$(id -u)" = 0 ] || { echo "dns bench: needs root (network namespaces)" >&2; exit 1; }
need=""
for p in dnsperf aardvark-dns dnsmasq-base jq bind9-dnsutils; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need="$need $p"
done
if [ -n "$need" ]; then
	echo "dns bench: installing$need" >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $need >/dev/null ||
		echo "dns bench: could not install$need" >&2
fi
command -v dnsperf >/dev/null || { echo "dns bench: dnsperf missing" >&2; exit 1; }
command -v dnsmasq >/dev/null || { echo "dns bench: dnsmasq missing" >&2; exit 1; }
mkdir -p "$OUT"
rm -f "$OUT/dns.md" "$OUT/dns.json"
# A copy of the binary: a concurrent build cannot swap it mid-run.
SNAP="$OUT/dnsname.snapshot"
cp -p "$BUILD/bin/dnsname" "$SNAP" || { echo "dns bench: no $BUILD/bin/dnsname" >&2; exit 1; }

WORK=$(mktemp -d /dev/shm/cnic-dns.XXXXXX 2>/dev/null || mktemp -d /tmp/cnic-dns.XXXXXX)
H=$TAG-h
C=$TAG-c
PIDS=""
AVPID=""
cleanup() {
	local p
	for p in $PIDS $AVPID; do kill "$p" 2>/dev/null; done
	[ -n "${RUN:-}" ] && kill "$(cat "$RUN/dnsname.pid" 2>/dev/null)" 2>/dev/null # after a restart
	for p in $PIDS; do wait "$p" 2>/dev/null; done
	[ -n "$AVPID" ] && for _ in 1 2 3 4 5 6 7 8 9 10; do [ -e "/proc/$AVPID" ] || break; sleep 0.1; done
	{
		echo "netns del $H"
		echo "netns del $C"
		for i in $(seq 2 "$NREC"); do echo "netns del $TAG-x$i"; done
	} | ip -force -batch - 2>/dev/null
	rm -rf "$WORK" "/etc/netns/$H" "$SNAP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
inh() { ip netns exec "$H" "$@"; }
inc() { ip netns exec "$C" "$@"; }
die() { echo "dns bench: $*" >&2; exit 1; }

# ---- namespaces ---------------------------------------------------------------------------------
ip netns add "$H" && ip netns add "$C" || die "ip netns add failed"
ip -n "$H" link set lo up
ip -n "$C" link set lo up
ip -n "$H" link add up0 type veth peer name up1 &&
	ip -n "$H" addr add 192.0.2.53/24 dev up0 && ip -n "$H" link set up0 up && ip -n "$H" link set up1 up &&
	ip -n "$H" link add gw0 type veth peer name eth0 netns "$C" &&
	ip -n "$H" addr add 10.99.0.1/16 dev gw0 && ip -n "$H" link set gw0 up &&
	ip -n "$C" addr add 10.99.0.2/16 dev eth0 && ip -n "$C" link set eth0 up &&
	ip -n "$C" route add default via 10.99.0.1 || die "link setup failed"
for i in $(seq 2 "$NREC"); do echo "netns add $TAG-x$i"; done | ip -batch - || die "cannot make $NREC netns"
# The client's path to 127.0.0.11:53 as the plugin's ADD makes it: the stateless notrack rewrite
# to the listener's port 61053 (plugins/meta/dnsname/nft.c), here written with nft.
inc nft -f - <<'EOF' || die "nft rewrite failed"
table ip cnic_dnsname {
	chain output {
		type filter hook output priority raw; policy accept;
		ip daddr 127.0.0.11 udp dport 53 notrack udp dport set 61053
		ip saddr 127.0.0.11 udp sport 61053 notrack udp sport set 53
		ip daddr 127.0.0.11 tcp dport 53 notrack tcp dport set 61053
		ip saddr 127.0.0.11 tcp sport 61053 notrack tcp sport set 53
	}
}
EOF

# Servers are started with a plain `ip netns exec ... &` (ip execs them): $! is the server itself.
# ---- the fake upstream ----------------------------------------------------------------------------
ip netns exec "$H" dnsmasq --keep-in-foreground --no-resolv --no-hosts --user=root --port=53 \
	--listen-address=192.0.2.53 --bind-interfaces --pid-file= --cache-size=0 \
	--address=/example.test/192.0.2.7 --address=/#/ --server=/cached.test/127.0.0.54 >"$WORK/up.log" 2>&1 &
PIDS="$PIDS $!"
# cached.test: relayed by the fake upstream from a second dnsmasq on H's loopback whose answers
# carry a TTL of 300 s (the first one's have none: "forwarded A" stays uncached).
ip netns exec "$H" dnsmasq --keep-in-foreground --no-resolv --no-hosts --user=root --port=53 \
	--listen-address=127.0.0.54 --bind-interfaces --pid-file= --cache-size=0 --local-ttl=300 \
	--address=/cached.test/192.0.2.8 >"$WORK/up2.log" 2>&1 &
PIDS="$PIDS $!"
printf 'nameserver 192.0.2.53\n' >"$WORK/resolv.conf"
# aardvark-dns reads /etc/resolv.conf: ip netns exec bind-mounts /etc/netns/H/resolv.conf over it.
mkdir -p "/etc/netns/$H" && cp "$WORK/resolv.conf" "/etc/netns/$H/resolv.conf"

# ---- the records ---------------------------------------------------------------------------------
# ctr0001 is the client (10.99.0.2, netns C); ctrNNNN (N >= 2) has 10.99.H.L and fd99::N, netns xN;
# every container also has the alias aNNNN.
ip4() { local n=$(($1 + 1)); echo "10.99.$((n / 256)).$((n % 256))"; }
RUN=$WORK/run
mkdir -p "$RUN/networks" "$WORK/aardvark"
read -r cdev cino < <(stat -L -c '%d %i' "/run/netns/$C")
{
	printf 'cnic-dnsname 1\ndomain dns.podman\nttl 0\n'
	for i in $(seq 1 "$NREC"); do
		if [ "$i" = 1 ]; then ns=/run/netns/$C dev=$cdev ino=$cino; else
			ns=/run/netns/$TAG-x$i
			read -r dev ino < <(stat -L -c '%d %i' "$ns")
		fi
		printf 'rec %064x eth0 %s %s %s %s,fd99::%x %s\n' "$i" "$ns" "$dev" "$ino" "$(ip4 "$i")" "$i" \
			"$(printf 'ctr%04d,a%04d' "$i" "$i")"
	done
} >"$WORK/net.rec"
# dnsmasq as containers/dnsname: addn-hosts "IP name aliases..." lines (expand-hosts adds the
# domain), the same for the v6 address.
for i in $(seq 1 "$NREC"); do
	printf '%s\tctr%04d a%04d\nfd99::%x\tctr%04d a%04d\n' "$(ip4 "$i")" "$i" "$i" "$i" "$i" "$i"
done >"$WORK/addnhosts"
# aardvark-dns 1.4: one file per network, first line the listen (gateway) addresses, then
# "id v4s v6s names" per container.
{
	echo 10.99.0.1
	for i in $(seq 1 "$NREC"); do printf '%064x %s fd99::%x ctr%04d,a%04d\n' "$i" "$(ip4 "$i")" "$i" "$i" "$i"; done
} >"$WORK/aardvark.net"
cp "$WORK/net.rec" "$RUN/networks/bench"
cp "$WORK/aardvark.net" "$WORK/aardvark/bench"

# ---- the servers ---------------------------------------------------------------------------------
ip netns exec "$H" "$SNAP" daemon --run-dir "$RUN" --resolv-conf "$WORK/resolv.conf" >"$WORK/dnsname.log" 2>&1 &
OURS=$!
PIDS="$PIDS $OURS"
# containers/dnsname's dnsmasq.conf: strict-order, local=/dns.podman/, domain, expand-hosts,
# no-hosts, addn-hosts (it binds the bridge with bind-dynamic; here 127.0.0.12 in the client).
ip netns exec "$C" dnsmasq --keep-in-foreground --user=root --pid-file= --strict-order --local=/dns.podman/ \
	--domain=dns.podman --expand-hosts --no-hosts --addn-hosts="$WORK/addnhosts" \
	--resolv-file="$WORK/resolv.conf" --listen-address=127.0.0.12 --bind-interfaces \
	>"$WORK/dnsmasq.log" 2>&1 &
DQ=$!
PIDS="$PIDS $DQ"
HAVE_AV=0
AVWHY=""
if [ -x "$AARDVARK" ]; then
	inh "$AARDVARK" --config "$WORK/aardvark" -p 53 run >"$WORK/aardvark.log" 2>&1
	for _ in $(seq 50); do [ -s "$WORK/aardvark/aardvark.pid" ] && break; sleep 0.1; done
	AVPID=$(cat "$WORK/aardvark/aardvark.pid" 2>/dev/null)
else
	AVWHY="aardvark-dns not installed"
fi

# wait for every server to answer its first name
ready() { inc dig +time=1 +tries=1 +short "@$1" ctr0002.dns.podman | grep -qx "$(ip4 2)"; }
for _ in $(seq 50); do ready 127.0.0.11 && ready 127.0.0.12 && break; sleep 0.1; done
ready 127.0.0.11 || die "our daemon does not answer: $(cat "$WORK/dnsname.log")"
ready 127.0.0.12 || die "dnsmasq does not answer: $(cat "$WORK/dnsmasq.log")"
inc dig +time=1 +tries=1 +short @127.0.0.11 www.example.test | grep -qx 192.0.2.7 ||
	die "forwarding does not work: $(cat "$WORK/up.log")"
inc dig +time=1 +tries=1 +short @127.0.0.11 www1.cached.test | grep -qx 192.0.2.8 ||
	die "forwarding to the second upstream does not work: $(cat "$WORK/up.log" "$WORK/up2.log")"
if [ -n "$AVPID" ]; then
	for _ in $(seq 30); do ready 10.99.0.1 && break; sleep 0.1; done
	if ready 10.99.0.1 && inc dig +time=1 +tries=1 +short @10.99.0.1 www.example.test | grep -qx 192.0.2.7; then
		HAVE_AV=1
	else
		AVWHY="aardvark-dns did not answer: $(head -c 300 "$WORK/aardvark.log")"
	fi
elif [ -z "$AVWHY" ]; then
	AVWHY="aardvark-dns did not start: $(head -c 300 "$WORK/aardvark.log")"
fi
[ "$HAVE_AV" = 1 ] || echo "dns bench: aardvark-dns skipped: $AVWHY"

# ---- query files ----------------------------------------------------------------------------------
for i in $(seq 1 "$NREC"); do printf 'ctr%04d.dns.podman A\n' "$i"; done >"$WORK/q-a"
for i in $(seq 1 "$NREC"); do printf 'ctr%04d.dns.podman A\na%04d.dns.podman AAAA\n' "$i" "$i"; done >"$WORK/q-mix"
for i in $(seq 1 "$NREC"); do printf 'www%d.example.test A\n' "$i"; done >"$WORK/q-fwd"
for i in $(seq 1 100); do printf 'www%d.cached.test A\n' "$i"; done >"$WORK/q-fwdc"

SERVERS="ours:127.0.0.11 dnsmasq:127.0.0.12"
[ "$HAVE_AV" = 1 ] && SERVERS="$SERVERS aardvark:10.99.0.1"
: >"$WORK/rows.jsonl"
# perf RUN SERVER ADDR DNSPERF-ARGS...: one dnsperf run from the client netns, one JSON line.
perf() {
	local run=$1 srv=$2 addr=$3 f
	shift 3
	f=$WORK/perf-$run-$srv.txt
	inc dnsperf -s "$addr" "$@" >"$f" 2>&1
	awk -v run="$run" -v srv="$srv" '
		/Queries sent:/ {s=$3} /Queries completed:/ {c=$3} /Queries lost:/ {l=$3}
		/Queries per second:/ {q=$4} /Average Latency/ {lat=$4}
		/Response codes:/ {sub(/.*Response codes: */, ""); rc=$0}
		END {printf "{\"run\":\"%s\",\"server\":\"%s\",\"sent\":%d,\"completed\":%d,\"lost\":%d,\"qps\":%.1f,\"lat_ms\":%.3f,\"rcodes\":\"%s\"}\n",
			run, srv, s, c, l, q, lat*1000, rc}' "$f" >>"$WORK/rows.jsonl"
	printf '  %-9s %-9s %s\n' "$run" "$srv" "$(tail -1 "$WORK/rows.jsonl" | jq -r '"\(.qps) qps, lost \(.lost), \(.rcodes)"')"
}
# rewriter SERVER: every 50 ms, replace the records (the same content) as that server's manager does.
rewriter() {
	local srv=$1
	while :; do
		case $srv in
		ours) cp "$WORK/net.rec" "$RUN/networks/.bench.tmp" && mv "$RUN/networks/.bench.tmp" "$RUN/networks/bench" ;;
		dnsmasq) cp "$WORK/addnhosts" "$WORK/addnhosts.tmp" && mv "$WORK/addnhosts.tmp" "$WORK/addnhosts" && kill -HUP "$DQ" ;;
		aardvark) cp "$WORK/aardvark.net" "$WORK/aardvark/.bench.tmp" && mv "$WORK/aardvark/.bench.tmp" "$WORK/aardvark/bench" && kill -HUP "$AVPID" ;;
		esac
		echo x >>"$WORK/rewrites-$srv"
		sleep 0.05
	done
}

echo "dns bench: $NREC records, dnsperf -c4 -q100 -l$SECS from the client netns; $(nproc) CPUs"
t0=$SECONDS
for s in $SERVERS; do
	srv=${s%%:*} addr=${s#*:}
	perf local-a "$srv" "$addr" -d "$WORK/q-a" -c4 -q100 -l"$SECS"
	perf mix "$srv" "$addr" -d "$WORK/q-mix" -c4 -q100 -l"$SECS"
	perf forward "$srv" "$addr" -d "$WORK/q-fwd" -c4 -q100 -l"$SECS"
	perf fwd-cached "$srv" "$addr" -d "$WORK/q-fwdc" -c4 -q100 -l"$SECS"
	perf tcp "$srv" "$addr" -d "$WORK/q-a" -c4 -q100 -l"$SECS" -m tcp
done
for s in $SERVERS; do
	srv=${s%%:*} addr=${s#*:}
	: >"$WORK/rewrites-$srv"
	rewriter "$srv" &
	RW=$!
	perf reload "$srv" "$addr" -d "$WORK/q-a" -c4 -Q 5000 -l"$RSECS"
	kill "$RW" 2>/dev/null
	wait "$RW" 2>/dev/null
	echo "            ($(wc -l <"$WORK/rewrites-$srv") rewrites)"
done
ELAPSED=$((SECONDS - t0))
hwm() { awk '/VmHWM/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
rss() { awk '/VmRSS/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
LSN=$(python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET); s.settimeout(1)
s.connect(sys.argv[1]); s.send(b"ping"); print(s.recv(200).decode())' "$RUN/dnsname.sock" 2>/dev/null)
HWM_OURS=$(hwm "$OURS") RSS_OURS=$(rss "$OURS")
ANON_OURS=$(awk '/RssAnon/ {print $2}' "/proc/$OURS/status" 2>/dev/null || echo 0)
FILE_OURS=$(awk '/RssFile/ {print $2}' "/proc/$OURS/status" 2>/dev/null || echo 0)
# where the daemon's resident pages are, mapping by mapping (kB), for whoever chases its RSS
awk '/^[0-9a-f]+-[0-9a-f]+ / {name = ($6 == "" ? "[anon]" : $6)} /^Rss:/ {rss[name] += $2}
	END {for (n in rss) if (rss[n]) printf "%6d kB  %s\n", rss[n], n}' "/proc/$OURS/smaps" 2>/dev/null |
	sort -rn >"$OUT/dns-rss.txt"
HWM_DQ=$(hwm "$DQ") RSS_DQ=$(rss "$DQ")
HWM_AV=0 RSS_AV=0
[ "$HAVE_AV" = 1 ] && HWM_AV=$(hwm "$AVPID") RSS_AV=$(rss "$AVPID")

# restart under load (ours): a new copy of the binary takes the sockets over mid-stream
RESECS=${BENCH_DNS_RESTART_SECS:-4}
cp "$SNAP" "$SNAP.new"
inc python3 "$TOP/tests/netns/dnsload.py" --rate 5000 --secs "$RESECS" --name ctr0002.dns.podman \
	--ext www1.example.test --ext-every 50 --wait 3 >"$WORK/restart.out" 2>&1 &
LOADP=$!
for _ in $(seq 100); do grep -q started "$WORK/restart.out" && break; sleep 0.05; done
sleep "$(awk -v s="$RESECS" 'BEGIN {print s / 2}')"
inh "$SNAP.new" restart --run-dir "$RUN" --resolv-conf "$WORK/resolv.conf" >"$WORK/restart.log" 2>&1 ||
	echo "dns bench: restart failed: $(cat "$WORK/restart.log")"
wait "$LOADP"
tail -1 "$WORK/restart.out" | jq -c '{run: "restart", server: "ours", sent, completed: .answered, lost,
	max_ms, p99_ms}' >>"$WORK/rows.jsonl" 2>/dev/null || echo "dns bench: restart row failed: $(cat "$WORK/restart.out")"
printf '  %-9s %-9s %s\n' restart ours "$(tail -1 "$WORK/rows.jsonl" | jq -r '"lost \(.lost) of \(.sent), max \(.max_ms) ms"')"

# ---- report ----------------------------------------------------------------------------------------
jq -n --slurpfile rows "$WORK/rows.jsonl" --arg n "$NREC" --arg secs "$SECS" --arg rsecs "$RSECS" \
	--arg cpus "$(nproc)" --arg kernel "$(uname -r)" --arg lsn "$LSN" --arg av "$HAVE_AV" --arg avwhy "$AVWHY" \
	--arg dqv "$(dpkg-query -W -f='${Version}' dnsmasq-base 2>/dev/null)" \
	--arg avv "$(dpkg-query -W -f='${Version}' aardvark-dns 2>/dev/null)" \
	--arg pv "$(dpkg-query -W -f='${Version}' dnsperf 2>/dev/null)" \
	--arg commit "$(git -C "$TOP" rev-parse --short HEAD 2>/dev/null)" --arg date "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
	--argjson ho "$HWM_OURS" --argjson hd "$HWM_DQ" --argjson ha "$HWM_AV" \
	--argjson ro "$RSS_OURS" --argjson ao "${ANON_OURS:-0}" --argjson fo "${FILE_OURS:-0}" --argjson rd "$RSS_DQ" --argjson ra "$RSS_AV" --argjson el "$ELAPSED" '
	def q(r; s): ([$rows[] | select(.run == r and .server == s)] | first);
	def ratio(a; b): if (b // 0) > 0 then ((a / b) * 100 | round) / 100 else null end;
	{env: {records: ($n|tonumber), seconds: ($secs|tonumber), reload_seconds: ($rsecs|tonumber),
	       cpus: ($cpus|tonumber), kernel: $kernel, dnsmasq: $dqv, aardvark: $avv, dnsperf: $pv,
	       commit: $commit, date: $date, elapsed_s: $el, daemon_ping: $lsn},
	 aardvark: (if $av == "1" then "ok" else {skipped: $avwhy} end),
	 runs: $rows,
	 memory_kb: {ours: {vmhwm: $ho, vmrss: $ro, rss_anon: $ao, rss_file: $fo}, dnsmasq: {vmhwm: $hd, vmrss: $rd},
	             aardvark: (if $av == "1" then {vmhwm: $ha, vmrss: $ra} else null end)}}
	| .targets = [
	  {name: "local names: ours >= 1.5x dnsmasq qps (local A)",
	   value: ratio(q("local-a";"ours").qps; q("local-a";"dnsmasq").qps), want: 1.5},
	  {name: "forwarded names: ours >= dnsmasq qps",
	   value: ratio(q("forward";"ours").qps; q("forward";"dnsmasq").qps), want: 1.0},
	  {name: "reload every 50 ms: ours loses 0 queries",
	   value: q("reload";"ours").lost, want: 0, max: true},
	  {name: "restart under load (new binary): ours loses 0 queries",
	   value: q("restart";"ours").lost, want: 0, max: true},
	  {name: "daemon VmHWM < 2 MB with \($n) containers (kB)", value: $ho, want: 2048, below: true}]
	| .targets |= map(. + {status: (if .value == null then "MISS"
	     elif .max then (if .value <= .want then "PASS" else "MISS" end)
	     elif .below then (if .value < .want then "PASS" else "MISS" end)
	     elif .value >= .want then "PASS" else "MISS" end)})' >"$OUT/dns.json" || die "report failed"

jq -r '
	def f(x): if x == null then "–" else (x|tostring) end;
	def cell(r; s): ([.runs[] | select(.run == r and .server == s)] | first) as $x |
		if $x == null then "–" elif r == "reload" then "\($x.lost) lost of \($x.sent)"
		elif r == "restart" then "\($x.lost) lost of \($x.sent), max \($x.max_ms) ms" else "\($x.qps | floor)" end;
	"## dnsname: ours vs dnsmasq (containers/dnsname) vs aardvark-dns\n",
	"\(.env.records) records, dnsperf -c4 -q100 -l\(.env.seconds) from the client container netns, \(.env.cpus) CPUs, kernel \(.env.kernel); dnsmasq \(.env.dnsmasq), aardvark-dns \(.env.aardvark), dnsperf \(.env.dnsperf); commit \(.env.commit)\n",
	"| run (queries/s; reload: lost) | ours 127.0.0.11 | dnsmasq 127.0.0.12 | aardvark-dns 10.99.0.1 | ours / dnsmasq |",
	"| --- | ---: | ---: | ---: | ---: |",
	( . as $d | ["local-a", "mix", "forward", "fwd-cached", "tcp", "reload", "restart"][] as $r |
	  ([$d.runs[] | select(.run == $r and .server == "ours")] | first) as $o |
	  ([$d.runs[] | select(.run == $r and .server == "dnsmasq")] | first) as $m |
	  "| \({"local-a":"local A","mix":"A + AAAA mix","forward":"forwarded A","fwd-cached":"forwarded, cached (100 names, TTL 300)","tcp":"local A over TCP","reload":"local A at 5000 q/s, rewrite every 50 ms","restart":"5000 q/s across dnsname restart (new binary)"}[$r]) | \($d | cell($r;"ours")) | \($d | cell($r;"dnsmasq")) | \($d | cell($r;"aardvark")) | \(if $r == "reload" or $r == "restart" or $o == null or $m == null or $m.qps == 0 then "–" else "\(($o.qps / $m.qps * 100 | round) / 100)×" end) |"),
	"| VmHWM (kB) | \(.memory_kb.ours.vmhwm) (now: anon \(.memory_kb.ours.rss_anon), file \(.memory_kb.ours.rss_file)) | \(.memory_kb.dnsmasq.vmhwm) | \(f(.memory_kb.aardvark.vmhwm)) | |",
	"",
	(if .aardvark != "ok" then "aardvark-dns skipped: \(.aardvark.skipped)\n" else empty end),
	"aardvark-dns 1.4 answers no TCP here (0 = every query failed); it is reloaded by SIGHUP, as netavark does.\n",
	"Targets:",
	(.targets[] | "- \(.status) \(.name): \(f(.value))")' "$OUT/dns.json" >"$OUT/dns.md"

echo
cat "$OUT/dns.md"
echo
jq -r '.targets[] | "\(.status) dns: \(.name): \(.value)"' "$OUT/dns.json"
echo "dns bench: wrote ${OUT#$TOP/}/dns.md, dns.json (${ELAPSED} s of measurement)"
