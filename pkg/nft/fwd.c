// SPDX-License-Identifier: Apache-2.0
/*
 * The host's iptables filter FORWARD chain (see fwd.h): whether it drops (iptables-nft through
 * nf_tables dumps, iptables-legacy through libiptc, ipt_legacy.c), and the accepts of one owner
 * in the reference's CNI-FORWARD layout, in each of the two that drops. In nf_tables encoded as
 * iptables-nft 1.8.9 encodes
 *	-A CNI-FORWARD [-p <proto>] -s|-d <ip>/32|128 [-m <proto> --sport|--dport <port>]
 *		[-m conntrack --ctstate RELATED,ESTABLISHED|DNAT] -m comment --comment <owner> -j ACCEPT
 * (meta l4proto, the address, the port as a transport payload or the xt sctp match, xt conntrack
 * rev 3, xt comment rev 0, a counter, accept), in x_tables as iptables-legacy encodes the same
 * line, so iptables -S lists them and iptables-save and -restore round-trip them with their
 * owner. An nftables accept in a table of ours would end only that table: iptables' FORWARD DROP
 * would still drop, hence rules in iptables' own chain.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/x_tables.h>
#include <linux/netfilter/xt_comment.h>
#include <linux/netfilter/xt_conntrack.h>
#include <linux/netfilter/xt_sctp.h>
#include <linux/netfilter_ipv4/ip_tables.h>
#include <linux/netfilter_ipv6/ip6_tables.h>

#include "cni/hash.h"
#include "nft/fwd.h"
#include "nft/ipt_legacy.h"
#include "nft/internal.h"

#define TABLE "filter"
#define FORWARD "FORWARD"
#define PRIV "CNI-FORWARD"
#define FWD_COMMENT "CNI firewall plugin rules"
#define ADMIN_COMMENT "CNI firewall plugin admin overrides"
#define MAX_ACCEPTS (2 * 3 * 65536) /* two per port of each protocol */

static uint16_t nfproto(int af)
{
	return af == AF_INET ? NFPROTO_IPV4 : NFPROTO_IPV6;
}

static const char *fam(int af)
{
	return af == AF_INET ? "ip" : "ip6";
}

/* ---- iptables-nft ------------------------------------------------------------------------------ */

/* "DROP"/"REJECT" when the rule's verdict drops, else NULL. */
static const char *rule_drops(const struct nftnl_rule *r)
{
	struct nftnl_expr_iter *it = nftnl_expr_iter_create(r);
	const char *what = NULL;
	struct nftnl_expr *x;

	while (it && (x = nftnl_expr_iter_next(it))) {
		const char *name = nftnl_expr_get_str(x, NFTNL_EXPR_NAME);

		what = NULL;
		if (!strcmp(name, "immediate") && nftnl_expr_is_set(x, NFTNL_EXPR_IMM_VERDICT) &&
		    nftnl_expr_get_u32(x, NFTNL_EXPR_IMM_DREG) == NFT_REG_VERDICT &&
		    (int)nftnl_expr_get_u32(x, NFTNL_EXPR_IMM_VERDICT) == NF_DROP)
			what = "DROP";
		else if (!strcmp(name, "reject") ||
			 (!strcmp(name, "target") &&
			  !strcmp(nftnl_expr_get_str(x, NFTNL_EXPR_TG_NAME), "REJECT")))
			what = "REJECT";
	}
	if (it)
		nftnl_expr_iter_destroy(it);
	return what; /* the last expression's */
}

