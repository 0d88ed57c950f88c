// SPDX-License-Identifier: Apache-2.0
/*
 * The iptables-nft encoding shared by the layouts that mimic the reference plugins' iptables rules
 * (masq_iptables.c, fwd.c, plugins/meta/firewall/nft.c, plugins/meta/portmap/nft.c): xt matches and
 * targets with their data as iptables-nft 1.8.9 sends it, the counter it puts in every rule, its
 * -s/-d encoding, and the rule comparison `iptables -C` makes. Builders append to a rule and never
 * fail on their own (an allocation failure goes to c->err, see internal.h). No kernel objects are
 * created here.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/x_tables.h>
#include <linux/netfilter/xt_comment.h>
#include <linux/netfilter/xt_conntrack.h>
#include <linux/netfilter/xt_sctp.h>

#include "nft/internal.h"

static void fail(struct nft *c, int err)
{
	if (!c->err)
		c->err = err;
}

/* libnftnl 1.2.4 keeps (and later frees) the pointer it is given for xt data: a heap copy. */
static void xt_data(struct nft *c, struct nftnl_expr *x, uint16_t attr, const void *data,
		    uint32_t len)
{
	void *copy = malloc(len);

	if (!copy)
		return fail(c, -ENOMEM);
	memcpy(copy, data, len);
	if (nftnl_expr_set(x, attr, copy, len) < 0) {
		free(copy);
		fail(c, -ENOMEM);
	}
}

void nft_x_xt_match(struct nft *c, struct nftnl_rule *r, const char *name, uint32_t rev,
		    const void *info, uint32_t len)
{
	struct nftnl_expr *x = nft_x_new(c, r, "match");

	if (!x)
		return;
	nftnl_expr_set_str(x, NFTNL_EXPR_MT_NAME, name);
	nftnl_expr_set_u32(x, NFTNL_EXPR_MT_REV, rev);
	xt_data(c, x, NFTNL_EXPR_MT_INFO, info, len);
}

void nft_x_xt_target(struct nft *c, struct nftnl_rule *r, const char *name, uint32_t rev,
		     const void *info, uint32_t len)
{
	struct nftnl_expr *x = nft_x_new(c, r, "target");

	if (!x)
		return;
	nftnl_expr_set_str(x, NFTNL_EXPR_TG_NAME, name);
	nftnl_expr_set_u32(x, NFTNL_EXPR_TG_REV, rev);
	xt_data(c, x, NFTNL_EXPR_TG_INFO, info, len);
}

void nft_x_xt_comment(struct nft *c, struct nftnl_rule *r, const char *comment)
{
	struct xt_comment_info info;

	memset(&info, 0, sizeof(info));
	snprintf(info.comment, sizeof(info.comment), "%s", comment); /* zero padding kept */
	nft_x_xt_match(c, r, "comment", 0, &info, XT_ALIGN(sizeof(info)));
}

/* The v4 MASQUERADE target's data (libipt_MASQUERADE), which predates nf_nat_range. */
struct ipt_masq_v4 {
	unsigned int rangesize;
	struct nf_nat_ipv4_range range[1];
};

/*
 * iptables-nft 1.8.9 keeps the xt target (it does not translate it to nft's masq). v4: struct
 * nf_nat_ipv4_multi_range_compat with rangesize 1 (MASQUERADE_init), v6: a zeroed struct
 * nf_nat_range; both revision 0, padded to XT_ALIGN as the kernel stores them.
 */
void nft_x_xt_masquerade(struct nft *c, struct nftnl_rule *r, uint16_t family)
{
	union {
		struct ipt_masq_v4 v4;
		struct nf_nat_range v6;
		char pad[64];
	} info;
	uint32_t len;

	memset(&info, 0, sizeof(info));
	if (family == NFPROTO_IPV4) {
		info.v4.rangesize = 1;
		len = XT_ALIGN(sizeof(info.v4));
	} else {
		len = XT_ALIGN(sizeof(info.v6));
	}
	nft_x_xt_target(c, r, "MASQUERADE", 0, &info, len);
}

/* 164 bytes padded to XT_ALIGN's 168: the padding is sent too, so it is zeroed here */
void nft_x_xt_ctstate(struct nft *c, struct nftnl_rule *r, uint16_t mask)
{
	union {
		struct xt_conntrack_mtinfo3 info;
		char pad[XT_ALIGN(sizeof(struct xt_conntrack_mtinfo3))];
	} u;

	memset(&u, 0, sizeof(u));
	u.info.match_flags = XT_CONNTRACK_STATE;
	u.info.state_mask = mask;
	nft_x_xt_match(c, r, "conntrack", 3, &u, sizeof(u));
}

