// SPDX-License-Identifier: Apache-2.0
/*
 * pkg/netutil's nftables layer against the real kernel, inside a network namespace this process
 * unshares at start (nftables rulesets are per netns, so nothing touches the host and everything
 * vanishes with the process). What the library writes is read back through the nft CLI run in the
 * same netns (`nft list`, `nft -j list`, `nft --debug=netlink list`), and compared with the layout
 * the reference Go plugins write; the iptables layout is made by iptables-nft itself. Needs root;
 * without unshare or nf_tables everything is reported as skipped.
 */
#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "nft/nft.h"
#include "nstest.h"

static struct cni_err e;

/* Check the text of a command equals @want. */
static void check_output(const char *name, const char *cmd, const char *want)
{
	char *got = run(cmd);

	if (!strcmp(got, want))
		TAP_OK(name);
	else
		TAP_FAIL(name, "\n--- got\n%s--- want\n%s", got, want);
	free(got);
}

static json_t *ruleset(void)
{
	char *out = run("nft -j list ruleset");
	json_t *j = json_loads(out, 0, NULL);

	free(out);
	return j;
}

/* Rules of family/table/chain whose comment starts with @prefix (NULL: every rule). */
static int count_rules(const char *family, const char *table, const char *chain, const char *prefix)
{
	json_t *j = ruleset(), *item;
	size_t i;
	int n = 0;

	json_array_foreach(json_object_get(j, "nftables"), i, item) {
		json_t *r = json_object_get(item, "rule");
		const char *c = json_string_value(json_object_get(r, "comment"));

		if (!r || strcmp(json_string_value(json_object_get(r, "family")), family) ||
		    strcmp(json_string_value(json_object_get(r, "table")), table) ||
		    strcmp(json_string_value(json_object_get(r, "chain")), chain))
			continue;
		if (!prefix || (c && !strncmp(c, prefix, strlen(prefix))))
			n++;
	}
	json_decref(j);
	return n;
}

static int count_chains(const char *family, const char *table, const char *prefix)
{
	json_t *j = ruleset(), *item;
	size_t i;
	int n = 0;

	json_array_foreach(json_object_get(j, "nftables"), i, item) {
		json_t *c = json_object_get(item, "chain");

		if (c && !strcmp(json_string_value(json_object_get(c, "family")), family) &&
		    !strcmp(json_string_value(json_object_get(c, "table")), table) &&
		    !strncmp(json_string_value(json_object_get(c, "name")), prefix, strlen(prefix)))
			n++;
	}
	json_decref(j);
	return n;
}

/* The kernel bytecode of the ruleset, without the lines naming handles. */
static char *bytecode(void)
{
	return run("nft --debug=netlink list ruleset 2>/dev/null | grep -E '^  \\[|^  userdata'");
}

static struct cni_prefix P(const char *s)
{
	struct cni_prefix p = { 0 };

	if (cni_prefix_parse(s, &p) < 0)
		abort();
	return p;
}

#define NET "unit-test"
#define GOLDEN "6fd94d501e58f0aa-287fc69eff0574a2, net: unit-test, if: eth0, id: one"
#define H_NET "6fd94d501e58f0aa-"

static const char masq_layout[] =
	"table inet cni_plugins_masquerade {\n"
	"\tcomment \"Masquerading for plugins from github.com/containernetworking/plugins\"\n"
	"\tchain masq_checks {\n"
	"\t\tcomment \"Masquerade traffic from certain IPs to any (non-multicast) IP outside "
	"their subnet\"\n"
	"\t\tip saddr 10.1.0.5 ip daddr != 10.1.0.0/24 masquerade comment \"" GOLDEN "\"\n"
	"\t\tip6 saddr fd00::5 ip6 daddr != fd00::/64 masquerade comment \"" GOLDEN "\"\n"
	"\t}\n"
	"\n"
	"\tchain postrouting {\n"
	"\t\ttype nat hook postrouting priority srcnat; policy accept;\n"
	"\t\tip daddr 224.0.0.0/4 return\n"
	"\t\tip6 daddr ff00::/8 return\n"
	"\t\tgoto masq_checks\n"
	"\t}\n"
	"}\n";

/* What the reference (knftables) sends for the same attachment, as nft commands. */
static const char masq_reference[] =
	"add table inet cni_plugins_masquerade { comment \"Masquerading for plugins from "
	"github.com/containernetworking/plugins\" ; }\n"
	"add chain inet cni_plugins_masquerade masq_checks { comment \"Masquerade traffic from "
	"certain IPs to any (non-multicast) IP outside their subnet\" ; }\n"
	"add chain inet cni_plugins_masquerade postrouting { type nat hook postrouting priority "
	"100 ; }\n"
	"add rule inet cni_plugins_masquerade postrouting ip daddr == 224.0.0.0/4 return\n"
	"add rule inet cni_plugins_masquerade postrouting ip6 daddr == ff00::/8 return\n"
	"add rule inet cni_plugins_masquerade postrouting goto masq_checks\n"
	"add rule inet cni_plugins_masquerade masq_checks ip saddr == 10.1.0.5 ip daddr != "
	"10.1.0.0/24 masquerade comment \"" GOLDEN "\"\n"
	"add rule inet cni_plugins_masquerade masq_checks ip6 saddr == fd00::5 ip6 daddr != "
	"fd00::/64 masquerade comment \"" GOLDEN "\"\n";

static void flush(void)
{
	sh("nft flush ruleset");
}

static void test_masq_layout(void)
{
	struct cni_prefix dual[] = { P("10.1.0.5/24"), P("fd00::5/64") };
	char *ours;

	flush();
	CHECK_R(nu_nft_masq_add(NET, "eth0", "one", dual, 2, &e), 0);
	check_output("masq: exact layout (dual stack)",
		     "nft list table inet cni_plugins_masquerade", masq_layout);
	ours = bytecode();
	flush();
	CHECK_INT(nft_load(masq_reference), 0);
	check_same("masq: bytecode identical to what nft writes for the reference", ours, bytecode(),
		   "nft");
	/* our DEL removes what the reference wrote, our CHECK accepts it */
	CHECK_R(nu_nft_masq_check(NET, "eth0", "one", dual, 2, &e), 0);
	CHECK_R(nu_nft_masq_del(NET, "eth0", "one", &e), 0);
	CHECK_INT(count_rules("inet", "cni_plugins_masquerade", "masq_checks", NULL), 0);
	CHECK_INT(count_rules("inet", "cni_plugins_masquerade", "postrouting", NULL), 3);
}

