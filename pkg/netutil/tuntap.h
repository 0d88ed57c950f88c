/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Kernel helpers of the tap and host-device plugins that the core netutil API does not cover:
 * persistent tap devices made through /dev/net/tun inside a target netns, the interface alias
 * (IFLA_IFALIAS, where host-device keeps a moved device's original name), a link found by its
 * hardware address, and an anonymous temporary netns to rename devices in without racing udev or
 * NetworkManager on the host. Every function returns 0 (or a value) or a negative errno with the
 * text in @e (may be NULL).
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

/* nu_link_alias_get() - IFLA_IFALIAS of @ifindex into @buf ("" when none). */
int nu_link_alias_get(struct nu_nl *nl, int ifindex, char *buf, size_t len, struct cni_err *e);
/* nu_link_alias_set() - set IFLA_IFALIAS; "" clears it. */
int nu_link_alias_set(struct nu_nl *nl, int ifindex, const char *alias, struct cni_err *e);

/*
 * nu_link_by_mac() - ifindex (> 0) of the first link whose hardware address is @mac (@len
 * bytes). One RTM_GETLINK dump: the only way to select by address. -ENODEV when none matches.
 */
int nu_link_by_mac(struct nu_nl *nl, const uint8_t *mac, size_t len, struct cni_err *e);

/*
 * nu_netns_temp() - a new anonymous netns, as an fd in *@fd owned by the caller (close it to
 * destroy the namespace: physical devices still inside go back to the initial netns, virtual
 * ones are destroyed). The calling thread's netns is unchanged on return.
 */
int nu_netns_temp(int *fd, struct cni_err *e);

#endif
