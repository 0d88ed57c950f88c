// SPDX-License-Identifier: Apache-2.0
/*
 * Traffic control: tbf and ingress qdiscs, the u32 match-all filter with a mirred redirect, IFB
 * links, and the dumps that read them back (qdiscs of a link, mirred targets of a link's ingress
 * filters, links of one kind). Requests are built by hand, as route.c does, rather than with
 * libnl's rtnl_qdisc/rtnl_tbf/rtnl_u32/rtnl_act: libnl 3.7's tbf takes the rate as an int (no
 * TCA_TBF_RATE64, so nothing above 17 Gbit/s) and derives the buffer with its own rounding, while
 * the reference's values must come out bit for bit (its CHECK compares them); its u32 object
 * cannot express the empty match-all key without a selector round trip. The messages are those
 * `tc qdisc add dev X root handle 1: tbf ...` and `tc filter add dev X parent ffff: protocol all
 * prio 1 u32 match u32 0 0 flowid 1:1 action mirred egress redirect dev Y` send.
 * Idempotence: see tc.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <linux/if.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <linux/tc_act/tc_mirred.h>
#include <netlink/attr.h>

#include "netutil/internal.h"
#include "netutil/tc.h"

_Static_assert(NU_TC_H_ROOT == TC_H_ROOT, "tc.h's copy of the kernel's TC_H_ROOT");

#define TBF_HANDLE 0x00010000U	   /* 1: */
#define INGRESS_HANDLE 0xffff0000U /* ffff: */
#define FILTER_PRIO 1U
#define FLOWID 0x00010001U /* 1:1 */
#define TIME_UNITS_PER_SEC 1000000.0
#define LATENCY_MS 25.0
#define LATENCY_US (TIME_UNITS_PER_SEC * (LATENCY_MS / 1000.0)) /* Go's latencyInUsec(25) */

/* ---- tbf parameters --------------------------------------------------------------------------- */

/*
 * Microseconds to psched ticks, as the Go netlink library (and iproute2's tc_core_init) read it
 * from /proc/net/psched: t2us / us2t * clock_res / 1e6, with the "clock_res == 1e9" quirk of
 * kernels since 2.6.22 mapping t2us to us2t. 15.625 on every kernel since 3.x.
 */
static double tick_in_usec(void)
{
	static double tick;
	unsigned int v[4];
	FILE *f;

	if (tick > 0)
		return tick;
	tick = 1000.0 / 64.0;
	f = fopen("/proc/net/psched", "re");
	if (!f)
		return tick;
	if (fscanf(f, "%x %x %x %x", &v[0], &v[1], &v[2], &v[3]) == 4 && v[1] && v[2]) {
		if (v[2] == 1000000000U)
			v[0] = v[1];
		tick = (double)v[0] / (double)v[1] * ((double)v[2] / TIME_UNITS_PER_SEC);
	}
	fclose(f);
	return tick;
}

/* a double in [0, 2^32) truncated as Go's uint32(f) does; anything above saturates, where Go wraps */
static uint32_t sat_u32(double x)
{
	return x >= 4294967295.0 ? UINT32_MAX : (uint32_t)x;
}

int nu_tbf_params(uint64_t rate_bits, uint64_t burst_bits, struct nu_tbf *out)
{
	uint64_t rate = rate_bits / 8, burst = burst_bits / 8, limit;
	double us, min;

	if (!rate_bits || !burst_bits)
		return -EINVAL;
	/*
	 * The kernel counts whole bytes: less than one is one (the reference's 0 is EINVAL). A
	 * burst of 2^32-1 bytes or more (the reference's "burst cannot be more than 4GB", sent by
	 * older CRI-O releases as 8 * (2^32-1) bits) is 2^32-1 bytes, the most tbf's max_size holds.
	 */
	rate = rate ? rate : 1;
	burst = burst ? (burst < UINT32_MAX ? burst : UINT32_MAX) : 1;
	/* Go: time2Tick(uint32(float64(burst) * 1e6 / float64(rate))), saturated instead of wrapped */
	us = (double)burst * TIME_UNITS_PER_SEC / (double)rate;
	out->buffer = us >= 4294967296.0 ? UINT32_MAX : sat_u32((double)(uint32_t)us * tick_in_usec());
	/*
	 * A bucket that holds less than one byte (the kernel's max_size, buffer ns * rate / 1e9,
	 * is 0: EINVAL) is raised to the shortest that holds one. The reference's microseconds are
	 * whole ones, so a small burst at a high rate comes out 0.
	 */
	min = TIME_UNITS_PER_SEC * tick_in_usec() / (double)rate;
	if (out->buffer < min)
		out->buffer = sat_u32(min) + (sat_u32(min) < min);
	/* Go: uint32(float64(rate) * latency / 1e6) + burst, saturated where Go's uint32 sum wraps */
	limit = (uint64_t)sat_u32((double)rate * LATENCY_US / TIME_UNITS_PER_SEC) + burst;
	out->limit = limit > UINT32_MAX ? UINT32_MAX : (uint32_t)limit;
	out->rate = rate;
	return 0;
}

