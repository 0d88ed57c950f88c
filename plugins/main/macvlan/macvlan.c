// SPDX-License-Identifier: Apache-2.0
/*
 * macvlan: gives a container its own MAC address on a host interface (the master), as the
 * reference plugin does, key for key. ADD finds the master (configured, or the interface of the
 * default route, in the host netns or, with linkInContainer, in the container's), creates the
 * macvlan under a temporary name directly in the container netns (a name taken on the host
 * cannot clash; predictable from the attachment, so a DEL after an ADD killed before the rename
 * finds it) and renames it to CNI_IFNAME there; with IPAM it turns on ARP/ND notification and
 * configures addresses and routes, without IPAM (absent or empty) it only sets the link up. A
 * failed ADD deletes the link; the dispatcher releases IPAM.
 * DEL is idempotent and depends on neither the master (the reference failed with "Link not found"
 * when the master had gone: plugins#953), the netns nor prevResult: IPAM DEL always runs, then the
 * link goes with the netns or by name. The plugin owns no host state, so GC is IPAM's GC.
 */
#include <errno.h>
#include <linux/if_link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cni/cni.h"
#include "netutil/iface.h"
#include "netutil/link_extra.h"
#include "netutil/netutil.h"
#include "netutil/tmplink.h"

struct macvlan_conf {
	char *master;
	char *mode;
	int mtu;
	char *mac;
	bool link_in_container;
	long long bcqueuelen;
	struct {
		struct {
			char *mac;
		} cni;
	} args;
	struct {
		char *mac;
	} rc;

	/* derived by macvlan_validate() */
	uint32_t mode_val;
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

#define F(k, t, m, ...) CNI_FIELD(k, struct macvlan_conf, t, m, __VA_ARGS__)
static const struct cni_field fields[] = {
	F("master", CNI_F_STR, master),
	F("mode", CNI_F_STR, mode),
	F("mtu", CNI_F_INT, mtu, .min = 0, .max = 65535),
	F("mac", CNI_F_STR, mac),
	F("linkInContainer", CNI_F_BOOL, link_in_container),
	F("bcqueuelen", CNI_F_I64, bcqueuelen, .min = 0, .max = UINT32_MAX),
	F("args", CNI_F_OBJ, args, .sub = args_fields),
	F("runtimeConfig", CNI_F_OBJ, rc, .sub = mac_fields),
	CNI_FIELD_END,
};

static const char *const args_keys[] = {"MAC", NULL};

/* One entry per mode: the reference's four plus "source" (frames selected by source MAC). */
static const struct {
	const char *name;
	uint32_t mode;
} modes[] = {
	{"bridge", MACVLAN_MODE_BRIDGE}, {"private", MACVLAN_MODE_PRIVATE},
	{"vepa", MACVLAN_MODE_VEPA},	 {"passthru", MACVLAN_MODE_PASSTHRU},
	{"source", MACVLAN_MODE_SOURCE},
};

static const char *mode_name(uint32_t mode)
{
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		if (modes[i].mode == mode)
			return modes[i].name;
	return "unknown";
}

static int macvlan_validate(struct cni_ctx *ctx, void *conf, struct cni_err *e)
{
	struct macvlan_conf *c = conf;
	const char *mac, *from;
	size_t i;

	if (c->master && !nu_ifname_valid(c->master))
		return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG,
				"invalid \"master\" \"%s\": not an interface name", c->master);
	c->mode_val = MACVLAN_MODE_BRIDGE; /* absent or "" */
	if (c->mode && *c->mode) {
		for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
			if (!strcmp(c->mode, modes[i].name))
				break;
		if (i == sizeof(modes) / sizeof(modes[0]))
			return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG,
					"unknown macvlan mode \"%s\": \"mode\" must be bridge, "
					"private, vepa, passthru or source",
					c->mode);
		c->mode_val = modes[i].mode;
	}
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

/* ---- ADD ------------------------------------------------------------------------------------- */

static int create(const struct nu_tmplink_at *at, const struct nu_link_spec *link,
		  struct cni_err *e)
{
	const struct macvlan_conf *c = at->conf;
	struct nu_macvlan_spec s = {*link, c->mode_val, (uint32_t)c->bcqueuelen};

	s.link.mac = c->has_mac ? c->mac_val : NULL;
	return nu_macvlan_create(at->nl, &s, e);
}

/*
 * The temporary name: "mvl" + 48 bits of FNV-1a over (container ID, ifname). If a name is taken
 * on the host side (the kernel checks both namespaces on some versions), random "veth%08x" names
 * are tried, as the reference does.
 */
