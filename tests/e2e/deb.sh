#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The Debian package (make deb) in a throwaway Debian 12 root: a minbase made by debootstrap
# (cached as a tarball in $CNIC_TEST_CACHE, default /var/cache/cnic-test, with apt's archives, so
# a second run downloads nothing), unpacked afresh in /var/tmp for each run. Inside it, with apt
# (so Depends are resolved from the mirror): install ./cnic_*.deb, run plugins (VERSION, a
# loopback ADD/DEL in a namespace of its own), upgrade to a higher version (the same package
# repacked with a bumped Version: the maintainer scripts' upgrade path), replace it with Debian's
# containernetworking-plugins and back, purge: nothing of cnic left (files, unit links,
# deb-systemd-helper state). The root is unmounted and removed on every exit.
# Needs root, debootstrap and the .deb files in $BUILD/deb/ (built here when missing; DEB_BUILD=0
# skips instead). `make deb-test` builds the package and runs this.
set -u
BUILD=${BUILD:-build}
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
CACHE=${CNIC_TEST_CACHE:-/var/cache/cnic-test}
MIRROR=${CNIC_TEST_MIRROR:-http://deb.debian.org/debian}
SUITE=bookworm
T_FAILED=0
ok() { echo "ok - $1"; }
fail() {
	echo "not ok - $1: ${2:-}"
	T_FAILED=1
}
skip() { echo "skip - $1: $2"; }
check_eq() { if [ "$2" = "$3" ]; then ok "$1"; else fail "$1" "got '$2', want '$3'"; fi; }
start=$(date +%s)

[ "$(id -u)" = 0 ] || { skip deb "needs root (chroot, mounts)"; exit 0; }
for c in debootstrap dpkg-deb chroot unshare nsenter ip jq; do
	command -v "$c" >/dev/null || { skip deb "$c is not installed (tests/deps.sh deb)"; exit 0; }
done
cd "$TOP" || exit 1
# The package is a release build (its own, in build/deb/src): the sanitizer pass of .ci/run
# (BUILD=build/sanitize) has nothing to add to it and would build it a second time.
case ${SANITIZE:-}/$BUILD in
1/* | */sanitize | sanitize) skip deb "the package is tested by the plain build's run"; exit 0 ;;
esac
DEB=$(ls "$BUILD"/deb/cnic_*.deb 2>/dev/null | head -1)
if [ -z "$DEB" ]; then
	[ "${DEB_BUILD:-1}" = 1 ] || { skip deb "no $BUILD/deb/cnic_*.deb (make deb)"; exit 0; }
	# README.md's own lines (<!-- test: deb -->): "make deb" here, "apt install ..." in the root
	README_MAKE=$(/usr/bin/python3 tests/readme_blocks.py lines deb README.md | grep '^make ')
	[ -n "$README_MAKE" ] || { fail "README's make deb line" "none (<!-- test: deb -->)"; exit 1; }
	echo "# building the package: $README_MAKE (README.md)"
	(export BUILD; eval "$README_MAKE --no-print-directory") >"$BUILD/deb-build.log" 2>&1 ||
		{ fail "$README_MAKE (README.md)" "$(tail -5 "$BUILD/deb-build.log")"; exit 1; }
	DEB=$(ls "$BUILD"/deb/cnic_*.deb | head -1)
fi
VERSION=$(dpkg-deb -f "$DEB" Version)
echo "# package: $DEB ($VERSION)"

