// SPDX-License-Identifier: Apache-2.0
/*
 * bridge: connects a container to a Linux bridge on the host through a veth pair, as the
 * reference plugin does, key for key. ADD ensures the bridge (reusing a compatible one), creates
 * the veth with its container end born in the container netns, enslaves the host end (hairpin,
 * isolation, VLANs), delegates IPAM, configures addresses and routes, puts the gateway on the
 * bridge, and sets up masquerade and the MAC spoof check in nftables (natively, one batch each).
 * A failed ADD removes what it made (veth, rules; IPAM is released by the dispatcher); the bridge
 * and its gateway address are shared and stay.
 * DEL is idempotent and independent of the netns: IPAM DEL and the removal of our masquerade and
 * spoof-check rules run even when the netns or the veth is already gone (the reference leaks the
 * rules then: plugins#810). GC releases IPAM and rules of every attachment not in the valid list.
 */
#include <errno.h>
#include <linux/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cni/cni.h"
#include "netutil/iface.h"
#include "netutil/netutil.h"
#include "nft/nft.h"
#include "plugin/mac.h"

struct trunk {
	int id, min_id, max_id;
	bool id_seen, min_seen, max_seen;
};

struct bridge_conf {
	char *bridge;
	bool is_gw, is_default_gw, force_address, ip_masq;
	char *ip_masq_backend;
	int mtu;
	bool hairpin, promisc;
	int vlan;
	struct cni_vec trunk; /* struct trunk */
	bool preserve_default_vlan, macspoofchk, enabledad, disable_container_iface, port_isolation;
	bool v4only_no_ll;
	struct pl_mac_keys mac_keys; /* args.cni.mac, runtimeConfig.mac */

	/* derived by bridge_validate() */
	struct pl_mac mac;
	bool vlan_filtering;
	uint16_t vids[4095]; /* trunk VLANs, sorted, unique */
	size_t n_vids;
	enum nu_masq_layout masq;
};

static const struct cni_field trunk_fields[] = {
	CNI_FIELD("id", struct trunk, CNI_F_INT, id, CNI_SEEN(struct trunk, id_seen),
	  .help = "one VLAN id the port carries tagged (1..4094)"),
	CNI_FIELD("minID", struct trunk, CNI_F_INT, min_id, CNI_SEEN(struct trunk, min_seen),
	  .help = "first VLAN id of a range the port carries tagged (with maxID)"),
	CNI_FIELD("maxID", struct trunk, CNI_F_INT, max_id, CNI_SEEN(struct trunk, max_seen),
	  .help = "last VLAN id of that range (1..4094, not below minID)"),
	CNI_FIELD_END,
};
static const struct cni_field trunk_elem = {.type = CNI_F_OBJ, .sub = trunk_fields};