#define VALID_B ONE_VALID("b", "eth0")
#define VALID_NONE NULL, 0

static void test_masq_lifecycle(void)
{
	struct cni_prefix a = P("10.1.0.5/24"), a2 = P("10.1.0.6/24"), b = P("10.1.0.7/24");
	struct cni_prefix v6 = P("fd00::9/64"), odd = P("10.16.3.4/12");
	char *out;

	flush();
	/* v4 only, v6 only, a prefix that is not byte aligned */
	CHECK_R(nu_nft_masq_add(NET, "eth0", "v4", &a, 1, &e), 0);
	CHECK_R(nu_nft_masq_add(NET, "eth0", "v6", &v6, 1, &e), 0);
	CHECK_R(nu_nft_masq_add(NET, "eth0", "odd", &odd, 1, &e), 0);
	CHECK_R(nu_nft_masq_check(NET, "eth0", "odd", &odd, 1, &e), 0);
	out = run("nft list chain inet cni_plugins_masquerade masq_checks");
	CHECK(strstr(out, "ip saddr 10.16.3.4 ip daddr != 10.16.0.0/12 masquerade") != NULL);
	free(out);
	CHECK_INT(count_rules("inet", "cni_plugins_masquerade", "masq_checks", NULL), 3);
	CHECK_INT(count_rules("inet", "cni_plugins_masquerade", "postrouting", NULL), 3);

	/* re-ADD replaces the attachment's rules */
	flush();
	CHECK_R(nu_nft_masq_add(NET, "eth0", "one", &a, 1, &e), 0);
	CHECK_R(nu_nft_masq_add(NET, "eth0", "one", &a2, 1, &e), 0);
	CHECK_INT(count_rules("inet", "cni_plugins_masquerade", "masq_checks", GOLDEN), 1);
	CHECK_R(nu_nft_masq_check(NET, "eth0", "one", &a2, 1, &e), 0);
	CHECK_R(nu_nft_masq_check(NET, "eth0", "one", &a, 1, &e), -ENOENT);
	CHECK_MSG("no masquerade rule for 10.1.0.5/24");
	CHECK_INT(count_rules("inet", "cni_plugins_masquerade", "postrouting", NULL), 3);

	/* two containers, DEL one keeps the other */
	CHECK_R(nu_nft_masq_add(NET, "eth0", "two", &b, 1, &e), 0);
	CHECK_R(nu_nft_masq_del(NET, "eth0", "one", &e), 0);
	CHECK_R(nu_nft_masq_check(NET, "eth0", "two", &b, 1, &e), 0);
	CHECK_R(nu_nft_masq_check(NET, "eth0", "one", &a2, 1, &e), -ENOENT);
	CHECK_INT(count_rules("inet", "cni_plugins_masquerade", "masq_checks", NULL), 1);

	/* ADD B with A's IP, then DEL A keeps B's rule */
	flush();
	CHECK_R(nu_nft_masq_add(NET, "eth0", "A", &a, 1, &e), 0);
	CHECK_R(nu_nft_masq_add(NET, "eth0", "B", &a, 1, &e), 0);
	CHECK_R(nu_nft_masq_del(NET, "eth0", "A", &e), 0);
	CHECK_R(nu_nft_masq_check(NET, "eth0", "B", &a, 1, &e), 0);
	CHECK_INT(count_rules("inet", "cni_plugins_masquerade", "masq_checks", NULL), 1);

	/* DEL twice, DEL of a never-added attachment, DEL with no table at all */
	CHECK_R(nu_nft_masq_del(NET, "eth0", "A", &e), 0);
	CHECK_R(nu_nft_masq_del(NET, "eth0", "never", &e), 0);
	CHECK_R(nu_nft_masq_del(NET, "eth0", "B", &e), 0);
	CHECK_R(nu_nft_masq_del(NET, "eth0", "B", &e), 0);
	CHECK_INT(count_rules("inet", "cni_plugins_masquerade", "masq_checks", NULL), 0);
	flush();
	CHECK_R(nu_nft_masq_del(NET, "eth0", "B", &e), 0);
	CHECK_R(nu_nft_masq_gc(NET, VALID_NONE, &e), 0);
	CHECK_R(nu_nft_masq_check(NET, "eth0", "B", &a, 1, &e), -ENOENT);
	CHECK_R(nu_nft_masq_add(NET, "eth0", "bad", &(struct cni_prefix){ 0 }, 1, &e), -EINVAL);
}

/* Attachments of @kind ("masq", "fw") whose hash starts with @hash in the index (att.c). */
static int count_marks(const char *kind, const char *hash)
{
	char cmd[200];

	snprintf(cmd, sizeof(cmd),
		 "nft list table inet cnic_index 2>/dev/null | grep -c 'counter %s-%s'", kind, hash);
	return count(cmd);
}

/*
 * An ADD lists masq_checks (every container's rules) only when the index says that an earlier
 * ADD of the attachment may have left rules: without an entry it adds beside what another
 * program wrote, and DEL, which always lists, removes both.
 */
