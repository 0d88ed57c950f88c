/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tap devices: persistent taps made through /dev/net/tun inside a target netns (the kernel has
 * no rtnetlink "create" for tun). Returns 0 or a negative errno with the text in @e (may be NULL).
 * A link's alias, the lookup by hardware address and the temporary netns are in netutil.h.
 */
#ifndef NETUTIL_TUNTAP_H
#define NETUTIL_TUNTAP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "netutil/netutil.h"

struct nu_tap_opts {
	bool multi_queue; /* IFF_MULTI_QUEUE */
	bool vnet_hdr;	  /* IFF_VNET_HDR */
	bool has_owner, has_group;
	uid_t owner; /* TUNSETOWNER when has_owner; otherwise nobody owns it (uid -1) */
	gid_t group; /* TUNSETGROUP when has_group */
};

/*
 * nu_tap_create() - a persistent tap named @name in the netns of @netns_fd (-1: the caller's).
 * /dev/net/tun is opened inside that netns (the tun file's netns is fixed at open(), so the
 * thread leaves again right after open) and configured from here: TUNSETIFF, TUNSETOWNER,
 * TUNSETGROUP, TUNSETPERSIST; the fd is then closed, which leaves the device without a queue
 * attached, as `ip tuntap add` does. -EEXIST when a link of that name exists there (TUNSETIFF
 * would otherwise attach to an existing tap). On failure nothing is left behind.
 */
int nu_tap_create(struct nu_nl *nl, int netns_fd, const char *name, const struct nu_tap_opts *o,
		  struct cni_err *e);

#endif
