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
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cni/cni.h"
#include "netutil/iface.h"
#include "netutil/netutil.h"
#include "netutil/tmplink.h"
#include "netutil/tuntap.h"

struct tap_conf {
	char *mac;
	int mtu;
	char *selinux_context;
	bool multi_queue;
	long long owner, group;
	bool owner_seen, group_seen;
	char *bridge;
	struct {
		struct {
			char *mac;
		} cni;
	} args;
	struct {
		char *mac;
	} rc;

	/* derived by tap_validate() */
	uint8_t mac_val[6];
	bool has_mac;
};

static const struct cni_field mac_fields[] = {
	{.key = "mac", .type = CNI_F_STR},
	CNI_FIELD_END,
};
static const struct cni_field args_fields[] = {
	{.key = "cni", .type = CNI_F_OBJ, .sub = mac_fields},
	CNI_FIELD_END,
};

#define F(k, t, m, ...) CNI_FIELD(k, struct tap_conf, t, m, __VA_ARGS__)
static const struct cni_field fields[] = {
	F("mac", CNI_F_STR, mac),
	F("mtu", CNI_F_INT, mtu, .min = 0, .max = 65535),
	F("selinuxContext", CNI_F_STR, selinux_context),
	F("multiQueue", CNI_F_BOOL, multi_queue),
	/* uid/gid -1 is the kernel's "nobody": not a value to configure */
	F("owner", CNI_F_I64, owner, .min = 0, .max = UINT32_MAX - 1,
	  CNI_SEEN(struct tap_conf, owner_seen)),
	F("group", CNI_F_I64, group, .min = 0, .max = UINT32_MAX - 1,
	  CNI_SEEN(struct tap_conf, group_seen)),
	F("bridge", CNI_F_STR, bridge),
	F("args", CNI_F_OBJ, args, .sub = args_fields),
	F("runtimeConfig", CNI_F_OBJ, rc, .sub = mac_fields),
	CNI_FIELD_END,
};

static const char *const args_keys[] = {"MAC", NULL};

static bool selinux_enabled(void)
{
	return access("/sys/fs/selinux/enforce", F_OK) == 0;
}

static int tap_validate(struct cni_ctx *ctx, void *conf, struct cni_err *e)
{
	struct tap_conf *c = conf;
	const char *mac, *from;

	if (c->bridge && *c->bridge && !nu_ifname_valid(c->bridge))
		return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG,
				"invalid \"bridge\" \"%s\": not an interface name", c->bridge);
	if (c->bridge && !*c->bridge)
		c->bridge = NULL;
	if (c->selinux_context && *c->selinux_context && selinux_enabled())
		return cni_fail(e, -EOPNOTSUPP, CNI_ERR_INVALID_CONFIG,
				"\"selinuxContext\" is not supported on a host with SELinux "
				"enabled");
	/* The runtime's MAC: runtimeConfig over args over CNI_ARGS over the "mac" key. */
	if (c->rc.mac && *c->rc.mac) {
		mac = c->rc.mac;
		from = "runtimeConfig.mac";
	} else if (c->args.cni.mac && *c->args.cni.mac) {
		mac = c->args.cni.mac;
		from = "args.cni.mac";
	} else if (cni_args_get(&ctx->args, "MAC")) {
		mac = cni_args_get(&ctx->args, "MAC");
		from = "CNI_ARGS MAC";
	} else {
		mac = c->mac;
		from = "mac";
	}
	if (mac && *mac) {
		if (nu_mac_parse(mac, c->mac_val) || (c->mac_val[0] & 1))
			return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG,
					"invalid MAC address \"%s\" in %s", mac, from);
		c->has_mac = true;
	}
	return 0;
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
	if (c->has_mac)
		return nu_link_set_mac(cont, ifindex, c->mac_val, 6, e);
	return 0;
}

/* "tap" + 48 bits of FNV-1a over (container ID, ifname): found again by a later DEL. */
static const struct nu_tmplink tap_link = {
	.kind = "tun", /* a tun/tap of that name is ours */
	.what = "tap",
	.prefix = "tap",
	.hash = NU_TMPNAME_FNV48,
	.create = create,
	.prepare = prepare,
};

