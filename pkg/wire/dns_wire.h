/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The DNS wire format (RFC 1035, EDNS0 RFC 6891), as pure code: no sockets, no allocation, no
 * global state, so it is unit-tested and fuzzed on its own. It owns the parsing of untrusted
 * messages (names with compression pointers followed only backwards and bounded, so loops end;
 * every length checked against the message) and the writing of replies into a caller buffer that
 * never overflows: a writer that runs out of room records it and the caller answers with TC set.
 * It lives in pkg/wire (build/libwire.a), which depends on libc alone: the unit tests and fuzzers
 * link nothing else. Used by the dnsname plugin's resolver daemon.
 */
#ifndef WIRE_DNS_WIRE_H
#define WIRE_DNS_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DNS_HDR_LEN 12
#define DNS_NAME_MAX 255	/* wire length of a name, root label included */
#define DNS_TEXT_MAX 254	/* "a.b.c" without the trailing dot, NUL included */
#define DNS_UDP_MIN 512		/* without EDNS */
#define DNS_EDNS_CAP 1232	/* the largest UDP reply we send (DNS flag day 2020) */
#define DNS_PTR_HOPS 64		/* compression pointers followed in one name */

enum {
	DNS_T_A = 1,
	DNS_T_NS = 2,
	DNS_T_CNAME = 5,
	DNS_T_SOA = 6,
	DNS_T_PTR = 12,
	DNS_T_MX = 15,
	DNS_T_TXT = 16,
	DNS_T_AAAA = 28,
	DNS_T_SRV = 33,
	DNS_T_OPT = 41,
	DNS_T_ANY = 255,
};

enum { DNS_C_IN = 1, DNS_C_ANY = 255 };

enum {
	DNS_RC_NOERROR = 0,
	DNS_RC_FORMERR = 1,
	DNS_RC_SERVFAIL = 2,
	DNS_RC_NXDOMAIN = 3,
	DNS_RC_NOTIMP = 4,
	DNS_RC_REFUSED = 5,
	DNS_RC_BADVERS = 16, /* extended: upper 8 bits in the OPT TTL */
};

/* Header flag bits (second 16-bit word). */
#define DNS_F_QR 0x8000
#define DNS_F_AA 0x0400
#define DNS_F_TC 0x0200
#define DNS_F_RD 0x0100
#define DNS_F_RA 0x0080
#define DNS_F_AD 0x0020
#define DNS_F_CD 0x0010
#define DNS_OPCODE(f) (((f) >> 11) & 0xf)
#define DNS_RCODE(f) ((f) & 0xf)

/* A name in uncompressed wire form (length-prefixed labels ending with the root label). */
struct dns_name {
	uint8_t wire[DNS_NAME_MAX];
	uint8_t len;	 /* bytes used in wire, the root label included (>= 1) */
	uint8_t labels;	 /* label count without the root */
};

/*
 * dns_name_read() - decode the name at *@off of @msg (@len bytes) into @out, following
 * compression pointers (each must point strictly before the label that holds it, at most
 * DNS_PTR_HOPS of them), and advance *@off past the name as it sits at *@off. Label case is kept.
 * Returns 0, or -EBADMSG for a truncated, looping, over-long or reserved-label-type name.
 */
int dns_name_read(const uint8_t *msg, size_t len, size_t *off, struct dns_name *out);

/*
 * dns_name_from_text() - "a.b.c" or "a.b.c." (no escapes; labels 1..63 bytes; "" or "." is the
 * root) into wire form. Returns 0 or -EINVAL.
 */
int dns_name_from_text(const char *text, struct dns_name *out);

/*
 * dns_name_to_lower_text() - the name in lower case as "a.b.c" (the root is ""), for lookups.
 * Returns the text length, or -EINVAL when a label holds a byte that cannot be a host name
 * character ('.', whitespace, control, non-ASCII): such names are never ours.
 */
int dns_name_to_lower_text(const struct dns_name *n, char out[DNS_TEXT_MAX]);

