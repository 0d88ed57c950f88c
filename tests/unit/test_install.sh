#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# `make install` and `make uninstall` into scratch DESTDIRs, without root: the default paths
# (PREFIX=/usr/local, CNI_BIN_DIR=/opt/cni/bin, the pages `make` built) and Debian's (PREFIX=/usr, the flat
# CNI_BIN_DIR=/usr/lib/cni) with two man pages given as MANPAGES: every plugin in CNI_BIN_DIR,
# cnitool in BINDIR, the units' ExecStart= at CNI_BIN_DIR, the pages by suffix in MANDIR/man<N>,
# nothing else; uninstall leaves the DESTDIR empty. And debian/changelog's upstream version is
# the Makefile's VERSION (what --version prints).
set -u
BUILD=${BUILD:-build}
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$TOP" || exit 1
failed=0
ok() { echo "ok - $1"; }
fail() {
	echo "not ok - $1: $2"
	failed=1
}
check_eq() { if [ "$2" = "$3" ]; then ok "$1"; else fail "$1" "got '$2', want '$3'"; fi; }

version=$(sed -n 's/^VERSION ?= //p' Makefile)
deb=$(sed -n '1s/^cnic (\([^)]*\)).*/\1/p' debian/changelog)
check_eq "debian/changelog's upstream version is the Makefile's VERSION" "${deb%-*}" "$version"

if [ ! -x "$BUILD/bin/bridge" ] || [ ! -x "$BUILD/bin/cnitool" ] || [ ! -f "$BUILD/libcnic-runtime.a" ]; then
	echo "skip - make install: $BUILD/bin is not built"
	exit $failed
fi
T=$(mktemp -d /tmp/cnic-test-install.XXXXXX) || exit 1
trap 'rm -rf "$T"' EXIT
plugins=$(cd "$BUILD/bin" && ls | grep -vx cnitool | sort)
mkdir -p "$T/man"
printf '.TH CNIC 7\n' >"$T/man/cnic.7"
printf '.TH CNITOOL 1\n' >"$T/man/cnitool.1"

# run NAME DESTDIR VARS...: make install, then the files installed (sorted, relative), then uninstall
run() {
	name=$1 d=$2
	shift 2
	if make -s --no-print-directory BUILD="$BUILD" DESTDIR="$d" "$@" install >"$T/make.log" 2>&1; then
		ok "$name: make install exits 0"
	else
		fail "$name: make install exits 0" "$(tail -3 "$T/make.log")"
	fi
	find "$d" ! -type d 2>&1 | sed "s|^$d||" | sort >"$T/files"
}
uninstall() { # NAME DESTDIR VARS...
	name=$1 d=$2
	shift 2
	make -s --no-print-directory BUILD="$BUILD" DESTDIR="$d" "$@" uninstall >"$T/make.log" 2>&1 ||
		fail "$name: make uninstall exits 0" "$(tail -3 "$T/make.log")"
	check_eq "$name: make uninstall leaves DESTDIR empty" "$(find "$d" -mindepth 1 2>&1 | sort | tr '\n' ' ')" ""
}
# expect BINDIR CNI_BIN_DIR UNITDIR LIBDIR INCLUDEDIR [MAN FILES...]: the list install must give
expect() {
	bindir=$1 cnidir=$2 unitdir=$3 libdir=$4 incdir=$5
	shift 5
	{
		for p in $plugins; do echo "$cnidir/$p"; done
		echo "$bindir/cnitool"
		for u in cni-dhcp.service cni-dhcp.socket cni-dnsname.service cni-dnsname.socket; do echo "$unitdir/$u"; done
		echo "$libdir/libcnic-runtime.a"
		echo "$libdir/pkgconfig/cnic-runtime.pc"
		echo "$incdir/cnic-runtime.h"
		for m in "$@"; do echo "$m"; done
	} | sort
}

