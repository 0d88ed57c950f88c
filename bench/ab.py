#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""ab.py SAMPLES.TSV OLD-LABEL NEW-LABEL: the A/B table of `make bench BENCH_AB=<rev>`.

For every scenario and operation (ADD, DEL) of the samples (bench/cnibench.c's samples.tsv, old
and new interleaved in one run): the median wall time of each build, the ratio new/old of the
medians, and its noise: a bootstrap interval (4000 resamples of the iterations, each
iteration's old and new sample kept together, so drift that hit both stays paired; fixed seed)
at 95 % for the whole table (Bonferroni: each of the k rows at 1 - 0.05/k, so that an A/A run
flags nothing 95 % of the time), plus the mean CPU per operation (user + system) of each and
its ratio with the same kind of interval (CPU time is far less disturbed by other load than wall
time). A row is a regression when the wall ratio is above 1.02 AND its whole interval is above 1
(outside noise). Prints Markdown; exit status 1 when a row is a regression, 0 otherwise.
"""
import random
import statistics
import sys

LIMIT = 1.02
RESAMPLES = 4000


def median(v):
    return statistics.median(v) if v else float("nan")


def main():
    path, old, new = sys.argv[1:4]
    # (scenario, op) -> {index: {label: (wall, cpu)}}
    data = {}
    order = []
    with open(path) as f:
        for line in f:
            c = line.rstrip("\n").split("\t")
            if len(c) < 10 or c[1] != "cycle" or c[2] not in (old, new) or c[9] != "1":
                continue
            key = (c[0], c[3])
            if key not in data:
                data[key] = {}
                order.append(key)
            data[key].setdefault(int(c[4]), {})[c[2]] = (float(c[5]), float(c[6]))
    rng = random.Random(17)
    bad = []
    keys = [k for k in order if any(old in v and new in v for v in data[k].values())]
    alpha = 0.05 / max(len(keys), 1)
    lo_i = int(alpha / 2 * RESAMPLES)
    hi_i = RESAMPLES - 1 - lo_i
    print(f"Intervals: {100 * (1 - alpha):.2f} % per row, 95 % for the {len(keys)} rows together.")
    print()
    print("| scenario | op | n | old ms (p50) | new ms (p50) | new/old | interval | "
          "old CPU ms | new CPU ms | CPU new/old | CPU interval | verdict |")
    print("| --- | --- | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | --- | --- |")
    for key in keys:
        pairs = [v for v in data[key].values() if old in v and new in v]
        ow = [p[old][0] for p in pairs]
        nw = [p[new][0] for p in pairs]
        oc = statistics.mean(p[old][1] for p in pairs)
        nc = statistics.mean(p[new][1] for p in pairs)
        r = median(nw) / median(ow)
        ocs = [p[old][1] for p in pairs]
        ncs = [p[new][1] for p in pairs]
        boots, cboots = [], []
        for _ in range(RESAMPLES):
            idx = [rng.randrange(len(pairs)) for _ in pairs]
            boots.append(median([nw[i] for i in idx]) / median([ow[i] for i in idx]))
            co = sum(ocs[i] for i in idx)
            cboots.append(sum(ncs[i] for i in idx) / co if co else float("nan"))
        boots.sort()
        cboots.sort()
        lo, hi = boots[lo_i], boots[hi_i]
        if r > LIMIT and lo > 1.0:
            verdict = "**REGRESSION**"
            bad.append(f"{key[0]} {key[1]}")
        elif r > LIMIT:
            verdict = "noise (interval holds 1)"
        else:
            verdict = "ok"
        print(f"| {key[0]} | {key[1]} | {len(pairs)} | {median(ow):.3f} | {median(nw):.3f} | "
              f"{r:.3f} | {lo:.3f} - {hi:.3f} | {oc:.3f} | {nc:.3f} | "
              f"{nc / oc if oc else float('nan'):.3f} | {cboots[lo_i]:.3f} - {cboots[hi_i]:.3f} | "
              f"{verdict} |")
    print()
    if bad:
        print(f"FAIL: new/old above {LIMIT} and outside noise: {', '.join(bad)}")
        print()
        return 1
    print(f"PASS: no scenario's new/old median above {LIMIT} outside noise")
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
