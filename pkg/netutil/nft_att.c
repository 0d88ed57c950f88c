// SPDX-License-Identifier: Apache-2.0
/*
 * Attachments in chains every container shares (masq_checks, the firewall's containers chain):
 * their identity hash, their comment read back, and an index that spares ADD a dump.
 *
 * An attachment's rules are found by their comment, which takes a dump of the whole chain, one
 * rule per container or more: an ADD that listed the chain would slow down as containers come.
 * ADD lists it only to replace what an earlier ADD of the same attachment left (the reference
 * does; the spec forbids a second ADD without a DEL between). The index is a named counter per
 * attachment, "<kind>-<hash>", in a table of our own, inet cnic_index, added and deleted in the
 * same batch as the attachment's rules: "no counter" always means "no rules of ours", and one
 * GET answers it. Rules another program wrote (the reference plugins) have no counter: a second
 * ADD of such an attachment adds its rules beside them, and DEL, which always lists, removes
 * both. A counter whose rules someone else removed costs an ADD its dump; GC drops it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <netinet/in.h>

#include <linux/netfilter.h>

#include "cni/hash.h"
#include "netutil/nft_internal.h"

#define ATT_TABLE "cnic_index"
#define ATT_TABLE_COMMENT "cnic: attachments with rules in shared chains (see nft_att.c)"
#define ATT_NAME_MAX (8 + NFT_ATT_HASH_LEN + 1)

char *nft_att_hash(char out[NFT_ATT_HASH_LEN + 1], const char *net, const char *ifname,
		   const char *cid)
{
	cni_sha512_hex(out, 16, net, NULL);
	out[16] = '-';
	cni_sha512_hex(out + 17, 16, ifname, ":", cid, NULL);
	return out;
}

char *nft_att_net_prefix(char out[18], const char *net)
{
	cni_sha512_hex(out, 16, net, NULL);
	out[16] = '-';
	out[17] = '\0';
	return out;
}

bool nft_att_parse(const char *comment, const char *net_prefix, char *ifname, size_t iflen,
		   const char **cid)
{
	const char *id = NULL, *ifp = NULL;
	char check[17];

	if (!comment || strncmp(comment, net_prefix, 17) || strlen(comment) < NFT_ATT_HASH_LEN)
		return false;
	/* the names are taken from the end: a network name may contain anything */
	for (const char *p = strstr(comment, ", id: "); p; p = strstr(p + 1, ", id: "))
		id = p;
	if (!id)
		return false;
	for (const char *p = strstr(comment, ", if: "); p && p < id; p = strstr(p + 1, ", if: "))
		ifp = p;
	if (!ifp || (size_t)(id - ifp - 6) >= iflen)
		return false;
	snprintf(ifname, iflen, "%.*s", (int)(id - ifp - 6), ifp + 6);
	/* a comment cut at 128 bytes does not hash back to its own prefix */
	cni_sha512_hex(check, 16, ifname, ":", id + 6, NULL);
	if (strncmp(check, comment + 17, 16))
		return false;
	*cid = id + 6;
	return true;
}

static char *att_name(char out[ATT_NAME_MAX], const char *kind, const char *hash)
{
	snprintf(out, ATT_NAME_MAX, "%s-%s", kind, hash);
	return out;
}

int nft_att_exists(struct nft *c, const char *kind, const char *hash, struct cni_err *e)
{
	char name[ATT_NAME_MAX];

	return nft_counter_exists(c, NFPROTO_INET, ATT_TABLE, att_name(name, kind, hash), e);
}

void nft_att_add(struct nft *c, const char *kind, const char *hash)
{
	char name[ATT_NAME_MAX];

	nft_add_table(c, NFPROTO_INET, ATT_TABLE, ATT_TABLE_COMMENT);
	nft_add_counter(c, NFPROTO_INET, ATT_TABLE, att_name(name, kind, hash));
}

struct prune {
	struct nft *c;
	const char *kind, *net_prefix;
	char (*keep)[NFT_ATT_HASH_LEN]; /* hashes of the rules that stay, sorted */
	size_t n_keep;
};

static int hash_cmp(const void *a, const void *b)
{
	return memcmp(a, b, NFT_ATT_HASH_LEN);
}

/*
 * The attachment hashes (a comment's first NFT_ATT_HASH_LEN characters) of the rules in @lists
 * that stay, those @gone does not take, sorted: GC then prunes each index entry with a binary
 * search, O((entries + rules) log rules) where a walk of every rule per entry was a product.
 */
static int keep_list(struct prune *p, struct nftnl_rule_list *const *lists, size_t n,
		     bool (*gone)(const char *comment, void *arg), void *arg)
{
	size_t cap = 0;

	for (size_t i = 0; i < n; i++) {
		struct nftnl_rule_list_iter *it =
			lists[i] ? nftnl_rule_list_iter_create(lists[i]) : NULL;
		struct nftnl_rule *r;

		while (it && (r = nftnl_rule_list_iter_next(it))) {
			const char *cm = nft_rule_comment(r);

			if (!cm || strlen(cm) < NFT_ATT_HASH_LEN || (gone && gone(cm, arg)))
				continue;
			if (p->n_keep == cap) {
				void *v = realloc(p->keep, (cap ? cap * 2 : 64) * sizeof(*p->keep));

				if (!v) {
					nftnl_rule_list_iter_destroy(it);
					return -ENOMEM;
				}
				p->keep = v;
				cap = cap ? cap * 2 : 64;
			}
			memcpy(p->keep[p->n_keep++], cm, NFT_ATT_HASH_LEN);
		}
		if (it)
			nftnl_rule_list_iter_destroy(it);
	}
	if (p->n_keep)
		qsort(p->keep, p->n_keep, sizeof(*p->keep), hash_cmp);
	return 0;
}

static int prune_cb(const char *name, void *arg)
{
	const struct prune *p = arg;
	size_t kl = strlen(p->kind);

	if (name && !strncmp(name, p->kind, kl) && name[kl] == '-' &&
	    strlen(name + kl + 1) == NFT_ATT_HASH_LEN && !strncmp(name + kl + 1, p->net_prefix, 17) &&
	    !(p->n_keep &&
	      bsearch(name + kl + 1, p->keep, p->n_keep, sizeof(*p->keep), hash_cmp)))
		nft_del_counter(p->c, NFPROTO_INET, ATT_TABLE, name);
	return 0;
}

int nft_att_delete(struct nft *c, const char *kind, struct nftnl_rule_list *const *lists,
		   size_t n, const struct nft_att_match *m, struct cni_err *e)
{
	struct prune p = { c, kind, m->net_prefix, NULL, 0 };
	char name[ATT_NAME_MAX];
	int r = m->hash ? nft_att_exists(c, kind, m->hash, e) : 0;

	if (r < 0)
		return r;
	nft_begin(c);
	for (size_t i = 0; i < n; i++)
		nft_del_commented(c, lists[i], m->match, m->arg);
	/* a counter that is not there would fail the batch: deleted only when the lookup saw it */
	if (r > 0)
		nft_del_counter(c, NFPROTO_INET, ATT_TABLE, att_name(name, kind, m->hash));
	if (m->net_prefix) {
		r = keep_list(&p, lists, n, m->match, m->arg);
		if (r < 0) {
			free(p.keep);
			return cni_fail(e, r, 0, "pruning the attachment index: %s", strerror(-r));
		}
		r = nft_list_counters(c, NFPROTO_INET, ATT_TABLE, prune_cb, &p, e);
		free(p.keep);
		if (r < 0)
			return r;
	}
	return nft_commit(c, e); /* nothing queued: nothing sent, 0 */
}
