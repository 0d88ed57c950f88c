// SPDX-License-Identifier: Apache-2.0
/*
 * The firewall plugin's rules, in two layouts, over pkg/nft's engine (firewall.h declares them).
 *
 * Native (the default), in the spirit of the reference's iptables layout:
 *	table inet cni_firewall {
 *	  chain forward {	type filter hook forward priority filter; policy accept;
 *		jump isolation_stage_1	(rewritten on every ADD, in the same batch)
 *		jump admin
 *		jump containers }
 *	  chain admin {}	the administrator's: created when absent, never written or flushed
 *	  chain isolation_stage_1 { iifname "<br>" oifname != "<br>" jump isolation_stage_2
 *				    iifname "<br>" oifname "<br>" drop		(isolated) }
 *	  chain isolation_stage_2 { oifname "<br>" drop }
 *	  chain containers {	per address of each attachment:
 *		ip daddr <ip> ct state established,related accept comment C
 *		ip saddr <ip> accept comment C }
 *	}
 *	table bridge cni_firewall { chain forward { type filter hook forward priority filter;
 *		iifname "<host veth>" drop comment C		(isolated, per attachment)
 *		oifname "<host veth>" drop comment C } }
 * C = "<h16(net)>-<h16(ifname:cid)>, net: <net>, if: <ifname>, id: <cid>" (the masquerade
 * layout's identity): DEL and GC find an attachment's rules by it, never by address, so an IP
 * reused by another container keeps that container's rules. Policy rules are commented
 * "ingressPolicy: <policy>, bridge: <br>", shared by every attachment of the bridge and never
 * removed on DEL (as the reference). Traffic between two ports of one bridge is switched, not
 * routed: the inet rule sees it only with br_netfilter, so "isolated" also drops it in the bridge
 * family at the attachment's bridge port (meta ibrname needs nft_meta_bridge, which kernels may
 * lack; port names do not), removed with the attachment's other rules. An nftables
 * accept ends only this table's evaluation: a drop policy of another table (an iptables FORWARD
 * DROP) still applies; there the plugin's default backend adds the reference's accepts to
 * iptables' FORWARD path too (fwd.c).
 *
 * iptables (backend "iptables"): exactly the reference's rules in ip/ip6 filter, as iptables-nft
 * 1.8.9 encodes them (xt comment rev 0, xt conntrack rev 3, a counter in every rule, "-i/-o" as
 * meta iifname/oifname compared over strlen + 1 bytes), so `iptables -S` lists them as if
 * iptables had written them and the Go plugin finds and removes them.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/x_tables.h>
#include <linux/netfilter/xt_comment.h>
#include <linux/netfilter/xt_conntrack.h>
#include <linux/netfilter_bridge.h>

#include "cni/hash.h"
#include "firewall.h"
#include "nft/internal.h"

#define FW_TABLE "cni_firewall"
#define FW_TABLE_COMMENT "CNI firewall plugin (cnic)"
#define FW_FORWARD "forward"
#define FW_ADMIN "admin"
#define FW_STAGE1 "isolation_stage_1"
#define FW_STAGE2 "isolation_stage_2"
#define FW_CONTAINERS "containers"
#define FW_ADMIN_COMMENT "CNI firewall plugin admin overrides: the administrator's rules"
#define COMMENT_MAX NFT_ATT_COMMENT_MAX
#define HASH_LEN NFT_ATT_HASH_LEN
#define ATT_KIND "fw" /* the attachment index, att.c */

#define IPT_TABLE "filter"
#define IPT_FORWARD "FORWARD"
#define IPT_PRIV "CNI-FORWARD"
#define IPT_STAGE1 "CNI-ISOLATION-STAGE-1"
#define IPT_STAGE2 "CNI-ISOLATION-STAGE-2"
#define IPT_FWD_COMMENT "CNI firewall plugin rules"
#define IPT_ADMIN_COMMENT "CNI firewall plugin admin overrides"

static const char *const policy_names[] = {"open", "same-bridge", "isolated"};

/* ---- helpers shared by both layouts ----------------------------------------------------------- */

/* meta iifname/oifname (or ibrname/obrname) ==/!= @name, compared over @len bytes. */
static void x_ifname(struct nft *c, struct nftnl_rule *r, uint32_t key, const char *name,
		     uint32_t len, bool neq)
{
	char buf[16] = {0};

	snprintf(buf, sizeof(buf), "%s", name);
	nft_x_meta(c, r, key);
	nft_x_cmp(c, r, neq ? NFT_CMP_NEQ : NFT_CMP_EQ, buf, len);
}

static struct cni_prefix host_prefix(const struct cni_prefix *p)
{
	struct cni_prefix h = {.ip = p->ip, .len = (uint8_t)cni_ip_bits(&p->ip)};

	return h;
}

