#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The fenced blocks of README.md and their marks, for the tests that run or check them.

A mark is an HTML comment on the line right before a fence (same indentation or none):
  <!-- test: netns -->          a ```sh block tests/netns/readme.sh runs as root, in throwaway
                                namespaces (names cnic-host / cnic-demo, files under
                                /tmp/cnic-demo: the test gives them a unique tag)
  <!-- test: install -->        a ```sh block of `make install`/`make uninstall` lines that
                                tests/unit/test_install.sh runs, each into a scratch DESTDIR
  <!-- test: deb -->            a ```sh block tests/e2e/deb.sh runs: `make deb` lines in the tree,
                                `apt install ./build/deb/...` lines in its throwaway Debian root
  <!-- not run: <why> -->       a ```sh block no test runs, and why (a reason is required)
  <!-- snippet: <name> -->      a configuration block (toml, json) tests and e2e lanes read by name
Every ```sh block must carry test: or not run:, so a new command without one fails
tests/unit/test_readme.sh.

  readme_blocks.py check [README]          problems, one per line; exit 1 if any
  readme_blocks.py list [README]           "<line> <lang> <kind> <arg>" per block
  readme_blocks.py tests [README]          the test: netns blocks, each ended by a NUL byte
  readme_blocks.py lines KIND [README]     the command lines of the test: KIND blocks, one a line
  readme_blocks.py snippet NAME [README]   the snippet's text
"""
import os
import re
import sys

MARK = re.compile(r"^\s*<!--\s*(test|not run|snippet):\s*(.*?)\s*-->\s*$")
FENCE = re.compile(r"^(\s*)```(\S*)\s*$")
TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KINDS = ("netns", "install", "deb")
# The lines each line-by-line kind knows how to run (anything else is refused by check).
LINE_RE = {
    "install": r"make (un)?install( [A-Z_]+=\S+)*",
    "deb": r"make deb|apt(-get)? install (-y )?\./build/deb/cnic_\*\.deb",
}


def command_lines(body):
    """The commands of a block: comments and blank lines dropped, whitespace squeezed."""
    out = []
    for line in body.split("\n"):
        line = re.sub(r"\s+#.*$|^\s*#.*$", "", line).strip()
        if line:
            out.append(re.sub(r"\s+", " ", line))
    return out


def blocks(path):
    """[(line, lang, kind, arg, text)] of every fenced block, kind/arg from its mark or None."""
    lines = open(path, encoding="utf-8").read().split("\n")
    out, i = [], 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, lang, start = m.group(1), m.group(2), i
        body = []
        i += 1
        while i < len(lines) and not re.match(r"^\s*```\s*$", lines[i]):
            body.append(lines[i][len(indent):] if lines[i].startswith(indent) else lines[i])
            i += 1
        i += 1  # the closing fence
        kind = arg = None
        if start > 0:
            mk = MARK.match(lines[start - 1])
            if mk:
                kind, arg = mk.group(1), mk.group(2)
        out.append((start + 1, lang, kind, arg, "\n".join(body) + "\n"))
    return out


def check(path):
    problems = []
    text = open(path, encoding="utf-8").read()
    names = set()
    for n, line in enumerate(text.split("\n"), 1):
        if MARK.match(line) is None and re.search(r"<!--\s*(test|not run|snippet)\b", line):
            problems.append(f"{path}:{n}: malformed mark: {line.strip()}")
    for line, lang, kind, arg, body in blocks(path):
        where = f"{path}:{line}"
        if lang in ("sh", "bash", "shell", "console"):
            if lang != "sh":
                problems.append(f"{where}: shell block fenced as ```{lang}: use ```sh")
            if kind is None:
                problems.append(f"{where}: ```sh block without <!-- test: netns --> or "
                                "<!-- not run: why --> on the line before")
            elif kind == "test" and arg not in KINDS:
                problems.append(f"{where}: unknown test kind '{arg}' ({', '.join(KINDS)})")
            elif kind == "test" and arg in LINE_RE:
                for cmd in command_lines(body):
                    if not re.fullmatch(LINE_RE[arg], cmd):
                        problems.append(f"{where}: '{cmd}' is not a line the {arg} test runs")
            elif kind == "not run" and not arg:
                problems.append(f"{where}: <!-- not run: --> without a reason")
            elif kind == "snippet":
                problems.append(f"{where}: a shell block cannot be a snippet")
        elif kind in ("test", "not run"):
            problems.append(f"{where}: {kind} mark on a ```{lang} block (only ```sh blocks run)")
        if kind == "snippet":
            if not re.fullmatch(r"[a-z0-9-]+", arg or ""):
                problems.append(f"{where}: bad snippet name '{arg}'")
            elif arg in names:
                problems.append(f"{where}: snippet '{arg}' defined twice")
            names.add(arg)
    if "../shared" in text:
        problems.append(f"{path}: points outside the repository (../shared)")
    return problems


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    cmd = argv[1]
    rest = argv[2:]
    if cmd in ("snippet", "lines"):
        if not rest:
            return 2
        name, rest = rest[0], rest[1:]
    path = rest[0] if rest else os.path.join(TOP, "README.md")
    if cmd == "check":
        p = check(path)
        for x in p:
            print(x)
        return 1 if p else 0
    if cmd == "list":
        for line, lang, kind, arg, _ in blocks(path):
            print(line, lang or "-", (kind or "-").replace(" ", "-"), arg or "-")
        return 0
    if cmd == "tests":
        for _, _, kind, arg, body in blocks(path):
            if kind == "test" and arg == "netns":
                sys.stdout.write(body + "\0")
        return 0
    if cmd == "lines":
        for _, _, kind, arg, body in blocks(path):
            if kind == "test" and arg == name:
                for c in command_lines(body):
                    print(c)
        return 0
    if cmd == "snippet":
        for _, _, kind, arg, body in blocks(path):
            if kind == "snippet" and arg == name:
                sys.stdout.write(body)
                return 0
        print(f"{path}: no snippet '{name}'", file=sys.stderr)
        return 1
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
