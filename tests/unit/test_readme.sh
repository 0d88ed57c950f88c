#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# README.md's marks (tests/readme_blocks.py): every ```sh block is run by tests/netns/readme.sh
# (<!-- test: netns -->) or says why not (<!-- not run: why -->), so a new command without a
# mark fails here; no pointer outside the repository. The client snippets carry the keys their
# clients read (containerd's CRI cni table, podman's [network], CRI-O's [crio.network]), agree
# on the package's plugin directory, and the e2e lanes build their configuration from them; the
# conflist snippet names plugins of this tree. No root, no build needed.
set -u
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$TOP" || exit 1
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
RB=tests/readme_blocks.py
tmp=$(mktemp -d /tmp/cnic-readme-unit.XXXXXX) || exit 1
trap 'rm -rf "$tmp"' EXIT

# The check itself: README.md passes; a README with an unmarked, a reasonless and a misspelt
# block fails, each named.
if out=$($PY $RB check README.md 2>&1); then
	echo "ok - README.md: every sh block marked, no ../shared"
else
	echo "$out" | sed 's/^/not ok - README mark: /'
fi
cat >"$tmp/bad.md" <<'EOF'
```sh
make unmarked
```
<!-- not run: -->
```sh
echo no reason
```
<!-- test: vm -->
```sh
echo unknown kind
```
<!-- not run: fine -->
```sh
echo fine
```
EOF
out=$($PY $RB check "$tmp/bad.md" 2>&1)
rc=$?
n=$(printf '%s\n' "$out" | grep -c 'bad.md:[0-9]*:')
lines=$(printf '%s\n' "$out" | sed -n 's/.*bad\.md:\([0-9]*\):.*/\1/p' | tr '\n' ' ')
if [ "$rc" = 1 ] && [ "$n" = 3 ] && [ "$lines" = "1 5 9 " ]; then
	echo "ok - an unmarked, a reasonless and an unknown-kind block are each refused"
else
	echo "not ok - the check refuses bad marks: rc $rc, lines '$lines': $out"
fi

# A line-by-line kind takes only the lines its test knows how to run.
printf '<!-- test: install -->\n```sh\nmake install\nrm -rf /\n```\n' >"$tmp/bad2.md"
out=$($PY $RB check "$tmp/bad2.md" 2>&1)
case $? in
1) case $out in *"'rm -rf /' is not a line the install test runs"*) echo "ok - a test: install block with a foreign line is refused" ;;
	*) echo "not ok - a foreign line in a test: install block: $out" ;; esac ;;
*) echo "not ok - a foreign line in a test: install block is refused: $out" ;;
esac

# The snippets: keys, values and the e2e lanes that use them.
$PY - "$RB" <<'EOF'
import json, os, subprocess, sys, tomllib

def snippet(name):
    r = subprocess.run([sys.executable, sys.argv[1], "snippet", name], capture_output=True, text=True)
    if r.returncode:
        print(f"not ok - README snippet {name}: {r.stderr.strip()}")
        return None
    return r.stdout

def check(name, cond, why):
    print(("ok - " if cond else "not ok - ") + name + ("" if cond else ": " + why))

def toml(name):
    s = snippet(name)
    if s is None:
        return None
    try:
        return tomllib.loads(s)
    except tomllib.TOMLDecodeError as e:
        print(f"not ok - README snippet {name} is TOML: {e}")
        return None

BIN = "/usr/lib/cni"   # the package's plugin directory (Debian's)
c = toml("containerd")
if c is not None:
    cni = c.get("plugins", {}).get("io.containerd.grpc.v1.cri", {}).get("cni")
    check("containerd snippet: config version 2", c.get("version") == 2, repr(c.get("version")))
    check("containerd snippet: plugins.\"io.containerd.grpc.v1.cri\".cni has bin_dir and conf_dir",
          isinstance(cni, dict) and sorted(cni) == ["bin_dir", "conf_dir"], repr(cni))
    check("containerd snippet: bin_dir is the package's, conf_dir /etc/cni/net.d",
          isinstance(cni, dict) and cni.get("bin_dir") == BIN and cni.get("conf_dir") == "/etc/cni/net.d",
          repr(cni))
    check("containerd snippet: nothing but the CRI cni table",
          sorted(c) == ["plugins", "version"] and list(c["plugins"]) == ["io.containerd.grpc.v1.cri"]
          and list(c["plugins"]["io.containerd.grpc.v1.cri"]) == ["cni"], repr(c))
p = toml("podman")
if p is not None:
    n = p.get("network", {})
    check("podman snippet: [network] network_backend = \"cni\"", n.get("network_backend") == "cni", repr(n))
    check("podman snippet: cni_plugin_dirs is a list with the package's dir",
          n.get("cni_plugin_dirs") == [BIN], repr(n.get("cni_plugin_dirs")))
    check("podman snippet: network_config_dir /etc/cni/net.d",
          n.get("network_config_dir") == "/etc/cni/net.d", repr(n))
    check("podman snippet: nothing but those three keys",
          list(p) == ["network"] and sorted(n) == ["cni_plugin_dirs", "network_backend", "network_config_dir"],
          repr(p))
o = toml("crio")
if o is not None:
    n = o.get("crio", {}).get("network", {})
    check("crio snippet: [crio.network] network_dir and plugin_dirs (a list)",
          sorted(n) == ["network_dir", "plugin_dirs"] and isinstance(n.get("plugin_dirs"), list), repr(o))
    check("crio snippet: the package's dir, /etc/cni/net.d",
          [d.rstrip("/") for d in n.get("plugin_dirs", [])] == [BIN]
          and n.get("network_dir", "").rstrip("/") == "/etc/cni/net.d", repr(n))
s = snippet("conflist")
if s is not None:
    try:
        j = json.loads(s)
        types = [x.get("type") for x in j.get("plugins", [])]
        missing = [t for t in types if not any(os.path.isdir(f"plugins/{k}/{t}") for k in ("main", "ipam", "meta"))]
        check("conflist snippet: a conflist of this tree's plugins",
              bool(j.get("name")) and types and not missing, f"types {types}, unknown {missing}")
    except ValueError as e:
        print(f"not ok - conflist snippet is JSON: {e}")

# The e2e lanes build their client configuration from the snippets (tests/e2e/*.sh).
def uses(path, name):
    try:
        return f"readme_blocks.py\" snippet {name}" in open(path).read()
    except OSError:
        return False
check("tests/e2e/podman.sh configures podman with the README's snippet",
      uses("tests/e2e/podman.sh", "podman"), "no `readme_blocks.py snippet podman`")
check("tests/e2e/cri_lib.sh configures containerd's CNI with the README's snippet",
      uses("tests/e2e/cri_lib.sh", "containerd"), "no `readme_blocks.py snippet containerd`")
# The install and package lines are run by the tests that install (test: install, test: deb).
def runs(path, kind):
    try:
        return f"readme_blocks.py lines {kind} README.md" in open(path).read()
    except OSError:
        return False
check("tests/unit/test_install.sh runs the README's install lines",
      runs("tests/unit/test_install.sh", "install"), "no `readme_blocks.py lines install`")
check("tests/e2e/deb.sh runs the README's make deb and apt install lines",
      runs("tests/e2e/deb.sh", "deb"), "no `readme_blocks.py lines deb`")
EOF
