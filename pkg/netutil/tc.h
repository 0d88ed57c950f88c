/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Traffic control for the bandwidth plugin: a token bucket (tbf) as root qdisc, the ingress
 * qdisc, a match-all u32 filter whose mirred action redirects a link's ingress traffic to the
 * egress of another link, and IFB links that receive it. The layout is the reference plugin's
 * (tbf 1: at the root; ingress ffff:; u32 prio 1 protocol all flowid 1:1 action mirred egress
 * redirect), so hosts move between the Go plugins and cnic in both directions. Every function
 * works through a struct nu_nl and returns >= 0 or a negative errno with the text in @e.
 * Idempotence: nu_tc_tbf_set() replaces the root qdisc; nu_tc_ingress_ensure() and
 * nu_ifb_ensure() reuse what exists; nu_tc_redirect_set() replaces our prio-1 filter; deletes
 * treat a missing qdisc or link as success.
 */
#ifndef NETUTIL_TC_H
#define NETUTIL_TC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "netutil/netutil.h"

/* Token bucket parameters in the kernel's units (struct tc_tbf_qopt). */
struct nu_tbf {
	uint64_t rate;	 /* bytes per second */
	uint32_t buffer; /* psched ticks to send one burst at @rate */
	uint32_t limit;	 /* bytes queued at most */
};

/*
 * nu_tbf_params() - the reference's tbf for @rate_bits bits/s and @burst_bits bits: rate/8,
 * buffer = ticks(burst/8 * 1e6 / (rate/8)), limit = rate/8 * 25 ms + burst/8, with the same
 * floating-point steps and truncations as the Go plugin so CHECK agrees on both sides wherever
 * the reference makes a qdisc. Where it cannot (its uint32 conversions wrap, or the kernel says
 * EINVAL), the values are clamped to what the kernel can express: rate and burst of less than
 * one byte are one byte, a buffer beyond 2^32-1 ticks (274.9 s at the rate) is 2^32-1 ticks, a
 * buffer holding less than one byte is raised to hold one, the limit saturates at 2^32-1 bytes.
 * A burst of 2^32-1 bytes or more (the reference refuses it: "burst cannot be more than 4GB")
 * is 2^32-1 bytes. Ticks per microsecond come from /proc/net/psched. -EINVAL when a value is 0.
 */
int nu_tbf_params(uint64_t rate_bits, uint64_t burst_bits, struct nu_tbf *out);

/*
 * nu_tbf_params_go() - the Go plugin's values bit for bit, its wrapped uint32 conversions
 * included (containerd's burst of 2^32-1 bits at 10 Mbit/s gives 154.6 s of buffer where 429.5 s
 * wrap): what a qdisc the reference made reads back as, so CHECK accepts it. -EINVAL when rate
 * or burst is below one byte (the reference's qdisc fails), -ERANGE when the burst is 4 GB
 * or more (the reference refuses it).
 */
int nu_tbf_params_go(uint64_t rate_bits, uint64_t burst_bits, struct nu_tbf *out);

/* nu_tc_tbf_set() - root qdisc "tbf" handle 1: on @ifindex (NLM_F_REPLACE: an old root goes). */
int nu_tc_tbf_set(struct nu_nl *nl, int ifindex, const struct nu_tbf *t, struct cni_err *e);

/* nu_tc_ingress_ensure() - qdisc "ingress" ffff: on @ifindex; an existing one is kept (1). */
int nu_tc_ingress_ensure(struct nu_nl *nl, int ifindex, struct cni_err *e);

/*
 * nu_tc_redirect_set() - on the ingress qdisc of @ifindex, the u32 match-all filter (prio 1,
 * protocol all, classid 1:1) with action mirred egress redirect to @to_ifindex. Whatever prio-1
 * filter was there is deleted first (a retried ADD leaves exactly one).
 */
int nu_tc_redirect_set(struct nu_nl *nl, int ifindex, int to_ifindex, struct cni_err *e);

/* nu_tc_qdisc_del() - delete the root (@ingress false) or ingress qdisc of @ifindex; a missing
 * qdisc or link is 0. */
int nu_tc_qdisc_del(struct nu_nl *nl, int ifindex, bool ingress, struct cni_err *e);

/* The kernel's TC_H_ROOT (linux/pkt_sched.h; tc.c asserts it matches): the parent of a root qdisc. */
#define NU_TC_H_ROOT 0xFFFFFFFFU

struct nu_qdisc {
	uint32_t handle, parent;
	char kind[16];
	bool has_tbf;
	struct nu_tbf tbf; /* kind "tbf" with readable parameters */
};

/* nu_tc_qdisc_list() - qdiscs of @ifindex; *out malloc()ed, the caller free()s it. */
int nu_tc_qdisc_list(struct nu_nl *nl, int ifindex, struct nu_qdisc **out, size_t *n,
		     struct cni_err *e);

/*
 * nu_tc_redirect_targets() - ifindexes that u32 or matchall filters on the ingress qdisc of
 * @ifindex redirect or mirror to (mirred actions), appended to the malloc()ed *@v of *@n (the
 * caller free()s). No ingress qdisc or no link: nothing appended, 0.
 */
int nu_tc_redirect_targets(struct nu_nl *nl, int ifindex, int **v, size_t *n, struct cni_err *e);

/*
 * nu_ifb_ensure() - IFB link @name with @mtu, txqlen 0 (as the Go plugin creates it), up.
 * An existing IFB of that name is reused (MTU set, up); another kind is -EEXIST. @out receives
 * the link. Returns 1 if created, 0 if reused.
 */
int nu_ifb_ensure(struct nu_nl *nl, const char *name, unsigned int mtu, struct nu_link_info *out,
		  struct cni_err *e);

/*
 * nu_link_list_kind() - names and ifindexes of the links of kind @kind ("ifb", "veth"), with
 * the kernel filtering the dump by kind (Linux 4.20 strict dumps; older kernels return every
 * link and the filter is applied here). *@out malloc()ed, the caller free()s it.
 */
struct nu_link_ref {
	int ifindex;
	char name[NU_IFNAMSIZ];
};
int nu_link_list_kind(struct nu_nl *nl, const char *kind, struct nu_link_ref **out, size_t *n,
		      struct cni_err *e);

#endif
