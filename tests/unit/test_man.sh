#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The man pages against the code (keys, daemon flags, cnitool commands, error codes, examples)
# and their rendering: tests/unit/test_man.py.
set -u
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
export TOP
exec python3 "$TOP/tests/unit/test_man.py"
