// SPDX-License-Identifier: Apache-2.0
/*
 * tap: a persistent tap device in the container (for a VM runtime or a userspace network stack
 * inside it), as the reference plugin does, key for key. ADD creates the tap under a temporary
 * name directly in the container netns through /dev/net/tun (IFF_TAP|IFF_VNET_HDR, with
 * IFF_MULTI_QUEUE when "multiQueue"; owner and group only when configured, else nobody owns it,
 * as `ip tuntap add` leaves it), sets "mtu" and the MAC, renames it to CNI_IFNAME (so an existing
 * interface of that name is never touched: a tun TUNSETIFF would attach to it), enslaves it to
 * "bridge" inside the container when asked, and sets it up; with IPAM it configures addresses
 * and routes. The temporary name is predictable from the attachment, so a DEL after an ADD
 * killed before the rename finds it. A failed ADD deletes the tap; the dispatcher releases IPAM.
 * "selinuxContext" labels the tap in the reference by running `ip` under that exec context; we
 * create the tap ourselves, so on a host without SELinux the key is accepted and ignored, and on
 * a host with SELinux enabled it is refused (code 7) rather than silently not applied.
 * DEL is idempotent: IPAM DEL, then the tap by name (a netns that is gone took it along).
 * The verbs are the link-kind skeleton (plugin/link.h); here are the keys, the creation of the
 * tap and the CHECK of its MTU and bridge.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "cni/cni.h"
#include "netutil/iface.h"
#include "netutil/netutil.h"
#include "netutil/tmplink.h"
#include "netutil/tuntap.h"
#include "plugin/link.h"
#include "plugin/mac.h"

struct tap_conf {
	struct pl_mac_keys mac; /* "mac", args.cni.mac, runtimeConfig.mac */
	int mtu;
	char *selinux_context;
	bool multi_queue;
	long long owner, group;
	bool owner_seen, group_seen;
	char *bridge;

	/* derived by tap_validate() */
	struct pl_mac mac_val;
};

#define F(k, t, m, ...) CNI_FIELD(k, struct tap_conf, t, m, __VA_ARGS__)
static const struct cni_field fields[] = {
	F("mac", CNI_F_STR, mac.conf,
	  .help = "tap MAC (default random); runtimeConfig, args, CNI_ARGS MAC win"),
	F("mtu", CNI_F_INT, mtu, .min = 0, .max = 65535,
	  .help = "MTU of the tap (default: the kernel's)"),
	F("selinuxContext", CNI_F_STR, selinux_context,
	  .help = "SELinux context the tap is created under (the reference's exec label)"),
	F("multiQueue", CNI_F_BOOL, multi_queue, .help = "a multi-queue tap (IFF_MULTI_QUEUE)"),
	/* uid/gid -1 is the kernel's "nobody": not a value to configure */
	F("owner", CNI_F_I64, owner, .min = 0, .max = UINT32_MAX - 1,
	  CNI_SEEN(struct tap_conf, owner_seen),
	    .help = "uid owning the tap device (default: none)"),
	F("group", CNI_F_I64, group, .min = 0, .max = UINT32_MAX - 1,
	  CNI_SEEN(struct tap_conf, group_seen),
	    .help = "gid owning the tap device (default: none)"),
	F("bridge", CNI_F_STR, bridge,
	  .help = "enslave the tap to this existing bridge in the container's netns"),
	PL_MAC_FIELDS(struct tap_conf, mac),
	CNI_FIELD_END,
};

static bool selinux_enabled(void)
{
	return access("/sys/fs/selinux/enforce", F_OK) == 0;
}

static int tap_validate(struct cni_ctx *ctx, void *conf, struct cni_err *e)
{
	struct tap_conf *c = conf;

	if (c->bridge && *c->bridge && !nu_ifname_valid(c->bridge))
		return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG,
				"invalid \"bridge\" \"%s\": not an interface name", c->bridge);
	if (c->bridge && !*c->bridge)
		c->bridge = NULL;
	if (c->selinux_context && *c->selinux_context && selinux_enabled())
		return cni_fail(e, -EOPNOTSUPP, CNI_ERR_INVALID_CONFIG,
				"\"selinuxContext\" is not supported on a host with SELinux "
				"enabled");
	return pl_mac_decide(&pl_mac_tap, &c->mac, &ctx->args, &c->mac_val, e);
}

/* Through /dev/net/tun in the netns of @at->netns_fd (@at->nl is opened there). */
static int create(const struct nu_tmplink_at *at, const struct nu_link_spec *link,
		  struct cni_err *e)
{
	const struct tap_conf *c = at->conf;
	struct nu_tap_opts o = {
	    .multi_queue = c->multi_queue,
	    .vnet_hdr = true,
	    .has_owner = c->owner_seen,
	    .has_group = c->group_seen,
	    .owner = (uid_t)c->owner,
	    .group = (gid_t)c->group,
	};

