/* SPDX-License-Identifier: Apache-2.0 */
/*
 * 802.1Q/802.1ad VLAN links and dummy links: creation directly in a target netns, and reading the
 * VLAN id and protocol back for CHECK. Creation is exclusive (an existing name is -EEXIST, never
 * modified); deletion is the generic nu_link_del(). Every function works through a struct nu_nl,
 * in whatever netns it was opened, and returns 0 or a negative errno with the text in @e.
 */
#ifndef NETUTIL_VLAN_H
#define NETUTIL_VLAN_H

#include <stdint.h>

#include "netutil/netutil.h"

/*
 * nu_vlan_create() - a VLAN link named @name with id @vid (0-4094) and protocol @proto
 * (ETH_P_8021Q or ETH_P_8021AD, host order; 0 is 802.1Q) on lower device @master (an ifindex in
 * the netns of @nl), created directly in the netns of @target_netns_fd (-1: @nl's netns); @mtu 0
 * keeps the kernel's (the master's). Returns 0 or -errno: -EEXIST if @name exists there or the
 * master already has a VLAN with that id, -EOPNOTSUPP without the 8021q module.
 */
int nu_vlan_create(struct nu_nl *nl, const char *name, int master, uint16_t vid, uint16_t proto,
		   unsigned int mtu, int target_netns_fd, struct cni_err *e);

/*
 * nu_vlan_get() - the VLAN id and protocol (host order) of VLAN link @name. -ENODEV if the link
 * is absent, -EMEDIUMTYPE if it is not a VLAN.
 */
int nu_vlan_get(struct nu_nl *nl, const char *name, uint16_t *vid, uint16_t *proto,
		struct cni_err *e);

/* nu_dummy_create() - a dummy link @name in the netns of @nl. 0, -EEXIST, or -errno. */
int nu_dummy_create(struct nu_nl *nl, const char *name, struct cni_err *e);

#endif
