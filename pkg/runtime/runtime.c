// SPDX-License-Identifier: Apache-2.0
/* The verbs over a plugin chain and libcni's result cache (libcni/api.go). */
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cni/cni.h"
#include "cni/hash.h"
#include "runtime/internal.h"

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *cnr_b64_encode(const unsigned char *p, size_t len)
{
	char *out = malloc((len + 2) / 3 * 4 + 1), *q = out;

	if (!out)
		return NULL;
	for (size_t i = 0; i < len; i += 3) {
		unsigned v = p[i] << 16 | (i + 1 < len ? p[i + 1] << 8 : 0) |
			     (i + 2 < len ? p[i + 2] : 0);

		*q++ = B64[v >> 18 & 63];
		*q++ = B64[v >> 12 & 63];
		*q++ = i + 1 < len ? B64[v >> 6 & 63] : '=';
		*q++ = i + 2 < len ? B64[v & 63] : '=';
	}
	*q = 0;
	return out;
}

long cnr_b64_decode(const char *s, unsigned char *out, size_t size)
{
	size_t n = 0, len = strlen(s);
	unsigned v = 0;
	int bits = 0;

	if (len % 4)
		return -1;
	for (size_t i = 0; i < len; i++) {
		const char *c = strchr(B64, s[i]);

		if (s[i] == '=') {
			if (i < len - 2 || (i == len - 2 && s[len - 1] != '='))
				return -1;
			break;
		}
		if (!c || !s[i])
			return -1;
		v = v << 6 | (unsigned)(c - B64);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n >= size)
				return -1;
			out[n++] = (unsigned char)(v >> bits);
		}
	}
	return (long)n;
}

const char *cnr_spec_version(size_t i)
{
	return i < CNI_V_COUNT ? cni_version_str((enum cni_version)i) : NULL;
}

int cnr_parse_cni_args(char *buf, const char **kv, size_t max, struct cnr_err *e)
{
	size_t n = 0;

	/* strings.Split keeps empty fields: "a=b;" has an empty (invalid) pair, as upstream. */
	for (char *p = buf;; n++) {
		char *end = strchr(p, ';'), *eq;

		if (end)
			*end = 0;
		eq = strchr(p, '=');
		if (!eq || eq == p || !eq[1] || strchr(eq + 1, '='))
			return cnr_fail(e, -EINVAL, CNR_ERR_ARGS, "invalid CNI_ARGS pair \"%s\"", p);
		if (n >= max)
			return cnr_fail(e, -E2BIG, CNR_ERR_ARGS, "too many CNI_ARGS pairs");
		*eq = 0;
		kv[2 * n] = p;
		kv[2 * n + 1] = eq + 1;
		if (!end)
			break;
		p = end + 1;
	}
	return (int)n + 1;
}

char *cnr_cnitool_container_id(const char *netns_abs, char *buf, size_t size)
{
	char hex[21];

	cni_sha512_hex(hex, 20, netns_abs, NULL);
	snprintf(buf, size, "cnitool-%s", hex);
	return buf;
}

