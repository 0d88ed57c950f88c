// SPDX-License-Identifier: Apache-2.0
/*
 * vlan: gives a container an 802.1Q VLAN interface on a host interface (the master), as the
 * reference plugin does, key for key (master, vlanId, mtu, linkInContainer, ipam, dns). ADD finds
 * the master (in the host netns or, with linkInContainer, in the container's), creates the VLAN
 * under a temporary name directly in the container netns (a name taken on the host cannot clash)
 * and renames it to CNI_IFNAME there; the temporary name is derived from the attachment, so a link
 * left by an ADD killed before the rename is found and removed by DEL or the next ADD. Addresses
 * come from IPAM; without IPAM the link is only set up (L2 only). A failed ADD deletes the link
 * (the reference leaves it behind when IPAM fails); the dispatcher releases IPAM.
 * DEL is idempotent and never needs the master (the reference's DEL loads the master first and
 * fails once it is gone, plugins#953): IPAM DEL when IPAM is configured, then the link (and a
 * temporary one) goes with the netns or by name. The kernel refuses a second VLAN with the same id
 * on one master: each container needs its own (master, vlanId). The plugin owns no host state,
 * so GC is IPAM's GC.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cni/cni.h"
#include "netutil/iface.h"
#include "netutil/link_extra.h"
#include "netutil/netutil.h"
#include "netutil/tmplink.h"
#include "netutil/vlan.h"

struct vlan_conf {
	char *master;
	int vlan_id;
	int mtu;
	bool link_in_container;
};

#define F(k, t, m, ...) CNI_FIELD(k, struct vlan_conf, t, m, __VA_ARGS__)
static const struct cni_field fields[] = {
	F("master", CNI_F_STR, master),
	F("vlanId", CNI_F_INT, vlan_id),
	F("mtu", CNI_F_INT, mtu),
	F("linkInContainer", CNI_F_BOOL, link_in_container),
	CNI_FIELD_END,
};

static int vlan_validate(struct cni_ctx *ctx, void *conf, struct cni_err *e)
{
	struct vlan_conf *c = conf;

	/* DEL needs none of these keys: a config that failed ADD must still be deletable. */
	if (ctx->env.cmd == CNI_CMD_DEL || ctx->env.cmd == CNI_CMD_GC)
		return 0;
	if (!c->master || !*c->master)
		return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG,
				"\"master\" field is required. It specifies the host interface "
				"name to create the VLAN for.");
	if (!nu_ifname_valid(c->master))
		return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG,
				"invalid \"master\" \"%s\": not an interface name", c->master);
	if (c->vlan_id < 0 || c->vlan_id > 4094)
		return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG,
				"invalid VLAN ID %d (must be between 0 and 4094 inclusive)",
				c->vlan_id);
	if (c->mtu < 0)
		return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG,
				"invalid MTU %d, must be [0, master MTU]", c->mtu);
	return 0;
}

/* ---- ADD ------------------------------------------------------------------------------------- */

/* -EEXIST also when the id is taken on the master. */
static int create(const struct nu_tmplink_at *at, const struct nu_link_spec *link,
		  struct cni_err *e)
{
	const struct vlan_conf *c = at->conf;

	return nu_vlan_create(at->nl, &(struct nu_vlan_spec){*link, (uint16_t)c->vlan_id, 0}, e);
}

/* "veth" and 8 hex digits derived from the attachment: DEL finds what a killed ADD left. */
static const struct nu_tmplink vlan_link = {
	.kind = "vlan",
	.prefix = "veth",
	.hash = NU_TMPNAME_SHA512,
	.create = create,
};