static int check_ips(const struct nu_fw *f, struct cni_err *e)
{
	for (size_t i = 0; i < f->n; i++) {
		unsigned int bits = cni_ip_bits(&f->ips[i].ip);

		if (!bits || f->ips[i].len > bits)
			return cni_fail(e, -EINVAL, 0, "firewall: invalid address #%zu", i);
	}
	if (f->policy != NU_FW_OPEN && (!f->bridge || !*f->bridge || strlen(f->bridge) > 15))
		return cni_fail(e, -EINVAL, 0, "firewall: invalid bridge name for ingress policy");
	if (f->port && strlen(f->port) > 15)
		return cni_fail(e, -EINVAL, 0, "firewall: invalid host interface name");
	return 0;
}

/* ---- native layout ---------------------------------------------------------------------------- */

static char *att_comment(char out[COMMENT_MAX + 1], const struct nu_fw *f)
{
	char hash[HASH_LEN + 1];

	snprintf(out, COMMENT_MAX + 1, "%s, net: %s, if: %s, id: %s",
		 nft_att_hash(hash, f->net, f->ifname, f->cid), f->net, f->ifname, f->cid);
	return out;
}

static char *policy_comment(char out[COMMENT_MAX + 1], enum nu_fw_policy p, const char *bridge)
{
	snprintf(out, COMMENT_MAX + 1, "ingressPolicy: %s, bridge: %s", policy_names[p], bridge);
	return out;
}

static void x_nfproto(struct nft *c, struct nftnl_rule *r, int family)
{
	uint8_t proto = family == AF_INET ? NFPROTO_IPV4 : NFPROTO_IPV6;

	nft_x_meta(c, r, NFT_META_NFPROTO);
	nft_x_cmp(c, r, NFT_CMP_EQ, &proto, 1);
}

/* ct state established,related: as nft encodes it. */
static void x_ct_established(struct nft *c, struct nftnl_rule *r)
{
	uint32_t mask = NF_CT_STATE_BIT(IP_CT_ESTABLISHED) | NF_CT_STATE_BIT(IP_CT_RELATED);
	uint32_t zero = 0;
	struct nftnl_expr *x = nft_x_new(c, r, "ct");

	if (!x)
		return;
	nftnl_expr_set_u32(x, NFTNL_EXPR_CT_KEY, NFT_CT_STATE);
	nftnl_expr_set_u32(x, NFTNL_EXPR_CT_DREG, NFT_REG_1);
	nft_x_bitwise(c, r, &mask, sizeof(mask));
	nft_x_cmp(c, r, NFT_CMP_NEQ, &zero, sizeof(zero));
}

/* ip[6] daddr <ip> ct state established,related accept / ip[6] saddr <ip> accept */
static struct nftnl_rule *att_rule(struct nft *c, const struct cni_prefix *ip, bool in,
				   const char *comment)
{
	struct nftnl_rule *r = nft_rule_new(c, NFPROTO_INET, FW_TABLE, FW_CONTAINERS, comment);
	struct cni_prefix h = host_prefix(ip);

	x_nfproto(c, r, ip->ip.family);
	nft_x_addr(c, r, &h, in, false);
	if (in)
		x_ct_established(c, r);
	nft_x_verdict(c, r, NF_ACCEPT, NULL);
	return r;
}

enum pol_kind {
	POL_STAGE1,	/* iifname br oifname != br jump stage 2 */
	POL_STAGE1_ISO, /* iifname br oifname br drop */
	POL_STAGE2,	/* oifname br drop */
};

static struct nftnl_rule *pol_rule(struct nft *c, enum pol_kind k, const struct nu_fw *f)
{
	char comment[COMMENT_MAX + 1];
	const char *chain = k == POL_STAGE2 ? FW_STAGE2 : FW_STAGE1;
	struct nftnl_rule *r = nft_rule_new(c, NFPROTO_INET, FW_TABLE, chain,
					    policy_comment(comment, f->policy, f->bridge));

	switch (k) {
	case POL_STAGE1:
		x_ifname(c, r, NFT_META_IIFNAME, f->bridge, 16, false);
		x_ifname(c, r, NFT_META_OIFNAME, f->bridge, 16, true);
		nft_x_verdict(c, r, NFT_JUMP, FW_STAGE2);
		break;
	case POL_STAGE1_ISO:
		x_ifname(c, r, NFT_META_IIFNAME, f->bridge, 16, false);
		x_ifname(c, r, NFT_META_OIFNAME, f->bridge, 16, false);
		nft_x_verdict(c, r, NF_DROP, NULL);
		break;
	case POL_STAGE2:
		x_ifname(c, r, NFT_META_OIFNAME, f->bridge, 16, false);
		nft_x_verdict(c, r, NF_DROP, NULL);
		break;
	}
	return r;
}

/* bridge family: iifname|oifname "<host veth>" drop, the attachment's port closed. */
static struct nftnl_rule *port_rule(struct nft *c, const struct nu_fw *f, bool in,
				    const char *comment)
{
	struct nftnl_rule *r = nft_rule_new(c, NFPROTO_BRIDGE, FW_TABLE, FW_FORWARD, comment);

	x_ifname(c, r, in ? NFT_META_IIFNAME : NFT_META_OIFNAME, f->port, 16, false);
	nft_x_verdict(c, r, NF_DROP, NULL);
	return r;
}

