/* SPDX-License-Identifier: Apache-2.0 */
/*
 * 802.1Q/802.1ad VLAN links: creation directly in a target netns, and reading the
 * VLAN id and protocol back for CHECK. Creation is exclusive (an existing name is -EEXIST, never
 * modified); deletion is the generic nu_link_del(). Every function works through a struct nu_nl,
 * in whatever netns it was opened, and returns 0 or a negative errno with the text in @e.
 */
#ifndef NETUTIL_KIND_VLAN_H
#define NETUTIL_KIND_VLAN_H

#include <stdint.h>

#include "netutil/netutil.h"

/* A VLAN: id @vid (0-4094), protocol @proto (ETH_P_8021Q or ETH_P_8021AD, host order; 0 is
 * 802.1Q); @link.master, the lower device, is required. */
struct nu_vlan_spec {
	struct nu_link_spec link;
	uint16_t vid;
	uint16_t proto;
};

/*
 * nu_vlan_create() - a VLAN link as @s says. Returns 0 or -errno: -EEXIST if the name exists in
 * the target netns or the master already has a VLAN with that id, -EOPNOTSUPP without the 8021q
 * module.
 */
int nu_vlan_create(struct nu_nl *nl, const struct nu_vlan_spec *s, struct cni_err *e);

/*
 * nu_vlan_get() - the VLAN id and protocol (host order) of VLAN link @name. -ENODEV if the link
 * is absent, -EMEDIUMTYPE if it is not a VLAN.
 */
int nu_vlan_get(struct nu_nl *nl, const char *name, uint16_t *vid, uint16_t *proto,
		struct cni_err *e);

#endif