# The cached minbase: debootstrap once, apt-get update inside, tar (under a lock: one maker).
mkdir -p "$CACHE/archives/partial"
TARBALL=$CACHE/$SUITE-minbase.tar.gz
exec 9>"$CACHE/lock"
flock 9
if [ ! -s "$TARBALL" ]; then
	echo "# debootstrap $SUITE minbase from $MIRROR into the cache (once)"
	mk=$(mktemp -d /var/tmp/cnic-debootstrap.XXXXXX)
	if debootstrap --variant=minbase --cache-dir="$CACHE/archives" "$SUITE" "$mk" "$MIRROR" >"$CACHE/debootstrap.log" 2>&1 &&
		cp /etc/resolv.conf "$mk/etc/resolv.conf" &&
		chroot "$mk" apt-get update -qq >>"$CACHE/debootstrap.log" 2>&1 &&
		rm -rf "$mk/var/cache/apt/archives"/*.deb &&
		tar -C "$mk" -czf "$TARBALL.tmp" . && mv "$TARBALL.tmp" "$TARBALL"; then
		:
	else
		rm -f "$TARBALL.tmp"
		rm -rf --one-file-system "$mk"
		skip deb "debootstrap $SUITE failed: $(tail -2 "$CACHE/debootstrap.log")"
		exit 0
	fi
	rm -rf --one-file-system "$mk"
fi
flock -u 9

R=$(mktemp -d /var/tmp/cnic-deb-root.XXXXXX)
HOLD=""
cleanup() {
	local m
	[ -z "$HOLD" ] || kill "$HOLD" 2>/dev/null
	for m in "$R/var/cache/apt/archives" "$R/proc"; do
		mountpoint -q "$m" && { umount "$m" 2>/dev/null || umount -l "$m"; }
	done
	if findmnt -rn -o TARGET | grep -q "^$R"; then
		echo "# $R still has mounts: not removed" >&2
	else
		rm -rf --one-file-system "$R"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
tar -C "$R" -xzf "$TARBALL" || { fail "unpack $TARBALL" "tar failed"; exit 1; }
cp /etc/resolv.conf "$R/etc/resolv.conf"
# No daemon starts in the root (there is no systemd in it either: deb-systemd-invoke does nothing).
printf '#!/bin/sh\nexit 101\n' >"$R/usr/sbin/policy-rc.d" && chmod 0755 "$R/usr/sbin/policy-rc.d"
mount -t proc proc "$R/proc" && mount --bind "$CACHE/archives" "$R/var/cache/apt/archives" ||
	{ fail "mounts in the root" "mount failed"; exit 1; }
echo "# root ready in $R after $(($(date +%s) - start)) s"

in_root() { chroot "$R" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 "$@"; }
apt_in() { in_root apt-get -y -q -o Dpkg::Use-Pty=0 "$@" >"$R/tmp/apt.log" 2>&1; }
status() { in_root dpkg-query -W -f='${Status} ${Version}' "$1" 2>/dev/null; }
owner() { in_root dpkg-query -S "$1" 2>/dev/null | cut -d: -f1; }
# The unit links systemd would follow, and deb-systemd-helper's record of them.
unit_links() {
	(cd "$R" && find etc/systemd/system var/lib/systemd/deb-systemd-helper-enabled \
		-name 'cni-d*' 2>/dev/null | sort | tr '\n' ' ')
}

# A higher version of the same package: its control file's Version bumped, rebuilt by dpkg-deb.
UP=$R/tmp/up
mkdir -p "$UP"
dpkg-deb -R "$DEB" "$UP/x" && sed -i "s/^Version: .*/Version: $VERSION+debtest1/" "$UP/x/DEBIAN/control" &&
	dpkg-deb --root-owner-group -b "$UP/x" "$R/tmp/cnic_up.deb" >/dev/null || { fail "repack a bumped version" "dpkg-deb failed"; exit 1; }
rm -rf "$UP"
cp "$DEB" "$R/tmp/cnic.deb"
chmod 0644 "$R/tmp/"*.deb

# 1. install with apt, README.md's line run as typed (from a directory holding build/deb/, -y
# added for no terminal): the libraries come from the mirror
README_APT=$(/usr/bin/python3 tests/readme_blocks.py lines deb README.md | grep '^apt')
[ -n "$README_APT" ] || { fail "README's apt install line" "none (<!-- test: deb -->)"; exit 1; }
mkdir -p "$R/tmp/readme/build/deb" && cp "$DEB" "$R/tmp/readme/build/deb/" && chmod -R a+rX "$R/tmp/readme"
if in_root sh -c "cd /tmp/readme && $README_APT -y -q -o Dpkg::Use-Pty=0" >"$R/tmp/apt.log" 2>&1; then
	ok "README: $README_APT"