#define F(k, t, m, ...) CNI_FIELD(k, struct bridge_conf, t, m, __VA_ARGS__)
static const struct cni_field fields[] = {
	F("bridge", CNI_F_STR, bridge,
	  .help = "the host bridge, created if missing (default cni0)"),
	F("isGateway", CNI_F_BOOL, is_gw,
	  .help = "put the IPAM gateway address on the bridge; enable forwarding"),
	F("isDefaultGateway", CNI_F_BOOL, is_default_gw,
	  .help = "isGateway, and a default route via the gateway in the container"),
	F("forceAddress", CNI_F_BOOL, force_address,
	  .help = "replace a bridge address of another subnet (else an error)"),
	F("ipMasq", CNI_F_BOOL, ip_masq,
	  .help = "masquerade traffic from the container's IPs leaving their subnet"),
	F("ipMasqBackend", CNI_F_STR, ip_masq_backend,
	  .help = "\"nftables\" (default) or \"iptables\" for the masquerade rules"),
	F("mtu", CNI_F_INT, mtu, .min = 0, .max = 65535,
	  .help = "MTU of a new bridge and of both veth ends (default: the kernel's)"),
	F("hairpinMode", CNI_F_BOOL, hairpin,
	  .help = "hairpin on the host veth's bridge port (not with promiscMode)"),
	F("promiscMode", CNI_F_BOOL, promisc,
	  .help = "the bridge in promiscuous mode (not with hairpinMode)"),
	F("vlan", CNI_F_INT, vlan,
	  .help = "access VLAN (untagged PVID) of the host port, 0..4094 (0: none)"),
	F("vlanTrunk", CNI_F_ARRAY, trunk, .sub = &trunk_elem, .elem_size = sizeof(struct trunk),
	  .help = "VLANs the host port carries tagged: {id} or {minID, maxID} items"),
	F("preserveDefaultVlan", CNI_F_BOOL, preserve_default_vlan,
	  .help = "keep the default VLAN 1 on the port when vlan/vlanTrunk is set"),
	F("macspoofchk", CNI_F_BOOL, macspoofchk,
	  .help = "drop frames from the container whose source MAC is not its own"),
	F("enabledad", CNI_F_BOOL, enabledad,
	  .help = "duplicate address detection on the container's IPv6 addresses"),
	F("disableContainerInterface", CNI_F_BOOL, disable_container_iface,
	  .help = "leave the container's veth end down (no ipam allowed)"),
	F("portIsolation", CNI_F_BOOL, port_isolation,
	  .help = "isolated bridge port: no traffic with other isolated ports"),
	F("ipv4OnlyNoLinkLocal", CNI_F_BOOL, v4only_no_ll,
	  .help = "no IPv6 link-local address on a container end IPAM gives only IPv4"),
	PL_MAC_FIELDS(struct bridge_conf, mac_keys),
	CNI_FIELD_END,
};

static void bridge_defaults(void *conf)
{
	struct bridge_conf *c = conf;

	c->bridge = "cni0";
}

static int add_vid(struct bridge_conf *c, int vid)
{
	for (size_t i = 0; i < c->n_vids; i++)
		if (c->vids[i] == vid)
			return 0;
	c->vids[c->n_vids++] = (uint16_t)vid;
	return 0;
}

static int cmp_vid(const void *a, const void *b)
{
	return (int)*(const uint16_t *)a - (int)*(const uint16_t *)b;
}

static int parse_trunk(struct bridge_conf *c, struct cni_err *e)
{
	const struct trunk *t = c->trunk.v;

	for (size_t i = 0; i < c->trunk.n; i++) {
		if (t[i].min_seen || t[i].max_seen) {
			if (!t[i].min_seen || t[i].min_id <= 0 || t[i].min_id > 4094)
				return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG,
						"incorrect trunk minID parameter");
			if (!t[i].max_seen || t[i].max_id <= 0 || t[i].max_id > 4094)
				return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG,
						"incorrect trunk maxID parameter");
			if (t[i].max_id < t[i].min_id)
				return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG,
						"minID is greater than maxID in trunk parameter");
			for (int v = t[i].min_id; v <= t[i].max_id; v++)
				add_vid(c, v);
		}
		if (t[i].id_seen) {
			if (t[i].id <= 0 || t[i].id > 4094)
				return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG,
						"incorrect trunk id parameter");
			add_vid(c, t[i].id);
		}
	}
	qsort(c->vids, c->n_vids, sizeof(c->vids[0]), cmp_vid);
	return 0;
}

