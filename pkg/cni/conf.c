// SPDX-License-Identifier: Apache-2.0
/*
 * The schema-driven configuration parser: a plugin lists its keys in a struct cni_field table
 * and gets a plain C struct back. Matching follows Go's encoding/json, which the reference
 * plugins use: case-insensitive keys with exact matches preferred, unknown keys ignored, null
 * leaving a field at its default, the last duplicate winning, and a wrong JSON type an error.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal.h"

json_t *cni_json_get(json_t *obj, const char *key)
{
	const char *k;
	json_t *v, *found = NULL;

	if (!json_is_object(obj))
		return NULL;
	v = json_object_get(obj, key);
	if (v)
		return v;
	json_object_foreach(obj, k, v)
	{
		if (!strcasecmp(k, key))
			found = v;
	}
	return found;
}

json_t *cni_json_load(const char *text, size_t len, const char *what, struct cni_err *e)
{
	json_error_t jerr;
	json_t *root = json_loadb(text, len, 0, &jerr);

	if (!root)
		cni_fail(e, -EINVAL, CNI_ERR_DECODE, "%s: %s (line %d, column %d)", what, jerr.text,
			 jerr.line, jerr.column);
	return root;
}

char *cni_json_dump(json_t *v, size_t flags)
{
	char *s = json_dumps(v, flags | JSON_ENCODE_ANY), *r;

	if (!s)
		return NULL;
	r = cni_strdup(s);
	free(s);
	return r;
}

static const char *type_name(json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "object";
	case JSON_ARRAY:
		return "array";
	case JSON_STRING:
		return "string";
	case JSON_INTEGER:
	case JSON_REAL:
		return "number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "bool";
	default:
		return "null";
	}
}

static const char *want_name(enum cni_ftype t)
{
	switch (t) {
	case CNI_F_BOOL:
		return "bool";
	case CNI_F_INT:
	case CNI_F_I64:
		return "integer";
	case CNI_F_STRV:
	case CNI_F_ARRAY:
		return "array";
	case CNI_F_OBJ:
	case CNI_F_STRMAP:
		return "object";
	case CNI_F_JSON:
		return "value";
	default:
		return "string";
	}
}

static int type_error(struct cni_err *e, const char *path, json_t *v, enum cni_ftype t)
{
	return cni_fail(e, -EINVAL, CNI_ERR_DECODE,
			"cannot unmarshal %s into field \"%s\" of type %s", type_name(v), path,
			want_name(t));
}

static int parse_value(json_t *v, const struct cni_field *f, void *dst, const char *path,
		       struct cni_err *e);

static int parse_address(json_t *v, const struct cni_field *f, void *dst, const char *path,
			 struct cni_err *e)
{
	const char *s = json_string_value(v);
	int r;

	if (f->type == CNI_F_IP) {
		r = cni_ip_parse(s, dst);
		if (r)
			return cni_fail(e, r, CNI_ERR_INVALID_CONFIG,
					"invalid IP address \"%s\" in \"%s\"", s, path);
		return 0;
	}
	if (f->type == CNI_F_PREFIX)
		r = cni_prefix_parse(s, dst);
	else
		r = cni_ip_or_prefix_parse(s, dst, NULL);
	if (r)
		return cni_fail(e, r, CNI_ERR_INVALID_CONFIG, "invalid CIDR address \"%s\" in \"%s\"",
				s, path);
	return 0;
}

static int parse_array(json_t *v, const struct cni_field *f, void *dst, const char *path,
		       struct cni_err *e)
{
	const struct cni_field *elem = f->sub;
	struct cni_vec *vec = dst;
	size_t n = json_array_size(v);
	char sub[256];
	int r;

	vec->n = n;
	vec->v = n ? cni_alloc(n * f->elem_size) : NULL;
	for (size_t i = 0; i < n; i++) {
		json_t *item = json_array_get(v, i);

		if (elem->init)
			elem->init((char *)vec->v + i * f->elem_size);
		snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
		if (json_is_null(item) && elem->type == CNI_F_OBJ) {
			/* Go leaves a zero element; one without its required keys is refused here
			 * (static's [null] address was taken, and its result could not be DELeted) */
			json_t *none = json_object();

			r = cni_fields_parse(none, elem->sub, (char *)vec->v + i * f->elem_size, sub,
					     e);
			json_decref(none);
			if (r)
				return r;
			continue;
		}
		if (json_is_null(item))
			continue; /* Go leaves a zero element */
		r = parse_value(item, f->sub, (char *)vec->v + i * f->elem_size, sub, e);
		if (r)
			return r;
	}
	return 0;
}

