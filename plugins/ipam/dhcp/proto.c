// SPDX-License-Identifier: Apache-2.0
/*
 * The plugin <-> daemon protocol (framing and TLVs, described in dhcp.h), the route rules both
 * sides agree on, and Go-style duration parsing. Pure code: no sockets, no kernel objects.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dhcp.h"

static const uint8_t dhcp_magic[5] = {'C', 'N', 'D', 'H', 1};

void dhcp_buf_init(struct dhcp_buf *b)
{
	memset(b, 0, sizeof(*b));
	dhcp_put(b, 0, NULL, 0); /* reserve the length prefix and the magic */
}

void dhcp_buf_free(struct dhcp_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

static bool dhcp_reserve(struct dhcp_buf *b, size_t more)
{
	uint8_t *np;
	size_t cap;

	if (b->oom || b->len + more > DHCP_PROTO_MAX) {
		b->oom = true;
		return false;
	}
	if (b->len + more <= b->cap)
		return true;
	cap = b->cap ? b->cap : 256;
	while (cap < b->len + more)
		cap *= 2;
	np = realloc(b->p, cap);
	if (!np) {
		b->oom = true;
		return false;
	}
	b->p = np;
	b->cap = cap;
	return true;
}

void dhcp_put(struct dhcp_buf *b, uint16_t type, const void *v, size_t len)
{
	uint8_t *p;

	if (!b->p) {
		/* first call from dhcp_buf_init(): the header */
		if (dhcp_reserve(b, 4 + sizeof(dhcp_magic))) {
			memset(b->p, 0, 4);
			memcpy(b->p + 4, dhcp_magic, sizeof(dhcp_magic));
			b->len = 4 + sizeof(dhcp_magic);
		}
		return;
	}
	if (len > 65535) {
		b->oom = true;
		return;
	}
	if (!dhcp_reserve(b, 4 + len))
		return;
	p = b->p + b->len;
	p[0] = (uint8_t)(type >> 8);
	p[1] = (uint8_t)type;
	p[2] = (uint8_t)(len >> 8);
	p[3] = (uint8_t)len;
	if (len)
		memcpy(p + 4, v, len);
	b->len += 4 + len;
}

void dhcp_put_str(struct dhcp_buf *b, uint16_t type, const char *s)
{
	if (s)
		dhcp_put(b, type, s, strlen(s));
}

void dhcp_put_u32(struct dhcp_buf *b, uint16_t type, uint32_t v)
{
	uint8_t x[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};

	dhcp_put(b, type, x, 4);
}

void dhcp_put_u8(struct dhcp_buf *b, uint16_t type, uint8_t v)
{
	dhcp_put(b, type, &v, 1);
}

int dhcp_buf_finish(struct dhcp_buf *b)
{
	size_t n;

	if (b->oom || !b->p)
		return -ENOMEM;
	n = b->len - 4;
	b->p[0] = (uint8_t)(n >> 24);
	b->p[1] = (uint8_t)(n >> 16);
	b->p[2] = (uint8_t)(n >> 8);
	b->p[3] = (uint8_t)n;
	return 0;
}

/* Iterate the TLVs of a frame body (after the length prefix). */
struct dhcp_tlv_iter {
	const uint8_t *p;
	size_t len, pos;
};

/* Check the magic and version; 0 or -EPROTO. */
static int dhcp_tlv_begin(struct dhcp_tlv_iter *it, const uint8_t *body, size_t len)
{
	if (len < sizeof(dhcp_magic) || memcmp(body, dhcp_magic, sizeof(dhcp_magic)))
		return -EPROTO;
	it->p = body;
	it->len = len;
	it->pos = sizeof(dhcp_magic);
	return 0;
}

/* Next TLV: 1 with *type, *v and *vlen set, 0 at the end, -EPROTO when truncated. */
static int dhcp_tlv_next(struct dhcp_tlv_iter *it, uint16_t *type, const uint8_t **v,
			 size_t *vlen)
{
	size_t l;

	if (it->pos == it->len)
		return 0;
	if (it->len - it->pos < 4)
		return -EPROTO;
	*type = (uint16_t)(it->p[it->pos] << 8 | it->p[it->pos + 1]);
	l = (size_t)(it->p[it->pos + 2] << 8 | it->p[it->pos + 3]);
	if (it->len - it->pos - 4 < l)
		return -EPROTO;
	*v = it->p + it->pos + 4;
	*vlen = l;
	it->pos += 4 + l;
	return 1;
}

static int dhcp_copy_str(char *dst, size_t cap, const uint8_t *v, size_t len)
{
	if (len >= cap || memchr(v, 0, len))
		return -ENAMETOOLONG;
	memcpy(dst, v, len);
	dst[len] = '\0';
	return 0;
}

uint32_t dhcp_u32(const uint8_t *v)
{
	return (uint32_t)v[0] << 24 | (uint32_t)v[1] << 16 | (uint32_t)v[2] << 8 | v[3];
}

/* One TLV of a request into the struct dhcp_request at @arg: 0, -EPROTO or -ENAMETOOLONG. */
static int request_tlv(uint16_t t, const uint8_t *v, size_t vl, void *arg)
{
	struct dhcp_request *r = arg;
	int e = 0;

	switch (t) {
	case DHCP_T_VERB:
		if (vl != 1)
			return -EPROTO;
		r->verb = v[0];
		break;
	case DHCP_T_CID:
		e = dhcp_copy_str(r->cid, sizeof(r->cid), v, vl);
		break;
	case DHCP_T_NETNS:
		e = dhcp_copy_str(r->netns, sizeof(r->netns), v, vl);
		break;
	case DHCP_T_IFNAME:
		e = dhcp_copy_str(r->ifname, sizeof(r->ifname), v, vl);
		break;
	case DHCP_T_NETWORK:
		e = dhcp_copy_str(r->network, sizeof(r->network), v, vl);
		break;
	case DHCP_T_REQUEST:
		if (vl > sizeof(r->req_opts))
			return -EPROTO;
		memcpy(r->req_opts, v, vl);
		r->n_req_opts = vl;
		r->req_opts_seen = true;
		break;
	case DHCP_T_PROVIDE:
		if (vl < 1 || vl > 256 || r->n_provide >= DHCP_MAX_PROVIDE)
			return -EPROTO;
		r->provide[r->n_provide].code = v[0];
		r->provide[r->n_provide].len = (uint8_t)(vl - 1);
		memcpy(r->provide[r->n_provide].data, v + 1, vl - 1);
		r->n_provide++;
		break;
	case DHCP_T_BROADCAST:
		if (vl != 1)
			return -EPROTO;
		r->broadcast = v[0] != 0;
		break;
	case DHCP_T_TIMEOUT_MS:
	case DHCP_T_RESEND_MAX_MS:
	case DHCP_T_RESEND_TIMEOUT_MS:
		if (vl != 4)
			return -EPROTO;
		*(t == DHCP_T_TIMEOUT_MS	  ? &r->timeout_ms
		  : t == DHCP_T_RESEND_MAX_MS ? &r->resend_max_ms
					      : &r->resend_timeout_ms) = dhcp_u32(v);
		break;
	default:
		break;
	}
	return e;
}

int dhcp_request_decode(const uint8_t *body, size_t len, struct dhcp_request *r)
{
	memset(r, 0, sizeof(*r));
	r->body = body;
	r->body_len = len;
	return dhcp_tlv_each(body, len, request_tlv, r);
}

/* The attachment "<cid>\0<ifname>" at @arg: 1 when TLV @t is a VALID entry naming it. */
static int valid_tlv(uint16_t t, const uint8_t *v, size_t vl, void *arg)
{
	const char *const *att = arg;
	size_t cl = strlen(att[0]), il = strlen(att[1]);

	return t == DHCP_T_VALID && vl == cl + 1 + il && !memcmp(v, att[0], cl) && v[cl] == 0 &&
	       !memcmp(v + cl + 1, att[1], il);
}

bool dhcp_request_valid(const struct dhcp_request *r, const char *cid, const char *ifname)
{
	const char *att[] = { cid, ifname };

	return dhcp_tlv_each(r->body, r->body_len, valid_tlv, att) > 0;
}

int dhcp_tlv_each(const uint8_t *body, size_t len,
		  int (*fn)(uint16_t t, const uint8_t *v, size_t vl, void *arg), void *arg)
{
	struct dhcp_tlv_iter it;
	const uint8_t *v;
	uint16_t t;
	size_t vl;
	int k, r = 0;

	if (dhcp_tlv_begin(&it, body, len))
		return -EPROTO;
	while (!r && (k = dhcp_tlv_next(&it, &t, &v, &vl)) > 0)
		r = fn(t, v, vl, arg);
	return r ? r : k;
}

int dhcp_lease_routes(const struct nu_dhcp_msg *ack, struct dhcp_lease_info *info)
{
	const uint8_t *p;
	size_t n;
	int r;

	info->n_routes = 0;
	p = nu_dhcp_opt(ack, NU_DHCP_OPT_CLASSLESS_ROUTES, &n);
	if (p) {
		r = nu_dhcp_classless_routes(p, n, info->routes, DHCP_MAX_ROUTES);
		if (r < 0)
			return r;
		info->n_routes = (size_t)r;
		return 0;
	}
	p = nu_dhcp_opt(ack, NU_DHCP_OPT_STATIC_ROUTES, &n);
	if (p) {
		r = nu_dhcp_static_routes(p, n, info->routes, DHCP_MAX_ROUTES - 1);
		if (r < 0)
			return r;
		info->n_routes = (size_t)r;
	}
	if (info->has_gw) {
		struct nu_dhcp_route *d = &info->routes[info->n_routes++];

		memset(d, 0, sizeof(*d));
		memcpy(d->gw, info->gw, 4);
	}
	return 0;
}

long long dhcp_duration_ms(const char *s)
{
	static const struct {
		const char *u;
		long long ms;
	} units[] = {{"ms", 1}, {"h", 3600000}, {"m", 60000}, {"s", 1000}};
	long long total = 0;
	const char *p = s;

	if (!s || !*s)
		return -EINVAL;
	if (!strcmp(s, "0"))
		return 0;
	while (*p) {
		char *end;
		double v = strtod(p, &end);
		size_t i;

		/* ranges before casts: "1e300h", "inf" or "nan" must not reach one */
		if (end == p || !(v >= 0 && v <= 1e12))
			return -EINVAL;
		if (!*end && p == s) /* a bare number: seconds */
			return (long long)(v * 1000);
		for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
			if (!strncmp(end, units[i].u, strlen(units[i].u)))
				break;
		if (i == sizeof(units) / sizeof(units[0]))
			return -EINVAL;
		total += (long long)(v * (double)units[i].ms);
		if (total > 100LL * 24 * 3600000)
			return -EINVAL;
		p = end + strlen(units[i].u);
	}
	return total;
}