static bool port_rules(const struct nu_fw *f)
{
	return f->policy == NU_FW_ISOLATED && f->port && *f->port;
}

static const char *const fw_jumps[] = {FW_STAGE1, FW_ADMIN, FW_CONTAINERS};

/* The policy rules the attachment needs, in their order. */
static size_t pol_kinds(const struct nu_fw *f, enum pol_kind out[3])
{
	size_t n = 0;

	if (f->policy == NU_FW_OPEN)
		return 0;
	out[n++] = POL_STAGE1;
	if (f->policy == NU_FW_ISOLATED)
		out[n++] = POL_STAGE1_ISO;
	out[n++] = POL_STAGE2;
	return n;
}

struct fw_lists {
	struct nftnl_rule_list *containers, *stage1, *stage2, *bridge, *forward;
};

static void fw_lists_free(struct fw_lists *l)
{
	nft_rules_free(l->containers);
	nft_rules_free(l->stage1);
	nft_rules_free(l->stage2);
	nft_rules_free(l->bridge);
	nft_rules_free(l->forward);
	memset(l, 0, sizeof(*l));
}

/*
 * The chains ADD (and CHECK) compare against. containers and the bridge family's forward hold
 * every attachment's rules: with @all false (ADD of an attachment no earlier ADD left rules for)
 * they are not listed, so an ADD costs the same with one container or thousands.
 */
static int fw_list(struct nft *c, struct fw_lists *l, bool all, struct cni_err *e)
{
	const struct nft_rules_req q[] = {
		{ NFPROTO_INET, FW_TABLE, FW_CONTAINERS, all ? &l->containers : NULL },
		{ NFPROTO_INET, FW_TABLE, FW_STAGE1, &l->stage1 },
		{ NFPROTO_INET, FW_TABLE, FW_STAGE2, &l->stage2 },
		{ NFPROTO_BRIDGE, FW_TABLE, FW_FORWARD, all ? &l->bridge : NULL },
		{ NFPROTO_INET, FW_TABLE, FW_FORWARD, &l->forward },
	};
	int r;

	memset(l, 0, sizeof(*l));
	r = nft_list_rules_each(c, q, sizeof(q) / sizeof(q[0]), e);
	if (r < 0)
		fw_lists_free(l);
	return r;
}

static struct nftnl_rule_list *pol_list(struct fw_lists *l, enum pol_kind k)
{
	return k == POL_STAGE2 ? l->stage2 : l->stage1;
}

static int fw_add_once(struct nft *c, void *arg, struct cni_err *e)
{
	static const struct nft_hook fwd = {"filter", NF_INET_FORWARD, 0};
	static const struct nft_hook brfwd = {"filter", NF_BR_FORWARD, NF_BR_PRI_FILTER_BRIDGED};
	const struct nu_fw *f = arg;
	char hash[HASH_LEN + 1], comment[COMMENT_MAX + 1];
	struct nftnl_rule *jumps[3];
	enum pol_kind kinds[3];
	size_t nk = pol_kinds(f, kinds);
	struct fw_lists l;
	int r;

	r = nft_att_exists(c, ATT_KIND, nft_att_hash(hash, f->net, f->ifname, f->cid), e);
	if (r >= 0)
		r = fw_list(c, &l, r > 0, e);
	if (r < 0)
		return r;
	nft_begin(c);
	nft_add_table(c, NFPROTO_INET, FW_TABLE, FW_TABLE_COMMENT);
	nft_add_chain(c, NFPROTO_INET, FW_TABLE, FW_FORWARD, &fwd, NULL);
	nft_add_chain(c, NFPROTO_INET, FW_TABLE, FW_ADMIN, NULL, FW_ADMIN_COMMENT);
	nft_add_chain(c, NFPROTO_INET, FW_TABLE, FW_STAGE1, NULL, NULL);
	nft_add_chain(c, NFPROTO_INET, FW_TABLE, FW_STAGE2, NULL, NULL);
	nft_add_chain(c, NFPROTO_INET, FW_TABLE, FW_CONTAINERS, NULL, NULL);
	/*
	 * forward is rewritten only when it is not exactly the three jumps: a rule deletion would
	 * leave the kernel work to free after an RCU grace period.
	 */
	for (size_t i = 0; i < 3; i++) {
		jumps[i] = nft_rule_new(c, NFPROTO_INET, FW_TABLE, FW_FORWARD, NULL);
		nft_x_verdict(c, jumps[i], NFT_JUMP, fw_jumps[i]);
	}
	if (!c->err && nft_rules_are(l.forward, jumps, 3)) {
		for (size_t i = 0; i < 3; i++)
			if (jumps[i])
				nftnl_rule_free(jumps[i]);
	} else {
		nft_flush_chain(c, NFPROTO_INET, FW_TABLE, FW_FORWARD);
		for (size_t i = 0; i < 3; i++)
			if (jumps[i])
				nft_add_rule(c, jumps[i]);
	}
	nft_del_commented(c, l.containers, nft_comment_has_prefix, hash);
	nft_del_commented(c, l.bridge, nft_comment_has_prefix, hash);
	nft_att_add(c, ATT_KIND, hash);
	att_comment(comment, f);
	for (size_t i = 0; i < f->n; i++) {
		nft_add_rule(c, att_rule(c, &f->ips[i], true, comment));
		nft_add_rule(c, att_rule(c, &f->ips[i], false, comment));
	}
	if (port_rules(f)) {
		nft_add_table(c, NFPROTO_BRIDGE, FW_TABLE, FW_TABLE_COMMENT);
		nft_add_chain(c, NFPROTO_BRIDGE, FW_TABLE, FW_FORWARD, &brfwd, NULL);
		nft_add_rule(c, port_rule(c, f, true, comment));
		nft_add_rule(c, port_rule(c, f, false, comment));
	}
	for (size_t i = 0; i < nk; i++) {
		struct nftnl_rule *want = pol_rule(c, kinds[i], f);

		if (want && nft_rule_find(pol_list(&l, kinds[i]), want, nft_rule_same))
			nftnl_rule_free(want);
		else
			nft_add_rule(c, want);
	}
	fw_lists_free(&l);
	return nft_commit(c, e);
}

