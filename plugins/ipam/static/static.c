// SPDX-License-Identifier: Apache-2.0
/*
 * static IPAM: hands out the addresses written in the configuration (or given by the runtime
 * through runtimeConfig.ips, args.cni.ips or CNI_ARGS IP/GATEWAY) with their routes and DNS.
 * It reserves nothing and touches no kernel object, so DEL and GC have nothing to undo and
 * STATUS is always ready. Precedence as the reference: runtimeConfig.ips replaces args.cni.ips,
 * which replaces the configured addresses with CNI_ARGS IP appended.
 */
#include <errno.h>
#include <string.h>

#include "cni/cni.h"

struct static_addr {
	struct cni_prefix address;
	struct cni_ip gateway;
};

struct static_conf {
	struct {
		struct cni_vec addresses; /* struct static_addr */
		struct cni_vec routes;	  /* struct cni_route */
		struct cni_dns dns;
	} ipam;
	bool ipam_seen;
	struct {
		struct {
			struct cni_strv ips;
		} cni;
	} args;
	struct {
		struct cni_strv ips;
	} rc;
};

static const struct cni_field addr_fields[] = {
	CNI_FIELD("address", struct static_addr, CNI_F_PREFIX, address, .flags = CNI_FF_REQUIRED,
	  .help = "an address with its prefix length"),
	CNI_FIELD("gateway", struct static_addr, CNI_F_IP, gateway, .help = "its gateway"),
	CNI_FIELD_END,
};
static const struct cni_field addr_elem = {.type = CNI_F_OBJ, .sub = addr_fields};

#define IPAM(m) offsetof(struct static_conf, ipam.m) - offsetof(struct static_conf, ipam)
static const struct cni_field ipam_fields[] = {
	{.key = "addresses", .type = CNI_F_ARRAY, .off = IPAM(addresses), .sub = &addr_elem,
	 .elem_size = sizeof(struct static_addr), .help = "the addresses of the result"},
	{.key = "routes", .type = CNI_F_ARRAY, .off = IPAM(routes), .sub = &cni_route_elem,
	 .elem_size = sizeof(struct cni_route), .help = "routes of the result"},
	{.key = "dns", .type = CNI_F_OBJ, .off = IPAM(dns), .sub = cni_dns_fields,
	  .help = "DNS of the result"},
	CNI_FIELD_END,
};
static const struct cni_field ips_fields[] = {
	{.key = "ips", .type = CNI_F_STRV, .help = "addresses (CIDR) that replace ipam.addresses"},
	CNI_FIELD_END,
};
static const struct cni_field args_fields[] = {
	{.key = "cni", .type = CNI_F_OBJ, .sub = ips_fields,
	  .help = "the args of the CNI conventions (only ips is read)"},
	CNI_FIELD_END,
};
static const struct cni_field fields[] = {
	CNI_FIELD("ipam", struct static_conf, CNI_F_OBJ, ipam, .sub = ipam_fields,
		  CNI_SEEN(struct static_conf, ipam_seen),
		    .help = "the IPAM section (type static)"),
	CNI_FIELD("args", struct static_conf, CNI_F_OBJ, args, .sub = args_fields,
	  .help = "the runtime's args (args.cni.ips; also CNI_ARGS IP, GATEWAY)"),
	CNI_FIELD("runtimeConfig", struct static_conf, CNI_F_OBJ, rc, .sub = ips_fields,
	  .help = "capability ips: addresses that replace all others"),
	CNI_FIELD_END,
};

/* Replace the address list with CIDR strings from the runtime. */
static int addresses_from(struct static_conf *c, const struct cni_strv *ips, struct cni_err *e)
{
	struct static_addr *a = cni_alloc((ips->n + 1) * sizeof(*a));

	for (size_t i = 0; i < ips->n; i++)
		if (cni_prefix_parse(ips->v[i], &a[i].address))
			return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG,
					"the 'ip' field is expected to be in CIDR notation, got: '%s'",
					ips->v[i]);
	c->ipam.addresses.v = a;
	c->ipam.addresses.n = ips->n;
	return 0;
}

