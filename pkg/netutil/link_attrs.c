// SPDX-License-Identifier: Apache-2.0
/*
 * Transmit queue length and all-multicast mode of a link (see link_attrs.h). Changes are
 * RTM_NEWLINK without NLM_F_CREATE through libnl's link change, carrying only the attribute or
 * flag being changed (the kernel applies only the bits of ifi_change). Creates nothing.
 */
#include <errno.h>
#include <string.h>
#include <linux/if.h>
#include <netlink/route/link.h>

#include "netutil/internal.h"
#include "netutil/link_attrs.h"

static void link_put(struct rtnl_link **l)
{
	if (*l)
		rtnl_link_put(*l);
}
#define _link_cleanup_ __attribute__((cleanup(link_put)))

int nu_link_attrs_get(struct nu_nl *nl, int ifindex, struct nu_link_attrs *out, struct cni_err *e)
{
	_link_cleanup_ struct rtnl_link *l = NULL;
	unsigned int flags;
	int r;

	if (ifindex <= 0)
		return nu__failx(e, -ENODEV, "looking up link #%d: %s", ifindex, strerror(ENODEV));
	r = nu__link_kernel(nl, ifindex, NULL, &l);
	if (r < 0)
		return nu__fail(nl, e, r, "looking up link #%d", ifindex);
	flags = rtnl_link_get_flags(l);
	out->txqlen = rtnl_link_get_txqlen(l);
	out->allmulti = flags & IFF_ALLMULTI;
	out->promisc = flags & IFF_PROMISC;
	return 0;
}

int nu_link_set_allmulti(struct nu_nl *nl, int ifindex, bool on, struct cni_err *e)
{
	struct rtnl_link *chg = rtnl_link_alloc();
	int r;

	if (chg) {
		if (on)
			rtnl_link_set_flags(chg, IFF_ALLMULTI);
		else
			rtnl_link_unset_flags(chg, IFF_ALLMULTI);
	}
	r = nu__link_change(nl, ifindex, chg);
	return r < 0 ? nu__fail(nl, e, r, "turning all-multicast mode %s for link %s",
				on ? "on" : "off", LINK(nl, ifindex))
		     : 0;
}

int nu_link_set_txqlen(struct nu_nl *nl, int ifindex, unsigned int txqlen, struct cni_err *e)
{
	struct rtnl_link *chg = rtnl_link_alloc();
	int r;

	if (chg)
		rtnl_link_set_txqlen(chg, txqlen);
	r = nu__link_change(nl, ifindex, chg);
	return r < 0 ? nu__fail(nl, e, r, "setting transmit queue length %u on link %s", txqlen,
				LINK(nl, ifindex))
		     : 0;
}