/* 1 when iptables-nft's FORWARD drops (@why set), else 0; *@priv: CNI-FORWARD exists. */
static int nft_probe(struct nft *c, int af, char *why, size_t len, bool *priv, struct cni_err *e)
{
	struct nftnl_chain_list *chains = NULL;
	struct nftnl_rule_list *rules = NULL;
	struct nftnl_chain_list_iter *it;
	struct nftnl_chain *ch;
	bool base = false, drop = false;
	int ret = nft_list_chains(c, nfproto(af), TABLE, &chains, e);

	if (ret < 0)
		return ret;
	*priv = nft_chain_exists(chains, PRIV);
	it = nftnl_chain_list_iter_create(chains);
	while (it && (ch = nftnl_chain_list_iter_next(it))) {
		if (strcmp(nftnl_chain_get_str(ch, NFTNL_CHAIN_NAME), FORWARD) ||
		    !nftnl_chain_is_set(ch, NFTNL_CHAIN_HOOKNUM) ||
		    nftnl_chain_get_u32(ch, NFTNL_CHAIN_HOOKNUM) != NF_INET_FORWARD)
			continue;
		base = true;
		drop = nftnl_chain_is_set(ch, NFTNL_CHAIN_POLICY) &&
		       nftnl_chain_get_u32(ch, NFTNL_CHAIN_POLICY) == NF_DROP;
	}
	if (it)
		nftnl_chain_list_iter_destroy(it);
	nft_chains_free(chains);
	if (!base)
		return 0;
	if (drop) {
		snprintf(why, len, "%s filter FORWARD (iptables-nft): policy DROP", fam(af));
		return 1;
	}
	ret = nft_list_rules(c, nfproto(af), TABLE, FORWARD, &rules, e);
	if (ret == 0 && !nftnl_rule_list_is_empty(rules)) {
		struct nftnl_rule_list_iter *ri = nftnl_rule_list_iter_create(rules);
		struct nftnl_rule *r, *last = NULL;
		const char *what;

		while (ri && (r = nftnl_rule_list_iter_next(ri)))
			last = r;
		if (ri)
			nftnl_rule_list_iter_destroy(ri);
		if (last && (what = rule_drops(last))) {
			snprintf(why, len, "%s filter FORWARD (iptables-nft): its last rule is -j %s",
				 fam(af), what);
			ret = 1;
		}
	}
	nft_rules_free(rules);
	return ret;
}

/* NU_FWD_NFT when iptables-nft's FORWARD drops (@why set), else NU_FWD_OPEN. */
static int probe(int af, char *why, size_t len, bool *priv, struct cni_err *e)
{
	_cleanup_nft_ struct nft c = {0};
	int r = nft_open(&c, e);

	*priv = false;
	if (r == 0)
		r = nft_probe(&c, af, why, len, priv, e);
	if (r < 0)
		return r;
	if (!r)
		snprintf(why, len, "no %s iptables-nft FORWARD chain drops", fam(af));
	return r ? NU_FWD_NFT : NU_FWD_OPEN;
}

/* ---- the owner's accepts ------------------------------------------------------------------------ */

char *nu_fwd_comment(char out[NU_FWD_COMMENT_MAX + 1], const char *kind, const char *net,
		     const char *ifname, const char *cid)
{
	char hash[NFT_ATT_HASH_LEN + 1];

	snprintf(out, NU_FWD_COMMENT_MAX + 1, "%s%s, net: %s, if: %s, id: %s", kind,
		 nft_att_hash(hash, net, ifname, cid), net, ifname, cid);
	return out;
}

bool nu_fwd_match_prefix(const char *comment, void *arg)
{
	return comment && !strncmp(comment, arg, strlen(arg));
}

int nu_fwd_gc(const char *kind, const char *net, const struct cni_attachment *valid, size_t n,
	      struct cni_err *e)
{
	struct nft_att_gc g;
	int r = nft_att_gc_init(&g, kind, net, valid, n, e);

	if (r == 0)
		r = nu_fwd_del(nft_att_gc_match, &g, e);
	nft_keep_free(&g.keep);
	return r;
}

/* --sport/--dport <port>: a transport payload for tcp/udp, the xt sctp match for sctp. */
static void x_port(struct nft *c, struct nftnl_rule *r, uint8_t proto, uint16_t port, bool dst)
{
	uint16_t be = htons(port);
	union {
		struct xt_sctp_info s;
		char pad[XT_ALIGN(sizeof(struct xt_sctp_info))];
	} u;

	if (proto != IPPROTO_SCTP) {
		nft_x_payload(c, r, NFT_PAYLOAD_TRANSPORT_HEADER, dst ? 2 : 0, 2);
		nft_x_cmp(c, r, NFT_CMP_EQ, &be, 2);
		return;
	}
	memset(&u, 0, sizeof(u));
	if (dst)
		u.s.dpts[0] = u.s.dpts[1] = port;
	else
		u.s.spts[0] = u.s.spts[1] = port;
	u.s.flags = dst ? XT_SCTP_DEST_PORTS : XT_SCTP_SRC_PORTS;
	for (int i = 0; i < XT_NUM_SCTP_FLAGS; i++)
		u.s.flag_info[i].chunktype = 0xff;
	nft_x_xt_match(c, r, "sctp", 0, &u, sizeof(u));
}

