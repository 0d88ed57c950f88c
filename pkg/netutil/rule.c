// SPDX-License-Identifier: Apache-2.0
/*
 * ip rules and table-to-table route moves for source-based routing. Rules are built by hand
 * (libnl 3.7's rtnl_rule has no strict-dump support and needs a cache for listing). Routes are
 * kept as the raw RTM_NEWROUTE the kernel dumped: putting one into another table re-sends its own
 * attributes with RTA_TABLE changed, so nothing (preferred source, scope, protocol, metric,
 * metrics, IPv6 preference) is lost or guessed, which struct nu_route could not promise. Creates
 * the rules and routes it is asked for; deleting a missing one is success.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/fib_rules.h>
#include <linux/rtnetlink.h>
#include <netlink/attr.h>

#include "netutil/internal.h"
#include "netutil/rule.h"

_Static_assert(NU_RT_TABLE_COMPAT == RT_TABLE_COMPAT && NU_RT_TABLE_MAIN == RT_TABLE_MAIN &&
		       NU_FR_ACT_TO_TBL == FR_ACT_TO_TBL,
	       "rule.h's copies of the kernel's values");

/* ---- rules ------------------------------------------------------------------------------------ */

static const char *rule_str(const struct nu_rule *r, char *buf, size_t len)
{
	char s[CNI_PREFIX_STRLEN] = "all";

	if (r->src.ip.family)
		cni_prefix_str(&r->src, s);
	snprintf(buf, len, "from %s lookup %u", s, r->table);
	return buf;
}

static struct nl_msg *rule_msg(int type, int flags, const struct nu_rule *r)
{
	struct fib_rule_hdr frh = {
	    .family = r->family,
	    .src_len = r->src.ip.family ? r->src.len : 0,
	    .table = r->table < 256 ? r->table : RT_TABLE_UNSPEC,
	    .action = FR_ACT_TO_TBL,
	};
	unsigned int alen = r->family == AF_INET ? 4 : 16;
	struct nl_msg *msg = nlmsg_alloc_simple(type, flags);

	if (!msg)
		return NULL;
	if (nlmsg_append(msg, &frh, sizeof(frh), NLMSG_ALIGNTO) < 0 ||
	    nla_put_u32(msg, FRA_TABLE, r->table) < 0 ||
	    (r->src.ip.family && nla_put(msg, FRA_SRC, alen, r->src.ip.a) < 0) ||
	    (r->has_priority && nla_put_u32(msg, FRA_PRIORITY, r->priority) < 0)) {
		nlmsg_free(msg);
		return NULL;
	}
	return msg;
}

static int rule_check(const struct nu_rule *r)
{
	if (r->family != AF_INET && r->family != AF_INET6)
		return -EAFNOSUPPORT;
	if (r->src.ip.family && r->src.ip.family != r->family)
		return -EINVAL;
	return 0;
}

/* Adding (RTM_NEWRULE) or deleting (RTM_DELRULE: one already gone is no error) rule @r. */
static int rule_op(struct nu_nl *nl, int type, int flags, const struct nu_rule *r,
		   struct cni_err *e)
{
	const char *what = type == RTM_NEWRULE ? "adding" : "deleting";
	char s[96];
	struct nl_msg *msg;
	int err;

	if (rule_check(r) < 0)
		return nu__failx(e, -EINVAL, "%s rule %s: invalid rule", what,
				 rule_str(r, s, sizeof(s)));
	msg = rule_msg(type, flags, r);
	if (!msg)
		return nu__failx(e, -ENOMEM, "%s rule", what);
	err = nu__talk(nl, msg);
	if (type == RTM_DELRULE && (err == -ENOENT || err == -ESRCH))
		return 0;
	if (err < 0)
		return nu__fail(nl, e, err, "%s rule %s", what, rule_str(r, s, sizeof(s)));
	return 0;
}

