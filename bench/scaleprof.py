# SPDX-License-Identifier: Apache-2.0
"""Where the growth of a scale scenario goes (make bench BENCH_SCALE=N BENCH_PROFILE=1).

stdin: `perf script --ns -F comm,tid,time,ip,sym` of a `perf record -g -k CLOCK_MONOTONIC` run of
cnibench; argv[1]: the driver's operation times (CNIBENCH_OPTIMES: label op i start_ns end_ns);
argv[2]: the scenario. Every sample falls in at most one operation (the driver runs one at a
time). For each implementation and operation, the few operations with the fewest live
allocations (ADD #1.., the last DELs) are set against those with the most (the last ADDs, the
first DELs): wall time, CPU sampled, and the symbols whose inclusive time (a symbol counted once
per stack) and self time grew the most, in ms per operation. Markdown on stdout.
"""
import bisect
import collections
import sys

PERIOD_MS = 0.1  # run.sh: cpu-clock, one sample per 100 us


def main():
    ops = []  # (start, end, label, op, i)
    for line in open(sys.argv[1]):
        label, op, i, t0, t1 = line.split("\t")
        ops.append((int(t0), int(t1), label, op, int(i)))
    ops.sort()
    starts = [o[0] for o in ops]
    n = max(o[4] for o in ops) + 1
    w = max(n // 20, 1)

    def window(op, i):
        # "low": few live allocations; "high": many.
        lo, hi = (i < w, i >= n - w) if op == "ADD" else (i >= n - w, i < w)
        return "low" if lo else "high" if hi else None

    incl = collections.defaultdict(collections.Counter)  # (label, op, win) -> sym -> samples
    selfc = collections.defaultdict(collections.Counter)
    total = collections.Counter()
    wall = collections.defaultdict(float)
    count = collections.Counter()
    for t0, t1, label, op, i in ops:
        win = window(op, i)
        if win:
            wall[label, op, win] += (t1 - t0) / 1e6
            count[label, op, win] += 1

    def flush(t, stack):
        if t is None or not stack:
            return
        k = bisect.bisect_right(starts, t) - 1
        if k < 0 or t > ops[k][1]:
            return
        _, _, label, op, i = ops[k]
        win = window(op, i)
        if not win:
            return
        key = (label, op, win)
        total[key] += 1
        selfc[key][stack[0]] += 1
        for s in set(stack):
            incl[key][s] += 1

    t, stack = None, []
    for line in sys.stdin:
        if not line.strip():
            flush(t, stack)
            t, stack = None, []
            continue
        if not line[0].isspace():
            flush(t, stack)
            stack = []
            t = None
            for tok in line.split():
                if tok.endswith(":"):
                    try:
                        t = int(round(float(tok[:-1]) * 1e9))
                    except ValueError:
                        pass
            continue
        parts = line.split(None, 1)
        sym = parts[1].strip() if len(parts) > 1 else "?"
        sym = sym.split("+0x")[0]
        stack.append(sym)
    flush(t, stack)

    print(f"## Growth at scale: {sys.argv[2]} ({n} operations, windows of {w})\n")
    print("ms per operation; perf cpu-clock samples of the driver and its children (plugins,")
    print("their children, softirqs they ran), one per 0.1 ms; low = the window with the fewest")
    print("live allocations (ADD #1.., DEL of the last ones), high = the most.\n")
    for label in sorted({k[0] for k in count}):
        for op in ("ADD", "DEL"):
            lo, hi = (label, op, "low"), (label, op, "high")
            if not count[lo] or not count[hi]:
                continue

            def ms(key, c):
                return c * PERIOD_MS / count[key]

            print(f"### {label} {op}\n")
            print(f"wall {wall[lo] / count[lo]:.2f} -> {wall[hi] / count[hi]:.2f} ms; "
                  f"CPU sampled {ms(lo, total[lo]):.2f} -> {ms(hi, total[hi]):.2f} ms\n")
            for title, tab in (("inclusive", incl), ("self", selfc)):
                syms = set(tab[lo]) | set(tab[hi])
                rows = sorted(syms, key=lambda s: ms(hi, tab[hi][s]) - ms(lo, tab[lo][s]), reverse=True)
                print(f"| symbol ({title}) | low | high | growth |")
                print("| --- | ---: | ---: | ---: |")
                for s in rows[:30 if title == "inclusive" else 15]:
                    a, b = ms(lo, tab[lo][s]), ms(hi, tab[hi][s])
                    if b - a < 0.02:
                        break
                    print(f"| `{s}` | {a:.2f} | {b:.2f} | {b - a:+.2f} |")
                print()


if __name__ == "__main__":
    main()
