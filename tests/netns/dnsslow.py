#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A slow fake upstream for the dnsname tests: on ADDR:53, UDP and TCP, every A question gets
192.0.2.7 (or ANSWER, the 4th argument) after a delay: names starting with "slow" wait SLOW ms, the others FAST ms (so a
forwarded query can be in flight across a daemon restart). Prints "ready" once bound."""
import socket, struct, sys, threading, time

addr = sys.argv[1]
fast, slow = float(sys.argv[2]) / 1000, float(sys.argv[3]) / 1000
ans = sys.argv[4] if len(sys.argv) > 4 else "192.0.2.7"


def answer(q):
    qid, _ = struct.unpack("!HH", q[:4])
    i, name = 12, []
    while q[i]:
        name.append(q[i + 1:i + 1 + q[i]].decode())
        i += q[i] + 1
    question = q[12:i + 5]
    r = struct.pack("!HHHHHH", qid, 0x8180, 1, 1, 0, 0) + question
    r += b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + socket.inet_aton(ans)
    return r, (slow if name and name[0].startswith("slow") else fast)


def udp():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, 53))
    while True:
        q, peer = s.recvfrom(4096)
        r, delay = answer(q)
        threading.Timer(delay, s.sendto, (r, peer)).start()


def tcp_conn(c):
    with c:
        while True:
            h = c.recv(2)
            if len(h) < 2:
                return
            n = struct.unpack("!H", h)[0]
            q = b""
            while len(q) < n:
                b = c.recv(n - len(q))
                if not b:
                    return
                q += b
            r, delay = answer(q)
            time.sleep(delay)
            c.sendall(struct.pack("!H", len(r)) + r)


def tcp():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, 53))
    s.listen(16)
    while True:
        c, _ = s.accept()
        threading.Thread(target=tcp_conn, args=(c,), daemon=True).start()


threading.Thread(target=udp, daemon=True).start()
threading.Thread(target=tcp, daemon=True).start()
time.sleep(0.2)
print("ready", flush=True)
threading.Event().wait()
