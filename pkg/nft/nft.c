// SPDX-License-Identifier: Apache-2.0
/*
 * The nf_tables plumbing under every layout (masq.c, spoof.c, fwd.c, the plugins' nft.c): a
 * NETLINK_NETFILTER socket (close-on-exec, extended acks, capped acks), ruleset generation, dumps
 * of chains and rules restarted when the kernel flags them interrupted, and the transaction: begin
 * marker carrying the generation, N messages each asking for an ack, end marker, one sendto(), then
 * every ack read back and the first error mapped to a description of its message ("adding rule to
 * inet t c: ..."). The kernel applies the transaction atomically or not at all. Creates no kernel
 * objects itself; its sockets are closed through pkg/netutil/nfnl.c.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include <libnftnl/gen.h>
#include <libnftnl/object.h>
#include <libnftnl/udata.h>

#include "netutil/internal.h"
#include "nft/internal.h"

/* Debian 12's libmnl 1.0.4 predates MNL_SOCKET_DUMP_SIZE. */
#define NFT_RECV_SIZE 32768
/* Room kept free at the end of the batch buffer for the next message (rules are far smaller). */
#define NFT_MSG_ROOM 8192
#define NFT_DUMP_RETRIES 16

static const char *family_name(uint16_t family)
{
	switch (family) {
	case NFPROTO_INET:
		return "inet";
	case NFPROTO_IPV4:
		return "ip";
	case NFPROTO_IPV6:
		return "ip6";
	case NFPROTO_BRIDGE:
		return "bridge";
	default:
		return "?";
	}
}

static void setbuf_force(int fd, int force, int plain, int size)
{
	if (setsockopt(fd, SOL_SOCKET, force, &size, sizeof(size)) < 0)
		setsockopt(fd, SOL_SOCKET, plain, &size, sizeof(size));
}

int nft_open(struct nft *c, struct cni_err *e)
{
	int on = 1;

	memset(c, 0, sizeof(*c));
	c->nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	if (!c->nl)
		return cni_fail(e, -errno, 0, "opening netfilter netlink socket: %s",
				strerror(errno));
	if (mnl_socket_bind(c->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		int err = -errno;

		nft_close(c);
		return cni_fail(e, err, 0, "binding netfilter netlink socket: %s", strerror(-err));
	}
	/* Both are best effort: older kernels simply send the plain error. */
	mnl_socket_setsockopt(c->nl, NETLINK_EXT_ACK, &on, sizeof(on));
	mnl_socket_setsockopt(c->nl, NETLINK_CAP_ACK, &on, sizeof(on));
	c->portid = mnl_socket_get_portid(c->nl);
	c->seq = (uint32_t)time(NULL);
	return 0;
}

void nft_close(struct nft *c)
{
	nu__nfnl_close(c->nl);
	free(c->buf);
	free(c->what);
	memset(c, 0, sizeof(*c));
}

/* The extended-ack text of an error message, or "". */
static const char *extack_msg(const struct nlmsghdr *nlh)
{
	const struct nlmsgerr *err = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *attr;
	size_t off = sizeof(*err);

	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return "";
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		off += err->msg.nlmsg_len - sizeof(struct nlmsghdr);
	if (mnl_nlmsg_get_payload_len(nlh) < off)
		return "";
	mnl_attr_for_each(attr, nlh, off) {
		if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG &&
		    mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0)
			return mnl_attr_get_str(attr);
	}
	return "";
}

/*
 * After a failed receive, answers may be left queued (the rest of a dump is made as it is read):
 * read until nothing is left, so that no later request or batch takes them for its own (a lookup
 * made while a batch is built reuses the batch's sequence numbers).
 */
static void nft_drain(struct nft *c)
{
	char buf[64];
	int fd = mnl_socket_get_fd(c->nl);

	for (long n = 0; n < 1L << 24; n++)
		if (recv(fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC) < 0 && errno != EINTR &&
		    errno != ENOBUFS)
			break;
}

/*
 * One request (a dump or a single object): @fn is called for each answer. Returns 0, -EINTR
 * when the kernel flagged the dump interrupted (after draining it), or -errno with the extack
 * text in @extack.
 */
static int nft_query(struct nft *c, struct nlmsghdr *req,
		     int (*fn)(const struct nlmsghdr *, void *), void *arg, char *extack,
		     size_t extack_len)
{
	char buf[NFT_RECV_SIZE] __attribute__((aligned(NLMSG_ALIGNTO)));
	uint32_t seq = req->nlmsg_seq;
	bool intr = false;
	int ret = 0;

	if (mnl_socket_sendto(c->nl, req, req->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		int len = (int)mnl_socket_recvfrom(c->nl, buf, sizeof(buf));
		const struct nlmsghdr *nlh;

		if (len < 0) {
			ret = -errno;
			nft_drain(c);
			return ret;
		}
		for (nlh = (const struct nlmsghdr *)buf; mnl_nlmsg_ok(nlh, len);
		     nlh = mnl_nlmsg_next(nlh, &len)) {
			if (nlh->nlmsg_seq != seq || nlh->nlmsg_pid != c->portid)
				continue; /* a stray from an earlier request */
			if (nlh->nlmsg_flags & NLM_F_DUMP_INTR)
				intr = true;
			if (nlh->nlmsg_type == NLMSG_DONE)
				return ret ? ret : intr ? -EINTR : 0;
			if (nlh->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *err = mnl_nlmsg_get_payload(nlh);

				if (err->error)
					snprintf(extack, extack_len, "%s", extack_msg(nlh));
				return err->error ? (err->error < 0 ? err->error : -err->error)
						  : ret;
			}
			if (!ret && !intr)
				ret = fn(nlh, arg);
		}
	}
}

static int gen_cb(const struct nlmsghdr *nlh, void *arg)
{
	struct nftnl_gen *gen = nftnl_gen_alloc();
	int ret = -ENOMEM;

	if (gen && nftnl_gen_nlmsg_parse(nlh, gen) == 0) {
		*(uint32_t *)arg = nftnl_gen_get_u32(gen, NFTNL_GEN_ID);
		ret = 0;
	} else if (gen) {
		ret = -EPROTO;
	}
	nftnl_gen_free(gen);
	return ret;
}

int nft_sync(struct nft *c, struct cni_err *e)
{
	char buf[256] __attribute__((aligned(NLMSG_ALIGNTO))) = { 0 }; /* padding sent as zeros */
	char extack[256] = "";
	struct nlmsghdr *nlh;
	uint32_t genid;
	int ret;

	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETGEN, AF_UNSPEC, NLM_F_ACK, ++c->seq);
	ret = nft_query(c, nlh, gen_cb, &genid, extack, sizeof(extack));
	if (ret < 0)
		return cni_fail(e, ret, 0, "reading the nftables generation: %s%s%s",
				strerror(-ret), *extack ? ": " : "", extack);
	return 0;
}

