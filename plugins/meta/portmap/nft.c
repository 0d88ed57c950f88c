// SPDX-License-Identifier: Apache-2.0
/*
 * portmap's rules in the reference plugin's two layouts, written natively through libnftnl over
 * pkg/nft's engine (see portmap.h for the objects). nftables layout: per family, table cni_hostport
 * with the reference's chains; the shared structure (hostports_all, prerouting, output) is flushed
 * and rewritten by every ADD in the same transaction as the container's rules, exactly as the
 * reference's knftables transaction does, so no listing is needed on ADD. iptables layout: the
 * bytecode iptables-nft 1.8.9 emits for the Go plugin's `iptables` commands (payload/cmp for
 * -s/-d/-p/--dport, xt matches comment/multiport/addrtype/sctp, meta mark for -m mark, a counter,
 * xt targets MARK/MASQUERADE/DNAT), so `iptables -t nat -S` shows what the Go plugin would have
 * made and its `iptables -C/-D` find our rules. ADD looks up single chains (and their reference
 * counts) instead of listing the nat table, whose size grows with the number of containers.
 * Deletes are idempotent; a rule listed for deletion that vanished meanwhile restarts the round.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/x_tables.h>
#include <linux/netfilter/xt_addrtype.h>
#include <linux/netfilter/xt_comment.h>
#include <linux/netfilter/xt_mark.h>
#include <linux/netfilter/xt_multiport.h>
#include <linux/netfilter/xt_sctp.h>
#include <linux/ip.h>
#include <linux/netfilter_ipv4.h>

#include <libnftnl/udata.h>

#include "cni/hash.h"
#include "netutil/netutil.h"
#include "nft/internal.h"
#include "portmap.h"

#define PM_TABLE "cni_hostport"
#define PM_TABLE_COMMENT "CNI portmap plugin"
#define PM_HOSTPORTS "hostports"
#define PM_HOSTIP "hostip_hostports"
#define PM_ALL "hostports_all"
#define PM_PRE "prerouting"
#define PM_OUT "output"
#define PM_MASQ "masquerading"
/* Our ownership TLVs in a rule's userdata, after the comment; nft ignores unknown types. */
#define PM_UDATA_NET 0xc0
#define PM_UDATA_IFNAME 0xc1

#define IPT_DNAT "CNI-HOSTPORT-DNAT"
#define IPT_SETMARK "CNI-HOSTPORT-SETMARK"
#define IPT_MASQ "CNI-HOSTPORT-MASQ"
#define IPT_OLD_SNAT "CNI-HOSTPORT-SNAT"
#define IPT_SETMARK_COMMENT "CNI portfwd masquerade mark"
#define IPT_MASQ_COMMENT "CNI portfwd requiring masquerade"
#define IPT_CHAIN_LEN 29
#define IPT_MULTI 15 /* multiport's limit */

static uint16_t nfproto_of(int af)
{
	return af == AF_INET ? NFPROTO_IPV4 : NFPROTO_IPV6;
}

static const char *fam_name(uint16_t family)
{
	return family == NFPROTO_IPV4 ? "ip" : "ip6";
}

static void set_err(struct nft *c, int err)
{
	if (!c->err)
		c->err = err;
}

static void x_imm(struct nft *c, struct nftnl_rule *r, uint32_t reg, const void *data,
		  uint32_t len)
{
	struct nftnl_expr *x = nft_x_new(c, r, "immediate");

	if (!x)
		return;
	nftnl_expr_set_u32(x, NFTNL_EXPR_IMM_DREG, reg);
	if (nftnl_expr_set(x, NFTNL_EXPR_IMM_DATA, data, len) < 0)
		set_err(c, -ENOMEM);
}

/* meta l4proto <proto> */
static void x_l4proto(struct nft *c, struct nftnl_rule *r, uint8_t proto)
{
	nft_x_meta(c, r, NFT_META_L4PROTO);
	nft_x_cmp(c, r, NFT_CMP_EQ, &proto, 1);
}

/* th dport <port>: tcp, udp and sctp all keep it at offset 2 */
static void x_dport(struct nft *c, struct nftnl_rule *r, uint16_t port)
{
	uint16_t be = htons(port);

	nft_x_payload(c, r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2);
	nft_x_cmp(c, r, NFT_CMP_EQ, &be, 2);
}

/* dnat to <ip>:<port>, as nft encodes it (addresses and ports as ranges of one) */
static void x_dnat(struct nft *c, struct nftnl_rule *r, const struct cni_ip *ip, uint16_t port)
{
	uint16_t be = htons(port);
	struct nftnl_expr *x;

	x_imm(c, r, NFT_REG_1, ip->a, cni_ip_len(ip));
	x_imm(c, r, NFT_REG_2, &be, 2);
	x = nft_x_new(c, r, "nat");
	if (!x)
		return;
	nftnl_expr_set_u32(x, NFTNL_EXPR_NAT_TYPE, NFT_NAT_DNAT);
	nftnl_expr_set_u32(x, NFTNL_EXPR_NAT_FAMILY, nfproto_of(ip->family));
	nftnl_expr_set_u32(x, NFTNL_EXPR_NAT_REG_ADDR_MIN, NFT_REG_1);
	nftnl_expr_set_u32(x, NFTNL_EXPR_NAT_REG_ADDR_MAX, NFT_REG_1);
	nftnl_expr_set_u32(x, NFTNL_EXPR_NAT_REG_PROTO_MIN, NFT_REG_2);
	nftnl_expr_set_u32(x, NFTNL_EXPR_NAT_REG_PROTO_MAX, NFT_REG_2);
	nftnl_expr_set_u32(x, NFTNL_EXPR_NAT_FLAGS,
			   NF_NAT_RANGE_MAP_IPS | NF_NAT_RANGE_PROTO_SPECIFIED);
}

static struct cni_prefix host_prefix(const struct cni_ip *ip)
{
	struct cni_prefix p = { .ip = *ip, .len = (uint8_t)cni_ip_bits(ip) };

	return p;
}

/*
 * [i|o]ifname: nft compares the name zero-padded to IFNAMSIZ; iptables-nft compares it with its
 * NUL ("eth0\0"), or only the prefix for "eth+".
 */
static void x_ifname(struct nft *c, struct nftnl_rule *r, const struct nu_pm_cond *k,
		     bool iptables)
{
	char name[IFNAMSIZ] = { 0 };
	uint32_t len = IFNAMSIZ;

	memcpy(name, k->ifname, strnlen(k->ifname, IFNAMSIZ - 1));
	if (iptables)
		len = (uint32_t)strlen(name) + (k->wildcard ? 0 : 1);
	nft_x_meta(c, r, k->out ? NFT_META_OIFNAME : NFT_META_IIFNAME);
	nft_x_cmp(c, r, k->neq ? NFT_CMP_NEQ : NFT_CMP_EQ, name, len);
}

/* ---- conditions ------------------------------------------------------------------------------ */

struct toks {
	char **v;
	size_t n, cap;
	char *buf;
};

static void toks_free(struct toks *t)
{
	free(t->v);
	free(t->buf);
}

/* Join with spaces, split on blanks; double quotes are dropped (nft's "eth0"). */
static int toks_split(struct toks *t, char *const *tok, size_t n)
{
	size_t len = 1, at = 0;
	char *p, *save = NULL;

	memset(t, 0, sizeof(*t));
	for (size_t i = 0; i < n; i++)
		len += strlen(tok[i]) + 1;
	t->buf = calloc(1, len);
	if (!t->buf)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) { /* not strcat: linear in a huge list */
		size_t l = strlen(tok[i]);

		memcpy(t->buf + at, tok[i], l);
		t->buf[at + l] = ' ';
		at += l + 1;
	}
	for (p = strtok_r(t->buf, " \t\n", &save); p; p = strtok_r(NULL, " \t\n", &save)) {
		size_t l = strlen(p);

		if (l >= 2 && p[0] == '"' && p[l - 1] == '"') {
			p[l - 1] = '\0';
			p++;
		}
		if (t->n == t->cap) {
			size_t cap = t->cap ? t->cap * 2 : 8;
			char **v = realloc(t->v, cap * sizeof(*v));

			if (!v)
				return -ENOMEM;
			t->v = v;
			t->cap = cap;
		}
		t->v[t->n++] = p;
	}
	return 0;
}

static int cond_addr(struct nu_pm_cond *k, const char *s, int af, const char *what,
		     struct cni_err *e)
{
	bool has_len;

