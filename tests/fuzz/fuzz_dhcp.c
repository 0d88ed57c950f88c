// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer harness for every parser of untrusted DHCP bytes: the IPv4+UDP frame a packet socket
 * hands the daemon, the DHCP message inside it (options, RFC 3396 concatenation, overload), the
 * option accessors and route options 121/33 as the daemon reads them, and the daemon's request
 * protocol (a local client can send anything on the socket). Built by tests/fuzz/run.sh.
 * FUZZ_SRC: pkg/wire/dhcp_wire.c plugins/ipam/dhcp/proto.c
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "wire/dhcp_wire.h"
#include "../../plugins/ipam/dhcp/dhcp.h"

static struct nu_dhcp_msg msg;
static struct dhcp_request req;

static void one_message(const uint8_t *p, size_t n)
{
	struct dhcp_lease_info li;
	struct nu_dhcp_route rt[DHCP_MAX_ROUTES];
	const uint8_t *v;
	uint8_t ip[4], out[NU_DHCP_MAX_LEN];
	uint32_t u;
	size_t l;
	int t = nu_dhcp_parse(p, n, &msg);

	if (t < 0)
		return;
	for (int c = 0; c < 256; c++) {
		v = nu_dhcp_opt(&msg, (uint8_t)c, &l);
		if (v && l) /* touch every byte: ASan checks it lies in the message */
			ip[0] = v[0] ^ v[l - 1];
	}
	nu_dhcp_opt_ip(&msg, NU_DHCP_OPT_ROUTER, ip);
	if (!nu_dhcp_opt_ip(&msg, NU_DHCP_OPT_SUBNET_MASK, ip))
		nu_dhcp_mask_len(ip);
	nu_dhcp_opt_u32(&msg, NU_DHCP_OPT_LEASE_TIME, &u);
	memset(&li, 0, sizeof(li));
	li.has_gw = nu_dhcp_opt_ip(&msg, NU_DHCP_OPT_ROUTER, li.gw) == 0;
	dhcp_lease_routes(&msg, &li);
	v = nu_dhcp_opt(&msg, NU_DHCP_OPT_CLASSLESS_ROUTES, &l);
	if (v)
		nu_dhcp_classless_routes(v, l, rt, DHCP_MAX_ROUTES);
	v = nu_dhcp_opt(&msg, NU_DHCP_OPT_STATIC_ROUTES, &l);
	if (v)
		nu_dhcp_static_routes(v, l, rt, DHCP_MAX_ROUTES);
	/* Whatever parsed builds again within bounds. */
	msg.n_opts = 0;
	for (int c = 1; c < 255 && msg.n_opts < NU_DHCP_MAX_OPTS; c++) {
		if (c == NU_DHCP_OPT_MSG_TYPE)
			continue;
		v = nu_dhcp_opt(&msg, (uint8_t)c, &l);
		if (v)
			nu_dhcp_add_opt(&msg, (uint8_t)c, v, l);
	}
	nu_dhcp_build(&msg, (uint8_t)t, out, sizeof(out));
	(void)ip;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *pl;
	size_t plen;
	uint8_t src[4], dst[4];
	uint16_t sp, dp;

	if (size < 1)
		return 0;
	/* First byte picks the entry point, so one corpus covers all three. */
	switch (data[0] % 3) {
	case 0:
		if (!nu_dhcp_frame_parse(data + 1, size - 1, &pl, &plen, src, dst, &sp, &dp))
			one_message(pl, plen);
		break;
	case 1:
		one_message(data + 1, size - 1);
		break;
	case 2:
		if (!dhcp_request_decode(data + 1, size - 1, &req))
			dhcp_request_valid(&req, "c1", "eth0");
		break;
	}
	return 0;
}
