/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ipvlan links: creation on a lower device (the master) directly in a target netns, with the
 * kernel's mode (l2, l3, l3s) and flags (bridge, private, vepa), and reading both back for CHECK.
 * Creation is exclusive (an existing name is -EEXIST, never modified); deletion is the generic
 * nu_link_del(). Every function works through a struct nu_nl, in whatever netns it was opened,
 * and returns 0 or a negative errno with the text in @e.
 */
#ifndef NETUTIL_IPVLAN_H
#define NETUTIL_IPVLAN_H

#include <stdint.h>

#include "netutil/netutil.h"

/*
 * nu_ipvlan_create() - an ipvlan named @tmpname on lower device @master (an ifindex in the netns
 * of @nl), created directly in the netns of @target_netns_fd (-1: @nl's netns). @mode is an
 * IPVLAN_MODE_* value, @flags 0 (bridge), IPVLAN_F_PRIVATE or IPVLAN_F_VEPA; @mtu 0 keeps the
 * kernel's (the master's). Returns 0 or -errno: -EEXIST if @tmpname exists there, -EBUSY when the
 * master cannot take ipvlans (a macvlan already sits on it, say), -EOPNOTSUPP without the
 * ipvlan module.
 */
int nu_ipvlan_create(struct nu_nl *nl, const char *tmpname, int master, uint16_t mode,
		     uint16_t flags, unsigned int mtu, int target_netns_fd, struct cni_err *e);

/*
 * nu_ipvlan_get() - the mode and flags of ipvlan link @name. -ENODEV if the link is absent,
 * -EMEDIUMTYPE if it is not an ipvlan.
 */
int nu_ipvlan_get(struct nu_nl *nl, const char *name, uint16_t *mode, uint16_t *flags,
		  struct cni_err *e);

#endif
