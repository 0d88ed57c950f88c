// SPDX-License-Identifier: Apache-2.0
/*
 * The reference plugins' iptables masquerade layout (ipMasqBackend "iptables"), written natively
 * through libnftnl in exactly the bytecode iptables-nft 1.8.9 produces for the Go plugin's
 * commands, so `iptables -t nat -S` lists it as if iptables had written it and the Go plugin's
 * `iptables -C/-D` find it. Per address family, in table ip|ip6 nat:
 *	-N CNI-<24 hex of sha512(net + cid)>
 *	-A CNI-<hash> -d <container subnet> -m comment --comment C -j ACCEPT
 *	-A CNI-<hash> ! -d 224.0.0.0/4|ff00::/8 -m comment --comment C -j MASQUERADE
 *	-A POSTROUTING -s <container ip>/32|128 -m comment --comment C -j CNI-<hash>
 * with C = name: "<net>" id: "<cid>". Each rule is what iptables-nft emits: payload[/bitwise]/cmp
 * for the address, an xt comment match (rev 0), a counter, then an immediate verdict or the xt
 * MASQUERADE target (rev 0); no userdata. The POSTROUTING base chain is created as iptables-nft
 * creates it (nat, hook postrouting, priority 100) when absent, and reused when present. ADD is
 * AppendUnique: a rule already in its chain is not appended again, so a second ADD (ours or the
 * Go plugin's) changes nothing. One batch per family. Removal lives in masq.c
 * (nu_nft_masq_del_iptables()).
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/x_tables.h>
#include <linux/netfilter/xt_comment.h>
#include <linux/netfilter_ipv4.h>

#include "nft/internal.h"

#define IPT_TABLE "nat"
#define IPT_POST "POSTROUTING"
#define IPT_CHAIN_LEN 29
/* Every rule of one attachment's layout, at most 3 per address. */
#define IPT_MAX_RULES 3

/* One attachment in one family. */
struct ipt_att {
	uint16_t family; /* NFPROTO_IPV4 or NFPROTO_IPV6 */
	char chain[IPT_CHAIN_LEN];
	char comment[XT_MAX_COMMENT_LEN];
	const struct cni_prefix *ips; /* all of them; those of other families are skipped */
	size_t n;
};

static uint16_t nfproto(const struct cni_prefix *p)
{
	return p->ip.family == AF_INET ? NFPROTO_IPV4 : NFPROTO_IPV6;
}

static const char *fam_name(uint16_t family)
{
	return family == NFPROTO_IPV4 ? "ip" : "ip6";
}

enum ipt_kind {
	IPT_ACCEPT, /* CNI-x: -d <subnet> -j ACCEPT */
	IPT_MASQ,   /* CNI-x: ! -d <multicast> -j MASQUERADE */
	IPT_JUMP,   /* POSTROUTING: -s <ip> -j CNI-x */
};

/* The rule of kind @k for address @ip, as iptables-nft builds it; the caller owns it. */
static struct nftnl_rule *ipt_rule(struct nft *c, const struct ipt_att *a, enum ipt_kind k,
				   const struct cni_prefix *ip)
{
	struct nftnl_rule *r = nft_rule_new(c, a->family, IPT_TABLE,
					    k == IPT_JUMP ? IPT_POST : a->chain, NULL);
	struct cni_prefix mc = { .ip.family = ip->ip.family };
	struct cni_prefix host = { .ip = ip->ip, .len = (uint8_t)cni_ip_bits(&ip->ip) };

	switch (k) {
	case IPT_ACCEPT:
		nft_x_ipt_addr(c, r, ip, true, false);
		break;
	case IPT_MASQ:
		mc.ip.a[0] = ip->ip.family == AF_INET ? 224 : 0xff;
		mc.len = ip->ip.family == AF_INET ? 4 : 8;
		nft_x_ipt_addr(c, r, &mc, true, true);
		break;
	case IPT_JUMP:
		nft_x_ipt_addr(c, r, &host, false, false);
		break;
	}
	nft_x_xt_comment(c, r, a->comment);
	nft_x_counter(c, r);
	if (k == IPT_MASQ)
		nft_x_xt_masquerade(c, r, a->family);
	else if (r)
		nft_x_verdict(c, r, k == IPT_ACCEPT ? NF_ACCEPT : NFT_JUMP,
			      k == IPT_JUMP ? a->chain : NULL);
	return r;
}

