// SPDX-License-Identifier: Apache-2.0
/*
 * ipvlan: gives a container an interface that shares the MAC address of a host interface (the
 * master) and is told apart by IP address, as the reference plugin does, key for key, plus the
 * kernel's ipvlan flags (bridge, private, vepa). ADD finds the master (configured; else, when
 * chained, the single interface of prevResult; else the interface of the default route; in the
 * host netns or, with linkInContainer, in the container's), creates the ipvlan under a temporary
 * name directly in the container netns (a name taken on the host cannot clash) and renames it to
 * CNI_IFNAME there; the temporary name is derived from the attachment, so a link left by an ADD
 * killed before the rename is found and removed by DEL or the next ADD. Addresses come from IPAM or, chained without IPAM, from
 * prevResult; with neither the link is only set up (L2 only, which the reference refuses). A
 * failed ADD deletes the link; the dispatcher releases IPAM.
 * DEL is idempotent and depends on neither the master, a default route nor prevResult (the
 * reference's DEL resolves the master first and fails without a default route or with a
 * multi-interface prevResult): IPAM DEL runs when IPAM is configured, then the link (and a
 * temporary one) goes with the netns or by name. The plugin owns no host state, so GC is IPAM's GC.
 */
#include <errno.h>
#include <linux/if_link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cni/cni.h"
#include "cni/hash.h"
#include "netutil/iface.h"
#include "netutil/ipvlan.h"
#include "netutil/link_extra.h"
#include "netutil/netutil.h"

struct ipvlan_conf {
	char *master;
	char *mode;
	char *flag;
	int mtu;
	bool link_in_container;

	/* derived by ipvlan_validate() */
	uint16_t mode_val, flags_val;
};

#define F(k, t, m, ...) CNI_FIELD(k, struct ipvlan_conf, t, m, __VA_ARGS__)
static const struct cni_field fields[] = {
	F("master", CNI_F_STR, master),
	F("mode", CNI_F_STR, mode),
	F("flag", CNI_F_STR, flag),
	F("mtu", CNI_F_INT, mtu, .min = 0, .max = 65535),
	F("linkInContainer", CNI_F_BOOL, link_in_container),
	CNI_FIELD_END,
};

struct named {
	const char *name;
	uint16_t val;
};

static const struct named modes[] = {
	{"l2", IPVLAN_MODE_L2},
	{"l3", IPVLAN_MODE_L3},
	{"l3s", IPVLAN_MODE_L3S},
};

/* The kernel's flags: bridge (0) lets ipvlans of one master talk, private forbids it, vepa sends
 * it out through the master to an external switch. */
static const struct named flags[] = {
	{"bridge", 0},
	{"private", IPVLAN_F_PRIVATE},
	{"vepa", IPVLAN_F_VEPA},
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const char *val_name(const struct named *t, size_t n, uint16_t v)
{
	for (size_t i = 0; i < n; i++)
		if (t[i].val == v)
			return t[i].name;
	return "unknown";
}

/* -1 when @s names nothing in @t; "" and NULL are the first entry (the default). */
static int val_of(const struct named *t, size_t n, const char *s)
{
	if (!s || !*s)
		return t[0].val;
	for (size_t i = 0; i < n; i++)
		if (!strcmp(s, t[i].name))
			return t[i].val;
	return -1;
}

static int ipvlan_validate(struct cni_ctx *ctx, void *conf, struct cni_err *e)
{
	struct ipvlan_conf *c = conf;
	int v;

	/* DEL needs none of these keys: a config that failed ADD must still be deletable. */
	if (ctx->env.cmd == CNI_CMD_DEL)
		return 0;
	if (c->master && *c->master && !nu_ifname_valid(c->master))
		return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG,
				"invalid \"master\" \"%s\": not an interface name", c->master);
	v = val_of(modes, N(modes), c->mode);
	if (v < 0)
		return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG, "unknown ipvlan mode: \"%s\"",
				c->mode);
	c->mode_val = (uint16_t)v;
	v = val_of(flags, N(flags), c->flag);
	if (v < 0)
		return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG,
				"unknown ipvlan flag: \"%s\" (must be bridge, private or vepa)",
				c->flag);
	c->flags_val = (uint16_t)v;
	return 0;
}

/* Chained without IPAM: the addresses are prevResult's. */
static bool chained(const struct cni_ctx *ctx)
{
	return !ctx->net.ipam_type && ctx->net.prev;
}

/*
 * The master in the netns of @nl: configured; else the single named interface of prevResult
 * when there is one (chained); else the default route's interface.
 */
static int find_master(const struct cni_ctx *ctx, struct nu_nl *nl, struct nu_link_info *m,
		       struct cni_err *e)
{
	const struct ipvlan_conf *c = ctx->conf;
	const struct cni_result *prev = ctx->net.prev;
	const char *name = c->master && *c->master ? c->master : NULL;
	int r;

