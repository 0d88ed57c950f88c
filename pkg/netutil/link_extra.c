// SPDX-License-Identifier: Apache-2.0
/*
 * The master and default-route lookups and routes with a preferred source address of
 * link_extra.h. The default-route lookup is one RTM_GETROUTE with RTM_F_FIB_MATCH
 * (Linux 4.13), which answers with the FIB entry itself: a host with thousands of routes is not
 * dumped to find its default.
 * IPv4 asks for 0.0.0.1, not 0.0.0.0: the kernel answers a lookup of 0.0.0.0 with the loopback
 * route ("local 0.0.0.0 dev lo"; with FIB_MATCH, EHOSTUNREACH), while 0.0.0.0/8 is never routed
 * on a sane host, so the match is the default route. Only when the answer is a more specific
 * route or comes from another table (policy routing) is the main table listed instead.
 * Creates routes only when asked (nu_route_add_src); reads nothing else.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/rtnetlink.h>
#include <netlink/attr.h>

#include "netutil/internal.h"
#include "netutil/link_extra.h"

/* ---- master ---------------------------------------------------------------------------------- */

int nu_master_find(struct nu_nl *nl, const char *name, struct nu_link_info *m, struct cni_err *e)
{
	int r;

	if (!name || !*name) {
		r = nu_route_default_oif(nl, e);
		if (r < 0)
			return cni_wrap(e, r, "no master given and no default route interface");
		r = nu_link_get(nl, NULL, r, m, e);
	} else {
		r = nu_link_get(nl, name, 0, m, e);
	}
	if (r < 0)
		return cni_wrap(e, r, "failed to lookup master \"%s\"", name ? name : "");
	return 0;
}

int nu_master_ready(const char *name, struct cni_err *e)
{
	_nu_nl_cleanup_ struct nu_nl *host = NULL;
	struct nu_link_info m;
	int r = nu_nl_open(&host, -1, e);

	if (r < 0)
		return r;
	r = nu_master_find(host, name, &m, e);
	if (r < 0)
		e->code = CNI_ERR_NOT_AVAILABLE; /* the message stays */
	return r;
}

/* ---- default route --------------------------------------------------------------------------- */

struct lookup {
	bool found;
	int dst_len, table, oif;
};

static int lookup_parse(struct nlmsghdr *nlh, void *arg)
{
	struct lookup *l = arg;
	struct nlattr *tb[RTA_MAX + 1];
	struct rtmsg *rtm;

	if (nlh->nlmsg_type != RTM_NEWROUTE ||
	    nlmsg_parse(nlh, sizeof(*rtm), tb, RTA_MAX, NULL) < 0)
		return 0;
	rtm = nlmsg_data(nlh);
	l->found = true;
	l->dst_len = rtm->rtm_dst_len;
	l->table = nu__attr(tb, RTA_TABLE, 4) ? (int)nla_get_u32(tb[RTA_TABLE]) : rtm->rtm_table;
	if (nu__attr(tb, RTA_OIF, 4)) {
		l->oif = (int)nla_get_u32(tb[RTA_OIF]);
	} else if (nu__attr(tb, RTA_MULTIPATH, sizeof(struct rtnexthop))) {
		/* multipath default: the first next hop's device, as "first route" would give */
		struct rtnexthop *nh = nla_data(tb[RTA_MULTIPATH]);

		if (nh->rtnh_len >= sizeof(*nh))
			l->oif = nh->rtnh_ifindex;
	}
	return 0;
}

/* One FIB lookup: 0 with *l filled, or -errno (-ENETUNREACH: no route at all). */
static int fib_lookup(struct nu_nl *nl, int family, struct lookup *l)
{
	struct rtmsg rtm = {
	    .rtm_family = family,
	    .rtm_dst_len = family == AF_INET ? 32 : 128,
	    .rtm_flags = RTM_F_FIB_MATCH,
	};
	static const uint8_t v4[4] = {0, 0, 0, 1}, v6[16] = {0};
	struct nl_msg *msg;
	int r;

	memset(l, 0, sizeof(*l));
	msg = nlmsg_alloc_simple(RTM_GETROUTE, 0);
	if (!msg || nlmsg_append(msg, &rtm, sizeof(rtm), NLMSG_ALIGNTO) < 0 ||
	    nla_put(msg, RTA_DST, family == AF_INET ? 4 : 16, family == AF_INET ? v4 : v6) < 0) {
		nlmsg_free(msg);
		return -ENOMEM;
	}
	/* nu__dump() handles a single answer too; the ack that follows it is collected here */
	r = nu__dump(nl, msg, lookup_parse, NULL, l);
	nlmsg_free(msg);
	if (r < 0)
		return r;
	if (!l->found)
		return -ENOENT;
	return nu__result(nl, nl_wait_for_ack(nl->sk));
}

