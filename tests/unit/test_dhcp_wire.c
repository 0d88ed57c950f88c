// SPDX-License-Identifier: Apache-2.0
/*
 * The DHCP wire codec (pkg/wire/dhcp_wire.c) without a network: messages built and parsed
 * back with every option the client sends or reads, long options split and concatenated
 * (RFC 3396), option overload into sname/file, route options 121 and 33, the IPv4+UDP framing and
 * its checksums, and malformed input of every kind refused without reading out of bounds (run it
 * under ASan: make SANITIZE=1). Also the daemon protocol's TLV framing and durations.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire/dhcp_wire.h"
#include "../../plugins/ipam/dhcp/dhcp.h"
#include "../../plugins/ipam/dhcp/proto.c"
#include "tap.h"

static struct nu_dhcp_msg msg, back;

static void base(struct nu_dhcp_msg *m)
{
	memset(m, 0, sizeof(*m));
	m->op = NU_DHCP_BOOTREQUEST;
	m->htype = 1;
	m->hlen = 6;
	m->xid = 0xdeadbeef;
	m->secs = 7;
	m->flags = NU_DHCP_FLAG_BROADCAST;
	memcpy(m->ciaddr, "\x0a\x00\x00\x05", 4);
	memcpy(m->chaddr, "\x02\x11\x22\x33\x44\x55", 6);
}

static void test_roundtrip(void)
{
	uint8_t buf[NU_DHCP_MAX_LEN], big[600];
	static const uint8_t mask[4] = {255, 255, 255, 0}, router[8] = {10, 0, 0, 1, 10, 0, 0, 2};
	static const uint8_t lease[4] = {0, 0, 0x0e, 0x10}, cid[] = "\0c1/net/eth0";
	static const uint8_t prl[] = {1, 3, 121, 33};
	const uint8_t *p;
	size_t n;
	uint32_t u;
	uint8_t ip[4];
	int len, t;

	base(&msg);
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)i;
	CHECK(nu_dhcp_add_opt(&msg, NU_DHCP_OPT_SUBNET_MASK, mask, 4) == 0);
	CHECK(nu_dhcp_add_opt(&msg, NU_DHCP_OPT_ROUTER, router, 8) == 0);
	CHECK(nu_dhcp_add_opt(&msg, NU_DHCP_OPT_LEASE_TIME, lease, 4) == 0);
	CHECK(nu_dhcp_add_opt(&msg, NU_DHCP_OPT_CLIENT_ID, cid, sizeof(cid) - 1) == 0);
	CHECK(nu_dhcp_add_opt(&msg, NU_DHCP_OPT_PARAM_REQ, prl, sizeof(prl)) == 0);
	CHECK(nu_dhcp_add_opt(&msg, NU_DHCP_OPT_HOSTNAME, "pod-a", 5) == 0);
	CHECK(nu_dhcp_add_opt(&msg, NU_DHCP_OPT_USER_CLASS, "", 0) == 0);
	CHECK(nu_dhcp_add_opt(&msg, 224, big, sizeof(big)) == 0); /* split in 3 instances */
	len = nu_dhcp_build(&msg, NU_DHCP_REQUEST, buf, sizeof(buf));
	CHECK(len > NU_DHCP_MIN_LEN);
	/* 600 bytes as 255 + 255 + 90 */
	CHECK(len == NU_DHCP_HDR_LEN + 4 + 3 + 6 + 10 + 6 + 14 + 6 + 7 + 2 + (600 + 6) + 1);

	t = nu_dhcp_parse(buf, (size_t)len, &back);
	CHECK_INT(t, NU_DHCP_REQUEST);
	CHECK_INT(back.op, NU_DHCP_BOOTREQUEST);
	CHECK_INT(back.htype, 1);
	CHECK_INT(back.hlen, 6);
	CHECK(back.xid == 0xdeadbeef);
	CHECK_INT(back.secs, 7);
	CHECK_INT(back.flags, NU_DHCP_FLAG_BROADCAST);
	CHECK(!memcmp(back.ciaddr, "\x0a\x00\x00\x05", 4));
	CHECK(!memcmp(back.chaddr, msg.chaddr, 16));
	CHECK(nu_dhcp_opt_ip(&back, NU_DHCP_OPT_SUBNET_MASK, ip) == 0 && !memcmp(ip, mask, 4));
	CHECK(nu_dhcp_mask_len(ip) == 24);
	CHECK(nu_dhcp_opt_ip(&back, NU_DHCP_OPT_ROUTER, ip) == 0 && !memcmp(ip, router, 4));
	CHECK(nu_dhcp_opt_u32(&back, NU_DHCP_OPT_LEASE_TIME, &u) == 0 && u == 3600);
	p = nu_dhcp_opt(&back, NU_DHCP_OPT_CLIENT_ID, &n);
	CHECK(p && n == sizeof(cid) - 1 && !memcmp(p, cid, n));
	p = nu_dhcp_opt(&back, NU_DHCP_OPT_PARAM_REQ, &n);
	CHECK(p && n == 4 && !memcmp(p, prl, 4));
	p = nu_dhcp_opt(&back, NU_DHCP_OPT_HOSTNAME, &n);
	CHECK(p && n == 5 && !memcmp(p, "pod-a", 5));
	p = nu_dhcp_opt(&back, NU_DHCP_OPT_USER_CLASS, &n);
	CHECK(p && n == 0);
	p = nu_dhcp_opt(&back, 224, &n);
	CHECK(p && n == sizeof(big) && !memcmp(p, big, n));
	CHECK(nu_dhcp_opt(&back, NU_DHCP_OPT_T1, &n) == NULL && n == 0);
	CHECK(nu_dhcp_opt_u32(&back, NU_DHCP_OPT_T1, &u) == -ENOENT);
	CHECK(nu_dhcp_opt_u32(&back, NU_DHCP_OPT_ROUTER, &u) == -EINVAL);

	/* Every message type survives. */
	for (int ty = NU_DHCP_DISCOVER; ty <= NU_DHCP_INFORM; ty++) {
		char name[64];

		base(&msg);
		len = nu_dhcp_build(&msg, (uint8_t)ty, buf, sizeof(buf));
		snprintf(name, sizeof(name), "message type %d round trip", ty);
		if (len == NU_DHCP_MIN_LEN && nu_dhcp_parse(buf, (size_t)len, &back) == ty)
			TAP_OK(name);
		else
			TAP_FAIL(name, "len %d", len);
	}
}

