// SPDX-License-Identifier: Apache-2.0
/*
 * dnsname's cache of forwarded answers (plugins/meta/dnsname/cache.c) with an injected clock:
 * TTL expiry and decrement, negative caching (NXDOMAIN, NODATA) bounded by the SOA and by
 * DC_NEG_MAX, what is never kept (SERVFAIL, TC, no SOA, TTL 0), case-insensitive keys, the
 * key's set and bits, the entry and byte bounds with LRU eviction, flushes. No root needed.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../plugins/meta/dnsname/cache.h"
#include "tap.h"

static uint8_t msg[4096];

/* An answer for @qn: @rcode, @n_a A records of TTL @ttl, an SOA (minimum @soa_min, TTL
 * @soa_ttl) in authority when @soa. */
static size_t answer(const char *qn, unsigned int rcode, int n_a, uint32_t ttl, int soa,
		     uint32_t soa_ttl, uint32_t soa_min, uint16_t flags)
{
	struct dns_writer w;
	struct dns_name n, z;
	uint8_t a[4] = {198, 18, 0, 1};
	int len;

	dns_name_from_text(qn, &n);
	dns_name_from_text("example", &z);
	dns_w_init(&w, msg, sizeof(msg), 0x1234,
		   (uint16_t)(DNS_F_QR | DNS_F_RD | DNS_F_RA | flags | rcode));
	dns_w_question(&w, &n, DNS_T_A, DNS_C_IN);
	for (int i = 0; i < n_a; i++) {
		a[3] = (uint8_t)(i + 1);
		dns_w_rr(&w, DNS_SEC_AN, NULL, DNS_HDR_LEN, DNS_T_A, DNS_C_IN, ttl + (uint32_t)i, a,
			 4);
	}
	if (soa) {
		size_t at = w.len;

		dns_w_soa(&w, DNS_SEC_NS, &z, soa_min, 1);
		/* the SOA record's own TTL: 10 bytes back from its rdata, after the owner */
		msg[at + z.len + 4] = (uint8_t)(soa_ttl >> 24);
		msg[at + z.len + 5] = (uint8_t)(soa_ttl >> 16);
		msg[at + z.len + 6] = (uint8_t)(soa_ttl >> 8);
		msg[at + z.len + 7] = (uint8_t)soa_ttl;
	}
	len = dns_w_finish(&w);
	if (len < 0)
		abort();
	return (size_t)len;
}

static void key(struct dc_key *k, uint32_t set, const char *qn, unsigned int bits)
{
	struct dns_name n;

	dns_name_from_text(qn, &n);
	dc_key_make(k, set, &n, DNS_T_A, DNS_C_IN, bits);
}

/* The TTL of the first answer record of @m. */
static uint32_t ttl_of(const uint8_t *m, const char *qn)
{
	struct dns_name n;
	size_t off;

	dns_name_from_text(qn, &n);
	off = DNS_HDR_LEN + n.len + 4 + 2 + 4; /* question, pointer, type, class */
	return (uint32_t)m[off] << 24 | (uint32_t)m[off + 1] << 16 | (uint32_t)m[off + 2] << 8 |
	       m[off + 3];
}

static size_t put16(uint8_t *m, size_t o, unsigned int v)
{
	m[o] = (uint8_t)(v >> 8);
	m[o + 1] = (uint8_t)v;
	return o + 2;
}

static size_t put32(uint8_t *m, size_t o, uint32_t v)
{
	o = put16(m, o, v >> 16);
	return put16(m, o, v & 0xffff);
}

static size_t putb(uint8_t *m, size_t o, const void *b, size_t n)
{
	memcpy(m + o, b, n);
	return o + n;
}

/*
 * A hand-made answer for www.example A: one A record, an OPT record with NSID, COOKIE, ECS, an
 * EDE (kept) and PADDING; with @after an A record in additional after the OPT record.
 * *@opt_at: the offset of the OPT record's RDLENGTH.
 */
