// SPDX-License-Identifier: Apache-2.0
/*
 * The host's iptables filter FORWARD chain (see fwd.h): whether it drops (iptables-nft through
 * nf_tables dumps, iptables-legacy through the x_tables getsockopts, read only), and the accepts
 * of one owner in the reference's CNI-FORWARD layout, encoded as iptables-nft 1.8.9 encodes
 *	-A CNI-FORWARD [-p <proto>] -s|-d <ip>/32|128 [-m <proto> --sport|--dport <port>]
 *		[-m conntrack --ctstate RELATED,ESTABLISHED|DNAT] -m comment --comment <owner> -j ACCEPT
 * (meta l4proto, the address, the port as a transport payload or the xt sctp match, xt conntrack
 * rev 3, xt comment rev 0, a counter, accept), so iptables -S lists them and iptables-save and
 * -restore round-trip them with their owner. An nftables accept in a table of ours would end only
 * that table: iptables' FORWARD DROP would still drop, hence rules in iptables' own chain.
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
#include "netutil/fwd.h"
#include "netutil/nft_internal.h"

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

/* ---- iptables-legacy: x_tables, read only ------------------------------------------------------ */

/* Does /proc/net/ip[6]_tables_names list "filter": the table exists in this netns. */
static bool legacy_filter_exists(int af)
{
	const char *path = af == AF_INET ? "/proc/net/ip_tables_names" : "/proc/net/ip6_tables_names";
	char buf[512];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;
	bool found = false;

	if (fd < 0)
		return false; /* no ip_tables module: no legacy table */
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	for (char *line = buf, *nl; n > 0 && line < buf + n && !found; line = nl + 1) {
		nl = strchr(line, '\n');
		if (!nl)
			nl = buf + n;
		found = nl - line == 6 && !strncmp(line, TABLE, 6);
	}
	return found;
}

/* Is a whole entry at @off inside @size, its target too: a table that changed between
 * GET_INFO and GET_ENTRIES, or a bad offset, never makes the walk read past the blob. */
static bool entry_ok(int af, const char *blob, uint32_t off, uint32_t size)
{
	size_t es = af == AF_INET ? sizeof(struct ipt_entry) : sizeof(struct ip6t_entry);
	uint16_t to, next;

	if ((uint64_t)off + es > size)
		return false;
	to = af == AF_INET ? ((const struct ipt_entry *)(blob + off))->target_offset
			   : ((const struct ip6t_entry *)(blob + off))->target_offset;
	next = af == AF_INET ? ((const struct ipt_entry *)(blob + off))->next_offset
			     : ((const struct ip6t_entry *)(blob + off))->next_offset;
	return to >= es && (uint64_t)to + sizeof(struct xt_entry_target) <= next &&
	       (uint64_t)off + next <= size;
}

/* The verdict (as x_tables encodes it: -NF_x - 1) or name of an entry's target. */
static const struct xt_entry_target *entry_target(int af, const char *blob, uint32_t off,
						  uint32_t size)
{
	uint16_t to;

	if (!entry_ok(af, blob, off, size))
		return NULL;
	to = af == AF_INET ? ((const struct ipt_entry *)(blob + off))->target_offset
			   : ((const struct ip6t_entry *)(blob + off))->target_offset;
	if ((uint64_t)off + to + sizeof(struct xt_standard_target) > size)
		return NULL;
	return (const struct xt_entry_target *)(blob + off + to);
}

static bool target_drops(const struct xt_entry_target *t, const char **what)
{
	if (!t)
		return false;
	if (!strcmp(t->u.user.name, XT_STANDARD_TARGET)) {
		*what = "DROP";
		return ((const struct xt_standard_target *)t)->verdict == -NF_DROP - 1;
	}
	*what = "REJECT";
	return !strcmp(t->u.user.name, "REJECT");
}

/* Tries of GET_INFO + GET_ENTRIES while the table changes size in between (EAGAIN): libiptc
 * retries too; a table rewritten this often for this long is an error. */
#define LEGACY_TRIES 16

/*
 * The filter table's info and entries (*@ent, free()d by the caller): 0, 1 when there is no
 * such table, -errno.
 */
static int legacy_read(int fd, int af, struct ipt_getinfo *info, struct ipt_get_entries **ent,
		       struct cni_err *e)
{
	int level = af == AF_INET ? IPPROTO_IP : IPPROTO_IPV6;
	int err = EAGAIN;

	for (int i = 0; i < LEGACY_TRIES && err == EAGAIN; i++) {
		socklen_t sl = sizeof(*info);

		memset(info, 0, sizeof(*info));
		snprintf(info->name, sizeof(info->name), "%s", TABLE);
		if (getsockopt(fd, level, af == AF_INET ? IPT_SO_GET_INFO : IP6T_SO_GET_INFO, info,
			       &sl)) {
			if (errno == ENOENT)
				return 1;
			err = errno;
			continue;
		}
		*ent = calloc(1, sizeof(**ent) + info->size);
		if (!*ent)
			return cni_fail(e, -ENOMEM, 0, "%s", strerror(ENOMEM));
		snprintf((*ent)->name, sizeof((*ent)->name), "%s", TABLE);
		(*ent)->size = info->size;
		sl = (socklen_t)(sizeof(**ent) + info->size);
		if (!getsockopt(fd, level, af == AF_INET ? IPT_SO_GET_ENTRIES : IP6T_SO_GET_ENTRIES,
				*ent, &sl))
			return 0;
		err = errno; /* EAGAIN: the table changed size since GET_INFO */
		free(*ent);
		*ent = NULL;
	}
	return cni_fail(e, -err, 0, "reading %s legacy iptables filter: %s", fam(af),
			strerror(err));
}