/* A dump into a list of objects, restarted when interrupted. */
struct dump {
	void *list;
	int (*add)(const struct nlmsghdr *nlh, void *list);
};

static int rule_add_cb(const struct nlmsghdr *nlh, void *list)
{
	struct nftnl_rule *r = nftnl_rule_alloc();

	if (!r)
		return -ENOMEM;
	if (nftnl_rule_nlmsg_parse(nlh, r) < 0) {
		nftnl_rule_free(r);
		return -EPROTO;
	}
	nftnl_rule_list_add_tail(r, list);
	return 0;
}

static int chain_add_cb(const struct nlmsghdr *nlh, void *list)
{
	struct nftnl_chain *ch = nftnl_chain_alloc();

	if (!ch)
		return -ENOMEM;
	if (nftnl_chain_nlmsg_parse(nlh, ch) < 0) {
		nftnl_chain_free(ch);
		return -EPROTO;
	}
	nftnl_chain_list_add_tail(ch, list);
	return 0;
}

int nft_list_rules(struct nft *c, uint16_t family, const char *table, const char *chain,
		   struct nftnl_rule_list **out, struct cni_err *e)
{
	char buf[1024] __attribute__((aligned(NLMSG_ALIGNTO))) = { 0 }; /* padding sent as zeros */
	char extack[256] = "";
	int ret = -EINTR;

	*out = NULL;
	for (int i = 0; i < NFT_DUMP_RETRIES && ret == -EINTR; i++) {
		struct nftnl_rule *filter = nftnl_rule_alloc();
		struct nlmsghdr *nlh;

		nft_rules_free(*out);
		*out = nftnl_rule_list_alloc();
		if (!filter || !*out) {
			nftnl_rule_free(filter);
			ret = -ENOMEM;
			break;
		}
		nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETRULE, family, NLM_F_DUMP, ++c->seq);
		nftnl_rule_set_str(filter, NFTNL_RULE_TABLE, table);
		nftnl_rule_set_str(filter, NFTNL_RULE_CHAIN, chain);
		nftnl_rule_nlmsg_build_payload(nlh, filter);
		nftnl_rule_free(filter);
		ret = nft_query(c, nlh, rule_add_cb, *out, extack, sizeof(extack));
	}
	/* The kernel answers a dump of an absent table or chain with ENOENT on some versions. */
	if (ret == -ENOENT)
		ret = 0;
	if (ret < 0) {
		nft_rules_free(*out);
		*out = NULL;
		return cni_fail(e, ret, 0, "listing rules of %s %s %s: %s%s%s", family_name(family),
				table, chain, strerror(-ret), *extack ? ": " : "", extack);
	}
	return 0;
}

int nft_list_rules_each(struct nft *c, const struct nft_rules_req *q, size_t n,
			struct cni_err *e)
{
	int r = 0;

	for (size_t i = 0; i < n && r == 0; i++)
		if (q[i].out)
			r = nft_list_rules(c, q[i].family, q[i].table, q[i].chain, q[i].out, e);
	return r;
}

int nft_list_chains(struct nft *c, uint16_t family, const char *table,
		    struct nftnl_chain_list **out, struct cni_err *e)
{
	char buf[1024] __attribute__((aligned(NLMSG_ALIGNTO))) = { 0 }; /* padding sent as zeros */
	char extack[256] = "";
	int ret = -EINTR;

	*out = NULL;
	for (int i = 0; i < NFT_DUMP_RETRIES && ret == -EINTR; i++) {
		struct nftnl_chain *filter = nftnl_chain_alloc();
		struct nlmsghdr *nlh;

		nft_chains_free(*out);
		*out = nftnl_chain_list_alloc();
		if (!filter || !*out) {
			nftnl_chain_free(filter);
			ret = -ENOMEM;
			break;
		}
		nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETCHAIN, family, NLM_F_DUMP, ++c->seq);
		nftnl_chain_set_str(filter, NFTNL_CHAIN_TABLE, table);
		nftnl_chain_nlmsg_build_payload(nlh, filter);
		nftnl_chain_free(filter);
		ret = nft_query(c, nlh, chain_add_cb, *out, extack, sizeof(extack));
	}
	if (ret == -ENOENT)
		ret = 0;
	if (ret < 0) {
		nft_chains_free(*out);
		*out = NULL;
		return cni_fail(e, ret, 0, "listing chains of %s %s: %s%s%s", family_name(family),
				table, strerror(-ret), *extack ? ": " : "", extack);
	}
	return 0;
}

bool nft_chain_exists(struct nftnl_chain_list *l, const char *name)
{
	struct nftnl_chain_list_iter *it = nftnl_chain_list_iter_create(l);
	struct nftnl_chain *ch;
	bool found = false;

	if (!it)
		return false;
	while (!found && (ch = nftnl_chain_list_iter_next(it)))
		found = !strcmp(nftnl_chain_get_str(ch, NFTNL_CHAIN_NAME), name);
	nftnl_chain_list_iter_destroy(it);
	return found;
}

