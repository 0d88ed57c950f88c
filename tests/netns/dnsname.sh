#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# dnsname chained after bridge / macvlan, inside a private "host" namespace, resolved with dig and
# kdig from inside the containers through the per-netns listener (127.0.0.11): names, aliases,
# FQDNs, case, aa, NODATA/NXDOMAIN with SOA, PTR, TTL per network, multi-network views and
# cross-network isolation, macvlan, TCP (pipelined), EDNS (size, BADVERS), truncation, malformed
# packets, forwarding to a fake upstream (dnsmasq inside the host namespace: failover, TCP retry of
# truncated replies, SERVFAIL), reload on file change without loss, daemon restart, CHECK, STATUS,
# GC, and DEL twice / without ADD leaving nothing behind.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/dnsname.bash"
if ! command -v dig >/dev/null || ! command -v kdig >/dev/null; then
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dnsutils knot-dnsutils >/dev/null 2>&1
fi
dnsname_setup dnsname dig dnsmasq

# The fake upstream: dnsmasq on 127.0.0.53 of the host namespace; one name, a TXT record too big
# for 512 bytes, NXDOMAIN for everything else. The first resolv.conf server does not exist.
S=$(printf 'x%.0s' $(seq 200))
ip netns exec "$(basename "$H")" dnsmasq --keep-in-foreground --no-resolv --no-hosts --user=root --port=53 \
	--listen-address=127.0.0.53 --bind-interfaces --pid-file="$RUN/up.pid" \
	--address=/example.test/192.0.2.7 --address=/#/ \
	--txt-record=big.example.test,"$S","$S","$S","$S" 2>"$RUN/up.log" &
UP=$! # ip netns exec execs dnsmasq: its pid (in_ns ... & would be a subshell's)
on_exit "kill $UP"
printf 'nameserver 127.0.0.54\nnameserver 127.0.0.53\n' >"$RUN/resolv.conf"
poll_until 3000 in_ns "$H" dig +time=1 +tries=1 @127.0.0.53 www.example.test || fail "fake upstream" "dnsmasq did not start: $(cat "$RUN/up.log")"

# macvlan_conf NET MASTER SUBNET: the first plugin's configuration (bridge_conf: dnsname.bash).
macvlan_conf() {
	printf '{"cniVersion":"1.0.0","name":"%s","type":"macvlan","master":"%s","mode":"bridge","ipam":{"type":"host-local","dataDir":"%s","ranges":[[{"subnet":"%s"}]]}}' "$1" "$2" "$DATA" "$3"
}
declare -A DCONF
# attach KEY MAINCONF NS CID IFNAME POD ALIASES [EXTRA]: main plugin ADD, then dnsname ADD.
attach() {
	local key=$1 mc=$2 ns=$3 cid=$4 ifn=$5 pod=$6 al=$7 x=${8:-} net
	net=$(jq -r .name <<<"$mc")
	hrun "$H" "$BIN/$(jq -r .type <<<"$mc")" ADD "$ns" "$ifn" "$cid" "$mc"
	[ "$RC" = 0 ] || { fail "$key: main plugin ADD" "$OUT"; return 1; }
	DCONF[$key]=$(dns_conf "$net" "$OUT" "$al" "${x:-{\}}")
	hrun "$H" "$P" ADD "$ns" "$ifn" "$cid" "${DCONF[$key]}" "IgnoreUnknown=1;K8S_POD_NAME=$pod"
	check_eq "$key: dnsname ADD" "$RC" 0
	RES=$OUT
}
v11() { jq -c '.cniVersion="1.1.0" | del(.prevResult)' <<<"$1"; }
ipv4() { in_ns "$1" ip -j -4 addr show dev "${2:-eth0}" | jq -r '.[0].addr_info[0].local'; }