static struct nftnl_rule *accept_rule(struct nft *c, int af, const struct nu_fwd_accept *a,
				      const char *owner)
{
	struct nftnl_rule *r = nft_rule_new(c, nfproto(af), TABLE, PRIV, NULL);
	struct cni_prefix h = {.ip = a->ip, .len = (uint8_t)cni_ip_bits(&a->ip)};
	bool dnat = a->kind == NU_FWD_DNAT_TO || a->kind == NU_FWD_DNAT_FROM;
	bool to = a->kind == NU_FWD_TO_EST || a->kind == NU_FWD_DNAT_TO;

	if (dnat && r) {
		nftnl_rule_set_u32(r, NFTNL_RULE_COMPAT_PROTO, a->proto);
		nftnl_rule_set_u32(r, NFTNL_RULE_COMPAT_FLAGS, 0);
	}
	if (dnat) {
		nft_x_meta(c, r, NFT_META_L4PROTO);
		nft_x_cmp(c, r, NFT_CMP_EQ, &a->proto, 1);
	}
	nft_x_ipt_addr(c, r, &h, to, false);
	if (dnat) {
		x_port(c, r, a->proto, a->port, to);
		nft_x_xt_ctstate(c, r, XT_CONNTRACK_STATE_DNAT);
	} else if (to) {
		nft_x_xt_ctstate(c, r,
			  XT_CONNTRACK_STATE_BIT(IP_CT_RELATED) |
				  XT_CONNTRACK_STATE_BIT(IP_CT_ESTABLISHED));
	}
	nft_x_xt_comment(c, r, owner);
	nft_x_counter(c, r);
	nft_x_verdict(c, r, NF_ACCEPT, NULL);
	return r;
}

/* -m comment --comment <comment> -j <target>: the reference's two jumps. */
static struct nftnl_rule *jump_rule(struct nft *c, int af, const char *chain, const char *comment,
				    const char *target)
{
	struct nftnl_rule *r = nft_rule_new(c, nfproto(af), TABLE, chain, NULL);

	nft_x_xt_comment(c, r, comment);
	nft_x_counter(c, r);
	nft_x_verdict(c, r, NFT_JUMP, target);
	return r;
}

static const char *accept_text(char *buf, size_t len, const struct nu_fwd_accept *a)
{
	static const char *const kinds[] = {
		"-s %s -j ACCEPT", "-d %s -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
		"-d %s -p %u --dport %u -m conntrack --ctstate DNAT -j ACCEPT",
		"-s %s -p %u --sport %u -m conntrack --ctstate DNAT -j ACCEPT"};
	char ip[CNI_IP_STRLEN];

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	snprintf(buf, len, kinds[a->kind], cni_ip_str(&a->ip, ip), a->proto, a->port);
#pragma GCC diagnostic pop
	return buf;
}

struct fwd_op {
	int af;
	const char *owner, *admin;
	const struct nu_fwd_accept *a;
	size_t n;
};

void nft_fwd_lists_free(struct nft_fwd_lists *l)
{
	nft_chains_free(l->chains);
	nft_rules_free(l->fwd);
	nft_rules_free(l->priv);
	memset(l, 0, sizeof(*l));
}

int nft_fwd_list(struct nft *c, uint16_t family, struct nft_fwd_lists *l, struct cni_err *e)
{
	int r;

	memset(l, 0, sizeof(*l));
	r = nft_list_chains(c, family, TABLE, &l->chains, e);
	if (r == 0)
		r = nft_list_rules_each(c, (const struct nft_rules_req[]){
			{ family, TABLE, FORWARD, &l->fwd },
			{ family, TABLE, PRIV, &l->priv },
		}, 2, e);
	if (r < 0)
		nft_fwd_lists_free(l);
	return r;
}