static int bridge_validate(struct cni_ctx *ctx, void *conf, struct cni_err *e)
{
	struct bridge_conf *c = conf;
	int r;

	if (!c->bridge || !nu_ifname_valid(c->bridge))
		return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG, "invalid bridge name \"%s\"",
				c->bridge ? c->bridge : "");
	if (c->vlan < 0 || c->vlan > 4094)
		return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG,
				"invalid VLAN ID %d (must be between 0 and 4094)", c->vlan);
	r = parse_trunk(c, e);
	if (r)
		return r;
	c->vlan_filtering = c->vlan || c->n_vids;
	if (c->is_default_gw)
		c->is_gw = true;
	if (c->hairpin && c->promisc)
		return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG,
				"cannot set hairpin mode and promiscuous mode at the same time");
	if (c->disable_container_iface && ctx->net.ipam_type)
		return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG,
				"cannot use IPAM when DisableContainerInterface flag is set");
	if (c->ip_masq_backend && *c->ip_masq_backend &&
	    strcmp(c->ip_masq_backend, "iptables") && strcmp(c->ip_masq_backend, "nftables"))
		return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG,
				"invalid ipMasqBackend \"%s\": must be \"iptables\" or \"nftables\"",
				c->ip_masq_backend);
	/* Our default is native nftables; the iptables layout only when asked for. */
	c->masq = c->ip_masq_backend && !strcmp(c->ip_masq_backend, "iptables") ? NU_MASQ_IPTABLES
										 : NU_MASQ_NFT;
	/* The runtime's MAC: runtimeConfig over args over CNI_ARGS. */
	return pl_mac_decide(&pl_mac_bridge, &c->mac_keys, &ctx->args, &c->mac, e);
}

/* ---- ADD ------------------------------------------------------------------------------------- */

struct add_state {
	struct cni_ctx *ctx;
	struct bridge_conf *c;
	struct nu_nl *host, *cont;
	int netns_fd;
	int br_index, host_index;
	char host_name[NU_IFNAMSIZ];
	struct nu_link_info br, cont_link;
};

/* Wait, bounded and without a fixed sleep, for the host end of the veth to be operationally up. */
static int wait_port_up(struct add_state *s, struct cni_err *e)
{
	struct nu_link_info li;
	long delay_us = 100, waited_us = 0;
	static const char *const states[] = {"unknown",	      "notpresent", "down", "lowerlayerdown",
					     "testing",	      "dormant",    "up"};

	for (;;) {
		int r = nu_link_get(s->host, NULL, s->host_index, &li, e);

		if (r < 0)
			return r;
		if (li.operstate == IF_OPER_UP)
			return 0;
		if (waited_us >= 2500000)
			return cni_fail(e, -ETIMEDOUT, 0, "bridge port in error state: %s",
					li.operstate < 7 ? states[li.operstate] : "unknown");
		nanosleep(&(struct timespec){.tv_nsec = delay_us * 1000}, NULL);
		waited_us += delay_us;
		delay_us = delay_us * 2 > 100000 ? 100000 : delay_us * 2;
	}
}

/* VLANs of the host port: access VLAN (PVID, untagged) and trunk VLANs (tagged). */
static int setup_vlans(struct add_state *s, struct cni_err *e)
{
	const struct bridge_conf *c = s->c;
	int r;

	if (!c->vlan_filtering)
		return 0;
	if (!c->preserve_default_vlan) {
		/* A new port gets the bridge's default PVID (1): the port carries only ours. */
		r = nu_bridge_vlan_del(s->host, s->host_index, 1, false, e);
		if (r < 0)
			return r;
	}
	if (c->vlan) {
		r = nu_bridge_vlan_add(s->host, s->host_index, (uint16_t)c->vlan, true, true, false, e);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < c->n_vids; i++) {
		r = nu_bridge_vlan_add(s->host, s->host_index, c->vids[i], false, false, false, e);
		if (r < 0)
			return r;
	}
	if (!c->vlan && c->n_vids) {
		/* Trunk only: untagged frames belong to the native VLAN 1. */
		r = nu_bridge_vlan_add(s->host, s->host_index, 1, true, true, false, e);
		if (r < 0)
			return r;
	}
	return 0;
}

/*
 * The gateway address on link @gw_link (the bridge, or its "<bridge>.<vlan>" interface); another
 * address of the family in the way is an error unless forceAddress.
 */