	if (cni_ip_or_prefix_parse(s, &k->addr, &has_len) < 0 || k->addr.ip.family != af)
		return cni_fail(e, -EINVAL, 0, "%s: \"%s\" is not an IPv%d address or prefix", what,
				s, af == AF_INET ? 4 : 6);
	k->kind = NU_PM_COND_ADDR;
	return 0;
}

static int cond_ifname(struct nu_pm_cond *k, const char *s, bool iptables, const char *what,
		       struct cni_err *e)
{
	size_t l = strlen(s);

	k->kind = NU_PM_COND_IFNAME;
	k->wildcard = iptables && l && s[l - 1] == '+';
	if (!l || l >= IFNAMSIZ || strchr(s, '*'))
		return cni_fail(e, -EINVAL, 0, "%s: invalid interface name \"%s\"", what, s);
	snprintf(k->ifname, sizeof(k->ifname), "%.*s", (int)(l - k->wildcard), s);
	return 0;
}

/* nft: "ip|ip6 saddr|daddr [==|!=] ADDR", "iifname|oifname [==|!=] NAME" */
static int parse_nft(struct toks *t, size_t *i, int af, struct nu_pm_cond *k, struct cni_err *e)
{
	const char *ipx = af == AF_INET ? "ip" : "ip6", *w = t->v[*i];
	bool addr = !strcmp(w, ipx) && *i + 1 < t->n &&
		    (!strcmp(t->v[*i + 1], "saddr") || !strcmp(t->v[*i + 1], "daddr"));
	bool ifn = !strcmp(w, "iifname") || !strcmp(w, "oifname");
	const char *v;

	if (!addr && !ifn)
		return cni_fail(e, -EOPNOTSUPP, 0,
				"unsupported nftables condition at \"%s\" (supported: %s "
				"saddr|daddr [!=] ADDR, iifname|oifname [!=] NAME)",
				w, ipx);
	if (addr) {
		k->dst = !strcmp(t->v[*i + 1], "daddr");
		*i += 2;
	} else {
		k->out = w[0] == 'o';
		*i += 1;
	}
	if (*i < t->n && (!strcmp(t->v[*i], "!=") || !strcmp(t->v[*i], "=="))) {
		k->neq = t->v[*i][0] == '!';
		*i += 1;
	}
	if (*i >= t->n)
		return cni_fail(e, -EINVAL, 0, "condition \"%s\" lacks its value", w);
	v = t->v[(*i)++];
	if (v[0] == '{')
		return cni_fail(e, -EOPNOTSUPP, 0, "unsupported nftables condition: sets (\"%s\")",
				v);
	return addr ? cond_addr(k, v, af, "condition", e) : cond_ifname(k, v, false, "condition", e);
}

/* iptables: "[!] -s|--source|-d|--destination ADDR", "[!] -i|--in-interface|-o|... NAME" */
static int parse_ipt(struct toks *t, size_t *i, int af, struct nu_pm_cond *k, struct cni_err *e)
{
	const char *w;
	bool addr, ifn;

	if (!strcmp(t->v[*i], "!")) {
		k->neq = true;
		if (++*i >= t->n)
			return cni_fail(e, -EINVAL, 0, "condition \"!\" lacks the option it negates");
	}
	w = t->v[(*i)++];
	addr = !strcmp(w, "-s") || !strcmp(w, "--source") || !strcmp(w, "-d") ||
	       !strcmp(w, "--destination");
	ifn = !strcmp(w, "-i") || !strcmp(w, "--in-interface") || !strcmp(w, "-o") ||
	      !strcmp(w, "--out-interface");
	if (!addr && !ifn)
		return cni_fail(e, -EOPNOTSUPP, 0,
				"unsupported iptables condition at \"%s\" (supported: [!] -s|-d "
				"ADDR, [!] -i|-o NAME)",
				w);
	if (*i >= t->n)
		return cni_fail(e, -EINVAL, 0, "condition \"%s\" lacks its value", w);
	if (addr) {
		k->dst = w[1] == 'd' || w[2] == 'd';
		return cond_addr(k, t->v[(*i)++], af, "condition", e);
	}
	k->out = w[1] == 'o' || w[2] == 'o';
	return cond_ifname(k, t->v[(*i)++], true, "condition", e);
}

int nu_pm_cond_parse(char *const *tok, size_t n, int af, bool iptables, struct nu_pm_cond **out,
		     size_t *n_out, struct cni_err *e)
{
	struct toks t;
	struct nu_pm_cond *v = NULL;
	int ret = toks_split(&t, tok, n);

	*out = NULL;
	*n_out = 0;
	if (ret == 0 && t.n) {
		v = calloc(t.n, sizeof(*v));
		ret = v ? 0 : -ENOMEM;
	}
	if (ret < 0) {
		toks_free(&t);
		return cni_fail(e, ret, 0, "%s", strerror(-ret));
	}
	for (size_t i = 0; ret == 0 && i < t.n;) {
		struct nu_pm_cond *k = &v[(*n_out)++];

		ret = iptables ? parse_ipt(&t, &i, af, k, e) : parse_nft(&t, &i, af, k, e);
	}
	/* iptables-nft allows one of each of -s, -d, -i, -o */
	for (size_t a = 0; ret == 0 && iptables && a < *n_out; a++)
		for (size_t b = a + 1; ret == 0 && b < *n_out; b++)
			if (v[a].kind == v[b].kind && v[a].dst == v[b].dst && v[a].out == v[b].out)
				ret = cni_fail(e, -EINVAL, 0,
					       "iptables conditions: the same option twice");
	toks_free(&t);
	if (ret < 0) {
		free(v);
		*n_out = 0;
		return ret;
	}
	*out = v;
	return 0;
}

/* nft syntax: in the given order */
static void x_conds_nft(struct nft *c, struct nftnl_rule *r, const struct nu_pm *pm)
{
	for (size_t i = 0; i < pm->n_conds; i++) {
		const struct nu_pm_cond *k = &pm->conds[i];

		if (k->kind == NU_PM_COND_ADDR)
			nft_x_addr(c, r, &k->addr, k->dst, k->neq);
		else
			x_ifname(c, r, k, false);
	}
}

/* ---- the nftables layout ------------------------------------------------------------------- */

struct owner {
	const char *net, *ifname;
};

static int owner_cb(const struct nftnl_udata *attr, void *data)
{
	struct owner *o = data;
	const char *s = nftnl_udata_get(attr);
	uint8_t len = nftnl_udata_len(attr);

	if (!len || s[len - 1] != '\0')
		return MNL_CB_OK;
	if (nftnl_udata_type(attr) == PM_UDATA_NET)
		o->net = s;
	else if (nftnl_udata_type(attr) == PM_UDATA_IFNAME)
		o->ifname = s;
	return MNL_CB_OK;
}

static struct owner rule_owner(const struct nftnl_rule *r)
{
	struct owner o = { NULL, NULL };
	uint32_t len = 0;
	const void *ud = nftnl_rule_get_data(r, NFTNL_RULE_USERDATA, &len);

	if (ud && nftnl_udata_parse(ud, len, owner_cb, &o) < 0)
		o.net = o.ifname = NULL;
	return o;
}

/*
 * The comment of container @cid's rules: the ID (the reference's), or for an ID too long for a
 * rule's userdata (256 bytes, so 253 for the comment) its first 32 bytes, ":sha512:" and 64 hex
 * of its SHA-512. No valid container ID holds a ':', so no short ID's comment looks like it; and
 * every comment an earlier build wrote (it failed above 253 bytes) stays what it was.
 */
#define PM_CID_VERBATIM_MAX 253
const char *nu_pm_nft_comment(char out[NU_PM_COMMENT_LEN + 1], const char *cid)
{
	if (strlen(cid) <= PM_CID_VERBATIM_MAX)
		return cid;
	snprintf(out, NU_PM_COMMENT_LEN + 1, "%.32s:sha512:", cid);
	cni_sha512_hex(out + strlen(out), 64, cid, NULL);
	return out;
}

