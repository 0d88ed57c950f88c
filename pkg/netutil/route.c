// SPDX-License-Identifier: Apache-2.0
/*
 * Routes: RTM_NEWROUTE / RTM_DELROUTE for one route and filtered RTM_GETROUTE dumps. Built by hand
 * rather than with libnl's rtnl_route because libnl 3.7 fills a route template with
 * RTPROT_STATIC and a guessed scope, which would turn "any protocol, any scope" in a delete into
 * exact matches and miss routes the Go plugins created (RTPROT_BOOT, universe scope). Adding uses
 * NLM_F_CREATE without NLM_F_EXCL (ECMP-friendly; an identical route is -EEXIST); deleting a
 * missing route is success.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/rtnetlink.h>
#include <netlink/attr.h>

#include "netutil/internal.h"

_Static_assert(NU_RT_SCOPE_LINK == RT_SCOPE_LINK && NU_RT_SCOPE_HOST == RT_SCOPE_HOST,
	       "netutil.h's copies of the kernel's values");

static int route_family(const struct nu_route *r)
{
	return r->dst.ip.family ? r->dst.ip.family : r->gw.family;
}

static void route_str(struct nu_nl *nl, const struct nu_route *r, char *buf, size_t len)
{
	char d[CNI_PREFIX_STRLEN], g[CNI_IP_STRLEN + 5] = "", dev[NU_IFNAMSIZ + 24] = "";
	struct cni_prefix dst = r->dst;

	if (!dst.ip.family)
		dst = cni_prefix_default(r->gw.family);
	cni_prefix_str(&dst, d);
	if (r->gw.family) {
		memcpy(g, " via ", 5);
		cni_ip_str(&r->gw, g + 5);
	}
	if (r->oif > 0)
		snprintf(dev, sizeof(dev), " dev %s", LINK(nl, r->oif));
	snprintf(buf, len, "%s%s%s table %d", d, g, dev, r->table > 0 ? r->table : RT_TABLE_MAIN);
}

static struct nl_msg *route_msg(int type, int flags, const struct nu_route *r)
{
	int family = route_family(r);
	unsigned int table = r->table > 0 ? (unsigned int)r->table : RT_TABLE_MAIN;
	unsigned int alen = family == AF_INET ? 4 : 16;
	struct rtmsg rtm = {
	    .rtm_family = family,
	    .rtm_dst_len = r->dst.len,
	    .rtm_table = table < 256 ? table : RT_TABLE_UNSPEC,
	};
	struct nl_msg *msg;
	struct nlattr *mx;

	if (type == RTM_NEWROUTE) {
		rtm.rtm_protocol = r->proto > 0 ? r->proto : RTPROT_BOOT;
		rtm.rtm_scope = r->scope >= 0 ? r->scope : RT_SCOPE_UNIVERSE;
		rtm.rtm_type = RTN_UNICAST;
	} else {
		/* zero protocol and type, RT_SCOPE_NOWHERE: wildcards for the kernel's match */
		rtm.rtm_protocol = r->proto > 0 ? r->proto : 0;
		rtm.rtm_scope = r->scope >= 0 ? r->scope : RT_SCOPE_NOWHERE;
	}
	msg = nlmsg_alloc_simple(type, flags);
	if (!msg)
		return NULL;
	if (nlmsg_append(msg, &rtm, sizeof(rtm), NLMSG_ALIGNTO) < 0 ||
	    nla_put_u32(msg, RTA_TABLE, table) < 0 ||
	    (r->dst.ip.family && r->dst.len && nla_put(msg, RTA_DST, alen, r->dst.ip.a) < 0) ||
	    (r->gw.family && nla_put(msg, RTA_GATEWAY, alen, r->gw.a) < 0) ||
	    (r->oif > 0 && nla_put_u32(msg, RTA_OIF, r->oif) < 0) ||
	    (r->priority > 0 && nla_put_u32(msg, RTA_PRIORITY, r->priority) < 0))
		goto fail;
	if (type == RTM_NEWROUTE && (r->mtu > 0 || r->advmss > 0)) {
		mx = nla_nest_start(msg, RTA_METRICS | NLA_F_NESTED);
		if (!mx || (r->mtu > 0 && nla_put_u32(msg, RTAX_MTU, r->mtu) < 0) ||
		    (r->advmss > 0 && nla_put_u32(msg, RTAX_ADVMSS, r->advmss) < 0))
			goto fail;
		nla_nest_end(msg, mx);
	}
	return msg;
fail:
	nlmsg_free(msg);
	return NULL;
}

static int route_check(const struct nu_route *r)
{
	int family = route_family(r);

	if (family != AF_INET && family != AF_INET6)
		return -EINVAL;
	if (r->dst.ip.family &&
	    (r->dst.ip.family != family || r->dst.len > cni_ip_bits(&r->dst.ip)))
		return -EINVAL;
	if (r->gw.family && r->gw.family != family)
		return -EINVAL;
	return 0;
}

/* Adding (RTM_NEWROUTE) or deleting (RTM_DELROUTE: one already gone is no error) route @r. */
static int route_op(struct nu_nl *nl, int type, int flags, const struct nu_route *r,
		    struct cni_err *e)
{
	const char *what = type == RTM_NEWROUTE ? "adding" : "deleting";
	char s[160];
	struct nl_msg *msg;
	int err;

	if (route_check(r) < 0)
		return nu__failx(e, -EINVAL, "%s route: invalid route", what);
	msg = route_msg(type, flags, r);
	if (!msg)
		return nu__failx(e, -ENOMEM, "%s route", what);
	err = nu__talk(nl, msg);
	if (type == RTM_DELROUTE && (err == -ESRCH || err == -ENOENT || err == -ENODEV))
		return 0;
	if (err < 0) {
		route_str(nl, r, s, sizeof(s));
		return nu__fail(nl, e, err, "%s route %s", what, s);
	}
	return 0;
}

