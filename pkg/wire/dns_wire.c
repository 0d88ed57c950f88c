// SPDX-License-Identifier: Apache-2.0
/*
 * DNS wire codec (see dns_wire.h): bounded parsing of untrusted messages and overflow-safe
 * writing of replies. Pure code: no I/O, no allocation.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "wire/dns_wire.h"

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

int dns_name_read(const uint8_t *msg, size_t len, size_t *off, struct dns_name *out)
{
	size_t pos = *off, end = 0, out_len = 0, run_start = *off;
	unsigned int hops = 0;
	bool jumped = false;

	out->labels = 0;
	for (;;) {
		uint8_t l;

		if (pos >= len)
			return -EBADMSG;
		l = msg[pos];
		if ((l & 0xc0) == 0xc0) {
			size_t target;

			if (pos + 1 >= len || ++hops > DNS_PTR_HOPS)
				return -EBADMSG;
			target = (size_t)(l & 0x3f) << 8 | msg[pos + 1];
			/*
			 * Only before the labels read since the last jump: the positions visited
			 * strictly decrease, so no loop can exist (the hop cap is belt and braces).
			 */
			if (target >= run_start)
				return -EBADMSG;
			if (!jumped)
				end = pos + 2;
			jumped = true;
			pos = run_start = target;
			continue;
		}
		if (l & 0xc0) /* 0x40 / 0x80: extended and reserved label types (RFC 6891 §5) */
			return -EBADMSG;
		if (pos + 1 + l > len || out_len + 1 + l > DNS_NAME_MAX)
			return -EBADMSG;
		memcpy(out->wire + out_len, msg + pos, 1 + (size_t)l);
		out_len += 1 + (size_t)l;
		pos += 1 + (size_t)l;
		if (!l)
			break;
		out->labels++;
	}
	out->len = (uint8_t)out_len;
	*off = jumped ? end : pos;
	return 0;
}

int dns_name_from_text(const char *text, struct dns_name *out)
{
	size_t n = 0;
	const char *p = text;

	out->labels = 0;
	if (!strcmp(text, ".") || !*text) {
		out->wire[0] = 0;
		out->len = 1;
		return 0;
	}
	while (*p) {
		const char *dot = strchr(p, '.');
		size_t l = dot ? (size_t)(dot - p) : strlen(p);

		if (l == 0 || l > 63 || n + 1 + l + 1 > DNS_NAME_MAX)
			return -EINVAL;
		out->wire[n++] = (uint8_t)l;
		memcpy(out->wire + n, p, l);
		n += l;
		out->labels++;
		if (!dot)
			break;
		p = dot + 1;
	}
	out->wire[n++] = 0;
	out->len = (uint8_t)n;
	return 0;
}