# dig from a container through its own listener
q() {
	local ns=$1
	shift
	in_ns "$ns" dig +time=2 +tries=1 @127.0.0.11 "$@" 2>&1
}
qs() { q "$@" +short | sort | tr '\n' ' ' | sed 's/ $//'; }
status() { q "$@" | grep -o 'status: [A-Z]*' | cut -d' ' -f2; }
counts() { q "$@" | grep -o 'ANSWER: [0-9]*, AUTHORITY: [0-9]*' | tr -d ',' | awk '{print $2"/"$4}'; }

# The daemon runs under valgrind when it is installed and this is not a sanitizer build (which
# checks itself: its reports go to dnsname.log); the plugin then finds it running.
VG=""
if command -v valgrind >/dev/null && ! asan_build "$P"; then
	VG=$RUN/valgrind.log
	in_ns "$H" valgrind -q --leak-check=full --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect \
		--log-file="$VG" "$P" daemon --run-dir "$RUN" --resolv-conf "$RUN/resolv.conf" 2>>"$RUN/dnsname.log" &
	poll_until 60000 test -S "$RUN/dnsname.sock" || fail "daemon under valgrind" "did not start"
fi

mkns C1
mkns C2
mkns C3
NA=$(bridge_conf neta bra 10.89.1.0/24)
NB=$(bridge_conf netb brb 10.89.2.0/24)
attach c1 "$NA" "$C1" c1 eth0 web1 '["alias1"]'
check_eq "ADD result: our nameserver first" "$(jq -r '.dns.nameservers[0]' <<<"$RES")" 127.0.0.11
check_eq "ADD result: the domain as search" "$(jq -r '.dns.search[0]' <<<"$RES")" dns.podman
check_eq "ADD result: prevResult kept" "$(jq -r '.ips[0].address' <<<"$RES")" "$(ipv4 "$C1")/24"
check "daemon started (pid file)" kill -0 "$(daemon_pid)"
attach c2 "$NA" "$C2" c2 eth0 web2 '["alias2","shared"]'
attach c2b "$NB" "$C2" c2 eth1 web2 '[]' '{"domainName":"b.test","ttl":7}'
attach c3 "$NB" "$C3" c3 eth0 db3 '["shared"]' '{"domainName":"b.test","ttl":7}'
A1=$(ipv4 "$C1")
A2=$(ipv4 "$C2")
B2=$(ipv4 "$C2" eth1)
B3=$(ipv4 "$C3")

# ---- local names ---------------------------------------------------------------------------------
check_eq "short name" "$(qs "$C1" web2)" "$A2"
check_eq "FQDN" "$(qs "$C1" web2.dns.podman)" "$A2"
check_eq "alias" "$(qs "$C2" alias1.dns.podman)" "$A1"
check_eq "own name" "$(qs "$C1" web1)" "$A1"
out=$(q "$C1" WeB2.DnS.PoDmAn)
check_eq "case-insensitive, question echoed" "$(grep -c '^;WeB2.DnS.PoDmAn\.' <<<"$out")/$(grep -c "^WeB2.DnS.PoDmAn\..*A.$A2" <<<"$out")" "1/1"
check "aa on local answers" grep -q 'flags: qr aa rd ra;' <<<"$out"
check_eq "TTL default 0" "$(q "$C1" web2 | awk '/^web2\./{print $2}')" 0
check_eq "TTL configurable (7 on netb)" "$(q "$C3" db3.b.test | awk '/^db3\.b\.test\./{print $2}')" 7
check_eq "AAAA of a v4-only name: NOERROR" "$(status "$C1" web2 AAAA)" NOERROR
check_eq "  no answer, SOA in authority" "$(counts "$C1" web2 AAAA)" "0/1"
check_eq "MX of a known short name: NOERROR" "$(status "$C1" web2 MX)" NOERROR
check_eq "TXT of a known FQDN: NODATA + SOA" "$(status "$C1" web2.dns.podman TXT)/$(counts "$C1" web2.dns.podman TXT)" "NOERROR/0/1"
check_eq "unknown name in the domain: NXDOMAIN" "$(status "$C1" nope.dns.podman)" NXDOMAIN
check_eq "  with SOA" "$(counts "$C1" nope.dns.podman)" "0/1"
check "  SOA of the domain" grep -q '^dns.podman.*SOA.*ns.dns.podman. hostmaster.dns.podman.' <<<"$(q "$C1" nope.dns.podman)"
check_eq "SOA of the domain apex" "$(status "$C1" dns.podman SOA)/$(counts "$C1" dns.podman SOA)" "NOERROR/1/0"
check_eq "ANY gives the addresses" "$(qs "$C1" web2 ANY)" "$A2"
check_eq "PTR: one canonical name" "$(qs "$C1" -x "$A2")" "web2.dns.podman."
check_eq "PTR on the second network" "$(qs "$C3" -x "$B2")" "web2.b.test."
# Port 53 of the container's own address is the container's: a DNS server of its own binds it
# (UDP and TCP) and answers there, while 127.0.0.11 stays ours.
ip netns exec "$(basename "$C1")" dnsmasq --keep-in-foreground --no-resolv --no-hosts --user=root \
	--port=53 --listen-address="$A1" --bind-interfaces --pid-file= --address=/own.test/192.0.2.99 \
	2>"$RUN/own.log" &