static void test_masq_index(void)
{
	struct cni_prefix a = P("10.1.0.5/24"), b = P("10.1.0.6/24");

	flush();
	CHECK_R(nu_nft_masq_add(NET, "eth0", "zero", &a, 1, &e), 0);
	CHECK_INT(count_marks("masq", H_NET), 1);
	/* the reference's rule for (eth0, one): not indexed */
	CHECK_INT(sh("nft add rule inet cni_plugins_masquerade masq_checks ip saddr 10.1.0.9 "
		     "ip daddr != 10.1.0.0/24 masquerade comment '\"" GOLDEN "\"'"), 0);
	CHECK_R(nu_nft_masq_add(NET, "eth0", "one", &a, 1, &e), 0);
	CHECK_INT(count_rules("inet", "cni_plugins_masquerade", "masq_checks", GOLDEN), 2);
	CHECK_INT(count_marks("masq", H_NET), 2);
	/* indexed, a second ADD replaces */
	CHECK_R(nu_nft_masq_add(NET, "eth0", "one", &b, 1, &e), 0);
	CHECK_INT(count_rules("inet", "cni_plugins_masquerade", "masq_checks", GOLDEN), 1);
	CHECK_R(nu_nft_masq_check(NET, "eth0", "one", &b, 1, &e), 0);
	CHECK_R(nu_nft_masq_del(NET, "eth0", "one", &e), 0);
	CHECK_INT(count_rules("inet", "cni_plugins_masquerade", "masq_checks", GOLDEN), 0);
	CHECK_INT(count_marks("masq", H_NET), 1);
	/* an entry whose rules someone else removed costs a listing, nothing more */
	CHECK_INT(sh("nft flush chain inet cni_plugins_masquerade masq_checks"), 0);
	CHECK_R(nu_nft_masq_add(NET, "eth0", "zero", &a, 1, &e), 0);
	CHECK_R(nu_nft_masq_check(NET, "eth0", "zero", &a, 1, &e), 0);
	CHECK_INT(count_rules("inet", "cni_plugins_masquerade", "masq_checks", NULL), 1);
	/* GC drops the entries of the attachments it drops, and entries left without rules */
	CHECK_R(nu_nft_masq_add(NET, "eth0", "b", &b, 1, &e), 0);
	CHECK_INT(sh("nft add counter inet cnic_index masq-" H_NET "0000000000000000"), 0);
	CHECK_INT(count_marks("masq", H_NET), 3);
	CHECK_R(nu_nft_masq_gc(NET, VALID_B, &e), 0);
	CHECK_INT(count_marks("masq", H_NET), 1);
	CHECK_INT(count_marks("masq", H_NET "0000"), 0);
	CHECK_R(nu_nft_masq_del(NET, "eth0", "b", &e), 0);
	CHECK_INT(count_marks("masq", H_NET), 0);
	CHECK_INT(count_rules("inet", "cni_plugins_masquerade", "masq_checks", NULL), 0);
	/* ADD, DEL and GC with the index table gone */
	CHECK_R(nu_nft_masq_add(NET, "eth0", "b", &b, 1, &e), 0);
	CHECK_INT(sh("nft delete table inet cnic_index"), 0);
	CHECK_R(nu_nft_masq_del(NET, "eth0", "b", &e), 0);
	CHECK_R(nu_nft_masq_gc(NET, VALID_B, &e), 0);
	CHECK_INT(count_rules("inet", "cni_plugins_masquerade", "masq_checks", NULL), 0);
}

static void test_masq_gc(void)
{
	struct cni_prefix a = P("10.1.0.5/24"), b = P("10.1.0.6/24"), c = P("10.1.0.7/24");
	char longnet[100];

	flush();
	memset(longnet, 'n', sizeof(longnet) - 1);
	longnet[sizeof(longnet) - 1] = '\0';
	CHECK_R(nu_nft_masq_add(NET, "eth0", "a", &a, 1, &e), 0);
	CHECK_R(nu_nft_masq_add(NET, "eth0", "b", &b, 1, &e), 0);
	CHECK_R(nu_nft_masq_add(NET, "eth1", "b", &c, 1, &e), 0);
	CHECK_R(nu_nft_masq_add("other", "eth0", "a", &a, 1, &e), 0);
	CHECK_R(nu_nft_masq_add(longnet, "eth0", "a", &a, 1, &e), 0); /* comment cut at 128 */
	CHECK_R(nu_nft_masq_gc(NET, VALID_B, &e), 0);
	CHECK_INT(count_rules("inet", "cni_plugins_masquerade", "masq_checks", H_NET), 1);
	CHECK_R(nu_nft_masq_check(NET, "eth0", "b", &b, 1, &e), 0);
	CHECK_R(nu_nft_masq_check("other", "eth0", "a", &a, 1, &e), 0);
	CHECK_R(nu_nft_masq_gc(longnet, ONE_VALID("a", "eth0"), &e), 0);
	CHECK_R(nu_nft_masq_check(longnet, "eth0", "a", &a, 1, &e), 0); /* cut, valid: kept */
	CHECK_R(nu_nft_masq_gc(longnet, VALID_NONE, &e), 0);
	CHECK_R(nu_nft_masq_check(longnet, "eth0", "a", &a, 1, &e), -ENOENT); /* cut, by hash */
	CHECK_R(nu_nft_masq_gc("other", VALID_NONE, &e), 0);
	CHECK_R(nu_nft_masq_check("other", "eth0", "a", &a, 1, &e), -ENOENT);
	CHECK_INT(count_rules("inet", "cni_plugins_masquerade", "masq_checks", NULL), 1);
}

/* Kubernetes' names: 64-hex IDs in "k8s-pod-network" cut every comment; GC goes by the hash. */
static void test_masq_gc_long(void)
{
	struct cni_prefix a = P("10.1.0.5/24"), b = P("10.1.0.6/24");
	char ida[65], idb[65];

	flush();
	long_id(ida, 64, "0123456789abcdef", 'a');
	long_id(idb, 64, "0123456789abcdef", 'b');
	CHECK_R(nu_nft_masq_add("k8s-pod-network", "eth0", ida, &a, 1, &e), 0);
	CHECK_R(nu_nft_masq_add("k8s-pod-network", "eth0", idb, &b, 1, &e), 0);
	CHECK_INT(count_rules("inet", "cni_plugins_masquerade", "masq_checks", NULL), 2);
	CHECK_INT(count("nft list ruleset | grep -c 'id: 0123456789abcdefx*\"'"), 2); /* cut */
	CHECK_R(nu_nft_masq_gc("k8s-pod-network", ONE_VALID(idb, "eth0"), &e), 0);
	CHECK_R(nu_nft_masq_check("k8s-pod-network", "eth0", ida, &a, 1, &e), -ENOENT);
	CHECK_R(nu_nft_masq_check("k8s-pod-network", "eth0", idb, &b, 1, &e), 0);
	CHECK_INT(count_rules("inet", "cni_plugins_masquerade", "masq_checks", NULL), 1);
	CHECK_INT(count_marks("masq", ""), 1);
	CHECK_R(nu_nft_masq_gc("k8s-pod-network", ONE_VALID(idb, "eth1"), &e), 0);
	CHECK_R(nu_nft_masq_check("k8s-pod-network", "eth0", idb, &b, 1, &e), -ENOENT);
	CHECK_INT(count_marks("masq", ""), 0);
}

