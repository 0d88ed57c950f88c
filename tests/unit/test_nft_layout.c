// SPDX-License-Identifier: Apache-2.0
/*
 * The nftables layouts as libnftnl objects, without a kernel: each rule a layout builds is
 * serialised into its NFT_MSG_NEWRULE message, parsed back into a new object and compared
 * (family, table, chain, comment, every expression), serialised again to the same bytes, and its
 * expressions' text is compared with the layout written down here (what `nft --debug=netlink`
 * shows). A change of a layout's bytes, intended or not, shows here first; tests/kernel checks
 * the same layouts against the kernel. Starts with bridge and ptp's masquerade (masq.c, read
 * through its own static builders).
 */
#include <arpa/inet.h>
#include <libnftnl/common.h>

#include "../../pkg/nft/masq.c"
#include "tap.h"

/* Serialise @r into @buf as the message a batch would carry; returns its length. */
static size_t put_rule(char *buf, struct nftnl_rule *r)
{
	struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(
		buf, NFT_MSG_NEWRULE, (uint16_t)nftnl_rule_get_u32(r, NFTNL_RULE_FAMILY),
		NLM_F_CREATE | NLM_F_APPEND, 1);

	nftnl_rule_nlmsg_build_payload(nlh, r);
	return nlh->nlmsg_len;
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
	char text[2048], what[256];
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

static void masquerade(void)
{
	struct nft c = { 0 };
	char comment[COMMENT_MAX + 1];
	struct cni_prefix v4 = { .ip.family = AF_INET, .len = 16 }, v6 = { .ip.family = AF_INET6,
									   .len = 64 };
	struct nftnl_rule *go;

	inet_pton(AF_INET, "10.88.0.5", v4.ip.a);
	inet_pton(AF_INET6, "fd00:88::5", v6.ip.a);
	masq_comment(comment, "podman", "eth0", "0123456789abcdef");

	/* the comment is a hash of the attachment, then its names */
	CHECK(strlen(comment) > HASH_LEN && !strcmp(comment + HASH_LEN,
						    ", net: podman, if: eth0, id: 0123456789abcdef"));
	round_trip("masq ipv4 container", &c, masq_rule(&c, &v4, comment),
		   "[ meta load nfproto => reg 1 ] [ cmp eq reg 1 0x00000002 ] "
		   "[ payload load 4b @ network header + 12 => reg 1 ] "
		   "[ cmp eq reg 1 0x0500580a ] "
		   "[ payload load 2b @ network header + 16 => reg 1 ] "
		   "[ cmp neq reg 1 0x0000580a ] [ masq ]");
	round_trip("masq ipv6 container", &c, masq_rule(&c, &v6, comment),
		   "[ meta load nfproto => reg 1 ] [ cmp eq reg 1 0x0000000a ] "
		   "[ payload load 16b @ network header + 8 => reg 1 ] "
		   "[ cmp eq reg 1 0x880000fd 0x00000000 0x00000000 0x05000000 ] "
		   "[ payload load 8b @ network header + 24 => reg 1 ] "
		   "[ cmp neq reg 1 0x880000fd 0x00000000 ] [ masq ]");
	round_trip("postrouting ipv4 multicast", &c, multicast_rule(&c, AF_INET),
		   "[ meta load nfproto => reg 1 ] [ cmp eq reg 1 0x00000002 ] "
		   "[ payload load 4b @ network header + 16 => reg 1 ] "
		   "[ bitwise reg 1 = ( reg 1 & 0x000000f0 ) ^ 0x00000000 ] "
		   "[ cmp eq reg 1 0x000000e0 ] [ immediate reg 0 return ]");
	round_trip("postrouting ipv6 multicast", &c, multicast_rule(&c, AF_INET6),
		   "[ meta load nfproto => reg 1 ] [ cmp eq reg 1 0x0000000a ] "
		   "[ payload load 1b @ network header + 24 => reg 1 ] "
		   "[ cmp eq reg 1 0x000000ff ] [ immediate reg 0 return ]");
	go = nft_rule_new(&c, NFPROTO_INET, MASQ_TABLE, MASQ_POST, NULL);
	nft_x_verdict(&c, go, NFT_GOTO, MASQ_CHAIN);
	round_trip("postrouting goto masq_checks", &c, go,
		   "[ immediate reg 0 goto -> masq_checks ]");
}

int main(void)
{
	masquerade();
	return tap_done();
}
