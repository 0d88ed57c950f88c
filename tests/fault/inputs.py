#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Input matrix: every key of every plugin's configuration (keys.py reads them from the
plugins' `struct cni_field` tables) set to null, each wrong type, boundary and out-of-range
numbers, a 1 MiB string, control characters, an escaped NUL, a lone surrogate and a raw
invalid UTF-8 byte, on a working configuration of that plugin (lane.py's scenarios).

Each case: ADD; the answer must be exit 0 or 1, valid CNI JSON, no sanitizer report; on exit 0
a DEL (with the same configuration and the result as prevResult) must succeed; afterwards
nothing may be left beyond the scenario's baseline (on exit 1 checked right after the ADD).

INPUT_FULL=1: every key with every value; else INPUT_SAMPLE cases per plugin (default 5, 2 on ASan) with a
fixed seed (INPUT_SEED). INPUT_PLUGINS limits the plugins (comma list), INPUT_KEYS the keys (a
regular expression on the path).
"""
import glob
import json
import os
import random
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import keys  # noqa: E402
import lane  # noqa: E402

MIB = "a" * (1 << 20)
# (label, JSON text of the value)
COMMON = [("null", "null"), ("string", '"x"'), ("number", "7"), ("true", "true"),
          ("array", "[]"), ("object", "{}")]
NUMBERS = [("0", "0"), ("-1", "-1"), ("2^31", "2147483648"), ("2^32-1", "4294967295"),
           ("2^63", "9223372036854775808"), ("1e300", "1e300"), ("-1e300", "-1e300"),
           ("1.5", "1.5")]
STRINGS = [("1MiB", json.dumps(MIB)), ("controls", '"a\\u0001b\\u007fc\\n"'),
           ("NUL", '"a\\u0000b"'), ("surrogate", '"a\\ud800b"'), ("rawFF", b'"a\xffb"'),
           ("empty", '""')]
ARRAYS = [("[null]", "[null]"), ("[1]", "[1]"), ("[{}]", "[{}]"), ("[[]]", "[[]]"),
          ("[1MiB]", "[" + json.dumps(MIB) + "]")]


# Cases that found a bug, always run: plugin, key, value label.
REGRESSIONS = [
    ("flannel", "dataDir", "empty"),  # mkdir_p() read past the end of "" (ASan)
]


def values(typ):
    v = list(COMMON) + list(NUMBERS) + list(STRINGS)
    if typ in ("ARRAY", "STRV", "JSON", "OBJ", "STRMAP"):
        v += ARRAYS
    return v


def extra_scenarios():
    d = lane.WORK
    fl = f"{d}/subnet.env"
    with open(fl, "w") as f:
        f.write("FLANNEL_NETWORK=198.18.64.0/18\nFLANNEL_SUBNET=198.18.65.1/24\n"
                "FLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n")
    S = lane.Scenario
    return [
        S("dhcp", "dhcp", {"ipam": {"type": "dhcp", "daemonSocketPath": f"{d}/no-dhcp.sock"}}),
        S("flannel", "flannel", {"subnetFile": fl, "dataDir": f"{d}/flannel",
                                 "delegate": {"bridge": "fcni0"}}, dirs=[f"{d}/flannel"]),
        S("ipvlan", "ipvlan", {"master": "fmst", "ipam": lane.hl("198.18.6.0/24", f"{d}/ipv")},
          dirs=[f"{d}/ipv"]),
        S("vlan", "vlan", {"master": "fmst", "vlanId": 5,
                           "ipam": lane.hl("198.18.7.0/24", f"{d}/vl")}, dirs=[f"{d}/vl"]),
        S("vrf", "vrf", {"vrfname": "fvrf"}, chained=True),
    ]


def set_path(conf, path, marker):
    """CONF with the key at PATH ("a.b[][].c") set to MARKER, creating what is missing."""
    parts = path.split(".")
    node = conf
    for i, part in enumerate(parts):
        key = part.split("[")[0]
        depth = part.count("[]")
        last = i == len(parts) - 1
        if depth == 0:
            if last:
                node[key] = marker
                return
            if not isinstance(node.get(key), dict):
                node[key] = {}
            node = node[key]
            continue
        if not isinstance(node.get(key), list):
            node[key] = []
        arr = node[key]
        for lvl in range(depth):
            deepest = lvl == depth - 1
            if deepest and last:
                if arr:
                    arr[0] = marker
                else:
                    arr.append(marker)
                return
            want = dict if deepest else list
            if not arr or not isinstance(arr[0], want):
                arr[:1] = [want()]
            arr = arr[0]
        node = arr


def render(base, path, text):
    c = json.loads(json.dumps(base))
    set_path(c, path, "@@VALUE@@")
    raw = json.dumps(c).encode()
    t = text if isinstance(text, bytes) else text.encode()
    return raw.replace(b'"@@VALUE@@"', t)


def main():
    full = os.environ.get("INPUT_FULL") == "1"
    sample = lane.default_sample("INPUT_SAMPLE", 5)
    rng = random.Random(int(os.environ.get("INPUT_SEED", "14")))
    only = [p for p in os.environ.get("INPUT_PLUGINS", "").split(",") if p]
    table, _ = keys.collect()
    lane.prepare_host()
    # Every plugin with a field table must have been read: a parser that no longer understands
    # the tables would otherwise try nothing and pass.
    srcs = glob.glob(os.path.join(keys.TOP, "plugins/*/*/*.c"))
    want = {os.path.basename(os.path.dirname(f)) for f in srcs
            if "struct cni_field" in open(f, encoding="utf-8").read()}
    for plugin in sorted(want - set(table)):
        lane.fail(f"inputs {plugin}", "tests/fault/keys.py read no key of this plugin's field "
                  "table: fix its parser")
    scns = {s.plugin: s for s in lane.scenarios() + extra_scenarios()}
    total = 0
    try:
        for plugin in sorted(table):
            if only and plugin not in only:
                continue
            scn = scns.get(plugin)
            if not scn:
                lane.fail(f"inputs {plugin}", "no working configuration for this plugin in "
                          "tests/fault/lane.py or inputs.py: add one")
                continue
            keyre = re.compile(os.environ.get("INPUT_KEYS", ""))
            cases = [(path, typ, label, text) for path, typ in table[plugin]
                     if keyre.search(path) for label, text in values(typ)]
            if not full:
                cases = rng.sample(cases, min(sample, len(cases))) + [
                    c for c in cases if (plugin, c[0], c[2]) in REGRESSIONS]
                cases = list(dict.fromkeys(cases))
            total += matrix(scn, cases, len(table[plugin]))
    finally:
        lane.cleanup()
    print(f"# {total} inputs tried", flush=True)
    sys.exit(lane.FAILED)


def kept_by_design(scn, cid, base, path, text):
    """What a valid value's ADD and DEL left is shared state the plugin keeps by design (a new
    bridge, macspoofchk's table), not a leak, when a second attachment with the same value
    leaves nothing more: a leak grows with every attachment."""
    kept = lane.snapshot(scn.netns, scn.dirs)
    cid2 = cid + "b"
    data = render(scn.conf_for("ADD"), path, text)
    r = lane.run(scn.plugin, "ADD", scn.netns, scn.ifname, cid2, data, scn.args)
    if r.rc != 0:
        return False
    d = lane.run(scn.plugin, "DEL", scn.netns, scn.ifname, cid2,
                 render(dict(base, prevResult=json.loads(r.out)), path, text), scn.args)
    return d.rc == 0 and not lane.diff(kept, lane.snapshot(scn.netns, scn.dirs), scn.moves)


def matrix(scn, cases, nkeys):
    scn.setup()
    r = scn.take_baseline()
    if r.rc != 0:
        # still a test of the parser and of the error paths, but say so
        print(f"# {scn.plugin}: the working configuration fails here ({r.out[:160]!r}): "
              "only refusals are tried", flush=True)
    bad = nknown = 0
    for i, (path, typ, label, text) in enumerate(cases):
        cid = f"m{i}"
        scn.prepare_case()
        name = f"inputs {scn.plugin}: {path} ({typ}) = {label}"
        base = scn.conf_for("ADD")
        data = render(base, path, text)
        r = lane.run(scn.plugin, "ADD", scn.netns, scn.ifname, cid, data, scn.args)
        problem = lane.answer_problem(r, "ADD")
        if not problem and r.rc == 0:
            res = json.loads(r.out)
            d = lane.run(scn.plugin, "DEL", scn.netns, scn.ifname, cid,
                         render(dict(base, prevResult=res), path, text), scn.args)
            problem = lane.answer_problem(d, "DEL")
            if not problem and d.rc != 0:
                problem = f"ADD succeeded, DEL failed (exit {d.rc}): {d.out[:300]!r}"
        left = scn.left()
        if not problem and left and r.rc == 0 and kept_by_design(scn, cid, base, path, text):
            left = None  # e.g. the bridge a "bridge" value named: DEL keeps it, as the reference
            scn.reset()
        if not problem and left:
            problem = (f"after ADD exit {r.rc}" + (" and DEL" if r.rc == 0 else "") + ": " + left)
        if problem:
            item = lane.known(scn.plugin, "ADD", f"input:{path}={label}")
            if item:
                nknown += 1
                lane.skip(name, f"{problem[:200]} ({item})")
            else:
                bad += 1
                lane.fail(name, problem)
            if left:
                # the runtime's DEL with the working configuration, then a fresh container
                lane.run(scn.plugin, "DEL", scn.netns, scn.ifname, cid, scn.conf_for("DEL"), scn.args)
                scn.reset()
        elif lane.VERBOSE:
            lane.ok(name)
    if not bad and len(cases) > nknown:
        lane.ok(f"inputs {scn.plugin}: {len(cases) - nknown} malformed values over {nkeys} keys, "
                "each refused or taken cleanly" + (f", {nknown} known skipped" if nknown else ""))
    scn.teardown()
    return len(cases)


if __name__ == "__main__":
    main()
