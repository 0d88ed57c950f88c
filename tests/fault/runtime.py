#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Syscall fault injection and SIGKILL at every point of cnitool's own add, check, del, gc and
status (the runtime side: libcnic-runtime's config loading, plugin execution, result cache).

The network is built from conf/examples (portmap.conflist's bridge + host-local + portmap, then
firewall.conflist's firewall and tuning.conflist's tuning), cniVersion 1.1.0, its data and the
cache (CNITOOL_CACHE_DIR) under the scratch directory. Each case runs in a fresh container netns.
One clean run of each operation under `strace` WITHOUT -f counts cnitool's own syscalls (the
plugins it runs are not traced: injection reaches cnitool alone) after it opened NETCONFPATH
(what comes before is the dynamic loader). Then for each point N the operation runs under
`strace -e inject=SYSCALL:error=E:when=N` (and signal=KILL). Checked:
  - exit 0, or 1 with a "cnitool: " message on stderr naming the injected errno (its text; "out
    of memory" for ENOMEM too) (no signal but the injected KILL, no hang, no sanitizer report); an add that exits 0 printed a result and left its cache file; a del,
    gc or status that exits 0 left nothing of the attachment (exit 0 means done);
  - no plugin process alive after cnitool is gone (an orphan would race the next DEL), unless
    already being killed (a scan of /proc: it misses an orphan that ended before it, never flags
    one that is not);
  - afterwards a clean `cnitool del` and `cnitool gc` exit 0 (without strace: LeakSanitizer
    checks them on the ASan build) and leave nothing beyond the baseline: links, addresses,
    routes, rules, nftables, host-local reservations, tuning's files, cache files.

FAULT_FULL=1: every point and errno. Else (make check) each operation with FAULT_RT_SAMPLE
injected points and a third as many SIGKILLs (at least one) (default 3; halved on an ASan build),
chosen with a fixed seed (FAULT_SEED), plus the REGRESSIONS points.
FAULT_ONLY=OP:SYSCALL:error=E:when=N (or signal=KILL) runs one point (the failure lines say which);
FAULT_RT_OPS (add,check,...) and FAULT_RT_SYSCALLS (mmap,...) narrow a sweep.
"""
import errno
import json
import os
import random
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lane  # noqa: E402

TOP = os.environ.get("TOP", os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
W = lane.WORK
NET = "rtfault"
NETD = f"{W}/net.d"
DIRS = [f"{W}/ipam", f"{W}/tun", f"{W}/cache"]
CAP = json.dumps({"portMappings": [{"hostPort": 18090, "containerPort": 80, "protocol": "tcp"}]})
# syscall -> errnos (first: the sample's). Left out: close (Linux releases the descriptor even
# when close fails, strace's injection does not: the pipe's end would stay open, no real case) and
# brk (the kernel's brk never fails, it returns the old break: glibc takes an injected -ENOMEM for
# a break above the one asked for and touches unmapped memory, SIGSEGV in malloc itself).
ERRNOS = {
    "openat": ["EIO", "EMFILE", "ENOMEM"], "read": ["EIO", "EINTR"], "write": ["EIO", "ENOSPC"],
    "rename": ["EIO", "ENOSPC"], "fsync": ["EIO"], "mkdir": ["EIO", "ENOSPC"], "unlink": ["EIO"],
    "fchmod": ["EIO"], "getdents64": ["EIO"], "pipe2": ["EMFILE", "ENFILE"],
    "clone": ["EAGAIN", "ENOMEM"], "clone3": ["EAGAIN"], "wait4": ["EINTR"], "poll": ["EINTR", "ENOMEM"],
    "mmap": ["ENOMEM"],
}
OPS = ("add", "check", "del", "gc", "status")
# Points that found a bug, always run (the sample may miss them): op, syscall, errno or KILL, N,
# N counted from the opening of NETCONFPATH (the calls of the dynamic loader and, on the ASan
# build, of its runtime come before: their number differs between builds; the label shows the
# absolute number strace's when= takes).
REGRESSIONS = [
    # killed while a plugin ran: the plugin went on as an orphan, racing the next DEL (seen only
    # when the plugin is still running at the scan: 13 of the 25 poll and write KILL points of
    # the first full sweep; test_runtime's hanging plugin is the deterministic proof)
    ("add", "poll", "KILL", 4),
    # killed between the cache's temporary file and its rename: the file stayed for ever
    ("add", "fsync", "KILL", 1),
    # the result not written to stdout: exit 0, nothing printed
    ("add", "write", "EIO", 6),
    # the cache file not removed: exit 0 (libcni's `_ = cacheDel`), the file left
    ("del", "unlink", "EIO", 1),
    # a read of a file interrupted (EINTR): stdio's sticky error flag, seen at the next read's end,
    # named as EIO: the network "not found", the cache unreadable (found by the errno check)
    ("add", "read", "EINTR", 2), ("del", "read", "EINTR", 5),
    # the cache directory not listed, an attachment's file not read: GC exit 0, nothing done
    ("gc", "getdents64", "EIO", 3), ("gc", "openat", "EIO", 6),
]
LINE = re.compile(r"^([a-z_0-9]+)\((.*)$")


def conflist():
    ex = f"{TOP}/conf/examples"
    pm = json.load(open(f"{ex}/portmap.conflist"))
    fw = json.load(open(f"{ex}/firewall.conflist"))["plugins"][1]
    tu = json.load(open(f"{ex}/tuning.conflist"))["plugins"][1]
    pm.update(cniVersion="1.1.0", name=NET)
    pm["plugins"][0]["ipam"]["dataDir"] = f"{W}/ipam"
    tu["dataDir"] = f"{W}/tun"
    pm["plugins"] += [fw, tu]
    os.makedirs(NETD, exist_ok=True)
    with open(f"{NETD}/10-rt.conflist", "w") as f:
        json.dump(pm, f, indent=1)


def tool(op, netns=None, prefix=(), timeout=lane.TIMEOUT):
    env = dict(os.environ, NETCONFPATH=NETD, CNI_PATH=lane.BIN, CNITOOL_CACHE_DIR=f"{W}/cache",
               CAP_ARGS=CAP, CNITOOL_TIMEOUT="10",
               ASAN_OPTIONS=("detect_leaks=0:" if prefix else "") + "allocator_may_return_null=1",
               UBSAN_OPTIONS="print_stacktrace=1")
    for k in ("CNI_IFNAME", "CNI_ARGS"):
        env.pop(k, None)
    argv = ["ip", "netns", "exec", lane.HOSTNS, *prefix, os.path.join(lane.BIN, "cnitool"), op, NET]
    if netns:
        argv.append(f"/run/netns/{netns}")
    try:
        p = subprocess.run(argv, capture_output=True, env=env, timeout=timeout, cwd=W)
    except subprocess.TimeoutExpired as t:
        return lane.Run(None, t.stdout or b"", t.stderr or b"", hung=True)
    return lane.Run(p.returncode, p.stdout, p.stderr)


def cache_file(netns):
    """libcni's path of the attachment's cache file (cnitool's container id: SHA-512 of the path)."""
    import hashlib
    cid = "cnitool-" + hashlib.sha512(f"/run/netns/{netns}".encode()).hexdigest()[:20]
    return f"{W}/cache/results/{NET}-{cid}-eth0"


def plugin_procs():
    """Live processes of this build's plugins not already being killed: [(pid, name)]."""
    binreal = os.path.realpath(lane.BIN) + "/"
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            exe = os.readlink(f"/proc/{d}/exe")
            if not exe.startswith(binreal) or exe.endswith("/cnitool"):
                continue
            status = open(f"/proc/{d}/status").read()
        except OSError:
            continue
        st = re.search(r"^State:\s+(\w)", status, re.M)
        pend = 0
        for k in ("SigPnd", "ShdPnd"):
            m = re.search(rf"^{k}:\s+([0-9a-f]+)", status, re.M)
            pend |= int(m.group(1), 16) if m else 0
        if (st and st.group(1) in "ZX") or pend & (1 << 8):
            continue
        out.append((int(d), os.path.basename(exe)))
    return out


def kill_procs(procs):
    for pid, _ in procs:
        try:
            os.kill(pid, 9)
        except OSError:
            pass
    time.sleep(0.2)


class Case:
    """A fresh container netns, and the baseline every case ends at."""
    baseline = None

    def __init__(self):
        self.netns = lane.new_netns()

    def close(self):
        lane.del_netns(self.netns)

    def left(self):
        return lane.diff(Case.baseline, lane.snapshot(self.netns, DIRS))


def take_baseline():
    """The state after one clean add, check, del, gc, status (a bridge, empty chains stay by
    design), seen from a fresh container; the clean runs, untraced, are checked too."""
    c = Case()
    good = True
    for op in ("add", "check", "del", "gc", "status"):
        r = tool(op, c.netns if op in ("add", "check", "del") else None)
        p = lane.answer_problem(r, "x", allow_silent=True) or (f"exit {r.rc}" if r.rc else None)
        if p:
            lane.fail(f"runtime: clean cnitool {op}", f"{p}; stderr {r.err[-300:]!r}")
            good = False
    c.close()
    c = Case()
    Case.baseline = lane.snapshot(c.netns, DIRS)
    c.close()
    if good:
        lane.ok("runtime: a clean cnitool add, check, del, gc, status (LeakSanitizer on the ASan build)")
    return good


def count(op):
    """Per syscall: the points (1-based) after cnitool opened NETCONFPATH."""
    trace = os.path.join(W, "trace")
    c = Case()
    try:
        if op in ("check", "del", "gc"):
            tool("add", c.netns)
        r = tool(op, c.netns if op in ("add", "check", "del") else None,
                 prefix=("strace", "-qq", "-o", trace))
        if r.rc != 0:
            lane.fail(f"runtime {op}: the clean run under strace", f"exit {r.rc}: {r.err[-300:]!r}")
        tool("del", c.netns)
        tool("gc")
    finally:
        c.close()
    per = {}
    started = False
    points = {}
    base = {}  # per syscall: its calls before NETCONFPATH was opened
    for line in open(trace, errors="replace"):
        m = LINE.match(line)
        if not m:
            continue
        sc, args = m.groups()
        per[sc] = n = per.get(sc, 0) + 1
        if not started:
            started = NETD in args
            if not started:
                continue
            base = {k: v for k, v in per.items()}
            base[sc] -= 1
        if sc in ERRNOS:
            points.setdefault(sc, set()).add(n)
    os.unlink(trace)
    return points, base


def result_ok(out):
    try:
        j = json.loads(out)
    except ValueError:
        return False
    return isinstance(j, dict) and "ips" in j and "code" not in j


def check_answer(op, r, e, c):
    """What is wrong with an injected run's answer (None: nothing)."""
    if r.hung:
        return f"hung (no exit within {lane.TIMEOUT}s)"
    m = lane.SAN.search(r.err)
    if m:
        return "sanitizer report: " + r.err[m.start():m.start() + 300].decode(errors="replace")
    if e == "KILL":
        return None
    if r.rc < 0 or r.rc > 128:
        return f"killed by signal {-r.rc if r.rc < 0 else r.rc - 128}; stderr {r.err[-200:]!r}"
    if r.rc not in (0, 1):
        return f"exit status {r.rc}; stderr {r.err[-200:]!r}"
    if r.rc == 1:
        if not re.search(rb"^cnitool: \S", r.err, re.M):
            return f"exit 1 without a 'cnitool: ' message: stderr {r.err[-300:]!r}"
        # the message names what failed: the injected errno's text (a refused allocation:
        # "out of memory")
        want = [os.strerror(getattr(errno, e)).encode()] + ([b"out of memory"] if e == "ENOMEM" else [])
        if not any(w in r.err for w in want):
            return f"exit 1, the message does not name the {e}: stderr {r.err[-300:]!r}"
        return None
    # exit 0: the operation was done
    if op == "add":
        if not result_ok(r.out):
            return f"add exit 0 without a result on stdout: {r.out[:200]!r}"
        if not os.path.exists(cache_file(c.netns)):
            return "add exit 0 without its cache file (a later del has no prevResult)"
    elif op in ("del", "gc"):
        left = c.left()
        if left:
            return f"{op} exit 0 but not done: {left}"
    return None


def cases_for(op, points, base, full, sample, rng):
    cases = []
    only_sc = [x for x in os.environ.get("FAULT_RT_SYSCALLS", "").split(",") if x]
    for sc in sorted(points):
        if only_sc and sc not in only_sc:
            continue
        for n in sorted(points[sc]):
            for e in (ERRNOS[sc] if full else ERRNOS[sc][:1]):
                cases.append((sc, n, e))
            cases.append((sc, n, "KILL"))
    only = os.environ.get("FAULT_ONLY", "")
    if only:
        o, sc, e, n = re.match(r"(\w+):(\w+):(?:error|signal)=(\w+):when=(\d+)$", only).groups()
        return [(sc, int(n), e)] if o == op else []
    if not full:
        inj = [c for c in cases if c[2] != "KILL"]
        kills = [c for c in cases if c[2] == "KILL"]
        cases = rng.sample(inj, min(len(inj), sample)) + \
            rng.sample(kills, min(len(kills), max(1, sample // 3)))
        cases += [(sc, base.get(sc, 0) + n, e) for o, sc, e, n in REGRESSIONS if o == op]
        cases = list(dict.fromkeys(cases))
    return cases


def sweep(op, points, base, full, sample, rng):
    cases = cases_for(op, points, base, full, sample, rng)
    bad = 0
    for sc, n, e in cases:
        spec = f"{sc}:signal=KILL:when={n}" if e == "KILL" else f"{sc}:error={e}:when={n}"
        label = f"runtime {op}, {sc} #{n} " + ("SIGKILL" if e == "KILL" else e)
        c = Case()
        problem, left, r = None, "", None
        try:
            if op in ("check", "del", "gc"):
                r = tool("add", c.netns)
                if r.rc != 0:
                    lane.fail(f"{label}: the clean add before", r.err[-300:])
                    continue
            prefix = ("strace", "-qq", "-o", "/dev/null", "-e", f"trace={sc}", "-e", f"inject={spec}")
            r = tool(op, c.netns if op in ("add", "check", "del") else None, prefix=prefix)
            procs = plugin_procs()
            if procs:
                problem = f"plugin processes alive after cnitool exited: {procs}"
                kill_procs(procs)
            problem = problem or check_answer(op, r, e, c)
            # the runtime's clean-up: DEL, then GC; both must succeed and leave nothing
            d = tool("del", c.netns)
            if not problem and (d.rc != 0 or lane.SAN.search(d.err)):
                problem = f"the clean del afterwards failed (exit {d.rc}): {d.err[-300:]!r}"
            g = tool("gc")
            if not problem and (g.rc != 0 or lane.SAN.search(g.err)):
                problem = f"the clean gc afterwards failed (exit {g.rc}): {g.err[-300:]!r}"
            left = c.left()
            if not problem and left:
                problem = "after del and gc " + left
        finally:
            c.close()
        if problem:
            bad += 1
            if bad <= 8 or lane.VERBOSE:
                lane.fail(label, f"{problem} [reproduce: FAULT_ONLY={op}:{spec}; stderr of the "
                          f"injected run: {r.err[-200:] if r else b''!r}]")
            if left:
                reset()
        elif lane.VERBOSE:
            lane.ok(label)
    if bad == 0 and cases:
        lane.ok(f"runtime {op}: {len(cases)} injected points (of {sum(len(v) for v in points.values())} "
                f"syscall points of cnitool), each answered and cleaned up")
    elif bad > 8:
        lane.fail(f"runtime {op}: {bad} of {len(cases)} points failed", "first ones above")
    return len(cases)


def reset():
    """After a failure that left something: remove it (every attachment the cache knows, then
    the directories), and take the baseline again."""
    tool("gc")
    for d in DIRS:
        subprocess.run(["rm", "-rf", d])
    lane.sh(["ip", "netns", "exec", lane.HOSTNS, "nft", "flush", "ruleset"])
    lane.sh(["ip", "-n", lane.HOSTNS, "link", "del", "cni-pm0"])
    take_baseline()


def main():
    full = os.environ.get("FAULT_FULL") == "1"
    sample = lane.default_sample("FAULT_RT_SAMPLE", 3)
    rng = random.Random(int(os.environ.get("FAULT_SEED", "14")))
    ops = [o for o in os.environ.get("FAULT_RT_OPS", ",".join(OPS)).split(",") if o]
    conflist()
    total = 0
    try:
        if take_baseline():
            for op in ops:
                points, base = count(op)
                total += sweep(op, points, base, full, sample, rng)
    finally:
        lane.cleanup()
    print(f"# {total} injected runs", flush=True)
    sys.exit(lane.FAILED)


if __name__ == "__main__":
    main()