/* Go's uint32(f) on amd64: a conversion to int64 (2^63 when out of range), its low 32 bits */
static uint32_t go_u32(double x)
{
	return x >= 0 && x < 9223372036854775808.0 ? (uint32_t)(int64_t)x : 0;
}

int nu_tbf_params_go(uint64_t rate_bits, uint64_t burst_bits, struct nu_tbf *out)
{
	uint64_t rate = rate_bits / 8, burst = burst_bits / 8;
	double us;

	if (!rate || !burst)
		return -EINVAL;
	if (burst >= UINT32_MAX)
		return -ERANGE;
	us = (double)burst * TIME_UNITS_PER_SEC / (double)rate;
	out->rate = rate;
	out->buffer = go_u32((double)go_u32(us) * tick_in_usec());
	out->limit = go_u32((double)rate * LATENCY_US / TIME_UNITS_PER_SEC) + (uint32_t)burst;
	return 0;
}

/* ---- qdiscs ----------------------------------------------------------------------------------- */

static struct nl_msg *tc_msg(int type, int flags, int ifindex, uint32_t handle, uint32_t parent,
			     uint32_t info)
{
	struct tcmsg tcm = {
	    .tcm_family = AF_UNSPEC,
	    .tcm_ifindex = ifindex,
	    .tcm_handle = handle,
	    .tcm_parent = parent,
	    .tcm_info = info,
	};
	struct nl_msg *msg = nlmsg_alloc_simple(type, flags);

	if (msg && nlmsg_append(msg, &tcm, sizeof(tcm), NLMSG_ALIGNTO) < 0) {
		nlmsg_free(msg);
		return NULL;
	}
	return msg;
}

int nu_tc_tbf_set(struct nu_nl *nl, int ifindex, const struct nu_tbf *t, struct cni_err *e)
{
	_msg_cleanup_ struct nl_msg *msg = NULL;
	struct tc_tbf_qopt q = {
	    .rate.rate = t->rate >= (1ULL << 32) ? ~0U : (uint32_t)t->rate,
	    .limit = t->limit,
	    .buffer = t->buffer,
	};
	struct nlattr *opt;
	int r;

	msg = tc_msg(RTM_NEWQDISC, NLM_F_CREATE | NLM_F_REPLACE, ifindex, TBF_HANDLE, TC_H_ROOT, 0);
	if (!msg || nla_put_string(msg, TCA_KIND, "tbf") < 0 ||
	    !(opt = nla_nest_start(msg, TCA_OPTIONS)) ||
	    nla_put(msg, TCA_TBF_PARMS, sizeof(q), &q) < 0 ||
	    (t->rate >= (1ULL << 32) && nla_put_u64(msg, TCA_TBF_RATE64, t->rate) < 0))
		return nu__failx(e, -ENOMEM, "adding tbf qdisc");
	nla_nest_end(msg, opt);
	r = nu__talk(nl, msg);
	msg = NULL;
	if (r < 0)
		return nu__fail(nl, e, r, "adding tbf qdisc to link %s", LINK(nl, ifindex));
	return 0;
}