OWN=$! # ip netns exec execs dnsmasq: this is its pid
on_exit "kill $OWN"
poll_until 3000 in_ns "$C1" dig +time=1 +tries=1 +short "@$A1" own.test >/dev/null
check_eq "the container's own server on its address:53 (UDP)" \
	"$(in_ns "$C1" dig +time=1 +tries=1 +short "@$A1" own.test)" 192.0.2.99
check_eq "  and TCP" "$(in_ns "$C1" dig +tcp +time=1 +tries=1 +short "@$A1" own.test)" 192.0.2.99
check_eq "  while 127.0.0.11 answers our names" "$(qs "$C1" web2)" "$A2"
kill "$OWN"

# ---- views: multi-network, isolation -------------------------------------------------------------
check_eq "isolation: another network's short name is NXDOMAIN" "$(status "$C1" db3)" NXDOMAIN
check_eq "isolation: another network's FQDN is NXDOMAIN" "$(status "$C1" db3.b.test)" NXDOMAIN
check_eq "isolation: no PTR for another network's address" "$(qs "$C1" -x "$B3")" ""
check_eq "two networks: both views" "$(qs "$C2" web1) $(qs "$C2" db3.b.test)" "$A1 $B3"
check_eq "netb sees web2 by its netb address only" "$(qs "$C3" web2)" "$B2"
check_eq "netb: a neta-only name is NXDOMAIN" "$(status "$C3" web1)" NXDOMAIN
check_eq "shared alias: the union of the view" "$(qs "$C2" shared)" "$(printf '%s\n' "$A2" "$B3" | sort | tr '\n' ' ' | sed 's/ $//')"

# ---- forwarding ----------------------------------------------------------------------------------
t0=$(date +%s%N)
check_eq "forwarded to the upstream (first server dead)" "$(qs "$C1" www.example.test)" 192.0.2.7
t1=$(date +%s%N)
if [ $(((t1 - t0) / 1000000)) -lt 1500 ]; then ok "failover is fast ($(((t1 - t0) / 1000000)) ms)"; else fail "failover is fast" "$(((t1 - t0) / 1000000)) ms"; fi
check_eq "forwarded NXDOMAIN relayed" "$(status "$C1" nothing.invalid)" NXDOMAIN
out=$(q "$C1" +tcp +noedns big.example.test TXT)
check_eq "upstream truncates: we retry over TCP" "$(grep -c 'flags:.* tc' <<<"$out")/$(grep -o 'ANSWER: [0-9]*' <<<"$out")" "0/ANSWER: 1"
out=$(q "$C1" +noedns +ignore big.example.test TXT)
check "over UDP without EDNS the client gets TC" grep -q 'flags: qr.* tc' <<<"$out"
check_eq "over UDP the client retries TCP and gets it all" "$(q "$C1" +noedns big.example.test TXT | grep -o 'ANSWER: [0-9]*')" "ANSWER: 1"