int nu_rule_add(struct nu_nl *nl, const struct nu_rule *r, struct cni_err *e)
{
	return rule_op(nl, RTM_NEWRULE, NLM_F_CREATE | NLM_F_EXCL, r, e);
}

int nu_rule_del(struct nu_nl *nl, const struct nu_rule *r, struct cni_err *e)
{
	return rule_op(nl, RTM_DELRULE, 0, r, e);
}

struct rule_dump {
	struct nu_rule *v;
	size_t n, cap;
};

static int rule_parse(struct nlmsghdr *nlh, void *arg)
{
	struct rule_dump *d = arg;
	struct nlattr *tb[FRA_MAX + 1];
	struct fib_rule_hdr *frh;
	struct nu_rule *x;
	unsigned int alen;

	if (nlh->nlmsg_type != RTM_NEWRULE || nlmsg_parse(nlh, sizeof(*frh), tb, FRA_MAX, NULL) < 0)
		return 0;
	frh = nlmsg_data(nlh);
	if (frh->family != AF_INET && frh->family != AF_INET6)
		return 0;
	x = nu__push(&d->v, &d->n, &d->cap, sizeof(*x), 16);
	if (!x)
		return -ENOMEM;
	memset(x, 0, sizeof(*x));
	alen = frh->family == AF_INET ? 4 : 16;
	x->family = frh->family;
	x->action = frh->action;
	x->table = nu__attr(tb, FRA_TABLE, 4) ? nla_get_u32(tb[FRA_TABLE]) : frh->table;
	if (nu__attr(tb, FRA_PRIORITY, 4)) {
		x->priority = nla_get_u32(tb[FRA_PRIORITY]);
		x->has_priority = true;
	}
	if (nu__attr(tb, FRA_SRC, alen)) {
		x->src.ip.family = frh->family;
		memcpy(x->src.ip.a, nla_data(tb[FRA_SRC]), alen);
		x->src.len = frh->src_len;
	}
	x->has_selectors = frh->dst_len || frh->tos || tb[FRA_IIFNAME] || tb[FRA_OIFNAME] ||
			   tb[FRA_FWMARK] || (frh->flags & FIB_RULE_INVERT);
	return 0;
}

static void rule_reset(void *arg)
{
	((struct rule_dump *)arg)->n = 0;
}

int nu_rule_list(struct nu_nl *nl, int family, struct nu_rule **out, size_t *n, struct cni_err *e)
{
	struct fib_rule_hdr frh = {.family = family};
	struct rule_dump d = {0};
	struct nl_msg *msg;
	int r;

	*out = NULL;
	*n = 0;
	msg = nlmsg_alloc_simple(RTM_GETRULE, NLM_F_DUMP);
	if (!msg || nlmsg_append(msg, &frh, sizeof(frh), NLMSG_ALIGNTO) < 0) {
		if (msg)
			nlmsg_free(msg);
		return nu__failx(e, -ENOMEM, "listing rules");
	}
	r = nu__dump(nl, msg, rule_parse, rule_reset, &d);
	nlmsg_free(msg);
	if (r < 0) {
		free(d.v);
		return nu__fail(nl, e, r, "listing rules");
	}
	*out = d.v;
	*n = d.n;
	return 0;
}

/* ---- routes, as dumped ------------------------------------------------------------------------ */

struct rec_dump {
	int family, table, oif;
	struct nu_route_rec *v;
	size_t n, cap;
};

