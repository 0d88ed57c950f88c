// SPDX-License-Identifier: Apache-2.0
/*
 * IP masquerade for bridge and ptp in the reference plugins' nftables layout: table
 * inet cni_plugins_masquerade, base chain postrouting (nat, srcnat) returning for multicast and
 * jumping (goto) to masq_checks, which holds one rule per container address:
 *	ip saddr <ip> ip daddr != <subnet> masquerade comment "<h16(net)>-<h16(if:cid)>, net: ..."
 * The comment is the identity: DEL and GC find rules by its hash prefix, never by address. ADD
 * rewrites postrouting (as the reference does, in the same transaction) and replaces the
 * attachment's earlier rules. Also removes the reference's iptables layout (ip/ip6 nat, chain
 * CNI-<hash>) written by iptables-nft. Deletes are idempotent.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter_ipv4.h>

#include "cni/hash.h"
#include "nft/internal.h"

#define MASQ_TABLE "cni_plugins_masquerade"
#define MASQ_CHAIN "masq_checks"
#define MASQ_POST "postrouting"
#define MASQ_TABLE_COMMENT "Masquerading for plugins from github.com/containernetworking/plugins"
#define MASQ_CHAIN_COMMENT                                                                         \
	"Masquerade traffic from certain IPs to any (non-multicast) IP outside their subnet"
#define COMMENT_MAX NFT_ATT_COMMENT_MAX
#define HASH_LEN NFT_ATT_HASH_LEN
#define ATT_KIND "masq" /* the attachment index, att.c */

static void put_stripped(char *buf, size_t *len, const char *s)
{
	for (; *s && *len < COMMENT_MAX; s++)
		if (*s != '"')
			buf[(*len)++] = *s;
}

/* The reference's comment: hash, then the names without double quotes, cut at 128 bytes. */
static char *masq_comment(char out[COMMENT_MAX + 1], const char *net, const char *ifname,
			  const char *cid)
{
	size_t len = 0;

	nft_att_hash(out, net, ifname, cid);
	len = HASH_LEN;
	put_stripped(out, &len, ", net: ");
	put_stripped(out, &len, net);
	put_stripped(out, &len, ", if: ");
	put_stripped(out, &len, ifname);
	put_stripped(out, &len, ", id: ");
	put_stripped(out, &len, cid);
	out[len] = '\0';
	return out;
}

static void x_nfproto(struct nft *c, struct nftnl_rule *r, int family)
{
	uint8_t proto = family == AF_INET ? NFPROTO_IPV4 : NFPROTO_IPV6;

	nft_x_meta(c, r, NFT_META_NFPROTO);
	nft_x_cmp(c, r, NFT_CMP_EQ, &proto, 1);
}

/* ip[6] saddr <ip> ip[6] daddr != <subnet> masquerade comment "..." */
static struct nftnl_rule *masq_rule(struct nft *c, const struct cni_prefix *ip, const char *comment)
{
	struct nftnl_rule *r = nft_rule_new(c, NFPROTO_INET, MASQ_TABLE, MASQ_CHAIN, comment);
	struct cni_prefix host = { .ip = ip->ip, .len = (uint8_t)cni_ip_bits(&ip->ip) };

	x_nfproto(c, r, ip->ip.family);
	nft_x_addr(c, r, &host, false, false);
	nft_x_addr(c, r, ip, true, true);
	nft_x_masq(c, r);
	return r;
}

/* ip daddr 224.0.0.0/4 return; ip6 daddr ff00::/8 return */
static struct nftnl_rule *multicast_rule(struct nft *c, int family)
{
	struct nftnl_rule *r = nft_rule_new(c, NFPROTO_INET, MASQ_TABLE, MASQ_POST, NULL);
	struct cni_prefix mc = { .ip.family = (uint8_t)family };

	mc.ip.a[0] = family == AF_INET ? 224 : 0xff;
	mc.len = family == AF_INET ? 4 : 8;
	x_nfproto(c, r, family);
	nft_x_addr(c, r, &mc, true, false);
	nft_x_verdict(c, r, NFT_RETURN, NULL);
	return r;
}

static int check_ips(const struct cni_prefix *ips, size_t n, struct cni_err *e)
{
	for (size_t i = 0; i < n; i++) {
		unsigned int bits = cni_ip_bits(&ips[i].ip);

		if (!bits || ips[i].len > bits)
			return cni_fail(e, -EINVAL, 0, "masquerade: invalid address #%zu", i);
	}
	return 0;
}

struct masq_add {
	const char *net, *ifname, *cid;
	const struct cni_prefix *ips;
	size_t n;
};

