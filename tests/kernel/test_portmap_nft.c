// SPDX-License-Identifier: Apache-2.0
/*
 * portmap's kernel side (plugins/meta/portmap/nft.c, conntrack.c) against the real kernel, in a
 * network namespace this process unshares at start. The nftables layout is compared, bytecode
 * and text, with what the nft CLI writes for the reference's knftables transaction; the iptables
 * layout with what iptables-nft writes for the Go plugin's commands (bytecode, `iptables -S`,
 * and `iptables -C` finding every rule, which compares xt data byte for byte). Rules written by
 * the CLIs are removed by our DEL and accepted by our CHECK. Needs root, nft and iptables-nft;
 * skips otherwise.
 */
#include <errno.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "netutil/conntrack.h"
#include "../../plugins/meta/portmap/portmap.h"
#include "nstest.h"

static struct cni_err e;

/* Bytecode without handles and without userdata (ours carries the owner TLVs after the comment). */
#define BYTECODE "nft --debug=netlink list ruleset 2>/dev/null | grep -E '^  \\['"

static struct cni_prefix P(const char *s)
{
	struct cni_prefix p = { 0 };

	if (cni_prefix_parse(s, &p) < 0)
		abort();
	return p;
}

static struct cni_ip I(const char *s)
{
	struct cni_ip ip = { 0 };

	if (cni_ip_parse(s, &ip) < 0)
		abort();
	return ip;
}

static struct nu_pm_map maps[4];

static void set_maps(void)
{
	maps[0] = (struct nu_pm_map){ .host_port = 8080, .cont_port = 80, .proto = IPPROTO_TCP };
	maps[1] = (struct nu_pm_map){ .host_port = 8053, .cont_port = 53, .proto = IPPROTO_UDP,
				      .host_ip = I("127.0.0.1") };
	maps[2] = (struct nu_pm_map){ .host_port = 8054, .cont_port = 54, .proto = IPPROTO_SCTP };
	maps[3] = (struct nu_pm_map){ .host_port = 8443, .cont_port = 443, .proto = IPPROTO_TCP,
				      .host_ip = I("::") };
}

static struct nu_pm pm_of(const char *cid, const char *addr)
{
	return (struct nu_pm){ .net = "pm", .cid = cid, .ifname = "eth0", .cont = P(addr),
			       .maps = maps, .n_maps = 4, .snat = true, .mark = 0x2000 };
}

/* The reference's transaction (HEAD, with plugins#1235's subnet source), as nft commands. */
static const char nft_reference[] =
	"add table ip cni_hostport { comment \"CNI portmap plugin\" ; }\n"
	"add chain ip cni_hostport hostports\n"
	"add chain ip cni_hostport hostip_hostports\n"
	"add chain ip cni_hostport hostports_all\n"
	"add rule ip cni_hostport hostports_all jump hostip_hostports\n"
	"add rule ip cni_hostport hostports_all jump hostports\n"
	"add chain ip cni_hostport prerouting { type nat hook prerouting priority -100 ; }\n"
	"add rule ip cni_hostport prerouting fib daddr type local jump hostports_all\n"
	"add chain ip cni_hostport output { type nat hook output priority -100 ; }\n"
	"add rule ip cni_hostport output fib daddr type local jump hostports_all\n"
	"add chain ip cni_hostport masquerading { type nat hook postrouting priority 100 ; }\n"
	"add rule ip cni_hostport hostports tcp dport 8080 dnat to 10.6.0.2:80 comment \"cid1\"\n"
	"add rule ip cni_hostport hostports ip daddr 127.0.0.1 udp dport 8053 dnat to 10.6.0.2:53 "
	"comment \"cid1\"\n"
	"add rule ip cni_hostport hostports sctp dport 8054 dnat to 10.6.0.2:54 comment \"cid1\"\n"
	"add rule ip cni_hostport masquerading ip saddr 10.6.0.0/24 ip daddr 10.6.0.2 masquerade "
	"comment \"cid1\"\n"
	"add rule ip cni_hostport masquerading ip saddr 127.0.0.1 ip daddr 10.6.0.2 masquerade "
	"comment \"cid1\"\n"
	"add table ip6 cni_hostport { comment \"CNI portmap plugin\" ; }\n"
	"add chain ip6 cni_hostport hostports\n"
	"add chain ip6 cni_hostport hostip_hostports\n"
	"add chain ip6 cni_hostport hostports_all\n"
	"add rule ip6 cni_hostport hostports_all jump hostip_hostports\n"
	"add rule ip6 cni_hostport hostports_all jump hostports\n"
	"add chain ip6 cni_hostport prerouting { type nat hook prerouting priority -100 ; }\n"
	"add rule ip6 cni_hostport prerouting fib daddr type local jump hostports_all\n"
	"add chain ip6 cni_hostport output { type nat hook output priority -100 ; }\n"
	"add rule ip6 cni_hostport output fib daddr type local jump hostports_all\n"
	"add chain ip6 cni_hostport masquerading { type nat hook postrouting priority 100 ; }\n"
	"add rule ip6 cni_hostport hostports tcp dport 8080 dnat to [fd00::2]:80 comment \"cid1\"\n"
	"add rule ip6 cni_hostport hostports sctp dport 8054 dnat to [fd00::2]:54 comment \"cid1\"\n"
	"add rule ip6 cni_hostport hostports tcp dport 8443 dnat to [fd00::2]:443 comment \"cid1\"\n"
	"add rule ip6 cni_hostport masquerading ip6 saddr fd00::/64 ip6 daddr fd00::2 masquerade "
	"comment \"cid1\"\n";