static int chain_cb(const struct nlmsghdr *nlh, void *arg)
{
	struct nftnl_chain **out = arg, *ch = nftnl_chain_alloc();

	if (!ch)
		return -ENOMEM;
	if (nftnl_chain_nlmsg_parse(nlh, ch) < 0) {
		nftnl_chain_free(ch);
		return -EPROTO;
	}
	if (*out)
		nftnl_chain_free(*out);
	*out = ch;
	return 0;
}

/* The chain as the kernel has it in *@out (NULL when absent): 1 found, 0 absent, or -errno. */
static int chain_lookup(struct nft *c, uint16_t family, const char *table, const char *name,
			struct nftnl_chain **out, char *extack, size_t extack_len)
{
	char buf[512] __attribute__((aligned(NLMSG_ALIGNTO))) = { 0 }; /* padding sent as zeros */
	struct nftnl_chain *ch = nftnl_chain_alloc();
	struct nlmsghdr *nlh;
	int ret;

	*out = NULL;
	if (!ch)
		return -ENOMEM;
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETCHAIN, family, NLM_F_ACK, ++c->seq);
	nftnl_chain_set_str(ch, NFTNL_CHAIN_TABLE, table);
	nftnl_chain_set_str(ch, NFTNL_CHAIN_NAME, name);
	nftnl_chain_nlmsg_build_payload(nlh, ch);
	nftnl_chain_free(ch);
	ret = nft_query(c, nlh, chain_cb, out, extack, extack_len);
	if (ret < 0) {
		if (*out)
			nftnl_chain_free(*out);
		*out = NULL;
		return ret == -ENOENT ? 0 : ret;
	}
	return *out ? 1 : 0;
}

int nft_chain_get(struct nft *c, uint16_t family, const char *table, const char *name,
		  uint32_t *use, struct cni_err *e)
{
	struct nftnl_chain *ch;
	char extack[256] = "";
	int ret = chain_lookup(c, family, table, name, &ch, extack, sizeof(extack));

	if (use)
		*use = ch && nftnl_chain_is_set(ch, NFTNL_CHAIN_USE)
			       ? nftnl_chain_get_u32(ch, NFTNL_CHAIN_USE)
			       : 0;
	if (ch)
		nftnl_chain_free(ch);
	if (ret < 0)
		return cni_fail(e, ret, 0, "looking up chain %s %s %s: %s", family_name(family),
				table, name, strerror(-ret));
	return ret;
}

static int comment_cb(const struct nftnl_udata *attr, void *data)
{
	const char *s = nftnl_udata_get(attr);
	uint8_t len = nftnl_udata_len(attr);

	if (nftnl_udata_type(attr) == NFTNL_UDATA_RULE_COMMENT && len && s[len - 1] == '\0')
		*(const char **)data = s;
	return MNL_CB_OK;
}

const char *nft_rule_comment(const struct nftnl_rule *r)
{
	const char *comment = NULL;
	uint32_t len = 0;
	const void *ud = nftnl_rule_get_data(r, NFTNL_RULE_USERDATA, &len);

	if (ud && nftnl_udata_parse(ud, len, comment_cb, &comment) < 0)
		return NULL;
	return comment;
}

const char *nft_rule_target(const struct nftnl_rule *r)
{
	struct nftnl_expr_iter *it = nftnl_expr_iter_create(r);
	const char *target = NULL;
	struct nftnl_expr *x;

	if (!it)
		return NULL;
	while (!target && (x = nftnl_expr_iter_next(it))) {
		if (strcmp(nftnl_expr_get_str(x, NFTNL_EXPR_NAME), "immediate") ||
		    !nftnl_expr_is_set(x, NFTNL_EXPR_IMM_CHAIN))
			continue;
		target = nftnl_expr_get_str(x, NFTNL_EXPR_IMM_CHAIN);
	}
	nftnl_expr_iter_destroy(it);
	return target;
}

static bool same_comment(const struct nftnl_rule *a, const struct nftnl_rule *b)
{
	const char *ca = nft_rule_comment(a), *cb = nft_rule_comment(b);

	return ca == cb || (ca && cb && !strcmp(ca, cb));
}

bool nft_rule_same(const struct nftnl_rule *a, const struct nftnl_rule *b)
{
	struct nftnl_expr_iter *ia = nftnl_expr_iter_create(a), *ib = nftnl_expr_iter_create(b);
	struct nftnl_expr *xa = NULL, *xb = NULL;
	bool same = ia && ib && same_comment(a, b);

	while (same) {
		char ta[512], tb[512];

		xa = nftnl_expr_iter_next(ia);
		xb = nftnl_expr_iter_next(ib);
		if (!xa || !xb)
			break;
		/* libnftnl's text form of an expression covers all its attributes */
		nftnl_expr_snprintf(ta, sizeof(ta), xa, NFTNL_OUTPUT_DEFAULT, 0);
		nftnl_expr_snprintf(tb, sizeof(tb), xb, NFTNL_OUTPUT_DEFAULT, 0);
		same = !strcmp(nftnl_expr_get_str(xa, NFTNL_EXPR_NAME),
			       nftnl_expr_get_str(xb, NFTNL_EXPR_NAME)) &&
		       !strcmp(ta, tb);
	}
	same = same && !xa && !xb;
	if (ia)
		nftnl_expr_iter_destroy(ia);
	if (ib)
		nftnl_expr_iter_destroy(ib);
	return same;
}

bool nft_rule_find(struct nftnl_rule_list *rules, const struct nftnl_rule *want,
		   bool (*same)(const struct nftnl_rule *, const struct nftnl_rule *))
{
	struct nftnl_rule_list_iter *it = rules ? nftnl_rule_list_iter_create(rules) : NULL;
	struct nftnl_rule *r;
	bool found = false;

	while (it && !found && (r = nftnl_rule_list_iter_next(it)))
		found = same(r, want);
	if (it)
		nftnl_rule_list_iter_destroy(it);
	return found;
}

