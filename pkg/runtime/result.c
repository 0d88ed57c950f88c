// SPDX-License-Identifier: Apache-2.0
/*
 * Results as C structs (cnr_result_parse) and libcni's ValidateNetworkList (cnr_validate). A
 * result of any version is first brought to the newest shape by cnr_result_convert (the rules
 * of libcni's GetAsVersion), then read key by key.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "runtime/internal.h"

/* "a.b.c.d[/n]" or an IPv6 one into @a; @cidr: the prefix is required (else forbidden). */
static bool parse_addr(const char *s, bool cidr, struct cnr_addr *a)
{
	char buf[sizeof(a->text)], *slash, *end;
	long n = -1;

	if (!s || strlen(s) >= sizeof(buf))
		return false;
	snprintf(buf, sizeof(buf), "%s", s);
	slash = strchr(buf, '/');
	if (!!slash != cidr)
		return false;
	if (slash) {
		*slash = 0;
		errno = 0;
		n = strtol(slash + 1, &end, 10);
		/* digits only, as Go's ParseCIDR: no "/ 24", "/+24" */
		if (!slash[1] || strspn(slash + 1, "0123456789") != strlen(slash + 1) || *end ||
		    n < 0 || errno)
			return false;
	}
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, buf, a->bytes) == 1)
		a->family = AF_INET;
	else if (inet_pton(AF_INET6, buf, a->bytes) == 1)
		a->family = AF_INET6;
	else
		return false;
	if (n > (a->family == AF_INET ? 32 : 128)) {
		a->family = 0;
		return false;
	}
	a->prefix = (int)n;
	snprintf(a->text, sizeof(a->text), "%s", s);
	return true;
}

struct ctx {
	struct cnr_err *e;
	int r;
};

static int bad(struct ctx *c, const char *key, json_t *v, const char *want)
{
	char *t = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);

	if (c->r == 0)
		c->r = cnr_fail(c->e, -EINVAL, CNR_ERR_OUTPUT, "result: %s: %.200s is not %s", key,
				t ? t : "?", want);
	free(t);
	return c->r;
}

/* An optional string key: NULL when absent. */
static char *str_key(struct ctx *c, json_t *o, const char *k, const char *where)
{
	json_t *v = json_object_get(o, k);
	char key[128];
	char *s;

	if (!v || json_is_null(v))
		return NULL;
	if (!json_is_string(v)) {
		snprintf(key, sizeof(key), "%s.%s", where, k);
		bad(c, key, v, "a string");
		return NULL;
	}
	if (!(s = strdup(json_string_value(v))) && !c->r)
		c->r = cnr_fail(c->e, -ENOMEM, CNR_ERR_OUTPUT, "out of memory");
	return s;
}

/* An optional integer key: @absent when absent. */
static int int_key(struct ctx *c, json_t *o, const char *k, const char *where, int absent)
{
	json_t *v = json_object_get(o, k);
	char key[128];

	if (!v || json_is_null(v))
		return absent;
	if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 0x7fffffff) {
		snprintf(key, sizeof(key), "%s.%s", where, k);
		bad(c, key, v, "a non-negative integer");
		return absent;
	}
	return (int)json_integer_value(v);
}

static void addr_key(struct ctx *c, json_t *o, const char *k, const char *where, bool cidr,
		     bool required, struct cnr_addr *a)
{
	json_t *v = json_object_get(o, k);
	char key[128];

	memset(a, 0, sizeof(*a));
	a->prefix = -1;
	if ((!v || json_is_null(v)) && !required)
		return;
	if (!parse_addr(json_string_value(v), cidr, a)) {
		snprintf(key, sizeof(key), "%s.%s", where, k);
		bad(c, key, v ? v : json_null(), cidr ? "a CIDR" : "an IP address");
	}
}

static char **str_array(struct ctx *c, json_t *o, const char *k)
{
	json_t *a = json_object_get(o, k), *v;
	char **out, key[64];
	size_t i;

	if (!a || json_is_null(a))
		return NULL;
	if (!json_is_array(a)) {
		snprintf(key, sizeof(key), "dns.%s", k);
		bad(c, key, a, "an array of strings");
		return NULL;
	}
	if (!(out = calloc(json_array_size(a) + 1, sizeof(*out)))) {
		c->r = c->r ? c->r : cnr_fail(c->e, -ENOMEM, CNR_ERR_OUTPUT, "out of memory");
		return NULL;
	}
	json_array_foreach(a, i, v) {
		if (!json_is_string(v)) {
			snprintf(key, sizeof(key), "dns.%s[%zu]", k, i);
			bad(c, key, v, "a string");
			break;
		}
		out[i] = strdup(json_string_value(v));
	}
	return out;
}