static int vlan_add(struct cni_ctx *ctx, struct cni_result *res, struct cni_err *e)
{
	const struct vlan_conf *c = ctx->conf;
	_nu_nl_cleanup_ struct nu_nl *cont = NULL;
	_nu_fd_cleanup_ int netns_fd = -1;
	struct nu_link_info li;
	char mac[3 * 32];
	int r, ifindex;

	r = nu_nl_open_netns(ctx->env.netns, &netns_fd, &cont, e);
	if (r < 0)
		return r;
	r = nu_tmplink_on_master(
	    cont, netns_fd, &vlan_link,
	    &(struct nu_tmplink_req){.cid = ctx->env.container_id,
				     .ifname = ctx->env.ifname,
				     .master = c->master,
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
	if (ctx->net.ipam_type) {
		r = cni_ipam_add_ips(ctx, res, 0, NULL, e);
		if (r < 0)
			goto del_link;
	}
	r = nu_iface_setup(cont, netns_fd, ctx->env.ifname, ifindex, res, 0, e);
	if (r < 0)
		goto del_link;
	/* The reference reports the plugin's own "dns" and drops IPAM's. */
	res->dns = ctx->net.dns;
	return 0;

del_link:
	nu_link_del_index(cont, ifindex, NULL);
	return r;
}

/* ---- DEL, CHECK, STATUS, GC ------------------------------------------------------------------ */

/* IPAM first (it needs nothing of the kernel), then the link; both always run. */
static int vlan_del(struct cni_ctx *ctx, struct cni_err *e)
{
	struct cni_err one = {0};
	int r, first = 0;

	if (ctx->net.ipam_type)
		cni_err_keep_first(cni_ipam_del(ctx, &one), &one, &first, e);
	if (ctx->env.netns && *ctx->env.netns) {
		r = nu_tmplink_remove(ctx->env.netns, &vlan_link, ctx->env.container_id,
				      ctx->env.ifname, 0, &one);
		cni_err_keep_first(r, &one, &first, e);
	}
	return first;
}

static int vlan_check(struct cni_ctx *ctx, struct cni_err *e)
{
	const struct vlan_conf *c = ctx->conf;
	const struct cni_result *prev = ctx->net.prev;
	_nu_nl_cleanup_ struct nu_nl *host = NULL, *cont = NULL;
	_nu_fd_cleanup_ int netns_fd = -1;
	const struct cni_iface *cont_if = NULL;
	struct nu_link_info cl, master;
	uint16_t vid;
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
	r = nu_vlan_get(cont, ctx->env.ifname, &vid, NULL, e);
	if (r == -EMEDIUMTYPE)
		return cni_fail(e, r, 0, "Container interface %s not of type vlan",
				ctx->env.ifname);
	if (r < 0)
		return r;
	if (vid != c->vlan_id)
		return cni_fail(e, -EINVAL, 0, "Error: Container interface %s vlan id %u "
				"does not match expected value %d", ctx->env.ifname, vid, c->vlan_id);
	if (c->mtu && cl.mtu != (unsigned int)c->mtu)
		return cni_fail(e, -EINVAL, 0,
				"Error: Container interface %s MTU %u does not match expected value "
				"%d", ctx->env.ifname, cl.mtu, c->mtu);
	if (!c->link_in_container) {
		r = nu_nl_open(&host, -1, e);
		if (r < 0)
			return r;
	}
	r = nu_master_find(c->link_in_container ? cont : host, c->master, &master, e);
	if (r < 0)
		return r;
	if (cl.link != master.ifindex)
		return cni_fail(e, -EINVAL, 0, "Container interface %s is not on master \"%s\"",
				ctx->env.ifname, master.name);
	r = nu_iface_check_mac_ref(cont_if->mac, &cl, ctx->env.ifname, e);
	if (r < 0)
		return r;
	r = nu_iface_check_ips(cont, ctx->env.ifname, prev, e);
	if (r < 0)
		return r;
	return nu_iface_check_routes(cont, prev, e);
}

/* Ready when IPAM is and, for a master in the host netns, when the master exists. */
static int vlan_status(struct cni_ctx *ctx, struct cni_err *e)
{
	const struct vlan_conf *c = ctx->conf;

	if (!c->link_in_container) {
		int r = nu_master_ready(c->master, e);

		if (r < 0)
			return r;
	}
	return ctx->net.ipam_type ? cni_ipam_status(ctx, e) : 0;
}

static int vlan_gc(struct cni_ctx *ctx, struct cni_err *e)
{
	return ctx->net.ipam_type ? cni_ipam_gc(ctx, e) : 0;
}

static const struct cni_plugin vlan = {
	.name = "vlan",
	.fields = fields,
	.conf_size = sizeof(struct vlan_conf),
	.conf_validate = vlan_validate,
	.add = vlan_add,
	.del = vlan_del,
	.check = vlan_check,
	.status = vlan_status,
	.gc = vlan_gc,
	.inproc = (const struct cni_plugin *const[]){&cni_hostlocal_plugin, &cni_static_plugin, NULL},
};

int main(int argc, char **argv)
{
	return cni_main(&vlan, argc, argv);
}