bool nft_rules_are(struct nftnl_rule_list *have, struct nftnl_rule *const *want, size_t n)
{
	struct nftnl_rule_list_iter *it = have ? nftnl_rule_list_iter_create(have) : NULL;
	struct nftnl_rule *r;
	bool same = it != NULL;
	size_t i = 0;

	while (same && (r = nftnl_rule_list_iter_next(it)))
		same = i < n && want[i] && nft_rule_same(r, want[i]) && ++i;
	if (it)
		nftnl_rule_list_iter_destroy(it);
	return same && i == n;
}

/* ---- the transaction --------------------------------------------------------------------- */

static void fail(struct nft *c, int err)
{
	if (!c->err)
		c->err = err;
}

/* Close the message being built and make room for the next one. */
static char *next_msg(struct nft *c)
{
	if (c->cap - c->len < NFT_MSG_ROOM) {
		size_t cap = c->cap ? c->cap * 2 : 4 * NFT_MSG_ROOM;
		char *buf = realloc(c->buf, cap);

		if (!buf)
			return fail(c, -ENOMEM), NULL;
		c->buf = buf;
		c->cap = cap;
	}
	/* libmnl before 1.0.5 leaves attribute padding unwritten: send zeros, not heap bytes */
	memset(c->buf + c->len, 0, NFT_MSG_ROOM);
	return c->buf + c->len;
}

static void seal(struct nft *c)
{
	struct nlmsghdr *nlh = (struct nlmsghdr *)(c->buf + c->len);

	c->len += NLMSG_ALIGN(nlh->nlmsg_len);
}

void nft_begin(struct nft *c)
{
	struct nlmsghdr *nlh;
	struct nfgenmsg *nfg;
	char *p;

	c->len = 0;
	c->n = 0;
	c->err = 0;
	c->skipped = false;
	p = next_msg(c);
	if (!p)
		return;
	nlh = mnl_nlmsg_put_header(p);
	nlh->nlmsg_type = NFNL_MSG_BATCH_BEGIN;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	nlh->nlmsg_seq = c->seq0 = ++c->seq;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = AF_UNSPEC;
	nfg->version = NFNETLINK_V0;
	nfg->res_id = htons(NFNL_SUBSYS_NFTABLES);
	seal(c);
}

/* Start a message of the transaction and record what it does, for error messages. */
static struct nlmsghdr *msg(struct nft *c, uint16_t type, uint16_t family, uint16_t flags,
			    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static struct nlmsghdr *msg(struct nft *c, uint16_t type, uint16_t family, uint16_t flags,
			    const char *fmt, ...)
{
	char *p = next_msg(c);
	va_list ap;

	if (!p)
		return NULL;
	if (c->n == c->what_cap) {
		size_t cap = c->what_cap ? c->what_cap * 2 : 16;
		void *what = realloc(c->what, cap * sizeof(*c->what));

		if (!what)
			return fail(c, -ENOMEM), NULL;
		c->what = what;
		c->what_cap = cap;
	}
	va_start(ap, fmt);
	vsnprintf(c->what[c->n].text, sizeof(c->what[c->n].text), fmt, ap);
	va_end(ap);
	c->what[c->n++].del =
	    type == NFT_MSG_DELRULE || type == NFT_MSG_DELCHAIN || type == NFT_MSG_DELOBJ ||
	    type == NFT_MSG_DELTABLE;
	return nftnl_nlmsg_build_hdr(p, type, family, flags | NLM_F_ACK, ++c->seq);
}

static void *udata_comment(struct nft *c, uint8_t type, const char *comment, uint32_t *len)
{
	struct nftnl_udata_buf *ud = nftnl_udata_buf_alloc(NFT_USERDATA_MAXLEN);
	void *data = NULL;

	if (ud && nftnl_udata_put_strz(ud, type, comment)) {
		*len = nftnl_udata_buf_len(ud);
		data = malloc(*len);
		if (data)
			memcpy(data, nftnl_udata_buf_data(ud), *len);
	}
	nftnl_udata_buf_free(ud);
	if (!data)
		fail(c, -ENOMEM);
	return data;
}

void nft_add_table(struct nft *c, uint16_t family, const char *table, const char *comment)
{
	struct nftnl_table *t = nftnl_table_alloc();
	struct nlmsghdr *nlh;
	uint32_t len = 0;
	void *ud = NULL;

	if (!t)
		return fail(c, -ENOMEM);
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, table);
	if (comment) {
		ud = udata_comment(c, NFTNL_UDATA_TABLE_COMMENT, comment, &len);
		if (ud)
			nftnl_table_set_data(t, NFTNL_TABLE_USERDATA, ud, len);
	}
	/* NLM_F_CREATE without NLM_F_EXCL: "add", an existing table is kept as it is. */
	nlh = msg(c, NFT_MSG_NEWTABLE, family, NLM_F_CREATE, "adding table %s %s",
		  family_name(family), table);
	if (nlh) {
		nftnl_table_nlmsg_build_payload(nlh, t);
		seal(c);
	}
	free(ud);
	nftnl_table_free(t);
}

void nft_del_table(struct nft *c, uint16_t family, const char *table)
{
	struct nftnl_table *t = nftnl_table_alloc();
	struct nlmsghdr *nlh;

	if (!t)
		return fail(c, -ENOMEM);
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, table);
	nlh = msg(c, NFT_MSG_DELTABLE, family, 0, "deleting table %s %s", family_name(family),
		  table);
	if (nlh) {
		nftnl_table_nlmsg_build_payload(nlh, t);
		seal(c);
	}
	nftnl_table_free(t);
}

