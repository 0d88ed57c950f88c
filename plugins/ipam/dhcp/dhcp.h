/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dhcp's parts and what they share: the request/reply protocol between the plugin and the daemon
 * (proto.c), the daemon's event loop and unix socket (daemon.c), one DHCP client per attachment
 * (client.c) and the lease store (store.c). Every symbol carries the dhcp_ prefix: these objects
 * sit in build/libipam.a next to host-local and static.
 *
 * ---- The protocol (version 1) ---------------------------------------------------------------
 * One request and one reply per connection on a SOCK_STREAM unix socket. Both are a frame:
 *
 *	u32 length (big endian, of what follows, at most DHCP_PROTO_MAX)
 *	"CNDH" u8 version (1)
 *	TLVs: u16 type, u16 length, value (big-endian integers, strings without NUL)
 *
 * Request TLVs: VERB (u8: ADD, DEL, CHECK, STATUS, GC), CID, NETNS (absolute path), IFNAME,
 * NETWORK, REQUEST (the Parameter Request List bytes), PROVIDE (repeated: u8 code + value),
 * BROADCAST (u8), TIMEOUT_MS / RESEND_MAX_MS / RESEND_TIMEOUT_MS (u32, 0 = daemon default) and for
 * GC, VALID (repeated: container id, NUL, ifname). Unknown TLVs are ignored.
 * Reply TLVs: ERRNO (u32, 0 = success, else a positive errno), MESSAGE (text for the CNI error),
 * and after a successful ADD: ADDR (4 address bytes + prefix length), GATEWAY (4), ROUTE
 * (repeated: 4 dst + 1 prefix length + 4 gateway, 0.0.0.0 = on-link), LEASE (u32 seconds).
 * Example ADD exchange: the plugin writes the frame, the daemon answers once the lease is bound or
 * the attachment's timeout passed; the connection is then closed by both sides.
 */
#ifndef DHCP_DHCP_H
#define DHCP_DHCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire/dhcp_wire.h"

#define DHCP_DEFAULT_SOCKET "/run/cni/dhcp.sock"
/* tmpfs on purpose: leases live as long as the host's containers do, across daemon restarts. */
#define DHCP_DEFAULT_STATEDIR "/run/cni/dhcp"
#define DHCP_PROTO_MAX (4u << 20)
#define DHCP_MAX_PROVIDE 32
#define DHCP_MAX_ROUTES 64

enum {
	DHCP_V_ADD = 1,
	DHCP_V_DEL,
	DHCP_V_CHECK,
	DHCP_V_STATUS,
	DHCP_V_GC,
};

enum {
	DHCP_T_VERB = 1,
	DHCP_T_CID,
	DHCP_T_NETNS,
	DHCP_T_IFNAME,
	DHCP_T_NETWORK,
	DHCP_T_REQUEST,
	DHCP_T_PROVIDE,
	DHCP_T_BROADCAST,
	DHCP_T_TIMEOUT_MS,
	DHCP_T_RESEND_MAX_MS,
	DHCP_T_RESEND_TIMEOUT_MS,
	DHCP_T_VALID,
	DHCP_T_ERRNO = 100,
	DHCP_T_MESSAGE,
	DHCP_T_ADDR,
	DHCP_T_GATEWAY,
	DHCP_T_ROUTE,
	DHCP_T_LEASE,
};

/* A growable frame being built. */
struct dhcp_buf {
	uint8_t *p;
	size_t len, cap;
	bool oom;
};

void dhcp_buf_init(struct dhcp_buf *b);
void dhcp_buf_free(struct dhcp_buf *b);
void dhcp_put(struct dhcp_buf *b, uint16_t type, const void *v, size_t len);
void dhcp_put_str(struct dhcp_buf *b, uint16_t type, const char *s);
void dhcp_put_u32(struct dhcp_buf *b, uint16_t type, uint32_t v);
void dhcp_put_u8(struct dhcp_buf *b, uint16_t type, uint8_t v);
/* Fill in the length prefix: the frame is b->p[0..b->len). -ENOMEM if a put failed. */
int dhcp_buf_finish(struct dhcp_buf *b);

/* The big-endian 32-bit number at @v (a frame's length prefix, a u32 TLV's value). */
uint32_t dhcp_u32(const uint8_t *v);

/*
 * dhcp_tlv_each() - @fn(type, value, value length, @arg) for each TLV of a frame body (after the
 * length prefix), in order, until it returns non-zero. Returns that value, 0 at the end, or
 * -EPROTO for a wrong magic or version, or a truncated TLV.
 */
int dhcp_tlv_each(const uint8_t *body, size_t len,
		  int (*fn)(uint16_t t, const uint8_t *v, size_t vl, void *arg), void *arg);

struct dhcp_provide {
	uint8_t code;
	uint8_t len;
	uint8_t data[255];
};

/* A decoded request: strings copied and NUL-terminated, the GC list kept as raw TLV values. */
struct dhcp_request {
	int verb;
	char cid[256], netns[4096], ifname[16], network[256];
	uint8_t req_opts[255];
	size_t n_req_opts;
	bool req_opts_seen;
	struct dhcp_provide provide[DHCP_MAX_PROVIDE];
	size_t n_provide;
	bool broadcast;
	uint32_t timeout_ms, resend_max_ms, resend_timeout_ms;
	const uint8_t *body; /* for GC: dhcp_request_valid() walks the VALID TLVs again */
	size_t body_len;
};

/* Decode a request body. 0, -EPROTO (malformed) or -ENAMETOOLONG (a string over its bound). */
int dhcp_request_decode(const uint8_t *body, size_t len, struct dhcp_request *r);

/* True when (cid, ifname) is one of a GC request's VALID entries. */
bool dhcp_request_valid(const struct dhcp_request *r, const char *cid, const char *ifname);

/* A lease as the plugin reports it. */
struct dhcp_lease_info {
	uint8_t addr[4], mask_len;
	uint8_t gw[4];
	bool has_gw;
	struct nu_dhcp_route routes[DHCP_MAX_ROUTES];
	size_t n_routes;
	uint32_t lease_secs;
};

/*
 * dhcp_lease_routes() - the routes of an ACK as the reference reports them: option 121 when
 * present (it supersedes 33 and the router, RFC 3442), else option 33 plus a default route via
 * the first router. Fills info->routes/n_routes; 0 or -EINVAL for malformed route options.
 */
int dhcp_lease_routes(const struct nu_dhcp_msg *ack, struct dhcp_lease_info *info);

/* ---- daemon ------------------------------------------------------------------------------- */

/* `dhcp daemon [flags]`: argv[0] is "daemon". Returns the exit status. */
int dhcp_daemon_main(int argc, char **argv);
/* The IPAM plugin's table (plugin.c): its name and spec versions for the daemon's --version too. */
struct cni_plugin;
extern const struct cni_plugin dhcp_cni_plugin;

/* Go-style durations: "10s", "1m30s", "500ms", "2h", or a bare number of seconds. ms or -EINVAL. */
long long dhcp_duration_ms(const char *s);

#endif
