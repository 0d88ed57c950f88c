#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Runs the test programs of one level (unit, kernel, netns, fuzz, fault, e2e, vm) or all, counts
# their lines ("ok - …", "not ok - …", "skip - …") and ends with one line
# "N passed, N failed, N skipped".
# A program that exits non-zero without a "not ok" line (a crash) counts as one failure.
set -u
BUILD=${BUILD:-build}
level=${1:-all}
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
logdir="$BUILD/test-logs"
mkdir -p "$logdir"
pass=0 fail=0 skip=0 failed_progs=""

run_one() { # name, command...
	name=$1
	shift
	log="$logdir/$(echo "$name" | tr '/' '_').log"
	start=$(date +%s)
	BUILD="$BUILD" TOP="$top" timeout "${RUN_TIMEOUT:-900}" "$@" >"$log" 2>&1
	tally "$name" "$log" $? "$start"
}
# start_bg name, command...: run_one's run, in the background (one at a time: the vm level);
# finish_bg waits for it and counts it as run_one does. Stopped if this script ends first.
bg_pid=""
start_bg() {
	bg_name=$1
	shift
	bg_log="$logdir/$(echo "$bg_name" | tr '/' '_').log"
	bg_start=$(date +%s)
	BUILD="$BUILD" TOP="$top" timeout "${RUN_TIMEOUT:-900}" "$@" >"$bg_log" 2>&1 &
	bg_pid=$!
	trap '[ -z "$bg_pid" ] || kill "$bg_pid" 2>/dev/null' EXIT
	trap 'exit 130' INT TERM
}
finish_bg() {
	wait "$bg_pid"
	rc=$?
	bg_pid=""
	tally "$bg_name" "$bg_log" "$rc" "$bg_start"
}
tally() { # name, log, exit status, start time
	name=$1 log=$2 rc=$3 start=$4
	p=$(grep -c '^ok - ' "$log")
	f=$(grep -c '^not ok - ' "$log")
	s=$(grep -c '^skip - ' "$log")
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
		echo "not ok - $name exited with status $rc" >>"$log"
	fi
	pass=$((pass + p))
	fail=$((fail + f))
	skip=$((skip + s))
	printf '%-28s %4d passed %3d failed %3d skipped  (%ss)\n' "$name" "$p" "$f" "$s" "$(($(date +%s) - start))"
	if [ "$f" -gt 0 ]; then
		failed_progs="$failed_progs $name"
		grep -E '^not ok - ' "$log" | head -20 | sed 's/^/    /'
		[ -n "${CI:-}" ] && tail -40 "$log" | sed 's/^/    | /'
	fi
	grep -E '^skip - ' "$log" | head -5 | sed 's/^/    /'
}

# tests/unit needs no root and no kernel feature; run as root, it runs as nobody to keep it so
# (a test that needs either belongs in tests/kernel). Programs are found from their sources, so a
# stale binary of a moved test is not run; tests/unit/test_*.sh are scripts of the same level.
nobody="setpriv --reuid=65534 --regid=65534 --clear-groups"
# The VM batch (qemu TCG, one vCPU: one CPU for ~11 min a pass) waits on nothing the other levels
# do: with CNIC_VM_PARALLEL=1 and two CPUs or more, `all` starts it first, beside them, and
# counts it at its place at the end. Off by default until a whole CI run has shown the timing
# checks of the other levels hold beside it (the default runs it after the others, alone).
vm_bg=0
set -- tests/vm/test_*.sh
if [ "$level" = all ] && [ "${CNIC_VM_PARALLEL:-0}" = 1 ] && [ "$(nproc 2>/dev/null || echo 1)" -ge 2 ] &&
	[ $# = 1 ] && [ -e "$1" ]; then
	vm_bg=1
	# fd 3: this terminal, for the batch's progress lines (one per file as it ends in the VM).
	RUN_TIMEOUT=1800 start_bg "vm/$(basename "$1" .sh)" env CNIC_PROGRESS_FD=3 bash "$1" 3>&1
fi

if [ "$level" = unit ] || [ "$level" = all ]; then
	for src in tests/unit/test_*.c tests/unit/test_*.sh; do
		case $src in
		*.c) t="$BUILD/tests/$(basename "$src" .c)" && set -- "$t" ;;
		*) t=$src && set -- sh "$t" ;;
		esac
		[ -e "$t" ] || continue
		name="unit/$(basename "$src" | sed 's/\.[a-z]*$//')"
		if [ "$(id -u)" != 0 ]; then
			run_one "$name" "$@"
		elif $nobody test -r "$t" 2>/dev/null; then
			# shellcheck disable=SC2086
			run_one "$name" $nobody "$@"
		else
			echo "# unit: uid 65534 cannot read $t (no setpriv, or the tree is not" \
				"world-readable): ran as root" >&2
			run_one "$name" "$@"
		fi
	done