int nu_route_add(struct nu_nl *nl, const struct nu_route *r, struct cni_err *e)
{
	return route_op(nl, RTM_NEWROUTE, NLM_F_CREATE, r, e);
}

int nu_route_del(struct nu_nl *nl, const struct nu_route *r, struct cni_err *e)
{
	return route_op(nl, RTM_DELROUTE, 0, r, e);
}

struct route_dump {
	int family, table, oif;
	struct nu_route *v;
	size_t n, cap;
};

static void metrics_parse(struct nlattr *mx, struct nu_route *x)
{
	struct nlattr *tb[RTAX_MAX + 1];

	if (nla_parse_nested(tb, RTAX_MAX, mx, NULL) < 0)
		return;
	if (nu__attr(tb, RTAX_MTU, 4))
		x->mtu = nla_get_u32(tb[RTAX_MTU]);
	if (nu__attr(tb, RTAX_ADVMSS, 4))
		x->advmss = nla_get_u32(tb[RTAX_ADVMSS]);
}

static int route_parse(struct nlmsghdr *nlh, void *arg)
{
	struct route_dump *d = arg;
	struct nlattr *tb[RTA_MAX + 1], *a;
	struct nu_route *x;
	struct rtmsg *rtm;
	unsigned int alen;
	int table, oif = 0;

	if (nlh->nlmsg_type != RTM_NEWROUTE ||
	    nlmsg_parse(nlh, sizeof(*rtm), tb, RTA_MAX, NULL) < 0)
		return 0;
	rtm = nlmsg_data(nlh);
	if ((rtm->rtm_family != AF_INET && rtm->rtm_family != AF_INET6) ||
	    (d->family && rtm->rtm_family != d->family) || (rtm->rtm_flags & RTM_F_CLONED))
		return 0;
	table = nu__attr(tb, RTA_TABLE, 4) ? (int)nla_get_u32(tb[RTA_TABLE]) : rtm->rtm_table;
	if (d->table && table != d->table)
		return 0;
	alen = rtm->rtm_family == AF_INET ? 4 : 16;
	if (nu__attr(tb, RTA_OIF, 4))
		oif = nla_get_u32(tb[RTA_OIF]);
	a = nu__attr(tb, RTA_GATEWAY, alen);
	/* a multipath route: report its first next hop */
	if (!oif && !a && nu__attr(tb, RTA_MULTIPATH, sizeof(struct rtnexthop))) {
		struct rtnexthop *nh = nla_data(tb[RTA_MULTIPATH]);
		struct nlattr *nhtb[RTA_MAX + 1];

		if (nh->rtnh_len >= sizeof(*nh) &&
		    nh->rtnh_len <= (unsigned int)nla_len(tb[RTA_MULTIPATH])) {
			oif = nh->rtnh_ifindex;
			if (nh->rtnh_len > sizeof(*nh) &&
			    nla_parse(nhtb, RTA_MAX, (struct nlattr *)RTNH_DATA(nh),
				      nh->rtnh_len - sizeof(*nh), NULL) >= 0)
				a = nu__attr(nhtb, RTA_GATEWAY, alen);
		}
	}
	if (d->oif && oif != d->oif)
		return 0;
	x = nu__push(&d->v, &d->n, &d->cap, sizeof(*x), 16);
	if (!x)
		return -ENOMEM;
	memset(x, 0, sizeof(*x));
	x->dst.ip.family = rtm->rtm_family;
	x->dst.len = rtm->rtm_dst_len;
	if (nu__attr(tb, RTA_DST, alen))
		memcpy(x->dst.ip.a, nla_data(tb[RTA_DST]), alen);
	if (a) {
		x->gw.family = rtm->rtm_family;
		memcpy(x->gw.a, nla_data(a), alen);
	}
	x->oif = oif;
	x->table = table;
	x->scope = rtm->rtm_scope;
	x->proto = rtm->rtm_protocol;
	if (nu__attr(tb, RTA_PRIORITY, 4))
		x->priority = nla_get_u32(tb[RTA_PRIORITY]);
	if (tb[RTA_METRICS])
		metrics_parse(tb[RTA_METRICS], x);
	return 0;
}

static void route_reset(void *arg)
{
	((struct route_dump *)arg)->n = 0;
}

int nu_route_list(struct nu_nl *nl, int family, int table, int oif, struct nu_route **out,
		  size_t *n, struct cni_err *e)
{
	struct route_dump d = {.family = family, .table = table, .oif = oif};
	struct rtmsg rtm = {.rtm_family = family};
	struct nl_msg *msg;
	int r;

	*out = NULL;
	*n = 0;
	msg = nlmsg_alloc_simple(RTM_GETROUTE, NLM_F_DUMP);
	if (!msg || nlmsg_append(msg, &rtm, sizeof(rtm), NLMSG_ALIGNTO) < 0)
		goto nomem;
	/* with strict checking (Linux 4.20) the kernel dumps only this table / this device */
	if (nl->strict && ((table > 0 && nla_put_u32(msg, RTA_TABLE, table) < 0) ||
			   (oif > 0 && nla_put_u32(msg, RTA_OIF, oif) < 0)))
		goto nomem;
	r = nu__dump(nl, msg, route_parse, route_reset, &d);
	nlmsg_free(msg);
	if (r < 0) {
		free(d.v);
		return nu__fail(nl, e, r, "listing routes");
	}
	if (!d.n) {
		free(d.v);
		d.v = NULL;
	}
	*out = d.v;
	*n = d.n;
	return 0;
nomem:
	nlmsg_free(msg);
	return nu__failx(e, -ENOMEM, "listing routes");
}
