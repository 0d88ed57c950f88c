#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The dhcp daemon's limits, with a raw client of its socket protocol (python3; see dhcp.h):
# a FIFO given as netns path is refused and the loop keeps serving; with its descriptors
# exhausted (a low RLIMIT_NOFILE and many open connections) the daemon does not spin (its CPU
# time stays far below the wall time) and serves again once they close; a connection that sends
# nothing is closed after -idletimeout; control characters in the container id, network name,
# ifname or netns path are refused before anything is written.
. "$(dirname "$0")/lib.sh"
need_root dhcp_limits
P=$BIN/dhcp
command -v python3 >/dev/null || { skip dhcp_limits "python3 missing"; exit 0; }
tmpdir D
SOCK=$D/dhcp.sock
DPID=""
mkhost H
mkns C

daemon() { # [FLAGS]: with the limit NOFILE when set
	# shellcheck disable=SC2086
	ip netns exec "$H" ${STRACE:-} prlimit --nofile="${NOFILE:-1024}" "$P" daemon -socketpath "$SOCK" \
		-statedir "$D/state" -timeout 2s -pidfile "$D/daemon.pid" "$@" >>"$D/daemon.log" 2>&1 &
	DPID=$!
	poll_until 10000 test -S "$SOCK"
}
daemon_stop() {
	[ -n "$DPID" ] && kill -KILL "$DPID" 2>/dev/null && wait "$DPID" 2>/dev/null
	# under strace, DPID is strace's: its tracee would run on
	[ -s "$D/daemon.pid" ] && kill -KILL "$(cat "$D/daemon.pid")" 2>/dev/null
	DPID=""
	rm -f "$SOCK" "$D/daemon.pid"
}
on_exit 'daemon_stop'

# The client: req.py VERB [key=value...] prints "errno message" of the reply (timeout: "timeout").
cat >"$D/req.py" <<'PY'
import socket, struct, sys
VERBS = {"ADD": 1, "DEL": 2, "CHECK": 3, "STATUS": 4, "GC": 5}
KEYS = {"cid": 2, "netns": 3, "ifname": 4, "network": 5}
def tlv(t, v): return struct.pack(">HH", t, len(v)) + v
def request(sock, verb, kv):
    body = b"CNDH\x01" + tlv(1, bytes([VERBS[verb]]))
    for k, v in kv.items():
        body += tlv(KEYS[k], v.encode("utf-8", "surrogateescape"))
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(15)
    s.connect(sock)
    data = b""
    try:
        s.sendall(struct.pack(">I", len(body)) + body)
        while True:
            b = s.recv(65536)
            if not b: break
            data += b
    except socket.timeout:
        return "timeout"
    except (ConnectionResetError, BrokenPipeError):  # closed with the request unread, or
        return "closed"                               # before it was sent
    if len(data) < 9: return "closed"
    body, i, err, msg = data[9:], 0, None, ""
    while i + 4 <= len(body):
        t, l = struct.unpack(">HH", body[i:i+4]); v = body[i+4:i+4+l]; i += 4 + l
        if t == 100: err = struct.unpack(">I", v)[0]
        if t == 101: msg = v.decode(errors="replace")
    return "%s %s" % (err, msg)
def unescape(v): return v.encode().decode("unicode_escape")
kv = dict(a.split("=", 1) for a in sys.argv[3:])
print(request(sys.argv[1], sys.argv[2], {k: unescape(v) for k, v in kv.items()}))
PY
# hold.py SOCK N SECONDS: N connections that send nothing, held open; prints how many were
# closed by the daemon (EOF) before the end.
cat >"$D/hold.py" <<'PY'
import select, socket, sys, time
path, n, secs = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
conns = []
for _ in range(n):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.setblocking(False)
    try: s.connect(path)
    except BlockingIOError: pass
    conns.append(s)
closed, end = set(), time.monotonic() + secs
while time.monotonic() < end and len(closed) < n:
    r, _, _ = select.select([c for c in conns if c not in closed], [], [], 0.2)
    for c in r:
        try:
            if c.recv(1) == b"": closed.add(c)
        except OSError: closed.add(c)
print(len(closed))
PY
req() { OUT=$(timeout 30 python3 "$D/req.py" "$SOCK" "$@"); }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$DPID/stat" 2>/dev/null; }

daemon
req STATUS
check_eq "STATUS" "$OUT" "0 "

# ---- control characters -----------------------------------------------------------------------
for kv in 'ifname=eth0\nnetns /etc' 'ifname=e\x01' 'cid=c\x7f' 'network=n\rx' 'cid=a\x1b'; do
	args=(cid=c1 network=n ifname=eth0 "netns=$C")
	args+=("$kv")
	req ADD "${args[@]}"
	case "$OUT" in
	"22 "*control*) ok "ADD with $kv: refused" ;;
	*) fail "ADD with $kv: refused" "$OUT" ;;
	esac