static void test_masq_foreign(void)
{
	struct cni_prefix a = P("10.1.0.5/24");
	char *before, *after;

	/* a table made by the nft CLI is reused, not replaced */
	flush();
	CHECK_INT(sh("nft add table inet cni_plugins_masquerade"), 0);
	before = run("nft -j list tables | jq -c '.nftables[] | select(.table.name? == \"cni_plugins_masquerade\")'");
	CHECK_R(nu_nft_masq_add(NET, "eth0", "one", &a, 1, &e), 0);
	after = run("nft -j list tables | jq -c '.nftables[] | select(.table.name? == \"cni_plugins_masquerade\")'");
	CHECK(*before);
	CHECK_STR(after, before);
	free(before);
	free(after);
	CHECK_R(nu_nft_masq_check(NET, "eth0", "one", &a, 1, &e), 0);

	/* a postrouting chain of another shape: the failing message is named */
	flush();
	CHECK_INT(sh("nft add table inet cni_plugins_masquerade; nft add chain inet "
		     "cni_plugins_masquerade postrouting '{ type filter hook input priority 0; }'"),
		  0);
	cni_err_clear(&e);
	CHECK(nu_nft_masq_add(NET, "eth0", "one", &a, 1, &e) < 0);
	CHECK_MSG("setting up masquerade for one: adding chain inet cni_plugins_masquerade "
		  "postrouting: ");
	CHECK_INT(count_rules("inet", "cni_plugins_masquerade", "masq_checks", NULL), 0);
}

/*
 * Plugins creating the table at the same moment ("add" semantics make all succeed), and two
 * deleting the same rules (the loser lists again instead of failing on a vanished handle).
 */
static void test_masq_race(void)
{
	enum { KIDS = 6, SHARED = 3, ROUNDS = 15 };
	pid_t pid[KIDS + SHARED];
	int fails = 0;

	flush();
	fflush(stdout);
	for (int k = 0; k < KIDS + SHARED; k++) {
		pid[k] = fork();
		if (pid[k] == 0) {
			char cid[16];
			struct cni_prefix ip = P("10.1.0.5/24");
			struct cni_err ce = { 0 };

			ip.ip.a[3] = (uint8_t)(10 + k);
			snprintf(cid, sizeof(cid), k < KIDS ? "race%d" : "shared", k);
			for (int i = 0; i < ROUNDS; i++) {
				if (nu_nft_masq_add(NET, "eth0", cid, &ip, 1, &ce) < 0 ||
				    (k >= KIDS && nu_nft_masq_del(NET, "eth0", cid, &ce) < 0)) {
					fprintf(stderr, "# %s\n", ce.msg);
					_exit(1);
				}
			}
			_exit(0);
		}
	}
	for (int k = 0; k < KIDS + SHARED; k++) {
		int st = 0;

		waitpid(pid[k], &st, 0);
		fails += !WIFEXITED(st) || WEXITSTATUS(st);
	}
	CHECK_INT(fails, 0);
	CHECK_R(nu_nft_masq_del(NET, "eth0", "shared", &e), 0);
	CHECK_INT(count_rules("inet", "cni_plugins_masquerade", "masq_checks", H_NET), KIDS);
	CHECK_INT(count_rules("inet", "cni_plugins_masquerade", "postrouting", NULL), 3);
}

static void test_masq_iptables(void)
{
	static const char *const setup[] = {
		"iptables -t nat -N %1$s",
		"iptables -t nat -A %1$s -d 10.1.0.0/24 -m comment --comment '%2$s' -j ACCEPT",
		("iptables -t nat -A %1$s ! -d 224.0.0.0/4 -m comment --comment '%2$s' "
		 "-j MASQUERADE"),
		"iptables -t nat -A POSTROUTING -s 10.1.0.5 -m comment --comment '%2$s' -j %1$s",
		"ip6tables -t nat -N %1$s",
		"ip6tables -t nat -A %1$s -d fd00::/64 -m comment --comment '%2$s' -j ACCEPT",
		"ip6tables -t nat -A %1$s ! -d ff00::/8 -m comment --comment '%2$s' -j MASQUERADE",
		"ip6tables -t nat -A POSTROUTING -s fd00::5 -m comment --comment '%2$s' -j %1$s",
		/* a foreign rule that must survive */
		"iptables -t nat -A POSTROUTING -s 10.9.0.0/16 -j MASQUERADE",
	};
	char chain[29], cmd[512];
	char *left;

	CHECK_STR(nu_nft_masq_iptables_chain(chain, "pm", "cid1"), "CNI-5d3212c3d10f687024bef608");
	if (sh("iptables-nft -V >/dev/null 2>&1 && ip6tables-nft -V >/dev/null 2>&1")) {
		TAP_SKIP("masq: iptables layout", "iptables-nft is not installed");
		return;
	}
	flush();
	for (size_t i = 0; i < sizeof(setup) / sizeof(setup[0]); i++) {
		snprintf(cmd, sizeof(cmd), setup[i], chain, "name: \"pm\" id: \"cid1\"");
		if (sh(cmd)) {
			TAP_SKIP("masq: iptables layout", "`%s` failed", cmd);
			return;
		}
	}
	CHECK_INT(sh("iptables-nft -t nat -S | grep -q CNI-5d3212c3d10f687024bef608"), 0);
	CHECK_R(nu_nft_masq_del_iptables("pm", "cid1", &e), 0);
	check_output("masq: iptables layout removed, the rest kept",
		     "iptables-nft -t nat -S POSTROUTING; ip6tables-nft -t nat -S POSTROUTING",
		     "-P POSTROUTING ACCEPT\n-A POSTROUTING -s 10.9.0.0/16 -j MASQUERADE\n"
		     "-P POSTROUTING ACCEPT\n");
	left = run("nft list ruleset 2>/dev/null | grep -c CNI-");
	CHECK_STR(left, "0\n");
	free(left);
	CHECK_R(nu_nft_masq_del_iptables("pm", "cid1", &e), 0);
	flush();
	CHECK_R(nu_nft_masq_del_iptables("pm", "cid1", &e), 0);
}

