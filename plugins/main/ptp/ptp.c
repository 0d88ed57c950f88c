// SPDX-License-Identifier: Apache-2.0
/*
 * ptp: connects a container to the host through a veth pair and routes, no bridge, as the
 * reference plugin does, key for key. ADD delegates IPAM, turns forwarding on, creates the veth
 * with its container end born in the container netns, configures the addresses and the IPAM
 * routes there, replaces each connected subnet route by "<gw>/32 dev eth0 scope link src <ip>" and
 * "<subnet> via <gw> src <ip>" (every packet goes to the host), puts each gateway as a /32 (/128)
 * on the host end with a "<ip>/32 dev <host veth> scope host" route back, and sets up masquerade
 * (native nftables by default, the reference's iptables layout when asked). A failed ADD removes
 * the veth and the rules it made; the dispatcher releases IPAM.
 * DEL is idempotent and depends on neither the netns, the veth nor prevResult: IPAM DEL always
 * runs and the masquerade rules are found by their owner comment, so they go even when the netns
 * vanished first (the reference leaks them then). GC collects IPAM and masquerade rules of every
 * attachment of this network that is not in the valid list.
 */
#include <errno.h>
#include <linux/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cni/cni.h"
#include "netutil/iface.h"
#include "netutil/link_extra.h"
#include "netutil/netutil.h"
#include "nft/nft.h"

/* The plugin's "dns": the reference overrides IPAM's DNS when any field is set, and a present
 * list counts even when empty, so presence is tracked per field. */
struct ptp_dns {
	struct cni_dns d;
	bool ns_seen, search_seen, opts_seen;
};

struct ptp_conf {
	bool ip_masq;
	char *ip_masq_backend;
	int mtu;
	struct ptp_dns dns;

	/* derived by ptp_validate() */
	enum nu_masq_layout masq;
	bool dns_set;
};

static const struct cni_field dns_fields[] = {
	CNI_FIELD("nameservers", struct ptp_dns, CNI_F_STRV, d.nameservers,
		  CNI_SEEN(struct ptp_dns, ns_seen),
		    .help = "DNS servers for the result (replaces IPAM's)"),
	CNI_FIELD("domain", struct ptp_dns, CNI_F_STR, d.domain,
	  .help = "DNS domain for the result"),
	CNI_FIELD("search", struct ptp_dns, CNI_F_STRV, d.search,
		  CNI_SEEN(struct ptp_dns, search_seen),
		    .help = "DNS search domains for the result"),
	CNI_FIELD("options", struct ptp_dns, CNI_F_STRV, d.options,
		  CNI_SEEN(struct ptp_dns, opts_seen), .help = "resolver options for the result"),
	CNI_FIELD_END,
};

#define F(k, t, m, ...) CNI_FIELD(k, struct ptp_conf, t, m, __VA_ARGS__)
static const struct cni_field fields[] = {
	F("ipMasq", CNI_F_BOOL, ip_masq,
	  .help = "masquerade traffic from the container's IPs leaving their subnet"),
	F("ipMasqBackend", CNI_F_STR, ip_masq_backend,
	  .help = "\"nftables\" (default) or \"iptables\" for the masquerade rules"),
	F("mtu", CNI_F_INT, mtu, .min = 0, .max = 65535,
	  .help = "MTU of both veth ends (default: the kernel's)"),
	F("dns", CNI_F_OBJ, dns, .sub = dns_fields,
	  .help = "DNS of the result; when any key is set it overrides IPAM's DNS"),
	CNI_FIELD_END,
};

static int ptp_validate(struct cni_ctx *ctx, void *conf, struct cni_err *e)
{
	struct ptp_conf *c = conf;

	if (!ctx->net.ipam_type)
		return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG,
				"ptp requires an \"ipam\" configuration with a \"type\"");
	if (c->ip_masq_backend && strcmp(c->ip_masq_backend, "iptables") &&
	    strcmp(c->ip_masq_backend, "nftables"))
		return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG,
				"invalid ipMasqBackend \"%s\": must be \"iptables\" or \"nftables\"",
				c->ip_masq_backend);
	/* Our default is native nftables; the iptables layout only when asked for. */
	c->masq = c->ip_masq_backend && !strcmp(c->ip_masq_backend, "iptables") ? NU_MASQ_IPTABLES
										 : NU_MASQ_NFT;
	c->dns_set = c->dns.ns_seen || c->dns.search_seen || c->dns.opts_seen ||
		     (c->dns.d.domain && *c->dns.d.domain);
	return 0;
}