int nu_tc_ingress_ensure(struct nu_nl *nl, int ifindex, struct cni_err *e)
{
	struct nl_msg *msg;
	int r;

	msg = tc_msg(RTM_NEWQDISC, NLM_F_CREATE | NLM_F_EXCL, ifindex, INGRESS_HANDLE, TC_H_INGRESS,
		     0);
	if (!msg || nla_put_string(msg, TCA_KIND, "ingress") < 0) {
		if (msg)
			nlmsg_free(msg);
		return nu__failx(e, -ENOMEM, "adding ingress qdisc");
	}
	r = nu__talk(nl, msg);
	if (r == -EEXIST)
		return 1;
	if (r < 0)
		return nu__fail(nl, e, r, "adding ingress qdisc to link %s", LINK(nl, ifindex));
	return 0;
}

int nu_tc_qdisc_del(struct nu_nl *nl, int ifindex, bool ingress, struct cni_err *e)
{
	struct nl_msg *msg;
	int r;

	msg = tc_msg(RTM_DELQDISC, 0, ifindex, ingress ? INGRESS_HANDLE : 0,
		     ingress ? TC_H_INGRESS : TC_H_ROOT, 0);
	if (!msg)
		return nu__failx(e, -ENOMEM, "deleting qdisc");
	r = nu__talk(nl, msg);
	/* no qdisc: ENOENT (or EINVAL for the default root qdisc, which cannot be deleted) */
	if (r == -ENOENT || r == -ENODEV || r == -EINVAL)
		return 0;
	if (r < 0)
		return nu__fail(nl, e, r, "deleting %s qdisc of link %s", ingress ? "ingress" : "root",
				LINK(nl, ifindex));
	return 0;
}

/* ---- the redirect filter ---------------------------------------------------------------------- */

static struct nl_msg *redirect_msg(int ifindex, int to_ifindex)
{
	/* a selector with one key of mask 0: matches everything (keys[] is a flexible array) */
	union {
		struct tc_u32_sel sel;
		char buf[sizeof(struct tc_u32_sel) + sizeof(struct tc_u32_key)];
	} sel = {.sel = {.flags = TC_U32_TERMINAL, .nkeys = 1}};
	struct tc_mirred m = {
	    .action = TC_ACT_STOLEN,
	    .eaction = TCA_EGRESS_REDIR,
	    .ifindex = (uint32_t)to_ifindex,
	};
	struct nlattr *opt, *acts, *act, *aopt;
	struct nl_msg *msg;

	msg = tc_msg(RTM_NEWTFILTER, NLM_F_CREATE | NLM_F_EXCL, ifindex, 0, INGRESS_HANDLE,
		     TC_H_MAKE(FILTER_PRIO << 16, htons(ETH_P_ALL)));
	if (!msg)
		return NULL;
	if (nla_put_string(msg, TCA_KIND, "u32") < 0 || !(opt = nla_nest_start(msg, TCA_OPTIONS)) ||
	    nla_put_u32(msg, TCA_U32_CLASSID, FLOWID) < 0 ||
	    nla_put(msg, TCA_U32_SEL, sizeof(sel.buf), sel.buf) < 0 ||
	    !(acts = nla_nest_start(msg, TCA_U32_ACT)) || !(act = nla_nest_start(msg, 1)) ||
	    nla_put_string(msg, TCA_ACT_KIND, "mirred") < 0 ||
	    !(aopt = nla_nest_start(msg, TCA_ACT_OPTIONS)) ||
	    nla_put(msg, TCA_MIRRED_PARMS, sizeof(m), &m) < 0) {
		nlmsg_free(msg);
		return NULL;
	}
	nla_nest_end(msg, aopt);
	nla_nest_end(msg, act);
	nla_nest_end(msg, acts);
	nla_nest_end(msg, opt);
	return msg;
}

int nu_tc_redirect_set(struct nu_nl *nl, int ifindex, int to_ifindex, struct cni_err *e)
{
	struct nl_msg *msg;
	int r;

	/*
	 * A second u32 filter at the same priority is not an EEXIST: u32 adds another node to the
	 * existing hash table. So a retried ADD first deletes the whole prio-1 filter (nothing there:
	 * ENOENT, or EINVAL on kernels that check the chain), then adds ours exclusively.
	 */
	msg = tc_msg(RTM_DELTFILTER, 0, ifindex, 0, INGRESS_HANDLE,
		     TC_H_MAKE(FILTER_PRIO << 16, htons(ETH_P_ALL)));
	if (!msg)
		return nu__failx(e, -ENOMEM, "deleting redirect filter");
	r = nu__talk(nl, msg);
	if (r < 0 && r != -ENOENT && r != -EINVAL)
		return nu__fail(nl, e, r, "deleting the old redirect filter of link %s",
				LINK(nl, ifindex));
	msg = redirect_msg(ifindex, to_ifindex);
	if (!msg)
		return nu__failx(e, -ENOMEM, "adding redirect filter");
	r = nu__talk(nl, msg);
	if (r < 0)
		return nu__fail(nl, e, r, "adding the mirred redirect filter from link %s to %s",
				LINK(nl, ifindex), LINK(nl, to_ifindex));
	return 0;
}

