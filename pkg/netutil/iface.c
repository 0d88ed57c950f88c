// SPDX-License-Identifier: Apache-2.0
/*
 * Applying an IPAM result to one container interface (addresses, link up, DAD, routes) and the
 * CHECK counterparts. Adds are plain creates: running it twice on the same link fails with
 * EEXIST on the first address, which is what ADD of an existing attachment should do.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <linux/ip.h>

#include "netutil/iface.h"

/* How long ADD waits for IPv6 DAD when the link is up (the reference: 5 s). */
#define DAD_TIMEOUT_MS 5000

static bool ip_for_iface(const struct cni_result *res, const struct cni_ipcfg *c,
			 const char *ifname)
{
	return c->iface >= 0 && (size_t)c->iface < res->n_ifaces &&
	       !strcmp(res->ifaces[c->iface].name, ifname);
}

/* IPv6 may be disabled in a fresh container netns: enable it on lo and the link. */
static int ipv6_enable(int netns_fd, const char *ifname, struct cni_err *e)
{
	const char *names[] = {"lo", ifname};
	char key[96];
	int r;

	for (int i = 0; i < 2; i++) {
		snprintf(key, sizeof(key), "net/ipv6/conf/%s/disable_ipv6", names[i]);
		r = nu_sysctl_ensure(netns_fd, key, "0", e);
		if (r == -ENOENT) {
			cni_err_clear(e); /* no IPv6 in this kernel: the address add will say so */
			return 0;
		}
		if (r < 0)
			return r;
	}
	snprintf(key, sizeof(key), "net/ipv6/conf/%s/keep_addr_on_down", ifname);
	r = nu_sysctl_ensure(netns_fd, key, "1", e);
	if (r == -ENOENT) /* before Linux 4.6 */
		cni_err_clear(e);
	return r == -ENOENT ? 0 : r;
}

int nu_iface_configure(struct nu_nl *nl, int netns_fd, const char *ifname,
		       const struct cni_result *res, struct cni_err *e)
{
	const struct cni_ip *gw4 = NULL, *gw6 = NULL;
	char b[CNI_PREFIX_STRLEN];
	bool v6_enabled = false;
	int link, r;

	if (!res->n_ifaces)
		return cni_fail(e, -EINVAL, 0, "no interfaces to configure");
	link = nu_link_index(nl, ifname);
	if (link < 0)
		return cni_fail(e, link, 0, "failed to look up \"%s\": %s", ifname, strerror(-link));
	for (size_t i = 0; i < res->n_ips; i++) {
		const struct cni_ipcfg *c = &res->ips[i];

		if (c->iface < 0)
			continue;
		if (!ip_for_iface(res, c, ifname))
			return cni_fail(e, -EINVAL, 0,
					"failed to add IP addr %s to \"%s\": invalid interface index",
					cni_prefix_str(&c->address, b), ifname);
		if (c->address.ip.family == AF_INET6 && !v6_enabled) {
			r = ipv6_enable(netns_fd, ifname, e);
			if (r < 0)
				return r;
			v6_enabled = true;
		}
		r = nu_addr_add(nl, link, &c->address, e);
		if (r < 0)
			return cni_wrap(e, r, "failed to add IP addr %s to \"%s\"",
					cni_prefix_str(&c->address, b), ifname);
		if (c->gateway.family == AF_INET && !gw4)
			gw4 = &c->gateway;
		if (c->gateway.family == AF_INET6 && !gw6)
			gw6 = &c->gateway;
	}
	r = nu_link_set_up(nl, link, e);
	if (r < 0)
		return cni_wrap(e, r, "failed to set \"%s\" up", ifname);
	if (gw6) {
		r = nu_addr_wait_settled(nl, link, DAD_TIMEOUT_MS, e);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < res->n_routes; i++) {
		const struct cni_route *rt = &res->routes[i];
		struct nu_route nr = {
			.dst = rt->dst,
			.gw = rt->gw,
			.oif = link,
			.table = rt->table > 0 ? rt->table : 0,
			.scope = rt->scope,
			.priority = rt->priority,
		};

		if (!nr.gw.family) {
			const struct cni_ip *g = rt->dst.ip.family == AF_INET ? gw4 : gw6;

			if (g)
				nr.gw = *g;
		}
		r = nu_route_add(nl, &nr, e);
		if (r < 0)
			return cni_wrap(e, r, "failed to add route %s", cni_prefix_str(&rt->dst, b));
	}
	return 0;
}