static int ensure_gw_addr(struct add_state *s, int gw_link, const char *gw_name,
			  const struct cni_prefix *gw, struct cni_err *e)
{
	struct nu_addr *have = NULL;
	char b1[CNI_PREFIX_STRLEN], b2[CNI_PREFIX_STRLEN];
	size_t n = 0;
	int r;

	r = nu_addr_list(s->host, gw_link, gw->ip.family, &have, &n, e);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		const struct cni_prefix *p = &have[i].prefix;

		if (cni_ip_eq(&p->ip, &gw->ip) && p->len == gw->len)
			goto done; /* already there: r = 0 */
		if (gw->ip.family == AF_INET6 &&
		    (have[i].scope != 0 || !cni_prefix_overlaps(p, gw)))
			continue; /* link-local and other subnets coexist */
		if (!s->c->force_address) {
			r = cni_fail(e, -EEXIST, 0, "\"%s\" already has an IP address different from %s",
				     gw_name, cni_prefix_str(gw, b1));
			goto done;
		}
		r = nu_addr_del(s->host, gw_link, p, e);
		if (r < 0) {
			cni_wrap(e, r, "failed to remove %s from \"%s\"", cni_prefix_str(p, b2),
				 gw_name);
			goto done;
		}
	}
	/* The gateway is ours by configuration: no DAD, so containers reach it at once. */
	r = nu_addr_add_flags(s->host, gw_link, gw, gw->ip.family == AF_INET6 ? NU_IFA_F_NODAD : 0, e);
	if (r == -EEXIST) {
		cni_err_clear(e);
		r = 0; /* added by a concurrent ADD on the same bridge */
	}
done:
	free(have);
	return r;
}

/*
 * With a VLAN the gateway cannot sit on the bridge itself: like the reference, a host veth pair
 * "<bridge>.<vlan>" whose peer is a bridge port in that VLAN (PVID, untagged) carries it. Reused
 * when it exists; appended to the result's interfaces. Returns its ifindex or -errno.
 */
static int ensure_vlan_gw_iface(struct add_state *s, struct cni_result *res, struct cni_err *e)
{
	const struct bridge_conf *c = s->c;
	char name[NU_IFNAMSIZ + 8], peer[NU_IFNAMSIZ] = "", mac[3 * 32];
	struct nu_link_info li;
	int r, peer_index;

	snprintf(name, sizeof(name), "%s.%d", c->bridge, c->vlan);
	if (strlen(name) >= NU_IFNAMSIZ)
		return cni_fail(e, -ENAMETOOLONG, CNI_ERR_INVALID_CONFIG,
				"gateway interface name \"%s\" is longer than 15 bytes", name);
	r = nu_link_get(s->host, name, 0, &li, e);
	if (r == -ENODEV) {
		cni_err_clear(e);
		peer_index = nu_veth_create(s->host, name, (unsigned int)c->mtu, NULL, -1, peer, e);
		if (peer_index < 0)
			return peer_index;
		r = nu_link_set_master(s->host, peer_index, s->br_index, e);
		if (r >= 0 && !c->preserve_default_vlan)
			r = nu_bridge_vlan_del(s->host, peer_index, 1, false, e);
		if (r >= 0)
			r = nu_bridge_vlan_add(s->host, peer_index, (uint16_t)c->vlan, true, true,
					       false, e);
		if (r >= 0)
			r = nu_link_get(s->host, name, 0, &li, e);
		if (r >= 0)
			r = nu_link_set_up(s->host, li.ifindex, e);
		if (r < 0) {
			nu_link_del_index(s->host, peer_index, NULL);
			return cni_wrap(e, r, "setting up gateway interface \"%s\"", name);
		}
	} else if (r < 0) {
		return r;
	} else if (strcmp(li.kind, "veth")) {
		return cni_fail(e, -EEXIST, 0, "\"%s\" already exists but is not a veth", name);
	}
	cni_result_add_iface(res, name, nu_mac_str(li.mac, li.mac_len, mac), NULL);
	return li.ifindex;
}

/* Container MAC text, host veth and bridge MACs (refreshed after enslaving and gateways). */
static int refresh_macs(struct add_state *s, struct cni_result *res, struct cni_err *e)
{
	struct nu_link_info li;
	char mac[3 * 32];
	int r;

	r = nu_link_get(s->host, NULL, s->br_index, &li, e);
	if (r < 0)
		return r;
	res->ifaces[0].mac = cni_strdup(nu_mac_str(li.mac, li.mac_len, mac));
	r = nu_link_get(s->host, NULL, s->host_index, &li, e);
	if (r < 0)
		return r;
	res->ifaces[1].mac = cni_strdup(nu_mac_str(li.mac, li.mac_len, mac));
	return 0;
}