static void test_build_errors(void)
{
	uint8_t buf[NU_DHCP_MAX_LEN];

	base(&msg);
	CHECK(nu_dhcp_build(&msg, NU_DHCP_DISCOVER, buf, 100) == -ENOSPC);
	CHECK(nu_dhcp_build(&msg, NU_DHCP_DISCOVER, buf, NU_DHCP_HDR_LEN + 4 + 3) == -ENOSPC);
	CHECK(nu_dhcp_build(&msg, NU_DHCP_DISCOVER, buf, NU_DHCP_HDR_LEN + 4 + 4) ==
	      NU_DHCP_HDR_LEN + 4 + 4); /* fits, no padding room */
	nu_dhcp_add_opt(&msg, NU_DHCP_OPT_END, "", 0);
	CHECK(nu_dhcp_build(&msg, NU_DHCP_DISCOVER, buf, sizeof(buf)) == -EINVAL);
	base(&msg);
	nu_dhcp_add_opt(&msg, NU_DHCP_OPT_MSG_TYPE, "\x01", 1);
	CHECK(nu_dhcp_build(&msg, NU_DHCP_DISCOVER, buf, sizeof(buf)) == -EINVAL);
	base(&msg);
	for (int i = 0; i < NU_DHCP_MAX_OPTS; i++)
		nu_dhcp_add_opt(&msg, 200, "x", 1);
	CHECK(nu_dhcp_add_opt(&msg, 200, "x", 1) == -ENOSPC);
	base(&msg);
	CHECK(nu_dhcp_add_opt(&msg, 200, buf, 70000) == -EINVAL);
}

/* A reply with options written by hand after the cookie. */
static size_t raw(uint8_t *buf, const uint8_t *opts, size_t n)
{
	memset(buf, 0, NU_DHCP_HDR_LEN + 4);
	buf[0] = NU_DHCP_BOOTREPLY;
	buf[NU_DHCP_HDR_LEN] = 0x63;
	buf[NU_DHCP_HDR_LEN + 1] = 0x82;
	buf[NU_DHCP_HDR_LEN + 2] = 0x53;
	buf[NU_DHCP_HDR_LEN + 3] = 0x63;
	memcpy(buf + NU_DHCP_HDR_LEN + 4, opts, n);
	return NU_DHCP_HDR_LEN + 4 + n;
}