static int masq_add(struct cni_ctx *ctx, const struct cni_result *res, struct cni_err *e)
{
	const struct ptp_conf *c = ctx->conf;
	size_t n;
	struct cni_prefix *ips = cni_result_addrs(res, -1, &n);

	return nu_nft_masq_add_as(c->masq, ctx->net.name, ctx->env.ifname, ctx->env.container_id,
				  ips, n, e);
}

static int masq_del(struct cni_ctx *ctx, struct cni_err *e)
{
	return nu_nft_masq_del_any(ctx->net.name, ctx->env.ifname, ctx->env.container_id, e);
}

/* ---- ADD ------------------------------------------------------------------------------------- */

/* In the container: the subnet route through the host veth instead of the connected one. */
static int container_routes(struct nu_nl *cont, int ifindex, const struct cni_ipcfg *ipc,
			    struct cni_err *e)
{
	struct cni_prefix subnet = {.ip = cni_prefix_network(&ipc->address),
				    .len = ipc->address.len};
	struct nu_route connected = {.dst = subnet, .oif = ifindex, .scope = -1};
	struct nu_route to_gw = {
	    .dst = {.ip = ipc->gateway, .len = cni_ip_bits(&ipc->gateway)},
	    .oif = ifindex,
	    .scope = NU_RT_SCOPE_LINK,
	};
	struct nu_route via_gw = {.dst = subnet, .gw = ipc->gateway, .oif = ifindex, .scope = -1};
	int r;

	r = nu_route_del(cont, &connected, e);
	if (r < 0)
		return r;
	r = nu_route_add_src(cont, &to_gw, &ipc->address.ip, e);
	if (r == -EEXIST) /* two addresses of one subnet share the routes */
		cni_err_clear(e);
	else if (r < 0)
		return r;
	r = nu_route_add_src(cont, &via_gw, &ipc->address.ip, e);
	if (r == -EEXIST) {
		cni_err_clear(e);
		r = 0;
	}
	return r;
}

/* On the host end: the gateway as a host address, and the route back to the container. */
static int host_side(struct nu_nl *host, int host_index, const struct cni_ipcfg *ipc,
		     struct cni_err *e)
{
	unsigned int bits = cni_ip_bits(&ipc->address.ip);
	struct cni_prefix gw = {.ip = ipc->gateway, .len = bits};
	struct nu_route back = {
	    .dst = {.ip = ipc->address.ip, .len = bits},
	    .oif = host_index,
	    .scope = NU_RT_SCOPE_HOST,
	};
	int r;

	/* The gateway is ours by configuration and alone on this link: no DAD, usable at once. */
	r = nu_addr_add_flags(host, host_index, &gw, gw.ip.family == AF_INET6 ? NU_IFA_F_NODAD : 0, e);
	if (r == -EEXIST)
		cni_err_clear(e); /* two container addresses with one gateway */
	else if (r < 0)
		return r;
	r = nu_route_add(host, &back, e);
	if (r == -EEXIST) {
		cni_err_clear(e);
		r = 0;
	}
	return r;
}

/*
 * Wait, bounded and without a fixed sleep, until both ends are operationally up. The kernel
 * processes a veth's carrier through linkwatch, up to a second later; until then the devices
 * drop what they send (noop qdisc), so a container that talks at once would lose its first
 * packets (an IPv6 neighbour solicitation, say) and the reference hides this only behind DAD.
 */
static int wait_oper_up(struct nu_nl *host, int host_index, struct nu_nl *cont, int cont_index,
			struct cni_err *e)
{
	long delay_us = 100, waited_us = 0;
	struct nu_link_info hl, cl;
	int r;