/* ---- dumps ------------------------------------------------------------------------------------ */

struct qdisc_dump {
	int ifindex;
	struct nu_qdisc *v;
	size_t n, cap;
};

static int qdisc_parse(struct nlmsghdr *nlh, void *arg)
{
	struct qdisc_dump *d = arg;
	struct nlattr *tb[TCA_MAX + 1], *ob[TCA_TBF_MAX + 1];
	struct tcmsg *tcm;
	struct nu_qdisc *q;

	if (nlh->nlmsg_type != RTM_NEWQDISC || nlmsg_parse(nlh, sizeof(*tcm), tb, TCA_MAX, NULL) < 0)
		return 0;
	tcm = nlmsg_data(nlh);
	if (tcm->tcm_ifindex != d->ifindex)
		return 0;
	q = nu__push(&d->v, &d->n, &d->cap, sizeof(*q), 8);
	if (!q)
		return -ENOMEM;
	memset(q, 0, sizeof(*q));
	q->handle = tcm->tcm_handle;
	q->parent = tcm->tcm_parent;
	if (tb[TCA_KIND])
		snprintf(q->kind, sizeof(q->kind), "%.*s", nla_len(tb[TCA_KIND]),
			 (const char *)nla_data(tb[TCA_KIND]));
	if (!strcmp(q->kind, "tbf") && tb[TCA_OPTIONS] &&
	    nla_parse_nested(ob, TCA_TBF_MAX, tb[TCA_OPTIONS], NULL) >= 0 &&
	    nu__attr(ob, TCA_TBF_PARMS, sizeof(struct tc_tbf_qopt))) {
		const struct tc_tbf_qopt *o = nla_data(ob[TCA_TBF_PARMS]);

		q->has_tbf = true;
		q->tbf.rate = o->rate.rate;
		q->tbf.buffer = o->buffer;
		q->tbf.limit = o->limit;
		if (nu__attr(ob, TCA_TBF_RATE64, 8))
			q->tbf.rate = nla_get_u64(ob[TCA_TBF_RATE64]);
	}
	return 0;
}

static void qdisc_reset(void *arg)
{
	((struct qdisc_dump *)arg)->n = 0;
}

int nu_tc_qdisc_list(struct nu_nl *nl, int ifindex, struct nu_qdisc **out, size_t *n,
		     struct cni_err *e)
{
	struct qdisc_dump d = {.ifindex = ifindex};
	struct nl_msg *msg;
	int r;

	*out = NULL;
	*n = 0;
	msg = tc_msg(RTM_GETQDISC, NLM_F_DUMP, ifindex, 0, 0, 0);
	if (!msg)
		return nu__failx(e, -ENOMEM, "listing qdiscs");
	r = nu__dump(nl, msg, qdisc_parse, qdisc_reset, &d);
	nlmsg_free(msg);
	if (r < 0) {
		free(d.v);
		return nu__fail(nl, e, r, "listing the qdiscs of link %s", LINK(nl, ifindex));
	}
	*out = d.v;
	*n = d.n;
	return 0;
}

struct target_dump {
	int ifindex;
	int *v;
	size_t n, cap, start; /* the caller's entries before ours */
};