static void free_strv(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

void cnr_result_free(struct cnr_result *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n_interfaces; i++) {
		free(r->interfaces[i].name);
		free(r->interfaces[i].mac);
		free(r->interfaces[i].sandbox);
		free(r->interfaces[i].socket_path);
		free(r->interfaces[i].pci_id);
	}
	free(r->interfaces);
	free(r->ips);
	free(r->routes);
	free_strv(r->dns.nameservers);
	free(r->dns.domain);
	free_strv(r->dns.search);
	free_strv(r->dns.options);
	free(r);
}

/* The array @k of @o, or NULL (with an error when present but not an array). */
static json_t *array_key(struct ctx *c, json_t *o, const char *k)
{
	json_t *a = json_object_get(o, k);

	if (!a || json_is_null(a))
		return NULL;
	if (!json_is_array(a)) {
		bad(c, k, a, "an array");
		return NULL;
	}
	return a;
}

static void *alloc_n(struct ctx *c, size_t n, size_t size)
{
	void *p = n ? calloc(n, size) : NULL;

	if (n && !p && !c->r)
		c->r = cnr_fail(c->e, -ENOMEM, CNR_ERR_OUTPUT, "out of memory");
	return p;
}

int cnr_result_parse(const char *json, struct cnr_result **out, struct cnr_err *e)
{
	struct ctx c = { .e = e };
	struct cnr_result *r;
	json_t *o, *a, *x, *dns;
	const char *ver;
	char *cur = NULL, where[64];
	size_t i;

	*out = NULL;
	if (e)
		*e = (struct cnr_err){ .plugin_index = -1 };
	/* the original version, then the newest shape (cnr_result_convert checks both) */
	o = json_loads(json ? json : "", 0, NULL);
	ver = json_string_value(json_object_get(o, "cniVersion"));
	if (!json_is_object(o) || (json_object_get(o, "cniVersion") && !json_is_string(json_object_get(o, "cniVersion")))) {
		json_decref(o);
		return cnr_fail(e, -EINVAL, CNR_ERR_OUTPUT, "result: not a JSON object with a string cniVersion");
	}
	if (!(r = calloc(1, sizeof(*r)))) {
		json_decref(o);
		return cnr_fail(e, -ENOMEM, CNR_ERR_OUTPUT, "out of memory");
	}
	snprintf(r->cni_version, sizeof(r->cni_version), "%s", ver && *ver ? ver : "0.1.0");
	json_decref(o);
	if ((c.r = cnr_result_convert(json, CNR_SPEC_VERSION, &cur, e)) < 0) {
		if (e)
			e->code = CNR_ERR_OUTPUT;
		cnr_result_free(r);
		return c.r;
	}
	o = json_loads(cur, 0, NULL);
	free(cur);

	if ((a = array_key(&c, o, "interfaces"))) {
		r->interfaces = alloc_n(&c, json_array_size(a), sizeof(*r->interfaces));
		json_array_foreach(a, i, x) {
			struct cnr_interface *f;

			if (!r->interfaces)
				break;
			f = &r->interfaces[r->n_interfaces++];
			snprintf(where, sizeof(where), "interfaces[%zu]", i);
			if (!json_is_object(x)) {
				bad(&c, where, x, "an object");
				break;
			}
			f->name = str_key(&c, x, "name", where);
			f->mac = str_key(&c, x, "mac", where);
			f->sandbox = str_key(&c, x, "sandbox", where);
			f->socket_path = str_key(&c, x, "socketPath", where);
			f->pci_id = str_key(&c, x, "pciID", where);
			f->mtu = int_key(&c, x, "mtu", where, 0);
		}
	}
	if ((a = array_key(&c, o, "ips"))) {
		r->ips = alloc_n(&c, json_array_size(a), sizeof(*r->ips));
		json_array_foreach(a, i, x) {
			struct cnr_ip *ip;

			if (!r->ips)
				break;
			ip = &r->ips[r->n_ips++];
			snprintf(where, sizeof(where), "ips[%zu]", i);
			if (!json_is_object(x)) {
				bad(&c, where, x, "an object");
				break;
			}
			addr_key(&c, x, "address", where, true, true, &ip->address);
			addr_key(&c, x, "gateway", where, false, false, &ip->gateway);
			ip->interface = int_key(&c, x, "interface", where, -1);
			if (ip->interface >= (int)r->n_interfaces && !c.r) {
				snprintf(where, sizeof(where), "ips[%zu].interface", i);
				bad(&c, where, json_object_get(x, "interface"),
				    "an index into interfaces");
			}
		}
	}
	if ((a = array_key(&c, o, "routes"))) {
		r->routes = alloc_n(&c, json_array_size(a), sizeof(*r->routes));
		json_array_foreach(a, i, x) {
			struct cnr_route *rt;

			if (!r->routes)
				break;
			rt = &r->routes[r->n_routes++];
			snprintf(where, sizeof(where), "routes[%zu]", i);
			if (!json_is_object(x)) {
				bad(&c, where, x, "an object");
				break;
			}
			addr_key(&c, x, "dst", where, true, true, &rt->dst);
			addr_key(&c, x, "gw", where, false, false, &rt->gw);
			rt->mtu = int_key(&c, x, "mtu", where, -1);
			rt->advmss = int_key(&c, x, "advmss", where, -1);
			rt->priority = int_key(&c, x, "priority", where, -1);
			rt->table = int_key(&c, x, "table", where, -1);
			rt->scope = int_key(&c, x, "scope", where, -1);
		}
	}
	dns = json_object_get(o, "dns");
	if (dns && !json_is_object(dns))
		bad(&c, "dns", dns, "an object");
	else if (dns) {
		r->dns.nameservers = str_array(&c, dns, "nameservers");
		r->dns.domain = str_key(&c, dns, "domain", "dns");
		r->dns.search = str_array(&c, dns, "search");
		r->dns.options = str_array(&c, dns, "options");
	}
	json_decref(o);
	if (c.r < 0) {
		cnr_result_free(r);
		return c.r;
	}
	*out = r;
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int cnr_validate(const struct cnr_list *l, const struct cnr_rt *rt, char ***caps, struct cnr_err *e)
{
	const char *want = *l->version ? l->version : "0.1.0";
	struct cnr_err first = { .plugin_index = -1 };
	char msg[sizeof(first.msg)] = "";
	size_t nmsg = 0, ncaps = 0, i, k;
	char **cv = NULL;
	json_t *p;

	if (e)
		*e = (struct cnr_err){ .plugin_index = -1 };
	if (caps)
		*caps = NULL;
	json_array_foreach(l->plugins, i, p) {
		struct cnr_err one = { .plugin_index = -1 };
		char *info = NULL;
		json_t *o, *v;
		bool found = false;

		if (cnr_version_info(l, i, rt, &info, &one) < 0) {
			if (!one.code) /* an error object with code 0, or our own failure */
				one.code = CNR_ERR_EXEC;
		} else {
			o = json_loads(info, 0, NULL);
			json_array_foreach(json_object_get(o, "supportedVersions"), k, v)
				found = found || !strcmp(json_string_value(v), want);
			json_decref(o);
			free(info);
			if (!found)
				cnr_fail(&one, -ENOTSUP, CNR_ERR_UNSUPPORTED,
					 "plugin %s does not support config version \"%s\"",
					 cnr_list_plugin_type(l, i), want);
		}
		if (one.code) {
			if (!first.code) {
				first = one;
				snprintf(first.plugin, sizeof(first.plugin), "%s", cnr_list_plugin_type(l, i));
				first.plugin_index = (int)i;
			}
			nmsg += (size_t)snprintf(msg + nmsg, nmsg < sizeof(msg) ? sizeof(msg) - nmsg : 0,
						 "%s%s", nmsg ? "; " : "", one.msg);
			if (nmsg >= sizeof(msg))
				nmsg = sizeof(msg) - 1;
		}
	}
	if (first.code) {
		if (e) {
			*e = first;
			snprintf(e->msg, sizeof(e->msg), "%s", msg);
		}
		return first.code == CNR_ERR_PLUGIN_MISSING ? -ENOENT : -EINVAL;
	}
	/* the capabilities declared true, sorted, once each */
	json_array_foreach(l->plugins, i, p) {
		const char *key;
		json_t *v;

		json_object_foreach(json_object_get(p, "capabilities"), key, v)
			if (json_is_true(v))
				ncaps++;
	}
	if (!(cv = calloc(ncaps + 1, sizeof(*cv))))
		return cnr_fail(e, -ENOMEM, CNR_ERR_CONFIG, "out of memory");
	ncaps = 0;
	json_array_foreach(l->plugins, i, p) {
		const char *key;
		json_t *v;

		json_object_foreach(json_object_get(p, "capabilities"), key, v) {
			bool dup = false;

			for (k = 0; k < ncaps; k++)
				dup = dup || !strcmp(cv[k], key);
			if (json_is_true(v) && !dup && !(cv[ncaps++] = strdup(key))) {
				free_strv(cv);
				return cnr_fail(e, -ENOMEM, CNR_ERR_CONFIG, "out of memory");
			}
		}
	}
	qsort(cv, ncaps, sizeof(*cv), cmp_str);
	if (caps)
		*caps = cv;
	else
		free_strv(cv);
	return (int)ncaps;
}