static void test_malformed(void)
{
	uint8_t buf[NU_DHCP_MAX_LEN + 10];
	size_t n;

	n = raw(buf, (const uint8_t *)"\x35\x01\x02\xff", 4);
	CHECK(nu_dhcp_parse(buf, n, &back) == NU_DHCP_OFFER);
	CHECK(nu_dhcp_parse(buf, NU_DHCP_HDR_LEN + 3, &back) == -EINVAL);  /* no room for cookie */
	CHECK(nu_dhcp_parse(buf, 0, &back) == -EINVAL);
	buf[NU_DHCP_HDR_LEN] = 0x64;
	CHECK(nu_dhcp_parse(buf, n, &back) == -EINVAL); /* bad cookie */
	n = raw(buf, (const uint8_t *)"\x35\x01", 2);
	CHECK(nu_dhcp_parse(buf, n, &back) == -EINVAL); /* value cut off */
	n = raw(buf, (const uint8_t *)"\x35", 1);
	CHECK(nu_dhcp_parse(buf, n, &back) == -EINVAL); /* length cut off */
	n = raw(buf, (const uint8_t *)"\x01\x04\xff\xff\xff\x00\xff", 7);
	CHECK(nu_dhcp_parse(buf, n, &back) == -EINVAL); /* no message type */
	n = raw(buf, (const uint8_t *)"\x35\x02\x05\x05\xff", 5);
	CHECK(nu_dhcp_parse(buf, n, &back) == -EINVAL); /* type of length 2 */
	n = raw(buf, (const uint8_t *)"\x35\x01\x00\xff", 4);
	CHECK(nu_dhcp_parse(buf, n, &back) == -EINVAL); /* type 0 */
	n = raw(buf, (const uint8_t *)"\x35\x01\x05", 3);
	CHECK(nu_dhcp_parse(buf, n, &back) == NU_DHCP_ACK); /* missing END is tolerated */
	n = raw(buf, (const uint8_t *)"\x00\x00\x35\x01\x05\xff\x01\x09", 8);
	CHECK(nu_dhcp_parse(buf, n, &back) == NU_DHCP_ACK); /* pads; junk after END ignored */
	n = raw(buf, (const uint8_t *)"\x35\x01\x05\x34\x01\x07\xff", 7);
	CHECK(nu_dhcp_parse(buf, n, &back) == -EINVAL); /* overload value 7 */
	memset(buf, 0, sizeof(buf));
	n = raw(buf, (const uint8_t *)"\x35\x01\x05", 3);
	CHECK(nu_dhcp_parse(buf, NU_DHCP_MAX_LEN + 1, &back) == -EINVAL); /* oversized */
	(void)n;
}

static void test_overload(void)
{
	uint8_t buf[NU_DHCP_MAX_LEN];
	size_t n, l;
	const uint8_t *p;

	n = raw(buf, (const uint8_t *)"\x35\x01\x05\x34\x01\x03\x0c\x01\x61\xff", 10);
	/* file (108..236) then sname (44..108) */
	memcpy(buf + 108, "\x0c\x02\x62\x63\xff", 5);
	memcpy(buf + 44, "\x33\x04\x00\x00\x00\x3c\xff", 7);
	CHECK(nu_dhcp_parse(buf, n, &back) == NU_DHCP_ACK);
	p = nu_dhcp_opt(&back, NU_DHCP_OPT_HOSTNAME, &l);
	CHECK(p && l == 3 && !memcmp(p, "abc", 3)); /* options area first, then file */
	CHECK(nu_dhcp_opt(&back, NU_DHCP_OPT_LEASE_TIME, &l) && l == 4);
	/* an option running past the file field */
	memcpy(buf + 108 + 120, "\x0c\x20", 2);
	memset(buf + 108 + 4, 0, 116);
	CHECK(nu_dhcp_parse(buf, n, &back) == -EINVAL);
}

