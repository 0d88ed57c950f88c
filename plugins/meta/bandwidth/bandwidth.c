// SPDX-License-Identifier: Apache-2.0
/*
 * bandwidth: shapes a container's traffic with token buckets on the host side of its veth, as
 * the reference plugin does and with its kernel layout, so either can CHECK, DEL and GC what the
 * other made. Chained after a veth-based main plugin (bridge, ptp). Ingress (traffic to the
 * container): root tbf 1: on the host veth. Egress (from the container): an IFB named "bwp" + the
 * first 12 hex digits of sha512(network name + container ID), which receives the host veth's
 * ingress through a u32 match-all filter with a mirred egress redirect, with a root tbf of its own.
 * Rates in bits/s, bursts in bits, from the plugin's keys or, when none of the four is present,
 * runtimeConfig.bandwidth. The host veth is the one prevResult lists (no sandbox) that is the peer
 * of CNI_IFNAME. Spec versions from 0.3.0, as the reference. prevResult is passed through, with the
 * IFB appended to its interfaces. A rate or burst the kernel cannot express is clamped to what it
 * can (nu_tbf_params()), never refused: containerd's 2^32-1-bit burst for a rate-only pod
 * annotation is a bucket longer than tbf holds at any rate below ~15.6 Mbit/s.
 * Subnet exclusion (unshapedSubnets / shapedSubnets, with HTB instead of TBF, plugins#921) was
 * merged upstream and then reverted; the reference's HEAD has no such keys, so neither do we
 * (they are ignored as any unknown key).
 * ADD undoes what it made when it fails half-way. DEL deletes the IFB and needs nothing else: the
 * netns, the veth or the IFB may all be gone already (the host veth's qdiscs vanish with it).
 * GC deletes every IFB named like ours that belongs to no valid attachment of this network and
 * that no veth redirects to any more (see bw_gc()).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cni/cni.h"
#include "cni/hash.h"
#include "netutil/iface.h"
#include "netutil/netutil.h"
#include "netutil/tc.h"

struct bw {
	long long ingress_rate, ingress_burst, egress_rate, egress_burst;
	bool ir_seen, ib_seen, er_seen, eb_seen;
};

struct bw_conf {
	struct bw top;
	struct {
		struct bw bw;
		bool bw_seen;
	} rc;

	/* derived by bw_validate(): the effective limits, NULL when there are none */
	const struct bw *eff;
};

#define BW_FIELDS(T, p)                                                                            \
	CNI_FIELD("ingressRate", T, CNI_F_I64, p ingress_rate, .min = 0, .max = INT64_MAX,         \
		  CNI_SEEN(T, p ir_seen), .help = "rate of traffic to the container, bits/s"),     \
	    CNI_FIELD("ingressBurst", T, CNI_F_I64, p ingress_burst, .min = 0, .max = INT64_MAX,   \
		      CNI_SEEN(T, p ib_seen), .help = "burst to the container, bits"),             \
	    CNI_FIELD("egressRate", T, CNI_F_I64, p egress_rate, .min = 0, .max = INT64_MAX,       \
		      CNI_SEEN(T, p er_seen), .help = "rate of traffic from the container, bits/s"),\
	    CNI_FIELD("egressBurst", T, CNI_F_I64, p egress_burst, .min = 0, .max = INT64_MAX,     \
		      CNI_SEEN(T, p eb_seen), .help = "burst from the container, bits")

static const struct cni_field bw_fields[] = {
	BW_FIELDS(struct bw, ),
	CNI_FIELD_END,
};
static const struct cni_field rc_fields[] = {
	{.key = "bandwidth",
	 .type = CNI_F_OBJ,
	 .off = 0,
	 .sub = bw_fields,
	 .seen = offsetof(struct bw_conf, rc.bw_seen) - offsetof(struct bw_conf, rc) + 1,
	   .help = "capability bandwidth: the four keys above, used when none is set at top level"},
	CNI_FIELD_END,
};
static const struct cni_field fields[] = {
	BW_FIELDS(struct bw_conf, top.),
	CNI_FIELD("runtimeConfig", struct bw_conf, CNI_F_OBJ, rc, .sub = rc_fields,
	  .help = "the runtime's capability arguments (only bandwidth is read)"),
	CNI_FIELD_END,
};

static int rate_burst_valid(long long rate, long long burst, struct cni_err *e)
{
	if (burst == 0 && rate != 0)
		return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG,
				"if rate is set, burst must also be set");
	if (rate == 0 && burst != 0)
		return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG,
				"if burst is set, rate must also be set");
	/* no "burst cannot be more than 4GB" as the reference: nu_tbf_params() caps it */
	return 0;
}