#define VALID_K ONE_VALID("K", "eth0")

static void test_nft(void)
{
	struct nu_pm pm[2] = { pm_of("cid1", "10.6.0.2/24"), pm_of("cid1", "fd00::2/64") };
	struct nu_pm b = pm_of("B", "10.6.0.2/24"), k = pm_of("K", "10.6.0.9/24");
	struct nu_pm o = pm_of("O", "10.6.0.8/24");
	struct nu_pm_cond *conds;
	size_t n_conds;
	char *ours, *ref, *text_ours;
	char *const cond_tok[] = { "ip daddr != 10.0.0.0/8", "iifname", "\"eth0\"" };

	sh("nft flush ruleset");
	CHECK_R(nu_pm_nft_add(pm, 2, &e), 0);
	ours = run(BYTECODE);
	text_ours = run("nft list ruleset");
	CHECK(strstr(text_ours, "tcp dport 8080 dnat to 10.6.0.2:80 comment \"cid1\"") != NULL);
	free(text_ours);
	CHECK_R(nu_pm_nft_check(&pm[0], &e), 0);
	CHECK_R(nu_pm_nft_check(&pm[1], &e), 0);
	sh("nft flush ruleset");
	CHECK_INT(nft_load(nft_reference), 0);
	ref = run(BYTECODE);
	check_same("nft: bytecode identical to what nft writes for the reference", ours, ref, "nft");
	/* the reference's rules: our CHECK accepts them, our DEL removes them */
	CHECK_R(nu_pm_nft_check(&pm[0], &e), 0);
	CHECK_R(nu_pm_nft_check(&pm[1], &e), 0);
	CHECK_R(nu_pm_nft_del("cid1", &e), 0);
	CHECK_INT(count("nft list ruleset | grep -c cid1"), 0);
	CHECK_R(nu_pm_nft_check(&pm[0], &e), -ENOENT);
	CHECK_R(nu_pm_nft_del("cid1", &e), 0);
	sh("nft flush ruleset");
	CHECK_R(nu_pm_nft_del("cid1", &e), 0);
	CHECK_INT(count("nft list ruleset | wc -l"), 0);

	/* IP reuse: B gets A's address, DEL A keeps B; GC by network and attachment */
	CHECK_R(nu_pm_nft_add(&pm[0], 1, &e), 0);
	CHECK_R(nu_pm_nft_add(&b, 1, &e), 0);
	CHECK_R(nu_pm_nft_del("cid1", &e), 0);
	CHECK_R(nu_pm_nft_check(&b, &e), 0);
	CHECK_R(nu_pm_nft_add(&k, 1, &e), 0);
	o.net = "other";
	CHECK_R(nu_pm_nft_add(&o, 1, &e), 0);
	CHECK_INT(nft_load("add rule ip cni_hostport hostports tcp dport 1 dnat to 10.6.0.7:1 "
			   "comment \"R\"\n"),
		  0);
	CHECK_R(nu_pm_nft_gc("pm", VALID_K, &e), 0);
	CHECK_R(nu_pm_nft_check(&b, &e), -ENOENT);
	CHECK_R(nu_pm_nft_check(&k, &e), 0);
	CHECK_R(nu_pm_nft_check(&o, &e), 0);
	CHECK_INT(count("nft list ruleset | grep -c 'comment \"R\"'"), 1); /* not attributable */
	CHECK_INT(sh("nft -j list ruleset | jq -e . >/dev/null"), 0);

	/* conditions, nft syntax */
	sh("nft flush ruleset");
	CHECK_R(nu_pm_cond_parse(cond_tok, 3, AF_INET, false, &conds, &n_conds, &e), 0);
	pm[0].conds = conds;
	pm[0].n_conds = n_conds;
	CHECK_R(nu_pm_nft_add(&pm[0], 1, &e), 0);
	CHECK_INT(count("nft list chain ip cni_hostport prerouting | grep -c 'ip daddr != "
			"10.0.0.0/8 iifname \"eth0\" fib daddr type local jump hostports_all'"),
		  1);
	CHECK_R(nu_pm_nft_check(&pm[0], &e), 0);
	pm[0].n_conds = 0;
	CHECK_R(nu_pm_nft_check(&pm[0], &e), -ENOENT);
	free(conds);
	{
		char *const bad[] = { "meta", "mark", "1" };

		CHECK_R(nu_pm_cond_parse(bad, 3, AF_INET, false, &conds, &n_conds, &e),
			-EOPNOTSUPP);
	}
}

