// SPDX-License-Identifier: Apache-2.0
/*
 * Tap devices (see tuntap.h). A tap is created with the tun driver's ioctls rather than
 * RTM_NEWLINK: the kernel has no rtnetlink "create" for tun (IFLA_TUN_* are read-only), so `ip
 * tuntap`, the Go netlink library and we all open /dev/net/tun. The device lands in the netns
 * the tun file was opened in, so only open() runs inside the target netns; every ioctl runs from
 * the caller's. Creates a tap (nu_tap_create); nothing else.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <linux/if.h>
#include <linux/if_tun.h>

#include "netutil/internal.h"
#include "netutil/tuntap.h"

static int tun_open(int netns_fd, struct cni_err *e)
{
	int orig = -1, fd, r;

	if (netns_fd >= 0) {
		r = nu_netns_enter(netns_fd, &orig, e);
		if (r < 0)
			return r;
	}
	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	r = fd < 0 ? -errno : fd;
	if (orig >= 0)
		nu_netns_leave(orig);
	if (r < 0)
		return nu__failx(e, r, "opening /dev/net/tun");
	return r;
}

int nu_tap_create(struct nu_nl *nl, int netns_fd, const char *name, const struct nu_tap_opts *o,
		  struct cni_err *e)
{
	_nu_fd_cleanup_ int fd = -1;
	struct ifreq ifr = {0};
	int r;

	if (!nu_ifname_valid(name))
		return nu__failx(e, -EINVAL, "invalid tap name \"%s\"", name);
	/* TUNSETIFF on an existing tap attaches to it instead of failing: refuse first. */
	r = nu_link_index(nl, name);
	if (r > 0)
		return nu__failx(e, -EEXIST, "creating tap \"%s\"", name);
	if (r != -ENODEV)
		return nu__fail(nl, e, r, "looking up link \"%s\"", name);
	fd = tun_open(netns_fd, e);
	if (fd < 0)
		return fd;
	strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
	ifr.ifr_flags = IFF_TAP | (o->vnet_hdr ? IFF_VNET_HDR : 0) |
			(o->multi_queue ? IFF_MULTI_QUEUE : 0);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0)
		return nu__failx(e, -errno, "creating tap \"%s\" (TUNSETIFF)", name);
	/* Owner and group before persist: a failure now still takes the device with the fd. */
	if (o->has_owner && ioctl(fd, TUNSETOWNER, (unsigned long)o->owner) < 0)
		return nu__failx(e, -errno, "setting owner %u of tap \"%s\"",
				 (unsigned int)o->owner, name);
	if (o->has_group && ioctl(fd, TUNSETGROUP, (unsigned long)o->group) < 0)
		return nu__failx(e, -errno, "setting group %u of tap \"%s\"",
				 (unsigned int)o->group, name);
	if (ioctl(fd, TUNSETPERSIST, 1UL) < 0)
		return nu__failx(e, -errno, "making tap \"%s\" persistent", name);
	return 0;
}