/* libcni's ValidateContainerID / ValidateNetworkName: [a-zA-Z0-9][a-zA-Z0-9_.-]*. */
static bool valid_id(const char *s)
{
	if (!s || !*s || !((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
			   (*s >= '0' && *s <= '9')))
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_' || *s == '.' || *s == '-'))
			return false;
	return true;
}

static int check_rt(const struct cnr_list *l, const struct cnr_rt *rt, struct cnr_err *e)
{
	const char *p = NULL;

	if (!valid_id(rt->container_id))
		return cnr_fail(e, -EINVAL, CNR_ERR_ARGS, "invalid container id \"%s\"",
				rt->container_id ? rt->container_id : "");
	if (!valid_id(l->name))
		return cnr_fail(e, -EINVAL, CNR_ERR_ARGS, "invalid network name \"%s\"", l->name);
	if (!rt->ifname || (p = cni_ifname_problem(rt->ifname)))
		return cnr_fail(e, -EINVAL, CNR_ERR_ARGS, "invalid interface name \"%s\": %s",
				rt->ifname ? rt->ifname : "", rt->ifname ? p : "missing");
	return 0;
}

char *cnr_plugin_conf(const struct cnr_list *l, size_t i, const char *prev, const struct cnr_rt *rt,
		      struct cnr_err *e)
{
	json_t *p = json_deep_copy(json_array_get(l->plugins, i)), *caps, *cap_args = NULL, *rc;
	json_t *v;
	const char *k;
	char *out = NULL;

	if (!p) {
		cnr_fail(e, -ENOMEM, CNR_ERR_CONFIG, "out of memory");
		return NULL;
	}
	json_object_set_new(p, "name", json_string(l->name));
	json_object_set_new(p, "cniVersion", json_string(l->version));
	if (prev) {
		json_t *pr = json_loads(prev, 0, NULL);

		if (!json_is_object(pr)) {
			json_decref(pr);
			cnr_fail(e, -EINVAL, CNR_ERR_OUTPUT, "the previous result is not a JSON object");
			goto out;
		}
		json_object_set_new(p, "prevResult", pr);
	}
	if (rt && rt->cap_args && *rt->cap_args) {
		cap_args = json_loads(rt->cap_args, 0, NULL);
		if (!json_is_object(cap_args)) {
			cnr_fail(e, -EINVAL, CNR_ERR_ARGS, "capability args are not a JSON object");
			goto out;
		}
	}
	caps = json_object_get(p, "capabilities");
	rc = json_object();
	json_object_foreach(caps, k, v) {
		json_t *a = json_object_get(cap_args, k);

		if (json_is_true(v) && a)
			json_object_set(rc, k, a);
	}
	if (json_object_size(rc))
		json_object_set(p, "runtimeConfig", rc);
	json_decref(rc);
	out = json_dumps(p, JSON_COMPACT);
	if (!out)
		cnr_fail(e, -ENOMEM, CNR_ERR_CONFIG, "out of memory");
out:
	json_decref(cap_args);
	json_decref(p);
	return out;
}

int cnr_cache_path(const char *network, const struct cnr_rt *rt, char *buf, size_t size)
{
	int n;

	if (!network || !*network || !rt->container_id || !*rt->container_id || !rt->ifname ||
	    !*rt->ifname)
		return -EINVAL;
	n = snprintf(buf, size, "%s/results/%s-%s-%s",
		     rt->cache_dir ? rt->cache_dir : CNR_DEFAULT_CACHE_DIR, network,
		     rt->container_id, rt->ifname);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : n;
}

static int mkdir_p(char *path, mode_t mode)
{
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(path, mode) < 0 && errno != EEXIST) {
			*p = '/';
			return -errno;
		}
		*p = '/';
	}
	return mkdir(path, mode) < 0 && errno != EEXIST ? -errno : 0;
}

