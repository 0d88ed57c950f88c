#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# `make demo`'s script (tests/demo.sh: cnitool and conf/examples on throwaway namespaces) as the
# README tells a new user to run it: exit 0, every step it shows passed (both containers ADDed,
# the pings, CHECK, DEL twice) and nothing of it left (its namespaces, its scratch directory).
. "$(dirname "$0")/lib.sh"
need_root make_demo
need_cmds make_demo jq ping
tmpdir T
before_ns=$(ls /run/netns 2>/dev/null | grep -c '^cnic-demo-')
before_dirs=$(ls -d /tmp/cnic-demo.* 2>/dev/null | wc -l)
out=$(BUILD="$BUILD" timeout 300 bash "$TOP/tests/demo.sh" 2>&1)
rc=$?
echo "$out" | sed 's/^/# /' >"$T/demo.log"
check_eq "make demo's script exits 0" "$rc" 0
for step in "cnitool ls" "container" "ping:" "cnitool check bridge-example" "cnitool del for" \
	"after DEL" "done: namespaces removed"; do
	case $out in
	*"$step"*) ok "demo shows: $step" ;;
	*) fail "demo shows: $step" "$(tail -5 "$T/demo.log")" ;;
	esac
done
check_eq "both containers pass CHECK" "$(grep -c ': ok$' <<<"$out")" 2
check_eq "no demo namespace left" "$(ls /run/netns 2>/dev/null | grep -c '^cnic-demo-')" "$before_ns"
check_eq "no scratch directory left" "$(ls -d /tmp/cnic-demo.* 2>/dev/null | wc -l)" "$before_dirs"
exit $T_FAILED