/* A rule of @chain commented with the container ID, owned by (net, ifname). */
static struct nftnl_rule *pm_rule(struct nft *c, uint16_t family, const char *chain,
				  const struct nu_pm *pm)
{
	struct nftnl_rule *r = nft_rule_new(c, family, PM_TABLE, chain, NULL);
	struct nftnl_udata_buf *ud;
	char buf[NU_PM_COMMENT_LEN + 1];

	if (!r || !pm)
		return r;
	ud = nftnl_udata_buf_alloc(NFT_USERDATA_MAXLEN);
	if (!ud ||
	    !nftnl_udata_put_strz(ud, NFTNL_UDATA_RULE_COMMENT, nu_pm_nft_comment(buf, pm->cid))) {
		nftnl_udata_buf_free(ud);
		set_err(c, ud ? -EINVAL : -ENOMEM);
		return r;
	}
	/* no room for the owner: the rule is still the reference's, only GC cannot attribute it */
	if (nftnl_udata_buf_len(ud) + strlen(pm->net) + strlen(pm->ifname) + 6 <=
	    NFT_USERDATA_MAXLEN) {
		nftnl_udata_put_strz(ud, PM_UDATA_NET, pm->net);
		nftnl_udata_put_strz(ud, PM_UDATA_IFNAME, pm->ifname);
	}
	nftnl_rule_set_data(r, NFTNL_RULE_USERDATA, nftnl_udata_buf_data(ud),
			    nftnl_udata_buf_len(ud));
	nftnl_udata_buf_free(ud);
	return r;
}

/* Does mapping @m apply to the family of @pm, and with which host address (NULL: any)? */
static bool map_applies(const struct nu_pm *pm, const struct nu_pm_map *m,
			const struct cni_ip **host_ip)
{
	*host_ip = NULL;
	if (!m->host_ip.family)
		return true;
	if (m->host_ip.family != pm->cont.ip.family)
		return false;
	if (!cni_ip_is_zero(&m->host_ip))
		*host_ip = &m->host_ip;
	return true;
}

/* [ip daddr H] <proto> dport P dnat to <ip>:<port> comment "<cid>" */
static struct nftnl_rule *nft_map_rule(struct nft *c, const struct nu_pm *pm,
				       const struct nu_pm_map *m, const struct cni_ip *host_ip)
{
	uint16_t family = nfproto_of(pm->cont.ip.family);
	struct nftnl_rule *r = pm_rule(c, family, PM_HOSTPORTS, pm);

	if (host_ip) {
		struct cni_prefix h = host_prefix(host_ip);

		nft_x_addr(c, r, &h, true, false);
	}
	x_l4proto(c, r, m->proto);
	x_dport(c, r, m->host_port);
	x_dnat(c, r, &pm->cont.ip, m->cont_port);
	return r;
}

/* ip saddr <src> ip daddr <ip> masquerade comment "<cid>" */
static struct nftnl_rule *nft_masq_rule(struct nft *c, const struct nu_pm *pm,
					const struct cni_prefix *src)
{
	uint16_t family = nfproto_of(pm->cont.ip.family);
	struct nftnl_rule *r = pm_rule(c, family, PM_MASQ, pm);
	struct cni_prefix dst = host_prefix(&pm->cont.ip);

	nft_x_addr(c, r, src, false, false);
	nft_x_addr(c, r, &dst, true, false);
	nft_x_masq(c, r);
	return r;
}

/*
 * The masquerade sources: the container's subnet (so its neighbours reaching it through a host
 * port get their replies back through the host, as the iptables layout's "-s <subnet>" does and
 * as plugins#1235 made the nftables layout do), any with masqAll, and 127.0.0.1 on v4.
 */
static size_t masq_sources(const struct nu_pm *pm, struct cni_prefix src[2])
{
	size_t n = 0;

	if (pm->masq_all) {
		src[n++] = cni_prefix_default(pm->cont.ip.family);
	} else {
		src[n++] = pm->cont;
		if (pm->cont.ip.family == AF_INET) {
			struct cni_ip lo = { .family = AF_INET, .a = { 127, 0, 0, 1 } };

			src[n++] = host_prefix(&lo);
		}
	}
	return n;
}

/* <conditions> fib daddr type local jump hostports_all */
static struct nftnl_rule *nft_entry_rule(struct nft *c, const struct nu_pm *pm, const char *chain)
{
	struct nftnl_rule *r = nft_rule_new(c, nfproto_of(pm->cont.ip.family), PM_TABLE, chain,
					    NULL);

	x_conds_nft(c, r, pm);
	nft_x_fib_daddr_local(c, r);
	if (r)
		nft_x_verdict(c, r, NFT_JUMP, PM_ALL);
	return r;
}

static struct nftnl_rule *nft_jump_rule(struct nft *c, uint16_t family, const char *target)
{
	struct nftnl_rule *r = nft_rule_new(c, family, PM_TABLE, PM_ALL, NULL);

	if (r)
		nft_x_verdict(c, r, NFT_JUMP, target);
	return r;
}

static int check_pm(const struct nu_pm *pm, struct cni_err *e)
{
	unsigned int bits = cni_ip_bits(&pm->cont.ip);

	if (!bits || pm->cont.len > bits)
		return cni_fail(e, -EINVAL, 0, "portmap: invalid container address");
	for (size_t i = 0; i < pm->n_maps; i++)
		if (!pm->maps[i].host_port || !pm->maps[i].cont_port)
			return cni_fail(e, -EINVAL, 0, "portmap: invalid port in mapping #%zu", i);
	return 0;
}

/* Exactly the rules @want (consumed) are in @have, in that order. */
static bool chain_is(struct nft *c, struct nftnl_rule_list *have, struct nftnl_rule **want,
		     size_t n)
{
	bool same = !c->err && nft_rules_are(have, want, n);

	for (size_t i = 0; i < n; i++)
		if (want[i])
			nftnl_rule_free(want[i]);
	return same;
}

/* The shared chains as they are now: NULL lists when absent. */
struct nft_shared {
	struct nftnl_rule_list *all, *pre, *out;
};

static void nft_shared_free(struct nft_shared *s)
{
	nft_rules_free(s->all);
	nft_rules_free(s->pre);
	nft_rules_free(s->out);
	memset(s, 0, sizeof(*s));
}

/*
 * Queue one family's share of the reference's transaction, step for step, except that the
 * shared chains (hostports_all, prerouting, output) are flushed and refilled only when they are
 * not already exactly what the reference writes: deleting rules makes the kernel wait for an RCU
 * grace period, which would cost every ADD milliseconds.
 */
static void nft_queue_add(struct nft *c, const struct nu_pm *pm, const struct nft_shared *sh)
{
	static const struct nft_hook pre = { "nat", NF_INET_PRE_ROUTING, NF_IP_PRI_NAT_DST },
				     out = { "nat", NF_INET_LOCAL_OUT, NF_IP_PRI_NAT_DST },
				     post = { "nat", NF_INET_POST_ROUTING, NF_IP_PRI_NAT_SRC };
	uint16_t family = nfproto_of(pm->cont.ip.family);
	struct nftnl_rule *want[2];
	struct cni_prefix src[2];

	nft_add_table(c, family, PM_TABLE, PM_TABLE_COMMENT);
	nft_add_chain(c, family, PM_TABLE, PM_HOSTPORTS, NULL, NULL);
	nft_add_chain(c, family, PM_TABLE, PM_HOSTIP, NULL, NULL);
	nft_add_chain(c, family, PM_TABLE, PM_ALL, NULL, NULL);
	want[0] = nft_jump_rule(c, family, PM_HOSTIP);
	want[1] = nft_jump_rule(c, family, PM_HOSTPORTS);
	if (!chain_is(c, sh->all, want, 2)) {
		nft_flush_chain(c, family, PM_TABLE, PM_ALL);
		nft_add_rule(c, nft_jump_rule(c, family, PM_HOSTIP));
		nft_add_rule(c, nft_jump_rule(c, family, PM_HOSTPORTS));
	}
	nft_add_chain(c, family, PM_TABLE, PM_PRE, &pre, NULL);
	want[0] = nft_entry_rule(c, pm, PM_PRE);
	if (!chain_is(c, sh->pre, want, 1)) {
		nft_flush_chain(c, family, PM_TABLE, PM_PRE);
		nft_add_rule(c, nft_entry_rule(c, pm, PM_PRE));
	}
	nft_add_chain(c, family, PM_TABLE, PM_OUT, &out, NULL);
	want[0] = nft_entry_rule(c, pm, PM_OUT);
	if (!chain_is(c, sh->out, want, 1)) {
		nft_flush_chain(c, family, PM_TABLE, PM_OUT);
		nft_add_rule(c, nft_entry_rule(c, pm, PM_OUT));
	}
	if (pm->snat)
		nft_add_chain(c, family, PM_TABLE, PM_MASQ, &post, NULL);
	for (size_t i = 0; i < pm->n_maps; i++) {
		const struct cni_ip *hip;

		if (map_applies(pm, &pm->maps[i], &hip))
			nft_add_rule(c, nft_map_rule(c, pm, &pm->maps[i], hip));
	}
	if (pm->snat) {
		size_t n = masq_sources(pm, src);

		for (size_t i = 0; i < n; i++)
			nft_add_rule(c, nft_masq_rule(c, pm, &src[i]));
	}
}

