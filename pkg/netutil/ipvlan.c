// SPDX-License-Identifier: Apache-2.0
/*
 * ipvlan links (ipvlan.h). The RTM_NEWLINK request is built by hand, as for macvlan in link.c:
 * libnl 3.7 sets IFLA_IPVLAN_MODE but has no IFLA_IPVLAN_FLAGS (Linux 4.15), and IFLA_NET_NS_FD
 * makes the link born in the container netns, so a temporary name can only clash there. Reading
 * back is one RTM_GETLINK by name whose IFLA_INFO_DATA is parsed here for the same reason.
 * Creation is exclusive (NLM_F_EXCL); nothing is deleted here.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <netlink/attr.h>
#include <netlink/msg.h>

#include "netutil/internal.h"
#include "netutil/ipvlan.h"

static void msg_free(struct nl_msg **m)
{
	if (*m)
		nlmsg_free(*m);
}
#define _msg_cleanup_ __attribute__((cleanup(msg_free)))

int nu_ipvlan_create(struct nu_nl *nl, const char *tmpname, int master, uint16_t mode,
		     uint16_t flags, unsigned int mtu, int target_netns_fd, struct cni_err *e)
{
	struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC};
	_msg_cleanup_ struct nl_msg *msg = NULL;
	struct nlattr *li, *data;
	int r;

	if (!nu_ifname_valid(tmpname))
		return nu__failx(e, -EINVAL, "creating ipvlan: invalid name \"%s\"",
				 tmpname ? tmpname : "");
	msg = nlmsg_alloc_simple(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
	if (!msg)
		return nu__failx(e, -ENOMEM, "creating ipvlan \"%s\"", tmpname);
	if (nlmsg_append(msg, &ifi, sizeof(ifi), NLMSG_ALIGNTO) < 0 ||
	    nla_put_string(msg, IFLA_IFNAME, tmpname) < 0 ||
	    nla_put_u32(msg, IFLA_LINK, master) < 0 ||
	    (mtu && nla_put_u32(msg, IFLA_MTU, mtu) < 0) ||
	    (target_netns_fd >= 0 && nla_put_u32(msg, IFLA_NET_NS_FD, target_netns_fd) < 0))
		goto nomem;
	li = nla_nest_start(msg, IFLA_LINKINFO | NLA_F_NESTED);
	if (!li || nla_put_string(msg, IFLA_INFO_KIND, "ipvlan") < 0)
		goto nomem;
	data = nla_nest_start(msg, IFLA_INFO_DATA | NLA_F_NESTED);
	/* flags 0 is the kernel's default (bridge): left out, so pre-4.15 kernels accept l2/l3 */
	if (!data || nla_put_u16(msg, IFLA_IPVLAN_MODE, mode) < 0 ||
	    (flags && nla_put_u16(msg, IFLA_IPVLAN_FLAGS, flags) < 0))
		goto nomem;
	nla_nest_end(msg, data);
	nla_nest_end(msg, li);
	r = nu__talk(nl, msg);
	msg = NULL; /* nu__talk() freed it */
	if (r < 0)
		return nu__fail(nl, e, r, "creating ipvlan \"%s\" on link %s", tmpname,
				LINK(nl, master));
	return 0;
nomem:
	return nu__failx(e, -EMSGSIZE, "creating ipvlan \"%s\": message too long", tmpname);
}

struct ipvlan_info {
	bool found, is_ipvlan;
	uint16_t mode, flags;
};

static int info_parse(struct nlmsghdr *nlh, void *arg)
{
	struct nlattr *tb[IFLA_MAX + 1], *li[IFLA_INFO_MAX + 1], *d[IFLA_IPVLAN_MAX + 1];
	struct ipvlan_info *in = arg;

	if (nlh->nlmsg_type != RTM_NEWLINK ||
	    nlmsg_parse(nlh, sizeof(struct ifinfomsg), tb, IFLA_MAX, NULL) < 0)
		return 0;
	in->found = true;
	if (!tb[IFLA_LINKINFO] || nla_parse_nested(li, IFLA_INFO_MAX, tb[IFLA_LINKINFO], NULL) < 0)
		return 0;
	if (!li[IFLA_INFO_KIND] || nla_len(li[IFLA_INFO_KIND]) < 7 ||
	    strncmp(nla_data(li[IFLA_INFO_KIND]), "ipvlan", 7))
		return 0;
	in->is_ipvlan = true;
	if (!li[IFLA_INFO_DATA] || nla_parse_nested(d, IFLA_IPVLAN_MAX, li[IFLA_INFO_DATA], NULL) < 0)
		return 0;
	if (nu__attr(d, IFLA_IPVLAN_MODE, 2))
		in->mode = nla_get_u16(d[IFLA_IPVLAN_MODE]);
	if (nu__attr(d, IFLA_IPVLAN_FLAGS, 2))
		in->flags = nla_get_u16(d[IFLA_IPVLAN_FLAGS]);
	return 0;
}

int nu_ipvlan_get(struct nu_nl *nl, const char *name, uint16_t *mode, uint16_t *flags,
		  struct cni_err *e)
{
	struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC};
	_msg_cleanup_ struct nl_msg *msg = NULL;
	struct ipvlan_info in = {0};
	int r;

	if (!nu_ifname_valid(name))
		return nu__failx(e, -EINVAL, "invalid link name \"%s\"", name ? name : "");
	msg = nlmsg_alloc_simple(RTM_GETLINK, 0);
	if (!msg || nlmsg_append(msg, &ifi, sizeof(ifi), NLMSG_ALIGNTO) < 0 ||
	    nla_put_string(msg, IFLA_IFNAME, name) < 0)
		return nu__failx(e, -ENOMEM, "looking up link \"%s\"", name);
	/* nu__dump() takes the single answer too; the ack behind it is collected after */
	r = nu__dump(nl, msg, info_parse, NULL, &in);
	if (r == 0 && in.found)
		r = nu__result(nl, nl_wait_for_ack(nl->sk));
	else if (r == 0)
		r = -ENODEV;
	if (r < 0)
		return nu__fail(nl, e, r, "looking up link \"%s\"", name);
	if (!in.is_ipvlan)
		return nu__failx(e, -EMEDIUMTYPE, "link \"%s\" is not an ipvlan", name);
	*mode = in.mode;
	*flags = in.flags;
	return 0;
}
