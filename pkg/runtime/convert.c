// SPDX-License-Identifier: Apache-2.0
/*
 * Results between spec versions, libcni's GetAsVersion (pkg/types/{020,040,100}) on JSON: the
 * result's own "cniVersion" picks its shape (0.1.0/0.2.0: ip4/ip6 objects; 0.3.0-0.4.0: ips with
 * "version"; 1.0.0/1.1.0: ips without), and the conversion goes through the shapes as Go's does:
 *   - to 0.1.0/0.2.0: the first address of each family, with its gateway and the routes of its
 *     family (dst, gw); "cannot convert: no valid IP addresses" when there is none;
 *   - from 0.1.0/0.2.0: ip4 then ip6 as ips (no interface), their routes v4 first;
 *   - 1.x to 0.3.x/0.4.0: "version" "4"/"6" first in each ip, the interfaces' 1.1.0 keys (mtu,
 *     socketPath, pciID) dropped; the reverse drops "version";
 *   - "dns" is always there ({} when the result has none): Go's result types hold it as a struct,
 *     which encoding/json never omits (libcni 1.1.2 gives {} to CHECK and DEL after a 0.4.0
 *     ADD; tests/netns/libcni_interop.sh found it).
 * Within one shape only "cniVersion" and a missing "dns" change. Plain jansson, nothing global: pkg/cni's codecs
 * live in its per-process arena, which a runtime's threads cannot share.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "runtime/internal.h"

enum shape { SH_020, SH_040, SH_100 };

static int shape_of(const char *v)
{
	static const struct {
		const char *v;
		enum shape s;
	} t[] = { { "0.1.0", SH_020 }, { "0.2.0", SH_020 }, { "0.3.0", SH_040 }, { "0.3.1", SH_040 },
		  { "0.4.0", SH_040 }, { "1.0.0", SH_100 }, { "1.1.0", SH_100 } };

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (!strcmp(v, t[i].v))
			return (int)t[i].s;
	return -1;
}

static bool is_v6(json_t *addr)
{
	const char *s = json_string_value(addr);

	return s && strchr(s, ':');
}

static void copy_key(json_t *dst, json_t *src, const char *k)
{
	json_t *v = json_object_get(src, k);

	if (v)
		json_object_set(dst, k, v);
}

/* A 0.1.0/0.2.0 result as a 0.4.0-shaped one (ips with version, routes flat). */
static json_t *from_020(json_t *r)
{
	json_t *o = json_object(), *ips = json_array(), *routes = json_array();
	static const char *const fam[] = { "ip4", "ip6" };

	for (int f = 0; f < 2; f++) {
		json_t *c = json_object_get(r, fam[f]), *ip, *rt;
		size_t i;

		if (!json_is_object(c))
			continue;
		ip = json_object();
		json_object_set_new(ip, "version", json_string(f ? "6" : "4"));
		if (json_object_get(c, "ip"))
			json_object_set(ip, "address", json_object_get(c, "ip"));
		copy_key(ip, c, "gateway");
		json_array_append_new(ips, ip);
		json_array_foreach(json_object_get(c, "routes"), i, rt)
			json_array_append(routes, rt);
	}
	if (json_array_size(ips))
		json_object_set(o, "ips", ips);
	if (json_array_size(routes))
		json_object_set(o, "routes", routes);
	json_decref(ips);
	json_decref(routes);
	json_object_set_new(o, "dns", json_is_object(json_object_get(r, "dns")) ?
					      json_copy(json_object_get(r, "dns")) : json_object());
	return o;
}

/* A 0.3.x+ result (ips, routes) as 0.2.0: the first address of each family. */
static json_t *to_020(json_t *r, struct cnr_err *e)
{
	json_t *ip[2] = { NULL, NULL }, *o, *x;
	size_t i;

	json_array_foreach(json_object_get(r, "ips"), i, x) {
		int f = is_v6(json_object_get(x, "address"));

		if (json_is_string(json_object_get(x, "address")) && !ip[f])
			ip[f] = x;
	}
	if (!ip[0] && !ip[1]) {
		cnr_fail(e, -EINVAL, CNR_ERR_UNSUPPORTED, "cannot convert: no valid IP addresses");
		return NULL;
	}
	o = json_object();
	for (int f = 0; f < 2; f++) {
		json_t *c, *routes;

		if (!ip[f])
			continue;
		c = json_object();
		json_object_set(c, "ip", json_object_get(ip[f], "address"));
		copy_key(c, ip[f], "gateway");
		routes = json_array();
		json_array_foreach(json_object_get(r, "routes"), i, x) {
			json_t *rt;

			if (is_v6(json_object_get(x, "dst")) != f)
				continue;
			rt = json_object();
			copy_key(rt, x, "dst");
			copy_key(rt, x, "gw");
			json_array_append_new(routes, rt);
		}
		if (json_array_size(routes))
			json_object_set(c, "routes", routes);
		json_decref(routes);
		json_object_set_new(o, f ? "ip6" : "ip4", c);
	}
	json_object_set_new(o, "dns", json_is_object(json_object_get(r, "dns")) ?
					      json_copy(json_object_get(r, "dns")) : json_object());
	return o;
}

