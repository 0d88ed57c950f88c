// SPDX-License-Identifier: Apache-2.0
/*
 * The DNS wire codec (pkg/wire/dns_wire.c): names with compression pointers, pointer loops and
 * forward pointers refused, length bounds, reverse names, query parsing (FORMERR, NOTIMP, EDNS,
 * BADVERS, two OPTs), and every record the resolver writes (A, AAAA, PTR, SOA, OPT) read back
 * byte for byte, with writer overflow instead of buffer overrun.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <sys/socket.h>

#include "wire/dns_wire.h"
#include "tap.h"

static const uint8_t hdr_q1[] = {0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0};

static size_t mk(uint8_t *buf, const uint8_t *body, size_t n, uint16_t arcount)
{
	memcpy(buf, hdr_q1, 12);
	buf[11] = (uint8_t)arcount;
	memcpy(buf + 12, body, n);
	return 12 + n;
}

static void test_names(void)
{
	/* "www.example.com" at 12, then "a" + pointer to "example.com" (offset 16) */
	static const uint8_t m[] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
				    3, 'w', 'w', 'w', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e',
				    3, 'c', 'o', 'm', 0,
				    1, 'A', 0xc0, 16};
	struct dns_name n, t;
	char text[DNS_TEXT_MAX];
	size_t off = 12;

	CHECK_INT(dns_name_read(m, sizeof(m), &off, &n), 0);
	CHECK_INT(off, 29);
	CHECK_INT(n.labels, 3);
	CHECK_INT(dns_name_to_lower_text(&n, text), 15);
	CHECK_STR(text, "www.example.com");
	off = 29;
	CHECK_INT(dns_name_read(m, sizeof(m), &off, &n), 0);
	TAP_OK("compressed name read");
	CHECK_INT(off, sizeof(m));
	dns_name_to_lower_text(&n, text);
	CHECK_STR(text, "a.example.com");
	CHECK(n.wire[1] == 'A'); /* case kept in wire form */
	dns_name_from_text("A.EXAMPLE.com.", &t);
	CHECK(dns_name_eq(&n, &t));
	dns_name_from_text("b.example.com", &t);
	CHECK(!dns_name_eq(&n, &t));

	/* a pointer to itself, a forward pointer, a two-pointer loop */
	{
		static const uint8_t self[] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xc0, 12};
		static const uint8_t fwd[] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xc0, 14, 0};
		static const uint8_t loop[] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
					       1, 'a', 0xc0, 16, 1, 'b', 0xc0, 12};
		static const uint8_t trunc[] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 'a'};
		static const uint8_t rsvd[] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x40, 0};

		off = 12;
		CHECK_INT(dns_name_read(self, sizeof(self), &off, &n), -EBADMSG);
		off = 12;
		CHECK_INT(dns_name_read(fwd, sizeof(fwd), &off, &n), -EBADMSG);
		off = 16;
		CHECK_INT(dns_name_read(loop, sizeof(loop), &off, &n), -EBADMSG);
		off = 12;
		CHECK_INT(dns_name_read(trunc, sizeof(trunc), &off, &n), -EBADMSG);
		off = 12;
		CHECK_INT(dns_name_read(rsvd, sizeof(rsvd), &off, &n), -EBADMSG);
	}
	/* 255 bytes is the longest name: 4 labels of 63 = 256 > 255 */
	{
		uint8_t big[12 + 4 * 64 + 1] = {0};

		for (int i = 0; i < 4; i++) {
			big[12 + i * 64] = 63;
			memset(big + 13 + i * 64, 'x', 63);
		}
		off = 12;
		CHECK_INT(dns_name_read(big, sizeof(big), &off, &n), -EBADMSG);
		big[12 + 3 * 64] = 61; /* 3*64 + 62 + 1 = 255 */
		big[12 + 3 * 64 + 62] = 0;
		off = 12;
		CHECK_INT(dns_name_read(big, 12 + 3 * 64 + 63, &off, &n), 0);
		CHECK_INT(n.len, 255);
	}
	CHECK_INT(dns_name_from_text("", &n), 0);
	CHECK_INT(n.len, 1);
	CHECK_INT(dns_name_from_text("a..b", &n), -EINVAL);
	{
		char l64[70];

		memset(l64, 'a', 64);
		l64[64] = 0;
		CHECK_INT(dns_name_from_text(l64, &n), -EINVAL);
	}
	/* a name with a dot inside a label is never one of ours */
	{
		static const uint8_t dot[] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 'a', '.', 'b', 0};

		off = 12;
		dns_name_read(dot, sizeof(dot), &off, &n);
		CHECK_INT(dns_name_to_lower_text(&n, text), -EINVAL);
	}
}