/* iptables -S text of the rule, for messages. */
static const char *ipt_text(char *buf, size_t len, const struct ipt_att *a, enum ipt_kind k,
			    const struct cni_prefix *ip)
{
	char s[CNI_PREFIX_STRLEN];
	struct cni_prefix p = *ip;

	if (k == IPT_JUMP)
		p.len = (uint8_t)cni_ip_bits(&ip->ip);
	else
		p.ip = cni_prefix_network(ip);
	if (k == IPT_MASQ)
		snprintf(buf, len, "-A %s ! -d %s -j MASQUERADE", a->chain,
			 ip->ip.family == AF_INET ? "224.0.0.0/4" : "ff00::/8");
	else if (k == IPT_ACCEPT)
		snprintf(buf, len, "-A %s -d %s -j ACCEPT", a->chain, cni_prefix_str(&p, s));
	else
		snprintf(buf, len, "-A %s -s %s -j %s", IPT_POST, cni_prefix_str(&p, s), a->chain);
	return buf;
}

/* What `iptables -C` finds; never a rule with an nft comment (iptables-nft writes none). */
static bool ipt_rule_same(const struct nftnl_rule *a, const struct nftnl_rule *b)
{
	return !nft_rule_comment(a) == !nft_rule_comment(b) && nft_ipt_rule_same(a, b);
}

/* The chain and rules of one family's layout as they are now. */
struct ipt_state {
	bool post, chain; /* the chains exist */
	struct nftnl_rule_list *post_rules, *chain_rules;
};

static void ipt_state_free(struct ipt_state *s)
{
	nft_rules_free(s->post_rules);
	nft_rules_free(s->chain_rules);
	memset(s, 0, sizeof(*s));
}

static int ipt_list(struct nft *c, const struct ipt_att *a, struct ipt_state *s,
		    struct cni_err *e)
{
	struct nftnl_chain_list *chains;
	int ret;

	memset(s, 0, sizeof(*s));
	ret = nft_list_chains(c, a->family, IPT_TABLE, &chains, e);
	if (ret < 0)
		return ret;
	s->post = nft_chain_exists(chains, IPT_POST);
	s->chain = nft_chain_exists(chains, a->chain);
	nft_chains_free(chains);
	ret = nft_list_rules(c, a->family, IPT_TABLE, IPT_POST, &s->post_rules, e);
	if (ret == 0)
		ret = nft_list_rules(c, a->family, IPT_TABLE, a->chain, &s->chain_rules, e);
	if (ret < 0)
		ipt_state_free(s);
	return ret;
}

