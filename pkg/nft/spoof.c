// SPDX-License-Identifier: Apache-2.0
/*
 * The bridge plugin's MAC spoof check in the reference layout: table bridge nat, base chain
 * PREROUTING (filter, prerouting, priority -300, policy accept) with one rule per attachment
 *	iifname "<host veth>" jump cni-br-iface-<cid>-<ifname>
 * whose chain jumps to cni-br-iface-<cid>-<ifname>-mac:
 *	ether saddr <container mac> return
 *	drop
 * every rule commented "macspoofchk-<cid>-<ifname>". ADD is one transaction that also replaces an
 * earlier ADD's rules (the reference would stack a second PREROUTING jump). DEL removes the
 * PREROUTING rule by comment and both chains; the table and PREROUTING stay, as upstream.
 * Absent objects are success.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter_bridge.h>

#include "cni/hash.h"
#include "nft/internal.h"

#define BR_TABLE "nat"
#define BR_PRE "PREROUTING"
#define BR_PRIO (-300)
#define NAME_MAX_LEN 256 /* NFT_CHAIN_MAXNAMELEN */

struct spoof_names {
	char id[NAME_MAX_LEN - 20]; /* "<cid>-<ifname>" */
	char comment[NAME_MAX_LEN];
	char iface[NAME_MAX_LEN];
	char mac[NAME_MAX_LEN];
};

/*
 * The names of attachment (@cid, @ifname), or of the "<cid>-<ifname>" @id read back. A pair too
 * long for a chain name (container IDs are unbounded; the reference fails there) is named
 * "<first 32 bytes of cid>:<64 hex of sha512(cid-ifname)>": no valid container ID or interface
 * name holds a ':', so it never collides with a short pair's; DEL and GC (which names every valid
 * attachment this way, spoof_key()) find it by the same formula.
 */
static int spoof_names(struct spoof_names *s, const char *cid, const char *ifname, const char *id,
		       struct cni_err *e)
{
	int len = id ? snprintf(s->id, sizeof(s->id), "%s", id)
		     : snprintf(s->id, sizeof(s->id), "%s-%s", cid, ifname);

	if (!id && len >= 0 && (size_t)len >= sizeof(s->id)) {
		len = snprintf(s->id, sizeof(s->id), "%.32s:", cid);
		cni_sha512_hex(s->id + len, 64, cid, "-", ifname, NULL);
	}
	if (len < 0 || (size_t)len >= sizeof(s->id))
		return cni_fail(e, -ENAMETOOLONG, 0, "mac spoof check: name too long for a chain");
	snprintf(s->comment, sizeof(s->comment), "macspoofchk-%s", s->id);
	snprintf(s->iface, sizeof(s->iface), "cni-br-iface-%s", s->id);
	snprintf(s->mac, sizeof(s->mac), "cni-br-iface-%s-mac", s->id);
	return 0;
}

/* The four rules, in order: PREROUTING jump, iface jump, mac return, drop. */
static struct nftnl_rule *spoof_rule(struct nft *c, const struct spoof_names *s, int which,
				     const char *host_veth, const uint8_t mac[6])
{
	const char *chain = which == 0 ? BR_PRE : which == 1 ? s->iface : s->mac;
	struct nftnl_rule *r = nft_rule_new(c, NFPROTO_BRIDGE, BR_TABLE, chain, s->comment);
	char ifname[16] = { 0 };

	switch (which) {
	case 0:
		/* As nft: the name zero-padded to IFNAMSIZ, so "veth1" does not match "veth10". */
		strncpy(ifname, host_veth, sizeof(ifname) - 1);
		nft_x_meta(c, r, NFT_META_IIFNAME);
		nft_x_cmp(c, r, NFT_CMP_EQ, ifname, sizeof(ifname));
		nft_x_verdict(c, r, NFT_JUMP, s->iface);
		break;
	case 1:
		nft_x_verdict(c, r, NFT_JUMP, s->mac);
		break;
	case 2:
		nft_x_payload(c, r, NFT_PAYLOAD_LL_HEADER, 6, 6);
		nft_x_cmp(c, r, NFT_CMP_EQ, mac, 6);
		nft_x_verdict(c, r, NFT_RETURN, NULL);
		break;
	default:
		nft_x_verdict(c, r, NF_DROP, NULL);
		break;
	}
	return r;
}

