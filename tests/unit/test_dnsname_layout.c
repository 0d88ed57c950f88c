// SPDX-License-Identifier: Apache-2.0
/*
 * dnsname's port 53 rewrite (plugins/meta/dnsname/nft.c) as libnftnl objects, without a kernel:
 * each of its four rules built by the layout's own static builder, serialised, parsed back,
 * compared and checked against the layout written down here (nft_layout.h has the round trip).
 * tests/netns/dnsname_port53.sh checks the same rules in a container netns.
 */
#include <arpa/inet.h>

#include "../../plugins/meta/dnsname/nft.c"
#include "tap.h"
#include "nft_layout.h"

int main(void)
{
	static const char *const name[] = { "dnsport udp query", "dnsport udp reply",
					    "dnsport tcp query", "dnsport tcp reply" };
	static const char *const want[] = {
		/* ip daddr 127.0.0.11 udp dport 53 notrack udp dport set 61053 */
		("[ payload load 4b @ network header + 16 => reg 1 ] [ cmp eq reg 1 0x0b00007f ] "
		 "[ meta load l4proto => reg 1 ] [ cmp eq reg 1 0x00000011 ] "
		 "[ payload load 2b @ transport header + 2 => reg 1 ] [ cmp eq reg 1 0x00003500 ] "
		 "[ notrack ] [ immediate reg 1 0x00007dee ] "
		 "[ payload write reg 1 => 2b @ transport header + 2 csum_type 1 csum_off 6 "
		 "csum_flags 0x0 ]"),
		/* ip saddr 127.0.0.11 udp sport 61053 notrack udp sport set 53 */
		("[ payload load 4b @ network header + 12 => reg 1 ] [ cmp eq reg 1 0x0b00007f ] "
		 "[ meta load l4proto => reg 1 ] [ cmp eq reg 1 0x00000011 ] "
		 "[ payload load 2b @ transport header + 0 => reg 1 ] [ cmp eq reg 1 0x00007dee ] "
		 "[ notrack ] [ immediate reg 1 0x00003500 ] "
		 "[ payload write reg 1 => 2b @ transport header + 0 csum_type 1 csum_off 6 "
		 "csum_flags 0x0 ]"),
		/* ip daddr 127.0.0.11 tcp dport 53 notrack tcp dport set 61053 */
		("[ payload load 4b @ network header + 16 => reg 1 ] [ cmp eq reg 1 0x0b00007f ] "
		 "[ meta load l4proto => reg 1 ] [ cmp eq reg 1 0x00000006 ] "
		 "[ payload load 2b @ transport header + 2 => reg 1 ] [ cmp eq reg 1 0x00003500 ] "
		 "[ notrack ] [ immediate reg 1 0x00007dee ] "
		 "[ payload write reg 1 => 2b @ transport header + 2 csum_type 1 csum_off 16 "
		 "csum_flags 0x0 ]"),
		/* ip saddr 127.0.0.11 tcp sport 61053 notrack tcp sport set 53 */
		("[ payload load 4b @ network header + 12 => reg 1 ] [ cmp eq reg 1 0x0b00007f ] "
		 "[ meta load l4proto => reg 1 ] [ cmp eq reg 1 0x00000006 ] "
		 "[ payload load 2b @ transport header + 0 => reg 1 ] [ cmp eq reg 1 0x00007dee ] "
		 "[ notrack ] [ immediate reg 1 0x00003500 ] "
		 "[ payload write reg 1 => 2b @ transport header + 0 csum_type 1 csum_off 16 "
		 "csum_flags 0x0 ]"),
	};
	struct nft c = { 0 };
	struct dp d = { .port = 61053, .id = "0123456789abcdef" };
	char counter[DP_NAME_MAX];

	inet_pton(AF_INET, "127.0.0.11", &d.addr);
	CHECK_STR(dp_counter(counter, d.id), "att-0123456789abcdef");
	dp_chain(&d);
	CHECK_STR(d.chain, "output"); /* 127.0.0.11's, as builds before the other addresses */
	for (int i = 0; i < 4; i++)
		round_trip(name[i], &c, dp_rule(&c, &d, i), want[i]);
	/* another resolver address (a container's second network): its own chain, its address
	 * exactly in every rule */
	{
		struct dp d2 = d;
		char w[1024], *p;

		inet_pton(AF_INET, "127.0.0.12", &d2.addr);
		dp_chain(&d2);
		CHECK_STR(d2.chain, "output-127.0.0.12");
		for (int i = 0; i < 4; i++) {
			snprintf(w, sizeof(w), "%s", want[i]);
			p = strstr(w, "0x0b00007f");
			if (p)
				p[3] = 'c';
			round_trip(name[i], &c, dp_rule(&c, &d2, i), w);
		}
	}
	return tap_done();
}
