// SPDX-License-Identifier: Apache-2.0
/*
 * vrf: a chained plugin that puts the container interface CNI_IFNAME into a VRF inside the
 * container netns, as the reference plugin does (spec 0.3.1 and later: it needs prevResult).
 * ADD finds the VRF "vrfname" or creates it (with "table", or the lowest table no VRF in the netns
 * uses) and sets it up; an existing VRF with another table than a configured one is an error.
 * The interface is enslaved (one that already has a master is refused) and its routes move to the
 * VRF's table (nu_vrf_enslave()). The result is prevResult unchanged: the VRF device is not an
 * interface of the attachment. A failed ADD removes a VRF it created when no member is left.
 * DEL is idempotent: a missing netns, VRF or interface is success; the interface leaves the VRF,
 * and the VRF is deleted with its last member. CHECK: the VRF exists (with the configured table)
 * and the interface is its member. No host state: STATUS and GC have nothing to do.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "cni/cni.h"
#include "netutil/netutil.h"
#include "netutil/kind/vrf.h"

struct vrf_conf {
	char *vrfname;
	long long table;
};

#define F(k, t, m, ...) CNI_FIELD(k, struct vrf_conf, t, m, __VA_ARGS__)
static const struct cni_field fields[] = {
	F("vrfname", CNI_F_STR, vrfname,
	  .help = "the VRF device in the container's netns, created if missing (required)"),
	F("table", CNI_F_I64, table, .min = 0, .max = UINT32_MAX,
	  .help = "routing table of a new VRF (default: the lowest no VRF uses)"),
	CNI_FIELD_END,
};

static int vrf_validate(struct cni_ctx *ctx, void *conf, struct cni_err *e)
{
	struct vrf_conf *c = conf;

	if (ctx->env.cmd == CNI_CMD_STATUS || ctx->env.cmd == CNI_CMD_GC)
		return 0;
	if (!c->vrfname || !*c->vrfname)
		return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG,
				"configuration is expected to have a valid vrf name");
	if (!nu_ifname_valid(c->vrfname))
		return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG,
				"invalid \"vrfname\" \"%s\": not an interface name", c->vrfname);
	return 0;
}

/* A socket in the container's netns; either failure as "failed to open netns "PATH"". */
static int open_netns(struct cni_ctx *ctx, struct nu_nl **nl, struct cni_err *e)
{
	_nu_fd_cleanup_ int netns_fd = -1;
	int r = nu_netns_open(ctx->env.netns, &netns_fd, e);

	if (r == 0)
		r = nu_nl_open(nl, netns_fd, e);
	if (r < 0)
		return cni_wrap(e, r, "failed to open netns \"%s\"", ctx->env.netns);
	return 0;
}

/* ADD and CHECK: prevResult, then open_netns(). */
static int open_chained(struct cni_ctx *ctx, struct nu_nl **nl, struct cni_err *e)
{
	if (!ctx->net.prev)
		return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG,
				"missing prevResult from earlier plugin");
	return open_netns(ctx, nl, e);
}

static int vrf_add(struct cni_ctx *ctx, struct cni_result *res, struct cni_err *e)
{
	const struct vrf_conf *c = ctx->conf;
	_nu_nl_cleanup_ struct nu_nl *nl = NULL;
	struct nu_link_info li, vl;
	bool created = false;
	uint32_t table;
	unsigned int members;
	int r, vrf;

	r = open_chained(ctx, &nl, e);
	if (r < 0)
		return r;
	r = nu_link_get(nl, ctx->env.ifname, 0, &li, e);
	if (r < 0)
		return cni_wrap(e, r, "failed to find interface \"%s\"", ctx->env.ifname);
	r = nu_vrf_get(nl, c->vrfname, &vrf, &table, e);
	if (r == 0 && c->table && table != (uint32_t)c->table)
		return cni_fail(e, -EEXIST, 0,
				"VRF %s already exist with different routing table %u", c->vrfname,
				table);
	if (r == -ENODEV) {
		cni_err_clear(e);
		table = (uint32_t)c->table;
		r = table ? 0 : nu_vrf_scan(nl, 0, NULL, &table, e);
		if (r == 0)
			r = nu_vrf_create(nl, c->vrfname, table, e);
		if (r == 0) {
			created = true;
			r = vrf = nu_link_index(nl, c->vrfname);
			if (r > 0)
				r = nu_link_set_up(nl, vrf, e);
		}
	}
	if (r < 0)
		return cni_wrap(e, r, "failed to set up VRF \"%s\"", c->vrfname);
	if (li.master) {
		char m[NU_IFNAMSIZ + 16];

		if (nu_link_get(nl, NULL, li.master, &vl, NULL) == 0)
			snprintf(m, sizeof(m), "%s", vl.name);
		else
			snprintf(m, sizeof(m), "#%d", li.master);
		r = cni_fail(e, -EBUSY, 0, "interface %s has already a master set: %s",
			     ctx->env.ifname, m);
		goto del_vrf;
	}
	r = nu_vrf_enslave(nl, li.ifindex, vrf, table, e);
	if (r < 0) {
		cni_wrap(e, r, "failed to add interface %s to VRF %s", ctx->env.ifname, c->vrfname);
		goto del_vrf;
	}
	*res = *ctx->net.prev;
	return 0;

del_vrf:
	if (created && nu_vrf_scan(nl, vrf, &members, NULL, NULL) == 0 && !members)
		nu_link_del_index(nl, vrf, NULL);
	return r;
}

