// SPDX-License-Identifier: Apache-2.0
/*
 * Attachments in chains every container shares (masq_checks, the firewall's containers chain):
 * their identity hash, GC's match by that hash, and an index that spares ADD a dump.
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

#include "cni/cni.h"
#include "cni/hash.h"
#include "nft/internal.h"

#define ATT_TABLE "cnic_index"
/* The table comment names this file by its old name: it is in every host's ruleset, kept. */
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

static int key_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

int nft_keep_init(struct nft_keep *k, nft_keep_fn key, const char *net,
		  const struct cni_attachment *valid, size_t n, struct cni_err *e)
{
	k->n = 0;
	k->cap = n;
	k->v = n ? malloc(n * sizeof(*k->v)) : NULL;
	if (n && !k->v)
		return cni_fail(e, -ENOMEM, 0, "%zu valid attachments: %s", n, strerror(ENOMEM));
	for (size_t i = 0; i < n; i++)
		if (valid[i].container_id && key(k->v[k->n], net, valid[i].container_id,
						 valid[i].ifname))
			k->n++;
	nft_keep_sort(k);
	return 0;
}

int nft_keep_add(struct nft_keep *k, const char *key)
{
	if (strlen(key) >= NFT_KEEP_KEY_MAX)
		return -ENAMETOOLONG;
	if (k->n == k->cap) {
		size_t cap = k->cap ? k->cap * 2 : 16;
		void *v = realloc(k->v, cap * sizeof(*k->v));

		if (!v)
			return -ENOMEM;
		k->v = v;
		k->cap = cap;
	}
	memcpy(k->v[k->n++], key, strlen(key) + 1);
	return 0;
}

void nft_keep_sort(struct nft_keep *k)
{
	if (k->n)
		qsort(k->v, k->n, sizeof(*k->v), key_cmp);
}

bool nft_keep_has(const struct nft_keep *k, const char *key)
{
	return k->n && bsearch(key, k->v, k->n, sizeof(*k->v), key_cmp);
}

void nft_keep_free(struct nft_keep *k)
{
	free(k->v);
	k->v = NULL;
	k->n = k->cap = 0;
}

static bool att_key(char out[NFT_KEEP_KEY_MAX], const char *net, const char *cid,
		    const char *ifname)
{
	return ifname && nft_att_hash(out, net, ifname, cid);
}

int nft_att_gc_init(struct nft_att_gc *g, const char *kind, const char *net,
		    const struct cni_attachment *valid, size_t n, struct cni_err *e)
{
	g->kind = kind;
	nft_att_net_prefix(g->net_prefix, net);
	return nft_keep_init(&g->keep, att_key, net, valid, n, e);
}

bool nft_att_gc_match(const char *comment, void *arg)
{
	const struct nft_att_gc *g = arg;
	size_t kl = strlen(g->kind);
	char hash[NFT_ATT_HASH_LEN + 1];
	const char *h;

	if (!comment || strncmp(comment, g->kind, kl))
		return false;
	h = comment + kl;
	/* "<h16(net)>-<h16(ifname:cid)>," of this network, whatever was cut after it */
	if (strncmp(h, g->net_prefix, 17) || strnlen(h, NFT_ATT_HASH_LEN + 1) <= NFT_ATT_HASH_LEN ||
	    h[NFT_ATT_HASH_LEN] != ',')
		return false;
	snprintf(hash, sizeof(hash), "%.*s", NFT_ATT_HASH_LEN, h);
	return !nft_keep_has(&g->keep, hash);
}

int nft_att_gc(int (*once)(struct nft *c, void *arg, struct cni_err *e), const char *net,
	       const struct cni_attachment *valid, size_t n, struct cni_err *e)
{
	struct nft_att_gc g;
	struct nft_att_match m = { nft_att_gc_match, &g, NULL, g.net_prefix };
	int r = nft_att_gc_init(&g, "", net, valid, n, e);

	if (r == 0)
		r = nft_run(once, &m, e);
	nft_keep_free(&g.keep);
	return r;
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