static bool comment_is(const char *comment, void *want)
{
	return !strcmp(comment, want);
}

struct spoof_add {
	struct spoof_names s;
	const char *host_veth;
	const uint8_t *mac;
};

static int spoof_add_once(struct nft *c, void *arg, struct cni_err *e)
{
	static const struct nft_hook pre = { "filter", NF_BR_PRE_ROUTING, BR_PRIO };
	const struct spoof_add *a = arg;
	const struct spoof_names *s = &a->s;
	struct nftnl_rule_list *rules;
	int ret;

	ret = nft_list_rules(c, NFPROTO_BRIDGE, BR_TABLE, BR_PRE, &rules, e);
	if (ret < 0)
		return ret;
	nft_begin(c);
	nft_add_table(c, NFPROTO_BRIDGE, BR_TABLE, NULL);
	nft_add_chain(c, NFPROTO_BRIDGE, BR_TABLE, BR_PRE, &pre, NULL);
	nft_add_chain(c, NFPROTO_BRIDGE, BR_TABLE, s->iface, NULL, NULL);
	nft_add_chain(c, NFPROTO_BRIDGE, BR_TABLE, s->mac, NULL, NULL);
	nft_del_commented(c, rules, comment_is, (void *)s->comment);
	nft_rules_free(rules);
	nft_flush_chain(c, NFPROTO_BRIDGE, BR_TABLE, s->iface);
	nft_flush_chain(c, NFPROTO_BRIDGE, BR_TABLE, s->mac);
	for (int i = 0; i < 4; i++)
		nft_add_rule(c, spoof_rule(c, s, i, a->host_veth, a->mac));
	return nft_commit(c, e);
}

int nu_nft_spoofchk_add(const char *cid, const char *ifname, const char *host_veth,
			const uint8_t mac[6], struct cni_err *e)
{
	struct spoof_add a = { .host_veth = host_veth, .mac = mac };
	int ret;

	ret = spoof_names(&a.s, cid, ifname, NULL, e);
	if (ret == 0)
		ret = nft_run(spoof_add_once, &a, e);
	if (ret < 0)
		return cni_wrap(e, ret, "setting up mac spoof check for %s", host_veth);
	return 0;
}

/*
 * Remove attachments: @id, a "<cid>-<ifname>" name, or without it every attachment found
 * (PREROUTING comments, chain pairs) whose name is none of @keep's.
 */
struct spoof_del {
	const char *id;
	struct nft_keep keep; /* GC: the names of the valid attachments */
	nu_nft_owns_fn owns;
	void *arg;
	/* GC: attachments whose PREROUTING rule belongs to another owner; their chains stay. */
	struct nft_keep kept;
};

/* The host veth a PREROUTING rule matches: the data of its first cmp (iifname, zero-padded). */
static bool rule_iifname(const struct nftnl_rule *r, char out[16])
{
	struct nftnl_expr_iter *it = nftnl_expr_iter_create(r);
	struct nftnl_expr *x;
	bool found = false;

	while (it && !found && (x = nftnl_expr_iter_next(it))) {
		const char *name = nftnl_expr_get_str(x, NFTNL_EXPR_NAME);
		uint32_t len = 0;
		const void *data;

		if (!name || strcmp(name, "cmp"))
			continue;
		data = nftnl_expr_get(x, NFTNL_EXPR_CMP_DATA, &len);
		if (!data || !len || len > 16)
			break;
		memset(out, 0, 16);
		memcpy(out, data, len);
		out[15] = '\0';
		found = true;
	}
	if (it)
		nftnl_expr_iter_destroy(it);
	return found;
}

