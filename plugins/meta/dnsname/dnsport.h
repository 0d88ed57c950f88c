/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dnsname's port 53 rewrite in the container netns (nft.c of this folder, over the engine of
 * pkg/nft): what plugin.c and the daemon call.
 */
#ifndef DNSNAME_DNSPORT_H
#define DNSNAME_DNSPORT_H

#include <stdbool.h>
#include <stdint.h>

#include "cni/err.h"

/*
 * nu_nft_dnsport_add() - in the calling thread's netns (a container's), rewrite UDP and TCP to
 * @addr:53 into @addr:@port and the replies from @addr:@port back to port 53: table ip
 * cnic_dnsname, chain output for 127.0.0.11, output-<addr> for another (hook output, priority
 * raw), stateless and notrack, no conntrack or NAT hook (nft.c). @id names its owner (a named
 * counter, at most 59 bytes). Idempotent; one batch; other addresses' chains untouched. Returns
 * 0 or -errno.
 */
int nu_nft_dnsport_add(const char *addr, uint16_t port, const char *id, struct cni_err *e);

/*
 * nu_nft_dnsport_del() - delete the rewrite of @addr (its chain) in the calling thread's netns,
 * or with @whole every address's (the table). Absent: 0.
 */
int nu_nft_dnsport_del(const char *addr, bool whole, struct cni_err *e);

/* nu_nft_dnsport_check() - 0 when @id's counter and exactly the four rules are there, else -ENOENT. */
int nu_nft_dnsport_check(const char *addr, uint16_t port, const char *id, struct cni_err *e);

#endif
