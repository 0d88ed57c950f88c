// SPDX-License-Identifier: Apache-2.0
/*
 * Interface addresses: RTM_NEWADDR / RTM_DELADDR for one address and RTM_GETADDR dumps of one
 * netns, filtered to one link by the kernel when strict dump checking is on (and here again, for
 * older kernels). Messages are built by hand so that an IPv4 address gets its broadcast address
 * exactly as the Go plugins set it. Adding an existing address is -EEXIST; deleting an absent one
 * is success. nu_addr_wait_settled() waits for IPv6 duplicate address detection to finish.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <linux/if_addr.h>
#include <linux/if.h>
#include <linux/rtnetlink.h>
#include <netlink/attr.h>

#include "netutil/internal.h"

_Static_assert(NU_IFA_F_NODAD == IFA_F_NODAD, "netutil.h's copy of the kernel's value");

static struct nl_msg *addr_msg(int type, int flags, int ifindex, const struct cni_prefix *p)
{
	struct ifaddrmsg ifa = {
	    .ifa_family = p->ip.family,
	    .ifa_prefixlen = p->len,
	    .ifa_index = ifindex,
	};
	unsigned int alen = cni_ip_len(&p->ip);
	struct nl_msg *msg = nlmsg_alloc_simple(type, flags);

	if (!msg)
		return NULL;
	if (nlmsg_append(msg, &ifa, sizeof(ifa), NLMSG_ALIGNTO) < 0 ||
	    nla_put(msg, IFA_LOCAL, alen, p->ip.a) < 0 ||
	    nla_put(msg, IFA_ADDRESS, alen, p->ip.a) < 0)
		goto fail;
	if (type == RTM_NEWADDR && p->ip.family == AF_INET && p->len < 31) {
		struct cni_ip brd = cni_prefix_last(p);

		if (nla_put(msg, IFA_BROADCAST, 4, brd.a) < 0)
			goto fail;
	}
	return msg;
fail:
	nlmsg_free(msg);
	return NULL;
}

static int prefix_check(const struct cni_prefix *p)
{
	if (!cni_ip_len(&p->ip) || p->len > cni_ip_bits(&p->ip))
		return -EINVAL;
	return 0;
}

int nu_addr_add(struct nu_nl *nl, int ifindex, const struct cni_prefix *p, struct cni_err *e)
{
	return nu_addr_add_flags(nl, ifindex, p, 0, e);
}

int nu_addr_add_flags(struct nu_nl *nl, int ifindex, const struct cni_prefix *p, uint32_t flags,
		      struct cni_err *e)
{
	char s[CNI_PREFIX_STRLEN];
	struct nl_msg *msg;
	int r;

	if (prefix_check(p) < 0)
		return nu__failx(e, -EINVAL, "adding address to link #%d: invalid prefix", ifindex);
	msg = addr_msg(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, ifindex, p);
	if (msg && flags && nla_put_u32(msg, IFA_FLAGS, flags) < 0) {
		nlmsg_free(msg);
		msg = NULL;
	}
	if (!msg)
		return nu__failx(e, -ENOMEM, "adding address %s", cni_prefix_str(p, s));
	r = nu__talk(nl, msg);
	if (r < 0)
		return nu__fail(nl, e, r, "adding address %s to link %s", cni_prefix_str(p, s),
				LINK(nl, ifindex));
	return 0;
}

int nu_addr_del(struct nu_nl *nl, int ifindex, const struct cni_prefix *p, struct cni_err *e)
{
	char s[CNI_PREFIX_STRLEN];
	struct nl_msg *msg;
	int r;

	if (prefix_check(p) < 0)
		return nu__failx(e, -EINVAL, "deleting address from link #%d: invalid prefix",
				 ifindex);
	msg = addr_msg(RTM_DELADDR, 0, ifindex, p);
	if (!msg)
		return nu__failx(e, -ENOMEM, "deleting address %s", cni_prefix_str(p, s));
	r = nu__talk(nl, msg);
	if (r == -EADDRNOTAVAIL || r == -ENOENT || r == -ENODEV || r == -ESRCH)
		return 0;
	if (r < 0)
		return nu__fail(nl, e, r, "deleting address %s from link %s", cni_prefix_str(p, s),
				LINK(nl, ifindex));
	return 0;
}

struct addr_dump {
	int ifindex, family;
	struct nu_addr *v;
	size_t n, cap;
};

static int addr_parse(struct nlmsghdr *nlh, void *arg)
{
	struct addr_dump *d = arg;
	struct ifaddrmsg *ifa;
	struct nlattr *tb[IFA_MAX + 1], *a;
	struct nu_addr *x;
	unsigned int alen;

	if (nlh->nlmsg_type != RTM_NEWADDR || nlmsg_parse(nlh, sizeof(*ifa), tb, IFA_MAX, NULL) < 0)
		return 0;
	ifa = nlmsg_data(nlh);
	if ((d->ifindex && (int)ifa->ifa_index != d->ifindex) ||
	    (d->family != AF_UNSPEC && ifa->ifa_family != d->family))
		return 0;
	if (ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6)
		return 0;
	alen = ifa->ifa_family == AF_INET ? 4 : 16;
	/* IFA_LOCAL is the address itself on point-to-point IPv4 links; IPv6 has only IFA_ADDRESS
	 */
	a = nu__attr(tb, IFA_LOCAL, alen);
	if (!a)
		a = nu__attr(tb, IFA_ADDRESS, alen);
	if (!a)
		return 0;
	x = nu__push(&d->v, &d->n, &d->cap, sizeof(*x), 8);
	if (!x)
		return -ENOMEM;
	memset(x, 0, sizeof(*x));
	x->ifindex = ifa->ifa_index;
	x->prefix.ip.family = ifa->ifa_family;
	memcpy(x->prefix.ip.a, nla_data(a), alen);
	x->prefix.len = ifa->ifa_prefixlen;
	x->scope = ifa->ifa_scope;
	/* ifa_flags has 8 bits only; IFA_FLAGS (Linux 3.14) carries all of them */
	x->flags = nu__attr(tb, IFA_FLAGS, 4) ? nla_get_u32(tb[IFA_FLAGS]) : ifa->ifa_flags;
	return 0;
}