	if (!name && prev) {
		if (prev->n_ifaces != 1 || !prev->ifaces[0].name || !*prev->ifaces[0].name)
			return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG,
					"chained master failure. PrevResult lacks a single named "
					"interface");
		name = prev->ifaces[0].name;
	}
	if (!name) {
		r = nu_route_default_oif(nl, e);
		if (r < 0)
			return cni_wrap(e, r, "no master given and no default route interface");
		r = nu_link_get(nl, NULL, r, m, e);
	} else {
		r = nu_link_get(nl, name, 0, m, e);
	}
	if (r < 0)
		return cni_wrap(e, r, "failed to lookup master \"%s\"", name ? name : "");
	return 0;
}

/* ---- ADD ------------------------------------------------------------------------------------- */

/*
 * The temporary name: "veth" and 8 hex digits, as the reference's random ones, but derived from
 * the attachment, so that DEL finds a link an ADD killed between creation and rename left.
 */
static char *tmp_name(const struct cni_ctx *ctx, char buf[NU_IFNAMSIZ])
{
	char h[9];

	cni_sha512_hex(h, 8, ctx->env.container_id ? ctx->env.container_id : "", ":",
		       ctx->env.ifname ? ctx->env.ifname : "", NULL);
	snprintf(buf, NU_IFNAMSIZ, "veth%s", h);
	return buf;
}

/* Delete the temporary link of this attachment if an ipvlan of that name is there. */
static int del_tmp(const struct cni_ctx *ctx, struct nu_nl *cont, struct cni_err *e)
{
	char tmp[NU_IFNAMSIZ];
	uint16_t mode, fl;
	int r = nu_ipvlan_get(cont, tmp_name(ctx, tmp), &mode, &fl, NULL);

	if (r == -ENODEV || r == -EMEDIUMTYPE)
		return 0; /* none, or not ours */
	return r < 0 ? r : nu_link_del(cont, tmp, e);
}

/* Create under the temporary name in the container netns, then rename to @ifname there. */
static int create_link(struct cni_ctx *ctx, struct nu_nl *mnl, struct nu_nl *cont, int netns_fd,
		       const struct nu_link_info *master, struct cni_err *e)
{
	const struct ipvlan_conf *c = ctx->conf;
	char tmp[NU_IFNAMSIZ];
	int r, ifindex;

	tmp_name(ctx, tmp);
	for (int attempt = 0;; attempt++) {
		r = nu_ipvlan_create(mnl, tmp, master->ifindex, c->mode_val, c->flags_val,
				     (unsigned int)c->mtu, c->link_in_container ? -1 : netns_fd, e);
		if (r != -EEXIST || attempt)
			break;
		/* left by a killed ADD of this attachment: ours to remove */
		cni_err_clear(e);
		r = del_tmp(ctx, cont, e);
		if (r < 0)
			break;
	}
	if (r < 0)
		return cni_wrap(e, r, "failed to create ipvlan");
	ifindex = nu_link_index(cont, tmp);
	if (ifindex < 0)
		return cni_fail(e, ifindex, 0, "ipvlan \"%s\" not found after creation", tmp);
	r = nu_link_rename(cont, ifindex, ctx->env.ifname, e);
	if (r < 0) {
		nu_link_del_index(cont, ifindex, NULL);
		return cni_wrap(e, r, "failed to rename ipvlan to \"%s\"", ctx->env.ifname);
	}
	return ifindex;
}

/* Addresses and routes into @res (interface 0): IPAM's, or prevResult's when chained. */
static int collect_ips(struct cni_ctx *ctx, struct cni_result *res, struct cni_err *e)
{
	const struct cni_result *src = ctx->net.prev;
	struct cni_result *ipam = NULL;
	int r;

	if (ctx->net.ipam_type) {
		r = cni_ipam_add(ctx, &ipam, e);
		if (r < 0)
			return r;
		if (!ipam->n_ips)
			return cni_fail(e, -EINVAL, 0, "IPAM plugin returned missing IP config");
		src = ipam;
	}
	if (!src)
		return 0;
	for (size_t i = 0; i < src->n_ips; i++)
		cni_result_add_ip(res, &src->ips[i].address, &src->ips[i].gateway, 0);
	for (size_t i = 0; i < src->n_routes; i++)
		*cni_result_add_route(res, &src->routes[i].dst, NULL) = src->routes[i];
	return 0;
}