int nu_fw_add(const struct nu_fw *f, struct cni_err *e)
{
	int r = check_ips(f, e);

	if (r == 0)
		r = nft_run(fw_add_once, (void *)f, e);
	if (r < 0)
		return cni_wrap(e, r, "setting up firewall rules for %s", f->cid);
	return 0;
}

/* The attachment's rules: the containers chain and the bridge family's port rules. */
static int fw_del_once(struct nft *c, void *arg, struct cni_err *e)
{
	struct nftnl_rule_list *lists[2] = {NULL, NULL};
	int ret = nft_list_rules(c, NFPROTO_INET, FW_TABLE, FW_CONTAINERS, &lists[0], e);

	if (ret == 0)
		ret = nft_list_rules(c, NFPROTO_BRIDGE, FW_TABLE, FW_FORWARD, &lists[1], e);
	if (ret == 0)
		ret = nft_att_delete(c, ATT_KIND, lists, 2, arg, e);
	nft_rules_free(lists[0]);
	nft_rules_free(lists[1]);
	return ret;
}

int nu_fw_del(const struct nu_fw *f, struct cni_err *e)
{
	char hash[HASH_LEN + 1];
	struct nft_att_match m = {nft_comment_has_prefix,
				  nft_att_hash(hash, f->net, f->ifname, f->cid), hash, NULL};
	int r = nft_run(fw_del_once, &m, e);

	if (r < 0)
		return cni_wrap(e, r, "removing firewall rules of %s", f->cid);
	return 0;
}

int nu_fw_gc(const char *net, const struct cni_attachment *valid, size_t n, struct cni_err *e)
{
	int r = nft_att_gc(fw_del_once, net, valid, n, e);

	if (r < 0)
		return cni_wrap(e, r, "garbage-collecting firewall rules of %s", net);
	return 0;
}

static bool has_jump(struct nftnl_rule_list *rules, const char *target)
{
	struct nftnl_rule_list_iter *it = rules ? nftnl_rule_list_iter_create(rules) : NULL;
	struct nftnl_rule *r;
	bool found = false;

	while (it && !found && (r = nftnl_rule_list_iter_next(it))) {
		const char *t = nft_rule_target(r);

		found = t && !strcmp(t, target);
	}
	if (it)
		nftnl_rule_list_iter_destroy(it);
	return found;
}

static int fw_check_lists(struct nft *c, const struct nu_fw *f, struct fw_lists *l,
			  struct cni_err *e)
{
	char comment[COMMENT_MAX + 1], text[CNI_PREFIX_STRLEN];
	struct nftnl_chain_list *chains;
	enum pol_kind kinds[3];
	size_t nk = pol_kinds(f, kinds);
	int r;

	r = nft_list_chains(c, NFPROTO_INET, FW_TABLE, &chains, e);
	if (r < 0)
		return r;
	for (size_t i = 0; r == 0 && i < sizeof(fw_jumps) / sizeof(fw_jumps[0]); i++) {
		if (!nft_chain_exists(chains, fw_jumps[i]))
			r = cni_fail(e, -ENOENT, 0, "chain inet %s %s does not exist", FW_TABLE,
				     fw_jumps[i]);
		else if (!has_jump(l->forward, fw_jumps[i]))
			r = cni_fail(e, -ENOENT, 0, "chain inet %s %s does not jump to %s", FW_TABLE,
				     FW_FORWARD, fw_jumps[i]);
	}
	nft_chains_free(chains);
	att_comment(comment, f);
	for (size_t i = 0; r == 0 && i < 2 * f->n; i++) {
		struct nftnl_rule *want = att_rule(c, &f->ips[i / 2], i % 2 == 0, comment);

		if (!want || c->err)
			r = cni_fail(e, c->err ? c->err : -ENOMEM, 0, "building a rule");
		else if (!nft_rule_find(l->containers, want, nft_rule_same))
			r = cni_fail(e, -ENOENT, 0, "no %s rule for %s of this container in inet %s %s",
				     i % 2 == 0 ? "inbound" : "outbound",
				     cni_ip_str(&f->ips[i / 2].ip, text), FW_TABLE, FW_CONTAINERS);
		if (want)
			nftnl_rule_free(want);
	}
	for (size_t i = 0; r == 0 && i < nk; i++) {
		struct nftnl_rule *want = pol_rule(c, kinds[i], f);

		if (!want || !nft_rule_find(pol_list(l, kinds[i]), want, nft_rule_same))
			r = cni_fail(e, -ENOENT, 0,
				     "ingress policy %s rule #%zu for bridge %s is missing",
				     policy_names[f->policy], i + 1, f->bridge);
		if (want)
			nftnl_rule_free(want);
	}
	for (int in = 1; r == 0 && port_rules(f) && in >= 0; in--) {
		struct nftnl_rule *want = port_rule(c, f, in, comment);

		if (!want || !nft_rule_find(l->bridge, want, nft_rule_same))
			r = cni_fail(e, -ENOENT, 0,
				     "ingress policy isolated: no %s rule for port %s in bridge %s %s",
				     in ? "iifname" : "oifname", f->port, FW_TABLE, FW_FORWARD);
		if (want)
			nftnl_rule_free(want);
	}
	return r;
}

