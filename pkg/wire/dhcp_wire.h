/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The DHCPv4 wire format (RFC 2131/2132) and the IPv4+UDP framing a client needs on a packet
 * socket before it has an address. Pure code: no sockets, no kernel objects, no allocation. Every
 * parser takes untrusted bytes with their length and never reads past them (tests/fuzz/fuzz_dhcp.c
 * exercises each one); builders never write past the capacity they are given and fail with
 * -ENOSPC instead. Options longer than 255 bytes are split into several instances on build and
 * concatenated on parse (RFC 3396); options overloaded into the sname/file fields (option 52) are
 * parsed too. It lives in pkg/wire (build/libwire.a), which depends on libc alone.
 */
#ifndef WIRE_DHCP_WIRE_H
#define WIRE_DHCP_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	NU_DHCP_OPT_PAD = 0,
	NU_DHCP_OPT_SUBNET_MASK = 1,
	NU_DHCP_OPT_ROUTER = 3,
	NU_DHCP_OPT_DNS = 6,
	NU_DHCP_OPT_HOSTNAME = 12,
	NU_DHCP_OPT_DOMAIN = 15,
	NU_DHCP_OPT_STATIC_ROUTES = 33,
	NU_DHCP_OPT_REQUESTED_IP = 50,
	NU_DHCP_OPT_LEASE_TIME = 51,
	NU_DHCP_OPT_OVERLOAD = 52,
	NU_DHCP_OPT_MSG_TYPE = 53,
	NU_DHCP_OPT_SERVER_ID = 54,
	NU_DHCP_OPT_PARAM_REQ = 55,
	NU_DHCP_OPT_MESSAGE = 56,
	NU_DHCP_OPT_MAX_SIZE = 57,
	NU_DHCP_OPT_T1 = 58,
	NU_DHCP_OPT_T2 = 59,
	NU_DHCP_OPT_VENDOR_CLASS = 60,
	NU_DHCP_OPT_CLIENT_ID = 61,
	NU_DHCP_OPT_USER_CLASS = 77,
	NU_DHCP_OPT_CLASSLESS_ROUTES = 121,
	NU_DHCP_OPT_END = 255,
};

enum {
	NU_DHCP_DISCOVER = 1,
	NU_DHCP_OFFER = 2,
	NU_DHCP_REQUEST = 3,
	NU_DHCP_DECLINE = 4,
	NU_DHCP_ACK = 5,
	NU_DHCP_NAK = 6,
	NU_DHCP_RELEASE = 7,
	NU_DHCP_INFORM = 8,
};

#define NU_DHCP_BOOTREQUEST 1
#define NU_DHCP_BOOTREPLY 2
#define NU_DHCP_FLAG_BROADCAST 0x8000
#define NU_DHCP_MAGIC 0x63825363u
#define NU_DHCP_HDR_LEN 236     /* fixed BOOTP header, without the magic cookie */
#define NU_DHCP_MIN_LEN 300     /* BOOTP minimum: some relays drop shorter requests */
#define NU_DHCP_MAX_LEN 1500    /* what we build and accept (an Ethernet MTU of DHCP) */
#define NU_DHCP_SERVER_PORT 67
#define NU_DHCP_CLIENT_PORT 68
#define NU_DHCP_MAX_OPTS 64     /* options a built message carries */

/* One option instance for a builder: @len may exceed 255 (split on the wire). */
struct nu_dhcp_opt {
	uint8_t code;
	uint16_t len;
	const uint8_t *data;
};

/*
 * A message. On build the caller fills the header and opts[]; on parse the header is filled and
 * every option is indexed in @optv: code c is present when has[c], its (concatenated) value is
 * optbuf[off[c]] .. + len[c].
 */
struct nu_dhcp_msg {
	uint8_t op, htype, hlen, hops;
	uint32_t xid; /* host order */
	uint16_t secs, flags;
	uint8_t ciaddr[4], yiaddr[4], siaddr[4], giaddr[4];
	uint8_t chaddr[16];

	/* build */
	struct nu_dhcp_opt opts[NU_DHCP_MAX_OPTS];
	size_t n_opts;

	/* parse */
	bool has[256];
	uint16_t off[256], len[256];
	uint8_t optbuf[NU_DHCP_MAX_LEN];
};

/* A route from option 121 or 33. */
struct nu_dhcp_route {
	uint8_t dst[4];
	uint8_t len;
	uint8_t gw[4]; /* 0.0.0.0: on-link (option 121 only) */
};

/*
 * nu_dhcp_add_opt() - append an option to a message being built (data is referenced, not copied).
 * 0, or -ENOSPC when NU_DHCP_MAX_OPTS are already there.
 */