/* IPAM, addresses, routes, gateway on the bridge, forwarding, masquerade. */
static int setup_l3(struct add_state *s, struct cni_result *res, struct cni_err *e)
{
	struct cni_ctx *ctx = s->ctx;
	const struct bridge_conf *c = s->c;
	struct cni_result *ipam = NULL;
	struct cni_prefix gw4 = {0}, gw6 = {0};
	char key[96];
	int r;

	r = cni_ipam_add_addrs(ctx, &ipam, e);
	if (r < 0)
		return r;
	for (size_t i = 0; i < ipam->n_ips; i++) {
		struct cni_ipcfg ipc = ipam->ips[i];
		struct cni_prefix *gw = ipc.address.ip.family == AF_INET ? &gw4 : &gw6;

		if (!ipc.gateway.family && c->is_gw) {
			/* No gateway from IPAM: the subnet's first address, as the reference. */
			ipc.gateway = cni_prefix_network(&ipc.address);
			cni_ip_next(&ipc.gateway);
		}
		cni_result_add_ip(res, &ipc.address, &ipc.gateway, 2);
		if (ipc.gateway.family && !gw->ip.family) {
			gw->ip = ipc.gateway;
			gw->len = ipc.address.len;
		}
	}
	for (size_t i = 0; i < ipam->n_routes; i++)
		*cni_result_add_route(res, &ipam->routes[i].dst, NULL) = ipam->routes[i];
	res->dns = ipam->dns;
	if (c->is_default_gw) {
		const struct cni_prefix *gws[] = {&gw4, &gw6};

		for (int f = 0; f < 2; f++) {
			bool have = false;

			if (!gws[f]->ip.family)
				continue;
			for (size_t i = 0; i < res->n_routes; i++)
				have |= res->routes[i].dst.len == 0 && res->routes[i].gw.family &&
					res->routes[i].dst.ip.family == gws[f]->ip.family;
			if (!have) {
				struct cni_prefix def = cni_prefix_default(gws[f]->ip.family);

				cni_result_add_route(res, &def, &gws[f]->ip);
			}
		}
	}

	/*
	 * ipv4OnlyNoLinkLocal, no IPv6 from IPAM: addr_gen_mode none while the end is down, so it
	 * has no IPv6 address at all (no DAD, MLD report or router solicitation flooded to every
	 * port of the bridge when it comes up) and no DAD setting to write (a /proc/sys open costs
	 * O(netns)). Without IPv6 in the kernel there is nothing to quiet.
	 */
	bool v6 = false;

	for (size_t i = 0; i < res->n_ips; i++)
		v6 |= res->ips[i].address.ip.family == AF_INET6;
	if (c->v4only_no_ll && !v6) {
		r = nu_link_set_addr_gen_none(s->cont, s->cont_link.ifindex, e);
		if (r == -EAFNOSUPPORT)
			cni_err_clear(e);
		else if (r < 0)
			return r;
	}
	/* DAD off on the container end unless asked for (the reference's default). */
	snprintf(key, sizeof(key), "net/ipv6/conf/%s/accept_dad", ctx->env.ifname);
	if (c->v4only_no_ll && !v6) {
		/* no IPv6 address to detect duplicates of */
	} else if (c->enabledad) {
		char key2[96];

		snprintf(key2, sizeof(key2), "net/ipv6/conf/%s/enhanced_dad", ctx->env.ifname);
		nu_sysctl_set(s->netns_fd, key2, "1", NULL);
		nu_sysctl_set(s->netns_fd, key, "1", NULL);
	} else {
		nu_sysctl_set(s->netns_fd, key, "0", NULL);
	}
	nu_iface_arp_notify(s->cont, s->netns_fd, ctx->env.ifname, s->cont_link.ifindex);

	r = nu_iface_configure(s->cont, s->netns_fd, ctx->env.ifname, res, e);
	if (r < 0)
		return r;

	if (c->is_gw) {
		const struct cni_prefix *gws[] = {&gw4, &gw6};
		int gw_link = s->br_index;
		const char *gw_name = c->bridge;
		bool any = false;

		if (c->vlan && (gw4.ip.family || gw6.ip.family)) {
			gw_link = ensure_vlan_gw_iface(s, res, e);
			if (gw_link < 0)
				return gw_link;
			gw_name = res->ifaces[res->n_ifaces - 1].name;
		}
		for (int f = 0; f < 2; f++) {
			if (!gws[f]->ip.family)
				continue;
			r = ensure_gw_addr(s, gw_link, gw_name, gws[f], e);
			if (r < 0)
				return r;
			r = nu_ip_forward_enable(s->host, gws[f]->ip.family, e);
			if (r < 0)
				return r;
			any = true;
		}
		if (any) {
			/* Pin the bridge MAC so it stops following its lowest port's MAC. */
			struct nu_link_info li;

			r = nu_link_get(s->host, NULL, s->br_index, &li, e);
			if (r >= 0)
				r = nu_link_set_mac(s->host, s->br_index, li.mac, li.mac_len, e);
			if (r < 0)
				return r;
		}
	}
	if (c->ip_masq) {
		size_t n;
		struct cni_prefix *ips = cni_result_addrs(res, -1, &n);

		r = nu_nft_masq_add_as(c->masq, ctx->net.name, ctx->env.ifname,
				       ctx->env.container_id, ips, n, e);
		if (r < 0)
			return cni_wrap(e, r, "failed to set up IP masquerade");
	}
	return 0;
}