struct nft_add {
	const struct nu_pm *pm;
	size_t n;
};

static int nft_add_once(struct nft *c, void *arg, struct cni_err *e)
{
	const struct nft_add *a = arg;
	struct nft_shared sh[2] = { { NULL } };
	int ret = 0;

	/* three chains of constant size per family, whatever the number of containers */
	for (size_t i = 0; ret == 0 && i < a->n; i++) {
		uint16_t family = nfproto_of(a->pm[i].cont.ip.family);

		ret = nft_list_rules(c, family, PM_TABLE, PM_ALL, &sh[i].all, e);
		if (ret == 0)
			ret = nft_list_rules(c, family, PM_TABLE, PM_PRE, &sh[i].pre, e);
		if (ret == 0)
			ret = nft_list_rules(c, family, PM_TABLE, PM_OUT, &sh[i].out, e);
	}
	if (ret == 0) {
		nft_begin(c);
		for (size_t i = 0; i < a->n; i++)
			nft_queue_add(c, &a->pm[i], &sh[i]);
		ret = nft_commit(c, e);
	}
	for (size_t i = 0; i < 2; i++)
		nft_shared_free(&sh[i]);
	return ret;
}

int nu_pm_nft_add(const struct nu_pm *pm, size_t n, struct cni_err *e)
{
	struct nft_add a = { pm, n < 2 ? n : 2 };
	int ret = 0;

	for (size_t i = 0; ret == 0 && i < a.n; i++)
		ret = check_pm(&pm[i], e);
	if (ret == 0)
		ret = nft_run(nft_add_once, &a, e);
	if (ret < 0)
		return cni_wrap(e, ret, "unable to set up nftables rules for port mappings");
	return 0;
}

static const char *const pm_owned_chains[] = { PM_HOSTPORTS, PM_HOSTIP, PM_MASQ };

struct pm_match {
	bool (*match)(const struct nftnl_rule *r, void *arg);
	void *arg;
};

/* Delete, in both families, the rules of the owned chains that @arg's match() accepts. */
static int nft_del_once(struct nft *c, void *arg, struct cni_err *e)
{
	static const uint16_t families[] = { NFPROTO_IPV4, NFPROTO_IPV6 };
	const struct pm_match *m = arg;
	struct nftnl_rule_list *lists[6] = { NULL };
	int ret = 0;

	for (size_t f = 0, k = 0; ret == 0 && f < 2; f++)
		for (size_t i = 0; ret == 0 && i < 3; i++, k++)
			ret = nft_list_rules(c, families[f], PM_TABLE, pm_owned_chains[i],
					     &lists[k], e);
	if (ret == 0) {
		nft_begin(c);
		for (size_t k = 0; k < 6; k++) {
			struct nftnl_rule_list_iter *it = nftnl_rule_list_iter_create(lists[k]);
			struct nftnl_rule *r;

			while (it && (r = nftnl_rule_list_iter_next(it)))
				if (m->match(r, m->arg))
					nft_del_rule(c, r);
			if (it)
				nftnl_rule_list_iter_destroy(it);
			else
				set_err(c, -ENOMEM);
		}
		ret = nft_commit(c, e); /* nothing queued: 0 */
	}
	for (size_t k = 0; k < 6; k++)
		nft_rules_free(lists[k]);
	return ret;
}

static bool match_cid(const struct nftnl_rule *r, void *arg)
{
	const char *comment = nft_rule_comment(r);

	return comment && !strcmp(comment, arg);
}

int nu_pm_nft_del(const char *cid, struct cni_err *e)
{
	char buf[NU_PM_COMMENT_LEN + 1];
	struct pm_match m = { match_cid, (void *)nu_pm_nft_comment(buf, cid) };
	int ret = nft_run(nft_del_once, &m, e);

	if (ret < 0)
		return cni_wrap(e, ret, "error deleting nftables rules");
	return 0;
}

struct gc_arg {
	const char *net;
	struct nft_keep keep;
};

/* "<ifname>/<comment>": an attachment's rules, owner TLV and comment (no ifname holds a '/'). */
static bool nft_gc_key(char out[NFT_KEEP_KEY_MAX], const char *ifname, const char *comment)
{
	int n = snprintf(out, NFT_KEEP_KEY_MAX, "%s/%s", ifname, comment);

	return n > 0 && n < NFT_KEEP_KEY_MAX;
}

static bool nft_valid_key(char out[NFT_KEEP_KEY_MAX], const char *net, const char *cid,
			  const char *ifname)
{
	char buf[NU_PM_COMMENT_LEN + 1];

	(void)net;
	return ifname && nft_gc_key(out, ifname, nu_pm_nft_comment(buf, cid));
}

static bool match_gc(const struct nftnl_rule *r, void *arg)
{
	const struct gc_arg *g = arg;
	const char *comment = nft_rule_comment(r);
	struct owner o = rule_owner(r);
	char key[NFT_KEEP_KEY_MAX];

	if (!comment || !o.net || !o.ifname || strcmp(o.net, g->net) ||
	    !nft_gc_key(key, o.ifname, comment))
		return false;
	return !nft_keep_has(&g->keep, key);
}

int nu_pm_nft_gc(const char *net, const struct cni_attachment *valid, size_t n,
		 struct cni_err *e)
{
	struct gc_arg g = { net, { NULL, 0 } };
	struct pm_match m = { match_gc, &g };
	int ret = nft_keep_init(&g.keep, nft_valid_key, net, valid, n, e);

	if (ret == 0)
		ret = nft_run(nft_del_once, &m, e);
	nft_keep_free(&g.keep);

	if (ret < 0)
		return cni_wrap(e, ret, "garbage-collecting port mappings of %s", net);
	return 0;
}

static bool same_expr_only(const struct nftnl_rule *a, const struct nftnl_rule *b)
{
	/* shared-structure rules carry no comment: nft_rule_same() compares comments too */
	return nft_rule_same(a, b);
}

static int nft_check_one(struct nft *c, struct nftnl_rule_list *rules, struct nftnl_rule *want,
			 const char *what, struct cni_err *e)
{
	int ret = 0;

	if (c->err)
		ret = cni_fail(e, c->err, 0, "%s", strerror(-c->err));
	else if (!nft_rule_find(rules, want, same_expr_only))
		ret = cni_fail(e, -ENOENT, 0, "missing %s", what);
	if (want)
		nftnl_rule_free(want);
	return ret;
}

