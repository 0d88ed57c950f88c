#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# tests/vm/progress.sh: the VM batch's output passes through unchanged (tests/run.sh counts it
# from the log), and each file's time line gives one progress line on the given fd with that
# file's own counts, never shaped like a result line.
set -u
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
tmp=$(mktemp -d /tmp/cnic-vm-progress.XXXXXX) || exit 1
trap 'rm -rf "$tmp"' EXIT
cat >"$tmp/in" <<'IN'
# host kernel lacks: ipvlan vlan; running tests/netns/ipvlan.sh tests/netns/vlan.sh in the VM
ok - vm/ipvlan: one
ok - vm/ipvlan: two: with a colon
skip - vm/ipvlan: three: why
# vm/ipvlan: 42 s
ok - vm/vlan: one
not ok - vm/vlan: two: broke
not ok - vm/vlan: three
vm: a line of run-in-vm.sh
# vm/vlan: 7 s
# vm/vlan exited with status 1
IN
bash -c '. "$1/tests/vm/progress.sh" && vm_progress 3 <"$2/in" >"$2/out" 3>"$2/progress"' sh "$TOP" "$tmp"
if cmp -s "$tmp/in" "$tmp/out"; then
	echo "ok - vm progress: the batch's output passes through unchanged"
else
	echo "not ok - vm progress: the output changed: $(diff "$tmp/in" "$tmp/out" | head -5 | tr '\n' '|')"
fi
got=$(sed -e 's/  *(.*//' -e 's/  */ /g' "$tmp/progress" | tr '\n' '|')
want=" vm/ipvlan 2 passed 0 failed 1 skipped| vm/vlan 1 passed 2 failed 0 skipped|"
if [ "$got" = "$want" ]; then
	echo "ok - vm progress: a line per file with its own counts"
else
	echo "not ok - vm progress: got '$got', want '$want'"
fi
if grep -q '(42 s in the VM; ' "$tmp/progress" && grep -q '(7 s in the VM; ' "$tmp/progress"; then
	echo "ok - vm progress: each line names the file's time in the VM"
else
	echo "not ok - vm progress: no time: $(tr '\n' '|' <"$tmp/progress")"
fi
if grep -Eq '^(ok|not ok|skip) - ' "$tmp/progress"; then
	echo "not ok - vm progress: a progress line is shaped like a result line"
else
	echo "ok - vm progress: no progress line is counted as a result"
fi
# A file quiet for longer than CNIC_VM_HEARTBEAT: a "still running" line with its counts so far;
# a line that arrives in two parts around the wait is passed on whole.
(
	printf 'ok - vm/slow: one\nok - vm/sl'
	sleep 7
	printf 'ow: two\n# vm/slow: 9 s\n'
) | CNIC_VM_HEARTBEAT=1 bash -c '. "$1/tests/vm/progress.sh" && vm_progress 3 >"$2/out2" 3>"$2/progress2"' sh "$TOP" "$tmp"
if [ "$(cat "$tmp/out2")" = "ok - vm/slow: one
ok - vm/slow: two
# vm/slow: 9 s" ]; then
	echo "ok - vm progress: a line split by a wait passes through whole"
else
	echo "not ok - vm progress: split line: $(tr '\n' '|' <"$tmp/out2")"
fi
got=$(sed -e 's/  *(.*//' -e 's/  */ /g' "$tmp/progress2" | tr '\n' '|')
want=" vm/slow 1 passed 0 failed 0 skipped so far, still running| vm/slow 2 passed 0 failed 0 skipped|"
if [ "$got" = "$want" ]; then
	echo "ok - vm progress: a quiet file gets a still-running line with its counts so far"
else
	echo "not ok - vm progress: heartbeat: got '$got', want '$want'"
fi
