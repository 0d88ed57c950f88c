// SPDX-License-Identifier: Apache-2.0
/*
 * portmap's two layouts (plugins/meta/portmap/nft.c) as libnftnl objects, without a kernel: rules
 * of the nftables layout (a mapping's DNAT, its masquerade, the entry from prerouting, the jump
 * of hostports_all) and of the iptables-nft layout (the DNAT chain's rule with its xt target),
 * each built by the layout's own static builder, serialised, parsed back, compared (xt data
 * included) and checked against the layout written down here (nft_layout.h has the round trip).
 * tests/kernel/test_portmap_nft.c compares the same layouts with what nft and iptables-nft write.
 */
#include "../../plugins/meta/portmap/nft.c"
#include "tap.h"
#include "nft_layout.h"

int main(void)
{
	struct nft c = { 0 };
	struct nu_pm_map maps[] = {
		{ .host_port = 8080, .cont_port = 80, .proto = IPPROTO_TCP },
		{ .host_port = 5353, .cont_port = 53, .proto = IPPROTO_UDP },
	};
	struct nu_pm pm = { .net = "podman", .cid = "0123456789abcdef", .ifname = "eth0",
			    .cont = PFX(AF_INET, "10.88.0.5", 16), .maps = maps, .n_maps = 2 };
	struct nu_pm pm6 = pm;
	struct cni_prefix src[2];
	struct cni_ip host = PFX(AF_INET, "192.0.2.1", 32).ip;
	struct cni_prefix dnat_src = PFX(AF_INET, "10.88.0.0", 16);
	struct ipt_spec dn = { .chain = "CNI-DN-0123456789abcdef01234", .proto = IPPROTO_TCP,
			       .dport = 8080, .target = T_DNAT, .to = &pm.cont.ip, .to_port = 80 };
	struct ipt_spec mark = { .chain = "CNI-DN-0123456789abcdef01234", .proto = IPPROTO_TCP,
				 .src = &dnat_src, .dport = 8080, .target = T_JUMP,
				 .jump = IPT_SETMARK };
	size_t n;

	pm6.cont = PFX(AF_INET6, "fd00:88::5", 64);
	round_trip("portmap dnat ipv4 any host address", &c, nft_map_rule(&c, &pm, &maps[0], NULL),
		   "[ meta load l4proto => reg 1 ] [ cmp eq reg 1 0x00000006 ] "
		   "[ payload load 2b @ transport header + 2 => reg 1 ] "
		   "[ cmp eq reg 1 0x0000901f ] "
		   "[ immediate reg 1 0x0500580a ] [ immediate reg 2 0x00005000 ] "
		   "[ nat dnat ip addr_min reg 1 addr_max reg 1 proto_min reg 2 proto_max reg 2 "
		   "flags 0x3 ]");
	round_trip("portmap dnat ipv4 host address", &c, nft_map_rule(&c, &pm, &maps[1], &host),
		   "[ payload load 4b @ network header + 16 => reg 1 ] [ cmp eq reg 1 0x010200c0 ] "
		   "[ meta load l4proto => reg 1 ] [ cmp eq reg 1 0x00000011 ] "
		   "[ payload load 2b @ transport header + 2 => reg 1 ] "
		   "[ cmp eq reg 1 0x0000e914 ] "
		   "[ immediate reg 1 0x0500580a ] [ immediate reg 2 0x00003500 ] "
		   "[ nat dnat ip addr_min reg 1 addr_max reg 1 proto_min reg 2 proto_max reg 2 "
		   "flags 0x3 ]");
	round_trip("portmap dnat ipv6", &c, nft_map_rule(&c, &pm6, &maps[0], NULL),
		   "[ meta load l4proto => reg 1 ] [ cmp eq reg 1 0x00000006 ] "
		   "[ payload load 2b @ transport header + 2 => reg 1 ] "
		   "[ cmp eq reg 1 0x0000901f ] "
		   "[ immediate reg 1 0x880000fd 0x00000000 0x00000000 0x05000000 ] "
		   "[ immediate reg 2 0x00005000 ] "
		   "[ nat dnat ip6 addr_min reg 1 addr_max reg 1 proto_min reg 2 proto_max reg 2 "
		   "flags 0x3 ]");
	n = masq_sources(&pm, src);
	CHECK(n == 2);
	round_trip("portmap masquerade container subnet", &c, nft_masq_rule(&c, &pm, &src[0]),
		   "[ payload load 2b @ network header + 12 => reg 1 ] [ cmp eq reg 1 0x0000580a ] "
		   "[ payload load 4b @ network header + 16 => reg 1 ] [ cmp eq reg 1 0x0500580a ] "
		   "[ masq ]");
	round_trip("portmap masquerade localhost", &c, nft_masq_rule(&c, &pm, &src[1]),
		   "[ payload load 4b @ network header + 12 => reg 1 ] [ cmp eq reg 1 0x0100007f ] "
		   "[ payload load 4b @ network header + 16 => reg 1 ] [ cmp eq reg 1 0x0500580a ] "
		   "[ masq ]");
	round_trip("portmap prerouting entry", &c, nft_entry_rule(&c, &pm, PM_PRE),
		   "[ fib daddr type => reg 1 ] [ cmp eq reg 1 0x00000002 ] "
		   "[ immediate reg 0 jump -> hostports_all ]");
	round_trip("portmap hostports_all jump", &c, nft_jump_rule(&c, NFPROTO_IPV4, PM_HOSTPORTS),
		   "[ immediate reg 0 jump -> hostports ]");
	round_trip("portmap iptables dnat", &c, ipt_rule(&c, NFPROTO_IPV4, &dn),
		   "[ meta load l4proto => reg 1 ] [ cmp eq reg 1 0x00000006 ] "
		   "[ payload load 2b @ transport header + 2 => reg 1 ] "
		   "[ cmp eq reg 1 0x0000901f ] "
		   "[ counter pkts 0 bytes 0 ] "
		   "[ target name DNAT rev 2 info 48b @0 "
		   "030000000a5800050000000000000000000000000a580005000000000000000000000000"
		   "00500050 ]");
	round_trip("portmap iptables setmark jump", &c, ipt_rule(&c, NFPROTO_IPV4, &mark),
		   "[ meta load l4proto => reg 1 ] [ cmp eq reg 1 0x00000006 ] "
		   "[ payload load 2b @ network header + 12 => reg 1 ] [ cmp eq reg 1 0x0000580a ] "
		   "[ payload load 2b @ transport header + 2 => reg 1 ] "
		   "[ cmp eq reg 1 0x0000901f ] "
		   "[ counter pkts 0 bytes 0 ] [ immediate reg 0 jump -> CNI-HOSTPORT-SETMARK ]");
	return tap_done();
}
