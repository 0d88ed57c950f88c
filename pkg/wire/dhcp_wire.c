// SPDX-License-Identifier: Apache-2.0
/*
 * The DHCPv4 codec and its IPv4+UDP framing (see dhcp_wire.h). Pure functions over caller
 * buffers: nothing here touches the kernel or allocates. Every read is preceded by a length check
 * against the bytes actually received; the fuzzer in tests/fuzz/fuzz_dhcp.c holds us to it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "wire/dhcp_wire.h"

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int nu_dhcp_add_opt(struct nu_dhcp_msg *m, uint8_t code, const void *data, size_t len)
{
	if (m->n_opts >= NU_DHCP_MAX_OPTS)
		return -ENOSPC;
	if (len > 65535)
		return -EINVAL;
	m->opts[m->n_opts++] = (struct nu_dhcp_opt){.code = code, .len = (uint16_t)len, .data = data};
	return 0;
}

/* One option, split into 255-byte instances; a zero-length option is one empty instance. */
static int put_opt(uint8_t *buf, size_t cap, size_t *pos, uint8_t code, const uint8_t *data,
		   size_t len)
{
	size_t done = 0;

	do {
		size_t chunk = len - done > 255 ? 255 : len - done;

		if (*pos + 2 + chunk > cap)
			return -ENOSPC;
		buf[*pos] = code;
		buf[*pos + 1] = (uint8_t)chunk;
		if (chunk)
			memcpy(buf + *pos + 2, data + done, chunk);
		*pos += 2 + chunk;
		done += chunk;
	} while (done < len);
	return 0;
}

int nu_dhcp_build(const struct nu_dhcp_msg *m, uint8_t type, uint8_t *buf, size_t cap)
{
	size_t pos = NU_DHCP_HDR_LEN + 4;
	int r;

	if (cap < pos)
		return -ENOSPC;
	memset(buf, 0, pos);
	buf[0] = m->op;
	buf[1] = m->htype;
	buf[2] = m->hlen;
	buf[3] = m->hops;
	put32(buf + 4, m->xid);
	put16(buf + 8, m->secs);
	put16(buf + 10, m->flags);
	memcpy(buf + 12, m->ciaddr, 4);
	memcpy(buf + 16, m->yiaddr, 4);
	memcpy(buf + 20, m->siaddr, 4);
	memcpy(buf + 24, m->giaddr, 4);
	memcpy(buf + 28, m->chaddr, 16);
	/* sname (64) and file (128) stay zero */
	put32(buf + NU_DHCP_HDR_LEN, NU_DHCP_MAGIC);

	r = put_opt(buf, cap, &pos, NU_DHCP_OPT_MSG_TYPE, &type, 1);
	if (r)
		return r;
	for (size_t i = 0; i < m->n_opts; i++) {
		const struct nu_dhcp_opt *o = &m->opts[i];

		if (o->code == NU_DHCP_OPT_PAD || o->code == NU_DHCP_OPT_END ||
		    o->code == NU_DHCP_OPT_MSG_TYPE)
			return -EINVAL;
		r = put_opt(buf, cap, &pos, o->code, o->data, o->len);
		if (r)
			return r;
	}
	if (pos + 1 > cap)
		return -ENOSPC;
	buf[pos++] = NU_DHCP_OPT_END;
	if (pos < NU_DHCP_MIN_LEN && cap >= NU_DHCP_MIN_LEN) {
		memset(buf + pos, 0, NU_DHCP_MIN_LEN - pos);
		pos = NU_DHCP_MIN_LEN;
	}
	return (int)pos;
}

/* ---- parsing ------------------------------------------------------------------------------ */

struct inst {
	uint8_t code;
	uint8_t len;
	const uint8_t *data;
};

/*
 * Walk one options area, recording instances. An END ends the area; a missing END is tolerated
 * (the area ends with the buffer), an option running past the area is not.
 */
static int walk(const uint8_t *p, size_t n, struct inst *iv, size_t *ni, size_t max)
{
	size_t i = 0;

	while (i < n) {
		uint8_t code = p[i];

		if (code == NU_DHCP_OPT_PAD) {
			i++;
			continue;
		}
		if (code == NU_DHCP_OPT_END)
			return 0;
		if (i + 1 >= n || i + 2 + (size_t)p[i + 1] > n)
			return -EINVAL;
		if (*ni >= max)
			return -EINVAL;
		iv[(*ni)++] = (struct inst){.code = code, .len = p[i + 1], .data = p + i + 2};
		i += 2 + (size_t)p[i + 1];
	}
	return 0;
}