static int bridge_add(struct cni_ctx *ctx, struct cni_result *res, struct cni_err *e)
{
	struct bridge_conf *c = ctx->conf;
	_nu_nl_cleanup_ struct nu_nl *host = NULL, *cont = NULL;
	_nu_fd_cleanup_ int netns_fd = -1;
	struct add_state s = {.ctx = ctx, .c = c};
	char mac[3 * 32];
	int r;

	/* The container's netns first: a missing one leaves no bridge behind. */
	r = nu_nl_open_netns(ctx->env.netns, &netns_fd, &cont, e);
	if (r < 0)
		return r;
	r = nu_nl_open(&host, -1, e);
	if (r < 0)
		return r;
	r = nu_bridge_ensure(host, c->bridge, (unsigned int)c->mtu, c->vlan_filtering, c->promisc,
			     &s.br, e);
	if (r < 0)
		return r;
	s.br_index = s.br.ifindex;
	if (nu_link_accept_ra_off(host, -1, c->bridge, e) < 0)
		cni_err_clear(e); /* no IPv6 on this host */
	s.host = host;
	s.cont = cont;
	s.netns_fd = netns_fd;

	/* The host end is a port before it is up, with no IPv6 address of its own. */
	r = nu_veth_create_port(cont, ctx->env.ifname, (unsigned int)c->mtu,
				c->mac.set ? c->mac.addr : NULL, -1, s.br_index, s.host_name, e);
	if (r < 0)
		return r;
	s.host_index = r;
	r = nu_bridge_port_set(host, s.host_index, c->hairpin, c->port_isolation, e);
	if (r < 0)
		goto del_veth;
	r = setup_vlans(&s, e);
	if (r < 0)
		goto del_veth;
	r = nu_link_get(cont, ctx->env.ifname, 0, &s.cont_link, e);
	if (r < 0)
		goto del_veth;

	cni_result_add_iface(res, c->bridge, NULL, NULL);
	cni_result_add_iface(res, s.host_name, NULL, NULL);
	cni_result_add_iface(res, ctx->env.ifname,
			     nu_mac_str(s.cont_link.mac, s.cont_link.mac_len, mac), ctx->env.netns);

	if (c->macspoofchk) {
		r = nu_nft_spoofchk_add(ctx->env.container_id, ctx->env.ifname, s.host_name,
					s.cont_link.mac, e);
		if (r < 0)
			goto del_veth;
	}
	if (ctx->net.ipam_type) {
		r = setup_l3(&s, res, e);
		if (r < 0)
			goto del_rules;
	} else if (!c->disable_container_iface) {
		r = nu_link_set_up(cont, s.cont_link.ifindex, e);
		if (r < 0)
			goto del_rules;
	}
	if (!c->disable_container_iface) {
		r = wait_port_up(&s, e);
		if (r < 0)
			goto del_rules;
	}
	r = refresh_macs(&s, res, e);
	if (r < 0)
		goto del_rules;
	if (ctx->net.dns_seen && !cni_dns_empty(&ctx->net.dns))
		res->dns = ctx->net.dns;
	return 0;

del_rules:
	if (c->ip_masq)
		nu_nft_masq_del_any(ctx->net.name, ctx->env.ifname, ctx->env.container_id,
				    &(struct cni_err){0});
	if (c->macspoofchk)
		nu_nft_spoofchk_del(ctx->env.container_id, ctx->env.ifname, &(struct cni_err){0});
del_veth:
	nu_link_del_index(host, s.host_index, NULL);
	return r;
}

