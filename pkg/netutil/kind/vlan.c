// SPDX-License-Identifier: Apache-2.0
/*
 * VLAN links (vlan.h). The RTM_NEWLINK request is built by hand (nu__newlink_*(), as
 * for macvlan and ipvlan): with IFLA_NET_NS_FD the VLAN is born in the container netns, so a
 * temporary name can only clash there, and the VLAN protocol (IFLA_VLAN_PROTOCOL, Linux 3.10) is
 * set in the same message. Reading back is one RTM_GETLINK by name whose IFLA_INFO_DATA is
 * parsed (nu__link_data_get()). Creation is exclusive (NLM_F_EXCL); nothing is deleted here.
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
#include "netutil/kind/vlan.h"

int nu_vlan_create(struct nu_nl *nl, const struct nu_vlan_spec *s, struct cni_err *e)
{
	struct nu__newlink m;
	char id[16];

	if (nu_ifname_valid(s->link.name) && s->vid > 4094)
		return nu__failx(e, -EINVAL, "creating vlan \"%s\": invalid id %u", s->link.name,
				 s->vid);
	nu__newlink_start(&m, "vlan", &s->link, e);
	nu__newlink_u16(&m, IFLA_VLAN_ID, s->vid);
	nu__newlink_u16(&m, IFLA_VLAN_PROTOCOL, htons(s->proto ? s->proto : ETH_P_8021Q));
	snprintf(id, sizeof(id), "(id %u)", s->vid);
	return nu__newlink_send(nl, &m, id, e);
}

struct vlan_info {
	uint16_t vid, proto;
};

static void info_data(struct nlattr **d, void *arg)
{
	struct vlan_info *in = arg;

	in->proto = ETH_P_8021Q;
	if (nu__attr(d, IFLA_VLAN_ID, 2))
		in->vid = nla_get_u16(d[IFLA_VLAN_ID]);
	if (nu__attr(d, IFLA_VLAN_PROTOCOL, 2))
		in->proto = ntohs(nla_get_u16(d[IFLA_VLAN_PROTOCOL]));
}

int nu_vlan_get(struct nu_nl *nl, const char *name, uint16_t *vid, uint16_t *proto,
		struct cni_err *e)
{
	struct vlan_info in = {0};
	int r = nu__link_data_get(nl, name, "vlan", "a vlan", IFLA_VLAN_MAX, info_data, &in, e);

	if (r < 0)
		return r;
	*vid = in.vid;
	if (proto)
		*proto = in.proto;
	return 0;
}