/* Between 0.4.0 and 1.x shapes: ips with or without "version", interfaces, dns. */
static json_t *current(json_t *r, bool v1)
{
	json_t *o = json_object(), *a, *x;
	size_t i;

	if ((a = json_object_get(r, "interfaces"))) {
		json_t *na = json_array();

		json_array_foreach(a, i, x) {
			json_t *f = v1 ? json_copy(x) : json_object();

			if (!v1) {
				copy_key(f, x, "name");
				copy_key(f, x, "mac");
				copy_key(f, x, "sandbox");
			}
			json_array_append_new(na, f);
		}
		json_object_set_new(o, "interfaces", na);
	}
	if ((a = json_object_get(r, "ips"))) {
		json_t *na = json_array();

		json_array_foreach(a, i, x) {
			json_t *ip = json_object();

			if (!v1)
				json_object_set_new(ip, "version",
						    json_string(is_v6(json_object_get(x, "address")) ? "6" : "4"));
			copy_key(ip, x, "interface");
			copy_key(ip, x, "address");
			copy_key(ip, x, "gateway");
			json_array_append_new(na, ip);
		}
		json_object_set_new(o, "ips", na);
	}
	copy_key(o, r, "routes");
	x = json_object_get(r, "dns");
	json_object_set_new(o, "dns", json_is_object(x) ? json_copy(x) : json_object());
	(void)v1;
	return o;
}

int cnr_result_convert(const char *result, const char *version, char **out, struct cnr_err *e)
{
	json_t *r = json_loads(result, 0, NULL), *c = NULL, *tmp = NULL, *o;
	const char *from;
	int fs, ts, rc = 0;

	*out = NULL;
	if (!json_is_object(r)) {
		json_decref(r);
		return cnr_fail(e, -EINVAL, CNR_ERR_OUTPUT, "the result is not a JSON object");
	}
	/* create.CreateFromBytes: a result without cniVersion is 0.1.0 */
	from = json_string_value(json_object_get(r, "cniVersion"));
	if (!from || !*from)
		from = "0.1.0";
	if ((fs = shape_of(from)) < 0) {
		rc = cnr_fail(e, -EINVAL, CNR_ERR_OUTPUT, "unsupported CNI result version \"%s\"", from);
		goto out;
	}
	if ((ts = shape_of(version)) < 0) {
		rc = cnr_fail(e, -EINVAL, CNR_ERR_UNSUPPORTED, "unsupported CNI result version \"%s\"",
			      version);
		goto out;
	}
	if (fs == ts) {
		c = json_copy(r);
	} else {
		/* through 0.4.0's shape, as Go converts through types040 */
		tmp = fs == SH_020 ? from_020(r) : fs == SH_100 ? current(r, false) : json_incref(r);
		c = ts == SH_020 ? to_020(tmp, e) : ts == SH_100 ? current(tmp, true) : json_incref(tmp);
		if (!c) {
			rc = -EINVAL;
			goto out;
		}
	}
	/* cniVersion first, as Go's structs print it */
	o = json_pack("{ss}", "cniVersion", version);
	json_object_del(c, "cniVersion");
	json_object_update(o, c);
	/* Go's result types hold dns as a struct, which encoding/json never omits */
	if (!json_object_get(o, "dns"))
		json_object_set_new(o, "dns", json_object());
	json_decref(c);
	c = o;
	if (!(*out = json_dumps(c, JSON_COMPACT | JSON_PRESERVE_ORDER)))
		rc = cnr_fail(e, -ENOMEM, CNR_ERR_OUTPUT, "out of memory");
out:
	json_decref(c);
	json_decref(tmp);
	json_decref(r);
	return rc;
}
