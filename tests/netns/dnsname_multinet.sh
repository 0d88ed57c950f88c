#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# dnsname's per-network resolver address (#21, "the network it asked on"): a container on
# several networks gets one address per network (127.0.0.11 for its first, the lowest free
# 127.0.0.X after), announced in each ADD's result and written as an "addr" line; a query to an
# address forwards through the upstreams of the network that owns it and counts there, while
# every address resolves the names of all the container's networks. A single-network container
# keeps 127.0.0.11. The port 53 rewrite has a chain per address that names it exactly (a
# container's own 127.0.0.53 keeps its port 53). DEL of one network closes exactly its listener
# and chain; a new ADD takes the lowest free address again; two parallel ADDs of one netns pick
# distinct addresses; CHECK probes the attachment's own address; "dnsname restart" carries every
# address over; GC drops an attachment's address with its record. Upstreams: dnsmasq servers in the private host H (198.18.0.71 for neta, .72 for
# netb, resolv.conf's 127.0.0.73 for netc, which has no dnsServers).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/dnsname.bash"
dnsname_setup dnsname_multinet dig dnsmasq jq python3 nft

up() { dns_upstream "$1" "$2"; } # ADDR ANSWER-IP
ip -n "$H" link add up0 type veth peer name up1 && ip -n "$H" link set up1 up && ip -n "$H" link set up0 up &&
	ip -n "$H" addr add 198.18.0.71/32 dev up0 && ip -n "$H" addr add 198.18.0.72/32 dev up0 ||
	fail "upstream link" "cannot make up0 in $H"
up 198.18.0.71 192.0.2.71
up 198.18.0.72 192.0.2.72
up 127.0.0.73 192.0.2.73
printf 'nameserver 127.0.0.73\n' >"$RUN/resolv.conf"

# q NS ADDR ARGS...: dig from the container netns to ADDR:53
q() {
	local ns=$1 a=$2
	shift 2
	in_ns "$ns" dig +time=2 +tries=1 @"$a" "$@" 2>&1
}
qs() { q "$@" +short | sort | tr '\n' ' ' | sed 's/ $//'; }
st() { in_ns "$H" "$P" status --json --run-dir "$RUN"; }
stat_of() { st | jq -r --arg n "$1" --arg k "$2" '.networks[] | select(.name==$n) | .[$k]'; }
listeners() { dn_ctl "$RUN" ping 2>/dev/null | awk '{print $2}'; }
chains() { in_ns "$1" nft -j list table ip cnic_dnsname 2>/dev/null | jq -r '[.nftables[] | .chain.name // empty] | sort | join(" ")'; }

