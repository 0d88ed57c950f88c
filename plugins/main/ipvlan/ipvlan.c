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
#include "netutil/iface.h"
#include "netutil/ipvlan.h"
#include "netutil/link_extra.h"
#include "netutil/netutil.h"
#include "netutil/tmplink.h"

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
 * The master's name for ADD, into *@name: configured; else the single named interface of
 * prevResult when there is one (chained); else NULL, the default route's interface.
 */
static int master_name(const struct cni_ctx *ctx, const char **name, struct cni_err *e)
{
	const struct ipvlan_conf *c = ctx->conf;
	const struct cni_result *prev = ctx->net.prev;

	*name = c->master && *c->master ? c->master : NULL;
	if (!*name && prev) {
		if (prev->n_ifaces != 1 || !prev->ifaces[0].name || !*prev->ifaces[0].name)
			return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG,
					"chained master failure. PrevResult lacks a single named "
					"interface");
		*name = prev->ifaces[0].name;
	}
	return 0;
}

/* ---- ADD ------------------------------------------------------------------------------------- */

static int create(const struct nu_tmplink_at *at, const struct nu_link_spec *link,
		  struct cni_err *e)
{
	const struct ipvlan_conf *c = at->conf;

	return nu_ipvlan_create(at->nl, &(struct nu_ipvlan_spec){*link, c->mode_val, c->flags_val},
				e);
}

/*
 * The temporary name: "veth" and 8 hex digits, as the reference's random ones, but derived from
 * the attachment, so that DEL finds a link an ADD killed between creation and rename left.
 */
static const struct nu_tmplink ipvlan_link = {
	.kind = "ipvlan",
	.prefix = "veth",
	.hash = NU_TMPNAME_SHA512,
	.create = create,
};

static int ipvlan_add(struct cni_ctx *ctx, struct cni_result *res, struct cni_err *e)
{
	const struct ipvlan_conf *c = ctx->conf;
	_nu_nl_cleanup_ struct nu_nl *cont = NULL;
	_nu_fd_cleanup_ int netns_fd = -1;
	const char *master;
	struct nu_link_info li;
	char mac[3 * 32];
	int r, ifindex;

	r = nu_nl_open_netns(ctx->env.netns, &netns_fd, &cont, e);
	if (r < 0)
		return r;
	r = master_name(ctx, &master, e);
	if (r < 0)
		return r;
	r = nu_tmplink_on_master(
	    cont, netns_fd, &ipvlan_link,
	    &(struct nu_tmplink_req){.cid = ctx->env.container_id,
				     .ifname = ctx->env.ifname,
				     .master = master,
				     .mtu = (unsigned int)c->mtu,
				     .flags = c->link_in_container ? NU_TMPLINK_MASTER_IN_CONTAINER : 0,
				     .conf = c},
	    e);
	if (r < 0)
		return r;
	ifindex = r;
	r = nu_link_get(cont, NULL, ifindex, &li, e);
	if (r < 0)
		goto del_link;
	cni_result_add_iface(res, ctx->env.ifname, nu_mac_str(li.mac, li.mac_len, mac),
			     ctx->env.netns);

	/* Addresses and routes: IPAM's, or prevResult's when chained. */
	if (ctx->net.ipam_type) {
		r = cni_ipam_add_ips(ctx, res, 0, NULL, e);
		if (r < 0)
			goto del_link;
	} else if (ctx->net.prev) {
		cni_result_add_ips(res, ctx->net.prev, 0);
	}
	/* The shared MAC moves between hosts' views: announce the addresses on link up. */
	r = nu_iface_setup(cont, netns_fd, ctx->env.ifname, ifindex, res,
			   NU_NOTIFY_ARP | NU_NOTIFY_NDISC, e);
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

/* IPAM first (it needs nothing of the kernel), then the link; both always run. */
static int ipvlan_del(struct cni_ctx *ctx, struct cni_err *e)
{
	struct cni_err one = {0};
	int r, first = 0;

	if (ctx->net.ipam_type)
		cni_err_keep_first(cni_ipam_del(ctx, &one), &one, &first, e);
	if (ctx->env.netns && *ctx->env.netns) {
		r = nu_tmplink_remove(ctx->env.netns, &ipvlan_link, ctx->env.container_id,
				      ctx->env.ifname, 0, &one);
		cni_err_keep_first(r, &one, &first, e);
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
	uint16_t mode, fl;
	int r;

	if (ctx->net.ipam_type) {
		r = cni_ipam_check(ctx, e);
		if (r < 0)
			return r;
	}
	r = cni_prev_iface(ctx, &cont_if, e);
	if (r < 0)
		return r;

	r = nu_iface_check_open(ctx->env.netns, ctx->env.ifname, &netns_fd, &cont, &cl, e);
	if (r < 0)
		return r;
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
		struct nu_link_info master;

		/* not master_name(): prevResult is the ipvlan's own now, not the chain's */
		if (!c->link_in_container) {
			r = nu_nl_open(&host, -1, e);
			if (r < 0)
				return r;
		}
		r = nu_master_find(c->link_in_container ? cont : host, c->master, &master, e);
		if (r < 0)
			return r;
		if (cl.link != master.ifindex)
			return cni_fail(e, -EINVAL, 0,
					"Container interface %s is not on master \"%s\"",
					ctx->env.ifname, master.name);
	}
	r = nu_iface_check_mac_ref(cont_if->mac, &cl, ctx->env.ifname, e);
	if (r < 0)
		return r;
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
		int r = nu_master_ready(c->master, e);

		if (r < 0)
			return r;
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