# ---- TCP, EDNS, truncation -----------------------------------------------------------------------
check_eq "TCP" "$(qs "$C1" +tcp web2)" "$A2"
if command -v kdig >/dev/null; then
	out=$(in_ns "$C1" kdig +tcp +keepopen +time=2 +retry=0 @127.0.0.11 web1 web2 alias2 www.example.test 2>&1)
	check_eq "TCP pipelining (kdig +keepopen, 4 queries on one connection)" \
		"$(grep -cE '^(web1|web2|alias2|www\.example\.test)\.[[:space:]].*A' <<<"$out")/$(grep -c '@53(TCP)' <<<"$out")" "4/4"
else
	skip "TCP pipelining" "kdig (knot-dnsutils) is not installed"
fi
check "EDNS: our OPT advertises 1232" grep -q 'udp: 1232' <<<"$(q "$C1" +bufsize=4096 web2)"
check_eq "EDNS version 1: BADVERS" "$(status "$C1" +edns=1 +noednsnegotiation web2)" BADVERS
# 80 addresses for one name, from a hand-written network file naming C1's netns: also tests reload.
read -r dev ino < <(stat -L -c '%d %i' "$C1")
{
	printf 'cnic-dnsname 1\ndomain bulk.test\nttl 0\n'
	for i in $(seq 1 80); do printf 'rec bulk%d eth9 %s %s %s 198.51.100.%d many\n' "$i" "$C1" "$dev" "$ino" "$i"; done
} >"$RUN/networks/.bulk.tmp"
mv "$RUN/networks/.bulk.tmp" "$RUN/networks/bulk"
poll_until 3000 test "$(status "$C1" many.bulk.test)" = NOERROR
check_eq "hand-written network file picked up" "$(status "$C1" many.bulk.test)" NOERROR
check "80 records, no EDNS: TC" grep -q 'flags: qr aa.* tc' <<<"$(q "$C1" +noedns +ignore many.bulk.test)"
check "80 records, EDNS 1232: TC too" grep -q 'flags: qr aa.* tc' <<<"$(q "$C1" +bufsize=1232 +ignore many.bulk.test)"
check_eq "80 records over TCP" "$(q "$C1" +tcp many.bulk.test | grep -o 'ANSWER: [0-9]*')" "ANSWER: 80"
check_eq "other containers do not see that file" "$(status "$C2" many.bulk.test)" NXDOMAIN
rm -f "$RUN/networks/bulk"
poll_until 3000 test "$(status "$C1" many.bulk.test)" = NXDOMAIN
check_eq "removed file: names gone" "$(status "$C1" many.bulk.test)" NXDOMAIN

