// SPDX-License-Identifier: Apache-2.0
/*
 * The cache of forwarded answers (cache.h): a chained hash table of entries, each one block (its
 * key and the answer as the upstream sent it), on an LRU list; TTLs are rewritten when an entry
 * is served, from the seconds since it was stored, so the stored copy stays as it came.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "dlist.h"

#define DNS_T_OPT_ 41
#define DNS_T_SOA_ 6

struct dc_ent {
	struct dc_ent *hnext;	    /* hash chain */
	struct dc_ent *prev, *next; /* LRU: head is the most recent */
	uint32_t hash;
	uint64_t stored, expires; /* ms */
	size_t len;
	struct dc_key key;
	uint8_t msg[];
};

struct dcache {
	struct dc_ent **tab;
	size_t nb, max_entries, max_bytes;
	struct dc_ent *head, *tail;
	struct dc_stats st;
};

static size_t ent_bytes(const struct dc_ent *e)
{
	return sizeof(*e) + e->len;
}

struct dcache *dc_new(size_t max_entries, size_t max_bytes)
{
	struct dcache *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	for (c->nb = 64; c->nb < max_entries; c->nb <<= 1)
		;
	c->tab = calloc(c->nb, sizeof(*c->tab));
	if (!c->tab) {
		free(c);
		return NULL;
	}
	c->max_entries = max_entries;
	c->max_bytes = max_bytes;
	return c;
}

void dc_free(struct dcache *c)
{
	if (!c)
		return;
	dc_flush(c);
	free(c->tab);
	free(c);
}

void dc_key_make(struct dc_key *k, uint32_t set, const struct dns_name *qname, uint16_t qtype,
		 uint16_t qclass, unsigned int bits)
{
	memset(k, 0, sizeof(*k));
	k->set = set;
	k->qtype = qtype;
	k->qclass = qclass;
	k->bits = (uint8_t)bits;
	k->nlen = qname->len;
	/* label lengths are below 64, never in 'A'..'Z': lower every byte */
	for (size_t i = 0; i < qname->len; i++) {
		uint8_t b = qname->wire[i];

		k->name[i] = b >= 'A' && b <= 'Z' ? (uint8_t)(b + 32) : b;
	}
}

static uint32_t key_hash(const struct dc_key *k)
{
	uint32_t h = 2166136261u;
	uint8_t head[9] = {(uint8_t)k->set, (uint8_t)(k->set >> 8), (uint8_t)(k->set >> 16),
			   (uint8_t)(k->set >> 24), (uint8_t)k->qtype, (uint8_t)(k->qtype >> 8),
			   (uint8_t)k->qclass, (uint8_t)(k->qclass >> 8), k->bits};

	for (size_t i = 0; i < sizeof(head); i++)
		h = (h ^ head[i]) * 16777619u;
	for (size_t i = 0; i < k->nlen; i++)
		h = (h ^ k->name[i]) * 16777619u;
	return h;
}

static bool key_eq(const struct dc_key *a, const struct dc_key *b)
{
	return a->set == b->set && a->qtype == b->qtype && a->qclass == b->qclass &&
	       a->bits == b->bits && a->nlen == b->nlen && !memcmp(a->name, b->name, a->nlen);
}

static void lru_unlink(struct dcache *c, struct dc_ent *e)
{
	DL_UNLINK(c->head, c->tail, e);
}

static void lru_front(struct dcache *c, struct dc_ent *e)
{
	DL_PREPEND(c->head, c->tail, e);
}

static void ent_drop(struct dcache *c, struct dc_ent *e)
{
	struct dc_ent **p = &c->tab[e->hash & (c->nb - 1)];

	while (*p != e)
		p = &(*p)->hnext;
	*p = e->hnext;
	lru_unlink(c, e);
	c->st.entries--;
	c->st.bytes -= ent_bytes(e);
	free(e);
}

static struct dc_ent *ent_find(struct dcache *c, const struct dc_key *k, uint32_t h)
{
	for (struct dc_ent *e = c->tab[h & (c->nb - 1)]; e; e = e->hnext)
		if (e->hash == h && key_eq(&e->key, k))
			return e;
	return NULL;
}

/* ---- the records of a message ------------------------------------------------------------------ */

