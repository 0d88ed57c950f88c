#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Shared part of the fault lane (inject.py, inputs.py): the scenarios (one working configuration
per plugin, set up in a private host namespace), running a plugin as a runtime does, the checks
of its answer, and the "nothing left" snapshot of the host and container namespaces.

Run by the bash wrappers in this directory (tests/fault/*.sh), which make the host namespace
with tests/netns/lib.sh and pass it in the environment: HOSTNS, WORK (a scratch directory),
BIN, TAG. Output lines: "ok - …", "not ok - …: why", "skip - …: why".
"""
import collections
import json
import os
import random
import re
import subprocess
import time
import sys

HOSTNS = os.environ["HOSTNS"]
WORK = os.environ["WORK"]
BIN = os.environ["BIN"]
TAG = os.environ.get("TAG", "f")
VERBOSE = os.environ.get("FAULT_VERBOSE") == "1"
TIMEOUT = int(os.environ.get("FAULT_TIMEOUT", "20"))

FAILED = 0
# An ASan build starts ~5x slower: make check's samples are halved on it.
ASAN = b"__asan_init" in subprocess.run(["nm", os.path.join(BIN, "bridge")], capture_output=True).stdout


def default_sample(var, plain):
    return int(os.environ.get(var, str(max(1, plain // 2) if ASAN else plain)))


def ok(name):
    print(f"ok - {name}", flush=True)


def fail(name, why):
    global FAILED
    FAILED = 1
    why = " ".join(str(why).split())
    print(f"not ok - {name}: {why[:600]}", flush=True)


def skip(name, why):
    why = " ".join(str(why).split())
    print(f"skip - {name}: {why}", flush=True)


def sh(cmd, check=False, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, check=check, **kw)


# ---- container namespaces -------------------------------------------------------------------

_NS = []


def new_netns():
    for _ in range(10):
        name = f"cnic-f-{TAG}-{random.randrange(1 << 30)}"
        if sh(["ip", "netns", "add", name]).returncode == 0:
            sh(["ip", "-n", name, "link", "set", "lo", "up"])
            _NS.append(name)
            return name
    raise SystemExit("cannot create a network namespace")


def del_netns(name):
    sh(["ip", "netns", "del", name])
    if name in _NS:
        _NS.remove(name)


def cleanup():
    for p in _DAEMONS.values():
        p.terminate()
        p.wait()
    for n in list(_NS):
        del_netns(n)


# ---- running a plugin ------------------------------------------------------------------------

class Run:
    def __init__(self, rc, out, err, hung=False):
        self.rc, self.out, self.err, self.hung = rc, out, err, hung


def run(plugin, cmd, netns, ifname, cid, conf, args="", prefix=(), timeout=TIMEOUT, env=None):
    """PLUGIN as the runtime runs it, inside the private host namespace; PREFIX (strace ...)
    goes between `ip netns exec` and the plugin. CONF is a dict or bytes."""
    data = conf if isinstance(conf, bytes) else json.dumps(conf).encode()
    e = dict(os.environ)
    e.update(CNI_COMMAND=cmd, CNI_NETNS=f"/run/netns/{netns}" if netns else "", CNI_IFNAME=ifname,
             CNI_CONTAINERID=cid, CNI_PATH=BIN, CNI_ARGS=args,
             # LeakSanitizer cannot work under ptrace (NOTES.md); without strace it checks leaks
             ASAN_OPTIONS=("detect_leaks=0:" if "strace" in prefix else "") + "allocator_may_return_null=1",
             UBSAN_OPTIONS="print_stacktrace=1")
    if env:
        e.update(env)
    argv = ["ip", "netns", "exec", HOSTNS, *prefix, os.path.join(BIN, plugin)]
    try:
        # in the scratch directory: a relative dataDir ("x") is created where the plugin runs
        p = subprocess.run(argv, input=data, capture_output=True, env=e, timeout=timeout, cwd=WORK)
    except subprocess.TimeoutExpired as t:
        return Run(None, t.stdout or b"", t.stderr or b"", hung=True)
    return Run(p.returncode, p.stdout, p.stderr)


SAN = re.compile(rb"ERROR: AddressSanitizer|runtime error:|ERROR: LeakSanitizer|SUMMARY: UndefinedBehavior")


def answer_problem(r, cmd, allow_silent=False):
    """What is wrong with a plugin's answer, or None: exit 0 or 1 only, an error object on 1,
    a result on a successful ADD, no sanitizer report."""
    if r.hung:
        return f"hung (no exit within {TIMEOUT}s)"
    if SAN.search(r.err):
        m = SAN.search(r.err)
        return "sanitizer report: " + r.err[m.start():m.start() + 300].decode(errors="replace")
    if r.rc < 0 or r.rc > 128:
        sig = -r.rc if r.rc < 0 else r.rc - 128
        return f"killed by signal {sig} (exit {r.rc}); stderr: {r.err[-200:].decode(errors='replace')}"
    if r.rc not in (0, 1):
        return f"exit status {r.rc}; stdout: {r.out[:200]!r} stderr: {r.err[-200:].decode(errors='replace')}"
    if r.rc == 0 and cmd == "ADD":
        try:
            j = json.loads(r.out)
        except ValueError:
            if allow_silent and not r.out:
                return None
            return f"exit 0 without a result: {r.out[:200]!r}"
        if not isinstance(j, dict) or "code" in j:
            return f"exit 0 with {r.out[:200]!r}"
    if r.rc == 1:
        if allow_silent and not r.out:
            return None
        try:
            j = json.loads(r.out)
        except ValueError:
            return f"exit 1 without an error object: stdout {r.out[:200]!r} stderr {r.err[-200:]!r}"
        if not isinstance(j, dict) or type(j.get("code")) is not int:
            return f"exit 1, error without an integer code: {r.out[:200]!r}"
        if not isinstance(j.get("msg"), str) or not j["msg"]:
            return f"exit 1, error without a msg: {r.out[:200]!r}"
    return None


# ---- the "nothing left" snapshot ----------------------------------------------------------------

SNAP = r"""
B='link show
addr show
rule show
route show table all'
B6='rule show
route show table all'
echo "$B" | ip -o -batch -; echo "$B6" | ip -6 -o -batch -
tc qdisc show; nft list ruleset
# legacy x_tables: only tables that exist (no -t: nothing instantiated)
{ iptables-legacy-save; ip6tables-legacy-save; } 2>/dev/null | grep '^-A'
echo "== container"
[ "$1" = none ] || { echo "$B" | ip -n "$1" -o -batch -; echo "$B6" | ip -n "$1" -6 -o -batch -; }
"""
LINK = re.compile(r"^\d+: ([^:@ ]+)(?:@[^:]+)?:.*link/(\w+)")
VETH = re.compile(r"\bveth[0-9a-f]{8}\b")  # the base's host veth: its name follows the container
ADDR = re.compile(r"^\d+: (\S+)\s+(inet6?) (\S+)")
DROP = re.compile(r"fe80:|ff00::/8|^multicast |^anycast |^local fe80")
VOLATILE = re.compile(r" linkdown| pref medium| expires \d+sec| proto kernel| metric 256")


def normalise(text):
    out = []
    where = ""
    for line in text.splitlines():
        if line == "== container":
            where = "container "
            continue
        n = norm_line(VETH.sub("vethX", line))
        if n:
            out.append(where + n)
    return out


def norm_line(line):
    if True:
        m = LINK.match(line)
        if m:
            return f"link {m.group(1)} {m.group(2)}"
        m = ADDR.match(line)
        if m:
            return None if m.group(3).startswith("fe80:") else f"addr {m.group(1)} {m.group(3)}"
        if line.startswith("qdisc "):
            # the base's host veth goes with the container: bandwidth DEL leaves its tbf there
            # (the reference's layout), the default qdisc is no finding either
            if " dev vethX" in line or line.startswith("qdisc noqueue "):
                return None
            return " ".join(line.split()[:5])
        if DROP.search(line):
            return None
        return VOLATILE.sub("", line).strip()


def files(dirs):
    """Files under DIRS that record an attachment (locks and a daemon's own files are not)."""
    out = []
    keep_out = re.compile(r"(^|/)(lock|last_reserved_ip\.\d+|\.cnic[^/]*|dnsname\.(pid|sock|log)|"
                          r"start\.lock|resolv\.conf|dnsname\.log\.\d+)$")
    for d in dirs:
        for root, _, names in os.walk(d):
            for n in names:
                p = os.path.join(root, n)
                if keep_out.search(p):
                    continue
                try:
                    size = os.path.getsize(p)
                except OSError:
                    continue
                content = ""
                if size < 4096:
                    try:
                        content = open(p, errors="replace").read().replace("\n", "\\n")
                    except OSError:
                        pass
                out.append(f"file {p} {content}")
    return sorted(out)


def snapshot(netns, dirs=()):
    p = sh(["ip", "netns", "exec", HOSTNS, "sh", "-c", SNAP, "snap", netns or "none"])
    return normalise(p.stdout) + files(dirs)


def diff(before, after, added_only=False):
    b, a = collections.Counter(before), collections.Counter(after)
    added = list((a - b).elements())
    gone = list((b - a).elements())
    parts = []
    if added:
        parts.append("left: " + " | ".join(added[:8]))
    if gone and not added_only:
        parts.append("lost: " + " | ".join(gone[:8]))
    return "; ".join(parts)


# ---- scenarios ------------------------------------------------------------------------------------

def hl(sub, data):
    return {"type": "host-local", "dataDir": data, "ranges": [[{"subnet": sub}]],
            "routes": [{"dst": "0.0.0.0/0"}]}


class Scenario:
    """One working configuration of one plugin. CHAINED scenarios run after a bridge ADD of
    their own container (the base attachment), with its result as prevResult."""

    def __init__(self, name, plugin, conf, ifname="eth0", args="", chained=False, dirs=(),
                 ops=("ADD", "DEL", "CHECK"), fresh=False, daemon=None, moves=False, legacy=False):
        self.name, self.plugin, self.ifname, self.args = name, plugin, ifname, args
        # fresh: each case on a new container and base (sbr moves the base's routes for good)
        self.fresh, self.daemon = fresh, daemon
        self.moves = moves  # takes the base's routes for good (sbr): "lost" is no finding
        self.legacy = legacy  # the host's iptables-legacy filter FORWARD drops (both families)
        self.chained, self.dirs, self.ops = chained, list(dirs), ops
        self.conf = {"cniVersion": "1.0.0", "name": f"f{name}", "type": plugin, **conf}
        self.netns = None
        self.prev = None
        self.baseline = None

    def setup(self):
        if self.daemon:
            self.daemon()
        for t in ("iptables-legacy", "ip6tables-legacy") if self.legacy else ():
            sh(["ip", "netns", "exec", HOSTNS, t, "-P", "FORWARD", "DROP"], check=True)
        self.netns = new_netns()
        if self.chained:
            r = run("bridge", "ADD", self.netns, "eth0", "base", BASE_CONF)
            if r.rc != 0:
                raise RuntimeError(f"base bridge ADD failed: {r.out!r}")
            self.prev = json.loads(r.out)

    def teardown(self):
        if self.chained and self.netns:
            run("bridge", "DEL", self.netns, "eth0", "base", dict(BASE_CONF, prevResult=self.prev))
        if self.netns:
            del_netns(self.netns)
        self.netns = None
        for t in ("iptables-legacy", "ip6tables-legacy") if self.legacy else ():
            sh(["ip", "netns", "exec", HOSTNS, t, "-P", "FORWARD", "ACCEPT"])

    def reset(self):
        """After a failed check: a fresh container (and base), the baseline taken again."""
        self.teardown()
        prepare_host()  # a host-device veth left in a deleted container is gone with it
        self.setup()
        self.take_baseline()

    def prepare_case(self):
        if self.fresh:
            self.teardown()
            self.setup()
            self.baseline = snapshot(self.netns, self.dirs)
        elif self.daemon:
            self.daemon()

    def conf_for(self, cmd, result=None, conf=None):
        c = dict(conf if conf is not None else self.conf)
        if cmd in ("CHECK", "DEL") and result is not None:
            c["prevResult"] = result
        elif self.chained:
            c["prevResult"] = self.prev
        return c

    def add(self, cid, conf=None, prefix=()):
        return run(self.plugin, "ADD", self.netns, self.ifname, cid, self.conf_for("ADD", conf=conf),
                   self.args, prefix)

    def op(self, cmd, cid, result=None, conf=None, prefix=()):
        return run(self.plugin, cmd, self.netns, self.ifname, cid,
                   self.conf_for(cmd, result, conf), self.args, prefix)

    def take_baseline(self):
        """The state after one warm ADD and DEL (a bridge, an empty table stay by design)."""
        self.prepare_case()
        r = self.add("warm")
        res = json.loads(r.out) if r.rc == 0 else None
        self.op("DEL", "warm", res)
        self.prepare_case()
        if not self.fresh:
            self.baseline = snapshot(self.netns, self.dirs)
        return r

    def left(self):
        """What the last operations left behind, compared with the baseline ('' when nothing)."""
        return diff(self.baseline, snapshot(self.netns, self.dirs), self.moves)


D = WORK
BASE_CONF = {"cniVersion": "1.0.0", "name": "fbase", "type": "bridge", "bridge": "fbr1",
             "isGateway": True, "ipam": hl("198.18.10.0/24", f"{D}/base")}


def scenarios():
    dn = f"{D}/dn"
    return [
        Scenario("bridge", "bridge", {"bridge": "fbr0", "isGateway": True, "ipMasq": True,
                                      "ipam": hl("198.18.1.0/24", f"{D}/br")}, dirs=[f"{D}/br"]),
        Scenario("ptp", "ptp", {"ipMasq": True, "ipam": hl("198.18.2.0/24", f"{D}/ptp")},
                 dirs=[f"{D}/ptp"]),
        Scenario("macvlan", "macvlan", {"master": "fmst", "ipam": hl("198.18.3.0/24", f"{D}/mv")},
                 dirs=[f"{D}/mv"]),
        Scenario("host-local", "host-local", {"ipam": hl("198.18.4.0/24", f"{D}/hl")},
                 dirs=[f"{D}/hl"]),
        Scenario("static", "static", {"ipam": {"type": "static",
                                               "addresses": [{"address": "198.18.5.5/24"}]}}),
        Scenario("loopback", "loopback", {}, ifname="lo"),
        Scenario("tap", "tap", {"mtu": 1400}),
        Scenario("host-device", "host-device", {"device": "fhd0"}),
        Scenario("portmap", "portmap", {"snat": True, "runtimeConfig": {"portMappings": [
            {"hostPort": 18080, "containerPort": 80, "protocol": "tcp"}]}}, chained=True),
        Scenario("firewall", "firewall", {}, chained=True),
        # the accepts written into iptables-legacy's filter table (libiptc, the xtables lock)
        Scenario("portmap-legacy", "portmap", {"runtimeConfig": {"portMappings": [
            {"hostPort": 18081, "containerPort": 80, "protocol": "tcp"}]}}, chained=True,
            legacy=True),
        Scenario("firewall-legacy", "firewall", {}, chained=True, legacy=True),
        Scenario("tuning", "tuning", {"mtu": 1400, "promisc": True, "dataDir": f"{D}/tun",
                                      "sysctl": {"net.ipv4.conf.eth0.arp_ignore": "1"}},
                 chained=True, dirs=[f"{D}/tun"]),
        Scenario("bandwidth", "bandwidth", {"ingressRate": 8000000, "ingressBurst": 80000,
                                            "egressRate": 8000000, "egressBurst": 80000},
                 chained=True),
        Scenario("sbr", "sbr", {}, chained=True, fresh=True, moves=True),
        Scenario("dnsname", "dnsname", {"domainName": "fault.test", "runDir": dn,
                                        "resolvConf": f"{dn}/resolv.conf"},
                 chained=True, dirs=[dn], args="IgnoreUnknown=1;K8S_POD_NAME=web",
                 daemon=lambda: dnsname_daemon(dn)),
    ]


_DAEMONS = {}


def dnsname_daemon(run_dir):
    """A dnsname daemon of our own for RUN_DIR, started when none runs: a plugin under
    `strace -f` would otherwise start one as its grandchild and strace would wait for it."""
    p = _DAEMONS.get(run_dir)
    if p and p.poll() is None:
        return
    p = subprocess.Popen(["ip", "netns", "exec", HOSTNS, os.path.join(BIN, "dnsname"), "daemon",
                          "--run-dir", run_dir, "--resolv-conf", f"{run_dir}/resolv.conf"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         env=dict(os.environ, ASAN_OPTIONS="detect_leaks=0"))
    _DAEMONS[run_dir] = p
    for _ in range(200):
        if os.path.exists(f"{run_dir}/dnsname.sock") or p.poll() is not None:
            break
        time.sleep(0.02)


def prepare_host():
    """Host-side fixtures every scenario may use: a macvlan master and a veth for host-device."""
    batch = ("link add fmst type veth peer name fmst-p\nlink set fmst up\nlink set fmst-p up\n"
             "link add fhd0 type veth peer name fhd0-p\n")
    sh(["ip", "-n", HOSTNS, "-force", "-batch", "-"], input=batch)
    os.makedirs(f"{D}/dn", exist_ok=True)
    open(f"{D}/dn/resolv.conf", "w").write("nameserver 127.0.0.1\n")


# ---- known failures: #14's numbered items, fixed in other worktrees --------------------------------
# (plugin or "*", op or "*", what: syscall[:errno], "KILL", or "input:<key>") -> item number.
# The coordinator removes an entry once the fix is merged; the case then has to pass.
KNOWN = []
# New bugs this lane found that are not #14's, open (see the fault lane's report): skipped with
# their description until fixed. (plugin, op, what, description)
# (plugin or scenario name.)
OPEN = []


def known(plugin, op, what, scenario=None):
    for p, o, w, item in KNOWN:
        if p in ("*", plugin) and o in ("*", op) and (w == what or what.startswith(w + ":")):
            return f"#14 item {item}, fixed elsewhere"
    for p, o, w, desc in OPEN:
        if p in ("*", plugin, scenario) and o in ("*", op) and (w == what or what.startswith(w + ":")):
            return f"open: {desc}"
    return None