static struct nftnl_chain *chain_new(struct nft *c, const char *table, const char *chain)
{
	struct nftnl_chain *ch = nftnl_chain_alloc();

	if (!ch)
		return fail(c, -ENOMEM), NULL;
	nftnl_chain_set_str(ch, NFTNL_CHAIN_TABLE, table);
	nftnl_chain_set_str(ch, NFTNL_CHAIN_NAME, chain);
	return ch;
}

static void put_chain(struct nft *c, struct nftnl_chain *ch, struct nlmsghdr *nlh)
{
	if (nlh) {
		nftnl_chain_nlmsg_build_payload(nlh, ch);
		seal(c);
	}
	nftnl_chain_free(ch);
}

/*
 * Whether the kernel already has @chain as asked: a base chain of @hook's type, hook and
 * priority, or a regular chain when @hook is NULL. Another shape is left to the kernel, which
 * refuses the update and names it. Lookup failures count as "not there".
 */
static bool chain_is(struct nft *c, uint16_t family, const char *table, const char *chain,
		     const struct nft_hook *hook)
{
	uint32_t seq = c->seq; /* the batch's messages keep consecutive numbers */
	struct nftnl_chain *ch;
	char extack[256];
	bool same;

	same = chain_lookup(c, family, table, chain, &ch, extack, sizeof(extack)) == 1;
	c->seq = seq;
	if (same && hook)
		same = nftnl_chain_is_set(ch, NFTNL_CHAIN_HOOKNUM) &&
		       nftnl_chain_get_u32(ch, NFTNL_CHAIN_HOOKNUM) == hook->hooknum &&
		       nftnl_chain_is_set(ch, NFTNL_CHAIN_PRIO) &&
		       nftnl_chain_get_s32(ch, NFTNL_CHAIN_PRIO) == hook->prio &&
		       nftnl_chain_is_set(ch, NFTNL_CHAIN_TYPE) &&
		       !strcmp(nftnl_chain_get_str(ch, NFTNL_CHAIN_TYPE), hook->type);
	else if (same)
		same = !nftnl_chain_is_set(ch, NFTNL_CHAIN_HOOKNUM);
	if (ch)
		nftnl_chain_free(ch);
	return same;
}

void nft_add_chain(struct nft *c, uint16_t family, const char *table, const char *chain,
		   const struct nft_hook *hook, const char *comment)
{
	struct nftnl_chain *ch = chain_new(c, table, chain);
	uint32_t len = 0;
	void *ud = NULL;

	if (!ch)
		return;
	/*
	 * Adding a chain that exists is an update transaction, which the kernel frees only after an
	 * RCU grace period: the process that closes the socket (and the next committer, behind the
	 * commit mutex) waits for it. A batch of new rules alone is freed at once. So ask first,
	 * one lookup per chain; if the chain vanishes before the commit, the rules that use it fail
	 * with ENOENT and read_acks() has the batch built again.
	 */
	if (!c->err && chain_is(c, family, table, chain, hook)) {
		c->skipped = true;
		nftnl_chain_free(ch);
		return;
	}
	if (hook) {
		nftnl_chain_set_str(ch, NFTNL_CHAIN_TYPE, hook->type);
		nftnl_chain_set_u32(ch, NFTNL_CHAIN_HOOKNUM, hook->hooknum);
		nftnl_chain_set_s32(ch, NFTNL_CHAIN_PRIO, hook->prio);
		nftnl_chain_set_u32(ch, NFTNL_CHAIN_POLICY, NF_ACCEPT);
	}
	if (comment) {
		ud = udata_comment(c, NFTNL_UDATA_CHAIN_COMMENT, comment, &len);
		if (ud)
			nftnl_chain_set_data(ch, NFTNL_CHAIN_USERDATA, ud, len);
	}
	put_chain(c, ch,
		  msg(c, NFT_MSG_NEWCHAIN, family, NLM_F_CREATE, "adding chain %s %s %s",
		      family_name(family), table, chain));
	free(ud);
}

void nft_del_chain(struct nft *c, uint16_t family, const char *table, const char *chain)
{
	struct nftnl_chain *ch = chain_new(c, table, chain);

	if (ch)
		put_chain(c, ch,
			  msg(c, NFT_MSG_DELCHAIN, family, 0, "deleting chain %s %s %s",
			      family_name(family), table, chain));
}

void nft_flush_chain(struct nft *c, uint16_t family, const char *table, const char *chain)
{
	struct nftnl_rule *r = nftnl_rule_alloc();
	struct nlmsghdr *nlh;

	if (!r)
		return fail(c, -ENOMEM);
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, table);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain);
	nlh = msg(c, NFT_MSG_DELRULE, family, 0, "flushing chain %s %s %s", family_name(family),
		  table, chain);
	if (nlh) {
		nftnl_rule_nlmsg_build_payload(nlh, r);
		seal(c);
	}
	nftnl_rule_free(r);
}

void nft_del_rule(struct nft *c, const struct nftnl_rule *old)
{
	uint16_t family = nftnl_rule_get_u32(old, NFTNL_RULE_FAMILY);
	const char *table = nftnl_rule_get_str(old, NFTNL_RULE_TABLE);
	const char *chain = nftnl_rule_get_str(old, NFTNL_RULE_CHAIN);
	uint64_t handle = nftnl_rule_get_u64(old, NFTNL_RULE_HANDLE);
	struct nftnl_rule *r = nftnl_rule_alloc();
	struct nlmsghdr *nlh;

	if (!r)
		return fail(c, -ENOMEM);
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, table);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain);
	nftnl_rule_set_u64(r, NFTNL_RULE_HANDLE, handle);
	nlh = msg(c, NFT_MSG_DELRULE, family, 0, "deleting rule %llu from %s %s %s",
		  (unsigned long long)handle, family_name(family), table, chain);
	if (nlh) {
		nftnl_rule_nlmsg_build_payload(nlh, r);
		seal(c);
	}
	nftnl_rule_free(r);
}