static void addr_reset(void *arg)
{
	((struct addr_dump *)arg)->n = 0;
}

int nu_addr_list(struct nu_nl *nl, int ifindex, int family, struct nu_addr **out, size_t *n,
		 struct cni_err *e)
{
	struct addr_dump d = {.ifindex = ifindex, .family = family};
	struct ifaddrmsg ifa = {.ifa_family = family, .ifa_index = nl->strict ? ifindex : 0};
	struct nl_msg *msg;
	int r;

	*out = NULL;
	*n = 0;
	msg = nlmsg_alloc_simple(RTM_GETADDR, NLM_F_DUMP);
	if (!msg || nlmsg_append(msg, &ifa, sizeof(ifa), NLMSG_ALIGNTO) < 0) {
		nlmsg_free(msg);
		return nu__failx(e, -ENOMEM, "listing addresses");
	}
	r = nu__dump(nl, msg, addr_parse, addr_reset, &d);
	nlmsg_free(msg);
	if (r < 0) {
		free(d.v);
		return nu__fail(nl, e, r, "listing addresses of link #%d", ifindex);
	}
	if (!d.n) {
		free(d.v);
		d.v = NULL;
	}
	*out = d.v;
	*n = d.n;
	return 0;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int nu_addr_wait_settled(struct nu_nl *nl, int ifindex, int timeout_ms, struct cni_err *e)
{
	long long deadline = now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	char s[CNI_PREFIX_STRLEN];
	long delay_ms = 1;

	for (;;) {
		struct nu_addr *v;
		const struct nu_addr *tentative = NULL;
		struct nu_link_info li;
		size_t n;
		long long left;
		int r;

		r = nu_addr_list(nl, ifindex, AF_INET6, &v, &n, e);
		if (r < 0)
			return r;
		for (size_t i = 0; i < n; i++) {
			if (v[i].flags & IFA_F_DADFAILED) {
				cni_prefix_str(&v[i].prefix, s);
				free(v);
				return nu__failx(
				    e, -EADDRINUSE,
				    "duplicate address detection failed for %s on link %s", s,
				    LINK(nl, ifindex));
			}
			if ((v[i].flags & IFA_F_TENTATIVE) && !tentative)
				tentative = &v[i];
		}
		if (tentative)
			cni_prefix_str(&tentative->prefix, s);
		free(v);
		if (!tentative)
			return 0;

		left = deadline - now_ms();
		if (left <= 0) {
			/* DAD does not run without carrier: that is the link's state, not a failure
			 */
			r = nu_link_get(nl, NULL, ifindex, &li, e);
			if (r < 0)
				return r;
			if (li.operstate != IF_OPER_UP)
				return 0;
			return nu__failx(e, -ETIMEDOUT,
					 "address %s on link %s still tentative after %d ms", s,
					 LINK(nl, ifindex), timeout_ms);
		}
		if (delay_ms > left)
			delay_ms = left;
		nanosleep(&(struct timespec){.tv_sec = delay_ms / 1000,
					     .tv_nsec = (delay_ms % 1000) * 1000000L},
			  NULL);
		/* DAD takes about a second (one probe, RetransTimer 1 s): poll no slower than 100
		 * ms */
		delay_ms = delay_ms * 2 > 100 ? 100 : delay_ms * 2;
	}
}
