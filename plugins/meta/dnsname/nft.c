// SPDX-License-Identifier: Apache-2.0
/*
 * dnsname's own nftables layout, over pkg/nft's engine (dnsport.h declares it).
 * Port 53 of a container's resolver address without holding it: the resolver listens on another
 * port of the same address, and a stateless rewrite in the container's netns maps the two:
 *
 *	table ip cnic_dnsname {
 *		chain output {			(127.0.0.11; another address: chain output-<addr>)
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
 * Each resolver address of the netns (one per network of a container on several) has its own
 * chain, so that one is added and deleted without touching the others; no rule names more than
 * its address (never 127.0.0.0/8: a container's own 127.0.0.53 resolver keeps its port 53).
 * 127.0.0.11's chain is "output", as builds before the other addresses named it.
 * Add installs the table, the address's chain (or replaces its rules) and its owner's counter in
 * one batch; del deletes the address's chain, or the whole table. The dnsname daemon owns it: it
 * adds a chain where it opens a listener and deletes it where it closes one (the table with the
 * netns' last), so the rewrite and the port it points at always come from the same build.
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
	char chain[32];
	bool whole; /* del: the table */
};

/* The chain of @a: DP_CHAIN for DN_RESOLVER_ADDR (127.0.0.11), else DP_CHAIN-<a>. */
static void dp_chain(struct dp *d)
{
	char ip[INET_ADDRSTRLEN];

	if (!strcmp(inet_ntop(AF_INET, &d->addr, ip, sizeof(ip)), "127.0.0.11"))
		snprintf(d->chain, sizeof(d->chain), DP_CHAIN);
	else
		snprintf(d->chain, sizeof(d->chain), DP_CHAIN "-%s", ip);
}

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
	r = nft_rule_new(c, NFPROTO_IPV4, DP_TABLE, d->chain, comment);
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
	nft_add_chain(c, NFPROTO_IPV4, DP_TABLE, d->chain, &out, NULL);
	nft_flush_chain(c, NFPROTO_IPV4, DP_TABLE, d->chain);
	for (int i = 0; i < 4; i++)
		nft_add_rule(c, dp_rule(c, d, i));
	nft_add_counter(c, NFPROTO_IPV4, DP_TABLE, dp_counter(name, d->id));
	return nft_commit(c, e);
}

/* Validate, then run @once's rounds on @addr (NULL: not needed), @port and @id. */
static int dp_run(int (*once)(struct nft *c, void *arg, struct cni_err *e), struct dp *d,
		  const char *addr, struct cni_err *e)
{
	char name[DP_NAME_MAX];

	if (inet_pton(AF_INET, addr, &d->addr) != 1 || (d->id && (!d->port || d->port == 53)))
		return cni_fail(e, -EINVAL, 0, "resolver %s, port %u: not an IPv4 address and a port",
				addr, d->port);
	dp_chain(d);
	if (!d->id)
		return nft_run(once, d, e);
	if ((size_t)snprintf(name, sizeof(name), "att-%s", d->id) >= sizeof(name))
		return cni_fail(e, -ENAMETOOLONG, 0, "attachment id %s too long", d->id);
	return nft_run(once, d, e);
}

int nu_nft_dnsport_add(const char *addr, uint16_t port, const char *id, struct cni_err *e)
{
	struct dp d = {.port = port, .id = id};
	int ret = dp_run(dp_add_once, &d, addr, e);

	if (ret < 0)
		return cni_wrap(e, ret, "redirecting %s:53 to port %u", addr, port);
	return 0;
}

static int dp_del_once(struct nft *c, void *arg, struct cni_err *e)
{
	const struct dp *d = arg;
	int ret;

	nft_begin(c);
	if (d->whole) {
		nft_del_table(c, NFPROTO_IPV4, DP_TABLE);
	} else {
		nft_flush_chain(c, NFPROTO_IPV4, DP_TABLE, d->chain);
		nft_del_chain(c, NFPROTO_IPV4, DP_TABLE, d->chain);
	}
	ret = nft_commit(c, e);
	if (ret == -ENOENT) {
		cni_err_clear(e);
		return 0;
	}
	return ret;
}

int nu_nft_dnsport_del(const char *addr, bool whole, struct cni_err *e)
{
	struct dp d = {.whole = whole};
	int ret = dp_run(dp_del_once, &d, addr, e);

	if (ret < 0)
		return cni_wrap(e, ret, "removing the port 53 rewrite of %s", addr);
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
	ret = nft_list_rules(c, NFPROTO_IPV4, DP_TABLE, d->chain, &have, e);
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
				DP_TABLE, d->chain, d->port);
	return 0;
}

int nu_nft_dnsport_check(const char *addr, uint16_t port, const char *id, struct cni_err *e)
{
	struct dp d = {.port = port, .id = id};

	return dp_run(dp_check_once, &d, addr, e);
}