int nu_pm_nft_check(const struct nu_pm *pm, struct cni_err *e)
{
	static const char *const chains[] = { PM_HOSTPORTS, PM_MASQ, PM_PRE, PM_OUT, PM_ALL };
	uint16_t family = nfproto_of(pm->cont.ip.family);
	struct nftnl_rule_list *l[5] = { NULL };
	_cleanup_nft_ struct nft c = { 0 };
	char what[160], ipbuf[CNI_IP_STRLEN];
	int ret = check_pm(pm, e);

	if (ret == 0)
		ret = nft_open(&c, e);
	for (size_t i = 0; ret == 0 && i < 5; i++)
		ret = nft_list_rules(&c, family, PM_TABLE, chains[i], &l[i], e);
	snprintf(what, sizeof(what), "jump to %s in %s %s %s", PM_ALL, fam_name(family), PM_TABLE,
		 PM_PRE);
	if (ret == 0)
		ret = nft_check_one(&c, l[2], nft_entry_rule(&c, pm, PM_PRE), what, e);
	snprintf(what, sizeof(what), "jump to %s in %s %s %s", PM_ALL, fam_name(family), PM_TABLE,
		 PM_OUT);
	if (ret == 0)
		ret = nft_check_one(&c, l[3], nft_entry_rule(&c, pm, PM_OUT), what, e);
	snprintf(what, sizeof(what), "jump to %s in %s %s %s", PM_HOSTPORTS, fam_name(family),
		 PM_TABLE, PM_ALL);
	if (ret == 0)
		ret = nft_check_one(&c, l[4], nft_jump_rule(&c, family, PM_HOSTPORTS), what, e);
	for (size_t i = 0; ret == 0 && i < pm->n_maps; i++) {
		const struct nu_pm_map *m = &pm->maps[i];
		const struct cni_ip *hip;

		if (!map_applies(pm, m, &hip))
			continue;
		snprintf(what, sizeof(what), "rule for host port %u/%s to %s:%u of %s in %s %s %s",
			 m->host_port,
			 m->proto == IPPROTO_TCP ? "tcp" : m->proto == IPPROTO_UDP ? "udp" : "sctp",
			 cni_ip_str(&pm->cont.ip, ipbuf), m->cont_port, pm->cid, fam_name(family),
			 PM_TABLE, PM_HOSTPORTS);
		ret = nft_check_one(&c, l[0], nft_map_rule(&c, pm, m, hip), what, e);
	}
	if (ret == 0 && pm->snat) {
		struct cni_prefix src[2];
		size_t n = masq_sources(pm, src);

		for (size_t i = 0; ret == 0 && i < n; i++) {
			snprintf(what, sizeof(what), "masquerade rule of %s in %s %s %s", pm->cid,
				 fam_name(family), PM_TABLE, PM_MASQ);
			ret = nft_check_one(&c, l[1], nft_masq_rule(&c, pm, &src[i]), what, e);
		}
	}
	for (size_t i = 0; i < 5; i++)
		nft_rules_free(l[i]);
	return ret;
}

/* ---- the iptables layout ------------------------------------------------------------------- */

char *nu_pm_ipt_chain(char out[IPT_CHAIN_LEN], const char *net, const char *cid)
{
	memcpy(out, "CNI-DN-", 7);
	cni_sha512_hex(out + 7, 21, net, cid, NULL);
	return out;
}

static char *ipt_old_chain(char out[IPT_CHAIN_LEN], const char *net, const char *cid)
{
	memcpy(out, "CNI-SN-", 7);
	cni_sha512_hex(out + 7, 21, net, cid, NULL);
	return out;
}

enum ipt_target { T_JUMP, T_MARK, T_MASQ, T_DNAT };

/* One rule of the layout, in the fields iptables-nft encodes, in the order it encodes them. */
struct ipt_spec {
	const char *chain;
	uint8_t proto;
	const struct cni_prefix *src, *dst;
	uint16_t dport;
	const char *comment;
	const uint16_t *mports;
	size_t n_mports;
	bool addrtype_local;
	uint32_t mark_match;
	const struct nu_pm_cond *conds;
	size_t n_conds;
	enum ipt_target target;
	const char *jump;
	uint32_t set_mark;
	const struct cni_ip *to;
	uint16_t to_port;
};

static struct nftnl_rule *ipt_rule(struct nft *c, uint16_t family, const struct ipt_spec *s)
{
	struct nftnl_rule *r = nft_rule_new(c, family, "nat", s->chain, NULL);

	for (int out = 0; out < 2; out++)
		for (size_t i = 0; i < s->n_conds; i++)
			if (s->conds[i].kind == NU_PM_COND_IFNAME && s->conds[i].out == out)
				x_ifname(c, r, &s->conds[i], true);
	if (s->proto && r) {
		/* as iptables-nft: xt extensions (multiport, sctp) check the rule's protocol */
		nftnl_rule_set_u32(r, NFTNL_RULE_COMPAT_PROTO, s->proto);
		nftnl_rule_set_u32(r, NFTNL_RULE_COMPAT_FLAGS, 0);
	}
	if (s->proto)
		x_l4proto(c, r, s->proto);
	for (int dst = 0; dst < 2; dst++) {
		const struct cni_prefix *p = dst ? s->dst : s->src;

		if (p)
			nft_x_ipt_addr(c, r, p, dst, false);
		for (size_t i = 0; i < s->n_conds; i++)
			if (s->conds[i].kind == NU_PM_COND_ADDR && s->conds[i].dst == dst)
				nft_x_ipt_addr(c, r, &s->conds[i].addr, dst, s->conds[i].neq);
	}
	if (s->dport && s->proto != IPPROTO_SCTP) {
		x_dport(c, r, s->dport);
	} else if (s->dport) {
		/* XT_ALIGN() is past the structure's end: a padded buffer */
		union {
			struct xt_sctp_info s;
			char pad[XT_ALIGN(sizeof(struct xt_sctp_info))];
		} u;
		struct xt_sctp_info *info = &u.s;

		memset(&u, 0, sizeof(u));
		info->dpts[0] = info->dpts[1] = s->dport;
		info->flags = XT_SCTP_DEST_PORTS;
		/* as libxt_sctp leaves it: every flag slot typed 0xff (none) */
		for (int i = 0; i < XT_NUM_SCTP_FLAGS; i++)
			info->flag_info[i].chunktype = 0xff;
		nft_x_xt_match(c, r, "sctp", 0, &u, sizeof(u));
	}
	if (s->comment)
		nft_x_xt_comment(c, r, s->comment);
	if (s->n_mports) {
		struct xt_multiport_v1 mp;

		memset(&mp, 0, sizeof(mp));
		mp.flags = XT_MULTIPORT_DESTINATION;
		mp.count = (uint8_t)s->n_mports;
		memcpy(mp.ports, s->mports, s->n_mports * sizeof(uint16_t));
		nft_x_xt_match(c, r, "multiport", 1, &mp, XT_ALIGN(sizeof(mp)));
	}
	if (s->addrtype_local) {
		struct xt_addrtype_info_v1 at = { .dest = XT_ADDRTYPE_LOCAL };

		nft_x_xt_match(c, r, "addrtype", 1, &at, XT_ALIGN(sizeof(at)));
	}
	if (s->mark_match) {
		/* iptables-nft 1.8.9 writes -m mark natively */
		nft_x_meta(c, r, NFT_META_MARK);
		nft_x_bitwise(c, r, &s->mark_match, 4);
		nft_x_cmp(c, r, NFT_CMP_EQ, &s->mark_match, 4);
	}
	nft_x_counter(c, r);
	switch (s->target) {
	case T_JUMP:
		if (r)
			nft_x_verdict(c, r, NFT_JUMP, s->jump);
		break;
	case T_MARK: {
		struct xt_mark_tginfo2 m = { .mark = s->set_mark, .mask = s->set_mark };

		nft_x_xt_target(c, r, "MARK", 2, &m, XT_ALIGN(sizeof(m)));
		break;
	}
	case T_MASQ:
		nft_x_xt_masquerade(c, r, family);
		break;
	case T_DNAT: {
		union {
			struct nf_nat_range2 r;
			char pad[XT_ALIGN(sizeof(struct nf_nat_range2))];
		} u;
		struct nf_nat_range2 *nr = &u.r;

		memset(&u, 0, sizeof(u));
		nr->flags = NF_NAT_RANGE_MAP_IPS | NF_NAT_RANGE_PROTO_SPECIFIED;
		memcpy(&nr->min_addr, s->to->a, cni_ip_len(s->to));
		memcpy(&nr->max_addr, s->to->a, cni_ip_len(s->to));
		nr->min_proto.all = nr->max_proto.all = htons(s->to_port);
		nft_x_xt_target(c, r, "DNAT", 2, &u, sizeof(u));
		break;
	}
	}
	return r;
}

/* Go's %q of a name (valid names are plain ASCII; see masq_iptables.c). */
static size_t quoted(char *out, size_t size, const char *s)
{
	static const char esc[] = "\a\b\f\n\r\t\v", letter[] = "abfnrtv";
	size_t n = 0;

#define PUT(ch)                                                                                    \
	do {                                                                                       \
		if (n + 1 < size)                                                                  \
			out[n] = (ch);                                                             \
		n++;                                                                               \
	} while (0)
	PUT('"');
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		const char *p = strchr(esc, ch);

		if (ch == '"' || ch == '\\') {
			PUT('\\');
			PUT((char)ch);
		} else if (p && ch) {
			PUT('\\');
			PUT(letter[p - esc]);
		} else if (ch < 0x20 || ch == 0x7f) {
			char hex[5];

			snprintf(hex, sizeof(hex), "\\x%02x", ch);
			for (int i = 0; i < 4; i++)
				PUT(hex[i]);
		} else {
			PUT((char)ch);
		}
	}
	PUT('"');