/* AppendUnique in the reference's order: per address, ACCEPT, MASQUERADE, then the jump. */
static int ipt_add_once(struct nft *c, void *arg, struct cni_err *e)
{
	static const struct nft_hook post = { "nat", NF_INET_POST_ROUTING, NF_IP_PRI_NAT_SRC };
	const struct ipt_att *a = arg;
	struct nftnl_rule **queued;
	struct ipt_state s;
	size_t nq = 0;
	int ret;

	ret = ipt_list(c, a, &s, e);
	if (ret < 0)
		return ret;
	queued = calloc(a->n * IPT_MAX_RULES + 1, sizeof(*queued));
	if (!queued) {
		ipt_state_free(&s);
		return cni_fail(e, -ENOMEM, 0, "%s", strerror(ENOMEM));
	}
	for (size_t i = 0; i < a->n; i++) {
		if (nfproto(&a->ips[i]) != a->family)
			continue;
		for (enum ipt_kind k = IPT_ACCEPT; k <= IPT_JUMP; k++) {
			struct nftnl_rule *r = ipt_rule(c, a, k, &a->ips[i]);
			const char *ch = k == IPT_JUMP ? IPT_POST : a->chain;
			bool dup;

			if (!r)
				continue; /* c->err is set: nft_commit() reports it */
			dup = nft_rule_find(k == IPT_JUMP ? s.post_rules : s.chain_rules, r,
					    ipt_rule_same);
			for (size_t j = 0; !dup && j < nq; j++) {
				const char *qch = nftnl_rule_get_str(queued[j], NFTNL_RULE_CHAIN);

				dup = !strcmp(qch, ch) && ipt_rule_same(queued[j], r);
			}
			if (dup)
				nftnl_rule_free(r);
			else
				queued[nq++] = r;
		}
	}
	nft_begin(c);
	if (nq || !s.chain) {
		if (!s.post && !s.chain)
			nft_add_table(c, a->family, IPT_TABLE, NULL);
		/* in iptables' order (-N first, POSTROUTING on its first -A): nft lists them so */
		if (!s.chain)
			nft_add_chain(c, a->family, IPT_TABLE, a->chain, NULL, NULL);
		if (!s.post)
			nft_add_chain(c, a->family, IPT_TABLE, IPT_POST, &post, NULL);
	}
	for (size_t j = 0; j < nq; j++)
		nft_add_rule(c, queued[j]); /* frees it */
	free(queued);
	ipt_state_free(&s);
	return nft_commit(c, e);
}

struct sbuf {
	char *buf;
	size_t len, size; /* len may pass size: the text was cut */
};

static void sb_put(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_put(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(b->buf + (b->len < b->size ? b->len : b->size),
		      b->len < b->size ? b->size - b->len : 0, fmt, ap);
	va_end(ap);
	b->len += n > 0 ? (size_t)n : 0;
}

/*
 * Go's %q of @s. Valid CNI network names and container IDs are plain ASCII; other bytes are
 * copied (Go escapes non-printable runes and invalid UTF-8, which no valid name has).
 */
static void sb_quoted(struct sbuf *b, const char *s)
{
	static const char esc[] = "\a\b\f\n\r\t\v", letter[] = "abfnrtv";

	sb_put(b, "\"");
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		const char *p = strchr(esc, ch);

		if (ch == '"' || ch == '\\')
			sb_put(b, "\\%c", ch);
		else if (p)
			sb_put(b, "\\%c", letter[p - esc]);
		else if (ch < 0x20 || ch == 0x7f)
			sb_put(b, "\\x%02x", ch);
		else
			sb_put(b, "%c", ch);
	}
	sb_put(b, "\"");
}

/*
 * The attachment in @family: chain name and comment name: "<net>" id: "<cid>" (Go's
 * utils.FormatComment), cut at 255 bytes as the Go portmap's trimComment() does: iptables takes
 * no more, and container IDs are unbounded. The chain, named by hash, stays the identity.
 */
static int ipt_att_init(struct ipt_att *a, uint16_t family, const char *net, const char *cid,
			const struct cni_prefix *ips, size_t n, struct cni_err *e)
{
	struct sbuf b = { a->comment, 0, sizeof(a->comment) };

	memset(a, 0, sizeof(*a));
	a->family = family;
	a->ips = ips;
	a->n = n;
	nu_nft_masq_iptables_chain(a->chain, net, cid);
	sb_put(&b, "name: ");
	sb_quoted(&b, net);
	sb_put(&b, " id: ");
	sb_quoted(&b, cid);
	for (size_t i = 0; i < n; i++) {
		unsigned int bits = cni_ip_bits(&ips[i].ip);

		if (!bits || ips[i].len > bits)
			return cni_fail(e, -EINVAL, 0, "masquerade: invalid address #%zu", i);
	}
	return 0;
}

static bool has_family(const struct cni_prefix *ips, size_t n, int family)
{
	for (size_t i = 0; i < n; i++)
		if (ips[i].ip.family == family)
			return true;
	return false;
}