static int bw_validate(struct cni_ctx *ctx, void *conf, struct cni_err *e)
{
	struct bw_conf *c = conf;
	const struct bw *b = &c->top;
	int r;

	(void)ctx;
	/* The static configuration wins as soon as one of its keys is there, as the reference. */
	if (b->ir_seen || b->ib_seen || b->er_seen || b->eb_seen)
		c->eff = b;
	else if (c->rc.bw_seen)
		c->eff = &c->rc.bw;
	if (!c->eff)
		return 0;
	r = rate_burst_valid(c->eff->ingress_rate, c->eff->ingress_burst, e);
	if (r == 0)
		r = rate_burst_valid(c->eff->egress_rate, c->eff->egress_burst, e);
	return r;
}

static bool shapes_ingress(const struct bw *b)
{
	return b && b->ingress_rate > 0 && b->ingress_burst > 0;
}

static bool shapes_egress(const struct bw *b)
{
	return b && b->egress_rate > 0 && b->egress_burst > 0;
}

static char *ifb_name(const char *net, const char *cid, char buf[NU_IFNAMSIZ])
{
	char hex[13];

	cni_sha512_hex(hex, 12, net, cid, NULL);
	snprintf(buf, NU_IFNAMSIZ, "bwp%s", hex);
	return buf;
}

static int tbf_of(long long rate, long long burst, struct nu_tbf *t, struct cni_err *e)
{
	int r = nu_tbf_params((uint64_t)rate, (uint64_t)burst, t);

	if (r < 0) /* rate_burst_valid() refused these already */
		return cni_fail(e, r, CNI_ERR_INVALID_CONFIG, "invalid rate %lld / burst %lld", rate,
				burst);
	return 0;
}

/* the reference's values for the same limits, NULL where its qdisc could not be made */
static const struct nu_tbf *tbf_go(long long rate, long long burst, struct nu_tbf *go)
{
	return nu_tbf_params_go((uint64_t)rate, (uint64_t)burst, go) == 0 ? go : NULL;
}

static bool tbf_eq(const struct nu_tbf *a, const struct nu_tbf *b)
{
	return a->rate == b->rate && a->limit == b->limit && a->buffer == b->buffer;
}

/*
 * The host end of the container's veth: the peer (IFLA_LINK) of CNI_IFNAME, which must be a veth
 * here pointing back at it and be listed in prevResult without a sandbox, so a prevResult with
 * several host interfaces (a bridge, its gateway veth, ...) resolves to the right one. The
 * socket of this (the host's) netns goes to *@host, the caller's to close.
 */
static int host_iface(struct cni_ctx *ctx, struct nu_nl **host, struct nu_link_info *out,
		      struct cni_err *e)
{
	const struct cni_result *prev = ctx->net.prev;
	_nu_nl_cleanup_ struct nu_nl *cont = NULL;
	_nu_fd_cleanup_ int netns_fd = -1;
	struct nu_link_info cl;
	int r = nu_nl_open(host, -1, e);

	if (r < 0)
		return r;
	if (!prev->n_ifaces)
		return cni_fail(e, -EINVAL, 0, "no interfaces provided");
	r = nu_nl_open_netns(ctx->env.netns, &netns_fd, &cont, e);
	if (r < 0)
		return r;
	r = nu_link_get(cont, ctx->env.ifname, 0, &cl, e);
	if (r < 0)
		return cni_wrap(e, r, "container interface %s has no veth peer", ctx->env.ifname);
	if (strcmp(cl.kind, "veth") || cl.link <= 0)
		return cni_fail(e, -EINVAL, 0, "container interface %s has no veth peer",
				ctx->env.ifname);
	r = nu_link_get(*host, NULL, cl.link, out, e);
	if (r < 0 || strcmp(out->kind, "veth") || out->link != cl.ifindex)
		return cni_fail(e, -ENODEV, 0, "veth peer with index %d is not in host ns", cl.link);
	if (cni_result_iface(prev, out->name, NULL, NULL))
		return 0;
	return cni_fail(e, -ENOENT, 0, "no veth peer of container interface found in host ns");
}

/* ---- ADD ------------------------------------------------------------------------------------- */