int nu_fw_check(const struct nu_fw *f, struct cni_err *e)
{
	_cleanup_nft_ struct nft c = {0};
	struct fw_lists l;
	int r = check_ips(f, e);

	if (r == 0)
		r = nft_open(&c, e);
	if (r == 0)
		r = fw_list(&c, &l, true, e);
	if (r == 0) {
		r = fw_check_lists(&c, f, &l, e);
		fw_lists_free(&l);
	}
	if (r < 0)
		return cni_wrap(e, r, "checking firewall rules of %s", f->cid);
	return 0;
}

/* ---- the reference's iptables layout ----------------------------------------------------------- */

enum ipt_kind {
	IPT_JUMP_PRIV,	/* FORWARD: -m comment -j CNI-FORWARD */
	IPT_JUMP_ADMIN, /* CNI-FORWARD: -m comment -j <admin> */
	IPT_IN,		/* CNI-FORWARD: -d ip -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT */
	IPT_OUT,	/* CNI-FORWARD: -s ip -j ACCEPT */
	IPT_JUMP_STAGE1,
	IPT_S1,	    /* -i br ! -o br -j STAGE-2 */
	IPT_S1_ISO, /* -i br -o br -j DROP */
	IPT_S1_RET,
	IPT_S2,	    /* -o br -j DROP */
	IPT_S2_RET,
	IPT_KINDS,
};

struct ipt_fw {
	const struct nu_fw *f;
	uint16_t family;
};

static const char *ipt_chain(const struct nu_fw *f, enum ipt_kind k)
{
	switch (k) {
	case IPT_JUMP_PRIV:
	case IPT_JUMP_STAGE1:
		return IPT_FORWARD;
	case IPT_JUMP_ADMIN:
	case IPT_IN:
	case IPT_OUT:
		return IPT_PRIV;
	case IPT_S2:
	case IPT_S2_RET:
		return IPT_STAGE2;
	default:
		(void)f;
		return IPT_STAGE1;
	}
}

static struct nftnl_rule *ipt_rule(struct nft *c, const struct ipt_fw *a, enum ipt_kind k,
				   const struct cni_prefix *ip)
{
	const struct nu_fw *f = a->f;
	struct nftnl_rule *r = nft_rule_new(c, a->family, IPT_TABLE, ipt_chain(f, k), NULL);
	char pc[64];
	const char *comment = pc, *target = NULL;
	int verdict = NF_DROP;
	struct cni_prefix h;
	uint32_t blen = f->bridge ? (uint32_t)strlen(f->bridge) + 1 : 1;

	snprintf(pc, sizeof(pc), "CNI firewall plugin rules (ingressPolicy: %s)",
		 policy_names[f->policy]);
	/* Every rule ends [comment] counter verdict; the cases say what comes before and which. */
	switch (k) {
	case IPT_JUMP_PRIV:
		comment = IPT_FWD_COMMENT;
		verdict = NFT_JUMP;
		target = IPT_PRIV;
		break;
	case IPT_JUMP_ADMIN:
		comment = IPT_ADMIN_COMMENT;
		verdict = NFT_JUMP;
		target = f->admin_chain;
		break;
	case IPT_IN:
	case IPT_OUT:
		h = host_prefix(ip);
		nft_x_addr(c, r, &h, k == IPT_IN, false);
		if (k == IPT_IN)
			nft_x_xt_ctstate(c, r,
					 XT_CONNTRACK_STATE_BIT(IP_CT_RELATED) |
						 XT_CONNTRACK_STATE_BIT(IP_CT_ESTABLISHED));
		comment = NULL;
		verdict = NF_ACCEPT;
		break;
	case IPT_JUMP_STAGE1:
		verdict = NFT_JUMP;
		target = IPT_STAGE1;
		break;
	case IPT_S1:
	case IPT_S1_ISO:
		x_ifname(c, r, NFT_META_IIFNAME, f->bridge, blen, false);
		x_ifname(c, r, NFT_META_OIFNAME, f->bridge, blen, k == IPT_S1);
		verdict = k == IPT_S1 ? NFT_JUMP : NF_DROP;
		target = k == IPT_S1 ? IPT_STAGE2 : NULL;
		break;
	case IPT_S2:
		x_ifname(c, r, NFT_META_OIFNAME, f->bridge, blen, false);
		break;
	case IPT_S1_RET:
	case IPT_S2_RET:
		verdict = NFT_RETURN;
		break;
	default:
		return r;
	}
	if (comment)
		nft_x_xt_comment(c, r, comment);
	nft_x_counter(c, r);
	nft_x_verdict(c, r, verdict, target);
	return r;
}