/* ---- the iptables layout written by us ------------------------------------------------- */

#define IPT_CHAIN "CNI-5d3212c3d10f687024bef608" /* ("pm", "cid1") */
#define IPT_CMT "-m comment --comment \"name: \\\"pm\\\" id: \\\"cid1\\\"\""
#define IPT_LIST "iptables -t nat -S; ip6tables -t nat -S"
#define IPT_POLICIES                                                                               \
	"-P PREROUTING ACCEPT\n-P INPUT ACCEPT\n-P OUTPUT ACCEPT\n-P POSTROUTING ACCEPT\n"

/* What `iptables -S` shows after the Go plugin's ADD of 10.1.0.5/24 and fd00::5/64. */
static const char ipt_golden[] =
	IPT_POLICIES "-N " IPT_CHAIN "\n"
	"-A POSTROUTING -s 10.1.0.5/32 " IPT_CMT " -j " IPT_CHAIN "\n"
	"-A " IPT_CHAIN " -d 10.1.0.0/24 " IPT_CMT " -j ACCEPT\n"
	"-A " IPT_CHAIN " ! -d 224.0.0.0/4 " IPT_CMT " -j MASQUERADE\n"
	IPT_POLICIES "-N " IPT_CHAIN "\n"
	"-A POSTROUTING -s fd00::5/128 " IPT_CMT " -j " IPT_CHAIN "\n"
	"-A " IPT_CHAIN " -d fd00::/64 " IPT_CMT " -j ACCEPT\n"
	"-A " IPT_CHAIN " ! -d ff00::/8 " IPT_CMT " -j MASQUERADE\n";

/*
 * The Go plugin's SetupIPMasq() for one address as shell, arguments in its order: the chain is
 * created when ListChains lacks it, each rule is AppendUnique (iptables -C, else -A). The
 * comment comes from $CMT.
 */
static void go_ipmasq(char *sh, size_t size, const char *cid, const char *ipn, const char *ip)
{
	bool v6 = strchr(ip, ':') != NULL;
	const char *ipt = v6 ? "ip6tables" : "iptables", *mc = v6 ? "ff00::/8" : "224.0.0.0/4";
	char chain[29];
	size_t len = strlen(sh);

	nu_nft_masq_iptables_chain(chain, "pm", cid);
	snprintf(sh + len, size - len,
		 "%1$s -t nat -S %2$s >/dev/null 2>&1 || %1$s -t nat -N %2$s || exit 1\n"
		 "R=\"%2$s -d %3$s -j ACCEPT\"\n"
		 "%1$s -t nat -C $R -m comment --comment \"$CMT\" 2>/dev/null ||"
		 " %1$s -t nat -A $R -m comment --comment \"$CMT\" || exit 1\n"
		 "R=\"%2$s ! -d %4$s -j MASQUERADE\"\n"
		 "%1$s -t nat -C $R -m comment --comment \"$CMT\" 2>/dev/null ||"
		 " %1$s -t nat -A $R -m comment --comment \"$CMT\" || exit 1\n"
		 "R=\"POSTROUTING -s %5$s -j %2$s\"\n"
		 "%1$s -t nat -C $R -m comment --comment \"$CMT\" 2>/dev/null ||"
		 " %1$s -t nat -A $R -m comment --comment \"$CMT\" || exit 1\n",
		 ipt, chain, ipn, mc, ip);
}

/* @script run by iptables in a fresh netns of its own, then @list there: its output. */
static char *in_fresh_netns(const char *script, const char *list)
{
	char *all, *out;

	if (asprintf(&all, "%s%s\n", script, list) < 0)
		abort();
	setenv("IPT_SCRIPT", all, 1);
	out = run("unshare -n sh -c \"$IPT_SCRIPT\" 2>&1");
	unsetenv("IPT_SCRIPT");
	free(all);
	return out;
}

/* Our ADD of @ips and the Go plugin's: same iptables -S text, same bytecode. */
static void ipt_compare(const char *name, const struct cni_prefix *ips, size_t n,
			const char *const *go_args)
{
	char script[8192] = "", tname[128], *ours, *ref, *bc_ours, *bc_ref;

	flush();
	for (size_t i = 0; go_args[i]; i += 2)
		go_ipmasq(script, sizeof(script), "cid1", go_args[i], go_args[i + 1]);
	CHECK_R(nu_nft_masq_add_iptables("pm", "cid1", ips, n, &e), 0);
	ours = run(IPT_LIST " 2>&1");
	bc_ours = bytecode();
	ref = in_fresh_netns(script, IPT_LIST);
	bc_ref = in_fresh_netns(script, "nft --debug=netlink list ruleset 2>/dev/null | "
					"grep -E '^  \\[|^  userdata'");
	snprintf(tname, sizeof(tname), "iptables: %s: iptables -S as after the Go plugin's", name);
	if (!strcmp(ours, ref) && strstr(ours, IPT_CHAIN))
		TAP_OK(tname);
	else
		TAP_FAIL(tname, "\n--- ours\n%s--- iptables\n%s", ours, ref);
	snprintf(tname, sizeof(tname), "iptables: %s: bytecode identical to iptables-nft's", name);
	check_same(tname, bc_ours, bc_ref, "iptables-nft");
	free(ours);
	free(ref);
}