/* CNI_ARGS IP=cidr[,cidr] appended; GATEWAY=ip[,ip] attached to the address containing it. */
static int addresses_from_cni_args(struct cni_ctx *ctx, struct static_conf *c, struct cni_err *e)
{
	const char *ip = cni_args_get(&ctx->args, "IP"), *gw = cni_args_get(&ctx->args, "GATEWAY");
	struct cni_vec *v = &c->ipam.addresses;
	struct static_addr *a;
	char *list, *item, *save;
	size_t n = v->n, cap;

	if (ip && *ip) {
		cap = v->n + 1;
		for (const char *p = ip; *p; p++)
			cap += *p == ',';
		a = cni_alloc(cap * sizeof(*a));
		if (v->n)
			memcpy(a, v->v, v->n * sizeof(*a));
		list = cni_strdup(ip);
		for (item = strtok_r(list, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
			item += strspn(item, " \t");
			item[strcspn(item, " \t")] = '\0';
			if (cni_prefix_parse(item, &a[n].address))
				return cni_fail(e, -EINVAL, CNI_ERR_INVALID_ENV,
						"invalid CIDR %s in CNI_ARGS IP", item);
			n++;
		}
		v->v = a;
		v->n = n;
	}
	if (!gw || !*gw)
		return 0;
	list = cni_strdup(gw);
	for (item = strtok_r(list, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		struct cni_ip g;

		item += strspn(item, " \t");
		item[strcspn(item, " \t")] = '\0';
		if (cni_ip_parse(item, &g))
			return cni_fail(e, -EINVAL, CNI_ERR_INVALID_ENV,
					"invalid gateway address: %s", item);
		a = v->v;
		for (size_t i = 0; i < v->n; i++)
			if (cni_prefix_contains(&a[i].address, &g))
				a[i].gateway = g;
	}
	return 0;
}

static int static_validate(struct cni_ctx *ctx, void *conf, struct cni_err *e)
{
	struct static_conf *c = conf;
	const struct static_addr *a;
	size_t v4 = 0, v6 = 0;
	int r;

	if (!c->ipam_seen)
		return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG, "IPAM config missing 'ipam' key");
	r = addresses_from_cni_args(ctx, c, e);
	if (!r && c->args.cni.ips.n)
		r = addresses_from(c, &c->args.cni.ips, e);
	if (!r && c->rc.ips.n)
		r = addresses_from(c, &c->rc.ips, e);
	if (r)
		return r;
	a = c->ipam.addresses.v;
	for (size_t i = 0; i < c->ipam.addresses.n; i++) {
		if (a[i].gateway.family && a[i].gateway.family != a[i].address.ip.family)
			return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG,
					"gateway of address %zu is not of the address's family", i);
		if (a[i].address.ip.family == AF_INET)
			v4++;
		else
			v6++;
	}
	return cni_one_addr_per_family(ctx, v4, v6, ctx->net.version_str, e);
}

static int static_add(struct cni_ctx *ctx, struct cni_result *res, struct cni_err *e)
{
	const struct static_conf *c = ctx->conf;
	const struct static_addr *a = c->ipam.addresses.v;
	const struct cni_route *rt = c->ipam.routes.v;

	(void)e;
	for (size_t i = 0; i < c->ipam.addresses.n; i++)
		cni_result_add_ip(res, &a[i].address, &a[i].gateway, -1);
	for (size_t i = 0; i < c->ipam.routes.n; i++)
		*cni_result_add_route(res, &rt[i].dst, NULL) = rt[i];
	res->dns = c->ipam.dns;
	return 0;
}

static int static_del(struct cni_ctx *ctx, struct cni_err *e)
{
	(void)ctx;
	(void)e;
	return 0; /* nothing was reserved */
}

/* Every configured address that prevResult lists must carry the configured gateway. */
static int static_check(struct cni_ctx *ctx, struct cni_err *e)
{
	const struct static_conf *c = ctx->conf;
	const struct static_addr *a = c->ipam.addresses.v;
	const struct cni_result *prev = ctx->net.prev;
	char b1[CNI_PREFIX_STRLEN], b2[CNI_IP_STRLEN], b3[CNI_IP_STRLEN];

	if (!prev)
		return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG,
				"Required prevResult missing");
	for (size_t i = 0; i < c->ipam.addresses.n; i++)
		for (size_t j = 0; j < prev->n_ips; j++) {
			const struct cni_ipcfg *p = &prev->ips[j];

			if (!cni_ip_eq(&p->address.ip, &a[i].address.ip) ||
			    p->address.len != a[i].address.len)
				continue;
			if (!cni_ip_eq(&p->gateway, &a[i].gateway))
				return cni_fail(e, -EINVAL, CNI_ERR_INTERNAL,
						"static: gateway of %s is %s in prevResult, configured %s",
						cni_prefix_str(&a[i].address, b1),
						p->gateway.family ? cni_ip_str(&p->gateway, b2) : "none",
						a[i].gateway.family ? cni_ip_str(&a[i].gateway, b3) : "none");
		}
	return 0;
}

static int static_noop(struct cni_ctx *ctx, struct cni_err *e)
{
	(void)ctx;
	(void)e;
	return 0;
}

static const char *const args_keys[] = {"IP", "GATEWAY", NULL};

const struct cni_plugin cni_static_plugin = {
	.name = "static",
	CNI_CONF(fields, struct static_conf),
	.conf_validate = static_validate,
	.args_keys = args_keys,
	CNI_VERBS(static),
	.status = static_noop,
	.gc = static_noop,
};
