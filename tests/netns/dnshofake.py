#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A fake old dnsname daemon for dnsname_handoff.sh: RUN_DIR REPLY. Holds RUN_DIR/dnsname.pid
locked, binds 127.0.0.11:61053 (UDP, TCP) in its netns and the control socket
RUN_DIR/dnsname.sock; to "handoff" it sends that socket and that listener (for its own netns), in
the format of a build before the per-network resolver addresses (which answers "err unknown
request" to the newer "handoff 2", as such a build does: the new daemon asks again), to "taken"
it answers REPLY, and releases the pid file's lock 300 ms later (after the new daemon's
first try). Prints "ready", then what it got; fails when the pid file is locked already. A third
argument: the address its listener binds instead of 127.0.0.11 (handed over as 127.0.0.11's)."""
import fcntl, os, socket, sys, time

run, reply = sys.argv[1], sys.argv[2]
bind = sys.argv[3] if len(sys.argv) > 3 else "127.0.0.11"
pidf = open(run + "/dnsname.pid", "a+")
fcntl.flock(pidf, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a daemon holds it: fail, not hang
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
for s in (u, t):
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((bind, 61053))
t.listen(8)
path = run + "/dnsname.sock"
if os.path.exists(path):
    os.unlink(path)
ctl = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
ctl.bind(path)
ctl.listen(8)
st = os.stat("/proc/self/ns/net")
print("ready", flush=True)
ctl.settimeout(20)
while True:
    h, _ = ctl.accept()
    h.settimeout(20)
    req = h.recv(64).decode()
    print("got", req, flush=True)
    if req == "handoff":
        break
    h.send(b"err unknown request")
    h.close()
socket.send_fds(h, [("ok handoff 1 0 0 %s/resolv.conf" % run).encode()], [ctl.fileno()])
socket.send_fds(h, [("%d %d\n" % (st.st_dev, st.st_ino)).encode()], [u.fileno(), t.fileno()])
print("got", h.recv(64).decode(), flush=True)
h.send(reply.encode())
time.sleep(0.3)
fcntl.flock(pidf, fcntl.LOCK_UN)
print("unlocked", flush=True)