int nu_dhcp_parse(const uint8_t *buf, size_t len, struct nu_dhcp_msg *m)
{
	/* An instance has at least 2 bytes: at most len/2 of them in all three areas. */
	struct inst iv[NU_DHCP_MAX_LEN / 2];
	size_t ni = 0, used = 0;
	int r, overload = 0;

	memset(m, 0, sizeof(*m));
	if (len < NU_DHCP_HDR_LEN + 4 || len > NU_DHCP_MAX_LEN)
		return -EINVAL;
	if (get32(buf + NU_DHCP_HDR_LEN) != NU_DHCP_MAGIC)
		return -EINVAL;
	m->op = buf[0];
	m->htype = buf[1];
	m->hlen = buf[2];
	m->hops = buf[3];
	m->xid = get32(buf + 4);
	m->secs = get16(buf + 8);
	m->flags = get16(buf + 10);
	memcpy(m->ciaddr, buf + 12, 4);
	memcpy(m->yiaddr, buf + 16, 4);
	memcpy(m->siaddr, buf + 20, 4);
	memcpy(m->giaddr, buf + 24, 4);
	memcpy(m->chaddr, buf + 28, 16);

	r = walk(buf + NU_DHCP_HDR_LEN + 4, len - NU_DHCP_HDR_LEN - 4, iv, &ni, sizeof(iv) / sizeof(*iv));
	if (r)
		return r;
	/* Option 52 (RFC 2132 §9.3): 1 = file, 2 = sname, 3 = both hold options, file first. */
	for (size_t i = 0; i < ni; i++)
		if (iv[i].code == NU_DHCP_OPT_OVERLOAD && iv[i].len == 1)
			overload = iv[i].data[0];
	if (overload < 0 || overload > 3)
		return -EINVAL;
	if (overload & 1) {
		r = walk(buf + 108, 128, iv, &ni, sizeof(iv) / sizeof(*iv));
		if (r)
			return r;
	}
	if (overload & 2) {
		r = walk(buf + 44, 64, iv, &ni, sizeof(iv) / sizeof(*iv));
		if (r)
			return r;
	}

	/* Concatenate instances of the same code in order of appearance (RFC 3396). */
	for (size_t i = 0; i < ni; i++) {
		uint8_t c = iv[i].code;

		if (m->has[c])
			continue;
		m->has[c] = true;
		m->off[c] = (uint16_t)used;
		for (size_t k = i; k < ni; k++) {
			if (iv[k].code != c)
				continue;
			/* Cannot overflow: the instances' bytes all come from buf, len <= MAX_LEN. */
			if (used + iv[k].len > sizeof(m->optbuf))
				return -EINVAL;
			memcpy(m->optbuf + used, iv[k].data, iv[k].len);
			used += iv[k].len;
		}
		m->len[c] = (uint16_t)(used - m->off[c]);
	}
	if (!m->has[NU_DHCP_OPT_MSG_TYPE] || m->len[NU_DHCP_OPT_MSG_TYPE] != 1)
		return -EINVAL;
	r = m->optbuf[m->off[NU_DHCP_OPT_MSG_TYPE]];
	return r ? r : -EINVAL;
}

const uint8_t *nu_dhcp_opt(const struct nu_dhcp_msg *m, uint8_t code, size_t *len)
{
	if (!m->has[code]) {
		*len = 0;
		return NULL;
	}
	*len = m->len[code];
	return m->optbuf + m->off[code];
}

int nu_dhcp_opt_ip(const struct nu_dhcp_msg *m, uint8_t code, uint8_t out[4])
{
	size_t n;
	const uint8_t *p = nu_dhcp_opt(m, code, &n);

	if (!p)
		return -ENOENT;
	/* Lists of addresses (routers): the first one. */
	if (n < 4 || n % 4)
		return -EINVAL;
	memcpy(out, p, 4);
	return 0;
}

int nu_dhcp_opt_u32(const struct nu_dhcp_msg *m, uint8_t code, uint32_t *out)
{
	size_t n;
	const uint8_t *p = nu_dhcp_opt(m, code, &n);

	if (!p)
		return -ENOENT;
	if (n != 4)
		return -EINVAL;
	*out = get32(p);
	return 0;
}

int nu_dhcp_classless_routes(const uint8_t *p, size_t n, struct nu_dhcp_route *out, size_t max)
{
	size_t i = 0, cnt = 0;

	while (i < n) {
		uint8_t w = p[i];
		size_t sig = (w + 7u) / 8u;

		if (w > 32 || i + 1 + sig + 4 > n || cnt >= max)
			return -EINVAL;
		memset(&out[cnt], 0, sizeof(out[cnt]));
		memcpy(out[cnt].dst, p + i + 1, sig);
		/* Host bits of the destination are cleared (RFC 3442 §3 allows nothing else). */
		if (w % 8)
			out[cnt].dst[sig - 1] &= (uint8_t)(0xff << (8 - w % 8));
		out[cnt].len = w;
		memcpy(out[cnt].gw, p + i + 1 + sig, 4);
		i += 1 + sig + 4;
		cnt++;
	}
	return (int)cnt;
}

int nu_dhcp_static_routes(const uint8_t *p, size_t n, struct nu_dhcp_route *out, size_t max)
{
	size_t cnt = 0;

	if (n % 8)
		return -EINVAL;
	for (size_t i = 0; i < n; i += 8) {
		uint8_t a = p[i];

		if (!get32(p + i))
			continue;
		if (cnt >= max)
			return -EINVAL;
		memset(&out[cnt], 0, sizeof(out[cnt]));
		memcpy(out[cnt].dst, p + i, 4);
		memcpy(out[cnt].gw, p + i + 4, 4);
		out[cnt].len = a < 0x80 ? 8 : a < 0xc0 ? 16 : a < 0xe0 ? 24 : 32;
		cnt++;
	}
	return (int)cnt;
}

