#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Every configuration key of every plugin, read from the plugins' `struct cni_field` tables.

The list is generated from plugins/*/*/*.c on every run, so a key added to a table is in the
input matrix without anyone editing a list. Output (one line per key, or JSON with --json; --all adds the keys of pkg/plugin's shared tables):
    PLUGIN <TAB> PATH <TAB> TYPE
PATH is dotted, with [] for an array element ("ipam.ranges[][].subnet"); TYPE is the CNI_F_
type without its prefix (STR, INT, BOOL, ...). A plugin's IPAM keys come from the IPAM plugin's
own table under "ipam." (host-local, static and dhcp are separate plugins here).
"""
import glob
import json
import os
import re
import subprocess
import sys

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

TABLE = re.compile(r"(?:static\s+)?const\s+struct\s+cni_field\s+(\w+)\s*(\[\s*\])?\s*=\s*\{", re.S)
KEY = re.compile(r'\.key\s*=\s*\(?\s*"([^"]+)"')
TYPE = re.compile(r"\bCNI_F_(\w+)")
SUB = re.compile(r"\.sub\s*=\s*&?\s*(\w+)")
ROOT = re.compile(r"\.fields\s*=\s*\(?\s*(\w+)")
NAME = re.compile(r'\.name\s*=\s*"([\w-]+)"')


def body(src, start):
    """The text between the brace at src[start-1] and its match."""
    depth, i = 1, start
    while depth and i < len(src):
        c = src[i]
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
        i += 1
    return src[start:i - 1]


def preprocess(path):
    """The file with its macros expanded (tables are often built by per-plugin macros)."""
    gen = os.path.join(TOP, os.environ.get("BUILD", "build"), "gen")
    cc = os.environ.get("CC", "cc")
    return subprocess.run([cc, "-E", "-P", "-D_GNU_SOURCE", "-I" + os.path.join(TOP, "pkg"),
                           "-I" + gen, path], capture_output=True, text=True, check=True).stdout


def parse_file(path, shared=None):
    src = preprocess(path)
    tables = dict(shared or {})
    for m in TABLE.finditer(src):
        b = body(src, m.end())
        if m.group(2):  # an array of fields: one entry per key
            entries = []
            hits = list(KEY.finditer(b))
            for i, k in enumerate(hits):
                seg = b[k.end():hits[i + 1].start() if i + 1 < len(hits) else len(b)]
                t = TYPE.search(seg)
                s = SUB.search(seg)
                entries.append((k.group(1), t.group(1) if t else "?", s.group(1) if s else None))
            tables[m.group(1)] = ("table", entries)
        else:  # one element descriptor (of an ARRAY)
            t = TYPE.search(b)
            s = SUB.search(b)
            tables[m.group(1)] = ("elem", (t.group(1) if t else "?", s.group(1) if s else None))
    plugins = []
    for m in ROOT.finditer(src):
        # the plugin descriptor: the .name nearest before .fields
        names = NAME.findall(src[max(0, m.start() - 300):m.start()])
        if names and m.group(1) in tables:
            plugins.append((names[-1], m.group(1)))
    return tables, plugins


def walk(tables, name, prefix, out, depth=0):
    kind, data = tables[name]
    if depth > 8:
        return
    for key, typ, sub in data:
        path = prefix + key
        out.append((path, typ))
        if sub and sub in tables:
            expand(tables, typ, sub, path, out, depth + 1)


def expand(tables, typ, sub, path, out, depth):
    kind, data = tables[sub]
    if typ == "OBJ" and kind == "table":
        walk(tables, sub, path + ".", out, depth)
    elif typ == "ARRAY":
        if kind == "elem":
            etyp, esub = data
            if esub and esub in tables:
                if etyp == "OBJ":
                    walk(tables, esub, path + "[].", out, depth + 1)
                elif etyp == "ARRAY":
                    expand(tables, "ARRAY", esub, path + "[]", out, depth + 1)
            else:
                out.append((path + "[]", etyp))
        elif kind == "table":  # .sub of an ARRAY naming a table: its first entry is the element
            pass


def collect():
    result = {}
    ipam = {}
    shared = {}  # tables of pkg/cni (routes, dns) that plugins point into
    # --all: pkg/plugin's too (the MAC keys args.cni.mac, runtimeConfig.mac), as --help lists them;
    # the fault lane's input matrix keeps to the plugins' own tables (192 keys).
    extra = ["pkg/plugin/*.c"] if "--all" in sys.argv else []
    for path in sorted(p for g in ["pkg/cni/*.c"] + extra for p in glob.glob(os.path.join(TOP, g))):
        if "cni_field" in open(path, encoding="utf-8").read():
            shared.update(parse_file(path)[0])
    for path in sorted(glob.glob(os.path.join(TOP, "plugins/*/*/*.c"))):
        text = open(path, encoding="utf-8").read()
        if ".fields" not in text and "CNI_CONF(" not in text:
            continue
        tables, plugins = parse_file(path, shared)
        for pname, root in plugins:
            keys = []
            walk(tables, root, "", keys)
            result[pname] = keys
            if "/ipam/" in path:
                ipam[pname] = keys
    return result, ipam


def main():
    result, _ = collect()
    if "--json" in sys.argv:
        json.dump(result, sys.stdout, indent=1)
        return
    for p in sorted(result):
        for path, typ in result[p]:
            print(f"{p}\t{path}\t{typ}")


if __name__ == "__main__":
    main()