int nu_dhcp_add_opt(struct nu_dhcp_msg *m, uint8_t code, const void *data, size_t len);

/*
 * nu_dhcp_build() - the BOOTP header, the magic cookie, the message type @type (option 53, first),
 * m->opts in order, END, zero padding to NU_DHCP_MIN_LEN. Returns the length written (<= @cap) or
 * -ENOSPC / -EINVAL (an option of PAD or END code, or longer than 65535).
 */
int nu_dhcp_build(const struct nu_dhcp_msg *m, uint8_t type, uint8_t *buf, size_t cap);

/*
 * nu_dhcp_parse() - decode @len bytes of a BOOTP/DHCP message into *m (header and option index).
 * Returns the message type (option 53, 1..255) or -EINVAL for anything malformed: short header,
 * bad cookie, an option running past the end, a missing or malformed type option, an overload
 * option pointing at fields that do not parse. Never reads outside buf[0..len).
 */
int nu_dhcp_parse(const uint8_t *buf, size_t len, struct nu_dhcp_msg *m);

/* The value of option @code of a parsed message, or NULL (with *len 0) when absent. */
const uint8_t *nu_dhcp_opt(const struct nu_dhcp_msg *m, uint8_t code, size_t *len);

/* A 4-byte option as an address (network order bytes into out): 0, or -ENOENT / -EINVAL. */
int nu_dhcp_opt_ip(const struct nu_dhcp_msg *m, uint8_t code, uint8_t out[4]);
/* A 4-byte option as a host-order u32: 0, or -ENOENT / -EINVAL. */
int nu_dhcp_opt_u32(const struct nu_dhcp_msg *m, uint8_t code, uint32_t *out);

/*
 * nu_dhcp_classless_routes() - decode option 121 (RFC 3442): width byte, significant destination
 * octets, router. At most @max routes into @out. Returns the count, or -EINVAL when malformed
 * (width > 32, truncated entry, more than @max routes).
 */
int nu_dhcp_classless_routes(const uint8_t *p, size_t n, struct nu_dhcp_route *out, size_t max);

/*
 * nu_dhcp_static_routes() - decode option 33 (RFC 2132 §5.8): pairs of destination and router,
 * the destination's prefix its classful mask (A /8, B /16, C /24, otherwise /32 as Go's
 * DefaultMask gives none). A default route (0.0.0.0) is illegal there and skipped. Returns the
 * count, or -EINVAL when the length is not a multiple of 8 or there are more than @max.
 */
int nu_dhcp_static_routes(const uint8_t *p, size_t n, struct nu_dhcp_route *out, size_t max);

/* Prefix length of a contiguous netmask, -EINVAL if it is not contiguous. */
int nu_dhcp_mask_len(const uint8_t mask[4]);

/*
 * nu_dhcp_option_code() - an option by the names the reference understands (routers,
 * subnet-mask, host-name, dhcp-client-identifier, user-class, vendor-class-identifier) and a few
 * more (static-routes, classless-static-routes, domain-name-servers, domain-name, T1/T2 names,
 * dhcp-lease-time), or a decimal 0..255. Returns the code or -EINVAL.
 */
int nu_dhcp_option_code(const char *name);

/* ---- IPv4 + UDP framing (for AF_PACKET SOCK_DGRAM sockets) ---------------------------------- */

#define NU_DHCP_IPUDP_LEN 28 /* IPv4 header without options + UDP header */

/* The Internet checksum (RFC 1071) of @len bytes, folded; @sum is a partial sum to start from. */
uint16_t nu_inet_csum(const void *data, size_t len, uint32_t sum);

/*
 * nu_dhcp_frame_build() - an IPv4 (TTL 64, DF clear, id 0) + UDP datagram from @src:@sport to
 * @dst:@dport carrying @payload, with both checksums. Returns the total length or -ENOSPC.
 */
int nu_dhcp_frame_build(uint8_t *buf, size_t cap, const uint8_t src[4], const uint8_t dst[4],
			uint16_t sport, uint16_t dport, const uint8_t *payload, size_t plen);

/*
 * nu_dhcp_frame_parse() - check an IPv4 datagram (version 4, header length and total length
 * within @len, header checksum, not a fragment, protocol UDP, UDP length within the datagram)
 * and return its UDP payload: *payload and *plen, the ports and addresses. The UDP checksum is not
 * verified: a veth with checksum offload hands packet sockets datagrams whose checksum is still
 * to be filled in. Returns 0 or -EINVAL.
 */
int nu_dhcp_frame_parse(const uint8_t *buf, size_t len, const uint8_t **payload, size_t *plen,
			uint8_t src[4], uint8_t dst[4], uint16_t *sport, uint16_t *dport);

#endif