/* @o's keys in their order, each value with sorted keys: {"k":v,...}. */
static char *dump_go_order(json_t *o)
{
	size_t n = 2, cap = 256;
	char *out = malloc(cap), *v;
	const char *k;
	json_t *x;

	if (!out)
		return NULL;
	strcpy(out, "{");
	n = 1;
	json_object_foreach(o, k, x) {
		size_t need;

		v = json_dumps(x, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
		if (!v)
			goto fail;
		need = n + strlen(k) + strlen(v) + 8;
		if (need > cap) {
			char *nb = realloc(out, cap = need * 2);

			if (!nb) {
				free(v);
				goto fail;
			}
			out = nb;
		}
		n += (size_t)sprintf(out + n, "%s\"%s\":%s", n > 1 ? "," : "", k, v);
		free(v);
	}
	strcpy(out + n, "}");
	return out;
fail:
	free(out);
	return NULL;
}

int cnr_cache_write(const struct cnr_list *l, const struct cnr_rt *rt, const char *result,
		    struct cnr_err *e)
{
	char path[PATH_MAX], tmp[PATH_MAX + 16], *dir, *text = NULL, *cfg;
	json_t *o = NULL, *res = NULL;
	int r, fd = -1;
	size_t len;

	if ((r = cnr_cache_path(l->name, rt, path, sizeof(path))) < 0)
		return cnr_fail(e, r, CNR_ERR_CACHE, "cache file path: %s", strerror(-r));
	res = json_loads(result, 0, NULL);
	if (!json_is_object(res)) {
		json_decref(res);
		return cnr_fail(e, -EINVAL, CNR_ERR_OUTPUT, "the result to cache is not an object");
	}
	cfg = cnr_b64_encode((const unsigned char *)l->bytes, l->nbytes);
	o = json_object();
	/* cachedInfo's fields in Go's order, the omitempty ones left out when empty; maps (the
	 * capability args, the result) with their keys sorted, as encoding/json writes them. */
	json_object_set_new(o, "kind", json_string("cniCacheV1"));
	json_object_set_new(o, "containerId", json_string(rt->container_id));
	json_object_set_new(o, "config", json_string(cfg ? cfg : ""));
	json_object_set_new(o, "ifName", json_string(rt->ifname));
	json_object_set_new(o, "networkName", json_string(l->name));
	if (rt->netns && *rt->netns)
		json_object_set_new(o, "netns", json_string(rt->netns));
	if (rt->nargs) {
		json_t *a = json_array();

		for (size_t i = 0; i < rt->nargs; i++)
			json_array_append_new(a, json_pack("[ss]", rt->args[2 * i],
							   rt->args[2 * i + 1]));
		json_object_set_new(o, "cniArgs", a);
	}
	if (rt->cap_args && *rt->cap_args) {
		json_t *c = json_loads(rt->cap_args, 0, NULL);

		if (json_object_size(c))
			json_object_set(o, "capabilityArgs", c);
		json_decref(c);
	}
	json_object_set_new(o, "result", res);
	free(cfg);
	text = dump_go_order(o);
	json_decref(o);
	if (!text)
		return cnr_fail(e, -ENOMEM, CNR_ERR_CACHE, "out of memory");
	dir = strdup(path);
	if (!dir) {
		free(text);
		return -ENOMEM;
	}
	*strrchr(dir, '/') = 0;
	r = mkdir_p(dir, 0700);
	free(dir);
	if (r < 0) {
		free(text);
		return cnr_fail(e, r, CNR_ERR_CACHE, "mkdir for %s: %s", path, strerror(-r));
	}
	snprintf(tmp, sizeof(tmp), "%s.tmpXXXXXX", path);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		free(text);
		return cnr_fail(e, r, CNR_ERR_CACHE, "create %s: %s", tmp, strerror(-r));
	}
	len = strlen(text);
	for (size_t off = 0; off < len;) {
		ssize_t w = write(fd, text + off, len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			r = w < 0 ? -errno : -EIO;
			break;
		}
		off += (size_t)w;
	}
	free(text);
	if (r == 0 && (fchmod(fd, 0600) < 0 || fsync(fd) < 0))
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0) {
		unlink(tmp);
		return cnr_fail(e, r, CNR_ERR_CACHE, "write %s: %s", path, strerror(-r));
	}
	return 0;
}

int cnr_cache_read(const char *network, const struct cnr_rt *rt, char **result, char **config,
		   struct cnr_err *e)
{
	char path[PATH_MAX], *text;
	json_t *o, *k, *res, *cfg;
	json_error_t je;
	size_t len;
	int r;