static int masq_add_once(struct nft *c, void *arg, struct cni_err *e)
{
	static const struct nft_hook post = { "nat", NF_INET_POST_ROUTING, NF_IP_PRI_NAT_SRC };
	const struct masq_add *m = arg;
	char hash[HASH_LEN + 1], comment[COMMENT_MAX + 1];
	struct nftnl_rule_list *rules = NULL, *post_rules;
	struct nftnl_rule *go, *want[3];
	int ret;

	/* masq_checks holds every container's rules: listed only to replace an earlier ADD's */
	ret = nft_att_exists(c, ATT_KIND, nft_att_hash(hash, m->net, m->ifname, m->cid), e);
	if (ret > 0)
		ret = nft_list_rules(c, NFPROTO_INET, MASQ_TABLE, MASQ_CHAIN, &rules, e);
	if (ret < 0)
		return ret;
	ret = nft_list_rules(c, NFPROTO_INET, MASQ_TABLE, MASQ_POST, &post_rules, e);
	if (ret < 0) {
		nft_rules_free(rules);
		return ret;
	}
	nft_begin(c);
	nft_add_table(c, NFPROTO_INET, MASQ_TABLE, MASQ_TABLE_COMMENT);
	nft_add_chain(c, NFPROTO_INET, MASQ_TABLE, MASQ_CHAIN, NULL, MASQ_CHAIN_COMMENT);
	nft_add_chain(c, NFPROTO_INET, MASQ_TABLE, MASQ_POST, &post, NULL);
	want[0] = multicast_rule(c, AF_INET);
	want[1] = multicast_rule(c, AF_INET6);
	want[2] = go = nft_rule_new(c, NFPROTO_INET, MASQ_TABLE, MASQ_POST, NULL);
	nft_x_verdict(c, go, NFT_GOTO, MASQ_CHAIN);
	/*
	 * The reference flushes and rewrites postrouting on every ADD. Deleting rules makes the
	 * kernel wait for a grace period before the batch is done: rewrite it only when it is not
	 * already exactly what it should be.
	 */
	if (nft_rules_are(post_rules, want, 3)) {
		for (int i = 0; i < 3; i++)
			nftnl_rule_free(want[i]);
	} else {
		nft_flush_chain(c, NFPROTO_INET, MASQ_TABLE, MASQ_POST);
		for (int i = 0; i < 3; i++)
			nft_add_rule(c, want[i]);
	}
	nft_rules_free(post_rules);
	nft_del_commented(c, rules, nft_comment_has_prefix, hash);
	nft_rules_free(rules);
	nft_att_add(c, ATT_KIND, hash);
	masq_comment(comment, m->net, m->ifname, m->cid);
	for (size_t i = 0; i < m->n; i++)
		nft_add_rule(c, masq_rule(c, &m->ips[i], comment));
	return nft_commit(c, e);
}

int nu_nft_masq_add(const char *net, const char *ifname, const char *cid,
		    const struct cni_prefix *ips, size_t n, struct cni_err *e)
{
	struct masq_add m = { net, ifname, cid, ips, n };
	int ret = check_ips(ips, n, e);

	if (ret == 0)
		ret = nft_run(masq_add_once, &m, e);
	if (ret < 0)
		return cni_wrap(e, ret, "setting up masquerade for %s", cid);
	return 0;
}

/* Delete the masq_checks rules whose comment @arg's match() accepts, and their index. */
static int masq_del_once(struct nft *c, void *arg, struct cni_err *e)
{
	struct nftnl_rule_list *rules;
	int ret = nft_list_rules(c, NFPROTO_INET, MASQ_TABLE, MASQ_CHAIN, &rules, e);

	if (ret == 0)
		ret = nft_att_delete(c, ATT_KIND, &rules, 1, arg, e);
	nft_rules_free(rules);
	return ret;
}

int nu_nft_masq_del(const char *net, const char *ifname, const char *cid, struct cni_err *e)
{
	char hash[HASH_LEN + 1];
	struct nft_att_match m = { nft_comment_has_prefix, nft_att_hash(hash, net, ifname, cid),
				   hash, NULL };
	int ret = nft_run(masq_del_once, &m, e);

	if (ret < 0)
		return cni_wrap(e, ret, "removing masquerade for %s", cid);
	return 0;
}

int nu_nft_masq_gc(const char *net, const struct cni_attachment *valid, size_t n,
		   struct cni_err *e)
{
	int ret = nft_att_gc(masq_del_once, net, valid, n, e);

	if (ret < 0)
		return cni_wrap(e, ret, "garbage-collecting masquerade rules of %s", net);
	return 0;
}