static bool owned(const struct nftnl_rule *r, bool (*match)(const char *, void *), void *arg)
{
	char comment[XT_MAX_COMMENT_LEN];

	return match(nft_rule_xt_comment(r, comment), arg);
}

/* Queue the deletion of every rule of @rules whose xt comment @match takes; how many. */
static size_t del_owned(struct nft *c, struct nftnl_rule_list *rules,
			bool (*match)(const char *, void *), void *arg)
{
	struct nftnl_rule_list_iter *it = rules ? nftnl_rule_list_iter_create(rules) : NULL;
	struct nftnl_rule *r;
	size_t n = 0;

	while (it && (r = nftnl_rule_list_iter_next(it)))
		if (owned(r, match, arg)) {
			nft_del_rule(c, r);
			n++;
		}
	if (it)
		nftnl_rule_list_iter_destroy(it);
	return n;
}

static bool in_family(const struct fwd_op *o, size_t i)
{
	return o->a[i].ip.family == o->af;
}

static int set_once(struct nft *c, void *arg, struct cni_err *e)
{
	const struct fwd_op *o = arg;
	struct nft_fwd_lists s;
	size_t want = 0, gone;
	int r = nft_fwd_list(c, nfproto(o->af), &s, e);

	if (r < 0)
		return r;
	for (size_t i = 0; i < o->n; i++)
		want += in_family(o, i);
	nft_begin(c);
	gone = del_owned(c, s.priv, nu_fwd_match_prefix, (void *)o->owner);
	if (want && !nft_chain_exists(s.chains, FORWARD)) {
		/* the host's chain went away since the probe: nothing drops, nothing to add */
		want = 0;
	}
	if (want) {
		struct nftnl_rule *j;

		if (!nft_chain_exists(s.chains, PRIV))
			nft_add_chain(c, nfproto(o->af), TABLE, PRIV, NULL, NULL);
		if (o->admin && !nft_chain_exists(s.chains, o->admin))
			nft_add_chain(c, nfproto(o->af), TABLE, o->admin, NULL, NULL);
		j = jump_rule(c, o->af, FORWARD, FWD_COMMENT, PRIV);
		if (j && nft_rule_find(s.fwd, j, nft_ipt_rule_same))
			nftnl_rule_free(j);
		else
			nft_insert_rule(c, j);
		if (o->admin) {
			j = jump_rule(c, o->af, PRIV, ADMIN_COMMENT, o->admin);
			if (j && nft_rule_find(s.priv, j, nft_ipt_rule_same))
				nftnl_rule_free(j);
			else
				nft_insert_rule(c, j);
		}
		for (size_t i = 0; i < o->n; i++)
			if (in_family(o, i))
				nft_add_rule(c, accept_rule(c, o->af, &o->a[i], o->owner));
	}
	nft_fwd_lists_free(&s);
	if (!want && !gone)
		return 0; /* an empty batch */
	return nft_commit(c, e);
}

static int check_op(const struct fwd_op *o, struct cni_err *e)
{
	if (!o->owner || !*o->owner || strlen(o->owner) >= XT_MAX_COMMENT_LEN)
		return cni_fail(e, -EINVAL, 0, "CNI-FORWARD: invalid owner comment");
	if (o->admin && (!*o->admin || strlen(o->admin) >= XT_EXTENSION_MAXNAMELEN))
		return cni_fail(e, -EINVAL, 0, "CNI-FORWARD: invalid admin chain name");
	if (o->n > MAX_ACCEPTS)
		return cni_fail(e, -E2BIG, 0, "CNI-FORWARD: more than %d accepts", MAX_ACCEPTS);
	for (size_t i = 0; i < o->n; i++)
		if (!cni_ip_bits(&o->a[i].ip) || o->a[i].kind > NU_FWD_DNAT_FROM)
			return cni_fail(e, -EINVAL, 0, "CNI-FORWARD: invalid accept #%zu", i);
	return 0;
}