	*result = NULL;
	if (config)
		*config = NULL;
	if ((r = cnr_cache_path(network, rt, path, sizeof(path))) < 0)
		return cnr_fail(e, r, CNR_ERR_CACHE, "cache file path: %s", strerror(-r));
	/* a file that cannot be read (-errno) is not one that does not parse (-EINVAL) */
	if (!(text = cnr_read_file(path, &len, &r))) {
		if (r == -ENOENT)
			return 0; /* no cached result: as libcni */
		return cnr_fail(e, r, CNR_ERR_CACHE, "reading %s: %s", path, strerror(-r));
	}
	o = json_loadb(text, len, 0, &je);
	free(text);
	if (!o && cnr_json_oom(&je))
		return cnr_fail(e, -ENOMEM, CNR_ERR_CACHE, "%s: out of memory", path);
	if (!o)
		return cnr_fail(e, -EINVAL, CNR_ERR_CACHE, "%s: %s", path, je.text);
	r = 0;
	k = json_object_get(o, "kind");
	res = json_object_get(o, "result");
	cfg = json_object_get(o, "config");
	if (!json_is_string(k) || strcmp(json_string_value(k), "cniCacheV1")) {
		/* libcni's getLegacyCachedResult: a file from before cniCacheV1 is the result alone */
		res = o;
		cfg = NULL;
	}
	if ((res && !json_is_object(res)) || !json_is_object(o)) {
		json_decref(o);
		return cnr_fail(e, -EINVAL, CNR_ERR_CACHE, "%s: \"result\" is not an object", path);
	}
	if (res && !(*result = json_dumps(res, JSON_COMPACT | JSON_PRESERVE_ORDER)))
		r = -ENOMEM;
	if (r >= 0 && config && json_is_string(cfg)) {
		size_t n = json_string_length(cfg);
		long d;

		if (!(*config = malloc(n + 1)))
			r = -ENOMEM;
		else if ((d = cnr_b64_decode(json_string_value(cfg), (unsigned char *)*config,
					     n)) < 0)
			r = cnr_fail(e, -EINVAL, CNR_ERR_CACHE, "%s: \"config\" is not base64",
				     path);
		else
			(*config)[d] = 0;
	}
	json_decref(o);
	if (r < 0) {
		free(*result);
		*result = NULL;
		if (config) {
			free(*config);
			*config = NULL;
		}
		return r;
	}
	return 0;
}

/*
 * The temporary files cnr_cache_write() leaves when it is killed between creating one and the
 * rename ("<path>.tmpXXXXXX"): removed with the attachment's cache file, or they would stay for
 * ever (nothing else names them).
 */
static int remove_tmp(const char *path)
{
	char dir[PATH_MAX];
	const char *base = strrchr(path, '/') + 1;
	size_t blen = strlen(base);
	struct dirent *de;
	DIR *d;
	int r = 0;

	snprintf(dir, sizeof(dir), "%.*s", (int)(base - path), path);
	if (!(d = opendir(dir)))
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d)))
		if (!strncmp(de->d_name, base, blen) && !strncmp(de->d_name + blen, ".tmp", 4) &&
		    strlen(de->d_name + blen) == 10 &&
		    unlinkat(dirfd(d), de->d_name, 0) < 0 && errno != ENOENT && !r)
			r = -errno;
	closedir(d);
	return r;
}

int cnr_cache_remove(const char *network, const struct cnr_rt *rt)
{
	char path[PATH_MAX];
	int r = cnr_cache_path(network, rt, path, sizeof(path)), t;

	if (r < 0)
		return 0; /* libcni ignores a path it cannot build */
	r = unlink(path) < 0 && errno != ENOENT ? -errno : 0;
	t = remove_tmp(path);
	return r < 0 ? r : t;
}