	for (;;) {
		r = nu_link_get(host, NULL, host_index, &hl, e);
		if (r == 0)
			r = nu_link_get(cont, NULL, cont_index, &cl, e);
		if (r < 0)
			return r;
		if (hl.operstate == IF_OPER_UP && cl.operstate == IF_OPER_UP)
			return 0;
		if (waited_us >= 3000000)
			return cni_fail(e, -ETIMEDOUT, 0, "veth \"%s\" / \"%s\" did not come up",
					hl.name, cl.name);
		nanosleep(&(struct timespec){.tv_nsec = delay_us * 1000}, NULL);
		waited_us += delay_us;
		delay_us = delay_us * 2 > 50000 ? 50000 : delay_us * 2;
	}
}

static int ptp_add(struct cni_ctx *ctx, struct cni_result *res, struct cni_err *e)
{
	struct ptp_conf *c = ctx->conf;
	_nu_nl_cleanup_ struct nu_nl *host = NULL, *cont = NULL;
	_nu_fd_cleanup_ int netns_fd = -1;
	struct cni_result *ipam = NULL;
	struct nu_link_info hl, cl;
	char host_name[NU_IFNAMSIZ] = "", mac[3 * 32], key[96], b[CNI_PREFIX_STRLEN];
	bool v4 = false, v6 = false;
	int r, host_index;

	r = cni_ipam_add_addrs(ctx, &ipam, e);
	if (r < 0)
		return r;
	for (size_t i = 0; i < ipam->n_ips; i++) {
		const struct cni_ipcfg *ipc = &ipam->ips[i];

		/* Every packet goes through the gateway on the host end: it must be there. */
		if (ipc->gateway.family != ipc->address.ip.family)
			return cni_fail(e, -EINVAL, 0, "IPAM result has no gateway for %s",
					cni_prefix_str(&ipc->address, b));
		v4 |= ipc->address.ip.family == AF_INET;
		v6 |= ipc->address.ip.family == AF_INET6;
	}
	r = nu_nl_open(&host, -1, e);
	if (r < 0)
		return r;
	r = nu_ip_forward_enable(host, v4 && v6 ? AF_UNSPEC : v4 ? AF_INET : AF_INET6, e);
	if (r < 0)
		return cni_wrap(e, r, "Could not enable IP forwarding");
	r = nu_nl_open_netns(ctx->env.netns, &netns_fd, &cont, e);
	if (r < 0)
		return r;
	r = nu_veth_create(cont, ctx->env.ifname, (unsigned int)c->mtu, NULL, -1, host_name, e);
	if (r < 0)
		return r;
	host_index = r;

	if (v6) {
		/*
		 * The host solicits the container's neighbour entry from its link-local address,
		 * which stays tentative for the second or two of DAD: until then forwarded IPv6
		 * cannot reach the container (the reference hides this behind its own DAD wait).
		 * DAD is pointless on a link whose one neighbour we configure: turn it off and
		 * renew the link-local address (a down/up pair: the veth was born up).
		 */
		snprintf(key, sizeof(key), "net/ipv6/conf/%s/accept_dad", host_name);
		if (nu_sysctl_set(-1, key, "0", NULL) == 0) {
			r = nu_link_set_down(host, host_index, e);
			if (r == 0)
				r = nu_link_set_up(host, host_index, e);
			if (r < 0)
				goto del_veth;
		}
	}
	r = nu_link_get(cont, ctx->env.ifname, 0, &cl, e);
	if (r < 0)
		goto del_veth;
	cni_result_add_iface(res, host_name, NULL, NULL);
	cni_result_add_iface(res, ctx->env.ifname, nu_mac_str(cl.mac, cl.mac_len, mac),
			     ctx->env.netns);
	cni_result_add_ips(res, ipam, 1);
	res->dns = c->dns_set ? c->dns.d : ipam->dns;

	/*
	 * The only neighbour on this link is the host end, which holds nothing but the gateway:
	 * DAD cannot find a duplicate, it only delays the address by a second or two (plugins#680).
	 */
	if (v6) {
		snprintf(key, sizeof(key), "net/ipv6/conf/%s/accept_dad", ctx->env.ifname);
		nu_sysctl_set(netns_fd, key, "0", NULL);
	}
	r = nu_iface_configure(cont, netns_fd, ctx->env.ifname, res, e);
	if (r < 0)
		goto del_veth;
	for (size_t i = 0; i < res->n_ips; i++) {
		r = container_routes(cont, cl.ifindex, &res->ips[i], e);
		if (r < 0)
			goto del_veth;
	}
	for (size_t i = 0; i < res->n_ips; i++) {
		r = host_side(host, host_index, &res->ips[i], e);
		if (r < 0)
			goto del_veth;
	}
	if (c->ip_masq) {
		r = masq_add(ctx, res, e);
		if (r < 0) {
			cni_wrap(e, r, "failed to set up IP masquerade");
			goto del_rules;
		}
	}
	r = wait_oper_up(host, host_index, cont, cl.ifindex, e);
	if (r < 0)
		goto del_rules;
	/* The host end's MAC, read once its addresses are in place. */
	r = nu_link_get(host, NULL, host_index, &hl, e);
	if (r < 0)
		goto del_rules;
	res->ifaces[0].mac = cni_strdup(nu_mac_str(hl.mac, hl.mac_len, mac));
	return 0;

del_rules:
	if (c->ip_masq)
		masq_del(ctx, &(struct cni_err){0});
del_veth:
	nu_link_del_index(host, host_index, NULL);
	return r;
}

