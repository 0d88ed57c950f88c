/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Private to pkg/nft and the plugins' own rule layouts (plugins/<kind>/<name>/nft.c): a netfilter
 * socket with one transaction being built, dumps of chains and rules, and the few expressions the
 * rule sets need. Concurrency is optimistic and scoped to the objects a transaction touches:
 * deleting a rule or chain that a dump showed but that someone else removed meanwhile makes
 * nft_commit() return -ERESTART, and nft_run() lists and tries again. (Checking the whole ruleset
 * generation, NFNL_BATCH_GENID, made concurrent ADDs of unrelated containers restart each other.)
 * Builders never fail on their own: an allocation failure is kept in c->err and reported by
 * nft_commit(). No kernel objects are created here.
 */
#ifndef NFT_INTERNAL_H
#define NFT_INTERNAL_H

#include <stdint.h>

#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/table.h>

#include "nft/nft.h"

/* Retries of a whole list-then-commit round when the ruleset changed under it. */
#define NFT_RETRIES 16
#define NFT_WHAT_LEN 160

struct nft {
	struct mnl_socket *nl;
	uint32_t portid;
	uint32_t seq;
	int err; /* first builder failure, negative errno */
	/* the transaction: messages back to back, described for error messages */
	char *buf;
	size_t len, cap;
	uint32_t seq0;	      /* sequence number of the batch begin message */
	struct {
		char text[NFT_WHAT_LEN];
		bool del; /* deletes an object found by a dump */
	} *what;
	size_t n, what_cap;
	bool skipped; /* this batch leaves out a chain found to exist: see nft_add_chain() */
};

int nft_open(struct nft *c, struct cni_err *e);
void nft_close(struct nft *c);
#define _cleanup_nft_ __attribute__((cleanup(nft_close)))

/* Ask nf_tables for the ruleset generation: 0 when it answers. */
int nft_sync(struct nft *c, struct cni_err *e);

/*
 * List-then-commit rounds on a fresh socket: @once (dumps, nft_begin(), ..., nft_commit()) is
 * repeated while it returns -ERESTART. Returns @once's result.
 */
int nft_run(int (*once)(struct nft *c, void *arg, struct cni_err *e), void *arg,
	    struct cni_err *e);

/* Dumps: a list the caller frees (empty when the table or chain is absent), or NULL + -errno. */
int nft_list_rules(struct nft *c, uint16_t family, const char *table, const char *chain,
		   struct nftnl_rule_list **out, struct cni_err *e);
int nft_list_chains(struct nft *c, uint16_t family, const char *table,
		    struct nftnl_chain_list **out, struct cni_err *e);
/* One dump of nft_list_rules_each(): @chain of @family's @table into *@out (skipped if NULL). */
struct nft_rules_req {
	uint16_t family;
	const char *table, *chain;
	struct nftnl_rule_list **out;
};
/*
 * nft_list_rules_each() - nft_list_rules() for each of the @n requests in turn, up to the first
 * failure (its -errno returned; the lists already made stay for the caller to free).
 */
int nft_list_rules_each(struct nft *c, const struct nft_rules_req *q, size_t n,
			struct cni_err *e);
/* libnftnl's list destructors do not accept NULL. */
static inline void nft_rules_free(struct nftnl_rule_list *l)
{
	if (l)
		nftnl_rule_list_free(l);
}

static inline void nft_chains_free(struct nftnl_chain_list *l)
{
	if (l)
		nftnl_chain_list_free(l);
}

bool nft_chain_exists(struct nftnl_chain_list *l, const char *name);
/*
 * A single chain by name (a GET, not a dump of the table): 1 when it exists, with the number of
 * rules jumping to it in *@use (may be NULL); 0 when the chain or its table is absent; -errno.
 */
int nft_chain_get(struct nft *c, uint16_t family, const char *table, const char *name,
		  uint32_t *use, struct cni_err *e);

/* The rule's comment (NUL-terminated userdata string), or NULL. */
const char *nft_rule_comment(const struct nftnl_rule *r);
/* Same comment and same expressions (the kernel's answer compared with a rule we would write). */
bool nft_rule_same(const struct nftnl_rule *a, const struct nftnl_rule *b);
/* Is a rule of @rules (may be NULL) @same as @want. */
bool nft_rule_find(struct nftnl_rule_list *rules, const struct nftnl_rule *want,
		   bool (*same)(const struct nftnl_rule *, const struct nftnl_rule *));
/* Exactly the rules @want (NULL: never the same) are in @have (NULL: absent), in that order. */
bool nft_rules_are(struct nftnl_rule_list *have, struct nftnl_rule *const *want, size_t n);
/* The chain named by the rule's first jump or goto, or NULL. */
const char *nft_rule_target(const struct nftnl_rule *r);