else
	fail "README: $README_APT" "$(tail -5 "$R/tmp/apt.log")"
	exit 1
fi
check_eq "cnic $VERSION is installed" "$(status cnic)" "install ok installed $VERSION"
for f in /usr/lib/cni/bridge /usr/lib/cni/loopback /usr/lib/cni/host-local /usr/lib/cni/dhcp /usr/lib/cni/dnsname /usr/bin/cnitool \
	/lib/systemd/system/cni-dhcp.socket /lib/systemd/system/cni-dnsname.service /usr/share/man/man7/cnic.7.gz /usr/share/man/man1/cnitool.1.gz; do
	check_eq "$f is cnic's" "$(owner "$f")" cnic
done
check_eq "the units run the plugins from /usr/lib/cni" \
	"$(grep -h ^ExecStart= "$R/lib/systemd/system/cni-dhcp.service" "$R/lib/systemd/system/cni-dnsname.service" | cut -d' ' -f1)" \
	"$(printf 'ExecStart=/usr/lib/cni/dhcp\nExecStart=/usr/lib/cni/dnsname')"
links=$(unit_links)
case $links in
*sockets.target.wants/cni-dhcp.socket*sockets.target.wants/cni-dnsname.socket*) ok "the two sockets are enabled" ;;
*) fail "the two sockets are enabled" "links: $links" ;;
esac
case $links in
*wants/cni-dhcp.service* | *wants/cni-dnsname.service*) fail "the services are not enabled (socket-activated)" "links: $links" ;;
*) ok "the services are not enabled (socket-activated)" ;;
esac

# 2. the plugins run: VERSION, a loopback ADD/CHECK/DEL in a network namespace of their own
out=$(in_root CNI_COMMAND=VERSION /usr/lib/cni/bridge </dev/null 2>&1)
if jq -e '.supportedVersions | index("1.1.0")' >/dev/null 2>&1 <<<"$out"; then
	ok "bridge VERSION lists 1.1.0"
else
	fail "bridge VERSION lists 1.1.0" "$out"
fi
out=$(in_root /usr/bin/cnitool --version 2>&1)
case $out in *"${VERSION%%-*}"*) ok "cnitool --version names ${VERSION%%-*}" ;; *) fail "cnitool --version names ${VERSION%%-*}" "$out" ;; esac
out=$(in_root /usr/lib/cni/bridge --version 2>&1)
case $out in
*"${VERSION%%-*}"*) ok "bridge --version names ${VERSION%%-*}" ;;
*) skip "bridge --version" "no release in its output yet: $(head -1 <<<"$out")" ;;
esac
conf='{"cniVersion":"1.1.0","name":"lo","type":"loopback"}'
# the namespace: held by a sleep of a network namespace of its own (CNI_NETNS=/proc/PID/ns/net)
unshare -n sleep 600 &
HOLD=$!
lo_state() { nsenter --net="/proc/$HOLD/ns/net" ip -j addr show lo | jq -r '.[0].operstate + " " + ([.[0].addr_info[].local] | join(","))'; }
loopback() { echo "$conf" | in_root CNI_COMMAND="$1" CNI_CONTAINERID=deb1 CNI_NETNS="/proc/$HOLD/ns/net" CNI_IFNAME=lo CNI_PATH=/usr/lib/cni /usr/lib/cni/loopback; }
# until the holder's unshare(2) is done (its netns differs from ours), at most 5 s
for _ in $(seq 50); do
	[ "$(readlink "/proc/$HOLD/ns/net")" != "$(readlink /proc/self/ns/net)" ] && break
	sleep 0.1