/* The rule in iptables -S syntax, for messages. */
static const char *ipt_text(char *buf, size_t len, const struct ipt_fw *a, enum ipt_kind k,
			    const struct cni_prefix *ip)
{
	const struct nu_fw *f = a->f;
	char s[CNI_PREFIX_STRLEN];
	struct cni_prefix h = ip ? host_prefix(ip) : (struct cni_prefix){0};
	const char *ch = ipt_chain(f, k), *br = f->bridge ? f->bridge : "";

	switch (k) {
	case IPT_JUMP_PRIV:
		snprintf(buf, len, "-A %s -m comment --comment \"%s\" -j %s", ch, IPT_FWD_COMMENT,
			 IPT_PRIV);
		break;
	case IPT_JUMP_ADMIN:
		snprintf(buf, len, "-A %s -m comment --comment \"%s\" -j %s", ch,
			 IPT_ADMIN_COMMENT, f->admin_chain);
		break;
	case IPT_IN:
		snprintf(buf, len,
			 "-A %s -d %s -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT", ch,
			 cni_prefix_str(&h, s));
		break;
	case IPT_OUT:
		snprintf(buf, len, "-A %s -s %s -j ACCEPT", ch, cni_prefix_str(&h, s));
		break;
	case IPT_JUMP_STAGE1:
		snprintf(buf, len, "-A %s -j %s", ch, IPT_STAGE1);
		break;
	case IPT_S1:
		snprintf(buf, len, "-A %s -i %s ! -o %s -j %s", ch, br, br, IPT_STAGE2);
		break;
	case IPT_S1_ISO:
		snprintf(buf, len, "-A %s -i %s -o %s -j DROP", ch, br, br);
		break;
	case IPT_S2:
		snprintf(buf, len, "-A %s -o %s -j DROP", ch, br);
		break;
	default:
		snprintf(buf, len, "-A %s -j RETURN", ch);
		break;
	}
	return buf;
}

struct ipt_state {
	struct nft_fwd_lists l; /* chains, FORWARD, CNI-FORWARD */
	struct nftnl_rule_list *s1, *s2;
};

static void ipt_state_free(struct ipt_state *s)
{
	nft_fwd_lists_free(&s->l);
	nft_rules_free(s->s1);
	nft_rules_free(s->s2);
	memset(s, 0, sizeof(*s));
}

static int ipt_list(struct nft *c, uint16_t family, struct ipt_state *s, struct cni_err *e)
{
	int r;

	memset(s, 0, sizeof(*s));
	r = nft_fwd_list(c, family, &s->l, e);
	if (r == 0)
		r = nft_list_rules_each(c, (const struct nft_rules_req[]){
			{ family, IPT_TABLE, IPT_STAGE1, &s->s1 },
			{ family, IPT_TABLE, IPT_STAGE2, &s->s2 },
		}, 2, e);
	if (r < 0)
		ipt_state_free(s);
	return r;
}

static struct nftnl_rule_list *ipt_rules(struct ipt_state *s, const char *chain)
{
	if (!strcmp(chain, IPT_FORWARD))
		return s->l.fwd;
	if (!strcmp(chain, IPT_PRIV))
		return s->l.priv;
	return !strcmp(chain, IPT_STAGE1) ? s->s1 : s->s2;
}

static bool fam_ip(const struct cni_prefix *p, uint16_t family)
{
	return (p->ip.family == AF_INET) == (family == NFPROTO_IPV4);
}

/* The policy rules in the reference's order, each with its insert-at-head flag. */
static const struct {
	enum ipt_kind k;
	bool head;
	bool isolated_only;
} ipt_policy_rules[] = {
	{IPT_JUMP_STAGE1, true, false}, {IPT_S1, true, false},	   {IPT_S1_ISO, true, true},
	{IPT_S1_RET, false, false},	{IPT_S2, true, false},	   {IPT_S2_RET, false, false},
};

/* Queue @k unless present (in the kernel's list or queued earlier in this batch). */
static void ipt_ensure(struct nft *c, const struct ipt_fw *a, struct ipt_state *s,
		       enum ipt_kind k, const struct cni_prefix *ip, bool head,
		       struct nftnl_rule **queued, size_t *nq)
{
	struct nftnl_rule *r = ipt_rule(c, a, k, ip);
	const char *ch = ipt_chain(a->f, k);
	bool dup;