/* Run plugin @i with @verb and @prev; the output (ADD) in *out. */
static int run_one(const struct cnr_list *l, size_t i, const char *verb, const char *prev,
		   const struct cnr_rt *rt, char **out, struct cnr_err *e)
{
	char *conf = cnr_plugin_conf(l, i, prev, rt, e), *o = NULL;
	json_t *v;
	int r;

	if (!conf)
		return -EINVAL;
	r = cnr_exec(l, i, verb, conf, rt, &o, e);
	free(conf);
	if (r < 0)
		return r;
	if (out) {
		json_t *j = json_loads(o, 0, NULL);

		if (!json_is_object(j)) {
			json_decref(j);
			r = cnr_fail(e, -EPROTO, CNR_ERR_OUTPUT,
				     "plugin type=\"%s\" failed (%s): its output is not a JSON "
				     "result: \"%.300s\"",
				     cnr_list_plugin_type(l, i), verb, o);
			free(o);
			return r;
		}
		/* invoke's fixupResultVersion: a result without cniVersion is in the config's; and
		 * "dns" as libcni passes on, caches and returns it (a struct in Go's result types:
		 * encoding/json never omits it, {} when the plugin printed none) */
		v = json_object_get(j, "cniVersion");
		if (!json_is_string(v) || !*json_string_value(v) || !json_object_get(j, "dns")) {
			if (!json_is_string(v) || !*json_string_value(v))
				json_object_set_new(j, "cniVersion",
						    json_string(*l->version ? l->version : "0.1.0"));
			if (!json_object_get(j, "dns"))
				json_object_set_new(j, "dns", json_object());
			free(o);
			o = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
			v = json_object_get(j, "cniVersion");
		}
		if (!o || cni_version_lookup(json_string_value(v)) < 0) {
			r = o ? cnr_fail(e, -EPROTO, CNR_ERR_OUTPUT,
					 "plugin type=\"%s\" failed (%s): unsupported CNI result "
					 "version \"%.64s\"",
					 cnr_list_plugin_type(l, i), verb, json_string_value(v))
			      : cnr_fail(e, -ENOMEM, CNR_ERR_OUTPUT, "out of memory");
			json_decref(j);
			free(o);
			return r;
		}
		json_decref(j);
		*out = o;
		return 0;
	}
	free(o);
	return 0;
}

/*
 * libcni's getCachedResult: the cached result (a cniCacheV1 file's or a legacy file's) converted
 * to the list's version, so that plugins get prevResult in their config's version; NULL when
 * nothing is cached.
 */
static int cached_result(const struct cnr_list *l, const struct cnr_rt *rt, char **out,
			 struct cnr_err *e)
{
	char *raw = NULL;
	int r = cnr_cache_read(l->name, rt, &raw, NULL, e);

	*out = NULL;
	if (r < 0 || !raw)
		return r;
	r = cnr_result_convert(raw, *l->version ? l->version : "0.1.0", out, e);
	free(raw);
	if (r < 0 && e) {
		char msg[sizeof(e->msg)];

		snprintf(msg, sizeof(msg), "%s", e->msg);
		snprintf(e->msg, sizeof(e->msg),
			 "failed to convert cached result to config version \"%s\": %s",
			 l->version, msg);
	}
	return r;
}

static void clear(struct cnr_err *e)
{
	if (e)
		*e = (struct cnr_err){ .plugin_index = -1 };
}

static bool at_least(const struct cnr_list *l, const char *v)
{
	bool bad = false;
	int c = cnr_version_cmp(*l->version ? l->version : "0.1.0", v, &bad);

	return !bad && c >= 0;
}

int cnr_add(const struct cnr_list *l, const struct cnr_rt *rt, char **result, struct cnr_err *e)
{
	char *prev = NULL;
	int r;

	clear(e);
	if (result)
		*result = NULL;
	if ((r = check_rt(l, rt, e)) < 0)
		return r;
	for (size_t i = 0; i < cnr_list_plugins(l); i++) {
		char *out = NULL;

		r = run_one(l, i, "ADD", prev, rt, &out, e);
		free(prev);
		prev = out;
		if (r < 0)
			return r;
	}
	if ((r = cnr_cache_write(l, rt, prev, e)) < 0) {
		free(prev);
		return r;
	}
	if (result)
		*result = prev;
	else
		free(prev);
	return 0;
}