static int bw_add(struct cni_ctx *ctx, struct cni_result *res, struct cni_err *e)
{
	const struct bw_conf *c = ctx->conf;
	const struct bw *b = c->eff;
	_nu_nl_cleanup_ struct nu_nl *host = NULL;
	struct nu_link_info hl, ifb;
	struct nu_tbf tin, tout;
	char name[NU_IFNAMSIZ], mac[3 * 32];
	int r, ifb_made = 0, ingress_made = 1;

	if (ctx->net.prev)
		*res = *cni_result_copy(ctx->net.prev);
	if (!shapes_ingress(b) && !shapes_egress(b))
		return 0;
	if (!ctx->net.prev)
		return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG, "must be called as chained plugin");
	if (shapes_ingress(b) && (r = tbf_of(b->ingress_rate, b->ingress_burst, &tin, e)) < 0)
		return r;
	if (shapes_egress(b) && (r = tbf_of(b->egress_rate, b->egress_burst, &tout, e)) < 0)
		return r;
	r = host_iface(ctx, &host, &hl, e);
	if (r < 0)
		return r;

	if (shapes_ingress(b)) {
		r = nu_tc_tbf_set(host, hl.ifindex, &tin, e);
		if (r < 0)
			return cni_wrap(e, r, "create qdisc");
	}
	if (shapes_egress(b)) {
		ifb_name(ctx->net.name, ctx->env.container_id, name);
		ifb_made = nu_ifb_ensure(host, name, hl.mtu, &ifb, e);
		if (ifb_made < 0) {
			r = cni_wrap(e, ifb_made, "adding link");
			goto del_tbf;
		}
		cni_result_add_iface(res, name, nu_mac_str(ifb.mac, ifb.mac_len, mac), NULL);
		ingress_made = nu_tc_ingress_ensure(host, hl.ifindex, e);
		if (ingress_made < 0) {
			r = cni_wrap(e, ingress_made, "create ingress qdisc");
			goto del_ifb;
		}
		r = nu_tc_redirect_set(host, hl.ifindex, ifb.ifindex, e);
		if (r < 0) {
			cni_wrap(e, r, "add filter");
			goto del_ingress;
		}
		r = nu_tc_tbf_set(host, ifb.ifindex, &tout, e);
		if (r < 0) {
			cni_wrap(e, r, "create ifb qdisc");
			goto del_ingress;
		}
	}
	return 0;

del_ingress:
	if (ingress_made == 0)
		nu_tc_qdisc_del(host, hl.ifindex, true, NULL);
del_ifb:
	if (ifb_made == 1)
		nu_link_del(host, name, NULL);
del_tbf:
	if (shapes_ingress(b))
		nu_tc_qdisc_del(host, hl.ifindex, false, NULL);
	return r;
}

/* ---- DEL ------------------------------------------------------------------------------------- */

static int bw_del(struct cni_ctx *ctx, struct cni_err *e)
{
	_nu_nl_cleanup_ struct nu_nl *host = NULL;
	char name[NU_IFNAMSIZ];
	int r;

	r = nu_nl_open(&host, -1, e);
	if (r < 0)
		return r;
	return nu_link_del(host, ifb_name(ctx->net.name, ctx->env.container_id, name), e);
}

/* ---- CHECK ----------------------------------------------------------------------------------- */

/*
 * The root tbf of @li must have @want's values, or @go's (a qdisc the reference made with its
 * wrapped arithmetic: a host that moved from the Go plugin CHECKs its old pods); @go NULL: none.
 */
static int check_tbf(struct nu_nl *host, const struct nu_link_info *li, const struct nu_tbf *want,
		     const struct nu_tbf *go, struct cni_err *e)
{
	struct nu_qdisc *q = NULL;
	size_t n = 0;
	int r;

	r = nu_tc_qdisc_list(host, li->ifindex, &q, &n, e);
	if (r < 0)
		return r;
	r = cni_fail(e, -ENOENT, 0, "Failed to find qdisc: no root tbf on %s", li->name);
	for (size_t i = 0; i < n; i++) {
		if (q[i].parent != NU_TC_H_ROOT)
			continue;
		if (!q[i].has_tbf)
			break;
		if (go && tbf_eq(&q[i].tbf, go))
			r = 0;
		else if (q[i].tbf.rate != want->rate)
			r = cni_fail(e, -EINVAL, 0, "Rate doesn't match on %s: %llu, want %llu",
				     li->name, (unsigned long long)q[i].tbf.rate,
				     (unsigned long long)want->rate);
		else if (q[i].tbf.limit != want->limit)
			r = cni_fail(e, -EINVAL, 0, "Limit doesn't match on %s: %u, want %u", li->name,
				     q[i].tbf.limit, want->limit);
		else if (q[i].tbf.buffer != want->buffer)
			r = cni_fail(e, -EINVAL, 0, "Buffer doesn't match on %s: %u, want %u",
				     li->name, q[i].tbf.buffer, want->buffer);
		else
			r = 0;
		break;
	}
	free(q);
	if (r == 0)
		cni_err_clear(e);
	return r;
}

