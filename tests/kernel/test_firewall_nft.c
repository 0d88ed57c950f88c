// SPDX-License-Identifier: Apache-2.0
/*
 * The firewall's nftables rules (plugins/meta/firewall/nft.c) against the real kernel, inside a
 * network namespace this process unshares at start: the iptables layout compared byte for byte
 * (kernel bytecode, `nft --debug=netlink`) with what iptables-nft itself writes for the
 * reference plugin's commands, and `iptables -C` finding our rules; the native layout's ADD,
 * CHECK, DEL by comment (IP reuse safe), GC and policy rules read back with `nft -j`. Needs root;
 * without unshare, nf_tables or the nft/iptables CLIs the checks are reported as skipped.
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "../../plugins/meta/firewall/firewall.h"
#include "nstest.h"

static struct cni_err e;

static struct cni_prefix P(const char *s)
{
	struct cni_prefix p;

	if (cni_prefix_parse(s, &p) < 0)
		abort();
	return p;
}

/* bytecode of the ruleset, without handles */
static char *bytecode(void)
{
	return run("nft --debug=netlink list ruleset 2>/dev/null | grep -E '^  \\[|^(ip|ip6) ' | "
		   "sed -E 's/ [0-9]+( [0-9]+)?$//'");
}

static void test_ipt_layout(void)
{
	struct cni_prefix ips[] = {P("10.6.0.2/24"), P("fd00::2/64")};
	struct nu_fw f = {.net = "n", .ifname = "eth0", .cid = "c1", .ips = ips, .n = 2,
			  .policy = NU_FW_SAME_BRIDGE, .bridge = "cni0", .admin_chain = "CNI-ADMIN"};
	char *want, *got;
	const char *pc = "\"CNI firewall plugin rules (ingressPolicy: same-bridge)\"";
	char cmd[4096];

	if (sh("iptables -V >/dev/null 2>&1 && ip6tables -V >/dev/null 2>&1")) {
		TAP_SKIP("iptables layout", "no iptables/ip6tables CLI");
		return;
	}
	/* the reference's commands, in its order (go-iptables: -N, -C then -I/-A) */
	for (int v6 = 0; v6 < 2; v6++) {
		const char *t = v6 ? "ip6tables" : "iptables", *a = v6 ? "fd00::2/128" : "10.6.0.2/32";

		snprintf(cmd, sizeof(cmd),
			 "%1$s -N CNI-FORWARD && %1$s -N CNI-ADMIN && "
			 "%1$s -I FORWARD 1 -m comment --comment \"CNI firewall plugin rules\" -j CNI-FORWARD && "
			 "%1$s -I CNI-FORWARD 1 -m comment --comment \"CNI firewall plugin admin overrides\" -j CNI-ADMIN && "
			 "%1$s -A CNI-FORWARD -d %2$s -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT && "
			 "%1$s -A CNI-FORWARD -s %2$s -j ACCEPT && "
			 "%1$s -N CNI-ISOLATION-STAGE-1 && %1$s -N CNI-ISOLATION-STAGE-2 && "
			 "%1$s -I FORWARD 1 -m comment --comment %3$s -j CNI-ISOLATION-STAGE-1 && "
			 "%1$s -I CNI-ISOLATION-STAGE-1 1 -i cni0 ! -o cni0 -m comment --comment %3$s -j CNI-ISOLATION-STAGE-2 && "
			 "%1$s -A CNI-ISOLATION-STAGE-1 -m comment --comment %3$s -j RETURN && "
			 "%1$s -I CNI-ISOLATION-STAGE-2 1 -o cni0 -m comment --comment %3$s -j DROP && "
			 "%1$s -A CNI-ISOLATION-STAGE-2 -m comment --comment %3$s -j RETURN",
			 t, a, pc);
		if (sh(cmd)) {
			TAP_FAIL("iptables-nft writes the reference layout", "%s failed", t);
			return;
		}
	}
	want = bytecode();
	sh("nft flush ruleset");
	CHECK_R(nu_fw_ipt_add(&f, &e), 0);
	got = bytecode();
	if (!strcmp(got, want) && *want)
		TAP_OK("iptables layout: bytecode as iptables-nft writes it");
	else
		TAP_FAIL("iptables layout: bytecode as iptables-nft writes it", "\n--- got\n%s--- want\n%s",
			 got, want);
	free(got);
	CHECK_INT(sh("iptables -C CNI-FORWARD -d 10.6.0.2/32 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT && "
		     "ip6tables -C CNI-FORWARD -s fd00::2/128 -j ACCEPT"), 0);
	CHECK_R(nu_fw_ipt_add(&f, &e), 0);
	got = bytecode();
	CHECK(!strcmp(got, want)); /* a second ADD adds nothing */
	free(got);
	free(want);
	CHECK_R(nu_fw_ipt_check(&f, &e), 0);
	f.admin_chain = "OTHER";
	CHECK_R(nu_fw_ipt_check(&f, &e), -ENOENT);
	f.admin_chain = "CNI-ADMIN";
	CHECK_R(nu_fw_ipt_del(&f, &e), 0);
	CHECK_INT(count("iptables -S CNI-FORWARD | grep -c 10.6.0.2"), 0);
	CHECK_INT(count("iptables -S FORWARD | grep -c CNI-FORWARD"), 1);
	CHECK_R(nu_fw_ipt_check(&f, &e), -ENOENT);
	CHECK_R(nu_fw_ipt_del(&f, &e), 0);
	sh("nft flush ruleset");
}

