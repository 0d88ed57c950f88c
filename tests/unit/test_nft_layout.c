// SPDX-License-Identifier: Apache-2.0
/*
 * The nftables layouts as libnftnl objects, without a kernel: each rule a layout builds is
 * serialised into its NFT_MSG_NEWRULE message, parsed back into a new object and compared
 * (family, table, chain, comment, every expression), serialised again to the same bytes, and its
 * expressions' text is compared with the layout written down here (what `nft --debug=netlink`
 * shows). A change of a layout's bytes, intended or not, shows here first; tests/kernel checks
 * the same layouts against the kernel. Here the layouts of pkg/nft, read through their own
 * static builders: bridge and ptp's masquerade (masq.c) and the bridge's MAC spoof check
 * (spoof.c); each plugin's own layout has its test_<plugin>_layout.c (nft_layout.h is the round
 * trip they share).
 */
#include <arpa/inet.h>

#include "../../pkg/nft/masq.c"
#include "../../pkg/nft/spoof.c"
#include "tap.h"
#include "nft_layout.h"

static void masquerade(void)
{
	struct nft c = { 0 };
	char comment[COMMENT_MAX + 1];
	struct cni_prefix v4 = { .ip.family = AF_INET, .len = 16 }, v6 = { .ip.family = AF_INET6,
									   .len = 64 };
	struct nftnl_rule *go;

	inet_pton(AF_INET, "10.88.0.5", v4.ip.a);
	inet_pton(AF_INET6, "fd00:88::5", v6.ip.a);
	masq_comment(comment, "podman", "eth0", "0123456789abcdef");

	/* the comment is a hash of the attachment, then its names */
	CHECK(strlen(comment) > HASH_LEN && !strcmp(comment + HASH_LEN,
						    ", net: podman, if: eth0, id: 0123456789abcdef"));
	round_trip("masq ipv4 container", &c, masq_rule(&c, &v4, comment),
		   "[ meta load nfproto => reg 1 ] [ cmp eq reg 1 0x00000002 ] "
		   "[ payload load 4b @ network header + 12 => reg 1 ] "
		   "[ cmp eq reg 1 0x0500580a ] "
		   "[ payload load 2b @ network header + 16 => reg 1 ] "
		   "[ cmp neq reg 1 0x0000580a ] [ masq ]");
	round_trip("masq ipv6 container", &c, masq_rule(&c, &v6, comment),
		   "[ meta load nfproto => reg 1 ] [ cmp eq reg 1 0x0000000a ] "
		   "[ payload load 16b @ network header + 8 => reg 1 ] "
		   "[ cmp eq reg 1 0x880000fd 0x00000000 0x00000000 0x05000000 ] "
		   "[ payload load 8b @ network header + 24 => reg 1 ] "
		   "[ cmp neq reg 1 0x880000fd 0x00000000 ] [ masq ]");
	round_trip("postrouting ipv4 multicast", &c, multicast_rule(&c, AF_INET),
		   "[ meta load nfproto => reg 1 ] [ cmp eq reg 1 0x00000002 ] "
		   "[ payload load 4b @ network header + 16 => reg 1 ] "
		   "[ bitwise reg 1 = ( reg 1 & 0x000000f0 ) ^ 0x00000000 ] "
		   "[ cmp eq reg 1 0x000000e0 ] [ immediate reg 0 return ]");
	round_trip("postrouting ipv6 multicast", &c, multicast_rule(&c, AF_INET6),
		   "[ meta load nfproto => reg 1 ] [ cmp eq reg 1 0x0000000a ] "
		   "[ payload load 1b @ network header + 24 => reg 1 ] "
		   "[ cmp eq reg 1 0x000000ff ] [ immediate reg 0 return ]");
	go = nft_rule_new(&c, NFPROTO_INET, MASQ_TABLE, MASQ_POST, NULL);
	nft_x_verdict(&c, go, NFT_GOTO, MASQ_CHAIN);
	round_trip("postrouting goto masq_checks", &c, go,
		   "[ immediate reg 0 goto -> masq_checks ]");
}

static void spoof_check(void)
{
	static const uint8_t mac[6] = { 0x0a, 0x58, 0x0a, 0x58, 0x00, 0x05 };
	static const char *const name[] = { "spoof PREROUTING jump", "spoof iface jump",
					    "spoof mac return", "spoof drop" };
	static const char *const want[] = {
		/* iifname "veth0a1b2c3d" jump cni-br-iface-<cid>-eth0 (zero-padded to 16) */
		("[ meta load iifname => reg 1 ] "
		 "[ cmp eq reg 1 0x68746576 0x62316130 0x64336332 0x00000000 ] "
		 "[ immediate reg 0 jump -> cni-br-iface-0123456789abcdef-eth0 ]"),
		"[ immediate reg 0 jump -> cni-br-iface-0123456789abcdef-eth0-mac ]",
		/* ether saddr 0a:58:0a:58:00:05 return */
		("[ payload load 6b @ link header + 6 => reg 1 ] "
		 "[ cmp eq reg 1 0x580a580a 0x00000500 ] [ immediate reg 0 return ]"),
		"[ immediate reg 0 drop ]",
	};
	struct nft c = { 0 };
	struct spoof_names s;
	struct cni_err e = { 0 };

	CHECK(spoof_names(&s, "0123456789abcdef", "eth0", NULL, &e) == 0);
	CHECK_STR(s.comment, "macspoofchk-0123456789abcdef-eth0");
	CHECK_STR(s.mac, "cni-br-iface-0123456789abcdef-eth0-mac");
	/* a pair too long for a chain name: "<first 32 bytes of cid>:<64 hex>" */
	{
		char cid[300];
		struct spoof_names l;

		memset(cid, 'a', sizeof(cid) - 1);
		cid[sizeof(cid) - 1] = '\0';
		CHECK(spoof_names(&l, cid, "eth0", NULL, &e) == 0 && strlen(l.id) == 32 + 1 + 64 &&
		      l.id[32] == ':' && strspn(l.id, "a") == 32);
	}
	for (int i = 0; i < 4; i++)
		round_trip(name[i], &c, spoof_rule(&c, &s, i, "veth0a1b2c3d", mac), want[i]);
}

int main(void)
{
	masquerade();
	spoof_check();
	return tap_done();
}
