#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The man pages (man/*.scd) against the code they describe, so that they cannot drift:

- every plugin (plugins/*/*/) has man/cnic-<plugin>.8.scd, and every key of its field tables
  (tests/fault/keys.py, which reads the CNI_CONF tables) is named in it by its full path;
- every flag that `dhcp daemon` and `dnsname daemon` parse (plugins/*/*/daemon.c) is in
  cnic-dhcp.8 / cnic-dnsname.8, every cnitool command of its usage and every variable it reads
  in cnitool.1, every error code of pkg/cni/err.h in cnic.7;
- each EXAMPLE's JSON blocks parse, and a plugin page's first one is its conf/examples/ file;
- each page renders with scdoc, and groff -man -ww finds nothing to warn about (skip - when
  either tool is missing).
Prints TAP-ish lines; exits 1 on any failure.
"""
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

TOP = os.environ.get("TOP") or os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(TOP, "tests", "fault"))
import keys  # noqa: E402

failed = False


def ok(name):
    print(f"ok - {name}")


def fail(name, why):
    global failed
    failed = True
    print(f"not ok - {name}: {why}")


def page(name):
    p = os.path.join(TOP, "man", name + ".scd")
    return open(p, encoding="utf-8").read() if os.path.exists(p) else None


def section(text, title):
    """The text of '# TITLE' up to the next '# ' heading."""
    m = re.search(r"^# " + re.escape(title) + r"\s*$(.*?)(?=^# |\Z)", text, re.S | re.M)
    return m.group(1) if m else ""


def blocks(text):
    return re.findall(r"^```\n(.*?)^```$", text, re.S | re.M)


def named(text, fmt, item):
    """Named as fmt says; a key also counts when a longer path under it is (an object's
    members the parser cannot see: "*args.cni.mac*" names "args")."""
    f = fmt.format(item)
    return f in text or (fmt == "*{}*" and ("*" + item + "." in text or "*" + item + "[" in text))


def check_present(label, text, items, fmt="{}"):
    missing = [i for i in items if not named(text, fmt, i)]
    if not items:
        fail(label, "nothing found in the code to look for (parser changed?)")
    elif missing:
        fail(label, "missing " + ", ".join(fmt.format(i) for i in missing))
    else:
        ok(f"{label} ({len(items)})")


plugins = sorted(os.path.basename(d.rstrip("/")) for d in glob.glob(os.path.join(TOP, "plugins/*/*/")))
table, _ = keys.collect()
for p in plugins:
    text = page(f"cnic-{p}.8")
    if text is None:
        fail(f"cnic-{p}.8", "man/cnic-%s.8.scd does not exist" % p)
        continue
    ks = [k for k, _t in table.get(p, [])]
    if ks:
        check_present(f"cnic-{p}.8 names every key of {p}'s field table", text, ks, "*{}*")
    else:
        ok(f"cnic-{p}.8: {p} reads no configuration key")
    # The reverse: a key the page documents (a definition line of CONFIGURATION starts with
    # it) is one the plugin reads, so a key dropped from the table cannot stay documented.
    known = set(ks)
    for k in ks:  # and the objects above each path
        for i, ch in enumerate(k):
            if ch in ".[":
                known.add(k[:i])
    doc = set()
    for line in section(text, "CONFIGURATION").splitlines():
        if line.startswith("*"):
            doc.update(re.findall(r"\*([A-Za-z][\w.\[\]]*)\*", line))
    # an object whose members its table keeps elsewhere (pkg/plugin's "mac" pair): its paths
    opaque = [k for k, t in table.get(p, []) if t == "OBJ" and not any(x.startswith(k + ".") for x in ks)]
    extra = sorted(d for d in doc - known if not any(d.startswith(o + ".") for o in opaque))
    if extra:
        fail(f"cnic-{p}.8 documents only keys {p} reads", "not in its field table: " + ", ".join(extra))
    else:
        ok(f"cnic-{p}.8 documents only keys {p} reads ({len(doc)})")
    ex = section(text, "EXAMPLE")
    conf = sorted(glob.glob(os.path.join(TOP, "conf/examples", p + ".*")))
    bs = [b for b in blocks(ex) if b.lstrip().startswith("{")]
    if not bs:
        fail(f"cnic-{p}.8 EXAMPLE", "no JSON block")
        continue
    try:
        first = [json.loads(b) for b in bs][0]
    except ValueError as err:
        fail(f"cnic-{p}.8 EXAMPLE", f"invalid JSON: {err}")
        continue
    if conf and first != json.load(open(conf[0], encoding="utf-8")):
        fail(f"cnic-{p}.8 EXAMPLE", f"first block differs from {os.path.relpath(conf[0], TOP)}")
    else:
        ok(f"cnic-{p}.8 EXAMPLE: {len(bs)} JSON block(s) valid" + (", the first is conf/examples'" if conf else ""))

# The daemons' flags, as their parsers name them.
# The daemons' flags: those their parsers compare with, and those their usage text shows.
def usage_flags(src):
    return re.findall(r"\[--?([a-z][\w-]*)", "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', src)))


src = open(os.path.join(TOP, "plugins/ipam/dhcp/daemon.c"), encoding="utf-8").read()
flags = re.findall(r'_flag\s*\(\s*argc\s*,\s*argv\s*,\s*&\s*i\s*,\s*"([\w-]+)"', src)
flags = sorted(set(flags + usage_flags(src)))
check_present("cnic-dhcp.8 names every dhcp daemon flag", page("cnic-dhcp.8") or "", flags, "*-{}*")
src = open(os.path.join(TOP, "plugins/meta/dnsname/daemon.c"), encoding="utf-8").read()
flags = sorted(set(re.findall(r'"--([a-z][\w-]+)"', src) + usage_flags(src)))
check_present("cnic-dnsname.8 names every dnsname daemon flag", page("cnic-dnsname.8") or "", flags, "*--{}*")

# cnitool: the commands of its usage and every environment variable it reads.
src = open(os.path.join(TOP, "cmd/cnitool/cnitool.c"), encoding="utf-8").read()
u = re.search(r"static void usage\(.*?\n}\n", src, re.S)
cmds = sorted(set(re.findall(r'"\s+%s (\w+)', u.group(0) if u else "")))
text = page("cnitool.1") or ""
check_present("cnitool.1 names every cnitool command", text, cmds, "*{}*")
envs = sorted(set(re.findall(r'getenv\("(\w+)"\)', src)))
check_present("cnitool.1 names every variable cnitool reads", text, envs, "*{}*")

# cnic.7: the error codes the plugins return.
src = open(os.path.join(TOP, "pkg/cni/err.h"), encoding="utf-8").read()
codes = sorted(set(re.findall(r"CNI_ERR_\w+\s*=\s*(\d+)", src)), key=int)
check_present("cnic.7 lists every error code of pkg/cni/err.h", page("cnic.7") or "", codes, "*{}*")

# Rendering.
srcs = sorted(glob.glob(os.path.join(TOP, "man", "*.scd")))
scdoc = shutil.which("scdoc")
groff = shutil.which("groff")
if not scdoc:
    print("skip - man pages render: scdoc is not installed")
else:
    with tempfile.TemporaryDirectory(prefix="cnic-test-man.") as tmp:
        for s in srcs:
            name = os.path.basename(s)[:-4]
            out = os.path.join(tmp, name)
            with open(s, "rb") as i, open(out, "wb") as o:
                r = subprocess.run([scdoc], stdin=i, stdout=o, stderr=subprocess.PIPE)
            if r.returncode or r.stderr:
                fail(f"{name} renders with scdoc", r.stderr.decode(errors="replace").strip())
                continue
            head = open(s, encoding="utf-8").readline()
            if not head.startswith(name.rsplit(".", 1)[0] + "(" + name.rsplit(".", 1)[1] + ")"):
                fail(f"{name} renders with scdoc", f"its title line is {head.strip()!r}")
                continue
            whatis = section(open(s, encoding="utf-8").read(), "NAME").strip()
            if not whatis.startswith(name.rsplit(".", 1)[0] + " - "):
                fail(f"{name} renders with scdoc", f"its NAME line does not start with the page's name: {whatis[:60]!r}")
                continue
            if not groff:
                ok(f"{name} renders with scdoc")
                continue
            r = subprocess.run([groff, "-man", "-Tutf8", "-ww", "-z", out], capture_output=True, text=True)
            if r.returncode or r.stderr:
                fail(f"{name} renders with scdoc and groff -ww", r.stderr.strip()[:300])
            else:
                ok(f"{name} renders with scdoc and groff -ww")
    if not groff:
        print("skip - groff -ww over the pages: groff is not installed")
sys.exit(1 if failed else 0)