/* Transaction: begin, messages, commit (sends, reads every ack, maps errors to messages). */
void nft_begin(struct nft *c);
void nft_add_table(struct nft *c, uint16_t family, const char *table, const char *comment);
/* Deletes @table with all it holds (a listed table that vanished restarts the round). */
void nft_del_table(struct nft *c, uint16_t family, const char *table);
struct nft_hook {
	const char *type;
	uint32_t hooknum;
	int32_t prio;
};
void nft_add_chain(struct nft *c, uint16_t family, const char *table, const char *chain,
		   const struct nft_hook *hook, const char *comment);
void nft_del_chain(struct nft *c, uint16_t family, const char *table, const char *chain);
void nft_flush_chain(struct nft *c, uint16_t family, const char *table, const char *chain);
void nft_del_rule(struct nft *c, const struct nftnl_rule *r);
/*
 * Queue the deletion of every rule of @rules (may be NULL) with a comment @match accepts;
 * returns how many. nft_comment_has_prefix() is the match of "comment starts with @prefix".
 */
size_t nft_del_commented(struct nft *c, struct nftnl_rule_list *rules,
			 bool (*match)(const char *comment, void *arg), void *arg);
bool nft_comment_has_prefix(const char *comment, void *prefix);
/* Adds @r (family, table and chain set) and frees it. */
void nft_add_rule(struct nft *c, struct nftnl_rule *r);
/* The same at the head of the chain (`iptables -I <chain> 1`); frees @r. */
void nft_insert_rule(struct nft *c, struct nftnl_rule *r);
int nft_commit(struct nft *c, struct cni_err *e);

/* Rule building; each appends one expression to @r, failures go to c->err. */
/* A new expression of kind @name appended to @r (NULL when @r is NULL or on failure). */
struct nftnl_expr *nft_x_new(struct nft *c, struct nftnl_rule *r, const char *name);
struct nftnl_rule *nft_rule_new(struct nft *c, uint16_t family, const char *table,
				const char *chain, const char *comment);
void nft_x_meta(struct nft *c, struct nftnl_rule *r, uint32_t key);
void nft_x_payload(struct nft *c, struct nftnl_rule *r, uint32_t base, uint32_t off, uint32_t len);
void nft_x_cmp(struct nft *c, struct nftnl_rule *r, uint32_t op, const void *data, uint32_t len);
/* fib daddr type local */
void nft_x_fib_daddr_local(struct nft *c, struct nftnl_rule *r);
void nft_x_bitwise(struct nft *c, struct nftnl_rule *r, const void *mask, uint32_t len);
void nft_x_verdict(struct nft *c, struct nftnl_rule *r, int verdict, const char *chain);
void nft_x_masq(struct nft *c, struct nftnl_rule *r);
/* "<ip|ip6> <saddr|daddr> [!=] <prefix>" in the encoding nft itself uses. */
void nft_x_addr(struct nft *c, struct nftnl_rule *r, const struct cni_prefix *p, bool dst,
		bool neq);

/*
 * iptables-nft 1.8.9's encoding (xt.c), for the layouts the reference's iptables commands
 * must find: xt match/target @name revision @rev with @len bytes of @info (padding included, as
 * sent), "-m comment --comment" (rev 0, zero-padded), the counter every rule carries (both
 * values 0), and -s/-d, encoded as nft_x_addr() except that a /0 is left out.
 */
void nft_x_xt_match(struct nft *c, struct nftnl_rule *r, const char *name, uint32_t rev,
		    const void *info, uint32_t len);
void nft_x_xt_target(struct nft *c, struct nftnl_rule *r, const char *name, uint32_t rev,
		     const void *info, uint32_t len);
void nft_x_xt_comment(struct nft *c, struct nftnl_rule *r, const char *comment);
void nft_x_counter(struct nft *c, struct nftnl_rule *r);
/* -m conntrack --ctstate <mask> (XT_CONNTRACK_STATE_* bits): the xt match, revision 3. */
void nft_x_xt_ctstate(struct nft *c, struct nftnl_rule *r, uint16_t mask);
/* -j MASQUERADE in @family (NFPROTO_IPV4 or NFPROTO_IPV6): the xt target, revision 0. */
void nft_x_xt_masquerade(struct nft *c, struct nftnl_rule *r, uint16_t family);
void nft_x_ipt_addr(struct nft *c, struct nftnl_rule *r, const struct cni_prefix *p, bool dst,
		    bool neq);
/*
 * What `iptables -C` compares: the expressions, with xt data byte for byte up to the extension's
 * own size (the kernel dumps XT_ALIGN padding uninitialised) and counter values ignored.
 * Userdata (an nft comment) is not compared.
 */
bool nft_ipt_rule_same(const struct nftnl_rule *a, const struct nftnl_rule *b);
/*
 * The host's filter table as the CNI-FORWARD layouts read it (fwd.c): its chains and the
 * rules of FORWARD and CNI-FORWARD in @family (empty lists when absent).
 */