/* dns_name_eq() - case-insensitive (ASCII) equality of two wire names. */
bool dns_name_eq(const struct dns_name *a, const struct dns_name *b);

/*
 * dns_arpa_parse() - the address a reverse name stands for: "4.3.2.1.in-addr.arpa" (exactly four
 * decimal labels) gives AF_INET, 32 nibble labels under "ip6.arpa" give AF_INET6. Returns the
 * family, 0 when the name is not a complete reverse name.
 */
int dns_arpa_parse(const struct dns_name *n, uint8_t addr[16]);

/* A parsed query (or, with dns_msg_parse(), any message's header and first question). */
struct dns_msg {
	uint16_t id, flags;
	uint16_t qdcount, ancount, nscount, arcount;
	struct dns_name qname;
	uint16_t qtype, qclass;
	size_t q_end;	     /* offset just past the question */
	bool edns;	     /* an OPT record was present */
	uint8_t edns_version;
	uint16_t edns_size;  /* the requester's UDP payload size as given */
	bool edns_do;
	uint8_t rcode;	     /* for a query: the error to answer with, DNS_RC_NOERROR when fine */
};

/*
 * dns_msg_parse() - parse the header, exactly one question and (when @opt) every record, finding
 * the OPT record. Returns 0 with m->rcode set to the answerable problem (FORMERR: no or several
 * questions, bad records, several OPTs; NOTIMP: an opcode other than QUERY; BADVERS: EDNS version
 * above 0), or -EBADMSG when not even a header could be read (the caller drops the message; the
 * header fields are valid as soon as @len >= DNS_HDR_LEN, the question only when q_end is set).
 */
int dns_msg_parse(const uint8_t *msg, size_t len, bool opt, struct dns_msg *m);

/* ---- writing ------------------------------------------------------------------------------- */

struct dns_writer {
	uint8_t *buf;
	size_t cap, len;
	uint16_t counts[4]; /* qd, an, ns, ar */
	bool overflow;	    /* some write did not fit; the message is unusable */
};

enum { DNS_SEC_QD, DNS_SEC_AN, DNS_SEC_NS, DNS_SEC_AR };

/* Start a message with @id and @flags (rcode bits included) into @buf of @cap bytes. */
void dns_w_init(struct dns_writer *w, uint8_t *buf, size_t cap, uint16_t id, uint16_t flags);
/* The question section entry. */
void dns_w_question(struct dns_writer *w, const struct dns_name *n, uint16_t type, uint16_t cls);
/*
 * A resource record in @sec. The owner is @n, or a compression pointer to offset @ptr when @n is
 * NULL. @rdata holds @rdlen bytes.
 */
void dns_w_rr(struct dns_writer *w, int sec, const struct dns_name *n, uint16_t ptr, uint16_t type,
	      uint16_t cls, uint32_t ttl, const void *rdata, uint16_t rdlen);
/* A PTR record whose target is @target (uncompressed). */
void dns_w_ptr(struct dns_writer *w, int sec, uint16_t owner_ptr, uint32_t ttl,
	       const struct dns_name *target);
/* An SOA record for zone @zone: mname "ns.<zone>", rname "hostmaster.<zone>", minimum @ttl. */
void dns_w_soa(struct dns_writer *w, int sec, const struct dns_name *zone, uint32_t ttl,
	       uint32_t serial);
/* The OPT pseudo-record: our UDP size, the upper 8 bits of an extended rcode, version 0. */
void dns_w_opt(struct dns_writer *w, uint16_t udp_size, uint16_t ext_rcode, bool do_bit);
/* Set the header flags again (e.g. add TC) before finishing. */
void dns_w_set_flags(struct dns_writer *w, uint16_t flags);
/* Write the section counts; returns the message length, or -ENOSPC after an overflow. */
int dns_w_finish(struct dns_writer *w);

/*
 * dns_udp_limit() - the largest UDP reply for a requester: 512 without EDNS, else its size
 * raised to 512 and capped at DNS_EDNS_CAP.
 */
size_t dns_udp_limit(const struct dns_msg *q);

#endif