/*
 * Over rtnetlink: the first /proc/sys access for a link of a new netns costs 0.1-0.2 ms of
 * dentry setup, a setlink a few microseconds. The sysctl if that fails.
 */
void nu_iface_arp_notify(struct nu_nl *nl, int netns_fd, const char *ifname, int ifindex)
{
	char key[96];

	if (nu_link_set_inet_conf(nl, ifindex, IPV4_DEVCONF_ARP_NOTIFY, 1, NULL) < 0) {
		snprintf(key, sizeof(key), "net/ipv4/conf/%s/arp_notify", ifname);
		nu_sysctl_set(netns_fd, key, "1", NULL);
	}
}

int nu_iface_setup(struct nu_nl *nl, int netns_fd, const char *ifname, int ifindex,
		   const struct cni_result *res, unsigned int notify, struct cni_err *e)
{
	char key[96];
	int r;

	if (!res->n_ips) {
		r = nu_link_set_up(nl, ifindex, e);
		return r < 0 ? cni_wrap(e, r, "failed to set \"%s\" UP", ifname) : 0;
	}
	if (notify & NU_NOTIFY_ARP)
		nu_iface_arp_notify(nl, netns_fd, ifname, ifindex);
	if (notify & NU_NOTIFY_NDISC) {
		snprintf(key, sizeof(key), "net/ipv6/conf/%s/ndisc_notify", ifname);
		nu_sysctl_set(netns_fd, key, "1", NULL);
	}
	return nu_iface_configure(nl, netns_fd, ifname, res, e);
}

int nu_iface_check_open(const char *netns, const char *ifname, int *netns_fd, struct nu_nl **nl,
			struct nu_link_info *cl, struct cni_err *e)
{
	int r = nu_nl_open_netns(netns, netns_fd, nl, e);

	if (r < 0)
		return r;
	r = nu_link_get(*nl, ifname, 0, cl, e);
	if (r < 0)
		return cni_wrap(e, r, "Container Interface name in prevResult: %s not found",
				ifname);
	return 0;
}

int nu_iface_check_veth(const char *netns, const char *ifname, const char *mac, int *netns_fd,
			struct nu_nl **nl, struct nu_link_info *cl, struct cni_err *e)
{
	int r = nu_nl_open_netns(netns, netns_fd, nl, e);

	if (r < 0)
		return r;
	r = nu_link_get(*nl, ifname, 0, cl, e);
	if (r < 0)
		return cni_wrap(e, r, "container interface \"%s\"", ifname);
	if (strcmp(cl->kind, "veth"))
		return cni_fail(e, -EINVAL, 0, "container interface \"%s\" is not a veth", ifname);
	return nu_iface_check_mac(mac, cl, ifname, e);
}

int nu_iface_check_ips(struct nu_nl *nl, const char *ifname, const struct cni_result *res,
		       struct cni_err *e)
{
	struct nu_addr *have = NULL;
	char b[CNI_PREFIX_STRLEN];
	size_t n = 0;
	int link, r = 0;

