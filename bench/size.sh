#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# size.sh OLD-BIN NEW-BIN: the installed size of every plugin, old build against new, as
# `make install` installs them (stripped, `install -s`), and the totals, as a Markdown table.
# Exits 1 when the new total is larger than the old one (issue 17: installed size no larger),
# 2 on a usage error.
set -u
if [ $# != 2 ] || [ ! -d "$1" ] || [ ! -d "$2" ]; then
	echo "usage: size.sh OLD-BIN-DIR NEW-BIN-DIR" >&2
	exit 2
fi
old=$1 new=$2
tmp=$(mktemp /tmp/cnic-size.XXXXXX) || exit 2
trap 'rm -f "$tmp"' EXIT
# Stripped size in bytes; empty when the file is absent.
ssize() {
	[ -f "$1" ] || return 0
	strip -o "$tmp" "$1" 2>/dev/null && stat -c %s "$tmp"
}
names=$(for f in "$old"/* "$new"/*; do [ -f "$f" ] && [ -x "$f" ] && basename "$f"; done | sort -u)
to=0 tn=0
echo "| binary | old (bytes) | new (bytes) | new - old |"
echo "| --- | ---: | ---: | ---: |"
for n in $names; do
	o=$(ssize "$old/$n") w=$(ssize "$new/$n")
	to=$((to + ${o:-0})) tn=$((tn + ${w:-0}))
	printf '| %s | %s | %s | %+d |\n' "$n" "${o:--}" "${w:--}" $((${w:-0} - ${o:-0}))
done
printf '| **total** | **%d** | **%d** | **%+d** (%+.2f %%) |\n' $to $tn $((tn - to)) \
	"$(awk -v o=$to -v n=$tn 'BEGIN { print o ? (n - o) * 100 / o : 0 }')"
if [ $tn -gt $to ]; then
	echo
	echo "FAIL: the new installed total is $((tn - to)) bytes larger than the old one"
	exit 1
fi
echo
echo "PASS: installed total no larger ($tn <= $to bytes)"