	return nu_tap_create(at->nl, at->netns_fd, link->name, &o, e);
}

/* "mtu" and the MAC, before the rename. */
static int prepare(const struct nu_tmplink_at *at, struct nu_nl *cont, int ifindex,
		   struct cni_err *e)
{
	const struct tap_conf *c = at->conf;
	int r;

	if (c->mtu) {
		r = nu_link_set_mtu(cont, ifindex, (unsigned int)c->mtu, e);
		if (r < 0)
			return r;
	}
	if (c->mac_val.set)
		return nu_link_set_mac(cont, ifindex, c->mac_val.addr, 6, e);
	return 0;
}

/*
 * ADD's link: never over an existing interface of that name; enslaved to "bridge" (a bridge in
 * the container) when asked.
 */
static int create_tap(struct cni_ctx *ctx, struct nu_nl *cont, int netns_fd, struct cni_err *e)
{
	const struct pl_link_ops *o = ctx->plugin->ops;
	const struct tap_conf *c = ctx->conf;
	struct nu_link_info br;
	int r, ifindex;

	if (nu_link_index(cont, ctx->env.ifname) > 0)
		return cni_fail(e, -EEXIST, 0, "container already has an interface named \"%s\"",
				ctx->env.ifname);
	if (c->bridge) {
		r = nu_link_get(cont, c->bridge, 0, &br, e);
		if (r < 0)
			return cni_wrap(e, r, "failed to find bridge \"%s\"", c->bridge);
		if (strcmp(br.kind, "bridge"))
			return cni_fail(e, -EINVAL, 0, "\"%s\" is not a bridge", c->bridge);
	}
	r = nu_tmplink_create(cont, &o->link, ctx->env.container_id, ctx->env.ifname,
			      &(struct nu_tmplink_at){.nl = cont, .netns_fd = netns_fd, .conf = c},
			      e);
	if (r < 0 || !c->bridge)
		return r;
	ifindex = r;
	r = nu_link_set_master(cont, ifindex, br.ifindex, e);
	if (r < 0) {
		nu_link_del_index(cont, ifindex, NULL);
		return r;
	}
	return ifindex;
}

/* CHECK (stricter than the reference, which checks no type): "mtu" and the bridge port. */
static int check(const struct cni_ctx *ctx, struct nu_nl *cont, const struct nu_link_info *cl,
		 struct cni_err *e)
{
	const struct tap_conf *c = ctx->conf;
	struct nu_link_info br;

	if (c->mtu && cl->mtu != (unsigned int)c->mtu)
		return cni_fail(e, -EINVAL, 0, "Container interface %s MTU %u, expected %d",
				ctx->env.ifname, cl->mtu, c->mtu);
	if (c->bridge && (nu_link_get(cont, c->bridge, 0, &br, e) < 0 || cl->master != br.ifindex))
		return cni_fail(e, -EINVAL, 0, "Container interface %s is not a port of \"%s\"",
				ctx->env.ifname, c->bridge);
	return 0;
}

/* Ready when the kernel has a tun driver to open (the reference does not look). */
static int status(struct cni_ctx *ctx, struct cni_err *e)
{
	(void)ctx;
	if (access("/dev/net/tun", R_OK | W_OK) < 0)
		return cni_fail(e, -errno, CNI_ERR_NOT_AVAILABLE, "/dev/net/tun: %s",
				strerror(errno));
	return 0;
}

/*
 * The temporary name: "tap" + 48 bits of FNV-1a over (container ID, ifname), found again by a
 * later DEL, which removes only a tun/tap of that name (ours). Gratuitous ARP on link up.
 */
static const struct pl_link_ops ops = {
	.link = {.kind = "tun",
		 .what = "tap",
		 .prefix = "tap",
		 .hash = nu_tmpname_fnv48,
		 .create = create,
		 .prepare = prepare},
	.flags = PL_LINK_CHECK_OUR_MAC,
	.notify = NU_NOTIFY_ARP,
	.del_flags = NU_TMPLINK_ONLY_OURS,
	.create = create_tap,
	.check = check,
	.status = status,
};

const struct cni_plugin cni_main_plugin = {
	.name = "tap",
	CNI_CONF(fields, struct tap_conf),
	.conf_validate = tap_validate,
	.args_keys = pl_mac_args_keys,
	PL_LINK_VERBS,
	.ops = &ops,
	CNI_INPROC_IPAM,
};