/* ---- named counters (an index: see att.c) ----------------------------------------- */

static struct nftnl_obj *counter_new(uint16_t family, const char *table, const char *name)
{
	struct nftnl_obj *o = nftnl_obj_alloc();

	if (o) {
		nftnl_obj_set_u32(o, NFTNL_OBJ_FAMILY, family);
		nftnl_obj_set_str(o, NFTNL_OBJ_TABLE, table);
		if (name)
			nftnl_obj_set_str(o, NFTNL_OBJ_NAME, name);
		nftnl_obj_set_u32(o, NFTNL_OBJ_TYPE, NFT_OBJECT_COUNTER);
	}
	return o;
}

static int found_cb(const struct nlmsghdr *nlh, void *arg)
{
	(void)nlh;
	*(bool *)arg = true;
	return 0;
}

int nft_counter_exists(struct nft *c, uint16_t family, const char *table, const char *name,
		       struct cni_err *e)
{
	char buf[512] __attribute__((aligned(NLMSG_ALIGNTO))) = { 0 }, extack[256] = "";
	struct nftnl_obj *o = counter_new(family, table, name);
	struct nlmsghdr *nlh;
	bool found = false;
	int ret;

	if (!o)
		return cni_fail(e, -ENOMEM, 0, "out of memory");
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETOBJ, family, NLM_F_ACK, ++c->seq);
	nftnl_obj_nlmsg_build_payload(nlh, o);
	nftnl_obj_free(o);
	ret = nft_query(c, nlh, found_cb, &found, extack, sizeof(extack));
	if (ret == -ENOENT)
		return 0;
	if (ret < 0)
		return cni_fail(e, ret, 0, "looking up counter %s %s %s: %s%s%s", family_name(family),
				table, name, strerror(-ret), *extack ? ": " : "", extack);
	return found;
}

struct counter_walk {
	int (*fn)(const char *name, void *arg);
	void *arg;
};

static int counter_cb(const struct nlmsghdr *nlh, void *arg)
{
	struct counter_walk *w = arg;
	struct nftnl_obj *o = nftnl_obj_alloc();
	int ret = -ENOMEM;

	if (o) {
		ret = nftnl_obj_nlmsg_parse(nlh, o) < 0 ? -EPROTO
			: w->fn(nftnl_obj_get_str(o, NFTNL_OBJ_NAME), w->arg);
		nftnl_obj_free(o);
	}
	return ret;
}

int nft_list_counters(struct nft *c, uint16_t family, const char *table,
		      int (*fn)(const char *name, void *arg), void *arg, struct cni_err *e)
{
	char buf[512] __attribute__((aligned(NLMSG_ALIGNTO))) = { 0 }, extack[256] = "";
	struct nftnl_obj *o = counter_new(family, table, NULL);
	struct counter_walk w = { fn, arg };
	uint32_t seq = c->seq; /* may run while a batch is built: its messages keep consecutive numbers */
	struct nlmsghdr *nlh;
	int ret;

	if (!o)
		return cni_fail(e, -ENOMEM, 0, "out of memory");
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETOBJ, family, NLM_F_DUMP, seq + 0x10000);
	nftnl_obj_nlmsg_build_payload(nlh, o);
	nftnl_obj_free(o);
	ret = nft_query(c, nlh, counter_cb, &w, extack, sizeof(extack));
	c->seq = seq;
	if (ret == -ENOENT)
		return 0;
	if (ret < 0)
		return cni_fail(e, ret, 0, "listing counters of %s %s: %s%s%s", family_name(family),
				table, strerror(-ret), *extack ? ": " : "", extack);
	return 0;
}

static void put_counter(struct nft *c, uint16_t type, uint16_t family, uint16_t flags,
			const char *table, const char *name)
{
	struct nftnl_obj *o = counter_new(family, table, name);
	struct nlmsghdr *nlh;

	if (!o)
		return fail(c, -ENOMEM);
	nlh = msg(c, type, family, flags, "%s counter %s in %s %s",
		  type == NFT_MSG_DELOBJ ? "deleting" : "adding", name, family_name(family), table);
	if (nlh) {
		nftnl_obj_nlmsg_build_payload(nlh, o);
		seal(c);
	}
	nftnl_obj_free(o);
}

void nft_add_counter(struct nft *c, uint16_t family, const char *table, const char *name)
{
	/* NLM_F_CREATE without NLM_F_EXCL: a counter has no update, an existing one stays as is */
	put_counter(c, NFT_MSG_NEWOBJ, family, NLM_F_CREATE, table, name);
}

void nft_del_counter(struct nft *c, uint16_t family, const char *table, const char *name)
{
	put_counter(c, NFT_MSG_DELOBJ, family, 0, table, name);
}

size_t nft_del_commented(struct nft *c, struct nftnl_rule_list *rules,
			 bool (*match)(const char *comment, void *arg), void *arg)
{
	struct nftnl_rule_list_iter *it;
	struct nftnl_rule *r;
	size_t n = 0;

	if (!rules)
		return 0;
	it = nftnl_rule_list_iter_create(rules);
	if (!it)
		return fail(c, -ENOMEM), 0;
	while ((r = nftnl_rule_list_iter_next(it))) {
		const char *comment = nft_rule_comment(r);

		if (comment && match(comment, arg)) {
			nft_del_rule(c, r);
			n++;
		}
	}
	nftnl_rule_list_iter_destroy(it);
	return n;
}

bool nft_comment_has_prefix(const char *comment, void *prefix)
{
	return !strncmp(comment, prefix, strlen(prefix));
}

