// SPDX-License-Identifier: Apache-2.0
/*
 * pkg/netutil's tc and rule layers against the real kernel, in a network namespace of this
 * process's own (unshare(CLONE_NEWNET) at start: everything made here vanishes with the process,
 * however it exits). Objects made through netutil are read back through another path, `tc -j` and
 * `ip -j`, then deleted; the dumps netutil offers are checked against what tc made. Without root
 * or CLONE_NEWNET every case is reported as skipped (the tbf arithmetic, which needs neither, is
 * tests/unit/test_tc.c's).
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/fib_rules.h>
#include <linux/pkt_sched.h>

#include "netutil/netutil.h"
#include "netutil/rule.h"
#include "netutil/tc.h"
#include "nstest.h"

static struct cni_err e;

static void kernel(void)
{
	_nu_nl_cleanup_ struct nu_nl *nl = NULL;
	struct nu_link_info ifb, ifb2;
	struct nu_link_ref *refs = NULL;
	struct nu_qdisc *q = NULL;
	struct nu_tbf t;
	size_t n = 0;
	int *tg = NULL, veth;

	CHECK_R(nu_nl_open(&nl, -1, &e), 0);
	if (!nl)
		return;
	/* IFB: created, read back, reused */
	CHECK_R(nu_ifb_ensure(nl, "bwptest0", 1400, &ifb, &e), 1);
	CHECK_STR(sh_line("ip -j -d link show bwptest0 | jq -c '.[0] | [.linkinfo.info_kind, .mtu, "
			  "(.txqlen // 0), (.flags | index(\"UP\") != null)]'"),
		  "[\"ifb\",1400,0,true]");
	CHECK_R(nu_ifb_ensure(nl, "bwptest0", 1500, &ifb2, &e), 0);
	CHECK_INT(ifb2.ifindex, ifb.ifindex);
	CHECK_INT(ifb2.mtu, 1500);
	CHECK_R(system("ip link add bwptestv0 type veth peer name bwptestv1"), 0);
	CHECK_R(nu_ifb_ensure(nl, "bwptestv0", 1500, &ifb2, &e), -EEXIST);
	veth = nu_link_index(nl, "bwptestv0");
	CHECK(veth > 0);

	/* tbf: created, read back by tc and by netutil, replaced */
	nu_tbf_params(1000000, 100000, &t);
	CHECK_R(nu_tc_tbf_set(nl, veth, &t, &e), 0);
	CHECK_STR(sh_line("tc -j qdisc show dev bwptestv0 root | jq -c '.[0] | [.kind, .handle, "
			  ".options.rate, .options.burst, .options.lat]'"),
		  "[\"tbf\",\"1:\",125000,12500,25000]");
	CHECK_R(nu_tc_qdisc_list(nl, veth, &q, &n, &e), 0);
	CHECK(n >= 1 && q[0].has_tbf && q[0].parent == TC_H_ROOT && q[0].handle == 0x10000 &&
	      q[0].tbf.rate == 125000 && q[0].tbf.buffer == 1562500 && q[0].tbf.limit == 15625);
	free(q);
	nu_tbf_params(100000000000ULL, 8000000, &t);
	CHECK_R(nu_tc_tbf_set(nl, veth, &t, &e), 0);
	CHECK_STR(sh_line("tc -j qdisc show dev bwptestv0 root | jq -c '.[0].options.rate'"),
		  "12500000000");
	CHECK_R(nu_tc_qdisc_list(nl, veth, &q, &n, &e), 0);
	CHECK(n >= 1 && q[0].has_tbf && q[0].tbf.rate == 12500000000ULL);
	free(q);
	/* the edges: the kernel takes each and reads back what was sent */
	static const uint64_t edge[][2] = {
	    {10000000, 4294967295ULL},	     {1000, 34359738359ULL}, {1, 1},
	    {1, 34359738359ULL},	     {INT64_MAX, 1},	      {INT64_MAX, 34359738359ULL},
	    {1000000000000000ULL, 8},	     {10000000, 8},	      {34359738368ULL, 8},
	    {1000000000000000ULL, 4294967295ULL},
	};
	for (size_t i = 0; i < sizeof(edge) / sizeof(edge[0]); i++) {
		CHECK_R(nu_tbf_params(edge[i][0], edge[i][1], &t), 0);
		CHECK_R(nu_tc_tbf_set(nl, veth, &t, &e), 0);
		CHECK_R(nu_tc_qdisc_list(nl, veth, &q, &n, &e), 0);
		CHECK(n >= 1 && q[0].has_tbf && q[0].tbf.rate == t.rate &&
		      q[0].tbf.buffer == t.buffer && q[0].tbf.limit == t.limit);
		free(q);
	}

	/* ingress + redirect: read back by tc, targets by netutil, filter replaced on retry */
	CHECK_R(nu_tc_ingress_ensure(nl, veth, &e), 0);
	CHECK_R(nu_tc_ingress_ensure(nl, veth, &e), 1);
	CHECK_R(nu_tc_redirect_set(nl, veth, ifb.ifindex, &e), 0);
	CHECK_STR(sh_line("tc -j filter show dev bwptestv0 parent ffff: | jq -c '[.[] | "
			  "select(.options.actions) | [.protocol, .pref, .options.flowid, "
			  "(.options.actions[] | [.kind, .direction, .mirred_action, .to_dev])]]'"),
		  "[[\"all\",1,\"1:1\",[\"mirred\",\"egress\",\"redirect\",\"bwptest0\"]]]");
	CHECK_R(nu_tc_redirect_set(nl, veth, ifb.ifindex, &e), 0);
	CHECK_STR(sh_line("tc -j filter show dev bwptestv0 parent ffff: | jq '[.[] | "
			  "select(.options.actions)] | length'"),
		  "1");
	n = 0;
	CHECK_R(nu_tc_redirect_targets(nl, veth, &tg, &n, &e), 0);
	CHECK(n == 1 && tg[0] == ifb.ifindex);
	/* one made by tc itself: another priority, mirror rather than redirect */
	CHECK_R(system("tc qdisc add dev bwptestv1 ingress && tc filter add dev bwptestv1 parent "
		       "ffff: protocol ip prio 5 u32 match u32 0 0 action mirred egress mirror dev bwptest0"),
		0);
	CHECK_R(nu_tc_redirect_targets(nl, nu_link_index(nl, "bwptestv1"), &tg, &n, &e), 0);
	CHECK(n == 2 && tg[1] == ifb.ifindex);
	free(tg);

	/* links by kind */
	CHECK_R(nu_link_list_kind(nl, "ifb", &refs, &n, &e), 0);
	CHECK(n == 1 && !strcmp(refs[0].name, "bwptest0") && refs[0].ifindex == ifb.ifindex);
	free(refs);
	CHECK_R(nu_link_list_kind(nl, "veth", &refs, &n, &e), 0);
	CHECK_INT(n, 2);
	free(refs);

	/* deletes: idempotent */
	CHECK_R(nu_tc_qdisc_del(nl, veth, true, &e), 0);
	CHECK_R(nu_tc_qdisc_del(nl, veth, true, &e), 0);
	CHECK_R(nu_tc_qdisc_del(nl, veth, false, &e), 0);
	CHECK_R(nu_tc_qdisc_del(nl, veth, false, &e), 0);
	/* down: none */
	CHECK_STR(sh_line("tc -j qdisc show dev bwptestv0 | jq -c 'map(.kind)'"), "[]");
	CHECK_R(nu_link_del(nl, "bwptest0", &e), 0);
	CHECK_R(nu_link_del(nl, "bwptest0", &e), 0);
}