static uint8_t lower(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

int dns_name_to_lower_text(const struct dns_name *n, char out[DNS_TEXT_MAX])
{
	size_t i = 0, o = 0;

	while (i < n->len && n->wire[i]) {
		uint8_t l = n->wire[i++];

		if (o)
			out[o++] = '.';
		for (uint8_t k = 0; k < l; k++) {
			uint8_t c = n->wire[i++];

			if (c <= ' ' || c >= 0x7f || c == '.')
				return -EINVAL;
			if (o >= DNS_TEXT_MAX - 1)
				return -EINVAL;
			out[o++] = (char)lower(c);
		}
	}
	out[o] = 0;
	return (int)o;
}

bool dns_name_eq(const struct dns_name *a, const struct dns_name *b)
{
	if (a->len != b->len)
		return false;
	for (size_t i = 0; i < a->len; i++)
		if (lower(a->wire[i]) != lower(b->wire[i]))
			return false;
	return true;
}

/* The labels of @n as (pointer, length) pairs; returns the count (<= 128). */
static int labels_of(const struct dns_name *n, const uint8_t *lab[128], uint8_t llen[128])
{
	size_t i = 0;
	int k = 0;

	while (i < n->len && n->wire[i] && k < 128) {
		llen[k] = n->wire[i];
		lab[k++] = n->wire + i + 1;
		i += 1 + (size_t)n->wire[i];
	}
	return k;
}

static bool label_is(const uint8_t *l, uint8_t len, const char *s)
{
	if (strlen(s) != len)
		return false;
	for (uint8_t i = 0; i < len; i++)
		if (lower(l[i]) != (uint8_t)s[i])
			return false;
	return true;
}

static int hexval(uint8_t c)
{
	c = lower(c);
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int dns_arpa_parse(const struct dns_name *n, uint8_t addr[16])
{
	const uint8_t *lab[128];
	uint8_t llen[128];
	int k = labels_of(n, lab, llen);

	if (k == 6 && label_is(lab[4], llen[4], "in-addr") && label_is(lab[5], llen[5], "arpa")) {
		for (int i = 0; i < 4; i++) {
			unsigned int v = 0;

			if (llen[i] < 1 || llen[i] > 3 || (llen[i] > 1 && lab[i][0] == '0'))
				return 0;
			for (uint8_t j = 0; j < llen[i]; j++) {
				if (lab[i][j] < '0' || lab[i][j] > '9')
					return 0;
				v = v * 10 + (unsigned int)(lab[i][j] - '0');
			}
			if (v > 255)
				return 0;
			addr[3 - i] = (uint8_t)v;
		}
		return AF_INET;
	}
	if (k == 34 && label_is(lab[32], llen[32], "ip6") && label_is(lab[33], llen[33], "arpa")) {
		memset(addr, 0, 16);
		for (int i = 0; i < 32; i++) {
			int v = llen[i] == 1 ? hexval(lab[i][0]) : -1;

			if (v < 0)
				return 0;
			/* label 0 is the lowest nibble of byte 15 */
			addr[15 - i / 2] |= (uint8_t)(i % 2 ? v << 4 : v);
		}
		return AF_INET6;
	}
	return 0;
}

/* Skip one resource record at *off; report an OPT record's fields into @m. */
static int skip_rr(const uint8_t *msg, size_t len, size_t *off, struct dns_msg *m, bool additional,
		   int *opts)
{
	struct dns_name n;
	uint16_t type, rdlen;
	size_t p;

	if (dns_name_read(msg, len, off, &n))
		return -EBADMSG;
	p = *off;
	if (p + 10 > len)
		return -EBADMSG;
	type = rd16(msg + p);
	rdlen = rd16(msg + p + 8);
	if (p + 10 + rdlen > len)
		return -EBADMSG;
	if (type == DNS_T_OPT) {
		/* OPT only in the additional section, owned by the root, at most once. */
		if (!additional || n.len != 1 || ++*opts > 1)
			return -EBADMSG;
		m->edns = true;
		m->edns_size = rd16(msg + p + 2);
		m->edns_version = msg[p + 5];
		m->edns_do = msg[p + 6] & 0x80;
		/* Options are TLVs that must exactly fill rdata. */
		for (size_t o = p + 10, e = p + 10 + rdlen; o < e;) {
			if (o + 4 > e || o + 4 + rd16(msg + o + 2) > e)
				return -EBADMSG;
			o += 4 + rd16(msg + o + 2);
		}
	}
	*off = p + 10 + rdlen;
	return 0;
}

int dns_msg_parse(const uint8_t *msg, size_t len, bool opt, struct dns_msg *m)
{
	size_t off = DNS_HDR_LEN;
	int opts = 0;

	memset(m, 0, sizeof(*m));
	if (len < DNS_HDR_LEN)
		return -EBADMSG;
	m->id = rd16(msg);
	m->flags = rd16(msg + 2);
	m->qdcount = rd16(msg + 4);
	m->ancount = rd16(msg + 6);
	m->nscount = rd16(msg + 8);
	m->arcount = rd16(msg + 10);
	if (DNS_OPCODE(m->flags) != 0) {
		m->rcode = DNS_RC_NOTIMP;
		return 0;
	}
	if (m->qdcount != 1) {
		m->rcode = DNS_RC_FORMERR;
		return 0;
	}
	if (dns_name_read(msg, len, &off, &m->qname) || off + 4 > len) {
		m->rcode = DNS_RC_FORMERR;
		return 0;
	}
	m->qtype = rd16(msg + off);
	m->qclass = rd16(msg + off + 2);
	off += 4;
	m->q_end = off;
	if (!opt)
		return 0;
	for (unsigned int i = 0; i < (unsigned int)m->ancount + m->nscount + m->arcount; i++) {
		if (skip_rr(msg, len, &off, m, i >= (unsigned int)m->ancount + m->nscount, &opts)) {
			m->rcode = DNS_RC_FORMERR;
			return 0;
		}
	}
	if (m->edns && m->edns_version > 0)
		m->rcode = DNS_RC_BADVERS;
	return 0;
}

size_t dns_udp_limit(const struct dns_msg *q)
{
	size_t s;

	if (!q->edns)
		return DNS_UDP_MIN;
	s = q->edns_size < DNS_UDP_MIN ? DNS_UDP_MIN : q->edns_size;
	return s > DNS_EDNS_CAP ? DNS_EDNS_CAP : s;
}

/* ---- writing ------------------------------------------------------------------------------- */

static void put(struct dns_writer *w, const void *p, size_t n)
{
	if (w->overflow || w->cap - w->len < n) {
		w->overflow = true;
		return;
	}
	memcpy(w->buf + w->len, p, n);
	w->len += n;
}

static void put16(struct dns_writer *w, uint16_t v)
{
	uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};

	put(w, b, 2);
}

static void put32(struct dns_writer *w, uint32_t v)
{
	put16(w, (uint16_t)(v >> 16));
	put16(w, (uint16_t)v);
}

void dns_w_init(struct dns_writer *w, uint8_t *buf, size_t cap, uint16_t id, uint16_t flags)
{
	memset(w, 0, sizeof(*w));
	w->buf = buf;
	w->cap = cap;
	put16(w, id);
	put16(w, flags);
	put32(w, 0);
	put32(w, 0);
}

void dns_w_set_flags(struct dns_writer *w, uint16_t flags)
{
	if (w->cap >= 4) {
		w->buf[2] = (uint8_t)(flags >> 8);
		w->buf[3] = (uint8_t)flags;
	}
}

void dns_w_question(struct dns_writer *w, const struct dns_name *n, uint16_t type, uint16_t cls)
{
	put(w, n->wire, n->len);
	put16(w, type);
	put16(w, cls);
	if (!w->overflow)
		w->counts[DNS_SEC_QD]++;
}

static void rr_head(struct dns_writer *w, const struct dns_name *n, uint16_t ptr, uint16_t type,
		    uint16_t cls, uint32_t ttl)
{
	if (n)
		put(w, n->wire, n->len);
	else
		put16(w, (uint16_t)(0xc000 | ptr));
	put16(w, type);
	put16(w, cls);
	put32(w, ttl);
}

void dns_w_rr(struct dns_writer *w, int sec, const struct dns_name *n, uint16_t ptr, uint16_t type,
	      uint16_t cls, uint32_t ttl, const void *rdata, uint16_t rdlen)
{
	rr_head(w, n, ptr, type, cls, ttl);
	put16(w, rdlen);
	put(w, rdata, rdlen);
	if (!w->overflow)
		w->counts[sec]++;
}

void dns_w_ptr(struct dns_writer *w, int sec, uint16_t owner_ptr, uint32_t ttl,
	       const struct dns_name *target)
{
	dns_w_rr(w, sec, NULL, owner_ptr, DNS_T_PTR, DNS_C_IN, ttl, target->wire, target->len);
}

void dns_w_soa(struct dns_writer *w, int sec, const struct dns_name *zone, uint32_t ttl,
	       uint32_t serial)
{
	static const uint8_t ns[] = {2, 'n', 's'};
	static const uint8_t hm[] = {10, 'h', 'o', 's', 't', 'm', 'a', 's', 't', 'e', 'r'};
	size_t rdlen = sizeof(ns) + zone->len + sizeof(hm) + zone->len + 20;

	if (zone->len + sizeof(hm) > DNS_NAME_MAX) {
		w->overflow = true;
		return;
	}
	rr_head(w, zone, 0, DNS_T_SOA, DNS_C_IN, ttl);
	put16(w, (uint16_t)rdlen);
	put(w, ns, sizeof(ns));
	put(w, zone->wire, zone->len);
	put(w, hm, sizeof(hm));
	put(w, zone->wire, zone->len);
	put32(w, serial);
	put32(w, 3600);	 /* refresh */
	put32(w, 600);	 /* retry */
	put32(w, 86400); /* expire */
	put32(w, ttl);	 /* minimum: the negative-caching TTL (RFC 2308) */
	if (!w->overflow)
		w->counts[sec]++;
}

void dns_w_opt(struct dns_writer *w, uint16_t udp_size, uint16_t ext_rcode, bool do_bit)
{
	uint8_t root = 0;

	put(w, &root, 1);
	put16(w, DNS_T_OPT);
	put16(w, udp_size);
	put32(w, (uint32_t)((ext_rcode >> 4) & 0xff) << 24 | (do_bit ? 0x8000u : 0));
	put16(w, 0);
	if (!w->overflow)
		w->counts[DNS_SEC_AR]++;
}

int dns_w_finish(struct dns_writer *w)
{
	if (w->overflow)
		return -ENOSPC;
	for (int i = 0; i < 4; i++) {
		w->buf[4 + 2 * i] = (uint8_t)(w->counts[i] >> 8);
		w->buf[5 + 2 * i] = (uint8_t)w->counts[i];
	}
	return (int)w->len;
}
