/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The resolver's cache of forwarded answers (cache.c): keyed by (upstream set, question name in
 * lower case, type, class, the requester's EDNS, DO and CD bits), TTLs honoured and decremented
 * in what it serves, negative answers (NXDOMAIN, NODATA) for their SOA's minimum (RFC 2308,
 * capped; no longer than a record they hold, a CNAME's), bounded in entries and bytes with LRU
 * eviction. SERVFAIL, REFUSED, truncated answers and answers without an SOA to bound a negative
 * one are not kept. The stored copy has no client's own EDNS options (NSID, ECS, COOKIE,
 * PADDING); an answer whose OPT record is not the last record and holds one is not kept. Time
 * is the caller's (a monotonic clock in ms): the unit test injects its own. Libc and the DNS
 * codec alone.
 */
#ifndef DNSNAME_CACHE_H
#define DNSNAME_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "wire/dns_wire.h"

#define DC_ENTRIES 4096		/* entries at most */
#define DC_BYTES (1u << 20)	/* bytes of answers (and their keys) at most */
#define DC_NEG_MAX 300		/* seconds a negative answer is kept at most (RFC 2308 §5) */
#define DC_POS_MAX 86400	/* seconds a positive answer is kept at most */
#define DC_MSG_MAX 4096		/* larger answers are not kept */

#define DC_B_EDNS 1u
#define DC_B_DO 2u
#define DC_B_CD 4u
#define DC_B_RD 8u

struct dc_key {
	uint32_t set; /* the upstream set's id */
	uint16_t qtype, qclass;
	uint8_t bits; /* DC_B_* */
	uint8_t nlen;
	uint8_t name[DNS_NAME_MAX]; /* wire form, lower case */
};

struct dcache;

struct dc_stats {
	size_t entries, bytes;
	uint64_t hits, misses, stored, evicted, expired;
};

struct dcache *dc_new(size_t max_entries, size_t max_bytes);
void dc_free(struct dcache *c);

void dc_key_make(struct dc_key *k, uint32_t set, const struct dns_name *qname, uint16_t qtype,
		 uint16_t qclass, unsigned int bits);

/*
 * dc_put() - keep the upstream's answer @msg (@len bytes) to the question of @k, received at
 * @now_ms. Returns the seconds it is kept for, 0 when the answer is not cacheable.
 */
uint32_t dc_put(struct dcache *c, const struct dc_key *k, const uint8_t *msg, size_t len,
		uint64_t now_ms);

/*
 * dc_get() - the kept answer to @k into @out (@cap bytes) with ID @id and every TTL lowered by
 * the seconds since it came. Returns its length, 0 on a miss (absent, expired: dropped, or larger
 * than @cap).
 */
size_t dc_get(struct dcache *c, const struct dc_key *k, uint16_t id, uint8_t *out, size_t cap,
	      uint64_t now_ms);

/* Drop the answers of one upstream set (its upstreams changed or it is gone), or all. */
void dc_flush_set(struct dcache *c, uint32_t set);
void dc_flush(struct dcache *c);
void dc_stats(const struct dcache *c, struct dc_stats *s);

#endif