static void rules(void)
{
	_nu_nl_cleanup_ struct nu_nl *nl = NULL;
	struct nu_rule r = {.family = AF_INET, .table = 100}, *v = NULL;
	struct nu_route_rec *rv = NULL;
	struct cni_ip hint;
	size_t n = 0, found = 0;
	int lo;

	CHECK_R(nu_nl_open(&nl, -1, &e), 0);
	if (!nl)
		return;
	cni_prefix_parse("10.1.2.3/32", &r.src);
	CHECK_R(nu_rule_add(nl, &r, &e), 0);
	CHECK_STR(sh_line("ip -j rule show | "
			  "jq -c '[.[] | select(.table==\"100\") | [.src, .priority]]'"),
		  "[[\"10.1.2.3\",32765]]");
	CHECK_R(nu_rule_list(nl, AF_UNSPEC, &v, &n, &e), 0);
	for (size_t i = 0; i < n; i++)
		found += v[i].table == 100 && v[i].src.len == 32 && v[i].has_priority &&
			 v[i].priority == 32765 && v[i].action == FR_ACT_TO_TBL;
	CHECK_INT(found, 1);
	free(v);
	CHECK_R(nu_rule_del(nl, &r, &e), 0);
	CHECK_R(nu_rule_del(nl, &r, &e), 0);
	CHECK_STR(sh_line("ip -j rule show | jq -c '[.[] | select(.table==\"100\")]'"), "[]");

	/* a route moved to another table keeps its attributes; a source hint replaces prefsrc */
	CHECK_R(system("ip link set lo up && ip link add bwptestd0 type veth peer name bwptestd1 && "
		       "ip link set bwptestd0 up && ip addr add 10.9.0.2/24 dev bwptestd0 && "
		       "ip addr add 10.9.0.99/24 dev bwptestd0 && "
		       "ip route add 10.8.0.0/16 via 10.9.0.1 metric 7"),
		0);
	lo = nu_link_index(nl, "bwptestd0");
	CHECK_R(nu_route_rec_list(nl, AF_INET, RT_TABLE_MAIN, lo, &rv, &n, &e), 0);
	CHECK_INT(n, 2);
	for (size_t i = 0; i < n; i++)
		CHECK_R(nu_route_rec_put(nl, &rv[i], 100, NULL, &e), 0);
	CHECK_STR(sh_line("ip -j route show table 100 | jq -c 'sort_by(.dst) | map([.dst, .gateway, "
			  ".prefsrc, .protocol, .scope, .metric])'"),
		  "[[\"10.8.0.0/16\",\"10.9.0.1\",null,null,null,7],"
		  "[\"10.9.0.0/24\",null,\"10.9.0.2\",\"kernel\",\"link\",null]]");
	cni_ip_parse("10.9.0.99", &hint);
	for (size_t i = 0; i < n; i++)
		if (!rv[i].r.gw.family)
			CHECK_R(nu_route_rec_put(nl, &rv[i], RT_TABLE_MAIN, &hint, &e), 0);
	CHECK_STR(sh_line("ip -j route show dev bwptestd0 10.9.0.0/24 | jq -r '.[0].prefsrc'"),
		  "10.9.0.99");
	for (size_t i = 0; i < n; i++) {
		CHECK_R(nu_route_rec_del(nl, &rv[i], &e), 0);
		CHECK_R(nu_route_rec_del(nl, &rv[i], &e), 0);
	}
	CHECK_STR(sh_line("ip -j route show dev bwptestd0 | jq length"), "0");
	nu_route_rec_free(rv, n);
}

int main(void)
{
	if (unshare(CLONE_NEWNET) < 0) {
		TAP_SKIP("tc and rules in a private netns", "unshare(CLONE_NEWNET): %s",
			 strerror(errno));
		return tap_done();
	}
	if (system("ip link add bwptestp0 type ifb 2>/dev/null && ip link del bwptestp0") != 0) {
		TAP_SKIP("tc in a private netns", "no ifb links in this kernel");
	} else {
		kernel();
	}
	rules();
	return tap_done();
}
