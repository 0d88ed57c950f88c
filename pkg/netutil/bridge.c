// SPDX-License-Identifier: Apache-2.0
/*
 * Bridge port settings and bridge VLANs: AF_BRIDGE RTM_SETLINK/RTM_DELLINK requests carrying
 * IFLA_PROTINFO (hairpin, isolation) or IFLA_AF_SPEC (IFLA_BRIDGE_VLAN_INFO), built by hand since
 * libnl 3.7 has neither port isolation nor VLAN writes. Changes only the port or bridge it is
 * given; setting a flag to its current value and deleting an absent VLAN are both success.
 */
#include <errno.h>
#include <linux/if_bridge.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <netlink/attr.h>

#include "netutil/internal.h"

static struct nl_msg *bridge_msg(int type, int ifindex)
{
	struct ifinfomsg ifi = {.ifi_family = AF_BRIDGE, .ifi_index = ifindex};
	struct nl_msg *msg = nlmsg_alloc_simple(type, 0);

	if (msg && nlmsg_append(msg, &ifi, sizeof(ifi), NLMSG_ALIGNTO) < 0) {
		nlmsg_free(msg);
		msg = NULL;
	}
	return msg;
}

int nu_bridge_port_set(struct nu_nl *nl, int ifindex, int hairpin, int isolated, struct cni_err *e)
{
	struct nl_msg *msg;
	struct nlattr *pi;
	int r;

	if (hairpin < 0 && isolated < 0)
		return 0;
	msg = bridge_msg(RTM_SETLINK, ifindex);
	if (!msg)
		return nu__failx(e, -ENOMEM, "setting bridge port flags of link #%d", ifindex);
	/* without NLA_F_NESTED the kernel reads IFLA_PROTINFO as the old one-byte port state */
	pi = nla_nest_start(msg, IFLA_PROTINFO | NLA_F_NESTED);
	if (!pi || (hairpin >= 0 && nla_put_u8(msg, IFLA_BRPORT_MODE, !!hairpin) < 0) ||
	    (isolated >= 0 && nla_put_u8(msg, IFLA_BRPORT_ISOLATED, !!isolated) < 0)) {
		nlmsg_free(msg);
		return nu__failx(e, -EMSGSIZE, "setting bridge port flags of link #%d", ifindex);
	}
	nla_nest_end(msg, pi);
	r = nu__talk(nl, msg);
	if (r < 0)
		return nu__fail(nl, e, r,
				"setting bridge port flags (hairpin %d, isolated %d) of link %s",
				hairpin, isolated, LINK(nl, ifindex));
	return 0;
}

static int bridge_vlan(struct nu_nl *nl, int type, int ifindex, uint16_t vid, uint16_t flags,
		       bool self)
{
	struct bridge_vlan_info vi = {.flags = flags, .vid = vid};
	struct nl_msg *msg = bridge_msg(type, ifindex);
	struct nlattr *af;

	if (!msg)
		return -ENOMEM;
	af = nla_nest_start(msg, IFLA_AF_SPEC | NLA_F_NESTED);
	if (!af || (self && nla_put_u16(msg, IFLA_BRIDGE_FLAGS, BRIDGE_FLAGS_SELF) < 0) ||
	    nla_put(msg, IFLA_BRIDGE_VLAN_INFO, sizeof(vi), &vi) < 0) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	nla_nest_end(msg, af);
	return nu__talk(nl, msg);
}

int nu_bridge_vlan_add(struct nu_nl *nl, int ifindex, uint16_t vid, bool pvid, bool untagged,
		       bool self, struct cni_err *e)
{
	uint16_t flags =
	    (pvid ? BRIDGE_VLAN_INFO_PVID : 0) | (untagged ? BRIDGE_VLAN_INFO_UNTAGGED : 0);
	int r;

	if (vid < 1 || vid > 4094)
		return nu__failx(e, -EINVAL, "adding VLAN %u to link #%d: VLAN id out of range",
				 vid, ifindex);
	r = bridge_vlan(nl, RTM_SETLINK, ifindex, vid, flags, self);
	if (r < 0)
		return nu__fail(nl, e, r, "adding VLAN %u to link %s", vid, LINK(nl, ifindex));
	return 0;
}

int nu_bridge_vlan_del(struct nu_nl *nl, int ifindex, uint16_t vid, bool self, struct cni_err *e)
{
	int r;

	if (vid < 1 || vid > 4094)
		return nu__failx(e, -EINVAL, "deleting VLAN %u from link #%d: VLAN id out of range",
				 vid, ifindex);
	r = bridge_vlan(nl, RTM_DELLINK, ifindex, vid, 0, self);
	if (r == -ENOENT || r == -ENODEV)
		return 0;
	if (r < 0)
		return nu__fail(nl, e, r, "deleting VLAN %u from link %s", vid, LINK(nl, ifindex));
	return 0;
}