# ---- malformed input -----------------------------------------------------------------------------
mal() { in_ns "$C1" bash -c "printf '$1' >/dev/udp/127.0.0.11/53" 2>/dev/null; }
mal '\x00'                                                            # shorter than a header
mal '\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\xc0\x0c\x00\x01\x00\x01' # pointer to itself
mal '\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x3f\x61'        # label past the end
mal '\x12\x34\x01\x00\x00\x05\x00\x00\x00\x00\x00\x00'                # 5 questions, none there
mal '\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x02\x00\x00\x01\x00\x01\x00\x00\x29\x10\x00\x00\x00\x00\x00\x00\x00\x00\x00\x29\x10\x00\x00\x00\x00\x00\x00\x00' # two OPTs
in_ns "$C1" bash -c 'exec 3<>/dev/tcp/127.0.0.11/53; printf "\x00\x40\x12\x34" >&3; exec 3>&-' 2>/dev/null # truncated TCP message, then gone
check "daemon survives malformed packets" kill -0 "$(daemon_pid)"
check_eq "  and still answers" "$(qs "$C1" web2)" "$A2"
cpu=$(awk '{print $14+$15}' "/proc/$(daemon_pid)/stat")
sleep 0.5
check_eq "  and is idle afterwards (no busy loop)" "$(( $(awk '{print $14+$15}' "/proc/$(daemon_pid)/stat") - cpu < 10 ))" 1
# raw NS HEX: send one datagram, print the reply's flags word in hex (empty when silent)
raw() {
	in_ns "$1" python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(1.5)
s.sendto(bytes.fromhex(sys.argv[1]), ("127.0.0.11", 53))
try: print(s.recv(4096)[2:4].hex())
except socket.timeout: pass' "$2"
}
check_eq "FORMERR for a looping name" "$(raw "$C1" 123401000001000000000000c00c00010001)" 8181
check_eq "NOTIMP for an opcode other than QUERY" "$(raw "$C1" 123429000001000000000000000001000100)" a984
check_eq "a reply sent to us is ignored" "$(raw "$C1" 123481800001000000000000000001000100)" ""
# burst NS: 40 queries sent back to back (the daemon reads and answers them in batches), then
# a 5000-byte datagram, larger than a batch slot; prints "<answers with one A record> <the
# big one answered>"
burst() {
	in_ns "$1" python3 -c '
import socket, struct
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(1.5)
def q(i, name):
    return (struct.pack(">HHHHHH", i, 0x0100, 1, 0, 0, 0) +
            b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0" +
            struct.pack(">HH", 1, 1))
for i in range(1, 41):
    s.sendto(q(i, "web2" if i % 2 else "web1"), ("127.0.0.11", 53))
s.sendto(struct.pack(">H", 999) + bytes(4998), ("127.0.0.11", 53))
ids = set()
try:
    while True:
        r = s.recv(4096)
        if struct.unpack(">H", r[6:8])[0] == 1 or r[:2] == struct.pack(">H", 999):
            ids.add(struct.unpack(">H", r[:2])[0])
except socket.timeout:
    pass
print(len(ids - {999}), 999 in ids)'
}
check_eq "a burst of 40 queries: 40 answers; a query larger than 4096 bytes is dropped" \
	"$(burst "$C1")" "40 False"

# ---- macvlan -------------------------------------------------------------------------------------
in_ns "$H" ip link add mvm type veth peer name mvp && in_ns "$H" ip link set mvm up && in_ns "$H" ip link set mvp up
mkns C4
mkns C5
NM=$(macvlan_conf netm mvm 10.89.3.0/24)
attach c4 "$NM" "$C4" c4 eth0 mv4 '[]'
attach c5 "$NM" "$C5" c5 eth0 mv5 '[]'
check_eq "macvlan: a container resolves its peer" "$(qs "$C4" mv5)" "$(ipv4 "$C5")"
check_eq "macvlan: and forwards" "$(qs "$C5" www.example.test)" 192.0.2.7

# ---- CHECK, STATUS -------------------------------------------------------------------------------
hrun "$H" "$P" CHECK "$C1" eth0 c1 "${DCONF[c1]}" "IgnoreUnknown=1;K8S_POD_NAME=web1"
check_eq "CHECK after ADD" "$RC:$OUT" "0:"
hrun "$H" "$P" CHECK "$C1" eth7 c1 "${DCONF[c1]}"
check_eq "CHECK of an unknown attachment fails" "$RC" 1
hrun "$H" "$P" STATUS "" "" "" "$(v11 "${DCONF[c1]}")"
check_eq "STATUS" "$RC" 0
hrun "$H" "$P" STATUS "" "" "" "$(v11 "${DCONF[c1]}" | jq -c '.runDir="/proc/no-such-dir/dnsname"')"
check_eq "STATUS 50 when the daemon cannot start" "$RC:$(err_code)" "1:50"

