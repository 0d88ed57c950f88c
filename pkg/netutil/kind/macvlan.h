/* SPDX-License-Identifier: Apache-2.0 */
/*
 * macvlan links: creation on a lower device (the master) directly in a target netns, with the
 * kernel's mode and broadcast queue length, and the mode read back for CHECK. Creation is
 * exclusive (an existing name is -EEXIST, never modified); deletion is the generic nu_link_del().
 * Every function works through a struct nu_nl, in whatever netns it was opened, and returns 0 or
 * a negative errno with the text in @e.
 */
#ifndef NETUTIL_KIND_MACVLAN_H
#define NETUTIL_KIND_MACVLAN_H

#include <stdint.h>

#include "netutil/netutil.h"

/* The kernel's MACVLAN_MODE_* (linux/if_link.h; macvlan.c asserts they match), so that plugins
 * need no netlink header. */
#define NU_MACVLAN_MODE_PRIVATE 1
#define NU_MACVLAN_MODE_VEPA 2
#define NU_MACVLAN_MODE_BRIDGE 4
#define NU_MACVLAN_MODE_PASSTHRU 8
#define NU_MACVLAN_MODE_SOURCE 16

/* A macvlan: NU_MACVLAN_MODE_* @mode; @bcqueuelen 0 keeps the kernel's broadcast queue length. */
struct nu_macvlan_spec {
	struct nu_link_spec link;
	uint32_t mode;
	uint32_t bcqueuelen;
};

/*
 * nu_macvlan_create() - a macvlan as @s says (on a master: @s->link.master is required). Returns
 * 0 or -errno (-EEXIST if the name exists in the target netns).
 */
int nu_macvlan_create(struct nu_nl *nl, const struct nu_macvlan_spec *s, struct cni_err *e);

/*
 * nu_macvlan_mode() - the NU_MACVLAN_MODE_* of macvlan link @name in *@mode. -ENODEV if the link
 * is absent, -EMEDIUMTYPE if it is not a macvlan.
 */
int nu_macvlan_mode(struct nu_nl *nl, const char *name, uint32_t *mode, struct cni_err *e);

#endif
