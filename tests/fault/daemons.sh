#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Fault injection into the request paths of the dnsname and dhcp daemons (tests/fault/daemons.py):
# after each injected failure the daemon must be alive, not spinning, and serve the next request.
# A fixed-seed sample by default (make check); FAULT_FULL=1 for every point (make fault).
. "$(dirname "$0")/../netns/lib.sh"
need_root fault/daemons
for c in strace dig dnsmasq; do
	command -v $c >/dev/null || { skip fault/daemons "$c is not installed"; exit 0; }
done
tmpdir WORK
mkhost H
on_exit "kill \$(cat $WORK/dnd/dnsname.pid $WORK/dhcpd/daemon.pid $WORK/dhcpd/dnsmasq.pid 2>/dev/null) 2>/dev/null"
on_exit "for n in \$(ip netns list | awk '/^cnic-f-$T_TAG-/{print \$1}'); do ip netns del \$n; done"
HOSTNS=$H WORK=$WORK BIN=$BIN TAG=$T_TAG python3 "$TOP/tests/fault/daemons.py"
