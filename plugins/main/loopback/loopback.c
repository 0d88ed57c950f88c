// SPDX-License-Identifier: Apache-2.0
/*
 * loopback: brings "lo" of the container's netns up on ADD and down on DEL, whatever CNI_IFNAME
 * says, as the reference does. The result lists lo with its loopback addresses, or passes a
 * prevResult through unchanged. DEL succeeds when the netns is already gone; CHECK wants lo up.
 * No state outside the netns, so STATUS is always ready and GC has nothing to collect.
 */
#include <errno.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>

#include "cni/cni.h"
#include "netutil/netutil.h"

/* Open the container's netns and a netlink socket inside it; -ENOENT when it is gone. */
static int open_lo(struct cni_ctx *ctx, struct nu_nl **nl, struct cni_err *e)
{
	_nu_fd_cleanup_ int fd = -1;
	int r;

	r = nu_netns_open(ctx->env.netns, &fd, e);
	if (r == -ENOENT)
		return cni_fail(e, r, CNI_ERR_UNKNOWN_CONTAINER, "netns \"%s\" does not exist",
				ctx->env.netns);
	if (r)
		return cni_wrap(e, r, "failed to open netns \"%s\"", ctx->env.netns);
	r = nu_nl_open(nl, fd, e);
	if (r)
		return r;
	r = nu_link_index(*nl, "lo");
	if (r < 0) {
		nu_nl_close(*nl);
		*nl = NULL;
		return cni_fail(e, r, 0, "failed to find \"lo\" in netns \"%s\": %s", ctx->env.netns,
				strerror(-r));
	}
	return r;
}

static bool is_loopback(const struct cni_ip *ip)
{
	static const uint8_t v6lo[16] = {[15] = 1};

	if (ip->family == AF_INET)
		return ip->a[0] == 127;
	return !memcmp(ip->a, v6lo, 16);
}

static int loopback_add(struct cni_ctx *ctx, struct cni_result *res, struct cni_err *e)
{
	_nu_nl_cleanup_ struct nu_nl *nl = NULL;
	struct nu_addr *addrs = NULL;
	const struct cni_prefix *v4 = NULL, *v6 = NULL;
	char b[CNI_IP_STRLEN];
	size_t n = 0;
	int lo, r;

	lo = open_lo(ctx, &nl, e);
	if (lo < 0)
		return lo;
	r = nu_link_set_up(nl, lo, e);
	if (r)
		return r;
	r = nu_addr_list(nl, lo, AF_UNSPEC, &addrs, &n, e);
	if (r)
		return r;
	for (size_t i = 0; i < n; i++) {
		const struct cni_prefix *p = &addrs[i].prefix;

		if (!is_loopback(&p->ip)) {
			r = cni_fail(e, -EINVAL, 0,
				     "loopback interface found with non-loopback address \"%s\"",
				     cni_ip_str(&p->ip, b));
			break;
		}
		if (p->ip.family == AF_INET && !v4)
			v4 = p;
		if (p->ip.family == AF_INET6 && !v6)
			v6 = p;
	}
	if (!r && ctx->net.prev) {
		*res = *ctx->net.prev;
	} else if (!r) {
		int idx = cni_result_add_iface(res, "lo", "00:00:00:00:00:00", ctx->env.netns);

		if (v4)
			cni_result_add_ip(res, v4, NULL, idx);
		if (v6)
			cni_result_add_ip(res, v6, NULL, idx);
	}
	free(addrs);
	return r;
}

static int loopback_del(struct cni_ctx *ctx, struct cni_err *e)
{
	_nu_nl_cleanup_ struct nu_nl *nl = NULL;
	int lo;

	if (!ctx->env.netns)
		return 0;
	lo = open_lo(ctx, &nl, e);
	if (lo == -ENOENT || lo == -ENODEV) {
		cni_err_clear(e);
		return 0; /* the netns (or lo with it) is gone: nothing to undo */
	}
	if (lo < 0)
		return lo;
	return nu_link_set_down(nl, lo, e);
}

static int loopback_check(struct cni_ctx *ctx, struct cni_err *e)
{
	_nu_nl_cleanup_ struct nu_nl *nl = NULL;
	struct nu_link_info li;
	int lo, r;

	lo = open_lo(ctx, &nl, e);
	if (lo < 0)
		return lo;
	r = nu_link_get(nl, NULL, lo, &li, e);
	if (r)
		return r;
	if (!(li.flags & IFF_UP))
		return cni_fail(e, -ENETDOWN, 0, "loopback interface is down");
	return 0;
}

static int loopback_noop(struct cni_ctx *ctx, struct cni_err *e)
{
	(void)ctx;
	(void)e;
	return 0;
}

const struct cni_plugin cni_main_plugin = {
	.name = "loopback",
	CNI_VERBS(loopback),
	.status = loopback_noop,
	.gc = loopback_noop,
};
