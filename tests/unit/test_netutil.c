// SPDX-License-Identifier: Apache-2.0
/*
 * pkg/netutil's parts that need no kernel: netlink error codes to errnos, interface name
 * validation and sysctl key to /proc/sys path (tests/kernel/test_netutil.c checks the rest
 * against the real kernel).
 */
#include <errno.h>

#include "netutil/netutil.h"
#include "tap.h"

int main(void)
{
	char buf[128];

	CHECK_INT(nu_errno_from_nl(-6 /* NLE_EXIST */), -EEXIST);
	CHECK_INT(nu_errno_from_nl(6), -EEXIST);
	CHECK_INT(nu_errno_from_nl(-31 /* NLE_NODEV */), -ENODEV);
	CHECK_INT(nu_errno_from_nl(-12 /* NLE_OBJ_NOTFOUND */), -ENOENT);
	CHECK_INT(nu_errno_from_nl(-33 /* NLE_DUMP_INTR */), -EINTR);
	CHECK_INT(nu_errno_from_nl(0), 0);
	CHECK_INT(nu_errno_from_nl(-1000), -EIO);

	CHECK(nu_ifname_valid("eth0"));
	CHECK(nu_ifname_valid("eth0.100"));
	CHECK(nu_ifname_valid("123456789012345"));
	CHECK(!nu_ifname_valid("1234567890123456"));
	CHECK(!nu_ifname_valid(""));
	CHECK(!nu_ifname_valid(".."));
	CHECK(!nu_ifname_valid("a/b"));
	CHECK(!nu_ifname_valid("a b"));

	CHECK_INT(nu_sysctl_path("net.ipv4.conf.eth0/100.forwarding", buf, sizeof(buf)), 0);
	CHECK_STR(buf, "/proc/sys/net/ipv4/conf/eth0.100/forwarding");
	CHECK_INT(nu_sysctl_path("net/ipv4/conf/eth0.100/forwarding", buf, sizeof(buf)), 0);
	CHECK_STR(buf, "/proc/sys/net/ipv4/conf/eth0.100/forwarding");
	CHECK_INT(nu_sysctl_path("net.ipv4.ip_forward", buf, sizeof(buf)), 0);
	CHECK_STR(buf, "/proc/sys/net/ipv4/ip_forward");
	CHECK_INT(nu_sysctl_path("net/../../etc/passwd", buf, sizeof(buf)), -EINVAL);
	CHECK_INT(nu_sysctl_path("net...x", buf, sizeof(buf)), -EINVAL);
	CHECK_INT(nu_sysctl_path("/net/x", buf, sizeof(buf)), -EINVAL);
	CHECK_INT(nu_sysctl_path("net/x/", buf, sizeof(buf)), -EINVAL);
	CHECK_INT(nu_sysctl_path("", buf, sizeof(buf)), -EINVAL);
	CHECK_INT(nu_sysctl_path("net.ipv4.ip_forward", buf, 16), -ENAMETOOLONG);
	return tap_done();
}