static void test_arpa(void)
{
	struct dns_name n;
	uint8_t a[16], want6[16];

	dns_name_from_text("7.0.89.10.in-addr.arpa", &n);
	CHECK_INT(dns_arpa_parse(&n, a), AF_INET);
	CHECK(a[0] == 10 && a[1] == 89 && a[2] == 0 && a[3] == 7);
	dns_name_from_text("7.0.89.10.IN-ADDR.ARPA.", &n);
	CHECK_INT(dns_arpa_parse(&n, a), AF_INET);
	dns_name_from_text("0.89.10.in-addr.arpa", &n);
	CHECK_INT(dns_arpa_parse(&n, a), 0);
	dns_name_from_text("256.0.89.10.in-addr.arpa", &n);
	CHECK_INT(dns_arpa_parse(&n, a), 0);
	dns_name_from_text("07.0.89.10.in-addr.arpa", &n);
	CHECK_INT(dns_arpa_parse(&n, a), 0);
	dns_name_from_text("1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.9.8.0.0.0.0.d.f.ip6.arpa", &n);
	CHECK_INT(dns_arpa_parse(&n, a), AF_INET6);
	inet_pton(AF_INET6, "fd00:89::1", want6);
	CHECK(!memcmp(a, want6, 16));
	dns_name_from_text("g.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.9.8.0.0.0.0.d.f.ip6.arpa", &n);
	CHECK_INT(dns_arpa_parse(&n, a), 0);
	dns_name_from_text("web.dns.podman", &n);
	CHECK_INT(dns_arpa_parse(&n, a), 0);
}