static int tap_add(struct cni_ctx *ctx, struct cni_result *res, struct cni_err *e)
{
	const struct tap_conf *c = ctx->conf;
	_nu_nl_cleanup_ struct nu_nl *cont = NULL;
	_nu_fd_cleanup_ int netns_fd = -1;
	struct nu_link_info li, br;
	char mac[3 * 32];
	int r, ifindex;

	r = nu_nl_open_netns(ctx->env.netns, &netns_fd, &cont, e);
	if (r < 0)
		return r;
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
	r = nu_tmplink_create(cont, &tap_link, ctx->env.container_id, ctx->env.ifname,
			      &(struct nu_tmplink_at){.nl = cont, .netns_fd = netns_fd, .conf = c},
			      e);
	if (r < 0)
		return r;
	ifindex = r;
	if (c->bridge) {
		r = nu_link_set_master(cont, ifindex, br.ifindex, e);
		if (r < 0)
			goto del_link;
	}
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
	r = nu_iface_setup(cont, netns_fd, ctx->env.ifname, ifindex, res, NU_NOTIFY_ARP, e);
	if (r < 0)
		goto del_link;
	res->dns = ctx->net.dns;
	return 0;

del_link:
	nu_link_del_index(cont, ifindex, NULL);
	return r;
}

static int tap_del(struct cni_ctx *ctx, struct cni_err *e)
{
	struct cni_err one = {0};
	int r, first = 0;

	if (ctx->net.ipam_type)
		cni_err_keep_first(cni_ipam_del(ctx, &one), &one, &first, e);
	if (ctx->env.netns && *ctx->env.netns) {
		/* only a tun/tap of that name is ours */
		r = nu_tmplink_remove(ctx->env.netns, &tap_link, ctx->env.container_id,
				      ctx->env.ifname, NU_TMPLINK_ONLY_OURS, &one);
		cni_err_keep_first(r, &one, &first, e);
	}
	return first;
}

static int tap_check(struct cni_ctx *ctx, struct cni_err *e)
{
	const struct tap_conf *c = ctx->conf;
	const struct cni_result *prev = ctx->net.prev;
	_nu_nl_cleanup_ struct nu_nl *cont = NULL;
	_nu_fd_cleanup_ int netns_fd = -1;
	const struct cni_iface *cont_if = NULL;
	struct nu_link_info cl, br;
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
	/* Stricter than the reference, which checks no type. */
	if (strcmp(cl.kind, "tun"))
		return cni_fail(e, -EINVAL, 0, "Container interface %s not of type tap",
				ctx->env.ifname);
	if (c->mtu && cl.mtu != (unsigned int)c->mtu)
		return cni_fail(e, -EINVAL, 0, "Container interface %s MTU %u, expected %d",
				ctx->env.ifname, cl.mtu, c->mtu);
	if (c->bridge) {
		r = nu_link_get(cont, c->bridge, 0, &br, e);
		if (r < 0 || cl.master != br.ifindex)
			return cni_fail(e, -EINVAL, 0,
					"Container interface %s is not a port of \"%s\"",
					ctx->env.ifname, c->bridge);
	}
	r = nu_iface_check_mac(cont_if->mac, &cl, ctx->env.ifname, e);
	if (r < 0)
		return r;
	r = nu_iface_check_ips(cont, ctx->env.ifname, prev, e);
	if (r < 0)
		return r;
	return nu_iface_check_routes(cont, prev, e);
}

/* Ready when the kernel has a tun driver to open (the reference does not look) and IPAM is. */
static int tap_status(struct cni_ctx *ctx, struct cni_err *e)
{
	if (access("/dev/net/tun", R_OK | W_OK) < 0)
		return cni_fail(e, -errno, CNI_ERR_NOT_AVAILABLE, "/dev/net/tun: %s",
				strerror(errno));
	return ctx->net.ipam_type ? cni_ipam_status(ctx, e) : 0;
}

static int tap_gc(struct cni_ctx *ctx, struct cni_err *e)
{
	return ctx->net.ipam_type ? cni_ipam_gc(ctx, e) : 0;
}

static const struct cni_plugin tap = {
	.name = "tap",
	.fields = fields,
	.conf_size = sizeof(struct tap_conf),
	.conf_validate = tap_validate,
	.args_keys = args_keys,
	.add = tap_add,
	.del = tap_del,
	.check = tap_check,
	.status = tap_status,
	.gc = tap_gc,
	.inproc =
	    (const struct cni_plugin *const[]){&cni_hostlocal_plugin, &cni_static_plugin, NULL},
};

int main(int argc, char **argv)
{
	return cni_main(&tap, argc, argv);
}
