#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Fault injection into the two daemons' request paths: the dnsname daemon (a sync from the
plugin over its control socket, then DNS queries from the container) and the dhcp daemon (a
plugin ADD/CHECK/DEL over its unix socket, DHCP with dnsmasq as the server).

A clean run under strace counts the daemon's syscalls between "ready" and the end of one
request sequence; then for each point N the daemon is started under
`strace -f -e inject=SYSCALL:error=E:when=N`, the request sequence runs (the plugin must still
answer exit 0/1 with CNI JSON), and the daemon must then still be alive, not spinning (CPU time
over a clean request sequence bounded), and serve that clean sequence correctly; at SIGTERM it
must exit within a bound.

FAULT_FULL=1: every point; else FAULT_SAMPLE_DAEMON points per daemon (default 3).
"""
import json
import os
import random
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lane  # noqa: E402

ERRNOS = {
    "sendmsg": ["ENOBUFS"], "sendto": ["ENOBUFS"], "recvmsg": ["ENOBUFS", "EINTR"],
    "recvfrom": ["ENOBUFS", "EINTR"], "accept4": ["EMFILE", "ENOMEM"], "accept": ["EMFILE"],
    "read": ["EIO", "EINTR"], "write": ["EIO"], "openat": ["EIO", "EMFILE"],
    "getdents64": ["EIO"], "epoll_wait": ["EINTR"], "epoll_ctl": ["ENOMEM"], "socket": ["EMFILE"],
    "bind": ["EADDRINUSE"], "setns": ["ENOMEM"], "ioctl": ["EIO"], "fstat": ["EIO"],
    "newfstatat": ["EIO"], "mmap": ["ENOMEM"], "clone": ["ENOMEM"],
    "clone3": ["ENOMEM"], "poll": ["EINTR"], "ppoll": ["EINTR"], "timerfd_settime": ["EINVAL"],
    "unlinkat": ["EIO"], "renameat": ["EIO"], "renameat2": ["EIO"], "flock": ["EINTR"],
}
# Not close: strace's inject skips the call, so the descriptor stays open (a listener stays bound
# and the next one for that netns meets EADDRINUSE), where Linux releases it whatever close
# returns; a daemon must not retry it either. The failure it injects cannot happen.
# Points that found a bug, always run: daemon, syscall, errno, N.
REGRESSIONS = [
    ("dnsname daemon", "socket", "EMFILE", 2),  # every listener's TCP socket fails: alive, answers
    ("dhcp daemon", "epoll_ctl", "ENOMEM", 4),  # an ADD's timer unwatched: the plugin waited for ever
]
LINE = re.compile(r"^(\d+)\s+([a-z_0-9]+)\(")
CPU_BOUND = float(os.environ.get("FAULT_DAEMON_CPU", "3"))  # seconds over one clean sequence


def cpu_seconds(pid):
    try:
        f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError):
        return None


def alive(pid):
    try:
        st = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0]
        return st != "Z"
    except OSError:
        return False


def poll(cond, seconds):
    end = time.monotonic() + seconds
    step = 0.005
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(step)
        step = min(step * 2, 0.1)
    return cond()


def counts(trace, upto=None):
    """(tid, syscall) -> calls, over the first UPTO bytes of TRACE."""
    c = {}
    with open(trace, "rb") as f:
        data = f.read() if upto is None else f.read(upto)
    for line in data.decode(errors="replace").splitlines():
        m = LINE.match(line)
        if m:
            c[(m.group(1), m.group(2))] = c.get((m.group(1), m.group(2)), 0) + 1
    return c


class Daemon:
    """One daemon kind: how to start it, when it is ready, one request sequence, its check."""
    name = ""
    pidfile = sock = log = ""

    def argv(self):
        raise NotImplementedError

    def pid(self):
        try:
            return int(open(self.pidfile).read().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def start(self, prefix):
        """The daemon under PREFIX (strace ...) in the host netns; True once it listens."""
        for f in (self.pidfile, self.sock):
            try:
                os.unlink(f)
            except OSError:
                pass
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", lane.HOSTNS, *prefix, *self.argv()],
            stdout=subprocess.DEVNULL, stderr=open(self.log, "ab"),
            env=dict(os.environ, ASAN_OPTIONS="detect_leaks=0:allocator_may_return_null=1"))
        return poll(lambda: os.path.exists(self.sock) and self.pid(), 10)

    def stop(self):
        pid = self.pid()
        if pid:
            try:
                os.kill(pid, signal.SIGTERM)
            except OSError:
                pass
        try:
            self.proc.wait(timeout=10)
            return True
        except subprocess.TimeoutExpired:
            self.proc.kill()
            if pid:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            self.proc.wait()
            return False


# ---- dnsname ------------------------------------------------------------------------------------

class Dnsname(Daemon):
    name = "dnsname daemon"

    def __init__(self):
        self.run_dir = f"{lane.WORK}/dnd"
        os.makedirs(self.run_dir, exist_ok=True)
        open(f"{self.run_dir}/resolv.conf", "w").write("nameserver 127.0.0.1\n")
        self.scn = lane.Scenario("dnsd", "dnsname", {"domainName": "fault.test",
                                                     "runDir": self.run_dir,
                                                     "resolvConf": f"{self.run_dir}/resolv.conf"},
                                 chained=True, args="IgnoreUnknown=1;K8S_POD_NAME=web")
        self.pidfile, self.sock = f"{self.run_dir}/dnsname.pid", f"{self.run_dir}/dnsname.sock"
        self.log = f"{self.run_dir}/daemon.log"
        self.scn.setup()
        self.addr = self.scn.prev["ips"][0]["address"].split("/")[0]

    def argv(self):
        return [f"{lane.BIN}/dnsname", "daemon", "--run-dir", self.run_dir,
                "--resolv-conf", f"{self.run_dir}/resolv.conf"]

    def query(self, name="web.fault.test"):
        p = lane.sh(["ip", "netns", "exec", self.scn.netns, "dig", "+short", "+time=1", "+tries=1",
                     "@127.0.0.11", name])
        return p.stdout.strip()

    def sequence(self, cid):
        """ADD (a sync), a query, DEL (a sync). Returns a problem of the plugin's answers."""
        r = self.scn.add(cid)
        prob = lane.answer_problem(r, "ADD")
        self.query()
        res = json.loads(r.out) if r.rc == 0 else None
        d = self.scn.op("DEL", cid, res)
        return prob or lane.answer_problem(d, "DEL")

    def serves(self, cid):
        """The clean sequence works: ADD, the name answers (3 tries: the first may meet what is
        left of the failure), DEL."""
        r = self.scn.add(cid)
        if r.rc != 0:
            return f"clean ADD failed afterwards: {r.out[:200]!r}"
        try:
            got = ""
            for _ in range(3):
                got = self.query()
                if got == self.addr:
                    break
            if got != self.addr:
                return f"query after the failure answered {got!r}, want {self.addr}"
        finally:
            d = self.scn.op("DEL", cid, json.loads(r.out))
        if d.rc != 0:
            return f"clean DEL failed afterwards: {d.out[:200]!r}"
        return None

    def close(self):
        self.scn.teardown()


