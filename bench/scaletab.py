#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""scaletab.py SAMPLES.TSV: the scale scenarios of bench/cnibench.c's samples as a Markdown table.

For every scale scenario and implementation: the median wall time of the first and last twentieth
of the ADDs (ADD #1.. with the fewest live allocations, the last ones with the most), their ratio
and growth in ms, and the same for DEL (the first DELs run with every allocation live, the last
ones with few); then the mean CPU time (user + system of the plugin and its children) of the same
operations, which a loaded machine disturbs far less. The targets of issue #20 read off these
columns: ratio, and growth against the kernel floor's (`floor-ip`).
"""
import statistics
import sys


def main():
    rows = {}  # (scenario, label, op) -> {index: wall}
    order = []
    with open(sys.argv[1]) as f:
        for line in f:
            c = line.rstrip("\n").split("\t")
            if len(c) < 10 or c[1] != "scale" or c[9] != "1":
                continue
            key = (c[0], c[2], c[3])
            if key not in rows:
                rows[key] = {}
                order.append(key)
            rows[key][int(c[4])] = (float(c[5]), float(c[6]))
    print("| scenario | impl | op | n | few live: p50 ms | many live: p50 ms | ratio | growth ms | "
          "few live: CPU ms | many live: CPU ms | CPU ratio | CPU growth ms |")
    print("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for key in order:
        v = rows[key]
        n = max(v) + 1
        w = max(n // 20, 1)
        first = [v[i] for i in range(w) if i in v]
        last = [v[i] for i in range(n - w, n) if i in v]
        if not first or not last:
            continue
        few, many = (first, last) if key[2] == "ADD" else (last, first)
        a, b = statistics.median(x[0] for x in few), statistics.median(x[0] for x in many)
        ca, cb = statistics.mean(x[1] for x in few), statistics.mean(x[1] for x in many)
        print(f"| {key[0]} | {key[1]} | {key[2]} | {n} | {a:.2f} | {b:.2f} | {b / a:.2f} | {b - a:+.2f} | "
              f"{ca:.2f} | {cb:.2f} | {cb / ca:.2f} | {cb - ca:+.2f} |")


if __name__ == "__main__":
    main()