	link = nu_link_index(nl, ifname);
	if (link < 0)
		return cni_fail(e, link, 0, "failed to look up \"%s\": %s", ifname, strerror(-link));
	r = nu_addr_list(nl, link, AF_UNSPEC, &have, &n, e);
	if (r < 0)
		return r;
	for (size_t i = 0; i < res->n_ips && !r; i++) {
		const struct cni_ipcfg *c = &res->ips[i];
		bool found = false;

		if (!ip_for_iface(res, c, ifname))
			continue;
		for (size_t j = 0; j < n && !found; j++)
			found = cni_ip_eq(&have[j].prefix.ip, &c->address.ip) &&
				have[j].prefix.len == c->address.len;
		if (!found)
			r = cni_fail(e, -ENOENT, 0, "Failed to match addr %s on interface %s",
				     cni_prefix_str(&c->address, b), ifname);
	}
	free(have);
	return r;
}

static bool route_matches(const struct nu_route *k, const struct cni_route *want)
{
	struct cni_ip a = cni_prefix_network(&k->dst), b = cni_prefix_network(&want->dst);

	if (k->dst.ip.family != want->dst.ip.family && k->dst.ip.family)
		return false;
	if (k->dst.len != want->dst.len || !cni_ip_eq(&a, &b))
		return false;
	return !want->gw.family || cni_ip_eq(&k->gw, &want->gw);
}

int nu_iface_check_routes(struct nu_nl *nl, const struct cni_result *res, struct cni_err *e)
{
	struct nu_route *have = NULL;
	char b[CNI_PREFIX_STRLEN], g[CNI_IP_STRLEN];
	size_t n = 0;
	int r;

	if (!res->n_routes)
		return 0;
	r = nu_route_list(nl, AF_UNSPEC, 0, 0, &have, &n, e);
	if (r < 0)
		return r;
	for (size_t i = 0; i < res->n_routes && !r; i++) {
		const struct cni_route *want = &res->routes[i];
		bool found = false;

		for (size_t j = 0; j < n && !found; j++)
			found = route_matches(&have[j], want);
		if (!found)
			r = cni_fail(e, -ENOENT, 0, "Failed to find route %s%s%s",
				     cni_prefix_str(&want->dst, b), want->gw.family ? " via " : "",
				     want->gw.family ? cni_ip_str(&want->gw, g) : "");
	}
	free(have);
	return r;
}

int nu_mac_parse(const char *s, uint8_t mac[6])
{
	unsigned int v[6];
	char tail;

	if (!s || sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
			 &tail) != 6 || strlen(s) != 17)
		return -EINVAL;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)v[i];
	return 0;
}

char *nu_mac_str(const uint8_t *mac, unsigned int len, char buf[3 * 32])
{
	buf[0] = '\0';
	for (unsigned int i = 0; i < len && i < 32; i++)
		sprintf(buf + (i ? 3 * i - 1 : 0), i ? ":%02x" : "%02x", mac[i]);
	return buf;
}

/* False when @want (a result's "mac") is set and is not @li's address, which is put in @mac. */
static bool mac_matches(const char *want, const struct nu_link_info *li, char mac[3 * 32])
{
	return !want || !*want || !strcasecmp(want, nu_mac_str(li->mac, li->mac_len, mac));
}

int nu_iface_check_mac(const char *want, const struct nu_link_info *li, const char *name,
		       struct cni_err *e)
{
	char mac[3 * 32];

	if (!mac_matches(want, li, mac))
		return cni_fail(e, -EINVAL, 0, "interface %s MAC %s does not match %s", name, mac,
				want);
	return 0;
}

int nu_iface_check_mac_ref(const char *want, const struct nu_link_info *li, const char *name,
			   struct cni_err *e)
{
	char mac[3 * 32];

	if (!mac_matches(want, li, mac))
		return cni_fail(e, -EINVAL, 0,
				"Interface %s Mac %s doesn't match container Mac: %s", name, want,
				mac);
	return 0;
}

int nu_iface_check_result(struct nu_nl *nl, const char *ifname, const struct cni_result *res,
			  struct cni_err *e)
{
	int r = nu_iface_check_ips(nl, ifname, res, e);

	return r < 0 ? r : nu_iface_check_routes(nl, res, e);
}
