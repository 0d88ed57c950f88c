// SPDX-License-Identifier: Apache-2.0
/*
 * The result model and its codecs. One model (the 1.1.0 shape) and three encodings:
 * 0.1.0/0.2.0 (ip4/ip6 objects), 0.3.x/0.4.0 ("version" in each ip) and 1.x. Conversion rules
 * and key order follow the Go library (containernetworking/cni pkg/types), so runtimes that
 * parse results or cache them see what they saw from the reference plugins.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

struct cni_result *cni_result_new(void)
{
	return cni_alloc(sizeof(struct cni_result));
}

int cni_result_add_iface(struct cni_result *r, const char *name, const char *mac,
			 const char *sandbox)
{
	struct cni_iface *i;

	r->ifaces = cni_grow(r->ifaces, &r->cap_ifaces, r->n_ifaces + 1, sizeof(*r->ifaces));
	i = &r->ifaces[r->n_ifaces];
	memset(i, 0, sizeof(*i));
	i->name = cni_strdup(name);
	i->mac = mac && *mac ? cni_strdup(mac) : NULL;
	i->sandbox = sandbox && *sandbox ? cni_strdup(sandbox) : NULL;
	return (int)r->n_ifaces++;
}

int cni_result_add_ip(struct cni_result *r, const struct cni_prefix *addr,
		      const struct cni_ip *gw, int iface)
{
	struct cni_ipcfg *c;

	r->ips = cni_grow(r->ips, &r->cap_ips, r->n_ips + 1, sizeof(*r->ips));
	c = &r->ips[r->n_ips];
	memset(c, 0, sizeof(*c));
	c->address = *addr;
	if (gw)
		c->gateway = *gw;
	c->iface = iface;
	return (int)r->n_ips++;
}

struct cni_route *cni_result_add_route(struct cni_result *r, const struct cni_prefix *dst,
				       const struct cni_ip *gw)
{
	struct cni_route *rt;

	r->routes = cni_grow(r->routes, &r->cap_routes, r->n_routes + 1, sizeof(*r->routes));
	rt = &r->routes[r->n_routes++];
	memset(rt, 0, sizeof(*rt));
	rt->dst = *dst;
	if (gw)
		rt->gw = *gw;
	rt->table = -1;
	rt->scope = -1;
	return rt;
}

static void strv_copy(struct cni_strv *d, const struct cni_strv *s)
{
	d->n = s->n;
	d->v = cni_alloc((s->n + 1) * sizeof(char *));
	for (size_t i = 0; i < s->n; i++)
		d->v[i] = cni_strdup(s->v[i]);
}

void cni_result_add_ips(struct cni_result *r, const struct cni_result *src, int iface)
{
	for (size_t i = 0; i < src->n_ips; i++)
		cni_result_add_ip(r, &src->ips[i].address, &src->ips[i].gateway, iface);
	for (size_t i = 0; i < src->n_routes; i++)
		*cni_result_add_route(r, &src->routes[i].dst, NULL) = src->routes[i];
}

struct cni_prefix *cni_result_addrs(const struct cni_result *res, int iface, size_t *n)
{
	struct cni_prefix *ips = cni_alloc((res->n_ips + 1) * sizeof(*ips));

	*n = 0;
	for (size_t i = 0; i < res->n_ips; i++)
		if (iface < 0 || res->ips[i].iface == iface)
			ips[(*n)++] = res->ips[i].address;
	return ips;
}

const struct cni_iface *cni_result_iface(const struct cni_result *res, const char *name,
					 const char *sandbox, int *idx)
{
	for (size_t i = 0; i < res->n_ifaces; i++) {
		const struct cni_iface *f = &res->ifaces[i];

		if (!f->name || strcmp(f->name, name))
			continue;
		if (sandbox ? !f->sandbox || strcmp(f->sandbox, sandbox) : f->sandbox && *f->sandbox)
			continue;
		if (idx)
			*idx = (int)i;
		return f;
	}
	return NULL;
}

int cni_prev_container_iface(const struct cni_ctx *ctx, const struct cni_iface **out, int *idx,
			     struct cni_err *e)
{
	if (!ctx->net.prev)
		return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG, "Required prevResult missing");
	*out = cni_result_iface(ctx->net.prev, ctx->env.ifname, ctx->env.netns, idx);
	if (!*out)
		return cni_fail(e, -ENOENT, 0,
				"interface \"%s\" with sandbox \"%s\" not found in prevResult",
				ctx->env.ifname, ctx->env.netns);
	return 0;
}

int cni_one_addr_per_family(const struct cni_ctx *ctx, size_t nv4, size_t nv6,
			    const char *version, struct cni_err *e)
{
	if ((nv4 > 1 || nv6 > 1) && ctx->net.version < CNI_V030)
		return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG,
				"CNI version %s does not support more than 1 address per family",
				version);
	return 0;
}

struct cni_result *cni_result_copy(const struct cni_result *r)
{
	struct cni_result *c = cni_result_new();

	for (size_t i = 0; i < r->n_ifaces; i++) {
		const struct cni_iface *s = &r->ifaces[i];
		int idx = cni_result_add_iface(c, s->name, s->mac, s->sandbox);
		struct cni_iface *d = &c->ifaces[idx];

		d->mtu = s->mtu;
		d->socket_path = cni_strdup(s->socket_path);
		d->pci_id = cni_strdup(s->pci_id);
	}
	for (size_t i = 0; i < r->n_ips; i++)
		cni_result_add_ip(c, &r->ips[i].address, &r->ips[i].gateway, r->ips[i].iface);
	for (size_t i = 0; i < r->n_routes; i++)
		*cni_result_add_route(c, &r->routes[i].dst, NULL) = r->routes[i];
	strv_copy(&c->dns.nameservers, &r->dns.nameservers);
	strv_copy(&c->dns.search, &r->dns.search);
	strv_copy(&c->dns.options, &r->dns.options);
	c->dns.domain = cni_strdup(r->dns.domain);
	return c;
}

bool cni_dns_empty(const struct cni_dns *d)
{
	return !d->nameservers.n && !(d->domain && *d->domain) && !d->search.n && !d->options.n;
}

/* ---- encoding ------------------------------------------------------------------------------- */