/* ---- DEL, CHECK, STATUS, GC ------------------------------------------------------------------ */

/*
 * Every step runs even when an earlier one fails, and the first failure is reported: the runtime
 * retries DEL, and each step is idempotent. IPAM goes first while the container's link still
 * exists, so a DHCP lease can be released on it.
 */
static int bridge_del(struct cni_ctx *ctx, struct cni_err *e)
{
	const struct bridge_conf *c = ctx->conf;
	struct cni_err one = {0};
	int first = 0;

#define STEP(call) cni_err_keep_first((call), &one, &first, e)
	if (ctx->net.ipam_type)
		STEP(cni_ipam_del(ctx, &one));
	/*
	 * Rules before the link: the kernel frees deleted rules after an RCU grace period, which
	 * the link deletion's own wait covers, so the netfilter socket's release at exit finds
	 * nothing left to wait for (see nft_close()).
	 */
	if (c->macspoofchk)
		STEP(nu_nft_spoofchk_del(ctx->env.container_id, ctx->env.ifname, &one));
	if (c->ip_masq)
		STEP(nu_nft_masq_del_any(ctx->net.name, ctx->env.ifname, ctx->env.container_id, &one));
	if (ctx->env.netns)
		STEP(nu_link_del_netns(ctx->env.netns, ctx->env.ifname, &one));
#undef STEP
	return first;
}