static int parse_value(json_t *v, const struct cni_field *f, void *dst, const char *path,
		       struct cni_err *e)
{
	switch (f->type) {
	case CNI_F_STR:
		if (!json_is_string(v))
			return type_error(e, path, v, f->type);
		*(char **)dst = cni_strdup(json_string_value(v));
		if ((f->flags & CNI_FF_NONEMPTY) && !json_string_length(v))
			return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG, "\"%s\" must not be empty",
					path);
		return 0;
	case CNI_F_BOOL:
		if (!json_is_boolean(v))
			return type_error(e, path, v, f->type);
		*(bool *)dst = json_is_true(v);
		return 0;
	case CNI_F_INT:
	case CNI_F_I64: {
		long long x, lo = f->min, hi = f->max;

		if (json_is_real(v)) {
			double d = json_real_value(v);

			/* range first: a cast from a double outside long long's is undefined */
			if (!(d >= -0x1p63 && d < 0x1p63))
				return cni_fail(e, -ERANGE, CNI_ERR_DECODE,
						"cannot unmarshal number %g into field \"%s\" of type %s",
						d, path, want_name(f->type));
			if (d != (double)(long long)d)
				return type_error(e, path, v, f->type);
			x = (long long)d;
		} else if (json_is_integer(v))
			x = json_integer_value(v);
		else
			return type_error(e, path, v, f->type);
		if (lo >= hi && f->type == CNI_F_INT) {
			lo = INT_MIN;
			hi = INT_MAX;
		}
		if (lo < hi && (x < lo || x > hi))
			return cni_fail(e, -ERANGE, CNI_ERR_INVALID_CONFIG,
					"invalid value %lld for \"%s\": must be between %lld and %lld",
					x, path, lo, hi);
		if (f->type == CNI_F_INT)
			*(int *)dst = (int)x;
		else
			*(long long *)dst = x;
		return 0;
	}
	case CNI_F_IP:
	case CNI_F_PREFIX:
	case CNI_F_IPPREFIX:
		if (!json_is_string(v))
			return type_error(e, path, v, f->type);
		return parse_address(v, f, dst, path, e);
	case CNI_F_STRV: {
		struct cni_strv *sv = dst;
		size_t n;

		if (!json_is_array(v))
			return type_error(e, path, v, f->type);
		n = json_array_size(v);
		sv->v = cni_alloc((n + 1) * sizeof(char *));
		sv->n = n;
		for (size_t i = 0; i < n; i++) {
			json_t *s = json_array_get(v, i);

			if (json_is_null(s)) {
				sv->v[i] = cni_strdup("");
				continue;
			}
			if (!json_is_string(s))
				return type_error(e, path, s, CNI_F_STR);
			sv->v[i] = cni_strdup(json_string_value(s));
		}
		if ((f->flags & CNI_FF_NONEMPTY) && !n)
			return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG, "\"%s\" must not be empty",
					path);
		return 0;
	}
	case CNI_F_OBJ:
		if (!json_is_object(v))
			return type_error(e, path, v, f->type);
		return cni_fields_parse(v, f->sub, dst, path, e);
	case CNI_F_ARRAY:
		if (!json_is_array(v))
			return type_error(e, path, v, f->type);
		if ((f->flags & CNI_FF_NONEMPTY) && !json_array_size(v))
			return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG, "\"%s\" must not be empty",
					path);
		return parse_array(v, f, dst, path, e);
	case CNI_F_STRMAP: {
		struct cni_kvv *m = dst;
		const char *k;
		json_t *s;
		size_t i = 0;

		if (!json_is_object(v))
			return type_error(e, path, v, f->type);
		m->v = cni_alloc((json_object_size(v) + 1) * sizeof(*m->v));
		json_object_foreach(v, k, s)
		{
			if (!json_is_string(s))
				return type_error(e, path, s, CNI_F_STR);
			m->v[i].key = cni_strdup(k);
			m->v[i].value = cni_strdup(json_string_value(s));
			i++;
		}
		m->n = i;
		return 0;
	}
	case CNI_F_JSON:
		*(char **)dst = cni_json_dump(v, JSON_COMPACT | JSON_PRESERVE_ORDER);
		return 0;
	}
	return -EINVAL;
}