fi
# tests/kernel checks pkg/netutil against the real kernel, each program in a netns of its own
# (root; without it each program reports its cases skipped).
if [ "$level" = kernel ] || [ "$level" = all ]; then
	for src in tests/kernel/test_*.c; do
		t="$BUILD/tests/kernel/$(basename "$src" .c)"
		[ -x "$t" ] || continue
		run_one "kernel/$(basename "$t")" "$t"
	done
fi
if [ "$level" = netns ] || [ "$level" = all ]; then
	for t in tests/netns/*.sh; do
		[ "$(basename "$t")" = lib.sh ] && continue
		run_one "netns/$(basename "$t" .sh)" bash "$t"
	done
fi
if [ "$level" = fuzz ] || [ "$level" = all ]; then
	# A short run of every fuzzer over its kept corpus (make fuzz runs them longer).
	run_one "fuzz/all" env FUZZ_SECONDS="${FUZZ_SECONDS:-10}" sh tests/fuzz/run.sh
fi
if [ "$level" = fault ] || [ "$level" = all ]; then
	# Syscall fault injection + SIGKILL sweep (the plugins', the daemons', cnitool's own) and the
	# input matrix (tests/fault/): a fixed-seed sample here; FAULT_FULL=1 (make fault) for every
	# point, errno, key and value.
	if [ "${FAULT_FULL:-0}" = 1 ]; then
		RUN_TIMEOUT=${RUN_TIMEOUT:-21600}
		run_one "fault/inject" env FAULT_FULL=1 bash tests/fault/inject.sh
		run_one "fault/inputs" env INPUT_FULL=1 bash tests/fault/inputs.sh
		run_one "fault/daemons" env FAULT_FULL=1 bash tests/fault/daemons.sh
		run_one "fault/runtime" env FAULT_FULL=1 bash tests/fault/runtime.sh
	else
		run_one "fault/inject" bash tests/fault/inject.sh
		run_one "fault/inputs" bash tests/fault/inputs.sh
		run_one "fault/daemons" bash tests/fault/daemons.sh
		run_one "fault/runtime" bash tests/fault/runtime.sh
	fi
fi
if [ "$level" = e2e ] || [ "$level" = all ]; then # real runtimes and clients (containerd CRI, podman, ctr) on build/bin
	for t in tests/e2e/*.sh; do
		case $(basename "$t") in
		*lib.sh) continue ;;
		# the package: built here when missing (~2-5 min), a Debian root debootstrapped once (~6 min)
		deb.sh)
			rt=${RUN_TIMEOUT:-}
			RUN_TIMEOUT=${RUN_TIMEOUT:-1800}
			run_one "e2e/deb" bash "$t"
			RUN_TIMEOUT=$rt
			continue
			;;
		esac
		run_one "e2e/$(basename "$t" .sh)" bash "$t"
	done
fi
if [ "$vm_bg" = 1 ]; then
	finish_bg
elif [ "$level" = vm ] || [ "$level" = all ]; then # the VM batch skips itself when the host kernel has every feature
	for t in tests/vm/test_*.sh; do
		[ -e "$t" ] || continue
		# One boot runs every file; fd 3 is this terminal, for a progress line per file.
		RUN_TIMEOUT=1800 run_one "vm/$(basename "$t" .sh)" env CNIC_PROGRESS_FD=3 bash "$t" 3>&1
	done
fi

[ -n "$failed_progs" ] && echo "failed:$failed_progs (logs in $logdir)"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