static int ipvlan_add(struct cni_ctx *ctx, struct cni_result *res, struct cni_err *e)
{
	const struct ipvlan_conf *c = ctx->conf;
	_nu_nl_cleanup_ struct nu_nl *host = NULL, *cont = NULL;
	_nu_fd_cleanup_ int netns_fd = -1;
	struct nu_link_info master, li;
	char mac[3 * 32], key[96];
	int r, ifindex;

	r = nu_netns_open(ctx->env.netns, &netns_fd, e);
	if (r < 0)
		return cni_wrap(e, r, "failed to open netns \"%s\"", ctx->env.netns);
	r = nu_nl_open(&cont, netns_fd, e);
	if (r < 0)
		return r;
	if (!c->link_in_container) {
		r = nu_nl_open(&host, -1, e);
		if (r < 0)
			return r;
	}
	r = find_master(ctx, c->link_in_container ? cont : host, &master, e);
	if (r < 0)
		return r;
	if ((unsigned int)c->mtu > master.mtu)
		return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG,
				"invalid MTU %d, must be [0, master MTU(%u)]", c->mtu, master.mtu);

	r = create_link(ctx, c->link_in_container ? cont : host, cont, netns_fd, &master, e);
	if (r < 0)
		return r;
	ifindex = r;
	r = nu_link_get(cont, NULL, ifindex, &li, e);
	if (r < 0)
		goto del_link;
	cni_result_add_iface(res, ctx->env.ifname, nu_mac_str(li.mac, li.mac_len, mac),
			     ctx->env.netns);

	r = collect_ips(ctx, res, e);
	if (r < 0)
		goto del_link;
	if (res->n_ips) {
		/* The shared MAC moves between hosts' views: announce the addresses on link up. */
		snprintf(key, sizeof(key), "net/ipv4/conf/%s/arp_notify", ctx->env.ifname);
		nu_sysctl_set(netns_fd, key, "1", NULL);
		snprintf(key, sizeof(key), "net/ipv6/conf/%s/ndisc_notify", ctx->env.ifname);
		nu_sysctl_set(netns_fd, key, "1", NULL);
		r = nu_iface_configure(cont, netns_fd, ctx->env.ifname, res, e);
	} else {
		r = nu_link_set_up(cont, ifindex, e);
		if (r < 0)
			cni_wrap(e, r, "failed to set \"%s\" UP", ctx->env.ifname);
	}
	if (r < 0)
		goto del_link;
	/* The reference reports the plugin's own "dns" and drops IPAM's and prevResult's. */
	res->dns = ctx->net.dns;
	return 0;

del_link:
	nu_link_del_index(cont, ifindex, NULL);
	return r;
}

/* ---- DEL, CHECK, STATUS, GC ------------------------------------------------------------------ */

static void keep_first(int r, struct cni_err *one, int *first, struct cni_err *e)
{
	if (r < 0 && !*first) {
		*first = r;
		*e = *one;
	}
	cni_err_clear(one);
}

/* IPAM first (it needs nothing of the kernel), then the link; both always run. */
static int ipvlan_del(struct cni_ctx *ctx, struct cni_err *e)
{
	struct cni_err one = {0};
	int r, first = 0;

	if (ctx->net.ipam_type)
		keep_first(cni_ipam_del(ctx, &one), &one, &first, e);
	if (ctx->env.netns && *ctx->env.netns) {
		_nu_fd_cleanup_ int netns_fd = -1;
		_nu_nl_cleanup_ struct nu_nl *cont = NULL;

		r = nu_netns_open(ctx->env.netns, &netns_fd, &one);
		if (r == -ENOENT)
			r = 0; /* the netns is gone, and the ipvlan with it */
		else if (r == 0 && (r = nu_nl_open(&cont, netns_fd, &one)) == 0 &&
			 (r = nu_link_del(cont, ctx->env.ifname, &one)) == 0) /* absent: 0 */
			r = del_tmp(ctx, cont, &one);
		if (r < 0)
			cni_wrap(&one, r, "failed to delete container interface %s", ctx->env.ifname);
		keep_first(r, &one, &first, e);
	}
	return first;
}