static void test_masq_iptables_add(void)
{
	struct cni_prefix dual[] = { P("10.1.0.5/24"), P("fd00::5/64") };
	struct cni_prefix two[] = { P("10.1.0.5/24"), P("10.16.3.4/12") }, other = P("10.1.0.6/24");
	struct cni_prefix b = P("10.1.0.7/24");
	static const char *const go_dual[] = { "10.1.0.5/24", "10.1.0.5", "fd00::5/64", "fd00::5",
					       NULL };
	static const char *const go_two[] = { "10.1.0.5/24", "10.1.0.5", "10.16.3.4/12",
					      "10.16.3.4", NULL };
	/* what the Go plugin's iptables -C (AppendUnique) and -D (DEL) would be given */
	static const char *const go_rules[] = {
		"iptables -t nat -C " IPT_CHAIN " -d 10.1.0.5/24 -j ACCEPT",
		"iptables -t nat -C " IPT_CHAIN " ! -d 224.0.0.0/4 -j MASQUERADE",
		"iptables -t nat -C POSTROUTING -s 10.1.0.5 -j " IPT_CHAIN,
		"ip6tables -t nat -C " IPT_CHAIN " -d fd00::5/64 -j ACCEPT",
		"ip6tables -t nat -C " IPT_CHAIN " ! -d ff00::/8 -j MASQUERADE",
		"ip6tables -t nat -C POSTROUTING -s fd00::5 -j " IPT_CHAIN,
	};
	char script[4096] = "", cmd[512], longname[300], *before, *after;

	if (sh("iptables -V 2>/dev/null | grep -q nf_tables && "
	       "ip6tables -V 2>/dev/null | grep -q nf_tables")) {
		TAP_SKIP("iptables: layout written by us",
			 "iptables (nf_tables backend) is not installed");
		return;
	}
	if (sh("unshare -n true 2>/dev/null")) {
		TAP_SKIP("iptables: layout written by us", "unshare -n does not work here");
		return;
	}
	setenv("CMT", "name: \"pm\" id: \"cid1\"", 1);

	/* the layout, compared with what iptables-nft writes for the Go plugin's commands */
	ipt_compare("dual stack", dual, 2, go_dual);
	check_output("iptables: dual stack: golden text", IPT_LIST, ipt_golden);
	/* several v4 addresses share the chain; a /12 needs a mask; MASQUERADE is not repeated */
	ipt_compare("two v4 addresses", two, 2, go_two);

	/* a second ADD adds nothing; iptables -C finds every rule (match and target data too) */
	flush();
	CHECK_R(nu_nft_masq_add_iptables("pm", "cid1", dual, 2, &e), 0);
	CHECK_R(nu_nft_masq_add_iptables("pm", "cid1", dual, 2, &e), 0);
	check_output("iptables: second ADD adds nothing", IPT_LIST, ipt_golden);
	for (size_t i = 0; i < sizeof(go_rules) / sizeof(go_rules[0]); i++) {
		snprintf(cmd, sizeof(cmd), "%s -m comment --comment \"$CMT\"", go_rules[i]);
		if (sh(cmd) == 0)
			TAP_OK(go_rules[i]);
		else
			TAP_FAIL(go_rules[i], "iptables -C does not find the rule we wrote");
	}

	/* CHECK */
	CHECK_R(nu_nft_masq_check_iptables("pm", "cid1", dual, 2, &e), 0);
	CHECK_R(nu_nft_masq_check_iptables("pm", "cid1", &other, 1, &e), -ENOENT);
	CHECK_MSG("no rule -A POSTROUTING -s 10.1.0.6/32 -j " IPT_CHAIN " in ip nat");
	CHECK_R(nu_nft_masq_check_iptables("pm", "nope", dual, 2, &e), -ENOENT);
	CHECK_MSG("does not exist");

	/* the Go plugin's DEL removes our jump; CHECK sees it; ADD restores only it */
	CHECK_INT(sh("iptables -t nat -D POSTROUTING -s 10.1.0.5 -j " IPT_CHAIN
		     " -m comment --comment \"$CMT\""),
		  0);
	CHECK_INT(sh("ip6tables -t nat -D POSTROUTING -s fd00::5 -j " IPT_CHAIN
		     " -m comment --comment \"$CMT\""),
		  0);
	CHECK_R(nu_nft_masq_check_iptables("pm", "cid1", dual, 2, &e), -ENOENT);
	CHECK_MSG("no rule -A POSTROUTING -s 10.1.0.5/32");
	CHECK_R(nu_nft_masq_add_iptables("pm", "cid1", dual, 2, &e), 0);
	check_output("iptables: ADD after the Go plugin's partial DEL", IPT_LIST, ipt_golden);

	/* the layout written by iptables itself: our CHECK accepts it, our ADD adds nothing */
	flush();
	go_ipmasq(script, sizeof(script), "cid1", "10.1.0.5/24", "10.1.0.5");
	go_ipmasq(script, sizeof(script), "cid1", "fd00::5/64", "fd00::5");
	CHECK_INT(sh(script), 0);
	before = run(IPT_LIST);
	CHECK_R(nu_nft_masq_check_iptables("pm", "cid1", dual, 2, &e), 0);
	CHECK_R(nu_nft_masq_add_iptables("pm", "cid1", dual, 2, &e), 0);
	after = run(IPT_LIST);
	CHECK_STR(after, before);
	free(before);
	free(after);

	/* DEL: ours goes, another attachment and a foreign rule stay */
	CHECK_INT(sh("iptables -t nat -A POSTROUTING -s 10.9.0.0/16 -j MASQUERADE"), 0);
	CHECK_R(nu_nft_masq_add_iptables("pm", "cid2", &b, 1, &e), 0);
	CHECK_R(nu_nft_masq_del_iptables("pm", "cid1", &e), 0);
	CHECK_R(nu_nft_masq_check_iptables("pm", "cid1", dual, 2, &e), -ENOENT);
	CHECK_R(nu_nft_masq_check_iptables("pm", "cid2", &b, 1, &e), 0);
	CHECK_R(nu_nft_masq_del_iptables("pm", "cid2", &e), 0);
	CHECK_R(nu_nft_masq_del_iptables("pm", "cid2", &e), 0);
	check_output("iptables: DEL leaves the foreign rule alone", IPT_LIST,
		     IPT_POLICIES "-A POSTROUTING -s 10.9.0.0/16 -j MASQUERADE\n" IPT_POLICIES);

	/* names too long for an iptables comment (255 bytes): cut, iptables reads them back */
	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	CHECK_R(nu_nft_masq_add_iptables(longname, "cid1", dual, 2, &e), 0);
	CHECK_R(nu_nft_masq_check_iptables(longname, "cid1", dual, 2, &e), 0);
	CHECK_INT(sh("iptables -t nat -S | grep -q -- '--comment \"name: \\\\\"nnnn'"), 0);
	CHECK_R(nu_nft_masq_del_iptables(longname, "cid1", &e), 0);
	check_output("iptables: a cut comment's rules are deleted", IPT_LIST,
		     IPT_POLICIES "-A POSTROUTING -s 10.9.0.0/16 -j MASQUERADE\n" IPT_POLICIES);

	/* by layout: _as picks the writer and the checker; _del_any removes either layout */
	CHECK_R(nu_nft_masq_add_as(NU_MASQ_IPTABLES, "pm", "eth0", "cid1", dual, 2, &e), 0);
	CHECK_R(nu_nft_masq_check_as(NU_MASQ_IPTABLES, "pm", "eth0", "cid1", dual, 2, &e), 0);
	CHECK_R(nu_nft_masq_check_as(NU_MASQ_NFT, "pm", "eth0", "cid1", dual, 2, &e), -ENOENT);
	CHECK_R(nu_nft_masq_add_as(NU_MASQ_NFT, "pm", "eth0", "cid1", dual, 2, &e), 0);
	CHECK_R(nu_nft_masq_check_as(NU_MASQ_NFT, "pm", "eth0", "cid1", dual, 2, &e), 0);
	CHECK_R(nu_nft_masq_del_any("pm", "eth0", "cid1", &e), 0);
	CHECK_R(nu_nft_masq_check_as(NU_MASQ_IPTABLES, "pm", "eth0", "cid1", dual, 2, &e), -ENOENT);
	CHECK_R(nu_nft_masq_check_as(NU_MASQ_NFT, "pm", "eth0", "cid1", dual, 2, &e), -ENOENT);
	check_output("masq: _del_any removed both layouts", IPT_LIST,
		     IPT_POLICIES "-A POSTROUTING -s 10.9.0.0/16 -j MASQUERADE\n" IPT_POLICIES);
	unsetenv("CMT");
}