int nu_fwd_set(int af, const char *owner, const char *admin, const struct nu_fwd_accept *a,
	       size_t n, struct cni_err *e)
{
	struct fwd_op o = {af, owner, admin, a, n};
	int r = check_op(&o, e);

	if (r == 0)
		r = nft_run(set_once, &o, e);
	if (r < 0)
		return cni_wrap(e, r, "accepting forwarded traffic in %s filter %s", fam(af), PRIV);
	return 0;
}

int nu_fwd_check(int af, const char *owner, const char *admin, const struct nu_fwd_accept *a,
		 size_t n, struct cni_err *e)
{
	_cleanup_nft_ struct nft c = {0};
	struct fwd_op o = {af, owner, admin, a, n};
	struct nft_fwd_lists s;
	char text[160];
	int r = check_op(&o, e);

	if (r == 0)
		r = nft_open(&c, e);
	if (r == 0)
		r = nft_fwd_list(&c, nfproto(af), &s, e);
	if (r < 0)
		return r;
	if (!nft_chain_exists(s.chains, PRIV))
		r = cni_fail(e, -ENOENT, 0, "chain %s filter %s does not exist", fam(af), PRIV);
	for (int k = 0; r == 0 && k < (admin ? 2 : 1); k++) {
		struct nftnl_rule *j = k ? jump_rule(&c, af, PRIV, ADMIN_COMMENT, admin)
					 : jump_rule(&c, af, FORWARD, FWD_COMMENT, PRIV);

		if (!j || !nft_rule_find(k ? s.priv : s.fwd, j, nft_ipt_rule_same))
			r = cni_fail(e, -ENOENT, 0,
				     "expected rule -A %s -m comment --comment \"%s\" -j %s not "
				     "found in %s filter",
				     k ? PRIV : FORWARD, k ? ADMIN_COMMENT : FWD_COMMENT,
				     k ? admin : PRIV, fam(af));
		if (j)
			nftnl_rule_free(j);
	}
	for (size_t i = 0; r == 0 && i < n; i++) {
		struct nftnl_rule *want;

		if (!in_family(&o, i))
			continue;
		want = accept_rule(&c, af, &a[i], owner);
		if (!want || !nft_rule_find(s.priv, want, nft_ipt_rule_same))
			r = cni_fail(e, -ENOENT, 0, "expected rule -A %s %s (comment \"%s\") not found "
				     "in %s filter", PRIV, accept_text(text, sizeof(text), &a[i]),
				     owner, fam(af));
		if (want)
			nftnl_rule_free(want);
	}
	nft_fwd_lists_free(&s);
	return r;
}

/* ---- iptables-legacy (x_tables, ipt_legacy.c): the same layout, the same rules --------------- */

static void legacy_accept(struct ipt_rule *r, const struct nu_fwd_accept *a, const char *owner)
{
	bool dnat = a->kind == NU_FWD_DNAT_TO || a->kind == NU_FWD_DNAT_FROM;
	bool to = a->kind == NU_FWD_TO_EST || a->kind == NU_FWD_DNAT_TO;

	*r = (struct ipt_rule){
		.ip = &a->ip,
		.dst = to,
		.proto = dnat ? a->proto : 0,
		.port = a->port,
		.dport = to,
		.ctstate = dnat ? XT_CONNTRACK_STATE_DNAT
			   : to ? XT_CONNTRACK_STATE_BIT(IP_CT_RELATED) |
					  XT_CONNTRACK_STATE_BIT(IP_CT_ESTABLISHED)
				: 0,
		.comment = owner,
		.target = "ACCEPT",
	};
}

/* The two jumps: FORWARD -> CNI-FORWARD (k 0), CNI-FORWARD -> admin (k 1). */
static struct ipt_rule legacy_jump(int k, const char *admin)
{
	return (struct ipt_rule){.comment = k ? ADMIN_COMMENT : FWD_COMMENT,
				 .target = k ? admin : PRIV};
}

struct legacy_op {
	const struct fwd_op *o;
	char why[160];
	bool drops;
};

static void legacy_why(struct ipt_legacy *t, struct legacy_op *l)
{
	bool policy;
	const char *what = ipt_legacy_drops(t, FORWARD, &policy);

	l->drops = what != NULL;
	if (policy)
		snprintf(l->why, sizeof(l->why),
			 "%s legacy iptables (x_tables) filter FORWARD: policy DROP", fam(l->o->af));
	else if (what)
		snprintf(l->why, sizeof(l->why),
			 "%s legacy iptables (x_tables) filter FORWARD: its last rule is -j %s",
			 fam(l->o->af), what);
}

