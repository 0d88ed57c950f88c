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
#include <sys/random.h>

#include "cni/cni.h"
#include "netutil/iface.h"
#include "netutil/link_extra.h"
#include "netutil/netutil.h"

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

/* The master: configured, or the default route's interface, in the netns of @nl. */
static int find_master(const struct macvlan_conf *c, struct nu_nl *nl, struct nu_link_info *m,
		       struct cni_err *e)
{
	int r;

	if (!c->master) {
		r = nu_route_default_oif(nl, e);
		if (r < 0)
			return cni_wrap(e, r, "no master given and no default route interface");
		r = nu_link_get(nl, NULL, r, m, e);
	} else {
		r = nu_link_get(nl, c->master, 0, m, e);
	}
	if (r < 0)
		return cni_wrap(e, r, "failed to lookup master \"%s\"", c->master ? c->master : "");
	return 0;
}

/* ---- ADD ------------------------------------------------------------------------------------- */

/*
 * The temporary name of the attachment: "mvl" + 48 bits of FNV-1a over (container ID, ifname).
 * Being predictable, a DEL after an ADD killed between create and rename finds and removes it.
 */
static void tmp_name(const struct cni_ctx *ctx, char out[NU_IFNAMSIZ])
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (const char *p = ctx->env.container_id; *p; p++)
		h = (h ^ (uint8_t)*p) * 0x100000001b3ULL;
	h = (h ^ '/') * 0x100000001b3ULL;
	for (const char *p = ctx->env.ifname; *p; p++)
		h = (h ^ (uint8_t)*p) * 0x100000001b3ULL;
	snprintf(out, NU_IFNAMSIZ, "mvl%012llx", (unsigned long long)(h & 0xffffffffffffULL));
}

/* Remove a leftover of a killed ADD under the temporary name: only a macvlan is ours. */
static int del_tmp(const struct cni_ctx *ctx, struct nu_nl *cont, struct cni_err *e)
{
	struct nu_link_info li;
	char tmp[NU_IFNAMSIZ];

	tmp_name(ctx, tmp);
	if (nu_link_get(cont, tmp, 0, &li, NULL) < 0 || strcmp(li.kind, "macvlan"))
		return 0;
	return nu_link_del_index(cont, li.ifindex, e);
}

/*
 * Create under the temporary name in the container netns (a name taken on the host cannot clash
 * there), then rename to @ifname. If that name is taken on the host side (the kernel checks both
 * namespaces on some versions), random "veth%08x" names are tried, as the reference does.
 */
static int create_link(struct cni_ctx *ctx, struct nu_nl *mnl, struct nu_nl *cont, int netns_fd,
		       const struct nu_link_info *master, struct cni_err *e)
{
	const struct macvlan_conf *c = ctx->conf;
	char tmp[NU_IFNAMSIZ];
	int r, ifindex;

	r = del_tmp(ctx, cont, e);
	if (r < 0)
		return r;
	tmp_name(ctx, tmp);
	for (int attempt = 0; attempt < 10; attempt++) {
		uint32_t rnd;

		if (attempt) {
			if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
				return cni_fail(e, -errno, 0, "failed to generate a random name: %s",
						strerror(errno));
			snprintf(tmp, sizeof(tmp), "veth%08x", rnd);
		}
		cni_err_clear(e);
		r = nu_macvlan_create(mnl, tmp, master->ifindex, c->mode_val, (unsigned int)c->mtu,
				      c->has_mac ? c->mac_val : NULL, (uint32_t)c->bcqueuelen,
				      c->link_in_container ? -1 : netns_fd, e);
		if (r != -EEXIST)
			break;
	}
	if (r < 0)
		return cni_wrap(e, r, "failed to create macvlan");
	ifindex = nu_link_index(cont, tmp);
	if (ifindex < 0)
		return cni_fail(e, ifindex, 0, "macvlan \"%s\" not found after creation", tmp);
	r = nu_link_rename(cont, ifindex, ctx->env.ifname, e);
	if (r < 0) {
		nu_link_del_index(cont, ifindex, NULL);
		return cni_wrap(e, r, "failed to rename macvlan to \"%s\"", ctx->env.ifname);
	}
	return ifindex;
}

static int macvlan_add(struct cni_ctx *ctx, struct cni_result *res, struct cni_err *e)
{
	const struct macvlan_conf *c = ctx->conf;
	_nu_nl_cleanup_ struct nu_nl *host = NULL, *cont = NULL;
	_nu_fd_cleanup_ int netns_fd = -1;
	struct nu_link_info master, li;
	char mac[3 * 32], key[96];
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
	r = find_master(c, c->link_in_container ? cont : host, &master, e);
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
		/* Neighbours learn the new MAC at once: gratuitous ARP and NA on link up. */
		snprintf(key, sizeof(key), "net/ipv4/conf/%s/arp_notify", ctx->env.ifname);
		nu_sysctl_set(netns_fd, key, "1", NULL);
		snprintf(key, sizeof(key), "net/ipv6/conf/%s/ndisc_notify", ctx->env.ifname);
		nu_sysctl_set(netns_fd, key, "1", NULL);
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
static int macvlan_del(struct cni_ctx *ctx, struct cni_err *e)
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
			r = 0; /* the netns is gone, and the macvlan with it */
		else if (r == 0 && (r = nu_nl_open(&cont, netns_fd, &one)) == 0 &&
			 (r = nu_link_del(cont, ctx->env.ifname, &one)) == 0) /* absent: 0 */
			r = del_tmp(ctx, cont, &one); /* an ADD killed before its rename */
		if (r < 0)
			cni_wrap(&one, r, "failed to delete container interface %s",
				 ctx->env.ifname);
		keep_first(r, &one, &first, e);
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
	char mac[3 * 32];
	uint32_t mode;
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
	if (!c->link_in_container) {
		r = nu_nl_open(&host, -1, e);
		if (r < 0)
			return r;
	}
	r = find_master(c, c->link_in_container ? cont : host, &master, e);
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
	if (cont_if->mac && *cont_if->mac &&
	    strcasecmp(cont_if->mac, nu_mac_str(cl.mac, cl.mac_len, mac)))
		return cni_fail(e, -EINVAL, 0, "Interface %s Mac %s doesn't match container Mac: %s",
				ctx->env.ifname, cont_if->mac, mac);
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
		_nu_nl_cleanup_ struct nu_nl *host = NULL;
		struct nu_link_info m;
		char msg[sizeof(e->msg)];
		int r = nu_nl_open(&host, -1, e);

		if (r < 0)
			return r;
		r = find_master(c, host, &m, e);
		if (r < 0) {
			memcpy(msg, e->msg, sizeof(msg));
			return cni_fail(e, r, CNI_ERR_NOT_AVAILABLE, "%s", msg);
		}
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
