// SPDX-License-Identifier: Apache-2.0
/*
 * ipvlan links (ipvlan.h). The RTM_NEWLINK request is built by hand (nu__newlink_*(), as for
 * macvlan): libnl 3.7 sets IFLA_IPVLAN_MODE but has no IFLA_IPVLAN_FLAGS (Linux 4.15),
 * and IFLA_NET_NS_FD makes the link born in the container netns, so a temporary name can only
 * clash there. Reading back is one RTM_GETLINK by name whose IFLA_INFO_DATA is parsed here for
 * the same reason.
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
#include "netutil/kind/ipvlan.h"

_Static_assert(NU_IPVLAN_MODE_L2 == IPVLAN_MODE_L2 && NU_IPVLAN_MODE_L3 == IPVLAN_MODE_L3 &&
		       NU_IPVLAN_MODE_L3S == IPVLAN_MODE_L3S &&
		       NU_IPVLAN_F_PRIVATE == IPVLAN_F_PRIVATE && NU_IPVLAN_F_VEPA == IPVLAN_F_VEPA,
	       "ipvlan.h's copies of the kernel's values");

int nu_ipvlan_create(struct nu_nl *nl, const struct nu_ipvlan_spec *s, struct cni_err *e)
{
	struct nu__newlink m;

	nu__newlink_start(&m, "ipvlan", &s->link, e);
	nu__newlink_u16(&m, IFLA_IPVLAN_MODE, s->mode);
	/* flags 0 is the kernel's default (bridge): left out, so pre-4.15 kernels accept l2/l3 */
	if (s->flags)
		nu__newlink_u16(&m, IFLA_IPVLAN_FLAGS, s->flags);
	return nu__newlink_send(nl, &m, NULL, e);
}

struct ipvlan_info {
	uint16_t mode, flags;
};

static void info_data(struct nlattr **d, void *arg)
{
	struct ipvlan_info *in = arg;

	if (nu__attr(d, IFLA_IPVLAN_MODE, 2))
		in->mode = nla_get_u16(d[IFLA_IPVLAN_MODE]);
	if (nu__attr(d, IFLA_IPVLAN_FLAGS, 2))
		in->flags = nla_get_u16(d[IFLA_IPVLAN_FLAGS]);
}

int nu_ipvlan_get(struct nu_nl *nl, const char *name, uint16_t *mode, uint16_t *flags,
		  struct cni_err *e)
{
	struct ipvlan_info in = {0};
	int r;

	r = nu__link_data_get(nl, name, "ipvlan", "an ipvlan", IFLA_IPVLAN_MAX, info_data, &in, e);

	if (r < 0)
		return r;
	*mode = in.mode;
	*flags = in.flags;
	return 0;
}
