#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Fault lane, the runtime side: cnitool's own add, check, del, gc and status with each of its
# syscalls failed in turn and SIGKILL at each point (tests/fault/runtime.py); the plugins run
# untraced. A short fixed-seed sample by default (make check); FAULT_FULL=1 for every point and
# errno (make fault). Runs inside a private host namespace.
. "$(dirname "$0")/../netns/lib.sh"
need_root fault/runtime
for p in cnitool bridge host-local portmap firewall tuning; do
	[ -x "$BIN/$p" ] || { skip fault/runtime "$p is not built"; exit 0; }
done
if ! command -v strace >/dev/null; then
	skip fault/runtime "strace is not installed"
	exit 0
fi
tmpdir WORK
mkhost H
on_exit "for n in \$(ip netns list | awk '/^cnic-f-$T_TAG-/{print \$1}'); do ip netns del \$n; done"
HOSTNS=$H WORK=$WORK BIN=$BIN TAG=$T_TAG python3 "$TOP/tests/fault/runtime.py"
