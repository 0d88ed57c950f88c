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
#include "cni/hash.h"
#include "netutil/iface.h"
#include "netutil/netutil.h"
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

static int find_master(const struct cni_ctx *ctx, struct nu_nl *nl, struct nu_link_info *m,
		       struct cni_err *e)
{
	const struct vlan_conf *c = ctx->conf;
	int r = nu_link_get(nl, c->master, 0, m, e);

	if (r < 0)
		return cni_wrap(e, r, "failed to lookup master \"%s\"", c->master);
	return 0;
}

/* ---- ADD ------------------------------------------------------------------------------------- */

/* "veth" and 8 hex digits derived from the attachment: DEL finds what a killed ADD left. */
static char *tmp_name(const struct cni_ctx *ctx, char buf[NU_IFNAMSIZ])
{
	char h[9];

	cni_sha512_hex(h, 8, ctx->env.container_id ? ctx->env.container_id : "", ":",
		       ctx->env.ifname ? ctx->env.ifname : "", NULL);
	snprintf(buf, NU_IFNAMSIZ, "veth%s", h);
	return buf;
}

/* Delete the temporary link of this attachment if a VLAN of that name is there. */
static int del_tmp(const struct cni_ctx *ctx, struct nu_nl *cont, struct cni_err *e)
{
	char tmp[NU_IFNAMSIZ];
	uint16_t vid;
	int r = nu_vlan_get(cont, tmp_name(ctx, tmp), &vid, NULL, NULL);

	if (r == -ENODEV || r == -EMEDIUMTYPE)
		return 0; /* none, or not ours */
	return r < 0 ? r : nu_link_del(cont, tmp, e);
}

static int create_link(struct cni_ctx *ctx, struct nu_nl *mnl, struct nu_nl *cont, int netns_fd,
		       const struct nu_link_info *master, struct cni_err *e)
{
	const struct vlan_conf *c = ctx->conf;
	char tmp[NU_IFNAMSIZ];
	int r, ifindex;

	tmp_name(ctx, tmp);
	for (int attempt = 0;; attempt++) {
		r = nu_vlan_create(mnl, tmp, master->ifindex, (uint16_t)c->vlan_id, 0,
				   (unsigned int)c->mtu, c->link_in_container ? -1 : netns_fd, e);
		if (r != -EEXIST || attempt)
			break;
		/* left by a killed ADD of this attachment (or the id is taken on the master) */
		cni_err_clear(e);
		r = del_tmp(ctx, cont, e);
		if (r < 0)
			break;
	}
	if (r < 0)
		return cni_wrap(e, r, "failed to create vlan");
	ifindex = nu_link_index(cont, tmp);
	if (ifindex < 0)
		return cni_fail(e, ifindex, 0, "vlan \"%s\" not found after creation", tmp);
	r = nu_link_rename(cont, ifindex, ctx->env.ifname, e);
	if (r < 0) {
		nu_link_del_index(cont, ifindex, NULL);
		return cni_wrap(e, r, "failed to rename vlan to \"%s\"", ctx->env.ifname);
	}
	return ifindex;
}

static int vlan_add(struct cni_ctx *ctx, struct cni_result *res, struct cni_err *e)
{
	const struct vlan_conf *c = ctx->conf;
	_nu_nl_cleanup_ struct nu_nl *host = NULL, *cont = NULL;
	_nu_fd_cleanup_ int netns_fd = -1;
	struct cni_result *ipam = NULL;
	struct nu_link_info master, li;
	char mac[3 * 32];
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
	if (ctx->net.ipam_type) {
		r = cni_ipam_add(ctx, &ipam, e);
		if (r < 0)
			goto del_link;
		if (!ipam->n_ips) {
			r = cni_fail(e, -EINVAL, 0, "IPAM plugin returned missing IP config");
			goto del_link;
		}
		for (size_t i = 0; i < ipam->n_ips; i++)
			cni_result_add_ip(res, &ipam->ips[i].address, &ipam->ips[i].gateway, 0);
		for (size_t i = 0; i < ipam->n_routes; i++)
			*cni_result_add_route(res, &ipam->routes[i].dst, NULL) = ipam->routes[i];
		r = nu_iface_configure(cont, netns_fd, ctx->env.ifname, res, e);
	} else {
		r = nu_link_set_up(cont, ifindex, e);
		if (r < 0)
			cni_wrap(e, r, "failed to set \"%s\" UP", ctx->env.ifname);
	}
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

static void keep_first(int r, struct cni_err *one, int *first, struct cni_err *e)
{
	if (r < 0 && !*first) {
		*first = r;
		*e = *one;
	}
	cni_err_clear(one);
}

/* IPAM first (it needs nothing of the kernel), then the link; both always run. */
static int vlan_del(struct cni_ctx *ctx, struct cni_err *e)
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
			r = 0; /* the netns is gone, and the vlan with it */
		else if (r == 0 && (r = nu_nl_open(&cont, netns_fd, &one)) == 0 &&
			 (r = nu_link_del(cont, ctx->env.ifname, &one)) == 0) /* absent: 0 */
			r = del_tmp(ctx, cont, &one);
		if (r < 0)
			cni_wrap(&one, r, "failed to delete container interface %s", ctx->env.ifname);
		keep_first(r, &one, &first, e);
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
	char mac[3 * 32];
	uint16_t vid;
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
	r = find_master(ctx, c->link_in_container ? cont : host, &master, e);
	if (r < 0)
		return r;
	if (cl.link != master.ifindex)
		return cni_fail(e, -EINVAL, 0, "Container interface %s is not on master \"%s\"",
				ctx->env.ifname, master.name);
	if (cont_if->mac && *cont_if->mac &&
	    strcasecmp(cont_if->mac, nu_mac_str(cl.mac, cl.mac_len, mac)))
		return cni_fail(e, -EINVAL, 0, "Interface %s Mac %s doesn't match container Mac: %s",
				ctx->env.ifname, cont_if->mac, mac);
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
		_nu_nl_cleanup_ struct nu_nl *host = NULL;
		struct nu_link_info m;
		char msg[sizeof(e->msg)];
		int r = nu_nl_open(&host, -1, e);

		if (r < 0)
			return r;
		r = find_master(ctx, host, &m, e);
		if (r < 0) {
			memcpy(msg, e->msg, sizeof(msg));
			return cni_fail(e, r, CNI_ERR_NOT_AVAILABLE, "%s", msg);
		}
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
