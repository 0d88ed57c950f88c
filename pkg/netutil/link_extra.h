/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Kernel helpers of the point-to-point and master-link (macvlan, ipvlan, vlan) plugins that the
 * core netutil API does not cover: the default-route interface found with one route lookup (not
 * a table dump), the master of a link (named, or that interface), routes with a preferred source
 * address (ptp's container routes). Nothing is created here except the routes nu_route_add_src()
 * is asked for; every function works through a struct nu_nl, so in whatever netns that socket
 * was opened, and returns 0 (or a value) or a negative errno with the text in @e.
 */
#ifndef NETUTIL_LINK_EXTRA_H
#define NETUTIL_LINK_EXTRA_H

#include <stdint.h>

#include "netutil/netutil.h"

/*
 * nu_route_default_oif() - ifindex (> 0) of the interface of the default route (0.0.0.0/0, else
 * ::/0) of the main table, as the reference's "first default route" rule picks it. One
 * RTM_GETROUTE lookup per family (RTM_F_FIB_MATCH: the FIB entry, not a cached dst); only when
 * the lookup finds a more specific route or another table is the main table listed.
 * -ENOENT (with a message) when there is no default route with an output interface.
 */
int nu_route_default_oif(struct nu_nl *nl, struct cni_err *e);

/*
 * nu_master_find() - the master of a macvlan, ipvlan or vlan plugin in the netns of @nl: link
 * @name, or with @name NULL or "" the interface of the default route, into @m. Returns 0 or
 * -errno ("failed to lookup master ...").
 */
int nu_master_find(struct nu_nl *nl, const char *name, struct nu_link_info *m, struct cni_err *e);

/*
 * nu_master_ready() - STATUS of such a plugin whose master is in the host netns: the master can
 * be found (nu_master_find() in the current netns). Returns 0, or -errno with code
 * CNI_ERR_NOT_AVAILABLE (an ADD would fail) and nu_master_find()'s message.
 */
int nu_master_ready(const char *name, struct cni_err *e);

/*
 * nu_route_add_src() - nu_route_add() with RTA_PREFSRC @src (family 0: none); NLM_F_CREATE,
 * no NLM_F_EXCL: an identical route is -EEXIST.
 */
int nu_route_add_src(struct nu_nl *nl, const struct nu_route *r, const struct cni_ip *src,
		     struct cni_err *e);

#endif
