// SPDX-License-Identifier: Apache-2.0
/*
 * host-local's allocator: range validation and defaults, range-set membership and overlap, and
 * the round-robin iterator, with the reference plugin's rules and messages. Pure functions on
 * plain values, no I/O; the store decides whether a candidate is free.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "hostlocal.h"

/* Whether @bound, one of @r's own start and end, is in @r judged without it. */
static bool bound_inside(struct hl_range *r, struct cni_ip *bound)
{
	struct cni_ip x = *bound;
	bool in;

	memset(bound, 0, sizeof(*bound));
	in = hl_range_contains(r, &x);
	*bound = x;
	return in;
}

int hl_range_canonicalize(struct hl_range *r, struct cni_err *e)
{
	char sub[CNI_PREFIX_STRLEN], a[CNI_IP_STRLEN];
	unsigned int bits = cni_ip_bits(&r->subnet.ip);
	struct cni_ip net;

	if (!r->subnet.ip.family)
		return cni_fail(e, -EINVAL, 0, "missing subnet");
	cni_prefix_str(&r->subnet, sub);
	/* Nothing to hand out in a /31 or /32 (/127, /128). */
	if ((unsigned int)r->subnet.len + 2 > bits)
		return cni_fail(e, -EINVAL, 0, "Network %s too small to allocate from", sub);
	net = cni_prefix_network(&r->subnet);
	if (!cni_ip_eq(&net, &r->subnet.ip))
		return cni_fail(e, -EINVAL, 0,
				"Network has host bits set. For a subnet mask of length %u the "
				"network address is %s",
				r->subnet.len, cni_ip_str(&net, a));
	if (!r->gw.family) {
		r->gw = net;
		cni_ip_next(&r->gw);
	}
	/* Membership below checks start/end only once they are set: validate in this order. */
	if (r->start.family) {
		if (!bound_inside(r, &r->start))
			return cni_fail(e, -EINVAL, 0, "RangeStart %s not in network %s",
					cni_ip_str(&r->start, a), sub);
	} else {
		r->start = net;
		cni_ip_next(&r->start);
	}
	if (r->end.family) {
		if (!bound_inside(r, &r->end))
			return cni_fail(e, -EINVAL, 0, "RangeEnd %s not in network %s",
					cni_ip_str(&r->end, a), sub);
	} else {
		r->end = cni_prefix_last(&r->subnet);
		if (r->end.family == AF_INET)
			r->end.a[3]--; /* not the broadcast address; v6 has none */
	}
	return 0;
}

bool hl_range_contains(const struct hl_range *r, const struct cni_ip *ip)
{
	if (!cni_prefix_contains(&r->subnet, ip))
		return false;
	if (r->start.family && cni_ip_cmp(ip, &r->start) < 0)
		return false;
	if (r->end.family && cni_ip_cmp(ip, &r->end) > 0)
		return false;
	return true;
}

bool hl_range_overlaps(const struct hl_range *a, const struct hl_range *b)
{
	if (a->start.family != b->start.family)
		return false;
	return hl_range_contains(a, &b->start) || hl_range_contains(a, &b->end) ||
	       hl_range_contains(b, &a->start) || hl_range_contains(b, &a->end);
}

bool hl_range_reserved(const struct hl_range *r, const struct cni_ip *ip)
{
	struct cni_ip x;

	if (cni_ip_eq(ip, &r->gw))
		return true;
	x = cni_prefix_network(&r->subnet);
	if (cni_ip_eq(ip, &x))
		return true;
	x = cni_prefix_last(&r->subnet);
	return ip->family == AF_INET && cni_ip_eq(ip, &x);
}

static char *range_str(const struct hl_range *r, char *buf, size_t len)
{
	char a[CNI_IP_STRLEN], b[CNI_IP_STRLEN];

	snprintf(buf, len, "%s-%s", cni_ip_str(&r->start, a), cni_ip_str(&r->end, b));
	return buf;
}

int hl_set_canonicalize(struct hl_set *s, struct cni_err *e)
{
	char a[2 * CNI_IP_STRLEN + 2], b[2 * CNI_IP_STRLEN + 2];
	int r;

	if (!s->n)
		return cni_fail(e, -EINVAL, 0, "empty range set");
	for (size_t i = 0; i < s->n; i++) {
		r = hl_range_canonicalize(&s->r[i], e);
		if (r)
			return r;
		if (s->r[i].start.family != s->r[0].start.family)
			return cni_fail(e, -EINVAL, 0, "mixed address families");
	}
	for (size_t i = 0; i + 1 < s->n; i++)
		for (size_t j = i + 1; j < s->n; j++)
			if (hl_range_overlaps(&s->r[i], &s->r[j]))
				return cni_fail(e, -EINVAL, 0, "subnets %s and %s overlap",
						range_str(&s->r[i], a, sizeof(a)),
						range_str(&s->r[j], b, sizeof(b)));
	return 0;
}

const struct hl_range *hl_set_range_for(const struct hl_set *s, const struct cni_ip *ip)
{
	for (size_t i = 0; i < s->n; i++)
		if (hl_range_contains(&s->r[i], ip))
			return &s->r[i];
	return NULL;
}

bool hl_set_overlaps(const struct hl_set *a, const struct hl_set *b)
{
	for (size_t i = 0; i < a->n; i++)
		for (size_t j = 0; j < b->n; j++)
			if (hl_range_overlaps(&a->r[i], &b->r[j]))
				return true;
	return false;
}

char *hl_set_str(const struct hl_set *s, char *buf, size_t len)
{
	char one[2 * CNI_IP_STRLEN + 2];
	size_t o = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < s->n && o < len; i++)
		o += (size_t)snprintf(buf + o, len - o, "%s%s", i ? "," : "",
				      range_str(&s->r[i], one, sizeof(one)));
	return buf;
}

int hl_set_family(const struct hl_set *s)
{
	return s->n ? s->r[0].start.family : 0;
}

void hl_iter_init(struct hl_iter *it, const struct hl_set *s, const struct cni_ip *last)
{
	memset(it, 0, sizeof(*it));
	it->set = s;
	if (last && last->family) {
		for (size_t i = 0; i < s->n; i++) {
			if (hl_range_contains(&s->r[i], last)) {
				/* The first step moves past it: round-robin resumes at last + 1. */
				it->idx = i;
				it->cur = *last;
				it->have_cur = true;
				return;
			}
		}
	}
	it->first = s->r[0].start;
	it->have_first = true;
}

bool hl_iter_next(struct hl_iter *it, struct cni_ip *ip, const struct hl_range **rp)
{
	const struct hl_range *r;

	/* Bounded: each step visits a new address until the walk returns to the first one. */
	for (;;) {
		r = &it->set->r[it->idx];
		if (!it->have_cur) {
			it->cur = r->start;
			it->have_cur = true;
			it->first = it->cur;
			it->have_first = true;
		} else {
			if (cni_ip_eq(&it->cur, &r->end)) {
				it->idx = (it->idx + 1) % it->set->n;
				r = &it->set->r[it->idx];
				it->cur = r->start;
			} else {
				cni_ip_next(&it->cur);
			}
			if (!it->have_first) {
				it->first = it->cur;
				it->have_first = true;
			} else if (cni_ip_eq(&it->cur, &it->first)) {
				return false;
			}
		}
		if (hl_range_reserved(r, &it->cur))
			continue;
		*ip = it->cur;
		if (rp)
			*rp = r;
		return true;
	}
}