void nft_add_rule(struct nft *c, struct nftnl_rule *r)
{
	uint16_t family;
	struct nlmsghdr *nlh;

	if (!r)
		return;
	family = nftnl_rule_get_u32(r, NFTNL_RULE_FAMILY);
	nlh = msg(c, NFT_MSG_NEWRULE, family, NLM_F_CREATE | NLM_F_APPEND,
		  "adding rule to %s %s %s", family_name(family),
		  nftnl_rule_get_str(r, NFTNL_RULE_TABLE), nftnl_rule_get_str(r, NFTNL_RULE_CHAIN));
	if (nlh) {
		nftnl_rule_nlmsg_build_payload(nlh, r);
		seal(c);
	}
	nftnl_rule_free(r);
}

void nft_insert_rule(struct nft *c, struct nftnl_rule *r)
{
	uint16_t family;
	struct nlmsghdr *nlh;

	if (!r)
		return;
	family = nftnl_rule_get_u32(r, NFTNL_RULE_FAMILY);
	/* without NLM_F_APPEND and without a position, the kernel puts the rule first */
	nlh = msg(c, NFT_MSG_NEWRULE, family, NLM_F_CREATE, "inserting rule into %s %s %s",
		  family_name(family), nftnl_rule_get_str(r, NFTNL_RULE_TABLE),
		  nftnl_rule_get_str(r, NFTNL_RULE_CHAIN));
	if (nlh) {
		nftnl_rule_nlmsg_build_payload(nlh, r);
		seal(c);
	}
	nftnl_rule_free(r);
}

/* Read the answers to a sent batch: 0, or the first error (-ERESTART: a listed object vanished). */
static int read_acks(struct nft *c, struct cni_err *e)
{
	char buf[NFT_RECV_SIZE] __attribute__((aligned(NLMSG_ALIGNTO)));
	size_t acks = 0;
	int ret = 0;

	/*
	 * nfnetlink processes the batch inside sendto(), so every answer is queued by now: drain
	 * without blocking, as nftables does. A failed batch may answer fewer than all messages.
	 */
	while (acks < c->n) {
		int len = (int)recv(mnl_socket_get_fd(c->nl), buf, sizeof(buf), MSG_DONTWAIT);
		const struct nlmsghdr *nlh;

		if (len < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN && ret)
				break;
			ret = -errno;
			if (errno != EAGAIN)
				nft_drain(c);
			return cni_fail(e, ret, 0, "reading nftables acks: %s", strerror(-ret));
		}
		for (nlh = (const struct nlmsghdr *)buf; mnl_nlmsg_ok(nlh, len);
		     nlh = mnl_nlmsg_next(nlh, &len)) {
			const struct nlmsgerr *err = mnl_nlmsg_get_payload(nlh);
			uint32_t i = nlh->nlmsg_seq - c->seq0;
			int errnum;

			if (nlh->nlmsg_type != NLMSG_ERROR || nlh->nlmsg_pid != c->portid ||
			    i > c->n)
				continue;
			errnum = err->error < 0 ? err->error : -err->error;
			acks++;
			if (!errnum || ret)
				continue;
			ret = errnum;
			if (i == 0)
				cni_fail(e, ret, 0, "nftables transaction: %s", strerror(-ret));
			else
				cni_fail(e, ret, 0, "%s: %s", c->what[i - 1].text, strerror(-ret));
			/* what we listed (or a chain we found) was deleted meanwhile: list again */
			if (i > 0 && ret == -ENOENT && (c->what[i - 1].del || c->skipped))
				ret = -ERESTART;
			if (*extack_msg(nlh))
				cni_err_append(e, "%s", extack_msg(nlh));
			if (i == 0)
				return ret; /* refused as a whole: nothing else will come */
		}
	}
	return ret;
}

int nft_commit(struct nft *c, struct cni_err *e)
{
	int fd = mnl_socket_get_fd(c->nl);
	char *p;

	if (!c->err && !c->n)
		return 0;
	p = c->err ? NULL : next_msg(c);
	if (!p)
		return cni_fail(e, c->err, 0, "building an nftables transaction: %s",
				strerror(-c->err));
	nftnl_batch_end(p, ++c->seq);
	seal(c);
	/* netlink refuses a datagram larger than the send buffer; acks must fit the receive one */
	if (c->len > 65536)
		setbuf_force(fd, SO_SNDBUFFORCE, SO_SNDBUF, (int)c->len + 4096);
	if (c->n > 64)
		setbuf_force(fd, SO_RCVBUFFORCE, SO_RCVBUF, (int)c->n * 1024 + 65536);
	if (mnl_socket_sendto(c->nl, c->buf, c->len) < 0)
		return cni_fail(e, -errno, 0, "sending nftables transaction: %s", strerror(errno));
	return read_acks(c, e);
}

/* ---- expressions ------------------------------------------------------------------------- */

struct nftnl_rule *nft_rule_new(struct nft *c, uint16_t family, const char *table,
				const char *chain, const char *comment)
{
	struct nftnl_rule *r = nftnl_rule_alloc();
	uint32_t len = 0;
	void *ud;

	if (!r)
		return fail(c, -ENOMEM), NULL;
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, family);
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, table);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain);
	if (comment) {
		ud = udata_comment(c, NFTNL_UDATA_RULE_COMMENT, comment, &len);
		if (ud)
			nftnl_rule_set_data(r, NFTNL_RULE_USERDATA, ud, len);
		free(ud);
	}
	return r;
}

struct nftnl_expr *nft_x_new(struct nft *c, struct nftnl_rule *r, const char *name)
{
	struct nftnl_expr *x = r ? nftnl_expr_alloc(name) : NULL;

	if (!x)
		return fail(c, -ENOMEM), NULL;
	nftnl_rule_add_expr(r, x);
	return x;
}

void nft_x_meta(struct nft *c, struct nftnl_rule *r, uint32_t key)
{
	struct nftnl_expr *x = nft_x_new(c, r, "meta");

	if (!x)
		return;
	nftnl_expr_set_u32(x, NFTNL_EXPR_META_KEY, key);
	nftnl_expr_set_u32(x, NFTNL_EXPR_META_DREG, NFT_REG_1);
}