# ---- reload under load: no query lost ------------------------------------------------------------
for i in $(seq 1 300); do echo "web2.dns.podman A"; done >"$RUN/queries"
(
	for i in $(seq 1 60); do
		cp "$RUN/networks/neta" "$RUN/networks/.neta.tmp" && mv "$RUN/networks/.neta.tmp" "$RUN/networks/neta"
		sleep 0.05
	done
) &
RW=$!
got=$(in_ns "$C1" dig +time=1 +tries=1 @127.0.0.11 -f "$RUN/queries" +short | grep -c "^$A2$")
wait $RW
check_eq "300 queries while the file is rewritten every 50 ms: none lost" "$got" 300

# ---- daemon restart ------------------------------------------------------------------------------
pid=$(daemon_pid)
kill -TERM "$pid"
poll_until 3000 test ! -e "/proc/$pid"
check "SIGTERM: the daemon exits" test ! -e "/proc/$pid"
check "  and removes its pid file" test ! -e "$RUN/dnsname.pid"
if [ -n "$VG" ]; then
	poll_until 5000 test -s "$VG" || true
	n=$(grep -cE 'ERROR SUMMARY: [1-9]|definitely lost|indirectly lost|Invalid' "$VG")
	check_eq "valgrind: no errors, no leaks in the daemon" "$n" 0
	[ "$n" = 0 ] || sed 's/^/# /' "$VG" | head -40
else
	skip "valgrind run of the daemon" "valgrind missing or sanitizer build"
fi
hrun "$H" "$P" STATUS "" "" "" "$(v11 "${DCONF[c1]}")"
check_eq "STATUS starts the daemon again" "$RC" 0
check_eq "after a restart the listeners are back" "$(qs "$C1" web2)" "$A2"
kill -KILL "$(daemon_pid)"
mkns C6
attach c6 "$NA" "$C6" c6 eth0 web6 '[]'
check_eq "ADD after a crashed daemon starts a new one" "$(qs "$C1" web6)" "$(ipv4 "$C6")"

# ---- conf/examples/dnsname.conflist, as a runtime runs it ---------------------------------------
EX=$TOP/conf/examples/dnsname.conflist
mkns C7
mkns C8
for c in 7 8; do
	eval ns=\$C$c
	mc=$(jq -c --arg d "$DATA" '.plugins[0] + {cniVersion, name} | .ipam.dataDir = $d' "$EX")
	hrun "$H" "$BIN/bridge" ADD "$ns" eth0 "ex$c" "$mc"
	DCONF[ex$c]=$(jq -c --argjson p "$OUT" --arg run "$RUN" '.plugins[1] + {cniVersion, name, prevResult: $p,
		runDir: $run, resolvConf: ($run + "/resolv.conf"), runtimeConfig: {aliases: {(.name): ["ex-alias\($p.ips[0].address | split(".")[3] | split("/")[0])"]}}}' "$EX")
	hrun "$H" "$P" ADD "$ns" eth0 "ex$c" "${DCONF[ex$c]}" "K8S_POD_NAME=example$c;IgnoreUnknown=1"
	check_eq "example conflist: ADD ex$c" "$RC" 0
done
check_eq "example conflist: pod name resolves" "$(qs "$C7" example8.dns.podman)" "$(ipv4 "$C8")"
check_eq "example conflist: runtimeConfig alias resolves" "$(qs "$C8" "ex-alias$(ipv4 "$C7" | cut -d. -f4)")" "$(ipv4 "$C7")"
for c in 7 8; do
	eval ns=\$C$c
	hrun "$H" "$P" DEL "$ns" eth0 "ex$c" "${DCONF[ex$c]}"
	check_eq "example conflist: DEL ex$c" "$RC" 0
done