D=$T/default
run "defaults" "$D"
# the man pages `make` built (none without scdoc), by their suffix
pages=$(for m in "$BUILD"/man/*.[0-9]; do [ -f "$m" ] && echo "/usr/local/share/man/man${m##*.}/${m##*/}"; done)
# shellcheck disable=SC2086
check_eq "defaults: plugins in /opt/cni/bin, the rest under /usr/local, nothing else" "$(cat "$T/files")" \
	"$(expect /usr/local/bin /opt/cni/bin /usr/local/lib/systemd/system /usr/local/lib /usr/local/include $pages)"
check_eq "defaults: the units run /opt/cni/bin's daemons" \
	"$(grep -h ^ExecStart= "$D"/usr/local/lib/systemd/system/*.service 2>&1 | cut -d' ' -f1)" \
	"$(printf 'ExecStart=/opt/cni/bin/dhcp\nExecStart=/opt/cni/bin/dnsname')"
check_eq "defaults: no unit keeps a template's @...@" "$(grep -l '@[A-Z_]*@' "$D"/usr/local/lib/systemd/system/* 2>&1)" ""
uninstall "defaults" "$D"

D=$T/debian
set -- PREFIX=/usr CNI_BIN_DIR=/usr/lib/cni SYSTEMDUNITDIR=/lib/systemd/system LIBDIR=/usr/lib/x86_64-linux-gnu \
	MANPAGES="$T/man/cnic.7 $T/man/cnitool.1"
run "flat /usr/lib/cni" "$D" "$@"
check_eq "flat /usr/lib/cni: plugins there, cnitool in /usr/bin, the pages in man1 and man7, nothing else" "$(cat "$T/files")" \
	"$(expect /usr/bin /usr/lib/cni /lib/systemd/system /usr/lib/x86_64-linux-gnu /usr/include \
		/usr/share/man/man1/cnitool.1 /usr/share/man/man7/cnic.7)"
check_eq "flat /usr/lib/cni: the units run /usr/lib/cni's daemons" \
	"$(grep -h ^ExecStart= "$D"/lib/systemd/system/*.service 2>&1 | cut -d' ' -f1)" \
	"$(printf 'ExecStart=/usr/lib/cni/dhcp\nExecStart=/usr/lib/cni/dnsname')"
check_eq "flat /usr/lib/cni: the binaries are stripped" \
	"$(file -L "$D/usr/lib/cni/bridge" "$D/usr/bin/cnitool" 2>/dev/null | grep -c ', stripped')" 2
uninstall "flat /usr/lib/cni" "$D" "$@"

# README.md's own install lines (<!-- test: install -->), as a user types them, each into a
# scratch DESTDIR given by the environment (make reads it from there): the plugins land in the
# CNI_BIN_DIR the line names (else /opt/cni/bin), and the same line with uninstall takes them away.
i=0
/usr/bin/python3 tests/readme_blocks.py lines install README.md >"$T/readme-lines" ||
	fail "README's install lines" "readme_blocks.py failed"
[ -s "$T/readme-lines" ] || fail "README has install lines (<!-- test: install -->)" "none found"
while IFS= read -r line; do
	i=$((i + 1))
	D=$T/readme-$i
	mkdir -p "$D"
	cnidir=$(printf '%s\n' "$line" | sed -n 's/.*CNI_BIN_DIR=\([^ ]*\).*/\1/p')
	if (export DESTDIR="$D" BUILD; eval "$line -s --no-print-directory") >"$T/make.log" 2>&1; then
		check_eq "README: '$line' puts the plugins in ${cnidir:-/opt/cni/bin}" \
			"$([ -x "$D${cnidir:-/opt/cni/bin}/bridge" ] && [ -x "$D${cnidir:-/opt/cni/bin}/loopback" ] && echo yes)" yes
		un=$(printf '%s\n' "$line" | sed 's/^make install/make uninstall/')
		(export DESTDIR="$D" BUILD; eval "$un -s --no-print-directory") >"$T/make.log" 2>&1 ||
			fail "README: '$un'" "$(tail -3 "$T/make.log")"
		check_eq "README: '$un' leaves DESTDIR empty" "$(find "$D" -mindepth 1 2>&1 | sort | tr '\n' ' ')" ""
	else
		fail "README: '$line' exits 0" "$(tail -3 "$T/make.log")"
	fi
done <"$T/readme-lines"
exit $failed