static const struct nu_tmplink macvlan_link = {
	.kind = "macvlan",
	.prefix = "mvl",
	.hash = NU_TMPNAME_FNV48,
	.random_names = 9,
	.create = create,
};

static int macvlan_add(struct cni_ctx *ctx, struct cni_result *res, struct cni_err *e)
{
	const struct macvlan_conf *c = ctx->conf;
	_nu_nl_cleanup_ struct nu_nl *cont = NULL;
	_nu_fd_cleanup_ int netns_fd = -1;
	struct nu_link_info li;
	char mac[3 * 32];
	int r, ifindex;

	r = nu_nl_open_netns(ctx->env.netns, &netns_fd, &cont, e);
	if (r < 0)
		return r;
	r = nu_tmplink_on_master(
	    cont, netns_fd, &macvlan_link,
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
	/* Neighbours learn the new MAC at once: gratuitous ARP and NA on link up. */
	r = nu_iface_setup(cont, netns_fd, ctx->env.ifname, ifindex, res,
			   NU_NOTIFY_ARP | NU_NOTIFY_NDISC, e);
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
static int macvlan_del(struct cni_ctx *ctx, struct cni_err *e)
{
	struct cni_err one = {0};
	int r, first = 0;

	if (ctx->net.ipam_type)
		cni_err_keep_first(cni_ipam_del(ctx, &one), &one, &first, e);
	if (ctx->env.netns && *ctx->env.netns) {
		/* any link of that name (as the reference), then a leftover temporary macvlan */
		r = nu_tmplink_remove(ctx->env.netns, &macvlan_link, ctx->env.container_id,
				      ctx->env.ifname, 0, &one);
		cni_err_keep_first(r, &one, &first, e);
	}
	return first;
}

static int macvlan_check(struct cni_ctx *ctx, struct cni_err *e)
{
	const struct macvlan_conf *c = ctx->conf;
	const struct cni_result *prev = ctx->net.prev;
	_nu_nl_cleanup_ struct nu_nl *host = NULL, *cont = NULL;
	_nu_fd_cleanup_ int netns_fd = -1;
	const struct cni_iface *cont_if = NULL;
	struct nu_link_info master, cl;
	uint32_t mode;
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
	if (!c->link_in_container) {
		r = nu_nl_open(&host, -1, e);
		if (r < 0)
			return r;
	}
	r = nu_master_find(c->link_in_container ? cont : host, c->master, &master, e);
	if (r < 0)
		return r;
	r = nu_link_get(cont, ctx->env.ifname, 0, &cl, e);
	if (r < 0)
		return cni_wrap(e, r, "Container Interface name in prevResult: %s not found",
				ctx->env.ifname);
	r = nu_macvlan_mode(cont, ctx->env.ifname, &mode, e);
	if (r == -EMEDIUMTYPE)
		return cni_fail(e, r, 0, "Container interface %s not of type macvlan",
				ctx->env.ifname);
	if (r < 0)
		return r;
	if (mode != c->mode_val)
		return cni_fail(e, -EINVAL, 0,
				"Container macvlan mode %s does not match expected value: %s",
				mode_name(mode), mode_name(c->mode_val));
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

/*
 * Ready when IPAM is and, for a master in the host netns, when the master exists (an ADD would
 * fail without it; the reference leaves this as a TODO). A master inside containers cannot be
 * judged without a netns.
 */
static int macvlan_status(struct cni_ctx *ctx, struct cni_err *e)
{
	const struct macvlan_conf *c = ctx->conf;

	if (!c->link_in_container) {
		int r = nu_master_ready(c->master, e);

		if (r < 0)
			return r;
	}
	return ctx->net.ipam_type ? cni_ipam_status(ctx, e) : 0;
}

static int macvlan_gc(struct cni_ctx *ctx, struct cni_err *e)
{
	return ctx->net.ipam_type ? cni_ipam_gc(ctx, e) : 0;
}

static const struct cni_plugin macvlan = {
	.name = "macvlan",
	.fields = fields,
	.conf_size = sizeof(struct macvlan_conf),
	.conf_validate = macvlan_validate,
	.args_keys = args_keys,
	.add = macvlan_add,
	.del = macvlan_del,
	.check = macvlan_check,
	.status = macvlan_status,
	.gc = macvlan_gc,
	.inproc = (const struct cni_plugin *const[]){&cni_hostlocal_plugin, &cni_static_plugin, NULL},
};

int main(int argc, char **argv)
{
	return cni_main(&macvlan, argc, argv);
}
