// SPDX-License-Identifier: Apache-2.0
/*
 * Tap devices, interface aliases, lookup by hardware address and temporary namespaces (see
 * tuntap.h). A tap is created with the tun driver's ioctls rather than RTM_NEWLINK: the kernel
 * has no rtnetlink "create" for tun (IFLA_TUN_* are read-only), so `ip tuntap`, the Go netlink
 * library and we all open /dev/net/tun. The device lands in the netns the tun file was opened
 * in, so only open() runs inside the target netns; every ioctl runs from the caller's. Creates a
 * tap (nu_tap_create) and an anonymous netns (nu_netns_temp); nothing else.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <linux/rtnetlink.h>
#include <netlink/route/link.h>

#include "netutil/internal.h"
#include "netutil/tuntap.h"

static void link_put(struct rtnl_link **l)
{
	if (*l)
		rtnl_link_put(*l);
}
#define _link_cleanup_ __attribute__((cleanup(link_put)))

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

int nu_link_alias_get(struct nu_nl *nl, int ifindex, char *buf, size_t len, struct cni_err *e)
{
	_link_cleanup_ struct rtnl_link *l = NULL;
	const char *a;
	int r;

	if (ifindex <= 0)
		return nu__failx(e, -ENODEV, "looking up link #%d", ifindex);
	r = nu__link_kernel(nl, ifindex, NULL, &l);
	if (r < 0)
		return nu__fail(nl, e, r, "looking up link #%d", ifindex);
	a = rtnl_link_get_ifalias(l);
	if (!a)
		a = "";
	if (strlen(a) >= len)
		return nu__failx(e, -ENAMETOOLONG, "alias of link #%d too long", ifindex);
	strcpy(buf, a);
	return 0;
}

int nu_link_alias_set(struct nu_nl *nl, int ifindex, const char *alias, struct cni_err *e)
{
	struct rtnl_link *chg = rtnl_link_alloc();
	int r;

	/* "" is sent as a one-byte attribute: the kernel stores an empty alias and stops
	 * reporting IFLA_IFALIAS, the same as cleared. */
	if (chg)
		rtnl_link_set_ifalias(chg, alias);
	r = nu__link_change(nl, ifindex, chg);
	return r < 0 ? nu__fail(nl, e, r, "setting alias \"%s\" on link %s", alias,
				LINK(nl, ifindex))
		     : 0;
}

struct mac_find {
	const uint8_t *mac;
	size_t len;
	int ifindex;
};

static int mac_parse(struct nlmsghdr *nlh, void *arg)
{
	struct mac_find *f = arg;
	struct nlattr *tb[IFLA_MAX + 1];
	struct ifinfomsg *ifi = nlmsg_data(nlh);
	struct nlattr *a;

	if (f->ifindex || nlh->nlmsg_type != RTM_NEWLINK ||
	    nlmsg_parse(nlh, sizeof(*ifi), tb, IFLA_MAX, NULL) < 0)
		return 0;
	a = tb[IFLA_ADDRESS];
	if (a && (size_t)nla_len(a) == f->len && !memcmp(nla_data(a), f->mac, f->len))
		f->ifindex = ifi->ifi_index;
	return 0;
}

static void mac_reset(void *arg)
{
	((struct mac_find *)arg)->ifindex = 0;
}

int nu_link_by_mac(struct nu_nl *nl, const uint8_t *mac, size_t len, struct cni_err *e)
{
	struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC};
	struct mac_find f = {.mac = mac, .len = len};
	struct nl_msg *msg;
	int r;

	msg = nlmsg_alloc_simple(RTM_GETLINK, NLM_F_DUMP);
	if (!msg || nlmsg_append(msg, &ifi, sizeof(ifi), NLMSG_ALIGNTO) < 0) {
		nlmsg_free(msg);
		return nu__failx(e, -ENOMEM, "listing links");
	}
	r = nu__dump(nl, msg, mac_parse, mac_reset, &f);
	nlmsg_free(msg);
	if (r < 0)
		return nu__fail(nl, e, r, "listing links");
	if (!f.ifindex)
		return nu__failx(e, -ENODEV, "no link with that hardware address");
	return f.ifindex;
}

int nu_netns_temp(int *fd, struct cni_err *e)
{
	int orig, nfd, r;

	*fd = -1;
	orig = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (orig < 0)
		return nu__failx(e, -errno, "opening the current netns");
	if (unshare(CLONE_NEWNET) < 0) {
		r = -errno;
		close(orig);
		return nu__failx(e, r, "creating a temporary netns");
	}
	nfd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	r = nfd < 0 ? -errno : 0;
	nu_netns_leave(orig); /* aborts rather than stay in the wrong netns */
	if (r < 0)
		return nu__failx(e, r, "opening the temporary netns");
	*fd = nfd;
	return 0;
}