/* ---- DEL, CHECK, STATUS, GC ------------------------------------------------------------------ */

/* Every step runs even when one fails (IPAM, rules and link are independent); first error wins. */
static int ptp_del(struct cni_ctx *ctx, struct cni_err *e)
{
	const struct ptp_conf *c = ctx->conf;
	struct cni_err one = {0};
	int r, first = 0;

	cni_err_keep_first(cni_ipam_del(ctx, &one), &one, &first, e);
	if (c->ip_masq)
		cni_err_keep_first(masq_del(ctx, &one), &one, &first, e);
	if (ctx->env.netns && *ctx->env.netns) {
		r = nu_link_del_netns(ctx->env.netns, ctx->env.ifname, &one);
		if (r < 0)
			cni_wrap(&one, r, "failed to delete container interface %s",
				 ctx->env.ifname);
		cni_err_keep_first(r, &one, &first, e);
	}
	return first;
}

/* The routes ADD put in the container for each address, and the gateways on the host end. */
static int check_ptp_routes(struct nu_nl *cont, struct nu_nl *host, const struct nu_link_info *cl,
			    int host_index, const struct cni_result *prev, int cont_idx,
			    struct cni_err *e)
{
	struct nu_route *rt = NULL;
	struct nu_addr *ha = NULL;
	size_t nrt = 0, nha = 0;
	char b[CNI_PREFIX_STRLEN];
	int r;

	/* Every table: a later plugin of the chain (vrf, sbr) may have moved them (spec: CHECK
	 * tolerates what chained plugins changed). */
	r = nu_route_list(cont, AF_UNSPEC, 0, cl->ifindex, &rt, &nrt, e);
	if (r >= 0)
		r = nu_addr_list(host, host_index, AF_UNSPEC, &ha, &nha, e);
	for (size_t i = 0; i < prev->n_ips && r >= 0; i++) {
		const struct cni_ipcfg *ipc = &prev->ips[i];
		struct cni_ip net = cni_prefix_network(&ipc->address);
		unsigned int bits = cni_ip_bits(&ipc->address.ip);
		bool to_gw = false, via_gw = false, gw_addr = false;

		if (ipc->iface != cont_idx || !ipc->gateway.family)
			continue;
		for (size_t j = 0; j < nrt; j++) {
			to_gw |= rt[j].dst.len == bits && cni_ip_eq(&rt[j].dst.ip, &ipc->gateway);
			via_gw |= rt[j].dst.len == ipc->address.len &&
				  cni_ip_eq(&rt[j].dst.ip, &net) &&
				  cni_ip_eq(&rt[j].gw, &ipc->gateway);
		}
		for (size_t j = 0; j < nha; j++)
			gw_addr |= cni_ip_eq(&ha[j].prefix.ip, &ipc->gateway);
		if (!to_gw || !via_gw)
			r = cni_fail(e, -ENOENT, 0, "route to the gateway of %s missing in the container",
				     cni_prefix_str(&ipc->address, b));
		else if (!gw_addr)
			r = cni_fail(e, -ENOENT, 0, "gateway of %s missing on the host veth",
				     cni_prefix_str(&ipc->address, b));
	}
	free(rt);
	free(ha);
	return r;
}