static void set_str(json_t *o, const char *k, const char *v)
{
	json_object_set_new(o, k, json_string(v));
}

static void set_ip(json_t *o, const char *k, const struct cni_ip *ip)
{
	char buf[CNI_IP_STRLEN];

	if (ip->family)
		set_str(o, k, cni_ip_str(ip, buf));
}

static void set_prefix(json_t *o, const char *k, const struct cni_prefix *p)
{
	char buf[CNI_PREFIX_STRLEN];

	set_str(o, k, cni_prefix_str(p, buf));
}

static json_t *strv_json(const struct cni_strv *s)
{
	json_t *a = json_array();

	for (size_t i = 0; i < s->n; i++)
		json_array_append_new(a, json_string(s->v[i]));
	return a;
}

json_t *cni_dns_to_json(const struct cni_dns *d)
{
	json_t *o = json_object();

	if (d->nameservers.n)
		json_object_set_new(o, "nameservers", strv_json(&d->nameservers));
	if (d->domain && *d->domain)
		set_str(o, "domain", d->domain);
	if (d->search.n)
		json_object_set_new(o, "search", strv_json(&d->search));
	if (d->options.n)
		json_object_set_new(o, "options", strv_json(&d->options));
	return o;
}

json_t *cni_route_to_json(const struct cni_route *rt, bool full)
{
	json_t *o = json_object();

	set_prefix(o, "dst", &rt->dst);
	set_ip(o, "gw", &rt->gw);
	if (!full)
		return o;
	if (rt->mtu)
		json_object_set_new(o, "mtu", json_integer(rt->mtu));
	if (rt->advmss)
		json_object_set_new(o, "advmss", json_integer(rt->advmss));
	if (rt->priority)
		json_object_set_new(o, "priority", json_integer(rt->priority));
	if (rt->table >= 0)
		json_object_set_new(o, "table", json_integer(rt->table));
	if (rt->scope >= 0)
		json_object_set_new(o, "scope", json_integer(rt->scope));
	return o;
}