/* The mirred targets in a TCA_*_ACT array of actions. */
static int actions_parse(struct target_dump *d, struct nlattr *acts)
{
	struct nlattr *tb[TCA_ACT_MAX_PRIO + 1];

	if (nla_parse_nested(tb, TCA_ACT_MAX_PRIO, acts, NULL) < 0)
		return 0;
	for (int i = 1; i <= TCA_ACT_MAX_PRIO; i++) {
		struct nlattr *ab[TCA_ACT_MAX + 1], *mb[TCA_MIRRED_MAX + 1];
		const struct tc_mirred *m;
		int *v;

		if (!tb[i] || nla_parse_nested(ab, TCA_ACT_MAX, tb[i], NULL) < 0 || !ab[TCA_ACT_KIND] ||
		    strncmp(nla_data(ab[TCA_ACT_KIND]), "mirred", nla_len(ab[TCA_ACT_KIND])) ||
		    !ab[TCA_ACT_OPTIONS] ||
		    nla_parse_nested(mb, TCA_MIRRED_MAX, ab[TCA_ACT_OPTIONS], NULL) < 0 ||
		    !nu__attr(mb, TCA_MIRRED_PARMS, sizeof(*m)))
			continue;
		m = nla_data(mb[TCA_MIRRED_PARMS]);
		v = nu__push(&d->v, &d->n, &d->cap, sizeof(*v), 8);
		if (!v)
			return -ENOMEM;
		*v = (int)m->ifindex;
	}
	return 0;
}

static int filter_parse(struct nlmsghdr *nlh, void *arg)
{
	struct target_dump *d = arg;
	struct nlattr *tb[TCA_MAX + 1], *ob[TCA_U32_MAX + 1];
	struct tcmsg *tcm;
	char kind[16] = "";
	int act_attr;

	if (nlh->nlmsg_type != RTM_NEWTFILTER ||
	    nlmsg_parse(nlh, sizeof(*tcm), tb, TCA_MAX, NULL) < 0)
		return 0;
	tcm = nlmsg_data(nlh);
	if (tcm->tcm_ifindex != d->ifindex || !tb[TCA_KIND] || !tb[TCA_OPTIONS])
		return 0;
	snprintf(kind, sizeof(kind), "%.*s", nla_len(tb[TCA_KIND]),
		 (const char *)nla_data(tb[TCA_KIND]));
	if (!strcmp(kind, "u32"))
		act_attr = TCA_U32_ACT;
	else if (!strcmp(kind, "matchall"))
		act_attr = TCA_MATCHALL_ACT;
	else
		return 0;
	_Static_assert(TCA_MATCHALL_MAX <= TCA_U32_MAX, "attribute table size");
	if (nla_parse_nested(ob, TCA_U32_MAX, tb[TCA_OPTIONS], NULL) < 0 || !ob[act_attr])
		return 0;
	return actions_parse(d, ob[act_attr]);
}

static void target_reset(void *arg)
{
	struct target_dump *d = arg;

	d->n = d->start;
}

int nu_tc_redirect_targets(struct nu_nl *nl, int ifindex, int **v, size_t *n, struct cni_err *e)
{
	struct target_dump d = {.ifindex = ifindex, .v = *v, .n = *n, .cap = *n, .start = *n};
	struct nl_msg *msg;
	int r;

	msg = tc_msg(RTM_GETTFILTER, NLM_F_DUMP, ifindex, 0, INGRESS_HANDLE, 0);
	if (!msg)
		return nu__failx(e, -ENOMEM, "listing filters");
	r = nu__dump(nl, msg, filter_parse, target_reset, &d);
	nlmsg_free(msg);
	*v = d.v;
	if (r == -ENOENT || r == -ENODEV || r == -EINVAL) /* no ingress qdisc, or no link */
		return 0;
	if (r < 0)
		return nu__fail(nl, e, r, "listing the ingress filters of link %s",
				LINK(nl, ifindex));
	*n = d.n;
	return 0;
}

/* ---- links ------------------------------------------------------------------------------------ */