	if (!r)
		return;
	dup = nft_rule_find(ipt_rules(s, ch), r, nft_ipt_rule_same);
	for (size_t j = 0; !dup && j < *nq; j++)
		dup = !strcmp(nftnl_rule_get_str(queued[j], NFTNL_RULE_CHAIN), ch) &&
		      nft_ipt_rule_same(queued[j], r);
	if (dup) {
		nftnl_rule_free(r);
		return;
	}
	queued[(*nq)++] = ipt_rule(c, a, k, ip); /* a copy to compare later ones with */
	if (head)
		nft_insert_rule(c, r);
	else
		nft_add_rule(c, r);
}

static int ipt_add_once(struct nft *c, void *arg, struct cni_err *e)
{
	static const struct nft_hook fwd = {"filter", NF_INET_FORWARD, 0};
	const struct ipt_fw *a = arg;
	const struct nu_fw *f = a->f;
	struct nftnl_rule *queued[64 + 2 * 16];
	size_t nq = 0, want = 0;
	struct ipt_state s;
	int r;

	r = ipt_list(c, a->family, &s, e);
	if (r < 0)
		return r;
	nft_begin(c);
	/* in iptables' order: -N CNI-FORWARD, -N <admin>, FORWARD on its first -I */
	if (!nft_chain_exists(s.l.chains, IPT_FORWARD) && !nft_chain_exists(s.l.chains, IPT_PRIV) &&
	    !nft_chain_exists(s.l.chains, f->admin_chain))
		nft_add_table(c, a->family, IPT_TABLE, NULL);
	if (!nft_chain_exists(s.l.chains, IPT_PRIV))
		nft_add_chain(c, a->family, IPT_TABLE, IPT_PRIV, NULL, NULL);
	if (!nft_chain_exists(s.l.chains, f->admin_chain))
		nft_add_chain(c, a->family, IPT_TABLE, f->admin_chain, NULL, NULL);
	if (!nft_chain_exists(s.l.chains, IPT_FORWARD))
		nft_add_chain(c, a->family, IPT_TABLE, IPT_FORWARD, &fwd, NULL);
	ipt_ensure(c, a, &s, IPT_JUMP_PRIV, NULL, true, queued, &nq);
	ipt_ensure(c, a, &s, IPT_JUMP_ADMIN, NULL, true, queued, &nq);
	for (size_t i = 0; i < f->n; i++) {
		if (!fam_ip(&f->ips[i], a->family))
			continue;
		if (++want > 32) {
			r = cni_fail(e, -E2BIG, 0, "firewall: more than 32 addresses");
			break;
		}
		ipt_ensure(c, a, &s, IPT_IN, &f->ips[i], false, queued, &nq);
		ipt_ensure(c, a, &s, IPT_OUT, &f->ips[i], false, queued, &nq);
	}
	if (r == 0 && f->policy != NU_FW_OPEN) {
		if (!nft_chain_exists(s.l.chains, IPT_STAGE1))
			nft_add_chain(c, a->family, IPT_TABLE, IPT_STAGE1, NULL, NULL);
		if (!nft_chain_exists(s.l.chains, IPT_STAGE2))
			nft_add_chain(c, a->family, IPT_TABLE, IPT_STAGE2, NULL, NULL);
		for (size_t i = 0; i < sizeof(ipt_policy_rules) / sizeof(ipt_policy_rules[0]); i++)
			if (!ipt_policy_rules[i].isolated_only || f->policy == NU_FW_ISOLATED)
				ipt_ensure(c, a, &s, ipt_policy_rules[i].k, NULL,
					   ipt_policy_rules[i].head, queued, &nq);
	}
	for (size_t j = 0; j < nq; j++)
		nftnl_rule_free(queued[j]);
	ipt_state_free(&s);
	return r < 0 ? r : nft_commit(c, e);
}

static bool family_used(const struct nu_fw *f, uint16_t family)
{
	for (size_t i = 0; i < f->n; i++)
		if (fam_ip(&f->ips[i], family))
			return true;
	return false;
}

static const uint16_t ipt_families[] = {NFPROTO_IPV4, NFPROTO_IPV6};

static int ipt_check_ipt(const struct nu_fw *f, struct cni_err *e)
{
	if (!f->admin_chain || !*f->admin_chain || strlen(f->admin_chain) > NU_FW_IPT_CHAIN_MAX)
		return cni_fail(e, -EINVAL, 0, "firewall: invalid iptables admin chain name");
	return check_ips(f, e);
}

/* nft_run(@once) for each family @f has addresses in, up to the first failure. */
static int ipt_run(const struct nu_fw *f, int (*once)(struct nft *c, void *arg, struct cni_err *e),
		   struct cni_err *e)
{
	int r = 0;

	for (size_t i = 0; r == 0 && i < 2; i++) {
		struct ipt_fw a = {f, ipt_families[i]};

		if (family_used(f, a.family))
			r = nft_run(once, &a, e);
	}
	return r;
}