static int rec_parse(struct nlmsghdr *nlh, void *arg)
{
	struct rec_dump *d = arg;
	struct nlattr *tb[RTA_MAX + 1];
	struct nu_route_rec *x;
	struct rtmsg *rtm;
	unsigned int alen;
	int table;

	if (nlh->nlmsg_type != RTM_NEWROUTE || nlmsg_parse(nlh, sizeof(*rtm), tb, RTA_MAX, NULL) < 0)
		return 0;
	rtm = nlmsg_data(nlh);
	if ((rtm->rtm_family != AF_INET && rtm->rtm_family != AF_INET6) ||
	    (d->family && rtm->rtm_family != d->family) || (rtm->rtm_flags & RTM_F_CLONED))
		return 0;
	table = nu__attr(tb, RTA_TABLE, 4) ? (int)nla_get_u32(tb[RTA_TABLE]) : rtm->rtm_table;
	if (d->table && table != d->table)
		return 0;
	if (d->oif && (!nu__attr(tb, RTA_OIF, 4) || (int)nla_get_u32(tb[RTA_OIF]) != d->oif))
		return 0;
	x = nu__push(&d->v, &d->n, &d->cap, sizeof(*x), 16);
	if (!x)
		return -ENOMEM;
	memset(x, 0, sizeof(*x));
	x->raw = malloc(nlh->nlmsg_len);
	if (!x->raw) {
		d->n--;
		return -ENOMEM;
	}
	memcpy(x->raw, nlh, nlh->nlmsg_len);
	x->len = nlh->nlmsg_len;
	alen = rtm->rtm_family == AF_INET ? 4 : 16;
	x->r.dst.ip.family = rtm->rtm_family;
	x->r.dst.len = rtm->rtm_dst_len;
	if (nu__attr(tb, RTA_DST, alen))
		memcpy(x->r.dst.ip.a, nla_data(tb[RTA_DST]), alen);
	if (nu__attr(tb, RTA_GATEWAY, alen)) {
		x->r.gw.family = rtm->rtm_family;
		memcpy(x->r.gw.a, nla_data(tb[RTA_GATEWAY]), alen);
	}
	if (nu__attr(tb, RTA_PREFSRC, alen)) {
		x->prefsrc.family = rtm->rtm_family;
		memcpy(x->prefsrc.a, nla_data(tb[RTA_PREFSRC]), alen);
	}
	if (nu__attr(tb, RTA_OIF, 4))
		x->r.oif = nla_get_u32(tb[RTA_OIF]);
	if (nu__attr(tb, RTA_PRIORITY, 4))
		x->r.priority = nla_get_u32(tb[RTA_PRIORITY]);
	x->r.table = table;
	x->r.scope = rtm->rtm_scope;
	x->r.proto = rtm->rtm_protocol;
	return 0;
}

void nu_route_rec_free(struct nu_route_rec *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].raw);
	free(v);
}

static void rec_reset(void *arg)
{
	struct rec_dump *d = arg;

	for (size_t i = 0; i < d->n; i++)
		free(d->v[i].raw);
	d->n = 0;
}

int nu_route_rec_list(struct nu_nl *nl, int family, int table, int oif, struct nu_route_rec **out,
		      size_t *n, struct cni_err *e)
{
	struct rec_dump d = {.family = family, .table = table, .oif = oif};
	struct rtmsg rtm = {.rtm_family = family};
	struct nl_msg *msg;
	int r;

	*out = NULL;
	*n = 0;
	msg = nlmsg_alloc_simple(RTM_GETROUTE, NLM_F_DUMP);
	if (!msg || nlmsg_append(msg, &rtm, sizeof(rtm), NLMSG_ALIGNTO) < 0 ||
	    (nl->strict && ((table > 0 && nla_put_u32(msg, RTA_TABLE, table) < 0) ||
			    (oif > 0 && nla_put_u32(msg, RTA_OIF, oif) < 0)))) {
		if (msg)
			nlmsg_free(msg);
		return nu__failx(e, -ENOMEM, "listing routes");
	}
	r = nu__dump(nl, msg, rec_parse, rec_reset, &d);
	nlmsg_free(msg);
	if (r < 0) {
		nu_route_rec_free(d.v, d.n);
		return nu__fail(nl, e, r, "listing routes");
	}
	*out = d.v;
	*n = d.n;
	return 0;
}

/* Attributes a route request may carry; the rest of a dump (cache info, expiry, the table,
 * which we set) is the kernel's bookkeeping. */