static size_t answer_opts(bool after, bool client_opts, size_t *opt_at)
{
	static const uint8_t q[] = "\3www\7example";
	uint8_t cookie[24], ecs[7] = {0, 1, 24, 0, 198, 18, 0};
	size_t o = 0, rd;

	memset(cookie, 0xc5, sizeof(cookie));
	o = put16(msg, o, 0x1234);
	o = put16(msg, o, 0x8180);
	o = put16(msg, o, 1);
	o = put16(msg, o, 1);
	o = put16(msg, o, 0);
	o = put16(msg, o, after ? 2 : 1);
	o = putb(msg, o, q, sizeof(q)); /* with its root label */
	o = put16(msg, o, 1);
	o = put16(msg, o, 1);
	o = put16(msg, o, 0xc00c);
	o = put16(msg, o, 1);
	o = put16(msg, o, 1);
	o = put32(msg, o, 60);
	o = put16(msg, o, 4);
	o = putb(msg, o, "\xc6\x12\x00\x01", 4);
	msg[o++] = 0; /* OPT: root owner */
	o = put16(msg, o, 41);
	o = put16(msg, o, 1232);
	o = put32(msg, o, 0);
	*opt_at = o;
	o += 2;
	rd = o;
	if (client_opts) {
		o = put16(msg, o, 3); /* NSID */
		o = put16(msg, o, 4);
		o = putb(msg, o, "nsid", 4);
		o = put16(msg, o, 10); /* COOKIE */
		o = put16(msg, o, sizeof(cookie));
		o = putb(msg, o, cookie, sizeof(cookie));
		o = put16(msg, o, 8); /* client subnet */
		o = put16(msg, o, sizeof(ecs));
		o = putb(msg, o, ecs, sizeof(ecs));
	}
	o = put16(msg, o, 15); /* extended error: kept */
	o = put16(msg, o, 2);
	o = put16(msg, o, 0);
	if (client_opts) {
		o = put16(msg, o, 12); /* PADDING */
		o = put16(msg, o, 3);
		o = putb(msg, o, "\0\0\0", 3);
	}
	put16(msg, *opt_at, (unsigned int)(o - rd));
	if (after) {
		o = put16(msg, o, 0xc00c);
		o = put16(msg, o, 1);
		o = put16(msg, o, 1);
		o = put32(msg, o, 60);
		o = put16(msg, o, 4);
		o = putb(msg, o, "\xc6\x12\x00\x02", 4);
	}
	return o;
}

/* A client's own EDNS options (COOKIE, ECS, NSID, PADDING) are not served to another client. */
static void test_opts(void)
{
	struct dcache *c = dc_new(DC_ENTRIES, DC_BYTES);
	uint8_t out[4096];
	struct dc_key k;
	struct dns_msg m;
	size_t len, got, at;

	len = answer_opts(false, true, &at);
	key(&k, 1, "www.example", DC_B_EDNS);
	CHECK_INT(dc_put(c, &k, msg, len, 1000), 60);
	got = dc_get(c, &k, 0x4321, out, sizeof(out), 1000);
	CHECK_INT(got, len - (8 + 28 + 11 + 7));
	CHECK_INT(out[at] << 8 | out[at + 1], 6); /* the EDE option alone */
	CHECK(got == at + 8 && out[at + 2] == 0 && out[at + 3] == 15);
	CHECK(!memmem(out, got, "nsid", 4));
	CHECK_INT(dns_msg_parse(out, got, true, &m), 0);
	CHECK(m.edns && m.ancount == 1 && m.id == 0x4321);
	/* an OPT record not last: changing it would move what follows; kept only without them */
	len = answer_opts(true, true, &at);
	key(&k, 1, "www.example", DC_B_EDNS | DC_B_DO);
	CHECK_INT(dc_put(c, &k, msg, len, 1000), 0);
	len = answer_opts(true, false, &at);
	CHECK_INT(dc_put(c, &k, msg, len, 1000), 60);
	CHECK_INT(dc_get(c, &k, 1, out, sizeof(out), 1000), len);
	/* a malformed option (its length past the record) is not kept */
	len = answer_opts(false, true, &at);
	msg[at + 5] = 200; /* NSID's length */
	key(&k, 1, "bad.example", DC_B_EDNS);
	CHECK_INT(dc_put(c, &k, msg, len, 1000), 0);
	dc_free(c);
}

/* NXDOMAIN after a CNAME of TTL 5, SOA minimum 300: kept 5 s, not 300 (the CNAME may change). */
static void test_neg_cname(void)
{
	static const uint8_t q[] = "\3www\7example";
	struct dcache *c = dc_new(DC_ENTRIES, DC_BYTES);
	uint8_t out[4096];
	struct dc_key k;
	size_t o = 0;

	o = put16(msg, o, 0x1234);
	o = put16(msg, o, 0x8183);
	o = put16(msg, o, 1);
	o = put16(msg, o, 1);
	o = put16(msg, o, 1);
	o = put16(msg, o, 0);
	o = putb(msg, o, q, sizeof(q));
	o = put16(msg, o, 1);
	o = put16(msg, o, 1);
	o = put16(msg, o, 0xc00c); /* www.example CNAME other. TTL 5 */
	o = put16(msg, o, 5);
	o = put16(msg, o, 1);
	o = put32(msg, o, 5);
	o = put16(msg, o, 7);
	o = putb(msg, o, "\5other", 7);
	o = put16(msg, o, 0xc010); /* example SOA, TTL 3600, minimum 300 */
	o = put16(msg, o, 6);
	o = put16(msg, o, 1);
	o = put32(msg, o, 3600);
	o = put16(msg, o, 22);
	msg[o++] = 0;
	msg[o++] = 0;
	for (int i = 0; i < 4; i++)
		o = put32(msg, o, 1000);
	o = put32(msg, o, 300);
	key(&k, 1, "www.example", 0);
	CHECK_INT(dc_put(c, &k, msg, o, 1000), 5);
	CHECK_INT(dc_get(c, &k, 1, out, sizeof(out), 1000 + 5000), 0);
	dc_free(c);
}

