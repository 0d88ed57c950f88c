// SPDX-License-Identifier: Apache-2.0
/*
 * VLAN and dummy links (vlan.h). The RTM_NEWLINK request is built by hand, as for ipvlan: with
 * IFLA_NET_NS_FD the VLAN is born in the container netns, so a temporary name can only clash
 * there, and the VLAN protocol (IFLA_VLAN_PROTOCOL, Linux 3.10) is set in the same message.
 * Reading back is one RTM_GETLINK by name whose IFLA_INFO_DATA is parsed here. Creation is
 * exclusive (NLM_F_EXCL); nothing is deleted here.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <netlink/attr.h>
#include <netlink/msg.h>

#include "netutil/internal.h"
#include "netutil/vlan.h"

static void msg_free(struct nl_msg **m)
{
	if (*m)
		nlmsg_free(*m);
}
#define _msg_cleanup_ __attribute__((cleanup(msg_free)))

/* RTM_NEWLINK, exclusive, named @name, with IFLA_LINKINFO opened on @kind; NULL when short. */
static struct nl_msg *newlink(const char *name, const char *kind, struct nlattr **li)
{
	struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC};
	struct nl_msg *msg = nlmsg_alloc_simple(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);

	if (!msg)
		return NULL;
	if (nlmsg_append(msg, &ifi, sizeof(ifi), NLMSG_ALIGNTO) < 0 ||
	    nla_put_string(msg, IFLA_IFNAME, name) < 0)
		goto fail;
	*li = nla_nest_start(msg, IFLA_LINKINFO | NLA_F_NESTED);
	if (!*li || nla_put_string(msg, IFLA_INFO_KIND, kind) < 0)
		goto fail;
	return msg;
fail:
	nlmsg_free(msg);
	return NULL;
}

int nu_vlan_create(struct nu_nl *nl, const char *name, int master, uint16_t vid, uint16_t proto,
		   unsigned int mtu, int target_netns_fd, struct cni_err *e)
{
	_msg_cleanup_ struct nl_msg *msg = NULL;
	struct nlattr *li, *data;
	int r;

	if (!nu_ifname_valid(name))
		return nu__failx(e, -EINVAL, "creating vlan: invalid name \"%s\"", name ? name : "");
	if (vid > 4094)
		return nu__failx(e, -EINVAL, "creating vlan \"%s\": invalid id %u", name, vid);
	msg = newlink(name, "vlan", &li);
	if (!msg)
		return nu__failx(e, -ENOMEM, "creating vlan \"%s\"", name);
	data = nla_nest_start(msg, IFLA_INFO_DATA | NLA_F_NESTED);
	if (!data || nla_put_u16(msg, IFLA_VLAN_ID, vid) < 0 ||
	    nla_put_u16(msg, IFLA_VLAN_PROTOCOL, htons(proto ? proto : ETH_P_8021Q)) < 0)
		goto nomem;
	nla_nest_end(msg, data);
	nla_nest_end(msg, li);
	/* outside IFLA_LINKINFO: attributes of the link itself */
	if (nla_put_u32(msg, IFLA_LINK, master) < 0 || (mtu && nla_put_u32(msg, IFLA_MTU, mtu) < 0) ||
	    (target_netns_fd >= 0 && nla_put_u32(msg, IFLA_NET_NS_FD, target_netns_fd) < 0))
		goto nomem;
	r = nu__talk(nl, msg);
	msg = NULL; /* nu__talk() freed it */
	if (r < 0)
		return nu__fail(nl, e, r, "creating vlan \"%s\" (id %u) on link %s", name, vid,
				LINK(nl, master));
	return 0;
nomem:
	return nu__failx(e, -EMSGSIZE, "creating vlan \"%s\": message too long", name);
}

struct vlan_info {
	bool found, is_vlan;
	uint16_t vid, proto;
};

static int info_parse(struct nlmsghdr *nlh, void *arg)
{
	struct nlattr *tb[IFLA_MAX + 1], *li[IFLA_INFO_MAX + 1], *d[IFLA_VLAN_MAX + 1];
	struct vlan_info *in = arg;

	if (nlh->nlmsg_type != RTM_NEWLINK ||
	    nlmsg_parse(nlh, sizeof(struct ifinfomsg), tb, IFLA_MAX, NULL) < 0)
		return 0;
	in->found = true;
	if (!tb[IFLA_LINKINFO] || nla_parse_nested(li, IFLA_INFO_MAX, tb[IFLA_LINKINFO], NULL) < 0)
		return 0;
	if (!li[IFLA_INFO_KIND] || nla_len(li[IFLA_INFO_KIND]) < 5 ||
	    strncmp(nla_data(li[IFLA_INFO_KIND]), "vlan", 5))
		return 0;
	in->is_vlan = true;
	in->proto = ETH_P_8021Q;
	if (!li[IFLA_INFO_DATA] || nla_parse_nested(d, IFLA_VLAN_MAX, li[IFLA_INFO_DATA], NULL) < 0)
		return 0;
	if (nu__attr(d, IFLA_VLAN_ID, 2))
		in->vid = nla_get_u16(d[IFLA_VLAN_ID]);
	if (nu__attr(d, IFLA_VLAN_PROTOCOL, 2))
		in->proto = ntohs(nla_get_u16(d[IFLA_VLAN_PROTOCOL]));
	return 0;
}

int nu_vlan_get(struct nu_nl *nl, const char *name, uint16_t *vid, uint16_t *proto,
		struct cni_err *e)
{
	struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC};
	_msg_cleanup_ struct nl_msg *msg = NULL;
	struct vlan_info in = {0};
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
	if (!in.is_vlan)
		return nu__failx(e, -EMEDIUMTYPE, "link \"%s\" is not a vlan", name);
	*vid = in.vid;
	if (proto)
		*proto = in.proto;
	return 0;
}

int nu_dummy_create(struct nu_nl *nl, const char *name, struct cni_err *e)
{
	_msg_cleanup_ struct nl_msg *msg = NULL;
	struct nlattr *li;
	int r;

	if (!nu_ifname_valid(name))
		return nu__failx(e, -EINVAL, "creating dummy: invalid name \"%s\"", name ? name : "");
	msg = newlink(name, "dummy", &li);
	if (!msg)
		return nu__failx(e, -ENOMEM, "creating dummy \"%s\"", name);
	nla_nest_end(msg, li);
	r = nu__talk(nl, msg);
	msg = NULL;
	if (r < 0)
		return nu__fail(nl, e, r, "creating dummy \"%s\"", name);
	return 0;
}