# ---- GC, DEL -------------------------------------------------------------------------------------
hrun "$H" "$P" GC "" "" "" "$(v11 "${DCONF[c1]}" | jq -c '. + {"cni.dev/valid-attachments":[{"containerID":"c1","ifname":"eth0"},{"containerID":"c2","ifname":"eth0"}]} | del(.prevResult)')"
check_eq "GC" "$RC" 0
check_eq "GC dropped the stale record" "$(grep -c '^rec c6 ' "$RUN/networks/neta")" 0
check_eq "  and its name" "$(status "$C1" web6)" NXDOMAIN
check_eq "  and kept the valid ones" "$(qs "$C1" web2)" "$A2"
hrun "$H" "$P" DEL "$C1" eth0 nobody "${DCONF[c1]}"
check_eq "DEL without ADD" "$RC:$OUT" "0:"
dpid=$(daemon_pid)
for k in c1 c2 c2b c3 c4 c5; do
	case $k in c1) ns=$C1 cid=c1 ifn=eth0 ;; c2) ns=$C2 cid=c2 ifn=eth0 ;; c2b) ns=$C2 cid=c2 ifn=eth1 ;;
	c3) ns=$C3 cid=c3 ifn=eth0 ;; c4) ns=$C4 cid=c4 ifn=eth0 ;; c5) ns=$C5 cid=c5 ifn=eth0 ;; esac
	hrun "$H" "$P" DEL "$ns" "$ifn" "$cid" "${DCONF[$k]}"
	check_eq "DEL $k" "$RC:$OUT" "0:"
	hrun "$H" "$P" DEL "$ns" "$ifn" "$cid" "${DCONF[$k]}"
	check_eq "second DEL $k" "$RC:$OUT" "0:"
done
check_eq "no network file left" "$(ls "$RUN/networks" | wc -l)" 0
check_eq "no listener left in the containers" "$(in_ns "$C2" ss -Hlnu | grep -c 127.0.0.11:61053)/$(in_ns "$C1" ss -Hlnt | grep -c 127.0.0.11:61053)" 0/0
check_eq "a deleted container's resolver is gone" "$(q "$C1" web1 +time=1 | grep -c 'status:')" 0
# The daemon the plugin started (--exit-idle) goes with the last network file, as aardvark-dns.
check "the last DEL: the daemon exits" poll_until 3000 test ! -e "/proc/$dpid"
check_eq "  with its pid file and control socket" "$(ls "$RUN" | grep -c '^dnsname\.\(pid\|sock\)$')" 0
# every start appends to dnsname.log (in /run: memory): past 1 MiB a start rotates it
head -c 1100000 /dev/zero | tr '\0' x >>"$RUN/dnsname.log"
mkns C9
attach c9 "$NA" "$C9" c9 eth0 web9 '[]'
check_eq "an ADD after it starts a new one" "$(qs "$C9" web9)" "$(ipv4 "$C9")"
check_eq "  the log over 1 MiB went to dnsname.log.1, a new one began" \
	"$(($(stat -c %s "$RUN/dnsname.log.1" 2>/dev/null || echo 0) > 1100000)):$(($(stat -c %s "$RUN/dnsname.log") < 65536))" 1:1
hrun "$H" "$P" STATUS "" "" "" "$(v11 "${DCONF[c9]}")"
check_eq "  STATUS while it serves" "$RC" 0
hrun "$H" "$P" DEL "$C9" eth0 c9 "${DCONF[c9]}"
check_eq "  DEL" "$RC:$OUT" "0:"
check "  and it exits again" poll_until 3000 test ! -e "$RUN/dnsname.pid"
hrun "$H" "$P" STATUS "" "" "" "$(v11 "${DCONF[c9]}")"
check_eq "STATUS with nothing to serve: ready, and no daemon started for it" \
	"$RC:$(test -e "$RUN/dnsname.pid" && echo started)" "0:"