# ---- dhcp ---------------------------------------------------------------------------------------

class Dhcp(Daemon):
    name = "dhcp daemon"

    def __init__(self):
        d = self.dir = f"{lane.WORK}/dhcpd"
        os.makedirs(d, exist_ok=True)
        self.sock, self.pidfile, self.log = f"{d}/dhcp.sock", f"{d}/daemon.pid", f"{d}/daemon.log"
        self.server_ns = lane.new_netns()
        h, s = lane.HOSTNS, self.server_ns
        batch = ("link add fdbr type bridge\nlink set fdbr up\n"
                 f"link add fdsv type veth peer name eth0 netns {s}\nlink set fdsv master fdbr up\n")
        lane.sh(["ip", "-n", h, "-force", "-batch", "-"], input=batch)
        lane.sh(["ip", "-n", s, "link", "set", "eth0", "up"])
        lane.sh(["ip", "-n", s, "addr", "add", "198.18.20.1/24", "dev", "eth0"])
        self.server = subprocess.Popen(
            ["ip", "netns", "exec", s, "dnsmasq", "--keep-in-foreground", "--port=0",
             "--interface=eth0", "--bind-interfaces", "-u", "root", "--dhcp-authoritative",
             "--no-ping", "--dhcp-range=198.18.20.10,198.18.20.200,255.255.255.0,2m",
             "--dhcp-option=3,198.18.20.1", f"--dhcp-leasefile={d}/leases",
             f"--pid-file={d}/dnsmasq.pid", "--log-dhcp", f"--log-facility={d}/dnsmasq.log"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        poll(lambda: os.path.exists(f"{d}/dnsmasq.log") and
             "DHCP, IP range" in open(f"{d}/dnsmasq.log").read(), 5)
        self.scn = lane.Scenario("dhcpd", "macvlan", {"master": "fdbr", "ipam": {
            "type": "dhcp", "daemonSocketPath": self.sock}})
        self.scn.netns = lane.new_netns()

    def argv(self):
        return [f"{lane.BIN}/dhcp", "daemon", "-socketpath", self.sock, "-statedir",
                f"{self.dir}/state", "-pidfile", self.pidfile]

    def sequence(self, cid):
        r = self.scn.add(cid)
        prob = lane.answer_problem(r, "ADD")
        res = json.loads(r.out) if r.rc == 0 else None
        if res:
            c = self.scn.op("CHECK", cid, res)
            prob = prob or lane.answer_problem(c, "CHECK")
        d = self.scn.op("DEL", cid, res)
        return prob or lane.answer_problem(d, "DEL")

    def serves(self, cid):
        r = self.scn.add(cid)
        if r.rc != 0:
            return f"clean ADD failed afterwards: {r.out[:200]!r}"
        d = self.scn.op("DEL", cid, json.loads(r.out))
        if d.rc != 0:
            return f"clean DEL failed afterwards: {d.out[:200]!r}"
        return None

    def close(self):
        self.server.terminate()
        self.server.wait()


# ---- the sweep ----------------------------------------------------------------------------------

def sweep(dm, full, sample, rng):
    trace = f"{lane.WORK}/dtrace"
    if not dm.start(("strace", "-f", "-qq", "-o", trace)):
        lane.fail(f"{dm.name}: starts under strace", "no socket within 10 s")
        dm.stop()
        return 0
    # what the daemon does when idle is not its request path: wait until the trace stops
    # growing, then count from there
    settle(trace)
    before = counts(trace)
    main_tid = str(dm.pid())
    prob = dm.sequence("cnt")
    if prob:
        lane.fail(f"{dm.name}: the clean request sequence", prob)
    after = counts(trace)
    dm.stop()
    # strace counts calls per thread: in a thread the request made (the dnsname daemon makes
    # each container's listener on a thread of its own), "when=K" fails the Kth call of every
    # such thread, i.e. every later attempt too. There the daemon cannot serve the request
    # again; it has to stay alive, answer, and not spin.
    every = {(sc, k) for (tid, sc), n in after.items()
             if tid != main_tid and (tid, sc) not in before for k in range(1, n + 1)}
    points = []
    for (tid, sc), n in after.items():
        if sc not in ERRNOS:
            continue
        for k in range(before.get((tid, sc), 0) + 1, n + 1):
            for e in (ERRNOS[sc] if full else ERRNOS[sc][:1]):
                points.append((sc, k, e))
    points = sorted(set(points))
    only = os.environ.get("FAULT_DAEMON_ONLY")
    if only:
        sc, e, n = re.match(r"(\w+):error=(\w+):when=(\d+)$", only).groups()
        points = [(sc, int(n), e)]
    elif not full:
        points = rng.sample(points, min(sample, len(points)))
        points += [(sc, n, e) for d, sc, e, n in REGRESSIONS if d == dm.name]
        points = list(dict.fromkeys(points))
    bad = nknown = 0
    for i, (sc, n, e) in enumerate(points):
        spec = f"{sc}:error={e}:when={n}"
        label = f"{dm.name}, {sc} #{n} {e}"
        log0 = os.path.getsize(dm.log) if os.path.exists(dm.log) else 0
        if not dm.start(("strace", "-f", "-qq", "-o", os.environ.get("FAULT_DAEMON_TRACE", "/dev/null"),
                         "-e", f"trace={sc}" if "FAULT_DAEMON_TRACE" not in os.environ else "trace=all",
                         "-e", f"inject={spec}")):
            # a failure injected into start-up itself: the daemon may refuse to start
            dm.stop()
            continue
        pid = dm.pid()
        prob = dm.sequence(f"i{i}")
        if not prob and not alive(pid):
            prob = "the daemon died"
            # ASan's own runtime dies when the injected mmap is one of its own mappings (as in
            # inject.py): a fact of the ASan build, whose point numbers drift as code changes
            with open(dm.log, errors="replace") as f:
                f.seek(log0)
                own = "AddressSanitizer failed to allocate" in f.read()
            if sc == "mmap" and lane.ASAN and own:
                prob = None
                dm.stop()
                continue
        if not prob:
            c0 = cpu_seconds(pid)
            prob = dm.serves(f"s{i}")
            if (sc, n) in every and prob and prob.startswith("clean ADD failed") and '"code"' in prob:
                prob = None  # answered with an error, as it must while every attempt fails
            c1 = cpu_seconds(pid)
            if not prob and (c1 is None or not alive(pid)):
                prob = "the daemon died"
            elif not prob and c1 - c0 > CPU_BOUND:
                prob = f"the daemon spins ({c1 - c0:.1f} s of CPU over one clean sequence)"
        if not dm.stop() and not prob:
            prob = "no exit within 10 s of SIGTERM"
        item = lane.known(dm.name, "*", f"{sc}:{e}") if prob else None
        if item:
            nknown += 1
            lane.skip(label, f"{prob} ({item})")
        elif prob:
            bad += 1
            lane.fail(label, f"{prob} [reproduce: FAULT_DAEMON_ONLY={spec}]")
        elif lane.VERBOSE:
            lane.ok(label)
    if not bad and len(points) > nknown:
        lane.ok(f"{dm.name}: {len(points) - nknown} injected points in its request path, "
                "still alive and serving after each")
    return len(points)


def settle(trace, seconds=3):
    """Until TRACE has not grown for 100 ms (start-up over), at most SECONDS."""
    last, end = -1, time.monotonic() + seconds
    while time.monotonic() < end:
        size = os.path.getsize(trace)
        if size == last:
            return
        last = size
        time.sleep(0.1)


def main():
    full = os.environ.get("FAULT_FULL") == "1"
    sample = int(os.environ.get("FAULT_SAMPLE_DAEMON", "3"))
    rng = random.Random(int(os.environ.get("FAULT_SEED", "14")))
    lane.prepare_host()
    total = 0
    try:
        for cls in (Dnsname, Dhcp):
            dm = cls()
            try:
                total += sweep(dm, full, sample, rng)
            finally:
                dm.close()
    finally:
        lane.cleanup()
    print(f"# {total} injected daemon runs", flush=True)
    sys.exit(lane.FAILED)


if __name__ == "__main__":
    main()
