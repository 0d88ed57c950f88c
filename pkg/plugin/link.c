// SPDX-License-Identifier: Apache-2.0
/*
 * The link-kind plugin skeleton (link.h): the verbs of macvlan, ipvlan, vlan, tap and dummy over
 * the plugin's struct pl_link_ops (ctx->plugin->ops). Creates only the container link (through
 * nu_tmplink_on_master() or ops->create) and what nu_iface_setup() puts on it; owns nothing on
 * the host.
 */
#include <errno.h>
#include <net/if.h>
#include <string.h>

#include "netutil/iface.h"
#include "netutil/link_extra.h"
#include "plugin/link.h"

/* The master's name into *@name: 0, 1 when it cannot be known for this command, or -errno. */
static int master_name(const struct pl_link_ops *o, const struct cni_ctx *ctx, const char **name,
		       struct cni_err *e)
{
	const struct pl_link_conf *c = ctx->conf;

	*name = c->master;
	return o->master ? o->master(ctx, name, e) : 0;
}

/* The master @name, in the container netns (@cont) or the host's (opened into *@host). */
static int find_master(const struct cni_ctx *ctx, struct nu_nl *cont, struct nu_nl **host,
		       const char *name, struct nu_link_info *m, struct cni_err *e)
{
	const struct pl_link_conf *c = ctx->conf;

	if (!c->link_in_container) {
		int r = nu_nl_open(host, -1, e);

		if (r < 0)
			return r;
	}
	return nu_master_find(c->link_in_container ? cont : *host, name, m, e);
}

static int create_on_master(const struct pl_link_ops *o, struct cni_ctx *ctx, struct nu_nl *cont,
			    int netns_fd, struct cni_err *e)
{
	const struct pl_link_conf *c = ctx->conf;
	struct nu_tmplink_req req = {
	    .cid = ctx->env.container_id,
	    .ifname = ctx->env.ifname,
	    .mtu = (unsigned int)c->mtu,
	    .flags = c->link_in_container ? NU_TMPLINK_MASTER_IN_CONTAINER : 0,
	    .conf = c,
	};
	int r = master_name(o, ctx, &req.master, e);

	if (r < 0)
		return r;
	return nu_tmplink_on_master(cont, netns_fd, &o->link, &req, e);
}

struct pl_link_master {
	int (*create)(const struct pl_link_ops *o, struct cni_ctx *ctx, struct nu_nl *cont,
		      int netns_fd, struct cni_err *e);
	int (*find)(const struct cni_ctx *ctx, struct nu_nl *cont, struct nu_nl **host,
		    const char *name, struct nu_link_info *m, struct cni_err *e);
	int (*ready)(const char *name, struct cni_err *e);
};

const struct pl_link_master pl_link_master = {create_on_master, find_master, nu_master_ready};

int pl_link_add(struct cni_ctx *ctx, struct cni_result *res, struct cni_err *e)
{
	const struct pl_link_ops *o = ctx->plugin->ops;
	_nu_nl_cleanup_ struct nu_nl *cont = NULL;
	_nu_fd_cleanup_ int netns_fd = -1;
	struct cni_result *ipam = NULL;
	struct nu_link_info li;
	char mac[3 * 32];
	int r, ifindex;

	r = nu_nl_open_netns(ctx->env.netns, &netns_fd, &cont, e);
	if (r < 0)
		return r;
	if (o->on_master)
		r = o->on_master->create(o, ctx, cont, netns_fd, e);
	else
		r = o->create(ctx, cont, netns_fd, e);
	if (r < 0)
		return r;
	ifindex = r; /* 0: the link is CNI_IFNAME, its index not yet known */
	r = nu_link_get(cont, ifindex ? NULL : ctx->env.ifname, ifindex, &li, e);
	if (r < 0)
		goto del_link;
	ifindex = li.ifindex;
	cni_result_add_iface(res, ctx->env.ifname, nu_mac_str(li.mac, li.mac_len, mac),
			     ctx->env.netns);

	/* Addresses and routes: IPAM's, or prevResult's when chained. */
	if (ctx->net.ipam_type) {
		r = cni_ipam_add_ips(ctx, res, 0, &ipam, e);
		if (r < 0)
			goto del_link;
	} else if ((o->flags & PL_LINK_CHAINED_IPS) && ctx->net.prev) {
		cni_result_add_ips(res, ctx->net.prev, 0);
	}
	r = nu_iface_setup(cont, netns_fd, ctx->env.ifname, ifindex, res, o->notify, e);
	if (r < 0)
		goto del_link;
	/* The reference reports the plugin's own "dns" and drops IPAM's (dummy keeps IPAM's). */
	res->dns = (o->flags & PL_LINK_IPAM_DNS) && ipam ? ipam->dns : ctx->net.dns;
	return 0;

del_link:
	nu_link_del_index(cont, ifindex ? ifindex : nu_link_index(cont, ctx->env.ifname), NULL);
	return r;
}