/* 1 when x_tables' filter FORWARD drops (@why set), 0 when not or absent, -errno. */
static int legacy_probe(int af, char *why, size_t len, struct cni_err *e)
{
	struct ipt_getinfo info; /* ip6t_getinfo has the same layout */
	struct ipt_get_entries *ent = NULL;
	uint32_t off, last = UINT32_MAX, uf;
	const char *what = "";
	int fd, ret;

	if (!legacy_filter_exists(af))
		return 0;
	fd = socket(af, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
	if (fd < 0)
		return cni_fail(e, -errno, 0, "reading %s legacy iptables: socket: %s", fam(af),
				strerror(errno));
	ret = legacy_read(fd, af, &info, &ent, e);
	close(fd);
	if (ret)
		return ret < 0 ? ret : 0;
	if (info.valid_hooks & (1u << NF_INET_FORWARD)) {
		const char *blob = (const char *)ent->entrytable;

		uf = info.underflow[NF_INET_FORWARD];
		/* the chain's rules run from its hook entry to its underflow (the policy) */
		for (off = info.hook_entry[NF_INET_FORWARD];
		     off < uf && entry_ok(af, blob, off, info.size);) {
			uint16_t next = af == AF_INET
						? ((const struct ipt_entry *)(blob + off))->next_offset
						: ((const struct ip6t_entry *)(blob + off))->next_offset;

			last = off;
			off += next;
		}
		if (target_drops(entry_target(af, blob, uf, info.size), &what)) {
			snprintf(why, len, "%s legacy iptables (x_tables) filter FORWARD: policy DROP",
				 fam(af));
			ret = 1;
		} else if (last != UINT32_MAX &&
			   target_drops(entry_target(af, blob, last, info.size), &what)) {
			snprintf(why, len,
				 "%s legacy iptables (x_tables) filter FORWARD: its last rule is -j %s",
				 fam(af), what);
			ret = 1;
		}
	}
	free(ent);
	return ret;
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

static int probe(int af, char *why, size_t len, bool *priv, struct cni_err *e)
{
	_cleanup_nft_ struct nft c = {0};
	int r = legacy_probe(af, why, len, e);

	*priv = false;
	if (r > 0)
		return NU_FWD_LEGACY;
	if (r == 0)
		r = nft_open(&c, e);
	if (r == 0)
		r = nft_probe(&c, af, why, len, priv, e);
	if (r < 0)
		return r;
	if (!r)
		snprintf(why, len, "no %s iptables FORWARD chain drops", fam(af));
	return r ? NU_FWD_NFT : NU_FWD_OPEN;
}

int nu_fwd_probe(int af, char *why, size_t len, struct cni_err *e)
{
	bool priv;

	return probe(af, why, len, &priv, e);
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
		r = nft_list_rules(c, family, TABLE, FORWARD, &l->fwd, e);
	if (r == 0)
		r = nft_list_rules(c, family, TABLE, PRIV, &l->priv, e);
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

struct del_op {
	bool (*match)(const char *, void *);
	void *arg;
};

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
	struct del_op o = {match, arg};
	int r = nft_run(del_once, &o, e);

	if (r < 0)
		return cni_wrap(e, r, "removing accepts from filter %s", PRIV);
	return 0;
}

/* The legacy case: accepts cannot be written there. */
static int legacy_fail(const char *why, struct cni_err *e)
{
	return cni_fail(e, -EOPNOTSUPP, 0,
			"%s drops forwarded traffic and this plugin does not write legacy "
			"iptables rules: make iptables-nft the host's iptables (Debian's default: "
			"update-alternatives --set iptables /usr/sbin/iptables-nft) or accept the "
			"container network in that chain yourself and set \"backend\": \"nftables\"",
			why);
}

int nu_fwd_sync(int af, const char *owner, const char *admin, const struct nu_fwd_accept *a,
		size_t n, struct cni_err *e)
{
	char why[160];
	bool priv;
	int st = probe(af, why, sizeof(why), &priv, e);

	if (st < 0)
		return st;
	if (st == NU_FWD_LEGACY)
		return legacy_fail(why, e);
	if (st == NU_FWD_OPEN && !priv)
		return 0; /* no CNI-FORWARD: no earlier accept of ours to remove */
	return nu_fwd_set(af, owner, admin, a, st == NU_FWD_NFT ? n : 0, e);
}

int nu_fwd_verify(int af, const char *owner, const char *admin, const struct nu_fwd_accept *a,
		  size_t n, struct cni_err *e)
{
	char why[160];
	int st = nu_fwd_probe(af, why, sizeof(why), e);

	if (st < 0)
		return st;
	if (st == NU_FWD_LEGACY)
		return legacy_fail(why, e);
	if (st == NU_FWD_OPEN)
		return 0;
	st = nu_fwd_check(af, owner, admin, a, n, e);
	if (st < 0)
		return cni_wrap(e, st, "%s", why);
	return 0;
}
