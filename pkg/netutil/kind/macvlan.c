// SPDX-License-Identifier: Apache-2.0
/*
 * macvlan links (macvlan.h). The RTM_NEWLINK request is built by hand (nu__newlink_*() of
 * link.c): IFLA_NET_NS_FD makes the link born in the container netns, so a temporary name can
 * only clash there, and IFLA_MACVLAN_BC_QUEUE_LEN (Linux 5.11) is not in libnl 3.7. The mode is
 * read back through libnl's macvlan object. Creation is exclusive (NLM_F_EXCL); nothing is
 * deleted here.
 */
#include <errno.h>
#include <linux/if_link.h>
#include <netlink/route/link.h>
#include <netlink/route/link/macvlan.h>

#include "netutil/internal.h"
#include "netutil/kind/macvlan.h"

_Static_assert(NU_MACVLAN_MODE_PRIVATE == MACVLAN_MODE_PRIVATE &&
		   NU_MACVLAN_MODE_VEPA == MACVLAN_MODE_VEPA &&
		   NU_MACVLAN_MODE_BRIDGE == MACVLAN_MODE_BRIDGE &&
		   NU_MACVLAN_MODE_PASSTHRU == MACVLAN_MODE_PASSTHRU &&
		   NU_MACVLAN_MODE_SOURCE == MACVLAN_MODE_SOURCE,
	       "macvlan.h's copies of the kernel's values");

int nu_macvlan_create(struct nu_nl *nl, const struct nu_macvlan_spec *s, struct cni_err *e)
{
	struct nu__newlink m;

	nu__newlink_start(&m, "macvlan", &s->link, e);
	nu__newlink_u32(&m, IFLA_MACVLAN_MODE, s->mode);
	if (s->bcqueuelen)
		nu__newlink_u32(&m, IFLA_MACVLAN_BC_QUEUE_LEN, s->bcqueuelen);
	return nu__newlink_send(nl, &m, NULL, e);
}

int nu_macvlan_mode(struct nu_nl *nl, const char *name, uint32_t *mode, struct cni_err *e)
{
	struct rtnl_link *l = NULL;
	int r;

	if (!nu_ifname_valid(name))
		return nu__failx(e, -EINVAL, "invalid link name \"%s\"", name ? name : "");
	r = nu__link_kernel(nl, 0, name, &l);
	if (r < 0)
		return nu__fail(nl, e, r, "looking up link \"%s\"", name);
	if (!rtnl_link_is_macvlan(l))
		r = nu__failx(e, -EMEDIUMTYPE, "link \"%s\" is not a macvlan", name);
	else
		*mode = rtnl_link_macvlan_get_mode(l);
	rtnl_link_put(l);
	return r;
}
