/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Link attributes the core netutil API does not cover, for the tuning plugin: the transmit queue
 * length and the all-multicast flag, read and written by ifindex through a struct nu_nl (so in
 * whatever netns that socket was opened). One RTM_GETLINK or RTM_NEWLINK (change, never create)
 * per call. Functions return 0 or a negative errno with the text in @e (may be NULL).
 */
#ifndef NETUTIL_LINK_ATTRS_H
#define NETUTIL_LINK_ATTRS_H

#include <stdbool.h>

#include "netutil/netutil.h"

struct nu_link_attrs {
	unsigned int txqlen;
	bool allmulti; /* IFF_ALLMULTI as set by the user (not the kernel's counter) */
	bool promisc;  /* IFF_PROMISC as set by the user */
};

/* nu_link_attrs_get() - the attributes of link @ifindex. -ENODEV if absent. */
int nu_link_attrs_get(struct nu_nl *nl, int ifindex, struct nu_link_attrs *out, struct cni_err *e);

/* nu_link_set_allmulti() - turn IFF_ALLMULTI on or off, leaving the other flags alone. */
int nu_link_set_allmulti(struct nu_nl *nl, int ifindex, bool on, struct cni_err *e);

/* nu_link_set_txqlen() - IFLA_TXQLEN. */
int nu_link_set_txqlen(struct nu_nl *nl, int ifindex, unsigned int txqlen, struct cni_err *e);

#endif
