// SPDX-License-Identifier: Apache-2.0
/*
 * VRF links (vrf.h). libnl has a vrf link type, but a hand-built RTM_NEWLINK (nu__newlink_*(),
 * as ipvlan.c and vlan.c) keeps to one style and lets one parser serve lookups by name and
 * whole-netns scans (member count, used tables: one dump, no cache). Enslaving moves the link's
 * routes into the VRF's table with plain route adds (an identical route there is success).
 * Creation is exclusive; nothing is deleted here.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <netlink/attr.h>
#include <netlink/msg.h>

#include "netutil/internal.h"
#include "netutil/kind/vrf.h"

int nu_vrf_create(struct nu_nl *nl, const char *name, uint32_t table, struct cni_err *e)
{
	struct nu__newlink m;
	char detail[24];

	nu__newlink_start(&m, "vrf", &(struct nu_link_spec){.name = name, .netns_fd = -1}, e);
	nu__newlink_u32(&m, IFLA_VRF_TABLE, table);
	snprintf(detail, sizeof(detail), "(table %u)", table);
	return nu__newlink_send(nl, &m, detail, e);
}

struct vrf_dump {
	/* lookup by name */
	bool found, is_vrf;
	int ifindex;
	uint32_t table;
	/* scan */
	int vrf;
	unsigned int members;
	uint32_t *tables;
	size_t n, cap;
};

static int vrf_parse(struct nlmsghdr *nlh, void *arg)
{
	struct nlattr *tb[IFLA_MAX + 1], *li[IFLA_INFO_MAX + 1], *d[IFLA_VRF_MAX + 1];
	struct vrf_dump *v = arg;
	uint32_t table = 0;
	bool is_vrf = false;

	if (nlh->nlmsg_type != RTM_NEWLINK ||
	    nlmsg_parse(nlh, sizeof(struct ifinfomsg), tb, IFLA_MAX, NULL) < 0)
		return 0;
	if (tb[IFLA_LINKINFO] && nla_parse_nested(li, IFLA_INFO_MAX, tb[IFLA_LINKINFO], NULL) >= 0 &&
	    li[IFLA_INFO_KIND] && nla_len(li[IFLA_INFO_KIND]) >= 4 &&
	    !strncmp(nla_data(li[IFLA_INFO_KIND]), "vrf", 4)) {
		is_vrf = true;
		if (li[IFLA_INFO_DATA] &&
		    nla_parse_nested(d, IFLA_VRF_MAX, li[IFLA_INFO_DATA], NULL) >= 0 &&
		    nu__attr(d, IFLA_VRF_TABLE, 4))
			table = nla_get_u32(d[IFLA_VRF_TABLE]);
	}
	v->found = true;
	v->is_vrf = is_vrf;
	v->ifindex = ((struct ifinfomsg *)nlmsg_data(nlh))->ifi_index;
	v->table = table;
	if (v->vrf && nu__attr(tb, IFLA_MASTER, 4) && (int)nla_get_u32(tb[IFLA_MASTER]) == v->vrf)
		v->members++;
	if (is_vrf && table) {
		uint32_t *t = nu__push(&v->tables, &v->n, &v->cap, sizeof(*t), 16);

		if (!t)
			return -ENOMEM;
		*t = table;
	}
	return 0;
}

static void vrf_reset(void *arg)
{
	struct vrf_dump *v = arg;

	v->members = 0;
	v->n = 0;
}

int nu_vrf_get(struct nu_nl *nl, const char *name, int *ifindex, uint32_t *table,
	       struct cni_err *e)
{
	struct vrf_dump v = {0};
	int r = nu__getlink(nl, name, vrf_parse, &v, &v.found, e);

	free(v.tables);
	if (r < 0)
		return r;
	if (!v.is_vrf)
		return nu__failx(e, -EMEDIUMTYPE, "link \"%s\" is not a vrf", name);
	*ifindex = v.ifindex;
	*table = v.table;
	return 0;
}

static int u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

int nu_vrf_scan(struct nu_nl *nl, int vrf, unsigned int *members, uint32_t *free_table,
		struct cni_err *e)
{
	struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC};
	_msg_cleanup_ struct nl_msg *msg = NULL;
	struct vrf_dump v = {.vrf = vrf};
	uint32_t t = 1;
	int r;

	msg = nlmsg_alloc_simple(RTM_GETLINK, NLM_F_DUMP);
	if (!msg || nlmsg_append(msg, &ifi, sizeof(ifi), NLMSG_ALIGNTO) < 0)
		return nu__failx(e, -ENOMEM, "listing links");
	r = nu__dump(nl, msg, vrf_parse, vrf_reset, &v);
	if (r < 0) {
		free(v.tables);
		return nu__fail(nl, e, r, "listing links");
	}
	if (v.n)
		qsort(v.tables, v.n, sizeof(*v.tables), u32_cmp);
	for (size_t i = 0; i < v.n; i++)
		if (v.tables[i] == t)
			t++;
	free(v.tables);
	if (members)
		*members = v.members;
	if (free_table)
		*free_table = t;
	return 0;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

static void freep(void *p)
{
	free(*(void **)p);
}
#define _free_ __attribute__((cleanup(freep)))

static bool addr_present(const struct nu_addr *v, size_t n, const struct nu_addr *a)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].prefix.len == a->prefix.len &&
		    !memcmp(v[i].prefix.ip.a, a->prefix.ip.a, sizeof(a->prefix.ip.a)))
			return true;
	return false;
}

int nu_vrf_enslave(struct nu_nl *nl, int ifindex, int vrf, uint32_t table, struct cni_err *e)
{
	_free_ struct nu_addr *a6 = NULL, *now = NULL;
	_free_ struct nu_route *rt = NULL;
	size_t n6 = 0, nnow = 0, nrt = 0;
	int r;

	r = nu_addr_list(nl, ifindex, AF_INET6, &a6, &n6, e);
	if (r == 0)
		r = nu_route_list(nl, AF_UNSPEC, RT_TABLE_MAIN, ifindex, &rt, &nrt, e);
	if (r < 0)
		return r;
	r = nu_link_set_master(nl, ifindex, vrf, e);
	if (r < 0)
		return r;
	r = nu_addr_list(nl, ifindex, AF_INET6, &now, &nnow, e);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n6; i++) {
		if (a6[i].scope != RT_SCOPE_UNIVERSE || addr_present(now, nnow, &a6[i]))
			continue;
		r = nu_addr_add(nl, ifindex, &a6[i].prefix, e);
		if (r < 0 && r != -EEXIST)
			return r;
	}
	for (size_t i = 0; i < nrt; i++) {
		struct nu_route x = rt[i];
		long wait = 10, waited = 0;

		/* connected and link-local routes: the kernel makes them in the VRF table itself */
		if (x.proto == RTPROT_KERNEL)
			continue;
		x.table = (int)table;
		x.oif = ifindex;
		for (;;) {
			r = nu_route_add(nl, &x, e);
			if (r != -ENETUNREACH || waited >= 2500)
				break;
			if (e)
				cni_err_clear(e);
			sleep_ms(wait);
			waited += wait;
			wait *= 2;
		}
		if (r < 0 && r != -EEXIST)
			return r;
		if (e)
			cni_err_clear(e);
	}
	return 0;
}