#define CONT "nft -j list chain inet cni_firewall containers 2>/dev/null | jq '[.nftables[] | select(.rule)"

#define VALID_G1 ONE_VALID("g1", "eth0")

static void test_native(void)
{
	struct cni_prefix ips[] = {P("10.7.0.2/24"), P("fd07::2/64")};
	struct nu_fw a = {.net = "n", .ifname = "eth0", .cid = "g1", .ips = ips, .n = 2},
		     b = a, other = a;

	if (sh("jq --version >/dev/null 2>&1")) {
		TAP_SKIP("native layout", "no jq");
		return;
	}
	b.cid = "g2";
	other.net = "m";
	CHECK_R(nu_fw_add(&a, &e), 0);
	CHECK_R(nu_fw_add(&b, &e), 0); /* the same addresses: IP reuse */
	CHECK_R(nu_fw_add(&other, &e), 0);
	CHECK_INT(count(CONT "] | length'"), 12);
	CHECK_INT(count("nft -j list chain inet cni_firewall forward | jq '[.nftables[] | select(.rule)] | length'"), 3);
	CHECK_R(nu_fw_check(&a, &e), 0);
	CHECK_R(nu_fw_del(&b, &e), 0);
	CHECK_R(nu_fw_check(&a, &e), 0);
	CHECK_R(nu_fw_check(&b, &e), -ENOENT);
	CHECK_R(nu_fw_del(&b, &e), 0);
	CHECK_R(nu_fw_add(&b, &e), 0);
	CHECK_R(nu_fw_gc("n", VALID_G1, &e), 0);
	CHECK_R(nu_fw_check(&a, &e), 0);
	CHECK_R(nu_fw_check(&b, &e), -ENOENT);
	CHECK_R(nu_fw_check(&other, &e), 0);
	/* a user's rule in the admin chain survives ADDs */
	sh("nft add rule inet cni_firewall admin ip saddr 1.2.3.4 drop");
	CHECK_R(nu_fw_add(&a, &e), 0);
	CHECK_INT(count("nft -j list chain inet cni_firewall admin | jq '[.nftables[] | select(.rule)] | length'"), 1);
	/* forward is left alone when it holds the three jumps (same handles), restored otherwise */
	{
		char *before = run("nft -a list chain inet cni_firewall forward"), *after;

		CHECK_R(nu_fw_add(&b, &e), 0);
		after = run("nft -a list chain inet cni_firewall forward");
		CHECK(*before && !strcmp(before, after));
		free(before);
		free(after);
		sh("nft flush chain inet cni_firewall forward && "
		   "nft add rule inet cni_firewall forward jump containers");
		CHECK_R(nu_fw_add(&b, &e), 0);
		CHECK_INT(count("nft -j list chain inet cni_firewall forward | jq -c '[.nftables[] | "
				"select(.rule) | .rule.expr[0].jump.target]' | "
				"grep -c '^\\[\"isolation_stage_1\",\"admin\",\"containers\"\\]$'"), 1);
		CHECK_R(nu_fw_del(&b, &e), 0);
	}
	/* policies: rules once per bridge, port rules per attachment */
	a.policy = NU_FW_ISOLATED;
	a.bridge = "br0";
	a.port = "veth0";
	CHECK_R(nu_fw_add(&a, &e), 0);
	CHECK_R(nu_fw_add(&a, &e), 0);
	CHECK_INT(count("nft -j list chain inet cni_firewall isolation_stage_1 | jq '[.nftables[] | select(.rule)] | length'"), 2);
	CHECK_INT(count("nft -j list chain inet cni_firewall isolation_stage_2 | jq '[.nftables[] | select(.rule)] | length'"), 1);
	CHECK_INT(count("nft -j list chain bridge cni_firewall forward | jq '[.nftables[] | select(.rule)] | length'"), 2);
	CHECK_R(nu_fw_check(&a, &e), 0);
	CHECK_R(nu_fw_del(&a, &e), 0);
	CHECK_INT(count("nft -j list chain bridge cni_firewall forward | jq '[.nftables[] | select(.rule)] | length'"), 0);
	CHECK_INT(count("nft -j list chain inet cni_firewall isolation_stage_2 | jq '[.nftables[] | select(.rule)] | length'"), 1);
	a.bridge = "a-bridge-name-too-long";
	CHECK_R(nu_fw_add(&a, &e), -EINVAL);
	sh("nft flush ruleset");
	CHECK_R(nu_fw_del(&a, &e), 0); /* absent table */
	CHECK_R(nu_fw_gc("n", VALID_G1, &e), 0);
}

