// SPDX-License-Identifier: Apache-2.0
/*
 * dnsname's own nftables layout, over pkg/nft's engine (dnsport.h declares it).
 * Port 53 of a container's resolver address without holding it: the resolver listens on another
 * port of the same address, and a stateless rewrite in the container's netns maps the two:
 *
 *	table ip cnic_dnsname {
 *		chain output {
 *			type filter hook output priority raw; policy accept;
 *			ip daddr <addr> udp dport 53 notrack udp dport set <port>
 *			ip saddr <addr> udp sport <port> notrack udp sport set 53
 *			(the same two for tcp)
 *		}
 *		counter <owner>		(who installed it: the dnsname daemon's listener)
 *	}
 *
 * Both ends are local, so every packet of such an exchange, query and reply, leaves through the
 * output hook once and comes back through lo: rewriting there is enough. The port is written
 * with the L4 checksum updated (payload csum inet, as nft does). notrack keeps conntrack out if
 * anything else in the netns loads it; the rules themselves register no conntrack or NAT hook
 * (the first NAT rule of a netns walks the whole conntrack table), so a process of the container
 * binds the wildcard :53 and its queries to <addr>:53 still reach the resolver.
 * Add installs the table (or replaces its rules) and its owner's counter in one batch; del
 * deletes the table. The dnsname daemon owns it: it adds it where it opens a listener and deletes
 * it where it closes one (a netns has one listener, whatever its attachments), so the rewrite and
 * the port it points at always come from the same build.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter_ipv4.h>

#include "dnsport.h"
#include "nft/internal.h"

#define DP_TABLE "cnic_dnsname"
#define DP_CHAIN "output"
#define DP_NAME_MAX 64

struct dp {
	struct in_addr addr;
	uint16_t port;
	const char *id;
};

static void x_imm(struct nft *c, struct nftnl_rule *r, const void *data, uint32_t len)
{
	struct nftnl_expr *x = nft_x_new(c, r, "immediate");

	if (!x)
		return;
	nftnl_expr_set_u32(x, NFTNL_EXPR_IMM_DREG, NFT_REG_1);
	nftnl_expr_set(x, NFTNL_EXPR_IMM_DATA, data, len);
}

/* th <sport|dport> set <reg 1>, the L4 checksum updated */
static void x_port_set(struct nft *c, struct nftnl_rule *r, uint32_t off, uint8_t proto)
{
	struct nftnl_expr *x = nft_x_new(c, r, "payload");

	if (!x)
		return;
	nftnl_expr_set_u32(x, NFTNL_EXPR_PAYLOAD_SREG, NFT_REG_1);
	nftnl_expr_set_u32(x, NFTNL_EXPR_PAYLOAD_BASE, NFT_PAYLOAD_TRANSPORT_HEADER);
	nftnl_expr_set_u32(x, NFTNL_EXPR_PAYLOAD_OFFSET, off);
	nftnl_expr_set_u32(x, NFTNL_EXPR_PAYLOAD_LEN, 2);
	nftnl_expr_set_u32(x, NFTNL_EXPR_PAYLOAD_CSUM_TYPE, NFT_PAYLOAD_CSUM_INET);
	nftnl_expr_set_u32(x, NFTNL_EXPR_PAYLOAD_CSUM_OFFSET, proto == IPPROTO_UDP ? 6 : 16);
	nftnl_expr_set_u32(x, NFTNL_EXPR_PAYLOAD_FLAGS, 0);
}

/* Rule @i: 0/1 UDP query/reply, 2/3 TCP. */
static struct nftnl_rule *dp_rule(struct nft *c, const struct dp *d, int i)
{
	uint8_t proto = i < 2 ? IPPROTO_UDP : IPPROTO_TCP;
	bool reply = i & 1;
	uint16_t from = htons(reply ? d->port : 53), to = htons(reply ? 53 : d->port);
	uint32_t off = reply ? 0 : 2; /* sport, dport */
	char comment[80];
	struct nftnl_rule *r;

	snprintf(comment, sizeof(comment), "cnic dnsname: port 53 served at %u", d->port);
	r = nft_rule_new(c, NFPROTO_IPV4, DP_TABLE, DP_CHAIN, comment);
	nft_x_payload(c, r, NFT_PAYLOAD_NETWORK_HEADER, reply ? 12 : 16, 4);
	nft_x_cmp(c, r, NFT_CMP_EQ, &d->addr, 4);
	nft_x_meta(c, r, NFT_META_L4PROTO);
	nft_x_cmp(c, r, NFT_CMP_EQ, &proto, 1);
	nft_x_payload(c, r, NFT_PAYLOAD_TRANSPORT_HEADER, off, 2);
	nft_x_cmp(c, r, NFT_CMP_EQ, &from, 2);
	nft_x_new(c, r, "notrack");
	x_imm(c, r, &to, 2);
	x_port_set(c, r, off, proto);
	return r;
}