static bool find_rule(struct nftnl_rule_list *rules, struct nftnl_rule *want)
{
	struct nftnl_rule_list_iter *it = nftnl_rule_list_iter_create(rules);
	struct nftnl_rule *r;
	bool found = false;

	while (it && !found && (r = nftnl_rule_list_iter_next(it))) {
		found = nft_rule_same(r, want);
	}
	if (it)
		nftnl_rule_list_iter_destroy(it);
	return found;
}

int nu_nft_masq_check(const char *net, const char *ifname, const char *cid,
		      const struct cni_prefix *ips, size_t n, struct cni_err *e)
{
	char comment[COMMENT_MAX + 1], buf[CNI_PREFIX_STRLEN];
	struct nftnl_rule_list *rules = NULL, *post = NULL;
	_cleanup_nft_ struct nft c = { 0 };
	struct nftnl_rule *want;
	int ret;

	ret = check_ips(ips, n, e);
	if (ret == 0)
		ret = nft_open(&c, e);
	if (ret == 0)
		ret = nft_list_rules(&c, NFPROTO_INET, MASQ_TABLE, MASQ_CHAIN, &rules, e);
	if (ret == 0)
		ret = nft_list_rules(&c, NFPROTO_INET, MASQ_TABLE, MASQ_POST, &post, e);
	if (ret < 0)
		goto out;
	want = nft_rule_new(&c, NFPROTO_INET, MASQ_TABLE, MASQ_POST, NULL);
	nft_x_verdict(&c, want, NFT_GOTO, MASQ_CHAIN);
	if (c.err == 0 && !find_rule(post, want))
		ret = cni_fail(e, -ENOENT, 0, "chain inet %s %s does not jump to %s", MASQ_TABLE,
			       MASQ_POST, MASQ_CHAIN);
	nftnl_rule_free(want);
	masq_comment(comment, net, ifname, cid);
	for (size_t i = 0; ret == 0 && i < n; i++) {
		want = masq_rule(&c, &ips[i], comment);
		if (c.err == 0 && !find_rule(rules, want))
			ret = cni_fail(e, -ENOENT, 0, "no masquerade rule for %s in inet %s %s",
				       cni_prefix_str(&ips[i], buf), MASQ_TABLE, MASQ_CHAIN);
		nftnl_rule_free(want);
	}
	if (ret == 0 && c.err)
		ret = cni_fail(e, c.err, 0, "%s", strerror(-c.err));
out:
	nft_rules_free(rules);
	nft_rules_free(post);
	if (ret < 0)
		return cni_wrap(e, ret, "checking masquerade for %s", cid);
	return 0;
}

/* ---- the iptables layout ------------------------------------------------------------------ */

char *nu_nft_masq_iptables_chain(char out[29], const char *net, const char *cid)
{
	memcpy(out, "CNI-", 4);
	cni_sha512_hex(out + 4, 24, net, cid, NULL);
	return out;
}

struct ipt_del {
	uint16_t family;
	const char *chain;
};

/* One family: POSTROUTING jumps to the chain, then the chain itself. */
static int iptables_del_once(struct nft *c, void *arg, struct cni_err *e)
{
	const struct ipt_del *d = arg;
	struct nftnl_chain_list *chains;
	struct nftnl_rule_list *rules;
	struct nftnl_rule_list_iter *it;
	struct nftnl_rule *r;
	bool exists;
	int ret;

	ret = nft_list_chains(c, d->family, "nat", &chains, e);
	if (ret < 0)
		return ret;
	exists = nft_chain_exists(chains, d->chain);
	nft_chains_free(chains);
	ret = nft_list_rules(c, d->family, "nat", "POSTROUTING", &rules, e);
	if (ret < 0)
		return ret;
	nft_begin(c);
	it = nftnl_rule_list_iter_create(rules);
	while (it && (r = nftnl_rule_list_iter_next(it))) {
		const char *target = nft_rule_target(r);

		if (target && !strcmp(target, d->chain))
			nft_del_rule(c, r);
	}
	if (it)
		nftnl_rule_list_iter_destroy(it);
	nft_rules_free(rules);
	if (!it)
		return -ENOMEM;
	if (exists) {
		nft_flush_chain(c, d->family, "nat", d->chain);
		nft_del_chain(c, d->family, "nat", d->chain);
	}
	return nft_commit(c, e);
}

int nu_nft_masq_del_iptables(const char *net, const char *cid, struct cni_err *e)
{
	char chain[29];
	struct ipt_del v4 = { NFPROTO_IPV4, chain }, v6 = { NFPROTO_IPV6, chain };
	int ret;

	nu_nft_masq_iptables_chain(chain, net, cid);
	ret = nft_run(iptables_del_once, &v4, e);
	if (ret == 0)
		ret = nft_run(iptables_del_once, &v6, e);
	if (ret < 0)
		return cni_wrap(e, ret, "removing iptables masquerade chain %s", chain);
	return 0;
}
