/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The round trip of the nftables layout tests (tests/unit/test_*_layout.c, test_nft_layout.c):
 * a rule a layout built, without a kernel, serialised into its NFT_MSG_NEWRULE message, parsed
 * back into a new object and compared (family, table, chain, comment, every expression),
 * serialised again to the same bytes, and its expressions' text compared with the layout written
 * down in the test (what `nft --debug=netlink` shows). Include after the layout's .c (which
 * brings pkg/nft/internal.h) and tap.h.
 */
#ifndef CNIC_NFT_LAYOUT_H
#define CNIC_NFT_LAYOUT_H

#include <arpa/inet.h>
#include <libnftnl/common.h>

/* The address @s of family @af with prefix length @len. */
static inline struct cni_prefix PFX(int af, const char *s, uint8_t len)
{
	struct cni_prefix p = { .ip.family = (uint8_t)af, .len = len };

	inet_pton(af, s, p.ip.a);
	return p;
}

/* Serialise @r into @buf as the message a batch would carry; returns its length. */
static size_t put_rule(char *buf, struct nftnl_rule *r)
{
	struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(
		buf, NFT_MSG_NEWRULE, (uint16_t)nftnl_rule_get_u32(r, NFTNL_RULE_FAMILY),
		NLM_F_CREATE | NLM_F_APPEND, 1);

	nftnl_rule_nlmsg_build_payload(nlh, r);
	return nlh->nlmsg_len;
}

/*
 * An xt match's or target's data, which libnftnl's text leaves out: "info <len>b @<off> <hex>",
 * the bytes from the first non-zero one (at <off>) to the last (the rest is zero). Nothing for
 * other expressions.
 */
static size_t xt_info_text(char *out, size_t cap, const struct nftnl_expr *x)
{
	const char *name = nftnl_expr_get_str(x, NFTNL_EXPR_NAME);
	uint16_t attr = !strcmp(name, "match")	? NFTNL_EXPR_MT_INFO
			: !strcmp(name, "target") ? NFTNL_EXPR_TG_INFO
						  : 0;
	const unsigned char *d;
	uint32_t n = 0, end, start = 0;
	size_t len;

	if (!attr || !(d = nftnl_expr_get(x, attr, &n)))
		return 0;
	for (end = n; end && !d[end - 1]; end--)
		;
	while (start < end && !d[start])
		start++;
	len = (size_t)snprintf(out, cap, "info %ub @%u ", n, start);
	for (uint32_t i = start; i < end && len < cap; i++)
		len += (size_t)snprintf(out + len, cap - len, "%02x", d[i]);
	if (len < cap)
		len += (size_t)snprintf(out + len, cap - len, " ");
	return len;
}

/* The expressions' text, one "[ ... ]" each, without the rule's header line. */
static const char *exprs_text(char *out, size_t cap, const struct nftnl_rule *r)
{
	struct nftnl_expr_iter *it = nftnl_expr_iter_create(r);
	struct nftnl_expr *x;
	size_t len = 0;

	out[0] = '\0';
	while (it && (x = nftnl_expr_iter_next(it)) && len < cap) {
		len += (size_t)snprintf(out + len, cap - len, "%s[ %s ", len ? " " : "",
					nftnl_expr_get_str(x, NFTNL_EXPR_NAME));
		if (len < cap)
			len += (size_t)nftnl_expr_snprintf(out + len, cap - len, x,
							   NFTNL_OUTPUT_DEFAULT, 0);
		if (len < cap)
			len += xt_info_text(out + len, cap - len, x);
		if (len < cap)
			len += (size_t)snprintf(out + len, cap - len, "]");
	}
	if (it)
		nftnl_expr_iter_destroy(it);
	return out;
}

static const char *str_or(const struct nftnl_rule *r, uint16_t attr)
{
	const char *s = nftnl_rule_is_set(r, attr) ? nftnl_rule_get_str(r, attr) : NULL;

	return s ? s : "";
}

/* Build -> serialise -> parse -> compare -> serialise again, and the layout's text. Frees @r. */
static void round_trip(const char *name, struct nft *c, struct nftnl_rule *r, const char *want)
{
	static char a[8192], b[8192];
	char text[4096], what[256];
	struct nftnl_rule *back = nftnl_rule_alloc();
	size_t la, lb;

	snprintf(what, sizeof(what), "%s: built without error", name);
	if (r && back && c->err == 0)
		TAP_OK(what);
	else {
		TAP_FAIL(what, "err %d", c->err);
		return;
	}
	la = put_rule(a, r);
	snprintf(what, sizeof(what), "%s: parsed back", name);
	if (nftnl_rule_nlmsg_parse((struct nlmsghdr *)a, back) == 0)
		TAP_OK(what);
	else
		TAP_FAIL(what, "nftnl_rule_nlmsg_parse failed");
	snprintf(what, sizeof(what), "%s: same family, table and chain", name);
	if (nftnl_rule_get_u32(r, NFTNL_RULE_FAMILY) == nftnl_rule_get_u32(back, NFTNL_RULE_FAMILY) &&
	    !strcmp(str_or(r, NFTNL_RULE_TABLE), str_or(back, NFTNL_RULE_TABLE)) &&
	    !strcmp(str_or(r, NFTNL_RULE_CHAIN), str_or(back, NFTNL_RULE_CHAIN)))
		TAP_OK(what);
	else
		TAP_FAIL(what, "%s %s, back %s %s", str_or(r, NFTNL_RULE_TABLE),
			 str_or(r, NFTNL_RULE_CHAIN), str_or(back, NFTNL_RULE_TABLE),
			 str_or(back, NFTNL_RULE_CHAIN));
	snprintf(what, sizeof(what), "%s: same comment and expressions", name);
	if (nft_rule_same(r, back))
		TAP_OK(what);
	else
		TAP_FAIL(what, "built and parsed differ");
	lb = put_rule(b, back);
	snprintf(what, sizeof(what), "%s: serialised again to the same %zu bytes", name, la);
	if (la == lb && !memcmp(a, b, la))
		TAP_OK(what);
	else
		TAP_FAIL(what, "%zu and %zu bytes differ", la, lb);
	snprintf(what, sizeof(what), "%s: the layout", name);
	exprs_text(text, sizeof(text), back);
	if (!strcmp(text, want))
		TAP_OK(what);
	else
		TAP_FAIL(what, "got\n#   %s\n# want\n#   %s", text, want);
	nftnl_rule_free(back);
	nftnl_rule_free(r);
}

#endif