/* Kubernetes' names: 64-hex IDs in "k8s-pod-network" cut every comment; GC goes by the hash. */
static void test_gc_long(void)
{
	struct cni_prefix ips[] = {P("10.7.0.2/24")}, ipb[] = {P("10.7.0.3/24")};
	char ida[65], idb[65];
	struct nu_fw a = {.net = "k8s-pod-network", .ifname = "eth0", .cid = ida, .ips = ips, .n = 1},
		     b = a;

	if (sh("jq --version >/dev/null 2>&1")) {
		TAP_SKIP("long IDs", "no jq");
		return;
	}
	sh("nft flush ruleset");
	b.cid = idb;
	b.ips = ipb;
	long_id(ida, 64, "0123456789abcdef", 'a');
	long_id(idb, 64, "0123456789abcdef", 'b');
	CHECK_R(nu_fw_add(&a, &e), 0);
	CHECK_R(nu_fw_add(&b, &e), 0);
	CHECK_INT(count("nft list chain inet cni_firewall containers | grep -c 'id: 0123456789abcdefx*\"'"), 4);
	CHECK_R(nu_fw_gc("k8s-pod-network", ONE_VALID(idb, "eth0"), &e), 0);
	CHECK_R(nu_fw_check(&a, &e), -ENOENT);
	CHECK_R(nu_fw_check(&b, &e), 0);
	CHECK_INT(count(CONT "] | length'"), 2);
	CHECK_R(nu_fw_gc("k8s-pod-network", NULL, 0, &e), 0);
	CHECK_INT(count(CONT "] | length'"), 0);
	CHECK_INT(count("nft list table inet cnic_index 2>/dev/null | grep -c counter"), 0);
}

int main(void)
{
	static void (*const tests[])(void) = {test_ipt_layout, test_native, test_gc_long, NULL};

	return nft_test_main("firewall nft", nu_nft_available, tests);
}
