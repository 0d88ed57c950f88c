#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Input matrix: every key of every plugin (read from the plugins' field tables) set to malformed
# and out-of-range values (tests/fault/inputs.py), on the build in $BUILD (the ASan one under
# SANITIZE=1). A fixed-seed sample by default (make check); INPUT_FULL=1 for every key and
# value (make fault). Runs inside a private host namespace.
. "$(dirname "$0")/../netns/lib.sh"
need_root fault/inputs
tmpdir WORK
mkhost H
# The dnsname daemon the plugin starts, and every container namespace the driver made.
on_exit "kill \$(cat $WORK/dn/dnsname.pid 2>/dev/null) 2>/dev/null"
on_exit "for n in \$(ip netns list | awk '/^cnic-f-$T_TAG-/{print \$1}'); do ip netns del \$n; done"
HOSTNS=$H WORK=$WORK BIN=$BIN TAG=$T_TAG python3 "$TOP/tests/fault/inputs.py"