/* GC's key of a valid attachment: its name, as ADD makes it. */
static bool spoof_key(char out[NFT_KEEP_KEY_MAX], const char *net, const char *cid,
		      const char *ifname)
{
	struct spoof_names s;

	(void)net; /* the names are not keyed by network */
	if (!ifname || spoof_names(&s, cid, ifname, NULL, NULL) < 0)
		return false;
	_Static_assert(sizeof(s.id) <= NFT_KEEP_KEY_MAX, "a name fits a key");
	memcpy(out, s.id, sizeof(s.id));
	return true;
}

static bool id_doomed(const struct spoof_del *d, const char *id)
{
	return d->id ? !strcmp(id, d->id) : !nft_keep_has(&d->keep, id);
}

static void del_attachment(struct nft *c, struct nftnl_chain_list *chains, const char *id)
{
	struct spoof_names s;

	if (spoof_names(&s, NULL, NULL, id, NULL) < 0)
		return;
	if (nft_chain_exists(chains, s.iface))
		nft_del_chain(c, NFPROTO_BRIDGE, BR_TABLE, s.iface);
	if (nft_chain_exists(chains, s.mac))
		nft_del_chain(c, NFPROTO_BRIDGE, BR_TABLE, s.mac);
}

static int spoof_del_once(struct nft *c, void *arg, struct cni_err *e)
{
	struct spoof_del *d = arg;
	static const char pfx_comment[] = "macspoofchk-", pfx_chain[] = "cni-br-iface-";
	struct nftnl_chain_list *chains = NULL;
	struct nftnl_rule_list *rules = NULL;
	struct nftnl_chain_list_iter *ci;
	struct nftnl_rule_list_iter *ri;
	struct nftnl_chain *ch;
	struct nftnl_rule *r;
	int ret;

	ret = nft_list_chains(c, NFPROTO_BRIDGE, BR_TABLE, &chains, e);
	if (ret == 0)
		ret = nft_list_rules(c, NFPROTO_BRIDGE, BR_TABLE, BR_PRE, &rules, e);
	if (ret < 0)
		goto out;
	nft_begin(c);
	d->kept.n = 0; /* a retry lists again */
	/* PREROUTING jumps first: a chain still referenced cannot be deleted. */
	ri = nftnl_rule_list_iter_create(rules);
	while (ri && (r = nftnl_rule_list_iter_next(ri))) {
		const char *rc = nft_rule_comment(r);

		const char *id = rc ? rc + strlen(pfx_comment) : NULL;
		char veth[16];

		if (!rc || strncmp(rc, pfx_comment, strlen(pfx_comment)) || !id_doomed(d, id))
			continue;
		/* GC of one network: another network's attachment on another bridge is not ours. */
		if (d->owns && rule_iifname(r, veth) && !d->owns(d->arg, veth)) {
			if (nft_keep_add(&d->kept, id) < 0 && !c->err)
				c->err = -ENOMEM;
			continue;
		}
		nft_del_rule(c, r);
	}
	if (ri)
		nftnl_rule_list_iter_destroy(ri);
	nft_keep_sort(&d->kept);
	/* Chains: an "<x>" chain with its "<x>-mac" sibling is the pair of attachment x. */
	ci = nftnl_chain_list_iter_create(chains);
	while (ci && (ch = nftnl_chain_list_iter_next(ci))) {
		const char *name = nftnl_chain_get_str(ch, NFTNL_CHAIN_NAME);
		char mac[NAME_MAX_LEN + 8];

		if (strncmp(name, pfx_chain, strlen(pfx_chain)))
			continue;
		snprintf(mac, sizeof(mac), "%s-mac", name);
		if (nft_chain_exists(chains, mac) && id_doomed(d, name + strlen(pfx_chain)) &&
		    !nft_keep_has(&d->kept, name + strlen(pfx_chain)))
			del_attachment(c, chains, name + strlen(pfx_chain));
	}
	if (ci)
		nftnl_chain_list_iter_destroy(ci);
	ret = ri && ci ? nft_commit(c, e) : -ENOMEM;
out:
	nft_chains_free(chains);
	nft_rules_free(rules);
	return ret;
}