void nft_x_payload(struct nft *c, struct nftnl_rule *r, uint32_t base, uint32_t off, uint32_t len)
{
	struct nftnl_expr *x = nft_x_new(c, r, "payload");

	if (!x)
		return;
	nftnl_expr_set_u32(x, NFTNL_EXPR_PAYLOAD_BASE, base);
	nftnl_expr_set_u32(x, NFTNL_EXPR_PAYLOAD_OFFSET, off);
	nftnl_expr_set_u32(x, NFTNL_EXPR_PAYLOAD_LEN, len);
	nftnl_expr_set_u32(x, NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1);
}

void nft_x_cmp(struct nft *c, struct nftnl_rule *r, uint32_t op, const void *data, uint32_t len)
{
	struct nftnl_expr *x = nft_x_new(c, r, "cmp");

	if (!x)
		return;
	nftnl_expr_set_u32(x, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
	nftnl_expr_set_u32(x, NFTNL_EXPR_CMP_OP, op);
	if (nftnl_expr_set(x, NFTNL_EXPR_CMP_DATA, data, len) < 0)
		fail(c, -ENOMEM);
}

void nft_x_bitwise(struct nft *c, struct nftnl_rule *r, const void *mask, uint32_t len)
{
	static const uint8_t zero[16];
	struct nftnl_expr *x = nft_x_new(c, r, "bitwise");

	if (!x)
		return;
	nftnl_expr_set_u32(x, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
	nftnl_expr_set_u32(x, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
	nftnl_expr_set_u32(x, NFTNL_EXPR_BITWISE_LEN, len);
	if (nftnl_expr_set(x, NFTNL_EXPR_BITWISE_MASK, mask, len) < 0 ||
	    nftnl_expr_set(x, NFTNL_EXPR_BITWISE_XOR, zero, len) < 0)
		fail(c, -ENOMEM);
}

void nft_x_verdict(struct nft *c, struct nftnl_rule *r, int verdict, const char *chain)
{
	struct nftnl_expr *x = nft_x_new(c, r, "immediate");

	if (!x)
		return;
	nftnl_expr_set_u32(x, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
	nftnl_expr_set_u32(x, NFTNL_EXPR_IMM_VERDICT, (uint32_t)verdict);
	if (chain && nftnl_expr_set_str(x, NFTNL_EXPR_IMM_CHAIN, chain) < 0)
		fail(c, -ENOMEM);
}

void nft_x_masq(struct nft *c, struct nftnl_rule *r)
{
	nft_x_new(c, r, "masq");
}

void nft_x_addr(struct nft *c, struct nftnl_rule *r, const struct cni_prefix *p, bool dst,
		bool neq)
{
	unsigned int alen = cni_ip_len(&p->ip);
	struct cni_ip net = cni_prefix_network(p);
	uint32_t off = alen == 4 ? (dst ? 16 : 12) : (dst ? 24 : 8);
	uint32_t op = neq ? NFT_CMP_NEQ : NFT_CMP_EQ;
	uint8_t mask[16] = { 0 };

	/* As nft: a byte-aligned prefix compares its leading bytes, any other one is masked. */
	if (p->len && p->len % 8 == 0) {
		nft_x_payload(c, r, NFT_PAYLOAD_NETWORK_HEADER, off, p->len / 8);
		nft_x_cmp(c, r, op, net.a, p->len / 8);
		return;
	}
	for (unsigned int i = 0; i < p->len; i++)
		mask[i / 8] |= (uint8_t)(0x80 >> (i % 8));
	nft_x_payload(c, r, NFT_PAYLOAD_NETWORK_HEADER, off, alen);
	nft_x_bitwise(c, r, mask, alen);
	nft_x_cmp(c, r, op, net.a, alen);
}

/* Jittered and growing, so concurrent plugins stop colliding: up to ~1 ms times the attempt. */
static void backoff(int attempt)
{
	static unsigned int seed;
	struct timespec ts;

	if (!seed)
		seed = (unsigned int)getpid() ^ (unsigned int)time(NULL);
	ts.tv_sec = 0;
	ts.tv_nsec = (long)(rand_r(&seed) % 1000000) * (attempt + 1);
	nanosleep(&ts, NULL);
}

int nft_run(int (*once)(struct nft *c, void *arg, struct cni_err *e), void *arg,
	    struct cni_err *e)
{
	_cleanup_nft_ struct nft c = { 0 };
	int ret = nft_open(&c, e);

	for (int i = 0; ret == 0; i++) {
		ret = once(&c, arg, e);
		if (ret != -ERESTART || i == NFT_RETRIES)
			break;
		cni_err_clear(e);
		backoff(i);
		ret = 0;
	}
	if (ret == -ERESTART)
		cni_wrap(e, ret, "the nftables ruleset kept changing, %d attempts",
			 NFT_RETRIES + 1);
	return ret;
}

int nu_nft_available(void)
{
	struct cni_err e = { 0 };
	_cleanup_nft_ struct nft c = { 0 };
	int ret = nft_open(&c, &e);

	return ret < 0 ? ret : nft_sync(&c, &e);
}

/* fib daddr type local */
void nft_x_fib_daddr_local(struct nft *c, struct nftnl_rule *r)
{
	struct nftnl_expr *x = nft_x_new(c, r, "fib");
	uint32_t local = RTN_LOCAL;

	if (!x)
		return;
	nftnl_expr_set_u32(x, NFTNL_EXPR_FIB_RESULT, NFT_FIB_RESULT_ADDRTYPE);
	nftnl_expr_set_u32(x, NFTNL_EXPR_FIB_FLAGS, NFTA_FIB_F_DADDR);
	nftnl_expr_set_u32(x, NFTNL_EXPR_FIB_DREG, NFT_REG_1);
	nft_x_cmp(c, r, NFT_CMP_EQ, &local, sizeof(local));
}
