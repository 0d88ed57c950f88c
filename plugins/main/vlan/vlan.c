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
 * so GC is IPAM's GC. The verbs are the link-kind skeleton (plugin/link.h); here are the keys,
 * the creation of the VLAN and the CHECK of its id and MTU.
 */
#include <errno.h>
#include <string.h>

#include "cni/cni.h"
#include "netutil/netutil.h"
#include "netutil/tmplink.h"
#include "netutil/kind/vlan.h"
#include "plugin/link.h"

struct vlan_conf {
	struct pl_link_conf link; /* master, mtu, linkInContainer */
	int vlan_id;
};

#define F(k, t, m, ...) CNI_FIELD(k, struct vlan_conf, t, m, __VA_ARGS__)
static const struct cni_field fields[] = {
	F("master", CNI_F_STR, link.master, .help = "parent interface of the VLAN (required)"),
	F("vlanId", CNI_F_INT, vlan_id, .help = "VLAN id, 0..4094 (required)"),
	F("mtu", CNI_F_INT, link.mtu,
	  .help = "MTU of the VLAN interface, at most master's (default: the kernel's)"),
	F("linkInContainer", CNI_F_BOOL, link.link_in_container,
	  .help = "master is in the container's netns, not the host's"),
	CNI_FIELD_END,
};

static int vlan_validate(struct cni_ctx *ctx, void *conf, struct cni_err *e)
{
	struct vlan_conf *c = conf;

	/* DEL needs none of these keys: a config that failed ADD must still be deletable. */
	if (ctx->env.cmd == CNI_CMD_DEL || ctx->env.cmd == CNI_CMD_GC)
		return 0;
	if (!c->link.master || !*c->link.master)
		return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG,
				"\"master\" field is required. It specifies the host interface "
				"name to create the VLAN for.");
	if (!nu_ifname_valid(c->link.master))
		return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG,
				"invalid \"master\" \"%s\": not an interface name", c->link.master);
	if (c->vlan_id < 0 || c->vlan_id > 4094)
		return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG,
				"invalid VLAN ID %d (must be between 0 and 4094 inclusive)",
				c->vlan_id);
	if (c->link.mtu < 0)
		return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG,
				"invalid MTU %d, must be [0, master MTU]", c->link.mtu);
	return 0;
}

/* -EEXIST also when the id is taken on the master. */
static int create(const struct nu_tmplink_at *at, const struct nu_link_spec *link,
		  struct cni_err *e)
{
	const struct vlan_conf *c = at->conf;

	return nu_vlan_create(at->nl, &(struct nu_vlan_spec){*link, (uint16_t)c->vlan_id, 0}, e);
}

/* CHECK: the link's VLAN id and, when configured, its MTU. */
static int check(const struct cni_ctx *ctx, struct nu_nl *cont, const struct nu_link_info *cl,
		 struct cni_err *e)
{
	const struct vlan_conf *c = ctx->conf;
	uint16_t vid;
	int r = nu_vlan_get(cont, ctx->env.ifname, &vid, NULL, e);

	if (r < 0)
		return r;
	if (vid != c->vlan_id)
		return cni_fail(e, -EINVAL, 0, "Error: Container interface %s vlan id %u "
				"does not match expected value %d", ctx->env.ifname, vid, c->vlan_id);
	if (c->link.mtu && cl->mtu != (unsigned int)c->link.mtu)
		return cni_fail(e, -EINVAL, 0,
				"Error: Container interface %s MTU %u does not match expected value "
				"%d", ctx->env.ifname, cl->mtu, c->link.mtu);
	return 0;
}

/* "veth" and 8 hex digits derived from the attachment: DEL finds what a killed ADD left. */
static const struct pl_link_ops ops = {
	.link = {.kind = "vlan", .prefix = "veth", .hash = nu_tmpname_sha512, .create = create},
	.on_master = &pl_link_master,
	.check = check,
};

const struct cni_plugin cni_main_plugin = {
	.name = "vlan",
	CNI_CONF(fields, struct vlan_conf),
	.conf_validate = vlan_validate,
	PL_LINK_VERBS,
	.ops = &ops,
	CNI_INPROC_IPAM,
};