void nft_x_counter(struct nft *c, struct nftnl_rule *r)
{
	struct nftnl_expr *x = nft_x_new(c, r, "counter");

	if (!x)
		return;
	nftnl_expr_set_u64(x, NFTNL_EXPR_CTR_PACKETS, 0);
	nftnl_expr_set_u64(x, NFTNL_EXPR_CTR_BYTES, 0);
}

void nft_x_ipt_addr(struct nft *c, struct nftnl_rule *r, const struct cni_prefix *p, bool dst,
		    bool neq)
{
	if (p->len)
		nft_x_addr(c, r, p, dst, neq);
}

/*
 * xt data equal in both, up to the extension's own size: the kernel keeps the data in an
 * XT_ALIGN()ed buffer but initialises only the structure, and dumps the padding too (seen on
 * 6.x with sctp's 292-byte and DNAT's 44-byte structures), as iptables compares only that much.
 */
static bool same_data(const struct nftnl_expr *x, const struct nftnl_expr *y, uint16_t attr)
{
	static const struct {
		const char *name;
		uint32_t size;
	} sizes[] = {
		{ "sctp", sizeof(struct xt_sctp_info) },
		{ "DNAT", sizeof(struct nf_nat_range2) },
	};
	uint32_t lx = 0, ly = 0, n;
	const void *dx = nftnl_expr_get_data(x, attr, &lx), *dy = nftnl_expr_get_data(y, attr, &ly);
	const char *name = nftnl_expr_get_str(x, attr == NFTNL_EXPR_MT_INFO ? NFTNL_EXPR_MT_NAME
									 : NFTNL_EXPR_TG_NAME);

	if (!dx || !dy || lx != ly)
		return false;
	n = lx;
	for (size_t i = 0; name && i < sizeof(sizes) / sizeof(sizes[0]); i++)
		if (!strcmp(name, sizes[i].name) && sizes[i].size < n)
			n = sizes[i].size;
	return !memcmp(dx, dy, n);
}

bool nft_ipt_rule_same(const struct nftnl_rule *a, const struct nftnl_rule *b)
{
	struct nftnl_expr_iter *ia = nftnl_expr_iter_create(a), *ib = nftnl_expr_iter_create(b);
	struct nftnl_expr *xa = NULL, *xb = NULL;
	bool same = ia && ib;

	while (same) {
		char ta[512], tb[512];
		const char *name;

		xa = nftnl_expr_iter_next(ia);
		xb = nftnl_expr_iter_next(ib);
		if (!xa || !xb)
			break;
		name = nftnl_expr_get_str(xa, NFTNL_EXPR_NAME);
		if (strcmp(name, nftnl_expr_get_str(xb, NFTNL_EXPR_NAME)))
			same = false;
		else if (!strcmp(name, "counter"))
			continue;
		else if (!strcmp(name, "match"))
			same = same_data(xa, xb, NFTNL_EXPR_MT_INFO);
		else if (!strcmp(name, "target"))
			same = same_data(xa, xb, NFTNL_EXPR_TG_INFO);
		if (!same)
			break;
		/* the text covers every other attribute, and the name and revision of xt ones */
		nftnl_expr_snprintf(ta, sizeof(ta), xa, NFTNL_OUTPUT_DEFAULT, 0);
		nftnl_expr_snprintf(tb, sizeof(tb), xb, NFTNL_OUTPUT_DEFAULT, 0);
		same = !strcmp(ta, tb);
	}
	same = same && !xa && !xb;
	if (ia)
		nftnl_expr_iter_destroy(ia);
	if (ib)
		nftnl_expr_iter_destroy(ib);
	return same;
}

const char *nft_rule_xt_comment(const struct nftnl_rule *r, char out[XT_MAX_COMMENT_LEN])
{
	struct nftnl_expr_iter *it = nftnl_expr_iter_create(r);
	const char *found = NULL;
	struct nftnl_expr *x;

	while (it && !found && (x = nftnl_expr_iter_next(it))) {
		uint32_t len = 0;
		const char *d;

		if (strcmp(nftnl_expr_get_str(x, NFTNL_EXPR_NAME), "match") ||
		    strcmp(nftnl_expr_get_str(x, NFTNL_EXPR_MT_NAME), "comment"))
			continue;
		d = nftnl_expr_get_data(x, NFTNL_EXPR_MT_INFO, &len);
		if (d && len) {
			snprintf(out, XT_MAX_COMMENT_LEN, "%.*s", (int)len, d);
			found = out;
		}
	}
	if (it)
		nftnl_expr_iter_destroy(it);
	return found;
}
