/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Kernel helpers of the point-to-point and macvlan plugins that the core netutil API does not
 * cover: the default-route interface found with one route lookup (not a table dump), routes with
 * a preferred source address (ptp's container routes), and the mode of a macvlan link. Nothing is
 * created here except the routes nu_route_add_src() is asked for; every function works through a
 * struct nu_nl, so in whatever netns that socket was opened, and returns 0 (or a value) or a
 * negative errno with the text in @e.
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
 * nu_route_add_src() - nu_route_add() with RTA_PREFSRC @src (family 0: none); NLM_F_CREATE,
 * no NLM_F_EXCL: an identical route is -EEXIST.
 */
int nu_route_add_src(struct nu_nl *nl, const struct nu_route *r, const struct cni_ip *src,
		     struct cni_err *e);

/*
 * nu_macvlan_mode() - the MACVLAN_MODE_* of macvlan link @name in *@mode. -ENODEV if the link is
 * absent, -EMEDIUMTYPE if it is not a macvlan.
 */
int nu_macvlan_mode(struct nu_nl *nl, const char *name, uint32_t *mode, struct cni_err *e);

#endif
