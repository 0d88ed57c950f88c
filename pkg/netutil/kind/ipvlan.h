/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ipvlan links: creation on a lower device (the master) directly in a target netns, with the
 * kernel's mode (l2, l3, l3s) and flags (bridge, private, vepa), and reading both back for CHECK.
 * Creation is exclusive (an existing name is -EEXIST, never modified); deletion is the generic
 * nu_link_del(). Every function works through a struct nu_nl, in whatever netns it was opened,
 * and returns 0 or a negative errno with the text in @e.
 */
#ifndef NETUTIL_KIND_IPVLAN_H
#define NETUTIL_KIND_IPVLAN_H

#include <stdint.h>

#include "netutil/netutil.h"

/* The kernel's IPVLAN_MODE_* and IPVLAN_F_* (linux/if_link.h; ipvlan.c asserts they match), so
 * that plugins need no netlink header. */
#define NU_IPVLAN_MODE_L2 0
#define NU_IPVLAN_MODE_L3 1
#define NU_IPVLAN_MODE_L3S 2
#define NU_IPVLAN_F_PRIVATE 0x01
#define NU_IPVLAN_F_VEPA 0x02

/* An ipvlan: @mode an NU_IPVLAN_MODE_* value, @flags 0 (bridge), NU_IPVLAN_F_PRIVATE or
 * NU_IPVLAN_F_VEPA; @link.master, the lower device, is required; @link.mac NULL (an ipvlan has
 * its master's MAC). */
struct nu_ipvlan_spec {
	struct nu_link_spec link;
	uint16_t mode;
	uint16_t flags;
};

/*
 * nu_ipvlan_create() - an ipvlan as @s says. Returns 0 or -errno: -EEXIST if the name exists in
 * the target netns, -EBUSY when the master cannot take ipvlans (a macvlan already sits on it,
 * say), -EOPNOTSUPP without the ipvlan module.
 */
int nu_ipvlan_create(struct nu_nl *nl, const struct nu_ipvlan_spec *s, struct cni_err *e);

/*
 * nu_ipvlan_get() - the mode and flags of ipvlan link @name. -ENODEV if the link is absent,
 * -EMEDIUMTYPE if it is not an ipvlan.
 */
int nu_ipvlan_get(struct nu_nl *nl, const char *name, uint16_t *mode, uint16_t *flags,
		  struct cni_err *e);

#endif