int cnr_check(const struct cnr_list *l, const struct cnr_rt *rt, struct cnr_err *e)
{
	char *cached = NULL;
	int r;

	clear(e);
	if (!at_least(l, "0.4.0"))
		return cnr_fail(e, -EOPNOTSUPP, CNR_ERR_UNSUPPORTED,
				"configuration version \"%s\" does not support the CHECK command",
				l->version);
	if (l->disable_check)
		return 0;
	if ((r = check_rt(l, rt, e)) < 0)
		return r;
	if ((r = cached_result(l, rt, &cached, e)) < 0)
		return r;
	for (size_t i = 0; i < cnr_list_plugins(l) && r >= 0; i++)
		r = run_one(l, i, "CHECK", cached, rt, NULL, e);
	free(cached);
	return r < 0 ? r : 0;
}

int cnr_del(const struct cnr_list *l, const struct cnr_rt *rt, struct cnr_err *e)
{
	char *cached = NULL;
	int r;

	clear(e);
	if ((r = check_rt(l, rt, e)) < 0)
		return r;
	if (at_least(l, "0.4.0") && (r = cached_result(l, rt, &cached, e)) < 0) {
		/* A cache that does not parse or convert is dropped and DEL runs without it, as
		 * libcni; one that could not be read this time (EIO, no memory or descriptors) is
		 * kept and DEL fails: dropped, the result would be lost for every later DEL. */
		if (r == -EIO || r == -ENOMEM || r == -EMFILE || r == -ENFILE || r == -EINTR ||
		    r == -EAGAIN)
			return r;
		clear(e);
		cnr_cache_remove(l->name, rt);
		cached = NULL;
		r = 0;
	}
	for (size_t i = cnr_list_plugins(l); i-- > 0 && r >= 0;)
		r = run_one(l, i, "DEL", cached, rt, NULL, e);
	free(cached);
	if (r < 0)
		return r;
	/* not libcni's (which ignores it): a cache file left would DEL the attachment again at
	 * every GC, and the caller would believe it gone */
	if ((r = cnr_cache_remove(l->name, rt)) < 0) {
		char path[PATH_MAX];

		cnr_cache_path(l->name, rt, path, sizeof(path));
		return cnr_fail(e, r, CNR_ERR_CACHE, "removing the cache file %s: %s", path,
				strerror(-r));
	}
	return 0;
}

int cnr_status(const struct cnr_list *l, const struct cnr_rt *rt, struct cnr_err *e)
{
	struct cnr_rt none = { .path = rt->path, .timeout_ms = rt->timeout_ms, .env = rt->env };
	int r = 0;

	clear(e);
	if (!at_least(l, "1.1.0"))
		return 0;
	for (size_t i = 0; i < cnr_list_plugins(l) && r >= 0; i++)
		r = run_one(l, i, "STATUS", NULL, &none, NULL, e);
	return r < 0 ? r : 0;
}

static bool in_valid(const char *cid, const char *ifname, const char *const *valid, size_t nvalid)
{
	for (size_t i = 0; valid && i < nvalid; i++)
		if (!strcmp(valid[2 * i], cid) && !strcmp(valid[2 * i + 1], ifname))
			return true;
	return false;
}

/* Keep the first failure of a GC in @e (GCNetworkList joins them; the first says enough). */
static void gc_note(struct cnr_err *e, const struct cnr_err *one, const char *prefix)
{
	if (!e || e->code)
		return;
	*e = *one;
	snprintf(e->msg, sizeof(e->msg), "%s%s", prefix, one->msg);
}

/*
 * A temporary file of cnr_cache_write() (<network>-...tmpXXXXXX) of @network, one that does not
 * parse, older than CNR_STALE_TMP_S: its writer was killed before it was complete (a complete one
 * is an attachment, DELeted as such). A write in flight holds it for a moment, not a minute.
 */