static void test_routes(void)
{
	struct nu_dhcp_route r[8];
	/* 10.99/16 via 10.77.0.1, default via 10.77.0.1, 192.168.5.128/25 on-link, /32 host */
	static const uint8_t cl[] = {16, 10, 99, 10, 77, 0, 1, 0, 10, 77, 0, 1,
				     25, 192, 168, 5, 0xff, 0, 0, 0, 0,
				     32, 1, 2, 3, 4, 5, 6, 7, 8};
	static const uint8_t st[] = {10, 0, 0, 0, 1, 1, 1, 1, 172, 16, 0, 0, 2, 2, 2, 2,
				     0, 0, 0, 0, 9, 9, 9, 9, 192, 168, 1, 0, 3, 3, 3, 3,
				     224, 0, 0, 1, 4, 4, 4, 4};
	int n;

	n = nu_dhcp_classless_routes(cl, sizeof(cl), r, 8);
	CHECK_INT(n, 4);
	CHECK(r[0].len == 16 && !memcmp(r[0].dst, "\x0a\x63\x00\x00", 4) &&
	      !memcmp(r[0].gw, "\x0a\x4d\x00\x01", 4));
	CHECK(r[1].len == 0 && !memcmp(r[1].dst, "\0\0\0\0", 4));
	CHECK(r[2].len == 25 && !memcmp(r[2].dst, "\xc0\xa8\x05\x80", 4) &&
	      !memcmp(r[2].gw, "\0\0\0\0", 4)); /* host bits cleared, on-link */
	CHECK(r[3].len == 32 && !memcmp(r[3].dst, "\x01\x02\x03\x04", 4));
	CHECK(nu_dhcp_classless_routes(cl, sizeof(cl), r, 3) == -EINVAL);
	CHECK(nu_dhcp_classless_routes(cl, sizeof(cl) - 1, r, 8) == -EINVAL);
	CHECK(nu_dhcp_classless_routes((const uint8_t *)"\x21\0\0\0\0\0\0\0\0", 9, r, 8) ==
	      -EINVAL); /* width 33 */
	CHECK(nu_dhcp_classless_routes(cl, 0, r, 8) == 0);

	n = nu_dhcp_static_routes(st, sizeof(st), r, 8);
	CHECK_INT(n, 4); /* the 0.0.0.0 entry is skipped */
	CHECK(r[0].len == 8 && r[1].len == 16 && r[2].len == 24 && r[3].len == 32);
	CHECK(!memcmp(r[2].gw, "\x03\x03\x03\x03", 4));
	CHECK(nu_dhcp_static_routes(st, 7, r, 8) == -EINVAL);
	CHECK(nu_dhcp_static_routes(st, sizeof(st), r, 2) == -EINVAL);

	CHECK(nu_dhcp_mask_len((const uint8_t *)"\xff\xff\xff\xff") == 32);
	CHECK(nu_dhcp_mask_len((const uint8_t *)"\0\0\0\0") == 0);
	CHECK(nu_dhcp_mask_len((const uint8_t *)"\xff\xff\x80\x00") == 17);
	CHECK(nu_dhcp_mask_len((const uint8_t *)"\xff\x00\xff\x00") == -EINVAL);
}

static void test_lease_routes(void)
{
	uint8_t buf[NU_DHCP_MAX_LEN];
	struct dhcp_lease_info li;
	size_t n;

	/* 121 wins over 33 and the router */
	n = raw(buf,
		(const uint8_t *)"\x35\x01\x05\x03\x04\x0a\x00\x00\x01"
				 "\x21\x08\x0b\x00\x00\x00\x0a\x00\x00\x02"
				 "\x79\x06\x08\x0c\x0a\x00\x00\x03\xff",
		28);
	CHECK(nu_dhcp_parse(buf, n, &back) == NU_DHCP_ACK);
	memset(&li, 0, sizeof(li));
	li.has_gw = nu_dhcp_opt_ip(&back, NU_DHCP_OPT_ROUTER, li.gw) == 0;
	CHECK(dhcp_lease_routes(&back, &li) == 0);
	CHECK(li.n_routes == 1 && li.routes[0].len == 8 && li.routes[0].dst[0] == 12);
	/* without 121: 33 then the default route via the router */
	n = raw(buf,
		(const uint8_t *)"\x35\x01\x05\x03\x04\x0a\x00\x00\x01"
				 "\x21\x08\x0b\x00\x00\x00\x0a\x00\x00\x02\xff",
		20);
	CHECK(nu_dhcp_parse(buf, n, &back) == NU_DHCP_ACK);
	memset(&li, 0, sizeof(li));
	li.has_gw = nu_dhcp_opt_ip(&back, NU_DHCP_OPT_ROUTER, li.gw) == 0;
	CHECK(dhcp_lease_routes(&back, &li) == 0);
	CHECK(li.n_routes == 2 && li.routes[0].len == 8 && li.routes[1].len == 0 &&
	      !memcmp(li.routes[1].gw, "\x0a\0\0\x01", 4));
}