/* The slow path: the first default route of the main table with a device. */
static int list_default(struct nu_nl *nl, int family, struct cni_err *e)
{
	struct nu_route *v = NULL;
	size_t n = 0;
	int r, oif = 0;

	r = nu_route_list(nl, family, RT_TABLE_MAIN, 0, &v, &n, e);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n && !oif; i++)
		if (v[i].dst.len == 0 && v[i].oif > 0)
			oif = v[i].oif;
	free(v);
	return oif;
}

int nu_route_default_oif(struct nu_nl *nl, struct cni_err *e)
{
	static const int families[] = {AF_INET, AF_INET6};
	struct lookup l;

	for (size_t i = 0; i < 2; i++) {
		int r = fib_lookup(nl, families[i], &l);

		if (r == 0 && l.dst_len == 0 && l.table == RT_TABLE_MAIN && l.oif > 0)
			return l.oif;
		if (r == -ENETUNREACH || r == -EHOSTUNREACH || r == -EAFNOSUPPORT)
			continue; /* no route of this family at all (or no IPv6) */
		r = list_default(nl, families[i], e);
		if (r != 0)
			return r;
	}
	return nu__failx(e, -ENOENT, "no default route interface found");
}

/* ---- routes with a source address ------------------------------------------------------------ */

int nu_route_add_src(struct nu_nl *nl, const struct nu_route *r, const struct cni_ip *src,
		     struct cni_err *e)
{
	int family = r->dst.ip.family ? r->dst.ip.family : r->gw.family;
	unsigned int alen = family == AF_INET ? 4 : 16;
	unsigned int table = r->table > 0 ? (unsigned int)r->table : RT_TABLE_MAIN;
	struct rtmsg rtm = {
	    .rtm_family = family,
	    .rtm_dst_len = r->dst.len,
	    .rtm_table = table < 256 ? table : RT_TABLE_UNSPEC,
	    .rtm_protocol = r->proto > 0 ? r->proto : RTPROT_BOOT,
	    .rtm_scope = r->scope >= 0 ? r->scope : RT_SCOPE_UNIVERSE,
	    .rtm_type = RTN_UNICAST,
	};
	char d[CNI_PREFIX_STRLEN], s[CNI_IP_STRLEN] = "";
	struct nl_msg *msg;
	int err;

	if ((family != AF_INET && family != AF_INET6) || (r->gw.family && r->gw.family != family) ||
	    (src && src->family && src->family != family) || r->dst.len > alen * 8)
		return nu__failx(e, -EINVAL, "adding route: invalid route");
	msg = nlmsg_alloc_simple(RTM_NEWROUTE, NLM_F_CREATE);
	if (!msg || nlmsg_append(msg, &rtm, sizeof(rtm), NLMSG_ALIGNTO) < 0 ||
	    nla_put_u32(msg, RTA_TABLE, table) < 0 ||
	    (r->dst.ip.family && r->dst.len && nla_put(msg, RTA_DST, alen, r->dst.ip.a) < 0) ||
	    (r->gw.family && nla_put(msg, RTA_GATEWAY, alen, r->gw.a) < 0) ||
	    (r->oif > 0 && nla_put_u32(msg, RTA_OIF, r->oif) < 0) ||
	    (src && src->family && nla_put(msg, RTA_PREFSRC, alen, src->a) < 0) ||
	    (r->priority > 0 && nla_put_u32(msg, RTA_PRIORITY, r->priority) < 0)) {
		nlmsg_free(msg);
		return nu__failx(e, -ENOMEM, "adding route");
	}
	err = nu__talk(nl, msg);
	if (err < 0) {
		struct cni_prefix dst = r->dst;

		if (!dst.ip.family)
			dst = cni_prefix_default(family);
		if (src && src->family)
			cni_ip_str(src, s);
		return nu__fail(nl, e, err, "adding route %s%s%s dev %s", cni_prefix_str(&dst, d),
				*s ? " src " : "", s, LINK(nl, r->oif));
	}
	return 0;
}
