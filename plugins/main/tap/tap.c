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

/* "tap" + 48 bits of FNV-1a over (container ID, ifname): found again by a later DEL. */
static void tmp_name(const struct cni_ctx *ctx, char out[NU_IFNAMSIZ])
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (const char *p = ctx->env.container_id; *p; p++)
		h = (h ^ (uint8_t)*p) * 0x100000001b3ULL;
	h = (h ^ '/') * 0x100000001b3ULL;
	for (const char *p = ctx->env.ifname; *p; p++)
		h = (h ^ (uint8_t)*p) * 0x100000001b3ULL;
	snprintf(out, NU_IFNAMSIZ, "tap%012llx", (unsigned long long)(h & 0xffffffffffffULL));
}

/* Remove a leftover of a killed ADD under the temporary name: only a tun/tap is ours. */
static int del_tmp(const struct cni_ctx *ctx, struct nu_nl *cont, struct cni_err *e)
{
	struct nu_link_info li;
	char tmp[NU_IFNAMSIZ];

	tmp_name(ctx, tmp);
	if (nu_link_get(cont, tmp, 0, &li, NULL) < 0 || strcmp(li.kind, "tun"))
		return 0;
	return nu_link_del_index(cont, li.ifindex, e);
}

static int tap_add(struct cni_ctx *ctx, struct cni_result *res, struct cni_err *e)
{
	const struct tap_conf *c = ctx->conf;
	_nu_nl_cleanup_ struct nu_nl *cont = NULL;
	_nu_fd_cleanup_ int netns_fd = -1;
	struct nu_tap_opts o = {
	    .multi_queue = c->multi_queue,
	    .vnet_hdr = true,
	    .has_owner = c->owner_seen,
	    .has_group = c->group_seen,
	    .owner = (uid_t)c->owner,
	    .group = (gid_t)c->group,
	};
	struct nu_link_info li, br;
	char tmp[NU_IFNAMSIZ], mac[3 * 32], key[96];
	int r, ifindex;

	r = nu_netns_open(ctx->env.netns, &netns_fd, e);
	if (r < 0)
		return cni_wrap(e, r, "failed to open netns \"%s\"", ctx->env.netns);
	r = nu_nl_open(&cont, netns_fd, e);
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
	r = del_tmp(ctx, cont, e);
	if (r < 0)
		return r;
	tmp_name(ctx, tmp);
	r = nu_tap_create(cont, netns_fd, tmp, &o, e);
	if (r < 0)
		return cni_wrap(e, r, "failed to create tap");
	ifindex = nu_link_index(cont, tmp);
	if (ifindex < 0)
		return cni_fail(e, ifindex, 0, "tap \"%s\" not found after creation", tmp);
	if (c->mtu) {
		r = nu_link_set_mtu(cont, ifindex, (unsigned int)c->mtu, e);
		if (r < 0)
			goto del_link;
	}
	if (c->has_mac) {
		r = nu_link_set_mac(cont, ifindex, c->mac_val, 6, e);
		if (r < 0)
			goto del_link;
	}
	r = nu_link_rename(cont, ifindex, ctx->env.ifname, e);
	if (r < 0) {
		cni_wrap(e, r, "failed to rename tap to \"%s\"", ctx->env.ifname);
		goto del_link;
	}
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
		struct cni_result *ipam = NULL;

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
		snprintf(key, sizeof(key), "net/ipv4/conf/%s/arp_notify", ctx->env.ifname);
		nu_sysctl_set(netns_fd, key, "1", NULL);
		r = nu_iface_configure(cont, netns_fd, ctx->env.ifname, res, e);
	} else {
		r = nu_link_set_up(cont, ifindex, e);
		if (r < 0)
			cni_wrap(e, r, "failed to set \"%s\" UP", ctx->env.ifname);
	}
	if (r < 0)
		goto del_link;
	res->dns = ctx->net.dns;
	return 0;

del_link:
	nu_link_del_index(cont, ifindex, NULL);
	return r;
}

static void keep_first(int r, struct cni_err *one, int *first, struct cni_err *e)
{
	if (r < 0 && !*first) {
		*first = r;
		*e = *one;
	}
	cni_err_clear(one);
}

static int tap_del(struct cni_ctx *ctx, struct cni_err *e)
{
	struct cni_err one = {0};
	int r, first = 0;

	if (ctx->net.ipam_type)
		keep_first(cni_ipam_del(ctx, &one), &one, &first, e);
	if (ctx->env.netns && *ctx->env.netns) {
		_nu_fd_cleanup_ int netns_fd = -1;
		_nu_nl_cleanup_ struct nu_nl *cont = NULL;
		struct nu_link_info li;

		r = nu_netns_open(ctx->env.netns, &netns_fd, &one);
		if (r == -ENOENT) {
			r = 0; /* the netns is gone, and the tap with it */
		} else if (r == 0 && (r = nu_nl_open(&cont, netns_fd, &one)) == 0) {
			/* only a tun/tap of that name is ours */
			if (nu_link_get(cont, ctx->env.ifname, 0, &li, NULL) == 0 &&
			    !strcmp(li.kind, "tun"))
				r = nu_link_del_index(cont, li.ifindex, &one);
			if (r == 0)
				r = del_tmp(ctx, cont, &one);
		}
		if (r < 0)
			cni_wrap(&one, r, "failed to delete container interface %s",
				 ctx->env.ifname);
		keep_first(r, &one, &first, e);
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