/* IPAM first (it needs nothing of the kernel), then the link; both always run. */
int pl_link_del(struct cni_ctx *ctx, struct cni_err *e)
{
	const struct pl_link_ops *o = ctx->plugin->ops;
	struct cni_err one = {0};
	int r, first = 0;

	if (ctx->net.ipam_type)
		cni_err_keep_first(cni_ipam_del(ctx, &one), &one, &first, e);
	if (ctx->env.netns && *ctx->env.netns) {
		r = nu_tmplink_remove(ctx->env.netns, &o->link, ctx->env.container_id,
				      ctx->env.ifname, o->del_flags, &one);
		cni_err_keep_first(r, &one, &first, e);
	}
	return first;
}

int pl_link_check(struct cni_ctx *ctx, struct cni_err *e)
{
	const struct pl_link_ops *o = ctx->plugin->ops;
	const struct cni_result *prev = ctx->net.prev;
	const char *ifname = ctx->env.ifname, *master = NULL;
	_nu_nl_cleanup_ struct nu_nl *host = NULL, *cont = NULL;
	_nu_fd_cleanup_ int netns_fd = -1;
	const struct cni_iface *cont_if = NULL;
	struct nu_link_info cl, m;
	bool known = false, first = o->flags & PL_LINK_CHECK_MASTER_FIRST;
	int r;

	if (ctx->net.ipam_type) {
		r = cni_ipam_check(ctx, e);
		if (r < 0)
			return r;
	}
	r = cni_prev_iface(ctx, &cont_if, e);
	if (r < 0)
		return r;
	r = nu_nl_open_netns(ctx->env.netns, &netns_fd, &cont, e);
	if (r < 0)
		return r;
	if (o->on_master) {
		r = master_name(o, ctx, &master, e);
		if (r < 0)
			return r;
		known = r == 0;
	}
	if (known && first) {
		r = o->on_master->find(ctx, cont, &host, master, &m, e);
		if (r < 0)
			return r;
	}
	r = nu_link_get(cont, ifname, 0, &cl, e);
	if (r < 0)
		return cni_wrap(e, r, "Container Interface name in prevResult: %s not found", ifname);
	if (strcmp(cl.kind, o->link.kind))
		return cni_fail(e, -EMEDIUMTYPE, 0, "Container interface %s not of type %s", ifname,
				o->link.what ? o->link.what : o->link.kind);
	if (o->check) {
		r = o->check(ctx, cont, &cl, e);
		if (r < 0)
			return r;
	}
	if (known && !first) {
		r = o->on_master->find(ctx, cont, &host, master, &m, e);
		if (r < 0)
			return r;
	}
	if (known && cl.link != m.ifindex)
		return cni_fail(e, -EINVAL, 0, "Container interface %s is not on master \"%s\"",
				ifname, m.name);
	if (o->flags & PL_LINK_CHECK_OUR_MAC)
		r = nu_iface_check_mac(cont_if->mac, &cl, ifname, e);
	else
		r = nu_iface_check_mac_ref(cont_if->mac, &cl, ifname, e);
	if (r < 0)
		return r;
	if ((o->flags & PL_LINK_CHECK_UP) && !(cl.flags & IFF_UP))
		return cni_fail(e, -EINVAL, 0, "Interface %s is down", ifname);
	r = nu_iface_check_ips(cont, ifname, prev, e);
	if (r < 0 || (o->flags & PL_LINK_CHECK_NO_ROUTES))
		return r;
	return nu_iface_check_routes(cont, prev, e);
}

/*
 * Ready, for a master in the host netns, when the master exists (an ADD would fail without it;
 * the reference only asks IPAM), and when ops->status says so. A master inside containers cannot
 * be judged without a netns. IPAM is asked after, by the dispatcher (CNI_PLUGIN_IPAM_STATUS).
 */
int pl_link_status(struct cni_ctx *ctx, struct cni_err *e)
{
	const struct pl_link_ops *o = ctx->plugin->ops;
	const struct pl_link_conf *c = ctx->conf;
	const char *master;
	int r;

	if (o->on_master && !c->link_in_container) {
		r = master_name(o, ctx, &master, e);
		if (r == 0)
			r = o->on_master->ready(master, e);
		if (r < 0)
			return r;
	}
	return o->status ? o->status(ctx, e) : 0;
}