done
check_eq "a fresh netns: lo down" "$(lo_state)" "DOWN "
out=$(loopback ADD 2>&1)
check_eq "loopback ADD in the netns: lo up with its addresses" "$(lo_state)" "UNKNOWN 127.0.0.1,::1"
check_eq "loopback ADD's result names lo" "$(jq -r '.interfaces[0].name' <<<"$out" 2>&1)" lo
out=$(loopback DEL 2>&1)
check_eq "loopback DEL: lo down again, nothing printed" "$(lo_state | cut -d' ' -f1) $out" "DOWN "
kill "$HOLD"
wait "$HOLD" 2>/dev/null
HOLD=""

# 3. upgrade to a higher version
if apt_in install ./tmp/cnic_up.deb; then ok "apt-get install ./cnic_up.deb (upgrade)"; else fail "upgrade" "$(tail -5 "$R/tmp/apt.log")"; fi
check_eq "cnic $VERSION+debtest1 is installed" "$(status cnic)" "install ok installed $VERSION+debtest1"
check_eq "the sockets stay enabled across the upgrade" "$(unit_links)" "$links"
check_eq "bridge is still cnic's" "$(owner /usr/lib/cni/bridge)" cnic

# 4. Debian's containernetworking-plugins replaces it, and cnic replaces that one back
if apt_in install containernetworking-plugins; then ok "apt-get install containernetworking-plugins"; else fail "apt-get install containernetworking-plugins" "$(tail -5 "$R/tmp/apt.log")"; fi
check_eq "cnic is removed by the conflict" "$(status cnic | cut -d' ' -f1-3)" "deinstall ok config-files"
check_eq "/usr/lib/cni/bridge is containernetworking-plugins'" "$(owner /usr/lib/cni/bridge)" containernetworking-plugins
[ ! -e "$R/usr/lib/cni/dnsname" ] && [ ! -e "$R/usr/bin/cnitool" ] && ok "cnic's own files (dnsname, cnitool) went with it" ||
	fail "cnic's own files (dnsname, cnitool) went with it" "still there"
if apt_in install ./tmp/cnic_up.deb; then ok "apt-get install ./cnic_up.deb over containernetworking-plugins"; else fail "cnic back" "$(tail -5 "$R/tmp/apt.log")"; fi
check_eq "cnic is installed again" "$(status cnic)" "install ok installed $VERSION+debtest1"
check_eq "containernetworking-plugins is removed by the conflict" "$(status containernetworking-plugins | cut -d' ' -f1-3)" "deinstall ok config-files"
check_eq "/usr/lib/cni/bridge is cnic's again" "$(owner /usr/lib/cni/bridge)" cnic
files=$(in_root dpkg-query -L cnic | while read -r f; do [ -d "$R$f" ] || echo "$f"; done)
out=$(in_root CNI_COMMAND=VERSION /usr/lib/cni/loopback </dev/null 2>&1)
jq -e .supportedVersions >/dev/null 2>&1 <<<"$out" && ok "loopback runs after the round trip" || fail "loopback runs after the round trip" "$out"

# 5. purge: nothing of cnic left
if apt_in purge cnic containernetworking-plugins; then ok "apt-get purge cnic"; else fail "apt-get purge cnic" "$(tail -5 "$R/tmp/apt.log")"; fi
check_eq "dpkg knows nothing of cnic" "$(status cnic)" ""
left=$(for f in $files; do [ -e "$R$f" ] || [ -L "$R$f" ] && echo "$f"; done)
check_eq "none of cnic's $(wc -w <<<"$files") files is left" "$left" ""
check_eq "no unit link or deb-systemd-helper state is left" "$(unit_links)" ""
check_eq "/usr/lib/cni is gone" "$(ls -A "$R/usr/lib/cni" 2>&1 | head -3)" "ls: cannot access '$R/usr/lib/cni': No such file or directory"
echo "# deb: $(($(date +%s) - start)) s"
exit $T_FAILED
