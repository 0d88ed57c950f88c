/* SPDX-License-Identifier: Apache-2.0 */
/*
 * VRF links: creation with a routing table, lookup by name, a scan of the netns for the members
 * of a VRF and the lowest routing table no VRF uses, and enslaving an interface with its routes
 * moved into the VRF's table. Creation is exclusive (-EEXIST for an existing name); deletion is
 * the generic nu_link_del(). Every function works through a struct nu_nl in whatever netns it was
 * opened and returns 0 or a negative errno with the text in @e.
 */
#ifndef NETUTIL_KIND_VRF_H
#define NETUTIL_KIND_VRF_H

#include <stdint.h>

#include "netutil/netutil.h"

/* nu_vrf_create() - a VRF named @name bound to routing table @table (not 0). 0, -EEXIST, -errno. */
int nu_vrf_create(struct nu_nl *nl, const char *name, uint32_t table, struct cni_err *e);

/*
 * nu_vrf_get() - ifindex and table of VRF @name. -ENODEV if absent, -EMEDIUMTYPE if the link is
 * not a VRF.
 */
int nu_vrf_get(struct nu_nl *nl, const char *name, int *ifindex, uint32_t *table,
	       struct cni_err *e);

/*
 * nu_vrf_scan() - one dump of the netns's links: *@members (may be NULL) counts the links whose
 * master is @vrf (0: none counted), *@free_table (may be NULL) is the lowest table id >= 1 that
 * no VRF uses. 0 or -errno.
 */
int nu_vrf_scan(struct nu_nl *nl, int vrf, unsigned int *members, uint32_t *free_table,
		struct cni_err *e);

/*
 * nu_vrf_enslave() - make link @ifindex a member of VRF @vrf (table @table). The kernel cycles
 * the link: it drops the link's main-table routes and, without keep_addr_on_down, its global IPv6
 * addresses; so those addresses are put back and every route that was not the kernel's own is
 * added again into @table (the kernel moves connected routes itself). A route whose gateway is
 * not yet reachable (IPv6 prefix route still coming) is retried for about 2.5 s. 0 or -errno.
 */
int nu_vrf_enslave(struct nu_nl *nl, int ifindex, int vrf, uint32_t table, struct cni_err *e);

#endif
