#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The layering of ARCHITECTURE.md, checked on every #include of pkg/ and plugins/.

Each C file's includes are followed through the tree's own headers (a quoted include that resolves
next to the including file or under pkg/), so a header that leaks a forbidden one is caught where it
is used. Rules:
  pkg/wire     libc headers only, and its own headers
  pkg/daemon   libc headers (signal.h included) only, and its own headers
  pkg/cni      no netlink header (libnl, libmnl, libnftnl, linux netlink uapi), nothing of
               pkg/netutil
  pkg/netutil  no jansson
  pkg/plugin   no netlink header, no jansson (the glue: pkg/cni and pkg/netutil headers)
  plugins      no netlink header, no jansson
Prints one line per violation (file, header, the tree header it came through) and exits 1 when
there is one, or when an exception below no longer matches anything (remove it).
usage: tests/layers.py [ROOT]        (make layers; tests/unit/test_layers.sh runs it)
"""
import glob
import os
import re
import sys

LIBC = re.compile(
    r"(assert|ctype|endian|errno|fcntl|inttypes|limits|stdalign|stdarg|stdbool|stddef|stdint|stdio"
    r"|stdlib|string|strings|time|unistd|byteswap|arpa/inet|netinet/in|sys/[a-z_]+)\.h$")
NETLINK = re.compile(
    r"(netlink/|libmnl/|libnftnl/|linux/(netlink|rtnetlink|genetlink|if_link|if_addr|if_bridge"
    r"|neighbour|fib_rules|pkt_sched|pkt_cls|netconf|veth|if_tunnel|lwtunnel|nexthop)\.h$"
    r"|linux/netfilter|linux/nf_|linux/tc_act/|linux/tc_ematch/)")
JANSSON = re.compile(r"jansson\.h$")

# Violations that exist today, each named: plugins/main is being edited by other changes, so the
# next wave of #17 (the link-kind skeleton, whose ops tables take these values behind pkg/netutil)
# removes them. Each matches a direct include only; an entry that no longer matches fails the check.
EXCEPTIONS = {
    # IPVLAN_MODE_L2/L3/L3S, IPVLAN_F_PRIVATE/VEPA: to the ipvlan link-kind ops of pkg/netutil.
    ("plugins/main/ipvlan/ipvlan.c", "linux/if_link.h"),
    # MACVLAN_MODE_*: to the macvlan link-kind ops of pkg/netutil.
    ("plugins/main/macvlan/macvlan.c", "linux/if_link.h"),
    # IFA_F_NODAD of the addresses it sets: an address flag named by pkg/netutil.
    ("plugins/main/bridge/bridge.c", "linux/if_addr.h"),
    ("plugins/main/ptp/ptp.c", "linux/if_addr.h"),
    # RT_SCOPE_HOST/LINK of its routes: scopes named by pkg/netutil.
    ("plugins/main/ptp/ptp.c", "linux/rtnetlink.h"),
}

INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]', re.M)


def includes(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return INCLUDE.findall(f.read())
    except OSError:
        return []


def resolve(frm, name):
    """The tree file a quoted include names (next to the includer, then under pkg/), or None."""
    for d in (os.path.dirname(frm), "pkg"):
        p = os.path.normpath(os.path.join(d, name))
        if os.path.isfile(p):
            return p
    return None


def closure(path):
    """Every include of path and of the tree headers it reaches: (header, through), where header
    is a system header's name or a tree header's path in quotes, through the tree header it came
    through (None: path includes it directly)."""
    seen, out, stack = {path}, set(), [(path, None)]
    while stack:
        p, via = stack.pop()
        for kind, name in includes(p):
            if kind == "<":
                out.add((name, via))
                continue
            r = resolve(p, name)
            out.add(('"%s"' % (r or name), via))
            if r and r not in seen:
                seen.add(r)
                stack.append((r, via or r))
    return sorted(out, key=lambda x: (x[0], x[1] or ""))


def wire_forbids(h):
    if h.startswith('"'):
        return not h.startswith('"pkg/wire/')
    return not LIBC.match(h)


def daemon_forbids(h):
    if h.startswith('"'):
        return not h.startswith('"pkg/daemon/')
    return not (LIBC.match(h) or h == "signal.h")


RULES = (
    ("pkg/wire/", "pkg/wire includes libc and itself only", wire_forbids),
    ("pkg/daemon/", "pkg/daemon includes libc and itself only", daemon_forbids),
    ("pkg/cni/", "pkg/cni includes no netlink header nor pkg/netutil",
     lambda h: bool(NETLINK.match(h)) or h.startswith('"pkg/netutil/')),
    ("pkg/netutil/", "pkg/netutil includes no jansson", lambda h: bool(JANSSON.match(h))),
    ("pkg/plugin/", "pkg/plugin includes no netlink header nor jansson",
     lambda h: bool(NETLINK.match(h) or JANSSON.match(h))),
    ("plugins/", "plugins include no netlink header nor jansson",
     lambda h: bool(NETLINK.match(h) or JANSSON.match(h))),
)


def main():
    os.chdir(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), ".."))
    files = sorted(glob.glob("pkg/*/*.[ch]") + glob.glob("plugins/*/*/*.[ch]"))
    bad, used = 0, set()
    for f in files:
        for prefix, name, forbidden in RULES:
            if f.startswith(prefix):
                break
        else:
            continue
        for h, via in closure(f):
            if not forbidden(h):
                continue
            if via is None and (f, h) in EXCEPTIONS:
                used.add((f, h))
                continue
            bad += 1
            print("%s: includes %s%s: %s" % (f, h, " (through %s)" % via if via else "", name))
    for f, h in sorted(EXCEPTIONS - used):
        bad += 1
        print("%s: exception for %s no longer needed: remove it from tests/layers.py" % (f, h))
    if not files:
        print("no C files under %s" % os.getcwd())
        bad += 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