static int ipvlan_check(struct cni_ctx *ctx, struct cni_err *e)
{
	const struct ipvlan_conf *c = ctx->conf;
	const struct cni_result *prev = ctx->net.prev;
	_nu_nl_cleanup_ struct nu_nl *host = NULL, *cont = NULL;
	_nu_fd_cleanup_ int netns_fd = -1;
	const struct cni_iface *cont_if = NULL;
	struct nu_link_info cl;
	char mac[3 * 32];
	uint16_t mode, fl;
	int r;

	if (ctx->net.ipam_type) {
		r = cni_ipam_check(ctx, e);
		if (r < 0)
			return r;
	}
	if (!prev)
		return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG, "Required prevResult missing");
	for (size_t i = 0; i < prev->n_ifaces && !cont_if; i++)
		if (prev->ifaces[i].name && !strcmp(prev->ifaces[i].name, ctx->env.ifname) &&
		    prev->ifaces[i].sandbox && !strcmp(prev->ifaces[i].sandbox, ctx->env.netns))
			cont_if = &prev->ifaces[i];
	if (!cont_if)
		return cni_fail(e, -ENOENT, 0,
				"Sandbox in prevResult doesn't match configured netns: %s",
				ctx->env.netns);

	r = nu_netns_open(ctx->env.netns, &netns_fd, e);
	if (r < 0)
		return cni_wrap(e, r, "failed to open netns \"%s\"", ctx->env.netns);
	r = nu_nl_open(&cont, netns_fd, e);
	if (r < 0)
		return r;
	r = nu_link_get(cont, ctx->env.ifname, 0, &cl, e);
	if (r < 0)
		return cni_wrap(e, r, "Container Interface name in prevResult: %s not found",
				ctx->env.ifname);
	r = nu_ipvlan_get(cont, ctx->env.ifname, &mode, &fl, e);
	if (r == -EMEDIUMTYPE)
		return cni_fail(e, r, 0, "Container interface %s not of type ipvlan",
				ctx->env.ifname);
	if (r < 0)
		return r;
	if (mode != c->mode_val)
		return cni_fail(e, -EINVAL, 0,
				"Container IPVlan mode %s does not match expected value: %s",
				val_name(modes, N(modes), mode), val_name(modes, N(modes), c->mode_val));
	if (fl != c->flags_val)
		return cni_fail(e, -EINVAL, 0,
				"Container IPVlan flag %s does not match expected value: %s",
				val_name(flags, N(flags), fl), val_name(flags, N(flags), c->flags_val));
	/*
	 * The master is known when configured, or when it was the default route's interface. A
	 * chained ADD took it from a prevResult that has since become ours: not checkable.
	 */
	if ((c->master && *c->master) || !chained(ctx)) {
		struct cni_ctx nctx = *ctx;
		struct nu_link_info master;

		nctx.net.prev = NULL; /* prevResult is the ipvlan's own now, not the chain's */
		if (!c->link_in_container) {
			r = nu_nl_open(&host, -1, e);
			if (r < 0)
				return r;
		}
		r = find_master(&nctx, c->link_in_container ? cont : host, &master, e);
		if (r < 0)
			return r;
		if (cl.link != master.ifindex)
			return cni_fail(e, -EINVAL, 0,
					"Container interface %s is not on master \"%s\"",
					ctx->env.ifname, master.name);
	}
	if (cont_if->mac && *cont_if->mac &&
	    strcasecmp(cont_if->mac, nu_mac_str(cl.mac, cl.mac_len, mac)))
		return cni_fail(e, -EINVAL, 0, "Interface %s Mac %s doesn't match container Mac: %s",
				ctx->env.ifname, cont_if->mac, mac);
	r = nu_iface_check_ips(cont, ctx->env.ifname, prev, e);
	if (r < 0)
		return r;
	return nu_iface_check_routes(cont, prev, e);
}

/*
 * Ready when IPAM is and, for a configured master in the host netns, when the master exists (an
 * ADD would fail without it; the reference only asks IPAM). An unset master may come from a
 * prevResult at ADD time, which STATUS does not have: not judged.
 */
static int ipvlan_status(struct cni_ctx *ctx, struct cni_err *e)
{
	const struct ipvlan_conf *c = ctx->conf;

	if (!c->link_in_container && c->master && *c->master) {
		_nu_nl_cleanup_ struct nu_nl *host = NULL;
		struct cni_ctx nctx = *ctx;
		struct nu_link_info m;
		char msg[sizeof(e->msg)];
		int r = nu_nl_open(&host, -1, e);

		if (r < 0)
			return r;
		nctx.net.prev = NULL;
		r = find_master(&nctx, host, &m, e);
		if (r < 0) {
			memcpy(msg, e->msg, sizeof(msg));
			return cni_fail(e, r, CNI_ERR_NOT_AVAILABLE, "%s", msg);
		}
	}
	return ctx->net.ipam_type ? cni_ipam_status(ctx, e) : 0;
}

static int ipvlan_gc(struct cni_ctx *ctx, struct cni_err *e)
{
	return ctx->net.ipam_type ? cni_ipam_gc(ctx, e) : 0;
}

static const struct cni_plugin ipvlan = {
	.name = "ipvlan",
	.fields = fields,
	.conf_size = sizeof(struct ipvlan_conf),
	.conf_validate = ipvlan_validate,
	.add = ipvlan_add,
	.del = ipvlan_del,
	.check = ipvlan_check,
	.status = ipvlan_status,
	.gc = ipvlan_gc,
};

int main(int argc, char **argv)
{
	return cni_main(&ipvlan, argc, argv);
}