static const uint8_t MAC[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 };

static const char spoof_layout[] =
	"table bridge nat {\n"
	"\tchain PREROUTING {\n"
	"\t\ttype filter hook prerouting priority dstnat; policy accept;\n"
	"\t\tiifname \"veth1234\" jump cni-br-iface-cid-eth0 comment \"macspoofchk-cid-eth0\"\n"
	"\t}\n"
	"\n"
	"\tchain cni-br-iface-cid-eth0 {\n"
	"\t\tjump cni-br-iface-cid-eth0-mac comment \"macspoofchk-cid-eth0\"\n"
	"\t}\n"
	"\n"
	"\tchain cni-br-iface-cid-eth0-mac {\n"
	"\t\tether saddr 02:00:00:00:00:01 return comment \"macspoofchk-cid-eth0\"\n"
	"\t\tdrop comment \"macspoofchk-cid-eth0\"\n"
	"\t}\n"
	"}\n";

static const char spoof_reference[] =
	"add table bridge nat\n"
	"add chain bridge nat PREROUTING { type filter hook prerouting priority -300 ; policy "
	"accept ; }\n"
	"add chain bridge nat cni-br-iface-cid-eth0\n"
	"add chain bridge nat cni-br-iface-cid-eth0-mac\n"
	"add rule bridge nat PREROUTING iifname \"veth1234\" jump cni-br-iface-cid-eth0 comment "
	"\"macspoofchk-cid-eth0\"\n"
	"add rule bridge nat cni-br-iface-cid-eth0 jump cni-br-iface-cid-eth0-mac comment "
	"\"macspoofchk-cid-eth0\"\n"
	"add rule bridge nat cni-br-iface-cid-eth0-mac ether saddr 02:00:00:00:00:01 return "
	"comment \"macspoofchk-cid-eth0\"\n"
	"add rule bridge nat cni-br-iface-cid-eth0-mac drop comment \"macspoofchk-cid-eth0\"\n";

static bool owns_veth88(void *arg, const char *veth)
{
	(void)arg;
	return !strcmp(veth, "veth88");
}

#define VALID_KEEP ONE_VALID("keep-me", "eth0")