# Two containers on two networks come and go at once, so the daemon keeps exiting and starting
# under them: every ADD and DEL succeeds and every name resolves right after its ADD.
mkns C10
mkns C11
cycle() { # KEY NETCONF NS NAME: ADD, resolve, DEL, ten times; prints the failures
	local i mc=$2 out
	for i in 1 2 3 4 5 6 7 8 9 10; do
		out=$(printf '%s' "$(dns_conf "$(jq -r .name <<<"$mc")" "$(cat "$RUN/prev-$1")" '[]')" |
			ip netns exec "$H" env CNI_COMMAND=ADD CNI_NETNS="$3" CNI_IFNAME=eth0 CNI_CONTAINERID="$1" \
			CNI_PATH="$BIN" CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAME=$4" "$P") || echo "ADD $i: $out"
		[ "$(qs "$3" "$4")" = "$(ipv4 "$3")" ] || echo "resolve $i"
		out=$(printf '%s' "$(dns_conf "$(jq -r .name <<<"$mc")" "$(cat "$RUN/prev-$1")" '[]')" |
			ip netns exec "$H" env CNI_COMMAND=DEL CNI_NETNS="$3" CNI_IFNAME=eth0 CNI_CONTAINERID="$1" \
			CNI_PATH="$BIN" "$P") || echo "DEL $i: $out"
	done
}
hrun "$H" "$BIN/bridge" ADD "$C11" eth0 c11 "$NA"
printf '%s' "$OUT" >"$RUN/prev-c11"
hrun "$H" "$BIN/bridge" ADD "$C10" eth0 c10 "$NB"
printf '%s' "$OUT" >"$RUN/prev-c10"
cycle c11 "$NA" "$C11" web11 >"$RUN/cycle-11" &
cycle c10 "$NB" "$C10" web10 >"$RUN/cycle-10"
wait $!
check_eq "ADD/DEL of two containers at once, ten times: no failure" "$(sed "s/^/c11: /" "$RUN/cycle-11"; sed "s/^/c10: /" "$RUN/cycle-10")" ""
check "  and the daemon is gone after the last DEL" poll_until 3000 test ! -e "$RUN/dnsname.pid"
# systemd's socket (contrib/systemd): the socket is systemd's, --exit-idle does not apply, and
# the daemon leaves the socket in place when it stops.
if command -v systemd-socket-activate >/dev/null && command -v python3 >/dev/null; then
	tmpdir SA
	mkdir -p "$SA/networks"
	ip netns exec "$(basename "$H")" systemd-socket-activate --seqpacket -l "$SA/dnsname.sock" \
		"$P" daemon --run-dir "$SA" --resolv-conf "$RUN/resolv.conf" --exit-idle \
		>>"$RUN/dnsname.log" 2>&1 &
	SAPID=$!
	on_exit "kill $SAPID"
	poll_until 3000 test -S "$SA/dnsname.sock"
	ctl() { python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET); s.settimeout(3); s.connect(sys.argv[1]); s.send(sys.argv[2].encode()); print(s.recv(300).decode())' "$SA/dnsname.sock" "$1" 2>&1; }
	check_eq "socket activation: the first connection starts the daemon" "$(ctl ping | cut -c1-2)" ok
	sleep 1.5 # past the idle check's one-second retry
	check_eq "  with nothing to serve it stays (the socket is systemd's)" "$(ctl ping | cut -c1-2)" ok
	kill "$SAPID"
	poll_until 3000 test ! -e "/proc/$SAPID"
	check_eq "  SIGTERM: it stops, systemd's socket stays" "$(test -e "/proc/$SAPID" && echo running):$(test -S "$SA/dnsname.sock" && echo sock)" ":sock"
else
	skip "socket activation" "systemd-socket-activate or python3 missing"
fi
check_eq "no sanitizer report from the daemon" "$(cat "$RUN"/dnsname.log* | grep -c 'Sanitizer')" 0
finish
