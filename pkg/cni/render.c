// SPDX-License-Identifier: Apache-2.0
/*
 * The delegate-configuration renderer declared in render.h: a jansson document edited through
 * plain C values, so meta plugins never see JSON. It owns no kernel or file state; the caller
 * owns the struct cni_render and frees it, text handed out lives in the process arena.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "render.h"

struct cni_render {
	json_t *input; /* the incoming configuration, never modified */
	json_t *doc;   /* the document being built, always an object */
};

static int oom(struct cni_err *e)
{
	return cni_fail(e, -ENOMEM, CNI_ERR_INTERNAL, "out of memory rendering a configuration");
}

static enum cni_render_kind kind_of(json_t *v)
{
	switch (v ? json_typeof(v) : JSON_NULL) {
	case JSON_OBJECT:
		return CNI_RK_OBJECT;
	case JSON_ARRAY:
		return CNI_RK_ARRAY;
	case JSON_STRING:
		return CNI_RK_STRING;
	case JSON_INTEGER:
	case JSON_REAL:
		return CNI_RK_NUMBER;
	case JSON_TRUE:
	case JSON_FALSE:
		return CNI_RK_BOOL;
	default:
		return v ? CNI_RK_NULL : CNI_RK_ABSENT;
	}
}

static const char *kind_name(json_t *v)
{
	static const char *const names[] = {"nothing", "null",	 "string", "bool",
					    "number",  "object", "array"};

	return names[kind_of(v)];
}

int cni_render_new(struct cni_render **out, const char *input, size_t len, struct cni_err *e)
{
	struct cni_render *r;
	json_t *in = cni_json_load(input, len, "error parsing the configuration", e);

	if (!in)
		return -EINVAL;
	if (!json_is_object(in)) {
		json_decref(in);
		return cni_fail(e, -EINVAL, CNI_ERR_DECODE,
				"the configuration is not a JSON object");
	}
	r = calloc(1, sizeof(*r));
	if (!r || !(r->doc = json_object())) {
		free(r);
		json_decref(in);
		return oom(e);
	}
	r->input = in;
	*out = r;
	return 0;
}

void cni_render_free(struct cni_render *r)
{
	if (!r)
		return;
	json_decref(r->input);
	json_decref(r->doc);
	free(r);
}

static void replace_doc(struct cni_render *r, json_t *doc)
{
	json_decref(r->doc);
	r->doc = doc;
}

int cni_render_base(struct cni_render *r, const char *key, struct cni_err *e)
{
	json_t *v = cni_json_get(r->input, key), *doc;

	if (v && !json_is_null(v) && !json_is_object(v))
		return cni_fail(e, -EINVAL, CNI_ERR_DECODE,
				"cannot unmarshal %s into field \"%s\" of type object",
				kind_name(v), key);
	doc = json_is_object(v) ? json_deep_copy(v) : json_object();
	if (!doc)
		return oom(e);
	replace_doc(r, doc);
	return 0;
}

int cni_render_load(struct cni_render *r, const char *text, size_t len, struct cni_err *e)
{
	json_t *doc = cni_json_load(text, len, "error parsing the saved configuration", e);

	if (!doc)
		return -EINVAL;
	if (!json_is_object(doc)) {
		json_decref(doc);
		return cni_fail(e, -EINVAL, CNI_ERR_DECODE,
				"the saved configuration is not a JSON object");
	}
	replace_doc(r, doc);
	return 0;
}

/* The object a key lives in: the document or its member @obj (NULL when absent or no object). */
static json_t *scope_get(const struct cni_render *r, const char *obj)
{
	json_t *o = obj ? json_object_get(r->doc, obj) : r->doc;

	return json_is_object(o) ? o : NULL;
}

/* The same, created when absent; another type there is an error. */
static json_t *scope_make(struct cni_render *r, const char *obj, struct cni_err *e)
{
	json_t *o;

	if (!obj)
		return r->doc;
	o = json_object_get(r->doc, obj);
	if (json_is_object(o))
		return o;
	if (o) {
		cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG, "\"%s\" is a %s, not an object", obj,
			 kind_name(o));
		return NULL;
	}
	o = json_object();
	if (!o || json_object_set_new(r->doc, obj, o)) {
		oom(e);
		return NULL;
	}
	return o;
}

enum cni_render_kind cni_render_kind(const struct cni_render *r, const char *obj, const char *key)
{
	json_t *o = scope_get(r, obj);

	return o ? kind_of(json_object_get(o, key)) : CNI_RK_ABSENT;
}

char *cni_render_str(const struct cni_render *r, const char *obj, const char *key)
{
	json_t *o = scope_get(r, obj);

	return o ? cni_strdup(json_string_value(json_object_get(o, key))) : NULL;
}

enum cni_render_kind cni_render_input_kind(const struct cni_render *r, const char *key)
{
	return kind_of(cni_json_get(r->input, key));
}

/* Store @v (a new reference, consumed even on failure) at obj.key under @flags. */
static int set_value(struct cni_render *r, const char *obj, const char *key, json_t *v,
		     unsigned int flags, struct cni_err *e)
{
	json_t *o;

	if (!v)
		return oom(e);
	o = scope_make(r, obj, e);
	if (!o) {
		json_decref(v);
		return -EINVAL;
	}
	if ((flags & CNI_RENDER_IF_ABSENT) && json_object_get(o, key)) {
		json_decref(v);
		return 0;
	}
	if (json_object_set_new(o, key, v))
		return oom(e);
	return 1;
}

int cni_render_set_str(struct cni_render *r, const char *obj, const char *key, const char *v,
		       unsigned int flags, struct cni_err *e)
{
	return set_value(r, obj, key, json_string(v ? v : ""), flags, e);
}

