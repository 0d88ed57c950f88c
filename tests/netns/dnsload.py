#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A paced UDP DNS query stream for the dnsname tests and bench: RATE queries a second for SECS
seconds to ADDR:PORT, A queries for NAME (every EXT_EVERY-th one for EXT instead, a forwarded
name), then up to WAIT seconds for the last answers. Prints "started" when the first query
leaves, then one JSON line: sent, answered, lost (sent without an answer with the same ID and
question, NOERROR and at least one answer record), bad (answers that were not), max and p99
latency in ms. The IDs run 0..65535: SECS x RATE must stay under 65536."""
import argparse, json, select, socket, struct, sys, time


def query(qid, name):
    q = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.rstrip(".").split("."):
        q += bytes([len(label)]) + label.encode()
    return q + b"\0" + struct.pack("!HH", 1, 1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--addr", default="127.0.0.11")
    ap.add_argument("--port", type=int, default=53)
    ap.add_argument("--rate", type=int, default=5000)
    ap.add_argument("--secs", type=float, default=3)
    ap.add_argument("--name", required=True)
    ap.add_argument("--ext", default="")
    ap.add_argument("--ext-every", type=int, default=0)
    ap.add_argument("--wait", type=float, default=3)
    a = ap.parse_args()
    total = int(a.rate * a.secs)
    if total > 65536:
        sys.exit("dnsload: rate x secs must stay under 65536")
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    s.setblocking(False)
    s.connect((a.addr, a.port))
    qs = []
    for i in range(total):
        name = a.ext if a.ext_every and i % a.ext_every == a.ext_every - 1 else a.name
        qs.append(query(i, name))
    sent_at = [0.0] * total
    lat = {}
    bad = 0
    start = time.monotonic()
    i = 0
    print("started", flush=True)

    def drain():
        nonlocal bad
        while True:
            try:
                r = s.recv(4096)
            except (BlockingIOError, ConnectionRefusedError):
                return
            if len(r) < 12:
                bad += 1
                continue
            qid, flags, _, an = struct.unpack("!HHHH", r[:8])
            if qid >= total or qid in lat or not sent_at[qid]:
                continue
            # same question, NOERROR, an answer
            ql = len(qs[qid]) - 12
            if r[12:12 + ql] != qs[qid][12:] or flags & 0xF or an < 1:
                bad += 1
                continue
            lat[qid] = (time.monotonic() - sent_at[qid]) * 1000

    while i < total:
        now = time.monotonic()
        due = min(total, int((now - start) * a.rate) + 1)
        while i < due:
            try:
                s.send(qs[i])
            except (BlockingIOError, ConnectionRefusedError):
                break
            sent_at[i] = time.monotonic()
            i += 1
        drain()
        nxt = start + i / a.rate
        select.select([s], [], [], max(0.0, nxt - time.monotonic()))
    end = time.monotonic() + a.wait
    while len(lat) < i and time.monotonic() < end:
        select.select([s], [], [], 0.05)
        drain()
    v = sorted(lat.values()) or [0.0]
    # our socket's drops (a client too slow to read is not the server's loss): /proc/net/udp
    drops = -1
    port = s.getsockname()[1]
    for line in open("/proc/net/udp").read().splitlines()[1:]:
        f = line.split()
        if int(f[1].split(":")[1], 16) == port:
            drops = int(f[-1])
    lost = [q for q in range(i) if q not in lat]
    ext = sum(1 for q in lost if a.ext_every and q % a.ext_every == a.ext_every - 1)
    print(json.dumps({"sent": i, "answered": len(lat), "lost": i - len(lat), "bad": bad,
                      "max_ms": round(v[-1], 1), "p99_ms": round(v[int(len(v) * 0.99) - 1 if len(v) > 1 else 0], 1),
                      "secs": round(time.monotonic() - start, 2), "client_drops": drops,
                      "lost_forwarded": ext,
                      "lost_at_s": [round((sent_at[q] - start), 2) for q in lost[:1] + lost[-1:]]}),
          flush=True)


if __name__ == "__main__":
    main()
