#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Installs the Debian packages the build and the tests need, only those missing.
set -eu
# golang-go, golang-github-appc-cni-dev: tests/netns/libcni_interop.sh builds Go's libcni (offline,
# GOPATH mode) to run the same conflists through it and through cnitool.
need="build-essential pkg-config clang scdoc libnl-route-3-dev libmnl-dev libnftnl-dev libjansson-dev libmd-dev libsystemd-dev libip4tc-dev libip6tc-dev
iproute2 nftables iptables jq strace socat conntrack qemu-system-x86 busybox-static dnsmasq-base dnsutils knot-dnsutils valgrind python3 containernetworking-plugins procps iputils-ping util-linux
containerd runc python3-grpcio python3-grpc-tools python3-protobuf podman conmon file git dbus-daemon dbus-bin python3-dbus python3-gi
golang-go golang-github-appc-cni-dev"
# firewalld (tests/netns/firewalld.sh runs a real one in a private netns on a private bus): only
# where systemd is not PID 1, since on a systemd host its package starts it on the host's network.
[ -d /run/systemd/system ] || need="$need firewalld"
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
