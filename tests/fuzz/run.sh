#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Builds every tests/fuzz/fuzz_<name>.c with clang's libFuzzer and ASan+UBSan and runs each for
# FUZZ_SECONDS (default 60) on its corpus tests/fuzz/corpus/<name>/ (new inputs found are kept
# in build/fuzz/corpus/<name>/, crashes in build/fuzz/crashes/<name>/; copy a fixed crash into the
# kept corpus). A harness names the sources it links on a line "FUZZ_SRC: a.c b.c".
# usage: tests/fuzz/run.sh [NAME...]      env: FUZZ_SECONDS, CC (default clang), BUILD
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
CC=${FUZZ_CC:-clang}
BUILD=${BUILD:-build}
out="$BUILD/fuzz"
secs=${FUZZ_SECONDS:-60}
if ! command -v "$CC" >/dev/null 2>&1; then
	echo "skip - fuzz: $CC not installed (Debian package clang)"
	exit 0
fi
names=${*:-$(for f in tests/fuzz/fuzz_*.c; do basename "$f" .c | sed 's/^fuzz_//'; done)}
status=0
for n in $names; do
	src=tests/fuzz/fuzz_$n.c
	deps=$(sed -n 's/.*FUZZ_SRC:\(.*\)/\1/p' "$src" | head -1)
	mkdir -p "$out/corpus/$n" "$out/crashes/$n"
	# shellcheck disable=SC2086
	if ! $CC -g -O1 -std=gnu11 -D_GNU_SOURCE -Ipkg -fsanitize=fuzzer,address,undefined \
		-fno-sanitize-recover=undefined -o "$out/fuzz_$n" "$src" $deps; then
		echo "not ok - fuzz $n: build failed"
		status=1
		continue
	fi
	seeds=""
	[ -d "tests/fuzz/corpus/$n" ] && seeds="tests/fuzz/corpus/$n"
	# shellcheck disable=SC2086
	if "$out/fuzz_$n" -max_total_time="$secs" -max_len=4096 -timeout=10 \
		-artifact_prefix="$out/crashes/$n/" "$out/corpus/$n" $seeds \
		>"$out/fuzz_$n.log" 2>&1; then
		echo "ok - fuzz $n: $(grep -o 'Done [0-9]* runs' "$out/fuzz_$n.log" | tail -1) in ${secs} s"
	else
		echo "not ok - fuzz $n: crash, see $out/fuzz_$n.log and $out/crashes/$n/"
		status=1
	fi
done
exit $status