/*
 * The two jumps (@add: each inserted first in its chain when absent, the reference's -I when
 * ! -C; else -ENOENT naming the first missing one), then the owner's accepts (@add: appended;
 * else -ENOENT naming the first missing one).
 */
static int legacy_rules(struct ipt_legacy *t, const struct fwd_op *o, bool add, struct cni_err *e)
{
	char text[160];
	int r = 0;

	for (int k = 0; r == 0 && k < (o->admin ? 2 : 1); k++) {
		struct ipt_rule j = legacy_jump(k, o->admin);

		r = ipt_legacy_has(t, k ? PRIV : FORWARD, &j, e);
		if (r == 0 && add)
			r = ipt_legacy_add(t, k ? PRIV : FORWARD, &j, true, e);
		else if (r == 0)
			r = cni_fail(e, -ENOENT, 0,
				     "expected rule -A %s -m comment --comment \"%s\" -j %s not "
				     "found in %s legacy iptables filter",
				     k ? PRIV : FORWARD, j.comment, j.target, fam(o->af));
		r = r < 0 ? r : 0;
	}
	for (size_t i = 0; r == 0 && i < o->n; i++) {
		struct ipt_rule a;

		if (!in_family(o, i))
			continue;
		legacy_accept(&a, &o->a[i], o->owner);
		if (add)
			r = ipt_legacy_add(t, PRIV, &a, false, e);
		else if ((r = ipt_legacy_has(t, PRIV, &a, e)) == 0)
			r = cni_fail(e, -ENOENT, 0,
				     "expected rule -A %s %s (comment \"%s\") not found in %s legacy "
				     "iptables filter",
				     PRIV, accept_text(text, sizeof(text), &o->a[i]), o->owner,
				     fam(o->af));
		r = r < 0 ? r : 0;
	}
	return r;
}

/* One snapshot under the lock: probe, the owner's rules out, and back in where FORWARD drops. */
static int legacy_sync_once(struct ipt_legacy *t, void *arg, struct cni_err *e)
{
	struct legacy_op *l = arg;
	const struct fwd_op *o = l->o;
	size_t want = 0;
	int r, gone;

	legacy_why(t, l);
	for (size_t i = 0; l->drops && i < o->n; i++)
		want += in_family(o, i);
	gone = ipt_legacy_del_owned(t, PRIV, nu_fwd_match_prefix, (void *)o->owner, e);
	if (gone < 0 || !want)
		return gone;
	r = ipt_legacy_has_chain(t, PRIV) ? 0 : ipt_legacy_new_chain(t, PRIV, e);
	if (r == 0 && o->admin && !ipt_legacy_has_chain(t, o->admin))
		r = ipt_legacy_new_chain(t, o->admin, e);
	if (r == 0)
		r = legacy_rules(t, o, true, e);
	return r < 0 ? r : 1;
}

/* CHECK's: where legacy FORWARD drops, the chain, the jumps and every accept. */
static int legacy_check_once(struct ipt_legacy *t, void *arg, struct cni_err *e)
{
	struct legacy_op *l = arg;

	legacy_why(t, l);
	if (!l->drops)
		return 0;
	if (!ipt_legacy_has_chain(t, PRIV))
		return cni_fail(e, -ENOENT, 0, "chain %s legacy iptables filter %s does not exist",
				fam(l->o->af), PRIV);
	return legacy_rules(t, l->o, false, e);
}

static int legacy_probe_once(struct ipt_legacy *t, void *arg, struct cni_err *e)
{
	(void)e;
	legacy_why(t, arg);
	return 0;
}

int nu_fwd_probe(int af, char *why, size_t len, struct cni_err *e)
{
	struct fwd_op o = {.af = af};
	struct legacy_op l = {.o = &o};
	char nwhy[160];
	bool priv;
	int r = ipt_legacy_run(af, false, legacy_probe_once, &l, e), st;

	if (r < 0)
		return r;
	st = probe(af, nwhy, sizeof(nwhy), &priv, e);
	if (st < 0)
		return st;
	if (l.drops && st)
		snprintf(why, len, "%s; %s", l.why, nwhy);
	else
		snprintf(why, len, "%s", l.drops ? l.why : nwhy);
	return st | (l.drops ? NU_FWD_LEGACY : 0);
}