/* 0.3.0 through 1.1.0: interfaces, ips, routes, dns. */
static json_t *encode_current(const struct cni_result *r, enum cni_version v)
{
	bool v1 = v >= CNI_V100;
	json_t *root = json_object(), *a;

	set_str(root, "cniVersion", cni_version_str(v));
	if (r->n_ifaces) {
		a = json_array();
		for (size_t i = 0; i < r->n_ifaces; i++) {
			const struct cni_iface *f = &r->ifaces[i];
			json_t *o = json_object();

			set_str(o, "name", f->name ? f->name : "");
			if (f->mac && *f->mac)
				set_str(o, "mac", f->mac);
			if (v1 && f->mtu)
				json_object_set_new(o, "mtu", json_integer(f->mtu));
			if (f->sandbox && *f->sandbox)
				set_str(o, "sandbox", f->sandbox);
			if (v1 && f->socket_path && *f->socket_path)
				set_str(o, "socketPath", f->socket_path);
			if (v1 && f->pci_id && *f->pci_id)
				set_str(o, "pciID", f->pci_id);
			json_array_append_new(a, o);
		}
		json_object_set_new(root, "interfaces", a);
	}
	if (r->n_ips) {
		a = json_array();
		for (size_t i = 0; i < r->n_ips; i++) {
			const struct cni_ipcfg *c = &r->ips[i];
			json_t *o = json_object();

			if (!v1)
				set_str(o, "version", c->address.ip.family == AF_INET6 ? "6" : "4");
			if (c->iface >= 0)
				json_object_set_new(o, "interface", json_integer(c->iface));
			set_prefix(o, "address", &c->address);
			set_ip(o, "gateway", &c->gateway);
			json_array_append_new(a, o);
		}
		json_object_set_new(root, "ips", a);
	}
	if (r->n_routes) {
		a = json_array();
		for (size_t i = 0; i < r->n_routes; i++)
			json_array_append_new(a, cni_route_to_json(&r->routes[i], true));
		json_object_set_new(root, "routes", a);
	}
	/* The 1.x encoder omits an empty dns; 0.3.x/0.4.0 always print it. */
	if (!v1 || !cni_dns_empty(&r->dns))
		json_object_set_new(root, "dns", cni_dns_to_json(&r->dns));
	return root;
}

static json_t *legacy_ipconfig(const struct cni_result *r, const struct cni_ipcfg *c)
{
	json_t *o = json_object(), *routes = json_array();

	set_prefix(o, "ip", &c->address);
	set_ip(o, "gateway", &c->gateway);
	for (size_t i = 0; i < r->n_routes; i++)
		if (r->routes[i].dst.ip.family == c->address.ip.family)
			json_array_append_new(routes, cni_route_to_json(&r->routes[i], false));
	if (json_array_size(routes))
		json_object_set_new(o, "routes", routes);
	else
		json_decref(routes);
	return o;
}

