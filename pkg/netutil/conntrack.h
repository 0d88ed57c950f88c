/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Conntrack entries through ctnetlink (raw messages over libmnl; no libnetfilter_conntrack).
 * Drops the UDP flows whose original destination is a host port that now maps elsewhere: without
 * it a long-lived UDP flow keeps hitting the old DNAT target (plugins#123).
 */
#ifndef NETUTIL_CONNTRACK_H
#define NETUTIL_CONNTRACK_H

#include <stdint.h>

#include "cni/err.h"

/*
 * nu_conntrack_del_dport() - delete every conntrack entry of address family @af (AF_INET,
 * AF_INET6) with layer-4 protocol @proto whose original-direction destination port is @port,
 * in the calling thread's netns. Entries gone meanwhile are fine. Returns the number deleted
 * or a negative errno (no conntrack support in the kernel: 0).
 */
int nu_conntrack_del_dport(int af, uint8_t proto, uint16_t port, struct cni_err *e);

#endif