struct del_op {
	bool (*match)(const char *, void *);
	void *arg;
};

static int legacy_del_once(struct ipt_legacy *t, void *arg, struct cni_err *e)
{
	const struct del_op *o = arg;

	return ipt_legacy_del_owned(t, PRIV, o->match, o->arg, e);
}

/* Both families in one batch. */
static int del_once(struct nft *c, void *arg, struct cni_err *e)
{
	const struct del_op *o = arg;
	struct nftnl_rule_list *rules[2] = {NULL, NULL};
	size_t n = 0;
	int r = nft_list_rules(c, NFPROTO_IPV4, TABLE, PRIV, &rules[0], e);

	if (r == 0)
		r = nft_list_rules(c, NFPROTO_IPV6, TABLE, PRIV, &rules[1], e);
	if (r == 0) {
		nft_begin(c);
		for (size_t i = 0; i < 2; i++)
			n += del_owned(c, rules[i], o->match, o->arg);
	}
	nft_rules_free(rules[0]);
	nft_rules_free(rules[1]);
	return r < 0 || !n ? r : nft_commit(c, e);
}

int nu_fwd_del(bool (*match)(const char *comment, void *arg), void *arg, struct cni_err *e)
{
	static const int afs[] = {AF_INET, AF_INET6};
	struct del_op o = {match, arg};
	int r = nft_run(del_once, &o, e);

	if (r < 0)
		return cni_wrap(e, r, "removing accepts from filter %s", PRIV);
	for (size_t i = 0; i < 2; i++) {
		r = ipt_legacy_run(afs[i], true, legacy_del_once, &o, e);
		if (r < 0)
			return cni_wrap(e, r, "removing accepts from %s legacy iptables filter %s",
					fam(afs[i]), PRIV);
	}
	return 0;
}

int nu_fwd_sync(int af, unsigned int where, const char *owner, const char *admin,
		const struct nu_fwd_accept *a, size_t n, struct cni_err *e)
{
	struct fwd_op o = {af, owner, admin, a, n};
	struct legacy_op l = {.o = &o};
	char why[160];
	bool priv;
	int st = check_op(&o, e);

	if (st == 0 && (where & NU_FWD_LEGACY)) {
		st = ipt_legacy_run(af, true, legacy_sync_once, &l, e);
		if (st < 0)
			return cni_wrap(e, st, "accepting forwarded traffic in %s legacy iptables "
					"filter %s", fam(af), PRIV);
	}
	if (st < 0 || !(where & NU_FWD_NFT))
		return st < 0 ? st : 0;
	st = probe(af, why, sizeof(why), &priv, e);
	if (st < 0)
		return st;
	if (st == NU_FWD_OPEN && !priv)
		return 0; /* no CNI-FORWARD: no earlier accept of ours to remove */
	return nu_fwd_set(af, owner, admin, a, st == NU_FWD_NFT ? n : 0, e);
}

int nu_fwd_verify(int af, unsigned int where, const char *owner, const char *admin,
		  const struct nu_fwd_accept *a, size_t n, struct cni_err *e)
{
	struct fwd_op o = {af, owner, admin, a, n};
	struct legacy_op l = {.o = &o};
	char why[160];
	bool priv;
	int st = check_op(&o, e);

	if (st == 0 && (where & NU_FWD_LEGACY)) {
		st = ipt_legacy_run(af, false, legacy_check_once, &l, e);
		if (st < 0)
			return l.drops ? cni_wrap(e, st, "%s", l.why) : st;
	}
	if (st < 0 || !(where & NU_FWD_NFT))
		return st < 0 ? st : 0;
	st = probe(af, why, sizeof(why), &priv, e);
	if (st <= 0)
		return st;
	st = nu_fwd_check(af, owner, admin, a, n, e);
	if (st < 0)
		return cni_wrap(e, st, "%s", why);
	return 0;
}
