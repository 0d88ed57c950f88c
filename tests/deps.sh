#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Installs the Debian packages the build and the tests need, only those missing.
#   tests/deps.sh [all]   everything `make check` needs (the default)
#   tests/deps.sh build   what `make` and `make install` need (compiler, libraries, scdoc)
#   tests/deps.sh demo    build + what `make demo` runs (ip, nft, jq, ping)
#   tests/deps.sh deb     build + what `make deb` and `make deb-test` need (debhelper, lintian,
#                         debootstrap)
set -eu
build="build-essential pkg-config libnl-route-3-dev libmnl-dev libnftnl-dev libjansson-dev libmd-dev libsystemd-dev libip4tc-dev libip6tc-dev scdoc"
demo="iproute2 nftables jq iputils-ping util-linux"
deb="dpkg-dev debhelper lintian debootstrap"
case ${1:-all} in
build) need=$build ;;
demo) need="$build $demo" ;;
deb) need="$build $deb" ;;
all)
	need="$build $demo $deb clang
iptables strace socat conntrack qemu-system-x86 busybox-static dnsmasq-base dnsutils knot-dnsutils valgrind python3 containernetworking-plugins procps gnuplot-nox
containerd runc python3-grpcio python3-grpc-tools python3-protobuf podman conmon file git dbus-daemon dbus-bin python3-dbus python3-gi
golang-go golang-github-appc-cni-dev"
	# golang-go, golang-github-appc-cni-dev: tests/netns/libcni_interop.sh builds Go's libcni
	# (offline, GOPATH mode) to run the same conflists through it and through cnitool.
	# firewalld (tests/netns/firewalld.sh runs a real one in a private netns on a private bus): only
	# where systemd is not PID 1, since on a systemd host its package starts it on the host's network.
	[ -d /run/systemd/system ] || need="$need firewalld"
	;;
*)
	echo "usage: tests/deps.sh [all|build|demo|deb]" >&2
	exit 2
	;;
esac
missing=""
for p in $need; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "deps: missing Debian packages:$missing (run as root or install them)" >&2
	exit 1
fi
echo "deps: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends $missing >/dev/null