/* 0.1.0/0.2.0: the first address of each family, routes nested under their family. */
static json_t *encode_legacy(const struct cni_result *r, enum cni_version v, struct cni_err *e)
{
	const struct cni_ipcfg *ip4 = NULL, *ip6 = NULL;
	json_t *root;

	for (size_t i = 0; i < r->n_ips; i++) {
		const struct cni_ipcfg *c = &r->ips[i];

		if (c->address.ip.family == AF_INET && !ip4)
			ip4 = c;
		else if (c->address.ip.family == AF_INET6 && !ip6)
			ip6 = c;
	}
	if (!ip4 && !ip6) {
		cni_fail(e, -EINVAL, CNI_ERR_INCOMPATIBLE_VERSION,
			 "cannot convert: no valid IP addresses");
		return NULL;
	}
	root = json_object();
	set_str(root, "cniVersion", cni_version_str(v));
	if (ip4)
		json_object_set_new(root, "ip4", legacy_ipconfig(r, ip4));
	if (ip6)
		json_object_set_new(root, "ip6", legacy_ipconfig(r, ip6));
	json_object_set_new(root, "dns", cni_dns_to_json(&r->dns));
	return root;
}

char *cni_result_encode(const struct cni_result *r, enum cni_version v, struct cni_err *e)
{
	json_t *root = v <= CNI_V020 ? encode_legacy(r, v, e) : encode_current(r, v);
	char *s;

	if (!root)
		return NULL;
	s = cni_json_dump(root, JSON_INDENT(4) | JSON_PRESERVE_ORDER);
	json_decref(root);
	return s;
}

/* ---- decoding ------------------------------------------------------------------------------- */

static const char *jstr(json_t *o, const char *k)
{
	return json_string_value(cni_json_get(o, k));
}

static int decode_fail(struct cni_err *e, const char *what, const char *val)
{
	return cni_fail(e, -EINVAL, CNI_ERR_DECODE, "invalid result: %s \"%s\"", what,
			val ? val : "(missing)");
}

/* An integer member stored in an int: one that does not fit is an error, never truncated. */
static int decode_int(json_t *o, const char *k, int *out, struct cni_err *e)
{
	json_t *v = cni_json_get(o, k);
	json_int_t x;

	if (!json_is_integer(v))
		return 0;
	x = json_integer_value(v);
	if (x < INT_MIN || x > INT_MAX)
		return cni_fail(e, -ERANGE, CNI_ERR_DECODE,
				"invalid result: %s %" JSON_INTEGER_FORMAT " out of range", k, x);
	*out = (int)x;
	return 0;
}

static int decode_ip(json_t *o, const char *k, struct cni_ip *ip, struct cni_err *e)
{
	const char *s = jstr(o, k);

	memset(ip, 0, sizeof(*ip));
	if (!s || !*s)
		return 0;
	if (cni_ip_parse(s, ip))
		return decode_fail(e, k, s);
	return 0;
}

static int decode_route(struct cni_result *r, json_t *o, struct cni_err *e)
{
	struct cni_route *rt;
	struct cni_prefix dst;
	const char *s = jstr(o, "dst");

	if (!json_is_object(o))
		return cni_fail(e, -EINVAL, CNI_ERR_DECODE, "invalid result: route is not an object");
	if (cni_prefix_parse(s, &dst))
		return decode_fail(e, "route dst", s);
	rt = cni_result_add_route(r, &dst, NULL);
	if (decode_ip(o, "gw", &rt->gw, e))
		return -EINVAL;
	if (decode_int(o, "mtu", &rt->mtu, e) || decode_int(o, "advmss", &rt->advmss, e) ||
	    decode_int(o, "priority", &rt->priority, e) || decode_int(o, "table", &rt->table, e) ||
	    decode_int(o, "scope", &rt->scope, e))
		return -ERANGE;
	return 0;
}

static int decode_routes(struct cni_result *r, json_t *a, struct cni_err *e)
{
	size_t i;
	json_t *o;

	if (a && !json_is_array(a) && !json_is_null(a))
		return cni_fail(e, -EINVAL, CNI_ERR_DECODE, "invalid result: routes is not a list");
	json_array_foreach(a, i, o)
	{
		if (decode_route(r, o, e))
			return -EINVAL;
	}
	return 0;
}