/* The field an input key lands in: exact name first, then case-insensitive. */
static const struct cni_field *match_field(const struct cni_field *fields, const char *key)
{
	const struct cni_field *f, *fold = NULL;

	for (f = fields; f->key; f++) {
		if (!strcmp(f->key, key))
			return f;
		if (!fold && !strcasecmp(f->key, key))
			fold = f;
	}
	return fold;
}

int cni_fields_parse(json_t *obj, const struct cni_field *fields, void *dst, const char *path,
		     struct cni_err *e)
{
	const struct cni_field *f;
	const char *key;
	char sub[256];
	json_t *v;
	int r;

	json_object_foreach(obj, key, v)
	{
		f = match_field(fields, key);
		if (!f)
			continue;
		snprintf(sub, sizeof(sub), "%s%s%s", path, *path ? "." : "", f->key);
		if (f->seen)
			*(bool *)((char *)dst + f->seen - 1) = !json_is_null(v);
		if (json_is_null(v))
			continue;
		r = parse_value(v, f, (char *)dst + f->off, sub, e);
		if (r)
			return r;
	}
	for (f = fields; f->key; f++) {
		if (!(f->flags & CNI_FF_REQUIRED))
			continue;
		v = cni_json_get(obj, f->key);
		if (!v || json_is_null(v)) {
			snprintf(sub, sizeof(sub), "%s%s%s", path, *path ? "." : "", f->key);
			return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG, "missing \"%s\"", sub);
		}
	}
	return 0;
}

int cni_conf_parse(const char *json, size_t len, const struct cni_field *fields, void *dst,
		   struct cni_err *e)
{
	json_t *root = cni_json_load(json, len, "error parsing configuration", e);
	int r;

	if (!root)
		return -EINVAL;
	if (!json_is_object(root)) {
		json_decref(root);
		return cni_fail(e, -EINVAL, CNI_ERR_DECODE, "configuration is not a JSON object");
	}
	r = cni_fields_parse(root, fields, dst, "", e);
	json_decref(root);
	return r;
}

const struct cni_field cni_dns_fields[] = {
	CNI_FIELD("nameservers", struct cni_dns, CNI_F_STRV, nameservers, .help = "DNS servers"),
	CNI_FIELD("domain", struct cni_dns, CNI_F_STR, domain, .help = "DNS domain"),
	CNI_FIELD("search", struct cni_dns, CNI_F_STRV, search, .help = "DNS search domains"),
	CNI_FIELD("options", struct cni_dns, CNI_F_STRV, options, .help = "resolver options"),
	CNI_FIELD_END,
};

static const struct cni_field route_fields[] = {
	CNI_FIELD("dst", struct cni_route, CNI_F_PREFIX, dst, .flags = CNI_FF_REQUIRED,
	  .help = "destination of a route"),
	CNI_FIELD("gw", struct cni_route, CNI_F_IP, gw, .help = "the route's gateway"),
	CNI_FIELD("mtu", struct cni_route, CNI_F_INT, mtu, .min = 0, .max = 65535,
	  .help = "the route's MTU"),
	CNI_FIELD("advmss", struct cni_route, CNI_F_INT, advmss, .min = 0, .max = 65535,
	  .help = "the route's advertised MSS"),
	CNI_FIELD("priority", struct cni_route, CNI_F_INT, priority, .min = 0, .max = 0x7fffffffLL,
	  .help = "the route's metric"),
	CNI_FIELD("table", struct cni_route, CNI_F_INT, table, .min = 0, .max = 0x7fffffffLL,
	  .help = "the route's table"),
	CNI_FIELD("scope", struct cni_route, CNI_F_INT, scope, .min = 0, .max = 255,
	  .help = "the route's scope"),
	CNI_FIELD_END,
};

static void route_init(void *p)
{
	struct cni_route *rt = p;

	rt->table = -1;
	rt->scope = -1;
}

const struct cni_field cni_route_elem = {
	.type = CNI_F_OBJ, .sub = route_fields, .init = route_init,
};