static int skip_name(const uint8_t *m, size_t len, size_t *off)
{
	for (int hops = 0; hops < 128; hops++) {
		uint8_t b;

		if (*off >= len)
			return -1;
		b = m[*off];
		if (!b) {
			(*off)++;
			return 0;
		}
		if ((b & 0xc0) == 0xc0) {
			if (*off + 2 > len)
				return -1;
			*off += 2;
			return 0;
		}
		if (b & 0xc0)
			return -1;
		*off += 1u + b;
	}
	return -1;
}

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/*
 * Walk every record after the question. With @sub, lower each TTL (OPT's field is flags, not a
 * TTL) by @sub seconds. Returns -1 for a malformed message, else 0 with *@min the lowest TTL, *@soa
 * the negative TTL of the first authority SOA (min of its TTL and its MINIMUM), UINT32_MAX when
 * none.
 */
static int walk(uint8_t *m, size_t len, uint32_t sub, uint32_t *min, uint32_t *soa)
{
	size_t off = DNS_HDR_LEN;
	unsigned int qd = rd16(m + 4), an = rd16(m + 6), ns = rd16(m + 8), ar = rd16(m + 10);

	*min = *soa = UINT32_MAX;
	for (unsigned int i = 0; i < qd; i++) {
		if (skip_name(m, len, &off) || off + 4 > len)
			return -1;
		off += 4;
	}
	for (unsigned int i = 0; i < an + ns + ar; i++) {
		uint16_t type, rdlen;
		uint32_t ttl;

		if (skip_name(m, len, &off) || off + 10 > len)
			return -1;
		type = rd16(m + off);
		ttl = rd32(m + off + 4);
		rdlen = rd16(m + off + 8);
		if (off + 10 + rdlen > len)
			return -1;
		if (type != DNS_T_OPT_) {
			if (ttl > 0x7fffffffu) /* RFC 2181 §8: the high bit set means zero */
				ttl = 0;
			if (ttl < *min)
				*min = ttl;
			if (sub) {
				uint32_t t = ttl > sub ? ttl - sub : 0;

				m[off + 4] = (uint8_t)(t >> 24);
				m[off + 5] = (uint8_t)(t >> 16);
				m[off + 6] = (uint8_t)(t >> 8);
				m[off + 7] = (uint8_t)t;
			}
			if (type == DNS_T_SOA_ && i >= an && i < an + ns && *soa == UINT32_MAX &&
			    rdlen >= 22) {
				uint32_t mn = rd32(m + off + 10 + rdlen - 4);

				*soa = mn < ttl ? mn : ttl;
			}
		}
		off += 10u + rdlen;
	}
	return 0;
}

/*
 * Strip from the OPT record of @m the options that belong to one client's exchange: NSID (3),
 * client subnet (8), COOKIE (10, RFC 7873 §5.3: another client discards a reply with a cookie
 * not its own) and PADDING (12). The OPT record's RDLENGTH follows, *@len shrinks. Returns 0, -1
 * for a malformed OPT, 1 when it is not the last record (later offsets would move) and would
 * have to change.
 */
static int opt_strip(uint8_t *m, size_t *len)
{
	size_t off = DNS_HDR_LEN;
	unsigned int qd = rd16(m + 4), n = rd16(m + 6) + rd16(m + 8) + rd16(m + 10);

	for (unsigned int i = 0; i < qd; i++) {
		if (skip_name(m, *len, &off) || off + 4 > *len)
			return -1;
		off += 4;
	}
	for (unsigned int i = 0; i < n; i++) {
		size_t rd, end, o, w;
		uint16_t rdlen;

		if (skip_name(m, *len, &off) || off + 10 > *len)
			return -1;
		rdlen = rd16(m + off + 8);
		rd = off + 10;
		end = rd + rdlen;
		if (end > *len)
			return -1;
		if (rd16(m + off) != DNS_T_OPT_) {
			off = end;
			continue;
		}
		for (o = rd, w = rd; o < end;) {
			uint16_t code, olen;

			if (o + 4 > end)
				return -1;
			code = rd16(m + o);
			olen = rd16(m + o + 2);
			if (o + 4 + olen > end)
				return -1;
			if (code != 3 && code != 8 && code != 10 && code != 12) {
				memmove(m + w, m + o, 4u + olen);
				w += 4u + olen;
			}
			o += 4u + olen;
		}
		if (w == end) {
			off = end;
			continue;
		}
		if (end != *len)
			return 1;
		m[off + 8] = (uint8_t)((w - rd) >> 8);
		m[off + 9] = (uint8_t)(w - rd);
		*len = w;
		return 0;
	}
	return 0;
}