struct nft_fwd_lists {
	struct nftnl_chain_list *chains;
	struct nftnl_rule_list *fwd, *priv;
};
int nft_fwd_list(struct nft *c, uint16_t family, struct nft_fwd_lists *l, struct cni_err *e);
void nft_fwd_lists_free(struct nft_fwd_lists *l);
/* The text of the rule's xt comment match (`-m comment --comment`) in @out (256 bytes), or NULL. */
const char *nft_rule_xt_comment(const struct nftnl_rule *r, char out[256]);

/*
 * Named counters (the attachment index of att.c): 1 when it exists, 0 when it or its table
 * is absent; every counter name of @table to @fn; add ("add": an existing one stays) and delete.
 */
int nft_counter_exists(struct nft *c, uint16_t family, const char *table, const char *name,
		       struct cni_err *e);
int nft_list_counters(struct nft *c, uint16_t family, const char *table,
		      int (*fn)(const char *name, void *arg), void *arg, struct cni_err *e);
void nft_add_counter(struct nft *c, uint16_t family, const char *table, const char *name);
void nft_del_counter(struct nft *c, uint16_t family, const char *table, const char *name);

/*
 * Attachments in shared chains (att.c): the identity hash "<h16(net)>-<h16(ifname:cid)>"
 * their comments start with, and an index that lets ADD skip the dump of a chain holding every
 * container's rules (see the file's comment for why "not indexed" means "no rules of ours").
 */
#define NFT_ATT_HASH_LEN 33
#define NFT_ATT_COMMENT_MAX 128 /* NFTNL_UDATA_COMMENT_MAXLEN, knftables' CommentLengthMax */
char *nft_att_hash(char out[NFT_ATT_HASH_LEN + 1], const char *net, const char *ifname,
		   const char *cid);
/* "<h16(net)>-": what every comment of network @net starts with. */
char *nft_att_net_prefix(char out[18], const char *net);

/*
 * GC's view of the valid attachments: the key each one's rules carry as ADD wrote them (an
 * identity hash, a name hashed when too long, a plain name), made by @key from network @net and
 * each attachment with a container ID (ifname may be NULL; @key false: no key), sorted. A rule
 * is stale when its key is not in the set, so the hash decides even where the rest of a comment
 * was cut. nft_keep_init(): 0 or -ENOMEM (in @e); nft_keep_has() is a binary search.
 */
#define NFT_KEEP_KEY_MAX 272
typedef bool (*nft_keep_fn)(char out[NFT_KEEP_KEY_MAX], const char *net, const char *cid,
			    const char *ifname);
struct nft_keep {
	char (*v)[NFT_KEEP_KEY_MAX];
	size_t n, cap;
};
int nft_keep_init(struct nft_keep *k, nft_keep_fn key, const char *net,
		  const struct cni_attachment *valid, size_t n, struct cni_err *e);
bool nft_keep_has(const struct nft_keep *k, const char *key);
/* Built key by key instead: nft_keep_add() (0, -ENOMEM or -ENAMETOOLONG), then nft_keep_sort(). */
int nft_keep_add(struct nft_keep *k, const char *key);
void nft_keep_sort(struct nft_keep *k);
void nft_keep_free(struct nft_keep *k);

/*
 * GC of comments "<kind><hash>, ..." (the attachment hash first, whatever follows and however
 * it was cut) of network @net: nft_att_gc_match() takes those whose hash is no valid
 * attachment's. Its net_prefix is what struct nft_att_match wants for pruning the index.
 */
struct nft_att_gc {
	const char *kind;
	char net_prefix[18];
	struct nft_keep keep;
};
int nft_att_gc_init(struct nft_att_gc *g, const char *kind, const char *net,
		    const struct cni_attachment *valid, size_t n, struct cni_err *e);
bool nft_att_gc_match(const char *comment, void *arg);
/* nft_run(@once) with the struct nft_att_match of such a GC of @net: 0 or -errno. */
int nft_att_gc(int (*once)(struct nft *c, void *arg, struct cni_err *e), const char *net,
	       const struct cni_attachment *valid, size_t n, struct cni_err *e);
/* Is attachment @hash indexed for rules of @kind: 1 yes (an earlier ADD may have left rules), 0, -errno. */
int nft_att_exists(struct nft *c, const char *kind, const char *hash, struct cni_err *e);
/* Queue indexing it, in the batch that adds its rules. */
void nft_att_add(struct nft *c, const char *kind, const char *hash);
/*
 * What a DEL or GC of attachments deletes: the rules whose comment @match accepts, and the index
 * entries of the attachment @hash (DEL) or of every attachment of the network whose comments
 * start with @net_prefix that keeps no rule (GC).
 */
struct nft_att_match {
	bool (*match)(const char *comment, void *arg);
	void *arg;
	const char *hash, *net_prefix;
};
/* One round of it over the @n dumps @lists (entries may be NULL): one batch, committed. */
int nft_att_delete(struct nft *c, const char *kind, struct nftnl_rule_list *const *lists,
		   size_t n, const struct nft_att_match *m, struct cni_err *e);

#endif