#define CNR_STALE_TMP_S 60
static bool stale_tmp(const char *network, const char *path)
{
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	size_t nl = strlen(network), bl = strlen(base);
	struct stat st;

	return bl > nl + 11 && !strncmp(base, network, nl) && base[nl] == '-' &&
	       !strncmp(base + bl - 10, ".tmp", 4) && stat(path, &st) == 0 &&
	       S_ISREG(st.st_mode) && st.st_mtime < time(NULL) - CNR_STALE_TMP_S;
}

/* DEL the cached attachment in @path if it is this network's and not valid. */
static int gc_attachment(const struct cnr_list *l, const struct cnr_rt *rt, const char *path,
			 const char *const *valid, size_t nvalid, struct cnr_err *e)
{
	size_t len;
	int r = 0;
	json_error_t je = { .line = -1 };
	char *text = cnr_read_file(path, &len, &r);
	json_t *o = text ? json_loadb(text, len, 0, &je) : NULL, *a, *kv;
	const char *cid = json_string_value(json_object_get(o, "containerId"));
	const char *ifname = json_string_value(json_object_get(o, "ifName"));
	const char *net = json_string_value(json_object_get(o, "networkName"));
	const char *kind = json_string_value(json_object_get(o, "kind"));
	const char *args[2 * 64];
	struct cnr_rt one = *rt;
	struct cnr_err oe = { 0 };
	char *caps = NULL, prefix[300];
	size_t i, n = 0;

	/* a file that vanished was deleted meanwhile; one that cannot be read (or parsed for want
	 * of memory) is a failure (libcni skips it silently: the attachment would stay and GC
	 * report success) */
	if (text && !o && cnr_json_oom(&je))
		r = -ENOMEM;
	free(text);
	if (r < 0 && r != -ENOENT) {
		snprintf(oe.msg, sizeof(oe.msg), "reading %s: %s", path, strerror(-r));
		oe.code = CNR_ERR_CACHE;
		gc_note(e, &oe, "failed to read cached attachment: ");
		goto out;
	}
	r = 0;
	if (!o && stale_tmp(l->name, path)) {
		if (unlink(path) < 0 && errno != ENOENT) {
			r = -errno;
			snprintf(oe.msg, sizeof(oe.msg), "removing %s: %s", path, strerror(errno));
			oe.code = CNR_ERR_CACHE;
			gc_note(e, &oe, "failed to remove a stale temporary cache file: ");
		}
		goto out;
	}
	/* GetCachedAttachments: unreadable, other kinds and incomplete records are skipped */
	if (!o || !kind || strcmp(kind, "cniCacheV1") || !cid || !ifname || !*ifname || !net ||
	    !*net || strcmp(net, l->name) || in_valid(cid, ifname, valid, nvalid))
		goto out;
	one.container_id = cid;
	one.ifname = ifname;
	one.netns = json_string_value(json_object_get(o, "netns"));
	json_array_foreach(json_object_get(o, "cniArgs"), i, kv) {
		if (n < 64 && json_is_string(json_array_get(kv, 0)) &&
		    json_is_string(json_array_get(kv, 1))) {
			args[2 * n] = json_string_value(json_array_get(kv, 0));
			args[2 * n + 1] = json_string_value(json_array_get(kv, 1));
			n++;
		}
	}
	one.args = args;
	one.nargs = n;
	a = json_object_get(o, "capabilityArgs");
	caps = json_is_object(a) ? json_dumps(a, JSON_COMPACT) : NULL;
	one.cap_args = caps;
	r = cnr_del(l, &one, &oe);
	if (r < 0) {
		snprintf(prefix, sizeof(prefix), "failed to delete stale attachment %s %s: ", cid,
			 ifname);
		gc_note(e, &oe, prefix);
	}
out:
	free(caps);
	json_decref(o);
	return r;
}

