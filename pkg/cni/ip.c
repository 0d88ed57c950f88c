// SPDX-License-Identifier: Apache-2.0
/*
 * IP value arithmetic. Pure functions, no allocation.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ip.h"

static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

int cni_ip_parse(const char *s, struct cni_ip *ip)
{
	memset(ip, 0, sizeof(*ip));
	if (!s)
		return -EINVAL;
	if (inet_pton(AF_INET, s, ip->a) == 1) {
		ip->family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, ip->a) == 1) {
		ip->family = AF_INET6;
		if (!memcmp(ip->a, v4mapped, sizeof(v4mapped))) {
			memmove(ip->a, ip->a + 12, 4);
			memset(ip->a + 4, 0, 12);
			ip->family = AF_INET;
		}
		return 0;
	}
	return -EINVAL;
}

int cni_ip_or_prefix_parse(const char *s, struct cni_prefix *p, bool *has_len)
{
	char buf[CNI_PREFIX_STRLEN + 8];
	const char *slash;
	char *end;
	unsigned long len;
	size_t n;

	memset(p, 0, sizeof(*p));
	if (!s)
		return -EINVAL;
	slash = strchr(s, '/');
	if (!slash) {
		if (cni_ip_parse(s, &p->ip))
			return -EINVAL;
		p->len = cni_ip_bits(&p->ip);
		if (has_len)
			*has_len = false;
		return 0;
	}
	n = (size_t)(slash - s);
	if (n >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (cni_ip_parse(buf, &p->ip))
		return -EINVAL;
	/* Go's ParseCIDR takes a decimal length with no sign and no leading junk. */
	if (slash[1] < '0' || slash[1] > '9')
		return -EINVAL;
	errno = 0;
	len = strtoul(slash + 1, &end, 10);
	if (errno || *end || len > cni_ip_bits(&p->ip) || (end - slash - 1) > 3)
		return -EINVAL;
	/* An IPv4-mapped address with a v6 length: keep Go's view (v4 with len-96). */
	if (p->ip.family == AF_INET && strchr(buf, ':')) {
		if (len < 96)
			return -EINVAL;
		len -= 96;
	}
	p->len = (uint8_t)len;
	if (has_len)
		*has_len = true;
	return 0;
}

int cni_prefix_parse(const char *s, struct cni_prefix *p)
{
	bool has_len;

	if (cni_ip_or_prefix_parse(s, p, &has_len) || !has_len)
		return -EINVAL;
	return 0;
}

/*
 * IPv6 text as Go prints it (RFC 5952: the longest run of two or more zero groups compressed,
 * lowercase hex), also for addresses inside ::/96, which inet_ntop writes as "::a.b.c.d": the
 * name of a host-local reservation file must be byte-identical to the Go plugin's.
 */
static void ip6_str(const uint8_t *a, char *buf)
{
	int best = -1, best_len = 0, cur = -1, cur_len = 0;
	char *p = buf;

	for (int i = 0; i < 8; i++) {
		if (!a[2 * i] && !a[2 * i + 1]) {
			if (cur < 0)
				cur = i, cur_len = 0;
			if (++cur_len > best_len && cur_len >= 2)
				best = cur, best_len = cur_len;
		} else {
			cur = -1;
		}
	}
	for (int i = 0; i < 8; i++) {
		if (i == best) {
			p += sprintf(p, "::");
			i += best_len - 1;
			continue;
		}
		if (i && p[-1] != ':')
			*p++ = ':';
		p += sprintf(p, "%x", (unsigned int)(a[2 * i] << 8 | a[2 * i + 1]));
	}
	*p = '\0';
}

char *cni_ip_str(const struct cni_ip *ip, char buf[CNI_IP_STRLEN])
{
	buf[0] = '\0';
	if (ip->family == AF_INET6)
		ip6_str(ip->a, buf);
	else if (ip->family)
		inet_ntop(ip->family, ip->a, buf, CNI_IP_STRLEN);
	return buf;
}

char *cni_prefix_str(const struct cni_prefix *p, char buf[CNI_PREFIX_STRLEN])
{
	char ip[CNI_IP_STRLEN];

	if (!p->ip.family) {
		buf[0] = '\0';
		return buf;
	}
	snprintf(buf, CNI_PREFIX_STRLEN, "%s/%u", cni_ip_str(&p->ip, ip), p->len);
	return buf;
}

int cni_ip_cmp(const struct cni_ip *x, const struct cni_ip *y)
{
	if (x->family != y->family)
		return x->family < y->family ? -1 : 1;
	return memcmp(x->a, y->a, cni_ip_len(x));
}

void cni_ip_next(struct cni_ip *ip)
{
	for (int i = (int)cni_ip_len(ip) - 1; i >= 0; i--)
		if (++ip->a[i] != 0)
			break;
}

void cni_ip_prev(struct cni_ip *ip)
{
	for (int i = (int)cni_ip_len(ip) - 1; i >= 0; i--)
		if (ip->a[i]-- != 0)
			break;
}

static void apply_mask(struct cni_ip *ip, unsigned int len, bool set_host)
{
	unsigned int bytes = cni_ip_len(ip);

	for (unsigned int i = 0; i < bytes; i++) {
		unsigned int bit = i * 8;
		uint8_t mask;

		if (bit + 8 <= len)
			mask = 0xff;
		else if (bit >= len)
			mask = 0;
		else
			mask = (uint8_t)(0xff << (8 - (len - bit)));
		if (set_host)
			ip->a[i] |= (uint8_t)~mask;
		else
			ip->a[i] &= mask;
	}
}

struct cni_ip cni_prefix_network(const struct cni_prefix *p)
{
	struct cni_ip ip = p->ip;

	apply_mask(&ip, p->len, false);
	return ip;
}

struct cni_ip cni_prefix_last(const struct cni_prefix *p)
{
	struct cni_ip ip = p->ip;

	apply_mask(&ip, p->len, true);
	return ip;
}

bool cni_prefix_has_host_bits(const struct cni_prefix *p)
{
	struct cni_ip net = cni_prefix_network(p);

	return !cni_ip_eq(&net, &p->ip);
}

bool cni_prefix_contains(const struct cni_prefix *p, const struct cni_ip *ip)
{
	struct cni_prefix q = {.ip = *ip, .len = p->len};
	struct cni_ip a, b;

	if (ip->family != p->ip.family)
		return false;
	a = cni_prefix_network(p);
	b = cni_prefix_network(&q);
	return cni_ip_eq(&a, &b);
}

bool cni_prefix_overlaps(const struct cni_prefix *x, const struct cni_prefix *y)
{
	if (x->ip.family != y->ip.family)
		return false;
	return cni_prefix_contains(x, &y->ip) || cni_prefix_contains(y, &x->ip);
}

struct cni_prefix cni_prefix_default(int family)
{
	struct cni_prefix p;

	memset(&p, 0, sizeof(p));
	p.ip.family = (uint8_t)family;
	return p;
}

bool cni_ip_is_zero(const struct cni_ip *ip)
{
	for (unsigned int i = 0; i < cni_ip_len(ip); i++)
		if (ip->a[i])
			return false;
	return true;
}