int nu_fw_ipt_add(const struct nu_fw *f, struct cni_err *e)
{
	int r = ipt_check_ipt(f, e);

	if (r == 0)
		r = ipt_run(f, ipt_add_once, e);
	if (r < 0) {
		struct cni_err ignored = {0};

		/* as the reference: the per-address rules go again, chains and jumps stay */
		nu_fw_ipt_del(f, &ignored);
		return cni_wrap(e, r, "setting up iptables firewall rules for %s", f->cid);
	}
	return 0;
}

static int ipt_del_once(struct nft *c, void *arg, struct cni_err *e)
{
	const struct ipt_fw *a = arg;
	const struct nu_fw *f = a->f;
	struct nftnl_rule_list *rules;
	int r;

	r = nft_list_rules(c, a->family, IPT_TABLE, IPT_PRIV, &rules, e);
	if (r < 0)
		return r;
	nft_begin(c);
	for (size_t i = 0; i < f->n; i++) {
		if (!fam_ip(&f->ips[i], a->family))
			continue;
		for (enum ipt_kind k = IPT_IN; k <= IPT_OUT; k++) {
			struct nftnl_rule *want = ipt_rule(c, a, k, &f->ips[i]), *x;
			struct nftnl_rule_list_iter *it = nftnl_rule_list_iter_create(rules);

			/* `iptables -D`: the first match; a rule listed twice is removed once */
			while (want && it && (x = nftnl_rule_list_iter_next(it))) {
				if (nft_ipt_rule_same(x, want)) {
					nft_del_rule(c, x);
					nftnl_rule_list_del(x);
					nftnl_rule_free(x);
					break;
				}
			}
			if (it)
				nftnl_rule_list_iter_destroy(it);
			if (want)
				nftnl_rule_free(want);
		}
	}
	nft_rules_free(rules);
	return nft_commit(c, e);
}

int nu_fw_ipt_del(const struct nu_fw *f, struct cni_err *e)
{
	int r = check_ips(f, e);

	if (r == 0)
		r = ipt_run(f, ipt_del_once, e);
	if (r < 0)
		return cni_wrap(e, r, "removing iptables firewall rules of %s", f->cid);
	return 0;
}

static int ipt_check_family(struct nft *c, const struct ipt_fw *a, struct cni_err *e)
{
	const struct nu_fw *f = a->f;
	const char *fam = a->family == NFPROTO_IPV4 ? "ip" : "ip6";
	const char *need[] = {IPT_FORWARD, IPT_PRIV, f->admin_chain, IPT_STAGE1, IPT_STAGE2};
	enum ipt_kind kinds[IPT_KINDS + 64];
	const struct cni_prefix *ips[IPT_KINDS + 64];
	size_t nk = 0;
	struct ipt_state s;
	char text[256];
	int r = ipt_list(c, a->family, &s, e);

	if (r < 0)
		return r;
	for (size_t i = 0; r == 0 && i < (f->policy == NU_FW_OPEN ? 3u : 5u); i++)
		if (!nft_chain_exists(s.l.chains, need[i]))
			r = cni_fail(e, -ENOENT, 0, "chain %s %s %s does not exist", fam, IPT_TABLE,
				     need[i]);
	kinds[nk] = IPT_JUMP_PRIV, ips[nk++] = NULL;
	kinds[nk] = IPT_JUMP_ADMIN, ips[nk++] = NULL;
	for (size_t i = 0; i < f->n && nk + 2 < 64; i++) {
		if (!fam_ip(&f->ips[i], a->family))
			continue;
		kinds[nk] = IPT_IN, ips[nk++] = &f->ips[i];
		kinds[nk] = IPT_OUT, ips[nk++] = &f->ips[i];
	}
	for (size_t i = 0; f->policy != NU_FW_OPEN && i < 6; i++)
		if (!ipt_policy_rules[i].isolated_only || f->policy == NU_FW_ISOLATED)
			kinds[nk] = ipt_policy_rules[i].k, ips[nk++] = NULL;
	for (size_t i = 0; r == 0 && i < nk; i++) {
		struct nftnl_rule *want = ipt_rule(c, a, kinds[i], ips[i]);

		if (!want || c->err)
			r = cni_fail(e, c->err ? c->err : -ENOMEM, 0, "building a rule");
		else if (!nft_rule_find(ipt_rules(&s, ipt_chain(f, kinds[i])), want,
					nft_ipt_rule_same))
			r = cni_fail(e, -ENOENT, 0, "expected rule %s not found in %s %s",
				     ipt_text(text, sizeof(text), a, kinds[i], ips[i]), fam,
				     IPT_TABLE);
		if (want)
			nftnl_rule_free(want);
	}
	ipt_state_free(&s);
	return r;
}

int nu_fw_ipt_check(const struct nu_fw *f, struct cni_err *e)
{
	_cleanup_nft_ struct nft c = {0};
	int r = ipt_check_ipt(f, e);

	if (r == 0)
		r = nft_open(&c, e);
	for (size_t i = 0; r == 0 && i < 2; i++) {
		struct ipt_fw a = {f, ipt_families[i]};

		if (family_used(f, a.family))
			r = ipt_check_family(&c, &a, e);
	}
	if (r < 0)
		return cni_wrap(e, r, "checking iptables firewall rules of %s", f->cid);
	return 0;
}