int cni_render_set_bool(struct cni_render *r, const char *obj, const char *key, bool v,
			unsigned int flags, struct cni_err *e)
{
	return set_value(r, obj, key, json_boolean(v), flags, e);
}

int cni_render_set_int(struct cni_render *r, const char *obj, const char *key, long long v,
		       unsigned int flags, struct cni_err *e)
{
	return set_value(r, obj, key, json_integer(v), flags, e);
}

int cni_render_set_prefix(struct cni_render *r, const char *obj, const char *key,
			  const struct cni_prefix *v, unsigned int flags, struct cni_err *e)
{
	char buf[CNI_PREFIX_STRLEN];

	return set_value(r, obj, key, json_string(cni_prefix_str(v, buf)), flags, e);
}

int cni_render_set_json(struct cni_render *r, const char *obj, const char *key, const char *json,
			unsigned int flags, struct cni_err *e)
{
	json_error_t jerr;
	json_t *v = json_loads(json ? json : "", JSON_DECODE_ANY, &jerr);

	if (!v)
		return cni_fail(e, -EINVAL, CNI_ERR_DECODE, "invalid JSON value for \"%s\": %s",
				key, jerr.text);
	return set_value(r, obj, key, v, flags, e);
}

int cni_render_copy(struct cni_render *r, const char *obj, const char *key, const char *from,
		    unsigned int flags, struct cni_err *e)
{
	json_t *v = cni_json_get(r->input, from);

	if (!v || json_is_null(v))
		return 0;
	if ((flags & CNI_RENDER_OBJECT) && !json_is_object(v))
		return cni_fail(e, -EINVAL, CNI_ERR_DECODE,
				"cannot unmarshal %s into field \"%s\" of type object",
				kind_name(v), from);
	return set_value(r, obj, key, json_deep_copy(v), flags, e);
}

int cni_render_remove(struct cni_render *r, const char *obj, const char *key)
{
	json_t *o = scope_get(r, obj);

	return o && json_object_del(o, key) == 0 ? 1 : 0;
}

static json_t *subnet_set(const struct cni_prefix *p)
{
	char buf[CNI_PREFIX_STRLEN];

	return json_pack("[{ss}]", "subnet", cni_prefix_str(p, buf));
}

int cni_render_set_ranges(struct cni_render *r, const char *obj, const char *key,
			  const struct cni_prefix *subnets, size_t n, unsigned int flags,
			  struct cni_err *e)
{
	json_t *sets = json_array();

	for (size_t i = 0; sets && i < n; i++) {
		if (json_array_append_new(sets, subnet_set(&subnets[i]))) {
			json_decref(sets);
			return oom(e);
		}
	}
	return set_value(r, obj, key, sets, flags, e);
}

/* A route given in the configuration: an object with a "dst" prefix and an optional "gw". */
static int check_route(json_t *rt, const char *where, size_t i, struct cni_err *e)
{
	json_t *dst = cni_json_get(rt, "dst"), *gw = cni_json_get(rt, "gw");
	struct cni_prefix p;
	struct cni_ip ip;

	if (!json_is_object(rt))
		return cni_fail(e, -EINVAL, CNI_ERR_DECODE,
				"failed to parse %s[%zu]: cannot unmarshal %s into a route", where,
				i, kind_name(rt));
	if (!dst || json_is_null(dst))
		return cni_fail(e, -EINVAL, CNI_ERR_DECODE,
				"failed to parse %s[%zu]: missing \"dst\"", where, i);
	if (!json_is_string(dst) || (gw && !json_is_null(gw) && !json_is_string(gw)))
		return cni_fail(e, -EINVAL, CNI_ERR_DECODE,
				"failed to parse %s[%zu]: cannot unmarshal %s into \"%s\"", where,
				i, kind_name(json_is_string(dst) ? gw : dst),
				json_is_string(dst) ? "gw" : "dst");
	if (cni_prefix_parse(json_string_value(dst), &p))
		return cni_fail(e, -EINVAL, CNI_ERR_DECODE,
				"failed to parse %s[%zu]: invalid CIDR address \"%s\" in \"dst\"",
				where, i, json_string_value(dst));
	if (json_is_string(gw) && cni_ip_parse(json_string_value(gw), &ip))
		return cni_fail(e, -EINVAL, CNI_ERR_DECODE,
				"failed to parse %s[%zu]: invalid IP address \"%s\" in \"gw\"",
				where, i, json_string_value(gw));
	return 0;
}

int cni_render_append_routes(struct cni_render *r, const char *obj, const char *key,
			     const struct cni_route *routes, size_t n, struct cni_err *e)
{
	char where[128];
	json_t *o, *have, *list, *rt;
	size_t i;
	int ret;

	snprintf(where, sizeof(where), "%s%s%s", obj ? obj : "", obj ? "." : "", key);
	o = scope_make(r, obj, e);
	if (!o)
		return -EINVAL;
	have = json_object_get(o, key);
	if (have && !json_is_null(have) && !json_is_array(have))
		return cni_fail(e, -EINVAL, CNI_ERR_DECODE,
				"failed to parse %s: cannot unmarshal %s into a list of routes",
				where, kind_name(have));
	json_array_foreach(have, i, rt)
	{
		ret = check_route(rt, where, i, e);
		if (ret)
			return ret;
	}
	list = json_is_array(have) ? json_deep_copy(have) : json_array();
	for (i = 0; list && i < n; i++) {
		if (json_array_append_new(list, cni_route_to_json(&routes[i], true))) {
			json_decref(list);
			return oom(e);
		}
	}
	ret = set_value(r, obj, key, list, 0, e);
	return ret < 0 ? ret : 0;
}

char *cni_render_text(const struct cni_render *r)
{
	return cni_json_dump(r->doc, JSON_COMPACT | JSON_SORT_KEYS);
}
