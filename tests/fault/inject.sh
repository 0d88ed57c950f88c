#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Fault lane: every plugin's ADD, DEL and CHECK with each syscall failed in turn and SIGKILL at
# each point (tests/fault/inject.py). A short fixed-seed sample by default (make check);
# FAULT_FULL=1 for every point and errno (make fault). Runs inside a private host namespace.
. "$(dirname "$0")/../netns/lib.sh"
need_root fault/inject
if ! command -v strace >/dev/null; then
	skip fault/inject "strace is not installed"
	exit 0
fi
tmpdir WORK
mkhost H
# The dnsname daemon the plugin starts, and every container namespace the driver made.
on_exit "kill \$(cat $WORK/dn/dnsname.pid 2>/dev/null) 2>/dev/null"
on_exit "for n in \$(ip netns list | awk '/^cnic-f-$T_TAG-/{print \$1}'); do ip netns del \$n; done"
HOSTNS=$H WORK=$WORK BIN=$BIN TAG=$T_TAG python3 "$TOP/tests/fault/inject.py"