/* The Go plugin's iptables commands for pm_of("cid1", ...) with maps[]. */
#define CMT "-m comment --comment 'dnat name: \"pm\" id: \"cid1\"'"
#define DN "CNI-DN-5d3212c3d10f687024bef"
static const char ipt_script[] =
	"set -e\n"
	"for T in iptables ip6tables; do\n"
	"$T -t nat -N CNI-HOSTPORT-SETMARK\n"
	"$T -t nat -A CNI-HOSTPORT-SETMARK -m comment --comment 'CNI portfwd masquerade mark' "
	"-j MARK --set-xmark 0x2000/0x2000\n"
	"$T -t nat -N CNI-HOSTPORT-MASQ\n"
	"$T -t nat -A CNI-HOSTPORT-MASQ -m mark --mark 0x2000/0x2000 -j MASQUERADE\n"
	"$T -t nat -I POSTROUTING 1 -m comment --comment 'CNI portfwd requiring masquerade' "
	"-j CNI-HOSTPORT-MASQ\n"
	"$T -t nat -N CNI-HOSTPORT-DNAT\n"
	"$T -t nat -A PREROUTING -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT\n"
	"$T -t nat -A OUTPUT -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT\n"
	"$T -t nat -N " DN "\n"
	"done\n"
	"T=iptables\n"
	"$T -t nat -A " DN " -p tcp --dport 8080 -s 10.6.0.2/24 -j CNI-HOSTPORT-SETMARK\n"
	"$T -t nat -A " DN " -p tcp --dport 8080 -s 127.0.0.1 -j CNI-HOSTPORT-SETMARK\n"
	"$T -t nat -A " DN " -p tcp --dport 8080 -j DNAT --to-destination 10.6.0.2:80\n"
	"$T -t nat -A " DN " -p udp --dport 8053 -d 127.0.0.1 -s 10.6.0.2/24 -j "
	"CNI-HOSTPORT-SETMARK\n"
	"$T -t nat -A " DN " -p udp --dport 8053 -d 127.0.0.1 -s 127.0.0.1 -j "
	"CNI-HOSTPORT-SETMARK\n"
	"$T -t nat -A " DN " -p udp --dport 8053 -d 127.0.0.1 -j DNAT --to-destination "
	"10.6.0.2:53\n"
	"$T -t nat -A " DN " -p sctp --dport 8054 -s 10.6.0.2/24 -j CNI-HOSTPORT-SETMARK\n"
	"$T -t nat -A " DN " -p sctp --dport 8054 -s 127.0.0.1 -j CNI-HOSTPORT-SETMARK\n"
	"$T -t nat -A " DN " -p sctp --dport 8054 -j DNAT --to-destination 10.6.0.2:54\n"
	/* 8443 is mapped on "::": not in the v4 chain, but in its entry rule (reference) */
	"for T in iptables ip6tables; do\n"
	"[ $T = iptables ] && C='-d 192.0.2.0/24' || C=''\n"
	"$T -t nat -A CNI-HOSTPORT-DNAT " CMT " -m multiport -p sctp --destination-ports 8054 $C "
	"-j " DN "\n"
	"$T -t nat -A CNI-HOSTPORT-DNAT " CMT " -m multiport -p tcp --destination-ports "
	"8080,8443 $C -j " DN "\n"
	"$T -t nat -A CNI-HOSTPORT-DNAT " CMT " -m multiport -p udp --destination-ports 8053 $C "
	"-j " DN "\n"
	"done\n"
	"T=ip6tables\n"
	"$T -t nat -A " DN " -p tcp --dport 8080 -s fd00::2/64 -j CNI-HOSTPORT-SETMARK\n"
	"$T -t nat -A " DN " -p tcp --dport 8080 -j DNAT --to-destination [fd00::2]:80\n"
	"$T -t nat -A " DN " -p sctp --dport 8054 -s fd00::2/64 -j CNI-HOSTPORT-SETMARK\n"
	"$T -t nat -A " DN " -p sctp --dport 8054 -j DNAT --to-destination [fd00::2]:54\n"
	"$T -t nat -A " DN " -p tcp --dport 8443 -s fd00::2/64 -j CNI-HOSTPORT-SETMARK\n"
	"$T -t nat -A " DN " -p tcp --dport 8443 -j DNAT --to-destination [fd00::2]:443\n";