#undef PUT
	if (size)
		out[n < size ? n : size - 1] = '\0';
	return n;
}

/* dnat name: "<net>" id: "<cid>", cut at 255 bytes like the Go plugin's trimComment() */
static void ipt_comment(char out[XT_MAX_COMMENT_LEN], const char *net, const char *cid)
{
	char qn[2 * XT_MAX_COMMENT_LEN], qc[2 * XT_MAX_COMMENT_LEN];

	quoted(qn, sizeof(qn), net);
	quoted(qc, sizeof(qc), cid);
	snprintf(out, XT_MAX_COMMENT_LEN, "dnat name: %s id: %s", qn, qc);
}

static const char *proto_name(uint8_t p)
{
	return p == IPPROTO_TCP ? "tcp" : p == IPPROTO_UDP ? "udp" : "sctp";
}

/* The per-container chain's rules and the entry rules, in the Go plugin's order. */
struct ipt_layout {
	uint16_t family;
	char chain[IPT_CHAIN_LEN];
	char comment[XT_MAX_COMMENT_LEN];
	struct ipt_spec *rules, *entries;
	size_t n_rules, n_entries;
	uint16_t *ports; /* multiport lists, IPT_MULTI per entry */
	struct cni_prefix *prefixes;
	struct cni_ip lo;
};

static void ipt_layout_free(struct ipt_layout *l)
{
	free(l->rules);
	free(l->entries);
	free(l->ports);
	free(l->prefixes);
}

static int ipt_layout_build(const struct nu_pm *pm, struct ipt_layout *l, struct cni_err *e)
{
	static const uint8_t protos[] = { IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP }; /* sorted */
	const char *mark_chain = pm->ext_mark_chain ? pm->ext_mark_chain : IPT_SETMARK;
	struct cni_prefix masq = pm->cont;
	size_t np = 0;

	memset(l, 0, sizeof(*l));
	l->family = nfproto_of(pm->cont.ip.family);
	nu_pm_ipt_chain(l->chain, pm->net, pm->cid);
	ipt_comment(l->comment, pm->net, pm->cid);
	l->lo = (struct cni_ip){ .family = AF_INET, .a = { 127, 0, 0, 1 } };
	l->rules = calloc(3 * pm->n_maps + 1, sizeof(*l->rules));
	l->entries = calloc(pm->n_maps + 1, sizeof(*l->entries));
	l->ports = calloc(pm->n_maps + 1, IPT_MULTI * sizeof(*l->ports));
	l->prefixes = calloc(3 * pm->n_maps + 1, sizeof(*l->prefixes));
	if (!l->rules || !l->entries || !l->ports || !l->prefixes) {
		ipt_layout_free(l);
		return cni_fail(e, -ENOMEM, 0, "%s", strerror(ENOMEM));
	}
	if (pm->masq_all)
		masq = cni_prefix_default(pm->cont.ip.family);
	/* entry rules: per protocol (sorted by name), ports in chunks of 15, every mapping */
	for (size_t p = 0; p < sizeof(protos); p++) {
		struct ipt_spec *cur = NULL;

		for (size_t i = 0; i < pm->n_maps; i++) {
			if (pm->maps[i].proto != protos[p])
				continue;
			if (!cur || cur->n_mports == IPT_MULTI) {
				cur = &l->entries[l->n_entries];
				*cur = (struct ipt_spec){
					.chain = IPT_DNAT,
					.proto = protos[p],
					.comment = l->comment,
					.mports = &l->ports[l->n_entries * IPT_MULTI],
					.conds = pm->conds,
					.n_conds = pm->n_conds,
					.target = T_JUMP,
					.jump = l->chain,
				};
				l->n_entries++;
			}
			((uint16_t *)cur->mports)[cur->n_mports++] = pm->maps[i].host_port;
		}
	}
	/* per mapping: hairpin mark, localhost mark (v4), DNAT */
	for (size_t i = 0; i < pm->n_maps; i++) {
		const struct nu_pm_map *m = &pm->maps[i];
		const struct cni_ip *hip;
		struct cni_prefix *dst = NULL;
		struct ipt_spec base = { .chain = l->chain, .proto = m->proto,
					 .dport = m->host_port };

		if (!map_applies(pm, m, &hip))
			continue;
		if (hip) {
			dst = &l->prefixes[np++];
			*dst = host_prefix(hip);
		}
		base.dst = dst;
		if (pm->snat) {
			struct ipt_spec *s = &l->rules[l->n_rules++];

			*s = base;
			s->src = &l->prefixes[np];
			l->prefixes[np++] = masq;
			s->target = T_JUMP;
			s->jump = mark_chain;
			if (pm->cont.ip.family == AF_INET && !pm->masq_all) {
				s = &l->rules[l->n_rules++];
				*s = base;
				s->src = &l->prefixes[np];
				l->prefixes[np++] = host_prefix(&l->lo);
				s->target = T_JUMP;
				s->jump = mark_chain;
			}
		}
		l->rules[l->n_rules] = base;
		l->rules[l->n_rules].target = T_DNAT;
		l->rules[l->n_rules].to = &pm->cont.ip;
		l->rules[l->n_rules].to_port = m->cont_port;
		l->n_rules++;
	}
	return 0;
}

/* iptables -S text of a rule, for messages. */
static const char *ipt_text(char *buf, size_t len, const struct ipt_spec *s)
{
	char a[CNI_PREFIX_STRLEN], b[CNI_PREFIX_STRLEN];
	int n = snprintf(buf, len, "-A %s", s->chain);

	if (s->src)
		n += snprintf(buf + n, len - (size_t)n, " -s %s", cni_prefix_str(s->src, a));
	if (s->dst && (size_t)n < len)
		n += snprintf(buf + n, len - (size_t)n, " -d %s", cni_prefix_str(s->dst, b));
	if (s->proto && (size_t)n < len)
		n += snprintf(buf + n, len - (size_t)n, " -p %s", proto_name(s->proto));
	if (s->dport && (size_t)n < len)
		n += snprintf(buf + n, len - (size_t)n, " --dport %u", s->dport);
	if (s->n_mports && (size_t)n < len)
		n += snprintf(buf + n, len - (size_t)n, " -m multiport --dports %u%s",
			      s->mports[0], s->n_mports > 1 ? ",..." : "");
	if ((size_t)n < len) {
		if (s->target == T_JUMP)
			snprintf(buf + n, len - (size_t)n, " -j %s", s->jump);
		else if (s->target == T_DNAT)
			snprintf(buf + n, len - (size_t)n, " -j DNAT --to-destination %s:%u",
				 cni_ip_str(s->to, a), s->to_port);
		else
			snprintf(buf + n, len - (size_t)n, " -j %s",
				 s->target == T_MARK ? "MARK" : "MASQUERADE");
	}
	return buf;
}

/* The shared rules of the layout. */
static struct ipt_spec setmark_spec(uint32_t mark)
{
	return (struct ipt_spec){ .chain = IPT_SETMARK, .comment = IPT_SETMARK_COMMENT,
				  .target = T_MARK, .set_mark = mark };
}

static struct ipt_spec masq_spec(uint32_t mark)
{
	return (struct ipt_spec){ .chain = IPT_MASQ, .mark_match = mark, .target = T_MASQ };
}

static struct ipt_spec masq_jump_spec(void)
{
	return (struct ipt_spec){ .chain = "POSTROUTING", .comment = IPT_MASQ_COMMENT,
				  .target = T_JUMP, .jump = IPT_MASQ };
}

static struct ipt_spec dnat_jump_spec(const char *from)
{
	return (struct ipt_spec){ .chain = from, .addrtype_local = true, .target = T_JUMP,
				  .jump = IPT_DNAT };
}

/* Queue @s unless it is in @have; frees what it does not queue. */
static void append_unique(struct nft *c, uint16_t family, struct nftnl_rule_list *have,
			  const struct ipt_spec *s)
{
	struct nftnl_rule *r = ipt_rule(c, family, s);

	if (!r)
		return;
	if (nft_rule_find(have, r, nft_ipt_rule_same))
		nftnl_rule_free(r);
	else
		nft_add_rule(c, r);
}

/* What one family's ADD needs to know: single chains and the small shared chains. */
struct ipt_have {
	int own_exists;
	uint32_t masq_use;
	struct nftnl_rule_list *setmark, *masq, *prer, *outr, *own, *entries;
};