/* ---- put, get, flush ------------------------------------------------------------------------- */

uint32_t dc_put(struct dcache *c, const struct dc_key *k, const uint8_t *msg, size_t len,
		uint64_t now_ms)
{
	uint16_t flags;
	unsigned int rcode;
	uint32_t min, soa, ttl, h;
	struct dc_ent *e;

	if (!c || len < DNS_HDR_LEN || len > DC_MSG_MAX)
		return 0;
	flags = rd16(msg + 2);
	rcode = DNS_RCODE(flags);
	if (!(flags & DNS_F_QR) || (flags & DNS_F_TC) || DNS_OPCODE(flags) ||
	    (rcode != DNS_RC_NOERROR && rcode != DNS_RC_NXDOMAIN) || rd16(msg + 4) != 1)
		return 0;
	e = malloc(sizeof(*e) + len);
	if (!e)
		return 0;
	memcpy(e->msg, msg, len);
	if (walk(e->msg, len, 0, &min, &soa) || opt_strip(e->msg, &len)) {
		free(e);
		return 0;
	}
	if (rcode == DNS_RC_NOERROR && rd16(msg + 6)) {
		ttl = min > DC_POS_MAX ? DC_POS_MAX : min;
	} else { /* NXDOMAIN or NODATA: only with an SOA to bound it (RFC 2308 §5) */
		/* and no longer than a record it holds (a CNAME before the NXDOMAIN) */
		ttl = soa == UINT32_MAX ? 0 : soa > DC_NEG_MAX ? DC_NEG_MAX : soa;
		if (ttl > min)
			ttl = min;
	}
	if (!ttl || ttl == UINT32_MAX) {
		free(e);
		return 0;
	}
	h = key_hash(k);
	{
		struct dc_ent *old = ent_find(c, k, h);

		if (old)
			ent_drop(c, old);
	}
	e->key = *k;
	e->hash = h;
	e->len = len;
	e->stored = now_ms;
	e->expires = now_ms + (uint64_t)ttl * 1000;
	e->hnext = c->tab[h & (c->nb - 1)];
	c->tab[h & (c->nb - 1)] = e;
	lru_front(c, e);
	c->st.entries++;
	c->st.bytes += ent_bytes(e);
	c->st.stored++;
	while (c->tail && (c->st.entries > c->max_entries || c->st.bytes > c->max_bytes)) {
		ent_drop(c, c->tail);
		c->st.evicted++;
	}
	return c->st.entries && ent_find(c, k, h) ? ttl : 0;
}

size_t dc_get(struct dcache *c, const struct dc_key *k, uint16_t id, uint8_t *out, size_t cap,
	      uint64_t now_ms)
{
	uint32_t h, min, soa;
	struct dc_ent *e;

	if (!c)
		return 0;
	h = key_hash(k);
	e = ent_find(c, k, h);
	if (!e || now_ms >= e->expires) {
		if (e) {
			ent_drop(c, e);
			c->st.expired++;
		}
		c->st.misses++;
		return 0;
	}
	if (e->len > cap) {
		c->st.misses++;
		return 0;
	}
	memcpy(out, e->msg, e->len);
	out[0] = (uint8_t)(id >> 8);
	out[1] = (uint8_t)id;
	walk(out, e->len, (uint32_t)((now_ms - e->stored) / 1000), &min, &soa);
	lru_unlink(c, e);
	lru_front(c, e);
	c->st.hits++;
	return e->len;
}

void dc_flush_set(struct dcache *c, uint32_t set)
{
	struct dc_ent *e, *nx;

	if (!c)
		return;
	for (e = c->head; e; e = nx) {
		nx = e->next;
		if (e->key.set == set)
			ent_drop(c, e);
	}
}

void dc_flush(struct dcache *c)
{
	if (!c)
		return;
	while (c->head)
		ent_drop(c, c->head);
}

void dc_stats(const struct dcache *c, struct dc_stats *s)
{
	if (c)
		*s = c->st;
	else
		memset(s, 0, sizeof(*s));
}