declare -A NETSUB=([neta]=10.89.41.0/24 [netb]=10.89.42.0/24 [netc]=10.89.43.0/24)
declare -A NETX=([neta]='{"dnsServers":["198.18.0.71"]}' [netb]='{"dnsServers":["198.18.0.72"]}' [netc]='{}')
declare -A DC PREV
# bridge KEY NET NS IFNAME CID: the main plugin, PREV[KEY] its result, DC[KEY] dnsname's conf
bridge() {
	local key=$1 net=$2 ns=$3 ifn=$4 cid=$5
	hrun "$H" "$BIN/bridge" ADD "$ns" "$ifn" "$cid" "$(bridge_conf "$net" "br${net#net}" "${NETSUB[$net]}")"
	[ "$RC" = 0 ] || { fail "$key: bridge ADD" "$OUT"; return 1; }
	PREV[$key]=$OUT
	DC[$key]=$(dns_conf "$net" "$OUT" null "${NETX[$net]}")
}
# add KEY NET NS IFNAME CID: bridge, then dnsname; NSV (the first nameserver of its result)
add() {
	bridge "$@" || return 1
	hrun "$H" "$P" ADD "$3" "$4" "$5" "${DC[$1]}" "IgnoreUnknown=1;K8S_POD_NAME=$5"
	check_eq "$1: dnsname ADD" "$RC" 0
	NSV=$(jq -r '.dns.nameservers[0]' <<<"$OUT")
	CC[$1]=$(jq -c --argjson p "$OUT" '.prevResult=$p' <<<"${DC[$1]}") # CHECK's conf: the ADD's result
}
declare -A CC
del() { # KEY NS IFNAME CID
	hrun "$H" "$P" DEL "$2" "$3" "$4" "${DC[$1]}"
	check_eq "$1: dnsname DEL" "$RC" 0
}

mkns C1
mkns C2
mkns C3
add c1a neta "$C1" eth0 c1
check_eq "first network of a container: 127.0.0.11 announced" "$NSV" 127.0.0.11
add c1b netb "$C1" eth1 c1
check_eq "second network: 127.0.0.12 announced" "$NSV" 127.0.0.12
check_eq "second network: one nameserver (its own)" "$(jq -r '.dns.nameservers | length' <<<"$OUT")" 1
add c2 neta "$C2" eth0 c2
check_eq "single-network container (neta): 127.0.0.11" "$NSV" 127.0.0.11
add c3 netb "$C3" eth0 c3
check_eq "single-network container (netb): 127.0.0.11" "$NSV" 127.0.0.11
read -r DEV1 INO1 < <(awk '$1 == "rec" && $2 == "c1" {print $5, $6}' "$RUN/networks/neta")
grep -qx "addr c1 eth1 $DEV1 $INO1 127.0.0.12" "$RUN/networks/netb" && ok "netb's file: the addr line" ||
	fail "netb's file: the addr line" "$(cat "$RUN/networks/netb")"
grep -q '^addr ' "$RUN/networks/neta" && fail "neta's file: no addr line (127.0.0.11)" "$(cat "$RUN/networks/neta")" ||
	ok "neta's file: no addr line (127.0.0.11)"

# the network it asked on: each address forwards through its own network's upstreams
check_eq "C1 @127.0.0.11: neta's upstream" "$(qs "$C1" 127.0.0.11 a.example.test)" 192.0.2.71
check_eq "C1 @127.0.0.12: netb's upstream" "$(qs "$C1" 127.0.0.12 a.example.test)" 192.0.2.72
check_eq "C1 @127.0.0.12 over TCP: netb's upstream" "$(qs "$C1" 127.0.0.12 +tcp b.example.test)" 192.0.2.72
check_eq "C3 (netb alone) @127.0.0.11: netb's upstream" "$(qs "$C3" 127.0.0.11 a.example.test)" 192.0.2.72
for a in 127.0.0.11 127.0.0.12; do
	check_eq "C1 @$a resolves c2 (neta)" "$(qs "$C1" $a c2.dns.podman)" "$(ip_of "$C2")"
	check_eq "C1 @$a resolves c3 (netb)" "$(qs "$C1" $a c3.dns.podman)" "$(ip_of "$C3")"
done
check_eq "c1 seen from C3 (its netb address)" "$(qs "$C3" 127.0.0.11 c1.dns.podman)" "$(ip_of "$C1" eth1)"
F0=$(stat_of netb forwarded)
A0=$(stat_of neta forwarded)
qs "$C1" 127.0.0.12 counted.example.test >/dev/null
check_eq "status: a query on 127.0.0.12 counts for netb" "$(stat_of netb forwarded)" $((F0 + 1))
check_eq "status: ... and not for neta" "$(stat_of neta forwarded)" "$A0"

# the rewrite: one chain per address, exact addresses; the container's own 127.0.0.53:53 is its own
check_eq "C1: a chain per address" "$(chains "$C1")" "output output-127.0.0.12"
check_eq "C2: the one chain" "$(chains "$C2")" output
RS=$(in_ns "$C1" nft list table ip cnic_dnsname)
grep -q '127.0.0.0/8' <<<"$RS" && fail "no rule on 127.0.0.0/8" "$RS" || ok "no rule on 127.0.0.0/8"
check_eq "rules of 127.0.0.12 (2 udp, 2 tcp)" "$(grep -c 'ip [sd]addr 127.0.0.12 ' <<<"$RS")" 4
in_ns "$C1" python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.53", 53))
c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
c.settimeout(2)
c.sendto(b"x", ("127.0.0.53", 53))
d, p = s.recvfrom(16)
s.sendto(b"y", p)
print(c.recv(16).decode())' >"$RUN/own53" 2>&1
check_eq "the container's own 127.0.0.53:53 keeps its port" "$(cat "$RUN/own53")" y

# CHECK probes the attachment's own address (and its chain)
hrun "$H" "$P" CHECK "$C1" eth1 c1 "${CC[c1b]}"
check_eq "CHECK c1 on netb (127.0.0.12)" "$RC" 0
hrun "$H" "$P" CHECK "$C1" eth1 c1 "${DC[c1b]}"
check_eq "CHECK c1 on netb with a result that lacks 127.0.0.12 fails" "$RC" 1
grep -q 'dns.nameservers lacks 127.0.0.12' <<<"$OUT" && ok "  and says so" || fail "  and says so" "$OUT"
in_ns "$C1" nft delete chain ip cnic_dnsname output-127.0.0.12 2>/dev/null ||
	in_ns "$C1" sh -c 'nft flush chain ip cnic_dnsname output-127.0.0.12 && nft delete chain ip cnic_dnsname output-127.0.0.12'
hrun "$H" "$P" CHECK "$C1" eth1 c1 "${CC[c1b]}"
check_eq "CHECK c1 on netb without its chain fails" "$RC" 1
grep -q 'output-127.0.0.12' <<<"$OUT" && ok "CHECK names the chain" || fail "CHECK names the chain" "$OUT"
hrun "$H" "$P" CHECK "$C1" eth0 c1 "${DC[c1a]}"
check_eq "CHECK c1 on neta still passes" "$RC" 0
hrun "$H" "$P" ADD "$C1" eth1 c1 "${DC[c1b]}" "IgnoreUnknown=1;K8S_POD_NAME=c1"
check_eq "ADD again restores the chain, same address" "$RC:$(jq -r '.dns.nameservers[0]' <<<"$OUT")" 0:127.0.0.12
check_eq "C1: both chains again" "$(chains "$C1")" "output output-127.0.0.12"

# a third network without dnsServers: 127.0.0.13, resolv.conf's upstream
add c1c netc "$C1" eth2 c1
check_eq "third network: 127.0.0.13" "$NSV" 127.0.0.13
check_eq "C1 @127.0.0.13: resolv.conf (netc has no dnsServers)" "$(qs "$C1" 127.0.0.13 a.example.test)" 192.0.2.73
L0=$(listeners)

# DEL of netb: its listener and chain go, the others stay
del c1b "$C1" eth1 c1
check_eq "DEL netb: one listener less" "$(listeners)" $((L0 - 1))
check_eq "DEL netb: its chain gone, the others kept" "$(chains "$C1")" "output output-127.0.0.13"
q "$C1" 127.0.0.12 a.example.test | grep -q 'status: NOERROR' && fail "DEL netb: 127.0.0.12 answers no more" "$(q "$C1" 127.0.0.12 a.example.test)" ||
	ok "DEL netb: 127.0.0.12 answers no more"
check_eq "DEL netb: 127.0.0.11 still neta's" "$(qs "$C1" 127.0.0.11 a.example.test)" 192.0.2.71
check_eq "DEL netb: 127.0.0.13 still netc's" "$(qs "$C1" 127.0.0.13 a.example.test)" 192.0.2.73
check_eq "DEL netb: c3 no longer in C1's view" "$(qs "$C1" 127.0.0.11 c3.dns.podman)" ""
# a record file the picker cannot read (a symlink: opened without following): the error names it
ln -s /dev/null "$RUN/networks/zzlink"
on_exit 'rm -f "$RUN/networks/zzlink"'
hrun "$H" "$P" ADD "$C1" eth1 c1 "${DC[c1b]}" "IgnoreUnknown=1;K8S_POD_NAME=c1"
check_eq "netb with an unreadable record file beside it: the ADD fails" "$RC" 1
grep -q "record file $RUN/networks/zzlink for the resolver address" <<<"$OUT" &&
	ok "  naming the file" || fail "  naming the file" "$OUT"
rm -f "$RUN/networks/zzlink"
# ... and ADD again takes the lowest free address
hrun "$H" "$P" ADD "$C1" eth1 c1 "${DC[c1b]}" "IgnoreUnknown=1;K8S_POD_NAME=c1"
check_eq "netb again: 127.0.0.12 (the lowest free)" "$RC:$(jq -r '.dns.nameservers[0]' <<<"$OUT")" 0:127.0.0.12
check_eq "netb again: netb's upstream" "$(qs "$C1" 127.0.0.12 a.example.test)" 192.0.2.72
# DEL of the first network (127.0.0.11): the others keep theirs, the table stays
del c1a "$C1" eth0 c1
check_eq "DEL neta: its chain gone" "$(chains "$C1")" "output-127.0.0.12 output-127.0.0.13"
check_eq "DEL neta: 127.0.0.12 still netb's" "$(qs "$C1" 127.0.0.12 a.example.test)" 192.0.2.72
check_eq "DEL neta: c2 no longer in C1's view" "$(qs "$C1" 127.0.0.12 c2.dns.podman)" ""
hrun "$H" "$P" ADD "$C1" eth0 c1 "${DC[c1a]}" "IgnoreUnknown=1;K8S_POD_NAME=c1"
check_eq "neta again: 127.0.0.11 (free again)" "$RC:$(jq -r '.dns.nameservers[0]' <<<"$OUT")" 0:127.0.0.11
check_eq "neta again: neta's upstream" "$(qs "$C1" 127.0.0.11 a.example.test)" 192.0.2.71

# parallel ADDs of one netns on two networks: distinct addresses (the plugin's lock)
for i in 1 2 3; do
	mkns PN
	bridge "p${i}a" neta "$PN" eth0 "par$i" && bridge "p${i}b" netb "$PN" eth1 "par$i" || continue
	printf '%s' "${DC[p${i}a]}" | ip netns exec "$H" env CNI_COMMAND=ADD CNI_NETNS="$PN" CNI_IFNAME=eth0 \
		CNI_CONTAINERID="par$i" CNI_PATH="$BIN" "$P" >"$RUN/pa.out" 2>&1 &
	PA=$!
	printf '%s' "${DC[p${i}b]}" | ip netns exec "$H" env CNI_COMMAND=ADD CNI_NETNS="$PN" CNI_IFNAME=eth1 \
		CNI_CONTAINERID="par$i" CNI_PATH="$BIN" "$P" >"$RUN/pb.out" 2>&1 &
	PB=$!
	wait $PA
	RA=$?
	wait $PB
	RB=$?
	check_eq "parallel ADDs $i: both succeed" "$RA:$RB" 0:0
	GOT=$(jq -r '.dns.nameservers[0]' "$RUN/pa.out" "$RUN/pb.out" | sort | tr '\n' ' ')
	check_eq "parallel ADDs $i: distinct addresses" "$GOT" "127.0.0.11 127.0.0.12 "
	check_eq "parallel ADDs $i: the eth1 address answers netb's" \
		"$(qs "$PN" "$(jq -r '.dns.nameservers[0]' "$RUN/pb.out")" a.example.test)" 192.0.2.72
	hrun "$H" "$P" DEL "$PN" eth0 "par$i" "${DC[p${i}a]}"
	hrun "$H" "$P" DEL "$PN" eth1 "par$i" "${DC[p${i}b]}"
done

# "dnsname restart": the new daemon takes every address over
PID=$(daemon_pid)
L0=$(listeners)
in_ns "$H" "$P" restart --run-dir "$RUN" >"$RUN/restart.out" 2>&1
check_eq "restart" "$?" 0
poll_until 5000 sh -c "! kill -0 $PID 2>/dev/null" || fail "restart: the old daemon exits" "$PID"
[ "$(daemon_pid)" != "$PID" ] && ok "restart: a new daemon" || fail "restart: a new daemon" "$(daemon_pid)"
check_eq "restart: the same listeners" "$(listeners)" "$L0"
check_eq "restart: C1 @127.0.0.11 neta's" "$(qs "$C1" 127.0.0.11 r.example.test)" 192.0.2.71
check_eq "restart: C1 @127.0.0.12 netb's" "$(qs "$C1" 127.0.0.12 r.example.test)" 192.0.2.72
check_eq "restart: C1 @127.0.0.13 netc's" "$(qs "$C1" 127.0.0.13 r.example.test)" 192.0.2.73
check_eq "restart: chains kept" "$(chains "$C1")" "output output-127.0.0.12 output-127.0.0.13"
grep -q 'handoff: [0-9]* of [0-9]* listeners sent' "$RUN/dnsname.log" && ok "restart: the log says what went" ||
	fail "restart: the log says what went" "$(tail -5 "$RUN/dnsname.log")"

# GC: an attachment not in the valid list goes, its addr line, listener and chain with it
L0=$(listeners)
hrun "$H" "$P" GC "" "" "" "$(jq -c '. + {cniVersion:"1.1.0","cni.dev/valid-attachments":[{"containerID":"c3","ifname":"eth0"}]} | del(.prevResult)' <<<"${DC[c1b]}")"
check_eq "GC of netb keeping c3 alone" "$RC" 0
grep -q '^addr c1 ' "$RUN/networks/netb" && fail "GC: c1's addr line gone with its record" "$(cat "$RUN/networks/netb")" ||
	ok "GC: c1's addr line gone with its record"
check_eq "GC: its listener closed" "$(listeners)" $((L0 - 1))
check_eq "GC: its chain gone" "$(chains "$C1")" "output output-127.0.0.13"
check_eq "GC: c3 still served" "$(qs "$C3" 127.0.0.11 c3.dns.podman)" "$(ip_of "$C3")"

# a new daemon of a build before the addresses takes over (its plain "handoff", played here): it
# gets the 127.0.0.11 listeners alone, in its format ("DEV INO"); the others close with the old
# daemon, their chains deleted, 127.0.0.11's kept for the new one
PID=$(daemon_pid)
in_ns "$H" python3 - "$RUN" >"$RUN/oldtaker.out" 2>&1 <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.settimeout(5)
s.connect(sys.argv[1] + "/dnsname.sock")
s.send(b"handoff")
msg, fds, _, _ = socket.recv_fds(s, 4096, 1)
n = int(msg.split()[2])
lines, keep = [], list(fds)
while len(lines) < n:
    msg, fds, _, _ = socket.recv_fds(s, 8192, 200)
    keep += fds
    lines += msg.decode().splitlines()
s.send(b"taken")
print(s.recv(64).decode())
print(len(lines), len(keep), sum(len(l.split()) == 2 for l in lines))
PY
check_eq "old-build takeover: released, the 127.0.0.11 listeners alone (3 of 4), old format" \
	"$(tr '\n' ' ' <"$RUN/oldtaker.out")" "ok released 3 7 3 "
poll_until 12000 sh -c "! kill -0 $PID 2>/dev/null" && ok "  the old daemon exits" || fail "  the old daemon exits" "$PID"
check_eq "  C1: 127.0.0.13's chain deleted, 127.0.0.11's left to the new daemon" "$(chains "$C1")" output
# our own daemon again (an ADD starts it): every address served anew
hrun "$H" "$P" ADD "$C2" eth0 c2 "${DC[c2]}" "IgnoreUnknown=1;K8S_POD_NAME=c2"
check_eq "  a new ADD starts a daemon of ours" "$RC" 0
check_eq "  which serves 127.0.0.13 again" "$(qs "$C1" 127.0.0.13 z.example.test)" 192.0.2.73

# a netns on more networks than there are resolver addresses (64: as many networks as a
# listener resolves): the 65th ADD fails with the named error, nothing of it left
mkns CX
XT0=$(date +%s)
xconf() { dns_conf "x$1" "{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"10.90.$1.2/24\"}]}"; }
XA=""
for i in $(seq 1 65); do
	hrun "$H" "$P" ADD "$CX" "e$i" cx "$(xconf "$i")" "IgnoreUnknown=1;K8S_POD_NAME=cx"
	[ "$RC" = 0 ] || break
	XA="$XA $(jq -r '.dns.nameservers[0]' <<<"$OUT" | cut -d. -f4)"
done
check_eq "64 networks in one netns: 64 addresses, 11 to 76 but 53 and 54" "$XA" \
	" $(seq 11 76 | grep -vx '5[34]' | tr '\n' ' ' | sed 's/ $//')"
check_eq "  the 65th ADD fails" "$i:$RC" 65:1
check_eq "  with the code of host-local's exhausted range" "$(jq -r .code <<<"$OUT")" 999
grep -q 'network x65: no free resolver address (127.0.0.11-76) in netns .* of container cx' <<<"$OUT" &&
	ok "  naming the network and the netns" || fail "  naming the network and the netns" "$OUT"
check_eq "  no record of it" "$(test -e "$RUN/networks/x65" && echo left)" ""
check_eq "  @127.0.0.76 resolves the name on all 64" "$(qs "$CX" 127.0.0.76 cx.dns.podman | tr ' ' '\n' | grep -c '^10\.90\.')" 64
for i in $(seq 1 64); do
	hrun "$H" "$P" DEL "$CX" "e$i" cx "$(xconf "$i")"
	[ "$RC" = 0 ] || fail "x$i: DEL" "$OUT"
done
echo "# 65 networks in one netns: $(($(date +%s) - XT0)) s"

for k in c1a c1b c1c c2 c3; do
	case $k in c1a) a="$C1 eth0 c1" ;; c1b) a="$C1 eth1 c1" ;; c1c) a="$C1 eth2 c1" ;; c2) a="$C2 eth0 c2" ;; c3) a="$C3 eth0 c3" ;; esac
	del "$k" $a
done
check_eq "no network file left" "$(ls "$RUN/networks" | wc -l)" 0
poll_until 3000 sh -c "! ip netns exec $(basename "$C1") nft list table ip cnic_dnsname >/dev/null 2>&1" &&
	ok "C1: the table gone with the last listener" || fail "C1: the table gone with the last listener" "$(chains "$C1")"
check_eq "no sanitizer report from the daemon" "$(cat "$RUN"/dnsname.log* 2>/dev/null | grep -c 'Sanitizer')" 0
finish