static void ipt_have_free(struct ipt_have *h)
{
	nft_rules_free(h->setmark);
	nft_rules_free(h->masq);
	nft_rules_free(h->prer);
	nft_rules_free(h->outr);
	nft_rules_free(h->own);
	nft_rules_free(h->entries);
	memset(h, 0, sizeof(*h));
}

/* Never the nat table's chain list nor CNI-HOSTPORT-DNAT on a first ADD: both grow. */
static int ipt_look(struct nft *c, const struct nu_pm *pm, const struct ipt_layout *l,
		    struct ipt_have *h, struct cni_err *e)
{
	bool own_mark = pm->snat && !pm->ext_mark_chain;
	uint16_t fam = l->family;
	int ret;

	memset(h, 0, sizeof(*h));
	h->own_exists = ret = nft_chain_get(c, fam, "nat", l->chain, NULL, e);
	if (ret >= 0 && own_mark)
		ret = nft_chain_get(c, fam, "nat", IPT_MASQ, &h->masq_use, e);
	if (ret >= 0 && own_mark)
		ret = nft_list_rules(c, fam, "nat", IPT_SETMARK, &h->setmark, e);
	if (ret >= 0 && own_mark)
		ret = nft_list_rules(c, fam, "nat", IPT_MASQ, &h->masq, e);
	if (ret >= 0)
		ret = nft_list_rules(c, fam, "nat", "PREROUTING", &h->prer, e);
	if (ret >= 0)
		ret = nft_list_rules(c, fam, "nat", "OUTPUT", &h->outr, e);
	/* entry rules can only exist while our chain does (a referenced chain cannot go) */
	if (ret >= 0 && h->own_exists > 0)
		ret = nft_list_rules(c, fam, "nat", l->chain, &h->own, e);
	if (ret >= 0 && h->own_exists > 0)
		ret = nft_list_rules(c, fam, "nat", IPT_DNAT, &h->entries, e);
	if (ret < 0)
		ipt_have_free(h);
	return ret < 0 ? ret : 0;
}

/* The Go plugin's order: mark chains (POSTROUTING jump inserted first), DNAT top, own chain. */
static void ipt_queue_add(struct nft *c, const struct nu_pm *pm, const struct ipt_layout *l,
			  const struct ipt_have *h)
{
	static const struct nft_hook pre = { "nat", NF_INET_PRE_ROUTING, NF_IP_PRI_NAT_DST },
				     out = { "nat", NF_INET_LOCAL_OUT, NF_IP_PRI_NAT_DST },
				     post = { "nat", NF_INET_POST_ROUTING, NF_IP_PRI_NAT_SRC };
	struct ipt_spec p = dnat_jump_spec("PREROUTING"), o = dnat_jump_spec("OUTPUT");
	uint16_t fam = l->family;

	nft_add_table(c, fam, "nat", NULL);
	if (pm->snat && !pm->ext_mark_chain) {
		struct ipt_spec s = setmark_spec(pm->mark), m = masq_spec(pm->mark),
				j = masq_jump_spec();

		nft_add_chain(c, fam, "nat", IPT_SETMARK, NULL, NULL);
		append_unique(c, fam, h->setmark, &s);
		nft_add_chain(c, fam, "nat", IPT_MASQ, NULL, NULL);
		append_unique(c, fam, h->masq, &m);
		nft_add_chain(c, fam, "nat", "POSTROUTING", &post, NULL);
		if (!h->masq_use)
			nft_insert_rule(c, ipt_rule(c, fam, &j));
	}
	nft_add_chain(c, fam, "nat", IPT_DNAT, NULL, NULL);
	nft_add_chain(c, fam, "nat", "PREROUTING", &pre, NULL);
	nft_add_chain(c, fam, "nat", "OUTPUT", &out, NULL);
	append_unique(c, fam, h->prer, &p);
	append_unique(c, fam, h->outr, &o);
	nft_add_chain(c, fam, "nat", l->chain, NULL, NULL);
	for (size_t i = 0; i < l->n_rules; i++)
		append_unique(c, fam, h->own, &l->rules[i]);
	for (size_t i = 0; i < l->n_entries; i++)
		append_unique(c, fam, h->entries, &l->entries[i]);
}

struct ipt_add {
	const struct nu_pm *pm;
	size_t n;
	struct ipt_layout l[2];
};

static int ipt_add_once(struct nft *c, void *arg, struct cni_err *e)
{
	struct ipt_add *a = arg;
	struct ipt_have h[2];
	size_t looked = 0;
	int ret = 0;

	for (; ret == 0 && looked < a->n; looked++)
		ret = ipt_look(c, &a->pm[looked], &a->l[looked], &h[looked], e);
	if (ret == 0) {
		nft_begin(c);
		for (size_t i = 0; i < a->n; i++)
			ipt_queue_add(c, &a->pm[i], &a->l[i], &h[i]);
		ret = nft_commit(c, e);
	} else {
		looked--; /* the failed one freed its own */
	}
	for (size_t i = 0; i < looked; i++)
		ipt_have_free(&h[i]);
	return ret;
}

int nu_pm_ipt_add(const struct nu_pm *pm, size_t n, struct cni_err *e)
{
	struct ipt_add a = { .pm = pm, .n = n < 2 ? n : 2 };
	size_t built = 0;
	int ret = 0;

	for (size_t i = 0; ret == 0 && i < a.n; i++)
		ret = check_pm(&pm[i], e);
	for (; ret == 0 && built < a.n; built++)
		ret = ipt_layout_build(&pm[built], &a.l[built], e);
	if (ret == 0)
		ret = nft_run(ipt_add_once, &a, e);
	else if (built)
		built--; /* the failed one freed its own */
	for (size_t i = 0; i < built; i++)
		ipt_layout_free(&a.l[i]);
	if (ret < 0)
		return cni_wrap(e, ret, "unable to set up iptables rules for port mappings");
	return 0;
}

static int ipt_expect(struct nft *c, uint16_t fam, struct nftnl_rule_list *have,
		      const struct ipt_spec *s, struct cni_err *e)
{
	struct nftnl_rule *want = ipt_rule(c, fam, s);
	char text[200];
	int ret = 0;

	if (c->err)
		ret = cni_fail(e, c->err, 0, "%s", strerror(-c->err));
	else if (!nft_rule_find(have, want, nft_ipt_rule_same))
		ret = cni_fail(e, -ENOENT, 0, "rule \"%s\" not found in %s nat",
			       ipt_text(text, sizeof(text), s), fam_name(fam));
	if (want)
		nftnl_rule_free(want);
	return ret;
}

int nu_pm_ipt_check(const struct nu_pm *pm, struct cni_err *e)
{
	static const char *const names[] = { "PREROUTING", "OUTPUT", IPT_DNAT, NULL,
					     IPT_SETMARK, IPT_MASQ, "POSTROUTING" };
	bool own_mark = pm->snat && !pm->ext_mark_chain;
	struct nftnl_rule_list *l[7] = { NULL };
	_cleanup_nft_ struct nft c = { 0 };
	struct ipt_layout lay;
	uint16_t fam;
	int ret = check_pm(pm, e);

	if (ret == 0)
		ret = ipt_layout_build(pm, &lay, e);
	if (ret < 0)
		return ret;
	fam = lay.family;
	ret = nft_open(&c, e);
	if (ret == 0 && (ret = nft_chain_get(&c, fam, "nat", lay.chain, NULL, e)) == 0)
		ret = cni_fail(e, -ENOENT, 0, "chain %s not found in %s nat", lay.chain,
			       fam_name(fam));
	for (size_t i = 0; ret >= 0 && i < 7; i++)
		if (i < 4 || own_mark)
			ret = nft_list_rules(&c, fam, "nat", names[i] ? names[i] : lay.chain, &l[i],
					     e);
	if (ret >= 0) {
		struct ipt_spec p = dnat_jump_spec("PREROUTING"), o = dnat_jump_spec("OUTPUT");

		ret = ipt_expect(&c, fam, l[0], &p, e);
		if (ret == 0)
			ret = ipt_expect(&c, fam, l[1], &o, e);
	}
	for (size_t i = 0; ret == 0 && i < lay.n_entries; i++)
		ret = ipt_expect(&c, fam, l[2], &lay.entries[i], e);
	for (size_t i = 0; ret == 0 && i < lay.n_rules; i++)
		ret = ipt_expect(&c, fam, l[3], &lay.rules[i], e);
	if (ret == 0 && own_mark) {
		struct ipt_spec s = setmark_spec(pm->mark), m = masq_spec(pm->mark),
				j = masq_jump_spec();

		ret = ipt_expect(&c, fam, l[4], &s, e);
		if (ret == 0)
			ret = ipt_expect(&c, fam, l[5], &m, e);
		if (ret == 0)
			ret = ipt_expect(&c, fam, l[6], &j, e);
	}
	for (size_t i = 0; i < 7; i++)
		nft_rules_free(l[i]);
	ipt_layout_free(&lay);
	return ret < 0 ? ret : 0;
}