static int ptp_check(struct cni_ctx *ctx, struct cni_err *e)
{
	const struct ptp_conf *c = ctx->conf;
	const struct cni_result *prev = ctx->net.prev;
	_nu_nl_cleanup_ struct nu_nl *host = NULL, *cont = NULL;
	_nu_fd_cleanup_ int netns_fd = -1;
	const struct cni_iface *cont_if;
	struct nu_link_info cl, hl;
	int r, cont_idx = -1, host_index = 0;

	r = cni_ipam_check(ctx, e);
	if (r < 0)
		return r;
	r = cni_prev_container_iface(ctx, &cont_if, &cont_idx, e);
	if (r < 0)
		return r;
	r = nu_iface_check_veth(ctx->env.netns, ctx->env.ifname, cont_if->mac, &netns_fd, &cont,
				&cl, e);
	if (r < 0)
		return r;
	r = nu_nl_open(&host, -1, e);
	if (r < 0)
		return r;
	/* Some host interface of prevResult must be the veth's peer. */
	for (size_t i = 0; i < prev->n_ifaces && !host_index; i++) {
		const struct cni_iface *f = &prev->ifaces[i];

		if ((f->sandbox && *f->sandbox) || !f->name ||
		    nu_link_get(host, f->name, 0, &hl, NULL) < 0)
			continue;
		if (hl.ifindex == cl.link && !strcmp(hl.kind, "veth")) {
			r = nu_iface_check_mac(f->mac, &hl, f->name, e);
			if (r < 0)
				return r;
			host_index = hl.ifindex;
		}
	}
	if (!host_index)
		return cni_fail(e, -ENOENT, 0, "no host veth of prevResult is the peer of \"%s\"",
				ctx->env.ifname);
	r = nu_iface_check_result(cont, ctx->env.ifname, prev, e);
	if (r < 0)
		return r;
	r = check_ptp_routes(cont, host, &cl, host_index, prev, cont_idx, e);
	if (r < 0)
		return r;
	if (c->ip_masq) {
		size_t n;
		struct cni_prefix *ips = cni_result_addrs(prev, cont_idx, &n);

		r = nu_nft_masq_check_as(c->masq, ctx->net.name, ctx->env.ifname,
					 ctx->env.container_id, ips, n, e);
	}
	return r;
}

/* Both steps run even when one fails; the failures are reported together. */
static int ptp_gc(struct cni_ctx *ctx, struct cni_err *e)
{
	struct cni_err one = {0};
	int r, first = 0;

	cni_err_gather(cni_ipam_gc(ctx, &one), &one, &first, e);
	/* Rules are keyed by network: ours to collect even if ipMasq was turned off since. */
	r = nu_nft_masq_gc(ctx->net.name, ctx->net.valid_atts.v, ctx->net.valid_atts.n, &one);
	cni_err_gather(r, &one, &first, e);
	return first;
}

const struct cni_plugin cni_main_plugin = {
	.name = "ptp",
	CNI_CONF(fields, struct ptp_conf),
	.conf_validate = ptp_validate,
	CNI_VERBS(ptp),
	.gc = ptp_gc,
	.flags = CNI_PLUGIN_IPAM_STATUS,
	CNI_INPROC_IPAM,
};