static const struct {
	int af;
	uint16_t nfproto;
} ipt_families[] = { { AF_INET, NFPROTO_IPV4 }, { AF_INET6, NFPROTO_IPV6 } };

int nu_nft_masq_add_iptables(const char *net, const char *cid, const struct cni_prefix *ips,
			     size_t n, struct cni_err *e)
{
	struct ipt_att a;
	int ret = 0;

	for (size_t f = 0; ret == 0 && f < 2; f++) {
		ret = ipt_att_init(&a, ipt_families[f].nfproto, net, cid, ips, n, e);
		if (ret == 0 && has_family(ips, n, ipt_families[f].af))
			ret = nft_run(ipt_add_once, &a, e);
	}
	if (ret < 0)
		return cni_wrap(e, ret, "setting up iptables masquerade for %s", cid);
	return 0;
}

/* One family: the chain, then each address's three rules, anywhere in their chains. */
static int ipt_check_family(struct nft *c, const struct ipt_att *a, struct cni_err *e)
{
	struct ipt_state s;
	int ret = ipt_list(c, a, &s, e);

	if (ret == 0 && !s.chain)
		ret = cni_fail(e, -ENOENT, 0, "chain %s nat %s does not exist",
			       fam_name(a->family), a->chain);
	for (size_t i = 0; ret == 0 && i < a->n; i++) {
		if (nfproto(&a->ips[i]) != a->family)
			continue;
		for (enum ipt_kind k = IPT_ACCEPT; ret == 0 && k <= IPT_JUMP; k++) {
			struct nftnl_rule *want = ipt_rule(c, a, k, &a->ips[i]);
			char text[160];

			if (c->err)
				ret = cni_fail(e, c->err, 0, "%s", strerror(-c->err));
			else if (!nft_rule_find(k == IPT_JUMP ? s.post_rules : s.chain_rules, want,
						 ipt_rule_same))
				ret = cni_fail(e, -ENOENT, 0, "no rule %s in %s nat",
					       ipt_text(text, sizeof(text), a, k, &a->ips[i]),
					       fam_name(a->family));
			if (want)
				nftnl_rule_free(want);
		}
	}
	ipt_state_free(&s);
	return ret;
}

int nu_nft_masq_check_iptables(const char *net, const char *cid, const struct cni_prefix *ips,
			       size_t n, struct cni_err *e)
{
	_cleanup_nft_ struct nft c = { 0 };
	struct ipt_att a;
	int ret = nft_open(&c, e);

	for (size_t f = 0; ret == 0 && f < 2; f++) {
		ret = ipt_att_init(&a, ipt_families[f].nfproto, net, cid, ips, n, e);
		if (ret == 0 && has_family(ips, n, ipt_families[f].af))
			ret = ipt_check_family(&c, &a, e);
	}
	if (ret < 0)
		return cni_wrap(e, ret, "checking iptables masquerade for %s", cid);
	return 0;
}

int nu_nft_masq_add_as(enum nu_masq_layout layout, const char *net, const char *ifname,
		       const char *cid, const struct cni_prefix *ips, size_t n, struct cni_err *e)
{
	if (layout == NU_MASQ_IPTABLES)
		return nu_nft_masq_add_iptables(net, cid, ips, n, e);
	return nu_nft_masq_add(net, ifname, cid, ips, n, e);
}

int nu_nft_masq_check_as(enum nu_masq_layout layout, const char *net, const char *ifname,
			 const char *cid, const struct cni_prefix *ips, size_t n,
			 struct cni_err *e)
{
	if (layout == NU_MASQ_IPTABLES)
		return nu_nft_masq_check_iptables(net, cid, ips, n, e);
	return nu_nft_masq_check(net, ifname, cid, ips, n, e);
}

int nu_nft_masq_del_any(const char *net, const char *ifname, const char *cid, struct cni_err *e)
{
	struct cni_err e2 = {0};
	int r1 = nu_nft_masq_del(net, ifname, cid, e);
	int r2 = nu_nft_masq_del_iptables(net, cid, r1 < 0 ? &e2 : e);

	return r1 < 0 ? r1 : r2;
}