#define IPT_LIST "iptables -t nat -S; ip6tables -t nat -S"

static void test_iptables(void)
{
	struct nu_pm pm[2] = { pm_of("cid1", "10.6.0.2/24"), pm_of("cid1", "fd00::2/64") };
	struct nu_pm k = pm_of("K", "10.6.0.9/24"), d = pm_of("D", "10.6.0.8/24");
	struct nu_pm_cond *conds;
	size_t n_conds;
	char *const cond_tok[] = { "-d", "192.0.2.0/24" };
	char chain[29], *ours, *bc_ours, *ref, *bc_ref, *lines, *line, *save = NULL;
	int missing = 0;

	CHECK_STR(nu_pm_ipt_chain(chain, "pm", "cid1"), DN);
	if (sh("iptables -V 2>/dev/null | grep -q nf_tables && ip6tables -V 2>/dev/null | grep -q "
	       "nf_tables")) {
		TAP_SKIP("iptables layout", "iptables (nf_tables backend) is not installed");
		return;
	}
	CHECK_R(nu_pm_cond_parse(cond_tok, 2, AF_INET, true, &conds, &n_conds, &e), 0);
	pm[0].conds = conds;
	pm[0].n_conds = n_conds;
	sh("nft flush ruleset");
	CHECK_R(nu_pm_ipt_add(pm, 2, &e), 0);
	CHECK_R(nu_pm_ipt_add(pm, 2, &e), 0); /* InsertUnique: nothing more */
	ours = run(IPT_LIST);
	bc_ours = run(BYTECODE);
	CHECK_R(nu_pm_ipt_check(&pm[0], &e), 0);
	CHECK_R(nu_pm_ipt_check(&pm[1], &e), 0);
	/* iptables -C finds every rule we wrote (xt data compared byte for byte) */
	lines = strdup(ours);
	for (line = strtok_r(lines, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char cmd[1024];
		bool v6 = strstr(line, "fd00") != NULL;

		if (strncmp(line, "-A ", 3))
			continue;
		setenv("RULE", line + 3, 1);
		snprintf(cmd, sizeof(cmd), "eval %s -t nat -C $RULE 2>/dev/null || "
			 "eval ip6tables -t nat -C $RULE 2>/dev/null", v6 ? "ip6tables" : "iptables");
		if (sh(cmd)) {
			missing++;
			printf("# iptables -C does not find: %s\n", line);
		}
	}
	free(lines);
	CHECK_INT(missing, 0);
	sh("nft flush ruleset");
	setenv("IPT_SCRIPT", ipt_script, 1);
	CHECK_INT(sh("sh -c \"$IPT_SCRIPT\""), 0);
	ref = run(IPT_LIST);
	bc_ref = run(BYTECODE);
	check_same("iptables: iptables -S as after the Go plugin's commands", ours, ref, "iptables");
	check_same("iptables: bytecode identical to iptables-nft's", bc_ours, bc_ref, "iptables-nft");
	/* the Go plugin's layout: CHECK accepts it, DEL removes it, shared chains stay */
	CHECK_R(nu_pm_ipt_check(&pm[0], &e), 0);
	CHECK_R(nu_pm_ipt_del("pm", "cid1", &e), 0);
	CHECK_INT(count("(" IPT_LIST ") | grep -c CNI-DN-"), 0);
	CHECK_INT(count("(" IPT_LIST ") | grep -c CNI-HOSTPORT-SETMARK"), 4);
	CHECK_R(nu_pm_ipt_check(&pm[0], &e), -ENOENT);
	CHECK_R(nu_pm_ipt_del("pm", "cid1", &e), 0);
	sh("nft flush ruleset");
	CHECK_R(nu_pm_ipt_del("pm", "cid1", &e), 0);

	/* GC: the attachment K stays, D goes, another network stays */
	CHECK_R(nu_pm_ipt_add(&k, 1, &e), 0);
	CHECK_R(nu_pm_ipt_add(&d, 1, &e), 0);
	d.net = "other";
	CHECK_R(nu_pm_ipt_add(&d, 1, &e), 0);
	CHECK_R(nu_pm_ipt_gc("pm", VALID_K, &e), 0);
	CHECK_R(nu_pm_ipt_check(&k, &e), 0);
	CHECK_R(nu_pm_ipt_check(&d, &e), 0);
	d.net = "pm";
	CHECK_R(nu_pm_ipt_check(&d, &e), -ENOENT);
	CHECK_INT(count("iptables -t nat -S | grep -c -- '-N CNI-DN-'"), 2);

	/* GC of entries whose comment was cut at 255 bytes (300-byte IDs): by the chain's hash */
	{
		char ida[301], idb[301];
		struct nu_pm la = pm_of(ida, "10.6.0.5/24"), lb = pm_of(idb, "10.6.0.6/24");

		long_id(ida, 300, "L300-", 'a');
		long_id(idb, 300, "L300-", 'b');
		CHECK_R(nu_pm_ipt_add(&la, 1, &e), 0);
		CHECK_R(nu_pm_ipt_add(&lb, 1, &e), 0);
		CHECK_INT(count("iptables -t nat -S | grep -c -- '-N CNI-DN-'"), 4);
		CHECK_R(nu_pm_ipt_gc("pm", ONE_VALID(idb, "eth0"), &e), 0);
		CHECK_R(nu_pm_ipt_check(&la, &e), -ENOENT);
		CHECK_R(nu_pm_ipt_check(&lb, &e), 0);
		CHECK_R(nu_pm_ipt_check(&d, &e), -ENOENT);
		CHECK_INT(count("iptables -t nat -S | grep -c -- '-N CNI-DN-'"), 2); /* K went too */
		CHECK_R(nu_pm_ipt_gc("pm", NULL, 0, &e), 0);
		CHECK_R(nu_pm_ipt_check(&lb, &e), -ENOENT);
		CHECK_INT(count("iptables -t nat -S | grep -c -- '-N CNI-DN-'"), 1); /* other's */
	}
	free(conds);
}

static void test_conntrack(void)
{
	if (sh("conntrack -V >/dev/null 2>&1")) {
		TAP_SKIP("conntrack", "conntrack(8) is not installed");
		return;
	}
	sh("conntrack -F 2>/dev/null");
	if (sh("conntrack -I -p udp -s 10.0.0.1 -d 10.0.0.2 --sport 1000 --dport 8053 -t 60 "
	       "-u ASSURED >/dev/null 2>&1 && conntrack -I -p udp -s 10.0.0.1 -d 10.0.0.2 "
	       "--sport 1001 --dport 8054 -t 60 >/dev/null 2>&1 && conntrack -I -p tcp -s 10.0.0.1 "
	       "-d 10.0.0.2 --sport 1000 --dport 8053 -t 60 --state ESTABLISHED >/dev/null 2>&1")) {
		TAP_SKIP("conntrack", "cannot create test entries");
		return;
	}
	CHECK_R(nu_conntrack_del_dport(AF_INET, IPPROTO_UDP, 8053, &e), 1);
	CHECK_INT(count("conntrack -L 2>/dev/null | grep -c 'dport=8053'"), 1); /* the tcp one */
	CHECK_INT(count("conntrack -L 2>/dev/null | grep -c 'dport=8054'"), 1);
	CHECK_R(nu_conntrack_del_dport(AF_INET, IPPROTO_UDP, 8053, &e), 0);
	CHECK_R(nu_conntrack_del_dport(AF_INET6, IPPROTO_UDP, 8054, &e), 0);
}

int main(void)
{
	static void (*const tests[])(void) = {set_maps, test_nft, test_iptables, test_conntrack,
					      NULL};

	return nft_test_main("portmap nft", nu_nft_available, tests);
}