static int vrf_del(struct cni_ctx *ctx, struct cni_err *e)
{
	const struct vrf_conf *c = ctx->conf;
	_nu_nl_cleanup_ struct nu_nl *nl = NULL;
	struct nu_link_info li;
	unsigned int members;
	uint32_t table;
	int r, vrf;

	if (!ctx->env.netns || !*ctx->env.netns)
		return 0;
	r = open_netns(ctx, &nl, e);
	if (r == -ENOENT) {
		cni_err_clear(e);
		return 0; /* the netns is gone, and the VRF with it */
	}
	if (r < 0)
		return r;
	r = nu_vrf_get(nl, c->vrfname, &vrf, &table, e);
	if (r == -ENODEV || r == -EMEDIUMTYPE) {
		cni_err_clear(e);
		return 0; /* no VRF of ours */
	}
	if (r < 0)
		return r;
	r = nu_link_get(nl, ctx->env.ifname, 0, &li, e);
	if (r == 0 && li.master == vrf)
		r = nu_link_set_master(nl, li.ifindex, 0, e);
	else if (r == -ENODEV)
		cni_err_clear(e), r = 0;
	if (r < 0)
		return cni_wrap(e, r, "failed to remove interface %s from VRF %s", ctx->env.ifname,
				c->vrfname);
	r = nu_vrf_scan(nl, vrf, &members, NULL, e);
	if (r == 0 && !members)
		r = nu_link_del_index(nl, vrf, e);
	if (r < 0)
		return cni_wrap(e, r, "failed to delete VRF %s", c->vrfname);
	return 0;
}

static int vrf_check(struct cni_ctx *ctx, struct cni_err *e)
{
	const struct vrf_conf *c = ctx->conf;
	_nu_nl_cleanup_ struct nu_nl *nl = NULL;
	struct nu_link_info li;
	uint32_t table;
	int r, vrf;

	r = open_chained(ctx, &nl, e);
	if (r < 0)
		return r;
	r = nu_vrf_get(nl, c->vrfname, &vrf, &table, e);
	if (r < 0)
		return cni_wrap(e, r, "failed to find VRF %s", c->vrfname);
	if (c->table && table != (uint32_t)c->table)
		return cni_fail(e, -EINVAL, 0, "VRF %s has routing table %u, expected %lld",
				c->vrfname, table, c->table);
	r = nu_link_get(nl, ctx->env.ifname, 0, &li, e);
	if (r < 0)
		return cni_wrap(e, r, "failed to find interface %s", ctx->env.ifname);
	if (li.master != vrf)
		return cni_fail(e, -EINVAL, 0, "interface %s is not a member of VRF %s",
				ctx->env.ifname, c->vrfname);
	return 0;
}

static int vrf_nothing(struct cni_ctx *ctx, struct cni_err *e)
{
	(void)ctx;
	(void)e;
	return 0;
}

const struct cni_plugin cni_main_plugin = {
	.name = "vrf",
	.min_version = CNI_V031,
	CNI_CONF(fields, struct vrf_conf),
	.conf_validate = vrf_validate,
	CNI_VERBS(vrf),
	.status = vrf_nothing,
	.gc = vrf_nothing,
};