int nu_ifb_ensure(struct nu_nl *nl, const char *name, unsigned int mtu, struct nu_link_info *out,
		  struct cni_err *e)
{
	struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC, .ifi_flags = IFF_UP, .ifi_change = IFF_UP};
	_msg_cleanup_ struct nl_msg *msg = NULL;
	struct nlattr *li;
	int r;

	if (!nu_ifname_valid(name))
		return nu__failx(e, -EINVAL, "creating ifb: invalid name \"%s\"", name ? name : "");
	msg = nlmsg_alloc_simple(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
	if (!msg || nlmsg_append(msg, &ifi, sizeof(ifi), NLMSG_ALIGNTO) < 0 ||
	    nla_put_string(msg, IFLA_IFNAME, name) < 0 || (mtu && nla_put_u32(msg, IFLA_MTU, mtu) < 0) ||
	    nla_put_u32(msg, IFLA_TXQLEN, 0) < 0 || !(li = nla_nest_start(msg, IFLA_LINKINFO)) ||
	    nla_put_string(msg, IFLA_INFO_KIND, "ifb") < 0)
		return nu__failx(e, -ENOMEM, "creating ifb \"%s\"", name);
	nla_nest_end(msg, li);
	r = nu__talk(nl, msg);
	msg = NULL;
	if (r < 0 && r != -EEXIST)
		return nu__fail(nl, e, r, "creating ifb \"%s\"", name);
	if (r == 0) {
		r = nu_link_get(nl, name, 0, out, e);
		return r < 0 ? r : 1;
	}
	/* The name is a hash of network and container: an IFB of that name is from our earlier
	 * attempt at this very ADD. Anything else of that name is not ours to touch. */
	r = nu_link_get(nl, name, 0, out, e);
	if (r < 0)
		return r;
	if (strcmp(out->kind, "ifb"))
		return nu__failx(e, -EEXIST, "creating ifb \"%s\": a %s link of that name exists",
				 name, out->kind[0] ? out->kind : "non-ifb");
	if (mtu && out->mtu != mtu && (r = nu_link_set_mtu(nl, out->ifindex, mtu, e)) < 0)
		return r;
	if (!(out->flags & IFF_UP) && (r = nu_link_set_up(nl, out->ifindex, e)) < 0)
		return r;
	return nu_link_get(nl, NULL, out->ifindex, out, e);
}

struct kind_dump {
	const char *kind;
	struct nu_link_ref *v;
	size_t n, cap;
};

static int kind_parse(struct nlmsghdr *nlh, void *arg)
{
	struct kind_dump *d = arg;
	struct nlattr *tb[IFLA_MAX + 1], *li[IFLA_INFO_MAX + 1];
	struct ifinfomsg *ifi;
	struct nu_link_ref *v;

	if (nlh->nlmsg_type != RTM_NEWLINK || nlmsg_parse(nlh, sizeof(*ifi), tb, IFLA_MAX, NULL) < 0)
		return 0;
	ifi = nlmsg_data(nlh);
	if (!tb[IFLA_IFNAME] || !tb[IFLA_LINKINFO] ||
	    nla_parse_nested(li, IFLA_INFO_MAX, tb[IFLA_LINKINFO], NULL) < 0 || !li[IFLA_INFO_KIND] ||
	    nla_strcmp(li[IFLA_INFO_KIND], d->kind))
		return 0;
	v = nu__push(&d->v, &d->n, &d->cap, sizeof(*v), 8);
	if (!v)
		return -ENOMEM;
	v->ifindex = ifi->ifi_index;
	snprintf(v->name, sizeof(v->name), "%.*s", nla_len(tb[IFLA_IFNAME]),
		 (const char *)nla_data(tb[IFLA_IFNAME]));
	return 0;
}

static void kind_reset(void *arg)
{
	((struct kind_dump *)arg)->n = 0;
}

int nu_link_list_kind(struct nu_nl *nl, const char *kind, struct nu_link_ref **out, size_t *n,
		      struct cni_err *e)
{
	struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC};
	struct kind_dump d = {.kind = kind};
	struct nlattr *li;
	struct nl_msg *msg;
	int r;

	*out = NULL;
	*n = 0;
	msg = nlmsg_alloc_simple(RTM_GETLINK, NLM_F_DUMP);
	if (!msg || nlmsg_append(msg, &ifi, sizeof(ifi), NLMSG_ALIGNTO) < 0 ||
	    !(li = nla_nest_start(msg, IFLA_LINKINFO)) ||
	    nla_put_string(msg, IFLA_INFO_KIND, kind) < 0) {
		if (msg)
			nlmsg_free(msg);
		return nu__failx(e, -ENOMEM, "listing %s links", kind);
	}
	nla_nest_end(msg, li);
	r = nu__dump(nl, msg, kind_parse, kind_reset, &d);
	nlmsg_free(msg);
	if (r < 0) {
		free(d.v);
		return nu__fail(nl, e, r, "listing %s links", kind);
	}
	*out = d.v;
	*n = d.n;
	return 0;
}
