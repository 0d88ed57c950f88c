// SPDX-License-Identifier: Apache-2.0
/*
 * dummy: gives a container a dummy interface (a link that drops everything it is given) with
 * addresses from IPAM, as the reference plugin does. IPAM is required. ADD creates the dummy named
 * CNI_IFNAME directly in the container netns through a socket opened there (no temporary name:
 * nothing is created on the host, so a host link of the same name is no clash), applies the IPAM
 * result and reports IPAM's routes and DNS. A failed ADD deletes the link; the dispatcher releases
 * IPAM. DEL is idempotent: IPAM DEL, then the link goes with the netns or by name, and only when
 * it is a dummy (an interface of another kind under that name is not ours). The plugin owns no
 * host state, so GC is IPAM's GC and STATUS IPAM's STATUS.
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cni/cni.h"
#include "netutil/iface.h"
#include "netutil/netutil.h"
#include "netutil/vlan.h"

static int dummy_validate(struct cni_ctx *ctx, void *conf, struct cni_err *e)
{
	(void)conf;
	if (ctx->env.cmd == CNI_CMD_DEL || ctx->env.cmd == CNI_CMD_GC)
		return 0;
	if (!ctx->net.ipam_type)
		return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG,
				"dummy interface requires an IPAM configuration");
	return 0;
}

static int dummy_add(struct cni_ctx *ctx, struct cni_result *res, struct cni_err *e)
{
	_nu_nl_cleanup_ struct nu_nl *cont = NULL;
	_nu_fd_cleanup_ int netns_fd = -1;
	struct cni_result *ipam = NULL;
	struct nu_link_info li = {0};
	char mac[3 * 32];
	int r;

	r = nu_nl_open_netns(ctx->env.netns, &netns_fd, &cont, e);
	if (r < 0)
		return r;
	r = nu_dummy_create(cont, ctx->env.ifname, e);
	if (r < 0)
		return cni_wrap(e, r, "failed to create dummy interface");
	r = nu_link_get(cont, ctx->env.ifname, 0, &li, e);
	if (r < 0)
		goto del_link;
	cni_result_add_iface(res, ctx->env.ifname, nu_mac_str(li.mac, li.mac_len, mac),
			     ctx->env.netns);
	r = cni_ipam_add_ips(ctx, res, 0, &ipam, e);
	if (r < 0)
		goto del_link;
	res->dns = ipam->dns;
	r = nu_iface_configure(cont, netns_fd, ctx->env.ifname, res, e);
	if (r < 0)
		goto del_link;
	return 0;

del_link:
	nu_link_del_index(cont, li.ifindex ? li.ifindex : nu_link_index(cont, ctx->env.ifname),
			  NULL);
	return r;
}

static int dummy_del(struct cni_ctx *ctx, struct cni_err *e)
{
	struct cni_err one = {0};
	int r, first = 0;

	if (ctx->net.ipam_type)
		cni_err_keep_first(cni_ipam_del(ctx, &one), &one, &first, e);
	if (ctx->env.netns && *ctx->env.netns) {
		_nu_fd_cleanup_ int netns_fd = -1;
		_nu_nl_cleanup_ struct nu_nl *cont = NULL;
		struct nu_link_info li;

		r = nu_netns_open(ctx->env.netns, &netns_fd, &one);
		if (r == -ENOENT)
			r = 0; /* the netns is gone, and the dummy with it */
		else if (r == 0 && (r = nu_nl_open(&cont, netns_fd, &one)) == 0) {
			r = nu_link_get(cont, ctx->env.ifname, 0, &li, &one);
			if (r == -ENODEV)
				r = 0;
			else if (r == 0 && !strcmp(li.kind, "dummy"))
				r = nu_link_del_index(cont, li.ifindex, &one);
		}
		if (r < 0)
			cni_wrap(&one, r, "failed to delete container interface %s",
				 ctx->env.ifname);
		cni_err_keep_first(r, &one, &first, e);
	}
	return first;
}

static int dummy_check(struct cni_ctx *ctx, struct cni_err *e)
{
	const struct cni_result *prev = ctx->net.prev;
	_nu_nl_cleanup_ struct nu_nl *cont = NULL;
	_nu_fd_cleanup_ int netns_fd = -1;
	const struct cni_iface *cont_if = NULL;
	struct nu_link_info cl;
	int r;

	r = cni_ipam_check(ctx, e);
	if (r < 0)
		return r;
	r = cni_prev_iface(ctx, &cont_if, e);
	if (r < 0)
		return r;
	r = nu_iface_check_open(ctx->env.netns, ctx->env.ifname, &netns_fd, &cont, &cl, e);
	if (r < 0)
		return r;
	if (strcmp(cl.kind, "dummy"))
		return cni_fail(e, -EINVAL, 0, "Container interface %s not of type dummy",
				ctx->env.ifname);
	r = nu_iface_check_mac_ref(cont_if->mac, &cl, ctx->env.ifname, e);
	if (r < 0)
		return r;
	if (!(cl.flags & IFF_UP))
		return cni_fail(e, -EINVAL, 0, "Interface %s is down", ctx->env.ifname);
	return nu_iface_check_ips(cont, ctx->env.ifname, prev, e);
}

static int dummy_status(struct cni_ctx *ctx, struct cni_err *e)
{
	return ctx->net.ipam_type ? cni_ipam_status(ctx, e) : 0;
}

static int dummy_gc(struct cni_ctx *ctx, struct cni_err *e)
{
	return ctx->net.ipam_type ? cni_ipam_gc(ctx, e) : 0;
}

static const struct cni_plugin dummy = {
	.name = "dummy",
	.conf_validate = dummy_validate,
	.add = dummy_add,
	.del = dummy_del,
	.check = dummy_check,
	.status = dummy_status,
	.gc = dummy_gc,
	.inproc = (const struct cni_plugin *const[]){&cni_hostlocal_plugin, &cni_static_plugin, NULL},
};

int main(int argc, char **argv)
{
	return cni_main(&dummy, argc, argv);
}