int cnr_gc(const struct cnr_list *l, const struct cnr_rt *rt, const char *const *valid,
	   size_t nvalid, struct cnr_err *e)
{
	struct cnr_rt none = { .path = rt->path, .timeout_ms = rt->timeout_ms, .env = rt->env };
	char dir[PATH_MAX], **files = NULL;
	json_t *va = NULL;
	size_t n = 0;
	int r, first = 0;

	clear(e);
	if (l->disable_gc)
		return 0;
	snprintf(dir, sizeof(dir), "%s/results", rt->cache_dir ? rt->cache_dir : CNR_DEFAULT_CACHE_DIR);
	/* as libcni, a missing cache directory means nothing to delete, one that cannot be
	 * listed is a failure (no plugin GC then: it could free what the attachments hold) */
	if ((r = cnr_dir_files(dir, NULL, &files, &n)) < 0)
		return cnr_fail(e, r, CNR_ERR_CACHE, "failed to list cached attachments in %s: %s",
				dir, strerror(-r));
	for (size_t i = 0; i < n; i++)
		if ((r = gc_attachment(l, rt, files[i], valid, nvalid, e)) < 0 && !first)
			first = r;
	cnr_free_files(files, n);
	if (!at_least(l, "1.1.0"))
		return first;
	if (valid) {
		va = json_array();
		for (size_t i = 0; i < nvalid; i++)
			json_array_append_new(va, json_pack("{s:s,s:s}", "containerID", valid[2 * i],
							    "ifname", valid[2 * i + 1]));
	}
	for (size_t i = 0; i < cnr_list_plugins(l); i++) {
		json_t *p = json_deep_copy(json_array_get(l->plugins, i));
		struct cnr_err oe = { 0 };
		char *conf, *out = NULL;

		json_object_set_new(p, "name", json_string(l->name));
		json_object_set_new(p, "cniVersion", json_string(l->version));
		if (va)
			json_object_set(p, "cni.dev/valid-attachments", va);
		conf = json_dumps(p, JSON_COMPACT);
		json_decref(p);
		r = conf ? cnr_exec(l, i, "GC", conf, &none, &out, &oe) : -ENOMEM;
		free(conf);
		free(out);
		if (r < 0) {
			gc_note(e, &oe, "");
			if (!first)
				first = r;
		}
	}
	json_decref(va);
	return first;
}

int cnr_version_info(const struct cnr_list *l, size_t i, const struct cnr_rt *rt, char **out,
		     struct cnr_err *e)
{
	/* invoke.GetVersionInfo: {"cniVersion": the newest the runtime knows}, only CNI_PATH set */
	struct cnr_rt none = { .path = rt->path, .timeout_ms = rt->timeout_ms, .env = rt->env };
	json_t *o, *sv, *v;
	char *text = NULL;
	size_t k;
	int r;

	clear(e);
	*out = NULL;
	r = cnr_exec(l, i, "VERSION", "{\"cniVersion\":\"" CNR_SPEC_VERSION "\"}", &none, &text, e);
	if (r < 0)
		return r;
	o = json_loads(text, 0, NULL);
	sv = json_object_get(o, "supportedVersions");
	r = json_is_array(sv) ? 0 : -EPROTO;
	json_array_foreach(sv, k, v)
		if (!json_is_string(v))
			r = -EPROTO;
	json_decref(o);
	if (r < 0) {
		r = cnr_fail(e, -EPROTO, CNR_ERR_OUTPUT,
			     "plugin type=\"%s\" failed (VERSION): no supportedVersions list in "
			     "\"%.300s\"",
			     cnr_list_plugin_type(l, i), text);
		free(text);
		return r;
	}
	/* without the plugin's trailing newline */
	for (k = strlen(text); k > 0 && strchr(" \t\r\n", text[k - 1]); k--)
		text[k - 1] = 0;
	*out = text;
	return 0;
}