static void test_spoofchk(void)
{
	static const uint8_t other[6] = { 0x02, 0, 0, 0, 0, 0x02 };
	char *ours;

	flush();
	CHECK_R(nu_nft_spoofchk_add("cid", "eth0", "veth1234", MAC, &e), 0);
	check_output("spoofchk: exact layout", "nft list table bridge nat", spoof_layout);
	CHECK_R(nu_nft_spoofchk_add("cid", "eth0", "veth1234", MAC, &e), 0);
	check_output("spoofchk: re-ADD leaves the same layout", "nft list table bridge nat",
		     spoof_layout);
	ours = bytecode();
	flush();
	CHECK_INT(nft_load(spoof_reference), 0);
	check_same("spoofchk: bytecode identical to what nft writes for the reference", ours,
		   bytecode(), "nft");

	/* check works on the reference's rules too */
	CHECK_R(nu_nft_spoofchk_check("cid", "eth0", "veth1234", MAC, &e), 0);
	CHECK_R(nu_nft_spoofchk_check("cid", "eth0", "veth1234", other, &e), -ENOENT);
	CHECK_MSG("cni-br-iface-cid-eth0-mac");
	CHECK_R(nu_nft_spoofchk_check("cid", "eth0", "veth9", MAC, &e), -ENOENT);
	CHECK_MSG("PREROUTING");

	/* two attachments, DEL one */
	CHECK_R(nu_nft_spoofchk_add("cid2", "eth0", "veth5678", other, &e), 0);
	CHECK_R(nu_nft_spoofchk_del("cid", "eth0", &e), 0);
	CHECK_INT(count_rules("bridge", "nat", "PREROUTING", "macspoofchk-"), 1);
	CHECK_INT(count_chains("bridge", "nat", "cni-br-iface-cid-"), 0);
	CHECK_R(nu_nft_spoofchk_check("cid2", "eth0", "veth5678", other, &e), 0);
	CHECK_R(nu_nft_spoofchk_check("cid", "eth0", "veth1234", MAC, &e), -ENOENT);
	CHECK_R(nu_nft_spoofchk_del("cid", "eth0", &e), 0);
	CHECK_R(nu_nft_spoofchk_del("never", "eth0", &e), 0);
	CHECK_R(nu_nft_spoofchk_del("cid2", "eth0", &e), 0);
	CHECK_INT(count_chains("bridge", "nat", "cni-br-iface-"), 0);
	CHECK_INT(count_rules("bridge", "nat", "PREROUTING", NULL), 0);
	flush();
	CHECK_R(nu_nft_spoofchk_del("cid2", "eth0", &e), 0);
	CHECK_R(nu_nft_spoofchk_gc(VALID_NONE, NULL, NULL, &e), 0);

	/* GC: dashes in container IDs, a chain pair left without its PREROUTING jump */
	CHECK_R(nu_nft_spoofchk_add("keep-me", "eth0", "veth1", MAC, &e), 0);
	CHECK_R(nu_nft_spoofchk_add("drop-me", "eth0", "veth2", MAC, &e), 0);
	CHECK_R(nu_nft_spoofchk_add("orphan", "eth0", "veth3", MAC, &e), 0);
	CHECK_INT(sh("nft delete rule bridge nat PREROUTING handle $(nft -a list chain bridge nat "
		     "PREROUTING | sed -n 's/.*veth3.*handle \\([0-9]*\\)$/\\1/p')"),
		  0);
	CHECK_R(nu_nft_spoofchk_gc(VALID_KEEP, NULL, NULL, &e), 0);
	CHECK_INT(count_rules("bridge", "nat", "PREROUTING", NULL), 1);
	CHECK_INT(count_chains("bridge", "nat", "cni-br-iface-"), 2);
	CHECK_R(nu_nft_spoofchk_check("keep-me", "eth0", "veth1", MAC, &e), 0);

	/* GC of one network keeps what sits on another network's host veth. */
	CHECK_R(nu_nft_spoofchk_add("other-net", "eth1", "veth77", MAC, &e), 0);
	CHECK_R(nu_nft_spoofchk_add("mine", "eth0", "veth88", MAC, &e), 0);
	CHECK_R(nu_nft_spoofchk_gc(VALID_KEEP, owns_veth88, NULL, &e), 0);
	CHECK_R(nu_nft_spoofchk_check("other-net", "eth1", "veth77", MAC, &e), 0);
	CHECK_R(nu_nft_spoofchk_check("mine", "eth0", "veth88", MAC, &e), -ENOENT);
	CHECK_R(nu_nft_spoofchk_check("keep-me", "eth0", "veth1", MAC, &e), 0);
	CHECK_INT(count_chains("bridge", "nat", "cni-br-iface-other-net-eth1"), 2);
	/* ... however many there are (64 at most were set aside once: the rest failed GC) */
	{
		char cid[16];
		int ok = 0;

		for (int i = 0; i < 70; i++) {
			snprintf(cid, sizeof(cid), "other%d", i);
			ok += nu_nft_spoofchk_add(cid, "eth1", "veth77", MAC, &e) == 0;
		}
		CHECK_INT(ok, 70);
		CHECK_R(nu_nft_spoofchk_gc(VALID_KEEP, owns_veth88, NULL, &e), 0);
		CHECK_INT(count_chains("bridge", "nat", "cni-br-iface-other"), 142);
	}

	/* GC of hashed names (a pair too long for a chain name): by the same hash */
	{
		char ida[301], idb[301];

		flush();
		long_id(ida, 300, "L300-", 'a');
		long_id(idb, 300, "L300-", 'b');
		CHECK_R(nu_nft_spoofchk_add(ida, "eth0", "veth1", MAC, &e), 0);
		CHECK_R(nu_nft_spoofchk_add(idb, "eth0", "veth2", MAC, &e), 0);
		CHECK_INT(count_chains("bridge", "nat", "cni-br-iface-L300-xxx"), 4);
		CHECK_R(nu_nft_spoofchk_gc(ONE_VALID(idb, "eth0"), NULL, NULL, &e), 0);
		CHECK_R(nu_nft_spoofchk_check(ida, "eth0", "veth1", MAC, &e), -ENOENT);
		CHECK_R(nu_nft_spoofchk_check(idb, "eth0", "veth2", MAC, &e), 0);
		CHECK_INT(count_rules("bridge", "nat", "PREROUTING", NULL), 1);
		CHECK_INT(count_chains("bridge", "nat", "cni-br-iface-L300-xxx"), 2);
		CHECK_R(nu_nft_spoofchk_gc(VALID_NONE, NULL, NULL, &e), 0);
		CHECK_INT(count_chains("bridge", "nat", "cni-br-iface-"), 0);
	}
}

int main(void)
{
	static void (*const tests[])(void) = {test_masq_layout,
					      test_masq_lifecycle,
					      test_masq_gc,
					      test_masq_gc_long,
					      test_masq_index,
					      test_masq_foreign,
					      test_masq_race,
					      test_masq_iptables,
					      test_masq_iptables_add,
					      test_spoofchk,
					      NULL};

	return nft_test_main("nft", nu_nft_available, tests);
}