int nu_dhcp_mask_len(const uint8_t mask[4])
{
	uint32_t m = get32(mask);
	int len = 0;

	while (len < 32 && (m & (0x80000000u >> len)))
		len++;
	if (len < 32 && (m << len))
		return -EINVAL;
	return len;
}

static const struct {
	const char *name;
	uint8_t code;
} dhcp_names[] = {
    {"subnet-mask", NU_DHCP_OPT_SUBNET_MASK},
    {"routers", NU_DHCP_OPT_ROUTER},
    {"domain-name-servers", NU_DHCP_OPT_DNS},
    {"host-name", NU_DHCP_OPT_HOSTNAME},
    {"domain-name", NU_DHCP_OPT_DOMAIN},
    {"static-routes", NU_DHCP_OPT_STATIC_ROUTES},
    {"dhcp-lease-time", NU_DHCP_OPT_LEASE_TIME},
    {"dhcp-renewal-time", NU_DHCP_OPT_T1},
    {"dhcp-rebinding-time", NU_DHCP_OPT_T2},
    {"vendor-class-identifier", NU_DHCP_OPT_VENDOR_CLASS},
    {"dhcp-client-identifier", NU_DHCP_OPT_CLIENT_ID},
    {"user-class", NU_DHCP_OPT_USER_CLASS},
    {"classless-static-routes", NU_DHCP_OPT_CLASSLESS_ROUTES},
};

int nu_dhcp_option_code(const char *name)
{
	char *end;
	long v;

	if (!name || !*name)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(dhcp_names) / sizeof(dhcp_names[0]); i++)
		if (!strcasecmp(name, dhcp_names[i].name))
			return dhcp_names[i].code;
	if (name[0] < '0' || name[0] > '9')
		return -EINVAL;
	v = strtol(name, &end, 10);
	if (*end || v < 0 || v > 255)
		return -EINVAL;
	return (int)v;
}

/* ---- framing -------------------------------------------------------------------------------- */

uint16_t nu_inet_csum(const void *data, size_t len, uint32_t sum)
{
	const uint8_t *p = data;

	for (; len > 1; len -= 2, p += 2)
		sum += get16(p);
	if (len)
		sum += (uint32_t)p[0] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

int nu_dhcp_frame_build(uint8_t *buf, size_t cap, const uint8_t src[4], const uint8_t dst[4],
			uint16_t sport, uint16_t dport, const uint8_t *payload, size_t plen)
{
	size_t tot = NU_DHCP_IPUDP_LEN + plen;
	uint8_t *ip = buf, *udp = buf + 20;
	uint32_t pseudo;
	uint16_t c;

	if (tot > cap || tot > 65535)
		return -ENOSPC;
	memset(buf, 0, NU_DHCP_IPUDP_LEN);
	ip[0] = 0x45;
	put16(ip + 2, (uint16_t)tot);
	ip[8] = 64;
	ip[9] = 17; /* IPPROTO_UDP */
	memcpy(ip + 12, src, 4);
	memcpy(ip + 16, dst, 4);
	put16(ip + 10, nu_inet_csum(ip, 20, 0));

	put16(udp, sport);
	put16(udp + 2, dport);
	put16(udp + 4, (uint16_t)(8 + plen));
	memmove(udp + 8, payload, plen);
	pseudo = get16(src) + get16(src + 2) + get16(dst) + get16(dst + 2) + 17 + (uint32_t)(8 + plen);
	c = nu_inet_csum(udp, 8 + plen, pseudo);
	put16(udp + 6, c ? c : 0xffff);
	return (int)tot;
}

int nu_dhcp_frame_parse(const uint8_t *buf, size_t len, const uint8_t **payload, size_t *plen,
			uint8_t src[4], uint8_t dst[4], uint16_t *sport, uint16_t *dport)
{
	size_t ihl, tot, ulen;

	if (len < 20 || (buf[0] >> 4) != 4)
		return -EINVAL;
	ihl = (size_t)(buf[0] & 0x0f) * 4;
	tot = get16(buf + 2);
	if (ihl < 20 || tot < ihl + 8 || tot > len)
		return -EINVAL;
	if (nu_inet_csum(buf, ihl, 0) != 0)
		return -EINVAL;
	if (get16(buf + 6) & 0x3fff) /* MF or a fragment offset */
		return -EINVAL;
	if (buf[9] != 17)
		return -EINVAL;
	ulen = get16(buf + ihl + 4);
	if (ulen < 8 || ihl + ulen > tot)
		return -EINVAL;
	memcpy(src, buf + 12, 4);
	memcpy(dst, buf + 16, 4);
	*sport = get16(buf + ihl);
	*dport = get16(buf + ihl + 2);
	*payload = buf + ihl + 8;
	*plen = ulen - 8;
	return 0;
}
