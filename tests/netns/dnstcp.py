#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""One TCP connection to ADDR:53 with a query per NAME, one after the other (each waits for its
answer, 10 s at most); prints "sent" once the first query is sent, then per NAME the first A
address of its answer, or "none"."""
import socket, struct, sys

s = socket.create_connection((sys.argv[1], 53), timeout=10)
for qid, name in enumerate(sys.argv[2:]):
    q = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.rstrip(".").split("."):
        q += bytes([len(label)]) + label.encode()
    q += b"\0" + struct.pack("!HH", 1, 1)
    out = "none"
    try:
        s.sendall(struct.pack("!H", len(q)) + q)
        if not qid:
            print("sent", flush=True)
        h = s.recv(2)
        n = struct.unpack("!H", h)[0]
        r = b""
        while len(r) < n:
            r += s.recv(n - len(r))
        # the last 4 bytes of a reply whose last record is an A
        if struct.unpack("!H", r[6:8])[0] and r[:2] == q[:2]:
            out = socket.inet_ntoa(r[-4:])
    except (OSError, struct.error) as e:
        out = "none(%s)" % e
    print(name, out, flush=True)