static int bw_check(struct cni_ctx *ctx, struct cni_err *e)
{
	const struct bw_conf *c = ctx->conf;
	const struct bw *b = c->eff;
	_nu_nl_cleanup_ struct nu_nl *host = NULL;
	struct nu_link_info hl, ifb;
	struct nu_tbf t, go;
	char name[NU_IFNAMSIZ];
	int r, *tg = NULL;
	size_t ntg = 0;
	bool found = false;

	if (!ctx->net.prev)
		return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG,
				"must be called as a chained plugin");
	r = host_iface(ctx, &host, &hl, e);
	if (r < 0)
		return r;
	if (shapes_ingress(b)) {
		r = tbf_of(b->ingress_rate, b->ingress_burst, &t, e);
		if (r == 0)
			r = check_tbf(host, &hl, &t, tbf_go(b->ingress_rate, b->ingress_burst, &go), e);
		if (r < 0)
			return r;
	}
	if (shapes_egress(b)) {
		ifb_name(ctx->net.name, ctx->env.container_id, name);
		r = nu_link_get(host, name, 0, &ifb, e);
		if (r < 0)
			return cni_wrap(e, r, "get ifb device");
		r = tbf_of(b->egress_rate, b->egress_burst, &t, e);
		if (r == 0)
			r = check_tbf(host, &ifb, &t, tbf_go(b->egress_rate, b->egress_burst, &go), e);
		if (r < 0)
			return r;
		/* beyond the reference: the host veth's ingress must still reach the IFB */
		r = nu_tc_redirect_targets(host, hl.ifindex, &tg, &ntg, e);
		for (size_t i = 0; r == 0 && i < ntg; i++)
			found |= tg[i] == ifb.ifindex;
		free(tg);
		if (r < 0)
			return r;
		if (!found)
			return cni_fail(e, -ENOENT, 0, "no mirred redirect from %s to %s", hl.name,
					name);
	}
	return 0;
}

/* ---- GC -------------------------------------------------------------------------------------- */

static bool ifb_named_like_ours(const char *name)
{
	if (strncmp(name, "bwp", 3) || strlen(name) != 15)
		return false;
	for (const char *p = name + 3; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return false;
	return true;
}

/*
 * An IFB's name is a hash of network and container, so it cannot say which network it belongs
 * to. The rule: an IFB named bwp<12 hex> is kept when its name is that of a valid attachment of
 * this network, and otherwise when any veth still redirects its ingress to it (the attachment may
 * be another network's, alive). It is stale, whatever its network, when no veth points at it any
 * more: its container's host veth, and with it the mirred filter, is gone. The only window is an
 * ADD of another network between creating its IFB and adding its filter (two consecutive
 * requests): that ADD then fails cleanly and is retried by the runtime.
 */
static int bw_gc(struct cni_ctx *ctx, struct cni_err *e)
{
	const struct cni_attachment *a = ctx->net.valid_atts.v;
	_nu_nl_cleanup_ struct nu_nl *host = NULL;
	struct nu_link_ref *ifbs = NULL, *veths = NULL;
	size_t nifb = 0, nveth = 0, ntg = 0;
	struct cni_err one = {0};
	int r, first = 0, *tg = NULL;
	char name[NU_IFNAMSIZ];

	r = nu_nl_open(&host, -1, e);
	if (r < 0)
		return r;
	r = nu_link_list_kind(host, "ifb", &ifbs, &nifb, e);
	if (r < 0)
		return r;
	for (size_t i = 0; i < nifb; i++) {
		if (!ifb_named_like_ours(ifbs[i].name)) {
			ifbs[i].ifindex = 0;
			continue;
		}
		for (size_t j = 0; j < ctx->net.valid_atts.n; j++)
			if (a[j].container_id &&
			    !strcmp(ifb_name(ctx->net.name, a[j].container_id, name), ifbs[i].name))
				ifbs[i].ifindex = 0;
	}
	r = nu_link_list_kind(host, "veth", &veths, &nveth, e);
	for (size_t i = 0; r == 0 && i < nveth; i++)
		r = nu_tc_redirect_targets(host, veths[i].ifindex, &tg, &ntg, e);
	if (r < 0)
		goto out;
	for (size_t i = 0; i < nifb; i++) {
		bool used = false;

		if (!ifbs[i].ifindex)
			continue;
		for (size_t j = 0; j < ntg && !used; j++)
			used = tg[j] == ifbs[i].ifindex;
		if (used)
			continue;
		cni_err_clear(&one);
		r = nu_link_del(host, ifbs[i].name, &one);
		if (r < 0) {
			first = first ? first : r;
			cni_err_append(e, "%s", one.msg);
		}
	}
	r = first;
out:
	free(ifbs);
	free(veths);
	free(tg);
	return r;
}

const struct cni_plugin cni_main_plugin = {
	.name = "bandwidth",
	.min_version = CNI_V030,
	CNI_CONF(fields, struct bw_conf),
	.conf_validate = bw_validate,
	CNI_VERBS(bw),
	.gc = bw_gc,
};