done
for kv in 'ifname=e\xc2\xa0x' 'ifname=a/b'; do
	req ADD cid=c1 network=n "netns=$C" "$kv"
	case "$OUT" in
	"22 "*ifname*) ok "ADD with $kv: refused by the shared ifname rule" ;;
	*) fail "ADD with $kv: refused by the shared ifname rule" "$OUT" ;;
	esac
done
check_eq "no lease file written" "$(find "$D/state" -type f | wc -l)" 0

# ---- a FIFO as netns path ---------------------------------------------------------------------
mkfifo "$D/fifo"
req ADD cid=f1 network=n ifname=eth0 "netns=$D/fifo"
case "$OUT" in
0\ * | timeout | closed | "") fail "FIFO as netns: an error" "$OUT" ;;
*) ok "FIFO as netns: an error ($OUT)" ;;
esac
req STATUS
check_eq "FIFO as netns: the daemon keeps serving" "$OUT" "0 "
req ADD cid=f2 network=n ifname=eth0 netns=/proc/self/status
case "$OUT" in
22\ *) ok "a procfs file that is no netns: EINVAL ($OUT)" ;;
*) fail "a procfs file that is no netns: EINVAL" "$OUT" ;;
esac

# ---- idle connections -------------------------------------------------------------------------
daemon_stop
daemon -idletimeout 1s
n=$(timeout 30 python3 "$D/hold.py" "$SOCK" 3 20)
check_eq "idle connections closed after -idletimeout (within 20 s)" "$n" 3
req STATUS
check_eq "STATUS after the idle ones" "$OUT" "0 "

# ---- descriptors exhausted --------------------------------------------------------------------
daemon_stop
NOFILE=16 daemon # the default idle timeout (30 s) outlasts the 4 s below
t0=$(cpu_ticks)
n=$(timeout 30 python3 "$D/hold.py" "$SOCK" 40 4)
t1=$(cpu_ticks)
hz=$(getconf CLK_TCK)
# spinning burns what the machine gives it (above 1 s of the 4 s even on a loaded one); a loop
# that waits, no tick at all
if ! [[ $t0 =~ ^[0-9]+$ && $t1 =~ ^[0-9]+$ ]]; then
	fail "EMFILE: no busy loop" "the daemon is not running: $(tail -2 "$D/daemon.log")"
elif [ $((t1 - t0)) -lt $((hz / 2)) ]; then
	ok "EMFILE: no busy loop ($((t1 - t0)) ticks of CPU in 4 s, $n of 40 connections dropped)"
else
	fail "EMFILE: no busy loop" "$((t1 - t0)) ticks of CPU in 4 s (CLK_TCK $hz)"
fi
[ "${n:-0}" -gt 0 ] && ok "EMFILE: connections beyond the limit are dropped ($n)" ||
	fail "EMFILE: connections beyond the limit are dropped" "$n"
req STATUS
check_eq "EMFILE: serving again once the connections are gone" "$OUT" "0 "
check "EMFILE: logged" grep -q "out of file descriptors" "$D/daemon.log"
# ---- a descriptor that cannot be watched (the fault lane: epoll_ctl ENOMEM) --------------------
# Start-up watches the listener and the signals; then #3 watches the first connection, #4 the
# first ADD's timer. Unwatched, the connection waited for its answer until the idle timeout (30 s)
# and the timer never fired (an ADD with no server answering waited for ever): now the
# connection is closed, resp. the ADD refused, and the daemon serves the next request.
if command -v strace >/dev/null; then
	ip -n "$(basename "$C")" link add eth0 type veth peer name p0
	for n in 3 4; do
		daemon_stop
		STRACE="strace -f -qq -o /dev/null -e trace=epoll_ctl -e inject=epoll_ctl:error=ENOMEM:when=$n" \
			ASAN_OPTIONS=detect_leaks=0 daemon
		req ADD cid=w$n network=n ifname=eth0 "netns=$C"
		case "$OUT" in
		timeout | 0\ * | "") fail "epoll_ctl #$n failing: the ADD is answered or closed at once" "$OUT" ;;
		*) ok "epoll_ctl #$n failing: the ADD is answered or closed at once ($OUT)" ;;
		esac
		req STATUS
		check_eq "epoll_ctl #$n failing: the daemon serves the next request" "$OUT" "0 "
	done
	daemon_stop
else
	skip "epoll_ctl failing" "strace not installed"
fi
if grep -qiE 'Sanitizer|runtime error' "$D/daemon.log"; then
	fail "daemon log clean" "$(grep -iE 'Sanitizer|runtime error' "$D/daemon.log" | head -3)"
else
	ok "daemon log clean"
fi
sed 's/^/# /' "$D/daemon.log"
finish