static void test_frame(void)
{
	uint8_t buf[NU_DHCP_MAX_LEN], payload[300], src[4], dst[4];
	const uint8_t *pl;
	size_t plen;
	uint16_t sp, dp;
	int n;

	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)(i * 7);
	n = nu_dhcp_frame_build(buf, sizeof(buf), (const uint8_t *)"\0\0\0\0",
				(const uint8_t *)"\xff\xff\xff\xff", 68, 67, payload, sizeof(payload));
	CHECK_INT(n, 28 + 300);
	CHECK(nu_inet_csum(buf, 20, 0) == 0); /* header checksum verifies */
	CHECK(nu_dhcp_frame_parse(buf, (size_t)n, &pl, &plen, src, dst, &sp, &dp) == 0);
	CHECK(plen == 300 && !memcmp(pl, payload, 300) && sp == 68 && dp == 67);
	CHECK(!memcmp(dst, "\xff\xff\xff\xff", 4));
	{
		/* UDP checksum over the pseudo header verifies to 0 */
		uint32_t pseudo = 0 + 0 + 0xffff + 0xffff + 17 + (uint32_t)(n - 20);

		CHECK(nu_inet_csum(buf + 20, (size_t)n - 20, pseudo) == 0);
	}
	CHECK(nu_dhcp_frame_build(buf, 100, src, dst, 68, 67, payload, sizeof(payload)) == -ENOSPC);
	CHECK(nu_dhcp_frame_parse(buf, 27, &pl, &plen, src, dst, &sp, &dp) == -EINVAL);
	CHECK(nu_dhcp_frame_parse(buf, (size_t)n - 1, &pl, &plen, src, dst, &sp, &dp) == -EINVAL);
	buf[10] ^= 1; /* header checksum */
	CHECK(nu_dhcp_frame_parse(buf, (size_t)n, &pl, &plen, src, dst, &sp, &dp) == -EINVAL);
	buf[10] ^= 1;
	buf[0] = 0x46; /* ihl 24 */
	CHECK(nu_dhcp_frame_parse(buf, (size_t)n, &pl, &plen, src, dst, &sp, &dp) == -EINVAL);
	buf[0] = 0x45;
	buf[6] = 0x20; /* MF */
	CHECK(nu_dhcp_frame_parse(buf, (size_t)n, &pl, &plen, src, dst, &sp, &dp) == -EINVAL);
	buf[6] = 0;
	buf[9] = 6; /* TCP: checksum now wrong too, fix it */
	buf[10] = buf[11] = 0;
	{
		uint16_t c = nu_inet_csum(buf, 20, 0);

		buf[10] = (uint8_t)(c >> 8);
		buf[11] = (uint8_t)c;
	}
	CHECK(nu_dhcp_frame_parse(buf, (size_t)n, &pl, &plen, src, dst, &sp, &dp) == -EINVAL);
}

static void test_names(void)
{
	CHECK(nu_dhcp_option_code("routers") == 3);
	CHECK(nu_dhcp_option_code("subnet-mask") == 1);
	CHECK(nu_dhcp_option_code("host-name") == 12);
	CHECK(nu_dhcp_option_code("dhcp-client-identifier") == 61);
	CHECK(nu_dhcp_option_code("user-class") == 77);
	CHECK(nu_dhcp_option_code("vendor-class-identifier") == 60);
	CHECK(nu_dhcp_option_code("classless-static-routes") == 121);
	CHECK(nu_dhcp_option_code("Routers") == 3);
	CHECK(nu_dhcp_option_code("0") == 0);
	CHECK(nu_dhcp_option_code("255") == 255);
	CHECK(nu_dhcp_option_code("256") == -EINVAL);
	CHECK(nu_dhcp_option_code("-1") == -EINVAL);
	CHECK(nu_dhcp_option_code("12x") == -EINVAL);
	CHECK(nu_dhcp_option_code("") == -EINVAL);
	CHECK(nu_dhcp_option_code("no-such") == -EINVAL);
}