int nu_nft_spoofchk_del(const char *cid, const char *ifname, struct cni_err *e)
{
	struct spoof_names s;
	struct spoof_del d;
	int ret;

	ret = spoof_names(&s, cid, ifname, NULL, e);
	if (ret < 0)
		return ret;
	d = (struct spoof_del){ .id = s.id };
	ret = nft_run(spoof_del_once, &d, e);
	if (ret < 0)
		return cni_wrap(e, ret, "removing mac spoof check for %s", s.id);
	return 0;
}

int nu_nft_spoofchk_gc(const struct cni_attachment *valid, size_t n, nu_nft_owns_fn owns,
		       void *arg, struct cni_err *e)
{
	struct spoof_del d = { .owns = owns, .arg = arg };
	int ret = nft_keep_init(&d.keep, spoof_key, NULL, valid, n, e);

	if (ret == 0)
		ret = nft_run(spoof_del_once, &d, e);
	nft_keep_free(&d.keep);
	nft_keep_free(&d.kept);

	if (ret < 0)
		return cni_wrap(e, ret, "garbage-collecting mac spoof checks");
	return 0;
}

/* True when @rules holds @want; with @exact, when it holds exactly the @n rules @want, in order. */
static bool rules_hold(struct nftnl_rule_list *rules, struct nftnl_rule **want, int n, bool exact)
{
	struct nftnl_rule_list_iter *it = nftnl_rule_list_iter_create(rules);
	struct nftnl_rule *r;
	bool ok = exact;
	int i = 0;

	while (it && (r = nftnl_rule_list_iter_next(it))) {
		if (!exact && nft_rule_same(r, want[0]))
			ok = true;
		else if (exact && (i >= n || !nft_rule_same(r, want[i])))
			ok = false;
		i++;
	}
	if (it)
		nftnl_rule_list_iter_destroy(it);
	return it && ok && (!exact || i == n);
}

static int chain_holds(struct nft *c, const char *chain, struct nftnl_rule **want, int n,
		       bool exact, struct cni_err *e)
{
	struct nftnl_rule_list *rules;
	int ret;

	ret = nft_list_rules(c, NFPROTO_BRIDGE, BR_TABLE, chain, &rules, e);
	if (ret < 0)
		return ret;
	if (!rules_hold(rules, want, n, exact))
		ret = cni_fail(e, -ENOENT, 0, "chain bridge %s %s lacks the expected rules",
			       BR_TABLE, chain);
	nft_rules_free(rules);
	return ret;
}

int nu_nft_spoofchk_check(const char *cid, const char *ifname, const char *host_veth,
			  const uint8_t mac[6], struct cni_err *e)
{
	struct nftnl_rule *want[4] = { 0 };
	_cleanup_nft_ struct nft c = { 0 };
	struct spoof_names s;
	int ret;

	ret = spoof_names(&s, cid, ifname, NULL, e);
	if (ret == 0)
		ret = nft_open(&c, e);
	if (ret < 0)
		return ret;
	for (int i = 0; i < 4; i++)
		want[i] = spoof_rule(&c, &s, i, host_veth, mac);
	ret = c.err;
	if (ret == 0)
		ret = chain_holds(&c, BR_PRE, want, 1, false, e);
	if (ret == 0)
		ret = chain_holds(&c, s.iface, want + 1, 1, true, e);
	if (ret == 0)
		ret = chain_holds(&c, s.mac, want + 2, 2, true, e);
	for (int i = 0; i < 4; i++)
		nftnl_rule_free(want[i]);
	if (ret < 0)
		return cni_wrap(e, ret, "checking mac spoof check for %s", s.id);
	return 0;
}