static bool rec_attr_kept(int type, bool del)
{
	switch (type) {
	case RTA_DST:
	case RTA_SRC:
	case RTA_GATEWAY:
	case RTA_OIF:
	case RTA_PRIORITY:
	case RTA_MULTIPATH:
	case RTA_VIA:
		return true;
	case RTA_PREFSRC:
	case RTA_METRICS:
	case RTA_FLOW:
	case RTA_PREF:
	case RTA_ENCAP_TYPE:
	case RTA_ENCAP:
		return !del;
	default:
		return false;
	}
}

static struct nl_msg *rec_msg(const struct nu_route_rec *rec, int type, int flags, int table,
			      const struct cni_ip *prefsrc)
{
	const struct nlmsghdr *nlh = rec->raw;
	struct rtmsg rtm = *(const struct rtmsg *)nlmsg_data(nlh);
	unsigned int alen = rtm.rtm_family == AF_INET ? 4 : 16;
	struct nlattr *a;
	struct nl_msg *msg;
	int rem;

	rtm.rtm_flags = 0;
	rtm.rtm_table = table < 256 ? table : RT_TABLE_UNSPEC;
	msg = nlmsg_alloc_simple(type, flags);
	if (!msg)
		return NULL;
	if (nlmsg_append(msg, &rtm, sizeof(rtm), NLMSG_ALIGNTO) < 0 ||
	    nla_put_u32(msg, RTA_TABLE, table) < 0)
		goto fail;
	nlmsg_for_each_attr(a, (struct nlmsghdr *)nlh, sizeof(struct rtmsg), rem)
	{
		if (!rec_attr_kept(nla_type(a), type == RTM_DELROUTE) ||
		    (prefsrc && nla_type(a) == RTA_PREFSRC))
			continue;
		if (nla_put(msg, a->nla_type, nla_len(a), nla_data(a)) < 0)
			goto fail;
	}
	if (prefsrc && prefsrc->family && nla_put(msg, RTA_PREFSRC, alen, prefsrc->a) < 0)
		goto fail;
	return msg;
fail:
	nlmsg_free(msg);
	return NULL;
}

static const char *rec_str(const struct nu_route_rec *rec, char *buf, size_t len)
{
	char d[CNI_PREFIX_STRLEN], g[CNI_IP_STRLEN + 5] = "";

	cni_prefix_str(&rec->r.dst, d);
	if (rec->r.gw.family) {
		memcpy(g, " via ", 5);
		cni_ip_str(&rec->r.gw, g + 5);
	}
	snprintf(buf, len, "%s%s", d, g);
	return buf;
}

int nu_route_rec_put(struct nu_nl *nl, const struct nu_route_rec *rec, int table,
		     const struct cni_ip *prefsrc, struct cni_err *e)
{
	struct nl_msg *msg = rec_msg(rec, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, table, prefsrc);
	char s[128];
	int r;

	if (!msg)
		return nu__failx(e, -ENOMEM, "adding route");
	r = nu__talk(nl, msg);
	if (r < 0)
		return nu__fail(nl, e, r, "putting route %s into table %d", rec_str(rec, s, sizeof(s)),
				table);
	return 0;
}

int nu_route_rec_del(struct nu_nl *nl, const struct nu_route_rec *rec, struct cni_err *e)
{
	struct nl_msg *msg = rec_msg(rec, RTM_DELROUTE, 0, rec->r.table, NULL);
	char s[128];
	int r;

	if (!msg)
		return nu__failx(e, -ENOMEM, "deleting route");
	r = nu__talk(nl, msg);
	if (r == -ESRCH || r == -ENOENT || r == -ENODEV)
		return 0;
	if (r < 0)
		return nu__fail(nl, e, r, "deleting route %s from table %d",
				rec_str(rec, s, sizeof(s)), rec->r.table);
	return 0;
}
