#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The layering of ARCHITECTURE.md, checked on every #include of pkg/ and plugins/.

Each C file's includes are followed through the tree's own headers (a quoted include that resolves
next to the including file or under pkg/), so a header that leaks a forbidden one is caught where it
is used. Rules:
  pkg/wire     libc headers only, and its own headers
  pkg/daemon   libc headers (signal.h included) only, and its own headers
  pkg/cni      no netlink header (libnl, libmnl, libnftnl, linux netlink uapi), nothing of
               pkg/netutil nor pkg/nft
  pkg/netutil  no jansson, nothing of pkg/nft
  pkg/nft      no jansson nor pkg/cni/internal.h (netlink headers and pkg/netutil's are fine)
  pkg/plugin   no netlink header, no jansson (the glue: pkg/cni and pkg/netutil headers)
  plugins      a plugin's nftables layout (plugins/*/*/nft*.c): no jansson, no netlink header
               but libnftnl, libmnl and the netfilter uapi (it builds rules over pkg/nft's
               internal.h); every other file: no netlink header, no jansson (pkg/nft's
               nft.h and fwd.h are fine)
  pkg/runtime  no netlink header, nothing of pkg/netutil (the runtime side of the protocol: jansson,
               pkg/cni and itself)
  cmd          no netlink header, no jansson, nothing of pkg/netutil (tools on pkg/runtime)
Prints one line per violation (file, header, the tree header it came through) and exits 1 when
there is one, or when an exception below no longer matches anything (remove it).
usage: [LAYERS_EXCEPTIONS=FILE:HEADER,...] tests/layers.py [ROOT]
       (make layers; tests/unit/test_layers.sh runs it)
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
# What a plugin's nftables layout may include of the netlink headers: pkg/nft's engine.
NFTABLES = re.compile(r"(libmnl/|libnftnl/|linux/netfilter|linux/nf_)")

# Violations that exist today, each named with the change that removes it. Each matches a direct
# include only; an entry that no longer matches fails the check. (The last five, plugins/main's
# if_link.h, if_addr.h and rtnetlink.h, went with #17's link kinds: pkg/netutil names the values.)
EXCEPTIONS = set()
# More, as FILE:HEADER[,FILE:HEADER...], for tests/unit/test_layers.sh (an exception gone stale).
EXCEPTIONS |= {tuple(x.split(":", 1)) for x in os.environ.get("LAYERS_EXCEPTIONS", "").split(",")
               if ":" in x}

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
    ("pkg/cni/", "pkg/cni includes no netlink header nor pkg/netutil nor pkg/nft",
     lambda h: bool(NETLINK.match(h)) or h.startswith(('"pkg/netutil/', '"pkg/nft/'))),
    ("pkg/netutil/", "pkg/netutil includes no jansson nor pkg/nft",
     lambda h: bool(JANSSON.match(h)) or h.startswith('"pkg/nft/')),
    ("pkg/nft/", "pkg/nft includes no jansson nor pkg/cni/internal.h",
     lambda h: bool(JANSSON.match(h)) or h == '"pkg/cni/internal.h"'),
    ("pkg/plugin/", "pkg/plugin includes no netlink header nor jansson",
     lambda h: bool(NETLINK.match(h) or JANSSON.match(h))),
    (re.compile(r"plugins/[^/]+/[^/]+/nft[^/]*\.c$"),
     "a plugin's nftables layout includes no netlink header but pkg/nft's, nor jansson",
     lambda h: bool((NETLINK.match(h) and not NFTABLES.match(h)) or JANSSON.match(h))),
    ("plugins/", "plugins include no netlink header nor jansson",
     lambda h: bool(NETLINK.match(h) or JANSSON.match(h))),
    ("pkg/runtime/", "pkg/runtime includes no netlink header nor pkg/netutil",
     lambda h: bool(NETLINK.match(h)) or h.startswith('"pkg/netutil/')),
    ("cmd/", "cmd includes no netlink header, jansson nor pkg/netutil",
     lambda h: bool(NETLINK.match(h) or JANSSON.match(h)) or h.startswith('"pkg/netutil/')),
)


def main():
    os.chdir(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), ".."))
    files = sorted(glob.glob("pkg/*/*.[ch]") + glob.glob("pkg/*/*/*.[ch]") +
                   glob.glob("plugins/*/*/*.[ch]") + glob.glob("cmd/*/*.[ch]"))
    bad, used = 0, set()
    for f in files:
        for where, name, forbidden in RULES:
            if where.match(f) if hasattr(where, "match") else f.startswith(where):
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