static int decode_dns(struct cni_result *r, json_t *d, struct cni_err *e)
{
	if (!d || json_is_null(d))
		return 0;
	if (!json_is_object(d))
		return cni_fail(e, -EINVAL, CNI_ERR_DECODE, "invalid result: dns is not an object");
	return cni_fields_parse(d, cni_dns_fields, &r->dns, "dns", e);
}

static int decode_legacy_ip(struct cni_result *r, json_t *o, int family, struct cni_err *e)
{
	struct cni_prefix p;
	struct cni_ip gw;
	const char *s;

	if (!o || json_is_null(o))
		return 0;
	s = jstr(o, "ip");
	if (cni_prefix_parse(s, &p) || p.ip.family != family)
		return decode_fail(e, family == AF_INET ? "ip4.ip" : "ip6.ip", s);
	if (decode_ip(o, "gateway", &gw, e))
		return -EINVAL;
	cni_result_add_ip(r, &p, &gw, -1);
	return 0;
}

struct cni_result *cni_result_from_json(json_t *root, struct cni_err *e)
{
	struct cni_result *r = cni_result_new();
	json_t *a, *o;
	size_t i;

	if (!json_is_object(root)) {
		cni_fail(e, -EINVAL, CNI_ERR_DECODE, "invalid result: not a JSON object");
		return NULL;
	}
	if (cni_json_get(root, "ip4") || cni_json_get(root, "ip6")) {
		if (decode_legacy_ip(r, cni_json_get(root, "ip4"), AF_INET, e) ||
		    decode_legacy_ip(r, cni_json_get(root, "ip6"), AF_INET6, e))
			return NULL;
		/* Nested routes become top-level routes, v4 first. */
		if (decode_routes(r, cni_json_get(cni_json_get(root, "ip4"), "routes"), e) ||
		    decode_routes(r, cni_json_get(cni_json_get(root, "ip6"), "routes"), e) ||
		    decode_dns(r, cni_json_get(root, "dns"), e))
			return NULL;
		return r;
	}
	a = cni_json_get(root, "interfaces");
	json_array_foreach(a, i, o)
	{
		struct cni_iface *f;
		int idx;

		if (!json_is_object(o)) {
			cni_fail(e, -EINVAL, CNI_ERR_DECODE, "invalid result: interface %zu", i);
			return NULL;
		}
		/* The array may move while it grows: index it only after the append. */
		idx = cni_result_add_iface(r, jstr(o, "name"), jstr(o, "mac"), jstr(o, "sandbox"));
		f = &r->ifaces[idx];
		if (!f->name)
			f->name = cni_strdup("");
		f->mtu = 0;
		if (decode_int(o, "mtu", &f->mtu, e))
			return NULL;
		f->socket_path = cni_strdup(jstr(o, "socketPath"));
		f->pci_id = cni_strdup(jstr(o, "pciID"));
	}
	/* "ip" was the 0.3.0 spec text's spelling; real code always wrote "ips". */
	a = cni_json_get(root, "ips");
	json_array_foreach(a, i, o)
	{
		struct cni_prefix p;
		struct cni_ip gw;
		const char *s = jstr(o, "address");
		int iface;

		if (!json_is_object(o) || cni_prefix_parse(s, &p)) {
			decode_fail(e, "ips address", s);
			return NULL;
		}
		if (decode_ip(o, "gateway", &gw, e))
			return NULL;
		iface = -1;
		if (decode_int(o, "interface", &iface, e))
			return NULL;
		cni_result_add_ip(r, &p, &gw, iface);
	}
	if (decode_routes(r, cni_json_get(root, "routes"), e) ||
	    decode_dns(r, cni_json_get(root, "dns"), e))
		return NULL;
	return r;
}

struct cni_result *cni_result_decode(const char *json, size_t len, struct cni_err *e)
{
	json_t *root = cni_json_load(json, len, "invalid result", e);
	struct cni_result *r;

	if (!root)
		return NULL;
	r = cni_result_from_json(root, e);
	json_decref(root);
	return r;
}