static char *dp_counter(char out[DP_NAME_MAX], const char *id)
{
	snprintf(out, DP_NAME_MAX, "att-%s", id);
	return out;
}

static int dp_add_once(struct nft *c, void *arg, struct cni_err *e)
{
	static const struct nft_hook out = { "filter", NF_INET_LOCAL_OUT, NF_IP_PRI_RAW };
	const struct dp *d = arg;
	char name[DP_NAME_MAX];

	nft_begin(c);
	nft_add_table(c, NFPROTO_IPV4, DP_TABLE, NULL);
	nft_add_chain(c, NFPROTO_IPV4, DP_TABLE, DP_CHAIN, &out, NULL);
	nft_flush_chain(c, NFPROTO_IPV4, DP_TABLE, DP_CHAIN);
	for (int i = 0; i < 4; i++)
		nft_add_rule(c, dp_rule(c, d, i));
	nft_add_counter(c, NFPROTO_IPV4, DP_TABLE, dp_counter(name, d->id));
	return nft_commit(c, e);
}

/* Validate, then run @once's rounds on @addr (NULL: not needed), @port and @id. */
static int dp_run(int (*once)(struct nft *c, void *arg, struct cni_err *e), const char *addr,
		  uint16_t port, const char *id, struct cni_err *e)
{
	struct dp d = { .port = port, .id = id };
	char name[DP_NAME_MAX];

	if (addr && (inet_pton(AF_INET, addr, &d.addr) != 1 || !port || port == 53))
		return cni_fail(e, -EINVAL, 0, "resolver %s, port %u: not an IPv4 address and a port",
				addr, port);
	if ((size_t)snprintf(name, sizeof(name), "att-%s", id) >= sizeof(name))
		return cni_fail(e, -ENAMETOOLONG, 0, "attachment id %s too long", id);
	return nft_run(once, &d, e);
}

int nu_nft_dnsport_add(const char *addr, uint16_t port, const char *id, struct cni_err *e)
{
	int ret = dp_run(dp_add_once, addr, port, id, e);

	if (ret < 0)
		return cni_wrap(e, ret, "redirecting %s:53 to port %u", addr, port);
	return 0;
}

static int dp_del_once(struct nft *c, void *arg, struct cni_err *e)
{
	int ret;

	(void)arg;
	nft_begin(c);
	nft_del_table(c, NFPROTO_IPV4, DP_TABLE);
	ret = nft_commit(c, e);
	if (ret == -ENOENT) {
		cni_err_clear(e);
		return 0;
	}
	return ret;
}

int nu_nft_dnsport_del(struct cni_err *e)
{
	int ret = nft_run(dp_del_once, NULL, e);

	if (ret < 0)
		return cni_wrap(e, ret, "removing the port 53 rewrite");
	return 0;
}

static int dp_check_once(struct nft *c, void *arg, struct cni_err *e)
{
	struct dp *d = arg;
	struct nftnl_rule_list *have = NULL;
	struct nftnl_rule *want[4];
	char name[DP_NAME_MAX];
	bool same;
	int ret;

	ret = nft_counter_exists(c, NFPROTO_IPV4, DP_TABLE, dp_counter(name, d->id), e);
	if (ret <= 0)
		return ret < 0 ? ret : cni_fail(e, -ENOENT, 0, "no counter %s in ip %s", name,
						DP_TABLE);
	ret = nft_list_rules(c, NFPROTO_IPV4, DP_TABLE, DP_CHAIN, &have, e);
	if (ret < 0)
		return ret;
	for (int i = 0; i < 4; i++)
		want[i] = dp_rule(c, d, i);
	same = nft_rules_are(have, want, 4);
	for (int i = 0; i < 4; i++)
		if (want[i])
			nftnl_rule_free(want[i]);
	nft_rules_free(have);
	if (!same)
		return cni_fail(e, -ENOENT, 0, "chain ip %s %s does not hold the rewrite to port %u",
				DP_TABLE, DP_CHAIN, d->port);
	return 0;
}

int nu_nft_dnsport_check(const char *addr, uint16_t port, const char *id, struct cni_err *e)
{
	return dp_run(dp_check_once, addr, port, id, e);
}