static void test_proto(void)
{
	struct dhcp_request rq;
	struct dhcp_buf b;
	uint8_t prov[4] = {12, 'p', 'o', 'd'};

	dhcp_buf_init(&b);
	dhcp_put_u8(&b, DHCP_T_VERB, DHCP_V_GC);
	dhcp_put_str(&b, DHCP_T_CID, "c1");
	dhcp_put_str(&b, DHCP_T_NETNS, "/run/netns/x");
	dhcp_put_str(&b, DHCP_T_IFNAME, "eth0");
	dhcp_put_str(&b, DHCP_T_NETWORK, "net");
	dhcp_put(&b, DHCP_T_REQUEST, "\x01\x03", 2);
	dhcp_put(&b, DHCP_T_PROVIDE, prov, 4);
	dhcp_put_u8(&b, DHCP_T_BROADCAST, 1);
	dhcp_put_u32(&b, DHCP_T_TIMEOUT_MS, 2500);
	dhcp_put(&b, DHCP_T_VALID, "c1\0eth0", 7);
	dhcp_put(&b, 999, "ignored", 7);
	CHECK(dhcp_buf_finish(&b) == 0);
	CHECK((size_t)(b.p[0] << 24 | b.p[1] << 16 | b.p[2] << 8 | b.p[3]) == b.len - 4);
	CHECK(dhcp_request_decode(b.p + 4, b.len - 4, &rq) == 0);
	CHECK(rq.verb == DHCP_V_GC);
	CHECK_STR(rq.cid, "c1");
	CHECK_STR(rq.netns, "/run/netns/x");
	CHECK_STR(rq.ifname, "eth0");
	CHECK_STR(rq.network, "net");
	CHECK(rq.n_req_opts == 2 && rq.req_opts[1] == 3);
	CHECK(rq.n_provide == 1 && rq.provide[0].code == 12 && rq.provide[0].len == 3);
	CHECK(rq.broadcast && rq.timeout_ms == 2500 && rq.resend_max_ms == 0);
	CHECK(dhcp_request_valid(&rq, "c1", "eth0"));
	CHECK(!dhcp_request_valid(&rq, "c1", "eth1"));
	CHECK(!dhcp_request_valid(&rq, "c", "1"));
	/* every truncation is refused, never read past */
	for (size_t cut = 4; cut < b.len - 4; cut++) {
		uint8_t *copy = malloc(cut);
		int r;

		memcpy(copy, b.p + 4, cut);
		r = dhcp_request_decode(copy, cut, &rq);
		free(copy);
		if (r != 0 && r != -EPROTO) {
			TAP_FAIL("truncated requests", "cut %zu: %d", cut, r);
			break;
		}
	}
	TAP_OK("truncated requests refused or decoded cleanly");
	dhcp_buf_free(&b);

	dhcp_buf_init(&b);
	dhcp_put(&b, DHCP_T_IFNAME, "a-very-long-interface-name", 26);
	dhcp_buf_finish(&b);
	CHECK(dhcp_request_decode(b.p + 4, b.len - 4, &rq) == -ENAMETOOLONG);
	dhcp_buf_free(&b);
	CHECK(dhcp_request_decode((const uint8_t *)"CNDH\x02", 5, &rq) == -EPROTO);

	CHECK(dhcp_duration_ms("10s") == 10000);
	CHECK(dhcp_duration_ms("1m30s") == 90000);
	CHECK(dhcp_duration_ms("500ms") == 500);
	CHECK(dhcp_duration_ms("2h") == 7200000);
	CHECK(dhcp_duration_ms("1.5s") == 1500);
	CHECK(dhcp_duration_ms("62") == 62000);
	CHECK(dhcp_duration_ms("0") == 0);
	/* Values no integer holds are refused before any cast (UB under UBSan). */
	CHECK(dhcp_duration_ms("1e300h") == -EINVAL);
	CHECK(dhcp_duration_ms("1e300") == -EINVAL);
	CHECK(dhcp_duration_ms("1e18ms") == -EINVAL);
	CHECK(dhcp_duration_ms("inf") == -EINVAL);
	CHECK(dhcp_duration_ms("infh") == -EINVAL);
	CHECK(dhcp_duration_ms("nans") == -EINVAL);
	CHECK(dhcp_duration_ms("1s1e300h") == -EINVAL);
	CHECK(dhcp_duration_ms("1e3s") == 1000000);
	CHECK(dhcp_duration_ms("10x") == -EINVAL);
	CHECK(dhcp_duration_ms("") == -EINVAL);
	CHECK(dhcp_duration_ms("s") == -EINVAL);
	CHECK(dhcp_duration_ms("-1s") == -EINVAL);
}

int main(void)
{
	test_roundtrip();
	test_build_errors();
	test_malformed();
	test_overload();
	test_routes();
	test_lease_routes();
	test_frame();
	test_names();
	test_proto();
	return tap_done();
}