static int bridge_check(struct cni_ctx *ctx, struct cni_err *e)
{
	const struct bridge_conf *c = ctx->conf;
	const struct cni_result *prev = ctx->net.prev;
	_nu_nl_cleanup_ struct nu_nl *host = NULL, *cont = NULL;
	_nu_fd_cleanup_ int netns_fd = -1;
	const struct cni_iface *br_if, *cont_if;
	struct nu_link_info br, cl;
	const char *host_veth = NULL;
	int r, cont_idx = -1;

	if (ctx->net.ipam_type) {
		r = cni_ipam_check(ctx, e);
		if (r < 0)
			return r;
	}
	if (!prev)
		return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG, "Required prevResult missing");
	br_if = cni_result_iface(prev, c->bridge, NULL, NULL);
	if (!br_if)
		return cni_fail(e, -ENOENT, 0, "bridge \"%s\" not found in prevResult", c->bridge);
	r = cni_prev_container_iface(ctx, &cont_if, &cont_idx, e);
	if (r < 0)
		return r;

	r = nu_nl_open(&host, -1, e);
	if (r < 0)
		return r;
	r = nu_link_get(host, c->bridge, 0, &br, e);
	if (r < 0)
		return cni_wrap(e, r, "bridge \"%s\"", c->bridge);
	if (strcmp(br.kind, "bridge"))
		return cni_fail(e, -EINVAL, 0, "\"%s\" is not a bridge", c->bridge);
	r = nu_iface_check_mac(br_if->mac, &br, c->bridge, e);
	if (r < 0)
		return r;
	if (c->promisc != !!(br.flags & IFF_PROMISC))
		return cni_fail(e, -EINVAL, 0, "bridge \"%s\" promiscuous mode is %s, expected %s",
				c->bridge, br.flags & IFF_PROMISC ? "on" : "off",
				c->promisc ? "on" : "off");

	r = nu_iface_check_veth(ctx->env.netns, ctx->env.ifname, cont_if->mac, &netns_fd, &cont,
				&cl, e);
	if (r < 0)
		return r;
	/* Some host interface of prevResult must be the veth's peer, enslaved to the bridge. */
	for (size_t i = 0; i < prev->n_ifaces && !host_veth; i++) {
		struct nu_link_info hl;
		const struct cni_iface *f = &prev->ifaces[i];

		if ((f->sandbox && *f->sandbox) || !strcmp(f->name, c->bridge))
			continue;
		if (nu_link_get(host, f->name, 0, &hl, NULL) < 0)
			continue;
		if (hl.ifindex == cl.link && hl.master == br.ifindex)
			host_veth = f->name;
	}
	if (!host_veth)
		return cni_fail(e, -ENOENT, 0,
				"no host veth of prevResult is the peer of \"%s\" on bridge \"%s\"",
				ctx->env.ifname, c->bridge);
	r = nu_iface_check_result(cont, ctx->env.ifname, prev, e);
	if (r < 0)
		return r;
	if (c->ip_masq) {
		size_t n;
		struct cni_prefix *ips = cni_result_addrs(prev, cont_idx, &n);

		r = nu_nft_masq_check_as(c->masq, ctx->net.name, ctx->env.ifname,
					 ctx->env.container_id, ips, n, e);
		if (r < 0)
			return r;
	}
	if (c->macspoofchk) {
		r = nu_nft_spoofchk_check(ctx->env.container_id, ctx->env.ifname, host_veth, cl.mac,
					  e);
		if (r < 0)
			return r;
	}
	return 0;
}

struct gc_state {
	struct nu_nl *host;
	int br_index; /* 0: our bridge does not exist */
};

/* A spoof check is ours to judge when its host veth is gone or is a port of our bridge. */
static bool gc_owns(void *arg, const char *host_veth)
{
	struct gc_state *g = arg;
	struct nu_link_info li;
	int r = nu_link_get(g->host, host_veth, 0, &li, NULL);

	if (r == -ENODEV)
		return true;
	return r == 0 && g->br_index && li.master == g->br_index;
}

/* Every step runs even when one fails; the failures are reported together. */
static int bridge_gc(struct cni_ctx *ctx, struct cni_err *e)
{
	const struct bridge_conf *c = ctx->conf;
	_nu_nl_cleanup_ struct nu_nl *host = NULL;
	struct gc_state g = {0};
	struct cni_err one = {0};
	int r, first = 0;

	if (ctx->net.ipam_type)
		cni_err_gather(cni_ipam_gc(ctx, &one), &one, &first, e);
	/* Rules are keyed by network: they are ours to collect even if ipMasq was turned off. */
	r = nu_nft_masq_gc(ctx->net.name, ctx->net.valid_atts.v, ctx->net.valid_atts.n, &one);
	cni_err_gather(r, &one, &first, e);
	if (c->macspoofchk) {
		r = nu_nl_open(&host, -1, &one);
		if (r == 0) {
			g.host = host;
			g.br_index = nu_link_index(host, c->bridge);
			g.br_index = g.br_index > 0 ? g.br_index : 0;
			r = nu_nft_spoofchk_gc(ctx->net.valid_atts.v, ctx->net.valid_atts.n,
					       gc_owns, &g, &one);
		}
		cni_err_gather(r, &one, &first, e);
	}
	return first;
}

const struct cni_plugin cni_main_plugin = {
	.name = "bridge",
	CNI_CONF(fields, struct bridge_conf),
	.conf_defaults = bridge_defaults,
	.conf_validate = bridge_validate,
	.args_keys = pl_mac_args_keys,
	CNI_VERBS(bridge),
	.gc = bridge_gc,
	.flags = CNI_PLUGIN_IPAM_STATUS,
	CNI_INPROC_IPAM,
};