/* Queue the deletion of every rule of @rules jumping to @chain. */
static void del_jumps(struct nft *c, struct nftnl_rule_list *rules, const char *chain)
{
	struct nftnl_rule_list_iter *it = rules ? nftnl_rule_list_iter_create(rules) : NULL;
	struct nftnl_rule *r;

	while (it && (r = nftnl_rule_list_iter_next(it))) {
		const char *t = nft_rule_target(r);

		if (t && !strcmp(t, chain))
			nft_del_rule(c, r);
	}
	if (it)
		nftnl_rule_list_iter_destroy(it);
}

struct ipt_del {
	uint16_t family;
	char chain[IPT_CHAIN_LEN], old[IPT_CHAIN_LEN];
};

/* One family: jumps to the chain and the chain; the same for the legacy CNI-SN- chain. */
static int ipt_del_once(struct nft *c, void *arg, struct cni_err *e)
{
	const struct ipt_del *d = arg;
	const char *chains[2] = { d->chain, d->old }, *from[2] = { IPT_DNAT, IPT_OLD_SNAT };
	struct nftnl_rule_list *l[2] = { NULL };
	int exists[2] = { 0 }, ret = 0;
	uint32_t use[2] = { 0 };

	for (int i = 0; ret >= 0 && i < 2; i++) {
		ret = exists[i] = nft_chain_get(c, d->family, "nat", chains[i], &use[i], e);
		if (ret > 0 && use[i])
			ret = nft_list_rules(c, d->family, "nat", from[i], &l[i], e);
	}
	if (ret >= 0) {
		nft_begin(c);
		for (int i = 0; i < 2; i++) {
			if (exists[i] <= 0)
				continue;
			del_jumps(c, l[i], chains[i]);
			nft_flush_chain(c, d->family, "nat", chains[i]);
			nft_del_chain(c, d->family, "nat", chains[i]);
		}
		ret = nft_commit(c, e);
		/* the chain vanished between the lookup and the batch: look again */
		if (ret == -ENOENT)
			ret = -ERESTART;
	}
	nft_rules_free(l[0]);
	nft_rules_free(l[1]);
	return ret < 0 ? ret : 0;
}

int nu_pm_ipt_del(const char *net, const char *cid, struct cni_err *e)
{
	struct ipt_del d;
	int ret = 0;

	for (int f = 0; ret == 0 && f < 2; f++) {
		d.family = f ? NFPROTO_IPV6 : NFPROTO_IPV4;
		nu_pm_ipt_chain(d.chain, net, cid);
		ipt_old_chain(d.old, net, cid);
		ret = nft_run(ipt_del_once, &d, e);
	}
	if (ret < 0)
		return cni_wrap(e, ret, "could not teardown iptables port mappings of %s", cid);
	return 0;
}

/*
 * The container ID of an entry comment of network @net, unquoted into @cid, or false. Verified
 * by formatting the comment again: a foreign comment does not round-trip. One cut at 255 bytes
 * (a long ID) does not either: it is @net's, whose ID only its chain's hash tells, and @cid is "".
 */
static bool ipt_comment_cid(const char *comment, const char *net, char *cid, size_t size)
{
	char head[2 * XT_MAX_COMMENT_LEN], again[XT_MAX_COMMENT_LEN];
	size_t hl, n = 0, len;
	const char *p;

	snprintf(head, sizeof(head), "dnat name: ");
	quoted(head + strlen(head), sizeof(head) - strlen(head), net);
	strncat(head, " id: \"", sizeof(head) - strlen(head) - 1);
	hl = strlen(head);
	len = strlen(comment);
	if (strncmp(comment, head, hl))
		return false;
	for (p = comment + hl; len >= hl + 1 && p < comment + len - 1 && n + 1 < size; p++) {
		if (*p == '\\' && p + 1 < comment + len - 1)
			p++;
		cid[n++] = *p;
	}
	cid[n] = '\0';
	ipt_comment(again, net, cid);
	if (n && comment[len - 1] == '"' && !strcmp(again, comment))
		return true;
	cid[0] = '\0';
	return len == XT_MAX_COMMENT_LEN - 1;
}

/* Is @name "CNI-DN-<21 hex>", a chain nu_pm_ipt_chain() makes. */
static bool ipt_is_chain(const char *name)
{
	return strlen(name) == IPT_CHAIN_LEN - 1 && !strncmp(name, "CNI-DN-", 7) &&
	       strspn(name + 7, "0123456789abcdef") == IPT_CHAIN_LEN - 8;
}

/* GC's key of a valid attachment: its chain (the layout records no ifname). */
static bool ipt_valid_key(char out[NFT_KEEP_KEY_MAX], const char *net, const char *cid,
			  const char *ifname)
{
	(void)ifname;
	nu_pm_ipt_chain(out, net, cid);
	return true;
}

struct ipt_gc {
	uint16_t family;
	const char *net;
	struct nft_keep keep;
};

static int ipt_gc_once(struct nft *c, void *arg, struct cni_err *e)
{
	const struct ipt_gc *g = arg;
	struct nftnl_rule_list *rules = NULL;
	struct nftnl_rule_list_iter *it;
	struct nftnl_rule *r;
	char (*dead)[IPT_CHAIN_LEN] = NULL;
	size_t n_dead = 0, cap = 0;
	int ret = nft_list_rules(c, g->family, "nat", IPT_DNAT, &rules, e);

	if (ret < 0)
		return ret;
	nft_begin(c);
	it = nftnl_rule_list_iter_create(rules);
	while (it && (r = nftnl_rule_list_iter_next(it))) {
		char comment[XT_MAX_COMMENT_LEN], cid[XT_MAX_COMMENT_LEN], chain[IPT_CHAIN_LEN];
		const char *target = nft_rule_target(r);
		bool seen = false;

		if (!target || !nft_rule_xt_comment(r, comment) ||
		    !ipt_comment_cid(comment, g->net, cid, sizeof(cid)) ||
		    (*cid ? strcmp(target, nu_pm_ipt_chain(chain, g->net, cid))
			  : !ipt_is_chain(target)) ||
		    nft_keep_has(&g->keep, target))
			continue;
		snprintf(chain, sizeof(chain), "%s", target);
		nft_del_rule(c, r);
		for (size_t i = 0; i < n_dead && !seen; i++)
			seen = !strcmp(dead[i], chain);
		if (seen)
			continue;
		if (n_dead == cap) {
			size_t ncap = cap ? cap * 2 : 8;
			void *nd = realloc(dead, ncap * sizeof(*dead));

			if (!nd) {
				set_err(c, -ENOMEM);
				break;
			}
			dead = nd;
			cap = ncap;
		}
		memcpy(dead[n_dead++], chain, IPT_CHAIN_LEN);
	}
	if (it)
		nftnl_rule_list_iter_destroy(it);
	else
		set_err(c, -ENOMEM);
	/* other jumps to a dead chain (a second entry of the same attachment) were queued above */
	for (size_t i = 0; i < n_dead; i++) {
		nft_flush_chain(c, g->family, "nat", dead[i]);
		nft_del_chain(c, g->family, "nat", dead[i]);
	}
	ret = nft_commit(c, e);
	free(dead);
	nft_rules_free(rules);
	return ret;
}

int nu_pm_ipt_gc(const char *net, const struct cni_attachment *valid, size_t n,
		 struct cni_err *e)
{
	struct ipt_gc g = { NFPROTO_IPV4, net, { NULL, 0 } };
	int ret = nft_keep_init(&g.keep, ipt_valid_key, net, valid, n, e);

	if (ret == 0)
		ret = nft_run(ipt_gc_once, &g, e);
	if (ret == 0) {
		g.family = NFPROTO_IPV6;
		ret = nft_run(ipt_gc_once, &g, e);
	}
	nft_keep_free(&g.keep);
	if (ret < 0)
		return cni_wrap(e, ret, "garbage-collecting iptables port mappings of %s", net);
	return 0;
}
