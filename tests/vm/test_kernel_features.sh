#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The VM batch: every netns test file that needs a kernel feature this host lacks runs inside one
# VM boot (run-in-vm.sh, Debian's stock kernel), and its "ok / not ok / skip" lines come back
# prefixed with "vm/<file>: " for tests/run.sh to count. Files whose features the host has are
# left to the netns level, which runs them directly; when that is all of them, one skip line.
# To add a file: one line in FEATURES below, "<test file> <probe function>", and a probe that
# succeeds when the host kernel can run it.
set -u
TOP=${TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
cd "$TOP" || exit 1

FEATURES="
tests/netns/ipvlan.sh probe_ipvlan
tests/netns/bridge_vlan.sh probe_bridge_vlan
tests/netns/vlan.sh probe_vlan
tests/netns/dummy.sh probe_dummy
tests/netns/vrf.sh probe_vrf
tests/netns/examples.sh probe_all_kinds
tests/netns/portmap_sctp.sh probe_sctp
"

# Probes run in a throwaway netns (unshare -n): they create nothing anywhere else.
probe_ipvlan() {
	unshare -n sh -c 'ip link add pa type veth peer name pb &&
		ip link add pi link pa type ipvlan mode l2' 2>/dev/null
}
probe_bridge_vlan() {
	unshare -n ip link add pbr type bridge vlan_filtering 1 2>/dev/null
}
probe_vlan() {
	unshare -n sh -c 'ip link add pa type veth peer name pb &&
		ip link add pv link pa type vlan id 5' 2>/dev/null
}
probe_dummy() {
	unshare -n ip link add pd type dummy 2>/dev/null
}
probe_vrf() {
	unshare -n ip link add pv type vrf table 10 2>/dev/null
}
# Debian's python3: a pyenv shim earlier in PATH may not run as root in a fresh netns.
probe_sctp() {
	unshare -n /usr/bin/python3 -c 'import socket
socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_SCTP)' 2>/dev/null
}
# The examples of every kernel-dependent plugin run where all the kinds exist.
probe_all_kinds() {
	probe_ipvlan && probe_vlan && probe_dummy && probe_vrf
}

if [ "$(id -u)" != 0 ]; then
	echo "skip - vm: needs root"
	exit 0
fi
files="" why=""
while read -r f probe; do
	[ -n "$f" ] || continue
	if ! "$probe"; then
		files="$files $f"
		why="$why ${probe#probe_}"
	fi
done <<<"$FEATURES"
if [ -z "$files" ]; then
	echo "skip - vm: the host kernel has every feature; the netns level ran these tests directly"
	exit 0
fi
echo "# host kernel lacks:$why; running$files in the VM"

# Inside the VM: each file in turn, its result lines renamed, a crash counted as a failure, its
# time in a comment line.
script='
rc=0
for f in "$@"; do
	n=$(basename "$f" .sh)
	t0=$SECONDS
	bash "$f" 2>&1 | sed -u -e "s#^\(ok\|not ok\|skip\) - #\1 - vm/$n: #"
	s=${PIPESTATUS[0]}
	echo "# vm/$n: $((SECONDS - t0)) s"
	[ "$s" = 0 ] || { rc=1; echo "# vm/$n exited with status $s"; }
done
exit $rc'
# Progress: one line per file as it ends in the VM ("vm/<file>: N passed ... (S s)") on
# CNIC_PROGRESS_FD (tests/run.sh passes its terminal as fd 3: this script's stdout is a log file
# then), else on stderr. Never "ok -"-shaped, so nothing counts it twice.
pfd=${CNIC_PROGRESS_FD:-2}
case $pfd in [0-9]) ;; *) pfd=2 ;; esac
{ true >&"$pfd"; } 2>/dev/null || pfd=2
. "$TOP/tests/vm/progress.sh"
nfiles=$(echo $files | wc -w)
echo "  vm: booting a VM for $nfiles files (~10 min under TCG; a line per file, and every 2 min)" >&"$pfd"
out=$(mktemp /tmp/cnic-vm.XXXXXX)
trap 'rm -f "$out"' EXIT
# The VM's qemu does not keep the terminal (fd 3) open. CNIC_VM_RUNNER: a stand-in for
# run-in-vm.sh (tests of this script).
vm_run() {
	if [ "$pfd" = 2 ]; then
		"$@"
	else
		"$@" {pfd}>&-
	fi
}
# shellcheck disable=SC2086
BUILD=${BUILD:-build} vm_run bash "${CNIC_VM_RUNNER:-$TOP/tests/vm/run-in-vm.sh}" bash -c "$script" vm $files |
	vm_progress "$pfd" | tee "$out"
rc=${PIPESTATUS[0]}
# A VM that died (timeout, no status) or a file that crashed without a "not ok" line still fails.
if [ "$rc" != 0 ] && ! grep -q '^not ok - ' "$out"; then
	echo "not ok - vm: the batch ended with status $rc"
fi
exit "$rc"
