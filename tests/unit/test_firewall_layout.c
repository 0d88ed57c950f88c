// SPDX-License-Identifier: Apache-2.0
/*
 * The firewall's two layouts (plugins/meta/firewall/nft.c) as libnftnl objects, without a
 * kernel: the native layout's attachment accepts, ingress policy drops and isolated port drop,
 * and the iptables-nft layout's CNI-FORWARD rules and isolation stages, each built by the
 * layout's own static builder, serialised, parsed back, compared (xt data included) and checked
 * against the layout written down here (nft_layout.h has the round trip).
 * tests/kernel/test_firewall_nft.c checks the same layouts against the kernel.
 */
#include "../../plugins/meta/firewall/nft.c"
#include "tap.h"
#include "nft_layout.h"

int main(void)
{
	struct nft c = { 0 };
	struct cni_prefix ips[] = { PFX(AF_INET, "10.88.0.5", 16), PFX(AF_INET6, "fd00:88::5", 64) };
	struct nu_fw f = { .net = "podman", .ifname = "eth0", .cid = "0123456789abcdef",
			   .ips = ips, .n = 2, .policy = NU_FW_ISOLATED, .bridge = "cni-podman0",
			   .port = "veth0a1b2c3d", .admin_chain = "CNI-ADMIN" };
	struct ipt_fw a4 = { .f = &f, .family = NFPROTO_IPV4 }, a6 = { .f = &f,
								     .family = NFPROTO_IPV6 };
	char comment[COMMENT_MAX + 1];

	att_comment(comment, &f);
	CHECK(strlen(comment) > HASH_LEN &&
	      !strcmp(comment + HASH_LEN, ", net: podman, if: eth0, id: 0123456789abcdef"));
	round_trip("firewall accept to ipv4", &c, att_rule(&c, &ips[0], true, comment),
		   "[ meta load nfproto => reg 1 ] [ cmp eq reg 1 0x00000002 ] "
		   "[ payload load 4b @ network header + 16 => reg 1 ] [ cmp eq reg 1 0x0500580a ] "
		   "[ ct load state => reg 1 ] "
		   "[ bitwise reg 1 = ( reg 1 & 0x00000006 ) ^ 0x00000000 ] "
		   "[ cmp neq reg 1 0x00000000 ] [ immediate reg 0 accept ]");
	round_trip("firewall accept from ipv4", &c, att_rule(&c, &ips[0], false, comment),
		   "[ meta load nfproto => reg 1 ] [ cmp eq reg 1 0x00000002 ] "
		   "[ payload load 4b @ network header + 12 => reg 1 ] [ cmp eq reg 1 0x0500580a ] "
		   "[ immediate reg 0 accept ]");
	round_trip("firewall accept to ipv6", &c, att_rule(&c, &ips[1], true, comment),
		   "[ meta load nfproto => reg 1 ] [ cmp eq reg 1 0x0000000a ] "
		   "[ payload load 16b @ network header + 24 => reg 1 ] "
		   "[ cmp eq reg 1 0x880000fd 0x00000000 0x00000000 0x05000000 ] "
		   "[ ct load state => reg 1 ] "
		   "[ bitwise reg 1 = ( reg 1 & 0x00000006 ) ^ 0x00000000 ] "
		   "[ cmp neq reg 1 0x00000000 ] [ immediate reg 0 accept ]");
	round_trip("firewall stage 1 jump", &c, pol_rule(&c, POL_STAGE1, &f),
		   "[ meta load iifname => reg 1 ] "
		   "[ cmp eq reg 1 0x2d696e63 0x6d646f70 0x00306e61 0x00000000 ] "
		   "[ meta load oifname => reg 1 ] "
		   "[ cmp neq reg 1 0x2d696e63 0x6d646f70 0x00306e61 0x00000000 ] "
		   "[ immediate reg 0 jump -> isolation_stage_2 ]");
	round_trip("firewall stage 1 isolated drop", &c, pol_rule(&c, POL_STAGE1_ISO, &f),
		   "[ meta load iifname => reg 1 ] "
		   "[ cmp eq reg 1 0x2d696e63 0x6d646f70 0x00306e61 0x00000000 ] "
		   "[ meta load oifname => reg 1 ] "
		   "[ cmp eq reg 1 0x2d696e63 0x6d646f70 0x00306e61 0x00000000 ] "
		   "[ immediate reg 0 drop ]");
	round_trip("firewall stage 2 drop", &c, pol_rule(&c, POL_STAGE2, &f),
		   "[ meta load oifname => reg 1 ] "
		   "[ cmp eq reg 1 0x2d696e63 0x6d646f70 0x00306e61 0x00000000 ] "
		   "[ immediate reg 0 drop ]");
	round_trip("firewall isolated port in", &c, port_rule(&c, &f, true, comment),
		   "[ meta load iifname => reg 1 ] "
		   "[ cmp eq reg 1 0x68746576 0x62316130 0x64336332 0x00000000 ] "
		   "[ immediate reg 0 drop ]");
	round_trip("firewall iptables FORWARD jump", &c, ipt_rule(&c, &a4, IPT_JUMP_PRIV, NULL),
		   "[ match name comment rev 0 info 256b @0 "
		   "434e49206669726577616c6c20706c7567696e2072756c6573 ] "
		   "[ counter pkts 0 bytes 0 ] [ immediate reg 0 jump -> CNI-FORWARD ]");
	round_trip("firewall iptables admin jump", &c, ipt_rule(&c, &a4, IPT_JUMP_ADMIN, NULL),
		   "[ match name comment rev 0 info 256b @0 "
		   "434e49206669726577616c6c20706c7567696e2061646d696e206f7665727269646573 ] "
		   "[ counter pkts 0 bytes 0 ] [ immediate reg 0 jump -> CNI-ADMIN ]");
	round_trip("firewall iptables accept to ipv4", &c, ipt_rule(&c, &a4, IPT_IN, &ips[0]),
		   "[ payload load 4b @ network header + 16 => reg 1 ] [ cmp eq reg 1 0x0500580a ] "
		   "[ match name conntrack rev 3 info 168b @146 0100000006 ] "
		   "[ counter pkts 0 bytes 0 ] [ immediate reg 0 accept ]");
	round_trip("firewall iptables accept from ipv6", &c, ipt_rule(&c, &a6, IPT_OUT, &ips[1]),
		   "[ payload load 16b @ network header + 8 => reg 1 ] "
		   "[ cmp eq reg 1 0x880000fd 0x00000000 0x00000000 0x05000000 ] "
		   "[ counter pkts 0 bytes 0 ] [ immediate reg 0 accept ]");
	round_trip("firewall iptables stage 1", &c, ipt_rule(&c, &a4, IPT_S1, NULL),
		   "[ meta load iifname => reg 1 ] "
		   "[ cmp eq reg 1 0x2d696e63 0x6d646f70 0x00306e61 ] "
		   "[ meta load oifname => reg 1 ] "
		   "[ cmp neq reg 1 0x2d696e63 0x6d646f70 0x00306e61 ] "
		   "[ match name comment rev 0 info 256b @0 "
		   "434e49206669726577616c6c20706c7567696e2072756c65732028696e6772657373506f"
		   "6c6963793a2069736f6c6174656429 ] "
		   "[ counter pkts 0 bytes 0 ] [ immediate reg 0 jump -> CNI-ISOLATION-STAGE-2 ]");
	round_trip("firewall iptables stage 2 drop", &c, ipt_rule(&c, &a4, IPT_S2, NULL),
		   "[ meta load oifname => reg 1 ] "
		   "[ cmp eq reg 1 0x2d696e63 0x6d646f70 0x00306e61 ] "
		   "[ match name comment rev 0 info 256b @0 "
		   "434e49206669726577616c6c20706c7567696e2072756c65732028696e6772657373506f"
		   "6c6963793a2069736f6c6174656429 ] "
		   "[ counter pkts 0 bytes 0 ] [ immediate reg 0 drop ]");
	return tap_done();
}