static void test_parse(void)
{
	static const uint8_t q[] = {3, 'w', 'e', 'b', 0, 0, 1, 0, 1};
	static const uint8_t opt[] = {0, 0, 41, 0x10, 0, 0, 0, 0x80, 0, 0, 0};
	static const uint8_t opt1[] = {0, 0, 41, 0x10, 0, 0, 1, 0, 0, 0, 0};
	static const uint8_t opt_badopt[] = {0, 0, 41, 0x10, 0, 0, 0, 0, 0, 0, 3, 0, 1, 0};
	uint8_t buf[512];
	struct dns_msg m;
	size_t n;

	n = mk(buf, q, sizeof(q), 0);
	CHECK_INT(dns_msg_parse(buf, n, true, &m), 0);
	CHECK_INT(m.rcode, 0);
	CHECK_INT(m.id, 0x1234);
	CHECK_INT(m.qtype, DNS_T_A);
	CHECK_INT(m.q_end, n);
	CHECK(!m.edns);
	CHECK_INT(dns_udp_limit(&m), 512);
	CHECK_INT(dns_msg_parse(buf, 11, true, &m), -EBADMSG);
	CHECK_INT(dns_msg_parse(buf, n - 1, true, &m), 0);
	CHECK_INT(m.rcode, DNS_RC_FORMERR);

	memcpy(buf + n, opt, sizeof(opt));
	buf[11] = 1;
	CHECK_INT(dns_msg_parse(buf, n + sizeof(opt), true, &m), 0);
	CHECK_INT(m.rcode, 0);
	CHECK(m.edns && m.edns_size == 4096 && m.edns_do && m.edns_version == 0);
	CHECK_INT(dns_udp_limit(&m), DNS_EDNS_CAP);
	/* two OPT records: FORMERR */
	memcpy(buf + n + sizeof(opt), opt, sizeof(opt));
	buf[11] = 2;
	CHECK_INT(dns_msg_parse(buf, n + 2 * sizeof(opt), true, &m), 0);
	CHECK_INT(m.rcode, DNS_RC_FORMERR);
	/* EDNS version 1: BADVERS */
	memcpy(buf + n, opt1, sizeof(opt1));
	buf[11] = 1;
	dns_msg_parse(buf, n + sizeof(opt1), true, &m);
	CHECK_INT(m.rcode, DNS_RC_BADVERS);
	/* an option that overruns rdata */
	memcpy(buf + n, opt_badopt, sizeof(opt_badopt));
	dns_msg_parse(buf, n + sizeof(opt_badopt), true, &m);
	CHECK_INT(m.rcode, DNS_RC_FORMERR);
	/* an OPT in the answer section */
	memcpy(buf + n, opt, sizeof(opt));
	buf[7] = 1;
	buf[11] = 0;
	dns_msg_parse(buf, n + sizeof(opt), true, &m);
	CHECK_INT(m.rcode, DNS_RC_FORMERR);
	buf[7] = 0;
	/* small EDNS size is raised to 512 */
	memcpy(buf + n, opt, sizeof(opt));
	buf[n + 3] = 0;
	buf[n + 4] = 100;
	buf[11] = 1;
	dns_msg_parse(buf, n + sizeof(opt), true, &m);
	CHECK_INT(dns_udp_limit(&m), 512);
	/* no question, two questions, an opcode other than QUERY */
	n = mk(buf, q, sizeof(q), 0);
	buf[5] = 0;
	dns_msg_parse(buf, n, true, &m);
	CHECK_INT(m.rcode, DNS_RC_FORMERR);
	buf[5] = 2;
	dns_msg_parse(buf, n, true, &m);
	CHECK_INT(m.rcode, DNS_RC_FORMERR);
	buf[5] = 1;
	buf[2] = 0x28; /* opcode 5 (UPDATE) */
	dns_msg_parse(buf, n, true, &m);
	CHECK_INT(m.rcode, DNS_RC_NOTIMP);
}

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void test_write(void)
{
	uint8_t buf[512], a4[4] = {10, 89, 0, 7}, a6[16];
	struct dns_writer w;
	struct dns_name q, zone, target;
	struct dns_msg m;
	size_t off;
	int len;

	inet_pton(AF_INET6, "fd00::7", a6);
	dns_name_from_text("Web.dns.podman", &q);
	dns_name_from_text("dns.podman", &zone);
	dns_name_from_text("web.dns.podman", &target);
	dns_w_init(&w, buf, sizeof(buf), 0xbeef, DNS_F_QR | DNS_F_AA | DNS_F_RD | DNS_F_RA);
	dns_w_question(&w, &q, DNS_T_ANY, DNS_C_IN);
	dns_w_rr(&w, DNS_SEC_AN, NULL, DNS_HDR_LEN, DNS_T_A, DNS_C_IN, 5, a4, 4);
	dns_w_rr(&w, DNS_SEC_AN, NULL, DNS_HDR_LEN, DNS_T_AAAA, DNS_C_IN, 5, a6, 16);
	dns_w_ptr(&w, DNS_SEC_AN, DNS_HDR_LEN, 5, &target);
	dns_w_soa(&w, DNS_SEC_NS, &zone, 5, 42);
	dns_w_opt(&w, DNS_EDNS_CAP, DNS_RC_BADVERS, false);
	len = dns_w_finish(&w);
	CHECK(len > 0);
	CHECK_INT(rd16(buf + 4), 1);
	CHECK_INT(rd16(buf + 6), 3);
	CHECK_INT(rd16(buf + 8), 1);
	CHECK_INT(rd16(buf + 10), 1);
	CHECK_INT(dns_msg_parse(buf, (size_t)len, true, &m), 0);
	CHECK(m.flags & DNS_F_AA);
	CHECK(m.qname.wire[1] == 'W'); /* the question as given */
	CHECK(m.edns && m.edns_size == DNS_EDNS_CAP);
	CHECK_INT(m.edns_version, 0);
	/* walk the records and check each */
	off = m.q_end;
	{
		struct dns_name owner;
		uint16_t types[] = {DNS_T_A, DNS_T_AAAA, DNS_T_PTR, DNS_T_SOA, DNS_T_OPT};

		for (int i = 0; i < 5; i++) {
			uint16_t rdlen;

			CHECK_INT(dns_name_read(buf, (size_t)len, &off, &owner), 0);
			CHECK_INT(rd16(buf + off), types[i]);
			rdlen = rd16(buf + off + 8);
			if (i < 3)
				CHECK(dns_name_eq(&owner, &q));
			if (i == 0)
				CHECK(rdlen == 4 && !memcmp(buf + off + 10, a4, 4));
			if (i == 1)
				CHECK(rdlen == 16 && !memcmp(buf + off + 10, a6, 16));
			if (i == 2) {
				size_t t = off + 10;
				struct dns_name got;

				CHECK_INT(dns_name_read(buf, (size_t)len, &t, &got), 0);
				CHECK(dns_name_eq(&got, &target));
			}
			if (i == 3) {
				size_t t = off + 10;
				struct dns_name mname, rname;
				char text[DNS_TEXT_MAX];

				CHECK(dns_name_eq(&owner, &zone));
				dns_name_read(buf, (size_t)len, &t, &mname);
				dns_name_read(buf, (size_t)len, &t, &rname);
				dns_name_to_lower_text(&mname, text);
				CHECK_STR(text, "ns.dns.podman");
				dns_name_to_lower_text(&rname, text);
				CHECK_STR(text, "hostmaster.dns.podman");
				CHECK_INT(rd16(buf + t + 2), 42);	/* serial */
				CHECK_INT(rd16(buf + t + 18), 5);	/* minimum */
				CHECK_INT(t + 20, off + 10 + rdlen);
			}
			if (i == 4)
				CHECK_INT(buf[off + 4], 1); /* extended rcode: BADVERS = 16 >> 4 */
			off += 10 + rdlen;
		}
		CHECK_INT(off, (size_t)len);
	}

	/* overflow: a writer never writes past cap, and finish reports it */
	{
		uint8_t small[40];

		memset(small, 0xaa, sizeof(small));
		dns_w_init(&w, small, 30, 1, DNS_F_QR);
		dns_w_question(&w, &q, DNS_T_A, DNS_C_IN);
		dns_w_rr(&w, DNS_SEC_AN, NULL, DNS_HDR_LEN, DNS_T_A, DNS_C_IN, 0, a4, 4);
		CHECK_INT(dns_w_finish(&w), -ENOSPC);
		CHECK(small[30] == 0xaa && small[39] == 0xaa);
	}
	/* truncation: 40 A records do not fit in 512 bytes */
	{
		dns_w_init(&w, buf, DNS_UDP_MIN, 1, DNS_F_QR);
		dns_w_question(&w, &q, DNS_T_A, DNS_C_IN);
		for (int i = 0; i < 40; i++)
			dns_w_rr(&w, DNS_SEC_AN, NULL, DNS_HDR_LEN, DNS_T_A, DNS_C_IN, 0, a4, 4);
		CHECK_INT(dns_w_finish(&w), -ENOSPC);
		dns_w_init(&w, buf, DNS_UDP_MIN, 1, DNS_F_QR);
		dns_w_question(&w, &q, DNS_T_A, DNS_C_IN);
		for (int i = 0; i < 30; i++)
			dns_w_rr(&w, DNS_SEC_AN, NULL, DNS_HDR_LEN, DNS_T_A, DNS_C_IN, 0, a4, 4);
		dns_w_set_flags(&w, DNS_F_QR | DNS_F_TC);
		len = dns_w_finish(&w);
		CHECK_INT(len, 12 + q.len + 4 + 30 * 16);
		CHECK(buf[2] & 0x02);
	}
}

int main(void)
{
	test_names();
	test_arpa();
	test_parse();
	test_write();
	return tap_failed;
}