int main(void)
{
	struct dcache *c = dc_new(DC_ENTRIES, DC_BYTES);
	uint8_t out[4096];
	struct dc_key k, k2;
	struct dc_stats st;
	size_t len, got;
	uint64_t t0 = 1000000;

	/* positive: kept for the lowest TTL, served with the client's ID and lowered TTLs */
	len = answer("www.Example", 0, 2, 60, 0, 0, 0, 0);
	key(&k, 1, "www.Example", 0);
	CHECK_INT(dc_put(c, &k, msg, len, t0), 60);
	got = dc_get(c, &k, 0xbeef, out, sizeof(out), t0 + 10500);
	CHECK_INT(got, len);
	CHECK(out[0] == 0xbe && out[1] == 0xef);
	CHECK_INT(ttl_of(out, "www.example"), 50);
	CHECK(!memcmp(out + 2, msg + 2, 10)); /* flags and counts as the upstream sent them */
	/* case-insensitive */
	key(&k2, 1, "WWW.EXAMPLE", 0);
	CHECK_INT(dc_get(c, &k2, 1, out, sizeof(out), t0 + 1000), len);
	/* another upstream set, other bits: misses */
	key(&k2, 2, "www.example", 0);
	CHECK_INT(dc_get(c, &k2, 1, out, sizeof(out), t0 + 1000), 0);
	key(&k2, 1, "www.example", DC_B_DO);
	CHECK_INT(dc_get(c, &k2, 1, out, sizeof(out), t0 + 1000), 0);
	/* expiry at the TTL */
	CHECK_INT(dc_get(c, &k, 1, out, sizeof(out), t0 + 59999), len);
	CHECK_INT(ttl_of(out, "www.example"), 1);
	CHECK_INT(dc_get(c, &k, 1, out, sizeof(out), t0 + 60000), 0);
	dc_stats(c, &st);
	CHECK_INT(st.entries, 0);
	CHECK_INT(st.expired, 1);

	/* negative: NXDOMAIN for min(SOA TTL, MINIMUM), capped at DC_NEG_MAX */
	len = answer("nx.example", DNS_RC_NXDOMAIN, 0, 0, 1, 3600, 30, DNS_F_AA);
	key(&k, 1, "nx.example", 0);
	CHECK_INT(dc_put(c, &k, msg, len, t0), 30);
	CHECK_INT(dc_get(c, &k, 7, out, sizeof(out), t0 + 29000), len);
	CHECK_INT(DNS_RCODE(out[3]), DNS_RC_NXDOMAIN);
	CHECK_INT(dc_get(c, &k, 7, out, sizeof(out), t0 + 30000), 0);
	len = answer("nx.example", DNS_RC_NXDOMAIN, 0, 0, 1, 20, 3600, 0);
	CHECK_INT(dc_put(c, &k, msg, len, t0), 20);
	len = answer("nx.example", DNS_RC_NXDOMAIN, 0, 0, 1, 86400, 86400, 0);
	CHECK_INT(dc_put(c, &k, msg, len, t0), DC_NEG_MAX);
	/* NODATA (NOERROR, no answer) with an SOA: kept; without: not */
	len = answer("nodata.example", 0, 0, 0, 1, 100, 100, 0);
	key(&k, 1, "nodata.example", 0);
	CHECK_INT(dc_put(c, &k, msg, len, t0), 100);
	len = answer("nosoa.example", DNS_RC_NXDOMAIN, 0, 0, 0, 0, 0, 0);
	key(&k, 1, "nosoa.example", 0);
	CHECK_INT(dc_put(c, &k, msg, len, t0), 0);
	CHECK_INT(dc_get(c, &k, 7, out, sizeof(out), t0), 0);

	/* never kept: SERVFAIL, REFUSED, TC, TTL 0, a query, garbage */
	key(&k, 1, "bad.example", 0);
	len = answer("bad.example", DNS_RC_SERVFAIL, 0, 0, 1, 60, 60, 0);
	CHECK_INT(dc_put(c, &k, msg, len, t0), 0);
	len = answer("bad.example", DNS_RC_REFUSED, 0, 0, 1, 60, 60, 0);
	CHECK_INT(dc_put(c, &k, msg, len, t0), 0);
	len = answer("bad.example", 0, 1, 60, 0, 0, 0, DNS_F_TC);
	CHECK_INT(dc_put(c, &k, msg, len, t0), 0);
	len = answer("bad.example", 0, 1, 0, 0, 0, 0, 0);
	CHECK_INT(dc_put(c, &k, msg, len, t0), 0);
	len = answer("bad.example", 0, 1, 60, 0, 0, 0, 0);
	msg[2] &= 0x7f; /* QR cleared */
	CHECK_INT(dc_put(c, &k, msg, len, t0), 0);
	len = answer("bad.example", 0, 1, 60, 0, 0, 0, 0);
	CHECK_INT(dc_put(c, &k, msg, len - 3, t0), 0); /* cut inside the record */
	CHECK_INT(dc_get(c, &k, 7, out, sizeof(out), t0), 0);
	/* a positive TTL is capped */
	len = answer("long.example", 0, 1, 0x7fffffff, 0, 0, 0, 0);
	key(&k, 1, "long.example", 0);
	CHECK_INT(dc_put(c, &k, msg, len, t0), DC_POS_MAX);
	/* too small a buffer: a miss, not a cut answer */
	CHECK_INT(dc_get(c, &k, 7, out, 20, t0), 0);

	/* flush of one set, then of all */
	len = answer("a.example", 0, 1, 60, 0, 0, 0, 0);
	key(&k, 5, "a.example", 0);
	dc_put(c, &k, msg, len, t0);
	key(&k2, 6, "a.example", 0);
	dc_put(c, &k2, msg, len, t0);
	dc_flush_set(c, 5);
	CHECK_INT(dc_get(c, &k, 1, out, sizeof(out), t0), 0);
	CHECK_INT(dc_get(c, &k2, 1, out, sizeof(out), t0), len);
	dc_flush(c);
	dc_stats(c, &st);
	CHECK_INT(st.entries, 0);
	CHECK_INT(st.bytes, 0);
	CHECK_INT(dc_get(c, &k2, 1, out, sizeof(out), t0), 0);
	dc_free(c);

	/* bounds: 8 entries, the least recently used goes first */
	c = dc_new(8, DC_BYTES);
	for (int i = 0; i < 8; i++) {
		char qn[32];

		snprintf(qn, sizeof(qn), "h%d.example", i);
		len = answer(qn, 0, 1, 60, 0, 0, 0, 0);
		key(&k, 1, qn, 0);
		dc_put(c, &k, msg, len, t0);
	}
	key(&k, 1, "h0.example", 0);
	CHECK(dc_get(c, &k, 1, out, sizeof(out), t0) > 0); /* h0 now the most recent */
	len = answer("h8.example", 0, 1, 60, 0, 0, 0, 0);
	key(&k, 1, "h8.example", 0);
	CHECK_INT(dc_put(c, &k, msg, len, t0), 60);
	dc_stats(c, &st);
	CHECK_INT(st.entries, 8);
	CHECK_INT(st.evicted, 1);
	key(&k, 1, "h1.example", 0);
	CHECK_INT(dc_get(c, &k, 1, out, sizeof(out), t0), 0); /* h1 was the oldest */
	key(&k, 1, "h0.example", 0);
	CHECK(dc_get(c, &k, 1, out, sizeof(out), t0) > 0);
	dc_free(c);

	/* bytes: entries of ~200 bytes each under a 1000-byte bound */
	c = dc_new(DC_ENTRIES, 1000);
	for (int i = 0; i < 20; i++) {
		char qn[32];

		snprintf(qn, sizeof(qn), "b%d.example", i);
		len = answer(qn, 0, 5, 60, 0, 0, 0, 0);
		key(&k, 1, qn, 0);
		dc_put(c, &k, msg, len, t0);
	}
	dc_stats(c, &st);
	CHECK(st.bytes <= 1000);
	CHECK(st.entries >= 1 && st.entries < 20);
	CHECK(dc_get(c, &k, 1, out, sizeof(out), t0) > 0); /* the newest stays */
	/* an answer larger than the whole bound is not kept */
	len = answer("huge.example", 0, 60, 60, 0, 0, 0, 0);
	key(&k, 1, "huge.example", 0);
	CHECK_INT(dc_put(c, &k, msg, len, t0), 0);
	dc_free(c);
	test_opts();
	test_neg_cname();
	return tap_done();
}
