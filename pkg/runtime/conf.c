// SPDX-License-Identifier: Apache-2.0
/* Loading a network configuration list the way libcni does (libcni/conf.go). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/internal.h"

int cnr_fail(struct cnr_err *e, int err, int code, const char *fmt, ...)
{
	va_list ap;

	if (!e)
		return err;
	e->code = code;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return err;
}

static int parse_ver(const char *s, long v[3])
{
	char *end;

	for (int i = 0; i < 3; i++) {
		if (*s < '0' || *s > '9')
			return -1;
		v[i] = strtol(s, &end, 10);
		s = end;
		if (i < 2 && *s++ != '.')
			return -1;
	}
	return *s ? -1 : 0;
}

int cnr_version_cmp(const char *a, const char *b, bool *bad)
{
	long x[3], y[3];

	if (parse_ver(a, x) || parse_ver(b, y)) {
		if (bad)
			*bad = true;
		return 0;
	}
	for (int i = 0; i < 3; i++)
		if (x[i] != y[i])
			return x[i] < y[i] ? -1 : 1;
	return 0;
}

void cnr_list_free(struct cnr_list *l)
{
	if (!l)
		return;
	free(l->name);
	free(l->version);
	free(l->file);
	free(l->bytes);
	json_decref(l->plugins);
	free(l);
}

/* libcni's readBool: absent false, a boolean, or "true"/"false" in any case. */
static int read_bool(json_t *o, const char *key, bool *out, const char *origin, struct cnr_err *e)
{
	json_t *v = json_object_get(o, key);

	*out = false;
	if (!v)
		return 0;
	if (json_is_boolean(v)) {
		*out = json_is_true(v);
		return 0;
	}
	if (json_is_string(v)) {
		if (!strcasecmp(json_string_value(v), "true")) {
			*out = true;
			return 0;
		}
		if (!strcasecmp(json_string_value(v), "false"))
			return 0;
		return cnr_fail(e, -EINVAL, CNR_ERR_CONFIG, "%s: invalid value \"%s\" for %s",
				origin, json_string_value(v), key);
	}
	return cnr_fail(e, -EINVAL, CNR_ERR_CONFIG, "%s: invalid type for %s", origin, key);
}

/* A plugin object: an object with a non-empty string "type". */
static int check_plugin(json_t *p, const char *origin, size_t i, struct cnr_err *e)
{
	json_t *t = json_object_get(p, "type");

	if (!json_is_object(p))
		return cnr_fail(e, -EINVAL, CNR_ERR_CONFIG, "%s: plugin %zu is not an object",
				origin, i);
	if (!json_is_string(t) || !*json_string_value(t))
		return cnr_fail(e, -EINVAL, CNR_ERR_CONFIG, "%s: plugin %zu: missing 'type'",
				origin, i);
	return 0;
}

/* The effective version: the highest of cniVersions and cniVersion not above ours. */
static int pick_version(json_t *o, const char *origin, char **out, struct cnr_err *e)
{
	json_t *v = json_object_get(o, "cniVersion"), *vs = json_object_get(o, "cniVersions"), *x;
	const char *best = "";
	size_t i;

	if (v && !json_is_string(v))
		return cnr_fail(e, -EINVAL, CNR_ERR_CONFIG, "%s: invalid cniVersion type", origin);
	if (v)
		best = json_string_value(v);
	if (vs) {
		bool bad = false;
		const char *top = NULL;

		if (!json_is_array(vs))
			return cnr_fail(e, -EINVAL, CNR_ERR_CONFIG,
					"%s: invalid type for cniVersions", origin);
		json_array_foreach(vs, i, x) {
			if (!json_is_string(x))
				return cnr_fail(e, -EINVAL, CNR_ERR_CONFIG,
						"%s: invalid type for cniVersions index %zu", origin, i);
			if (cnr_version_cmp(json_string_value(x), CNR_SPEC_VERSION, &bad) > 0)
				continue;
			if (bad)
				return cnr_fail(e, -EINVAL, CNR_ERR_CONFIG,
						"%s: invalid cniVersions entry %s at index %zu", origin,
						json_string_value(x), i);
			if (!top || cnr_version_cmp(json_string_value(x), top, NULL) > 0)
				top = json_string_value(x);
		}
		if (*best) {
			int c = cnr_version_cmp(best, CNR_SPEC_VERSION, &bad);

			if (bad)
				return cnr_fail(e, -EINVAL, CNR_ERR_CONFIG,
						"%s: invalid cniVersion %s", origin, best);
			if (c <= 0 && (!top || cnr_version_cmp(best, top, NULL) > 0))
				top = best;
		}
		if (top)
			best = top;
	}
	*out = strdup(best);
	return *out ? 0 : -ENOMEM;
}

char *cnr_read_file(const char *path, size_t *len, int *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	char *buf = NULL;
	size_t n = 0, cap = 0;

	if (fd < 0) {
		*err = -errno;
		return NULL;
	}
	for (;;) {
		ssize_t r;

		if (cap - n < 4096) {
			char *nb = realloc(buf, cap = cap ? cap * 2 : 8192);

			if (!nb) {
				*err = -ENOMEM;
				goto fail;
			}
			buf = nb;
		}
		/* read(2) itself: a failure is its errno (stdio's error flag is sticky, and a
		 * later read at the end hid what it was) and EINTR is retried */
		r = read(fd, buf + n, cap - n - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			*err = -errno;
			goto fail;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > (16u << 20)) {
			*err = -EFBIG;
			goto fail;
		}
	}
	close(fd);
	buf[n] = 0;
	*len = n;
	return buf;
fail:
	close(fd);
	free(buf);
	return NULL;
}

int cnr_load_bytes(const char *buf, size_t len, bool promote, const char *origin,
		   struct cnr_list **out, struct cnr_err *e)
{
	json_error_t je;
	json_t *o = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je), *name, *pl;
	struct cnr_list *l = NULL;
	int r = -ENOMEM;
	size_t i;

	*out = NULL;
	if (!o && cnr_json_oom(&je))
		goto out; /* not a bad file: named below */
	if (!o || !json_is_object(o)) {
		r = o ? cnr_fail(e, -EINVAL, CNR_ERR_CONFIG, "%s: not a JSON object", origin)
		      : cnr_fail(e, -EINVAL, CNR_ERR_CONFIG, "%s: line %d: %s", origin, je.line,
				 je.text);
		goto out;
	}
	if (promote) {
		/* ConfListFromConf: {"name","cniVersion","plugins":[conf]}, marshalled as Go does
		 * (keys sorted, compact), which is what libcni caches as the list's bytes. */
		json_t *list = json_object();
		json_t *n = json_object_get(o, "name"), *v = json_object_get(o, "cniVersion");

		if ((r = check_plugin(o, origin, 0, e)) < 0) {
			json_decref(list);
			goto out;
		}
		json_object_set_new(list, "name", json_is_string(n) ? json_copy(n) : json_string(""));
		json_object_set_new(list, "cniVersion",
				    json_is_string(v) ? json_copy(v) : json_string(""));
		json_object_set_new(list, "plugins", json_pack("[O]", o));
		json_decref(o);
		o = list;
	}
	if (!(l = calloc(1, sizeof(*l))) || !(l->file = strdup(origin)))
		goto out;
	name = json_object_get(o, "name");
	if (!name) {
		r = cnr_fail(e, -EINVAL, CNR_ERR_CONFIG, "%s: no name", origin);
		goto out;
	}
	if (!json_is_string(name)) {
		r = cnr_fail(e, -EINVAL, CNR_ERR_CONFIG, "%s: invalid name type", origin);
		goto out;
	}
	if (!(l->name = strdup(json_string_value(name))))
		goto out;
	if ((r = pick_version(o, origin, &l->version, e)) < 0 ||
	    (r = read_bool(o, "disableCheck", &l->disable_check, origin, e)) < 0 ||
	    (r = read_bool(o, "disableGC", &l->disable_gc, origin, e)) < 0 ||
	    (r = read_bool(o, "loadOnlyInlinedPlugins", &l->load_only_inlined, origin, e)) < 0)
		goto out;
	pl = json_object_get(o, "plugins");
	if (!pl && l->load_only_inlined) {
		r = cnr_fail(e, -EINVAL, CNR_ERR_CONFIG,
			     "%s: `loadOnlyInlinedPlugins` is true, and no 'plugins' key", origin);
		goto out;
	}
	if (pl && !json_is_array(pl)) {
		r = cnr_fail(e, -EINVAL, CNR_ERR_CONFIG, "%s: invalid 'plugins' type", origin);
		goto out;
	}
	if (pl && json_array_size(pl) == 0) {
		r = cnr_fail(e, -EINVAL, CNR_ERR_CONFIG, "%s: no plugins in list", origin);
		goto out;
	}
	l->plugins = pl ? json_deep_copy(pl) : json_array();
	if (!l->plugins)
		goto out;
	json_array_foreach(l->plugins, i, pl)
		if ((r = check_plugin(pl, origin, i, e)) < 0)
			goto out;
	if (promote) {
		l->bytes = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
		l->nbytes = l->bytes ? strlen(l->bytes) : 0;
	} else if ((l->bytes = malloc(len + 1))) {
		memcpy(l->bytes, buf, len);
		l->bytes[len] = 0;
		l->nbytes = len;
	}
	if (!l->bytes) {
		r = -ENOMEM;
		goto out;
	}
	*out = l;
	l = NULL;
	r = 0;
out:
	if (r == -ENOMEM)
		cnr_fail(e, r, CNR_ERR_CONFIG, "%s: out of memory", origin);
	json_decref(o);
	cnr_list_free(l);
	return r;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The paths of the entries of @dir ending in one of @exts (every entry: @exts NULL), directories
 * left out, sorted. */
int cnr_dir_files(const char *dir, const char *const *exts, char ***out, size_t *n)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **v = NULL;
	size_t cnt = 0;

	*out = NULL;
	*n = 0;
	if (!d)
		return errno == ENOENT || errno == ENOTDIR ? 0 : -errno;
	for (;;) {
		const char *dot;
		struct stat st;
		bool match = false;
		char *p;

		errno = 0;
		if (!(de = readdir(d))) {
			int err = errno; /* the listing cut short is not its end */

			if (!err)
				break;
			closedir(d);
			while (cnt)
				free(v[--cnt]);
			free(v);
			return -err;
		}
		dot = strrchr(de->d_name, '.');
		for (const char *const *x = exts; dot && x && *x; x++)
			match |= !strcmp(dot, *x);
		if (!exts)
			match = strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
		if (!match)
			continue;
		if (asprintf(&p, "%s/%s", dir, de->d_name) < 0)
			goto nomem;
		/* os.ReadDir's IsDir: a directory is skipped, a link is not followed to one. */
		if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode)) {
			free(p);
			continue;
		}
		char **nv = realloc(v, (cnt + 1) * sizeof(*v));

		if (!nv) {
			free(p);
			goto nomem;
		}
		v = nv;
		v[cnt++] = p;
	}
	closedir(d);
	if (cnt)
		qsort(v, cnt, sizeof(*v), cmp_str);
	*out = v;
	*n = cnt;
	return 0;
nomem:
	closedir(d);
	while (cnt)
		free(v[--cnt]);
	free(v);
	return -ENOMEM;
}

void cnr_free_files(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* Append the plugin files <dir>/<name>/ *.conf to @l (NetworkPluginConfsFromFiles). */
static int add_dir_plugins(struct cnr_list *l, const char *dir, struct cnr_err *e)
{
	static const char *const ext[] = { ".conf", NULL };
	char *sub, **files;
	size_t n;
	int r;

	if (asprintf(&sub, "%s/%s", dir, l->name) < 0)
		return -ENOMEM;
	r = cnr_dir_files(sub, ext, &files, &n);
	if (r < 0) {
		cnr_fail(e, r, CNR_ERR_CONFIG, "failed to read plugin config files in %s: %s", sub,
			 strerror(-r));
		free(sub);
		return r;
	}
	free(sub);
	for (size_t i = 0; i < n && r >= 0; i++) {
		size_t len;
		char *buf = cnr_read_file(files[i], &len, &r);
		json_error_t je;
		json_t *p;

		if (!buf) {
			cnr_fail(e, r, CNR_ERR_CONFIG, "error reading %s: %s", files[i], strerror(-r));
			break;
		}
		p = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
		free(buf);
		if (!p) {
			r = cnr_fail(e, -EINVAL, CNR_ERR_CONFIG, "%s: line %d: %s", files[i],
				     je.line, je.text);
			break;
		}
		if ((r = check_plugin(p, files[i], 0, e)) == 0)
			json_array_append(l->plugins, p);
		json_decref(p);
	}
	cnr_free_files(files, n);
	return r < 0 ? r : 0;
}

static int load_file(const char *path, bool promote, struct cnr_list **out, struct cnr_err *e)
{
	size_t len;
	int r = 0;
	char *buf = cnr_read_file(path, &len, &r);

	if (!buf)
		return cnr_fail(e, r, CNR_ERR_CONFIG, "error reading %s: %s", path, strerror(-r));
	r = cnr_load_bytes(buf, len, promote, path, out, e);
	free(buf);
	return r;
}

/* Note a skipped bad file in @skipped (a summary for the caller). */
static void note_skip(char *skipped, size_t size, const struct cnr_err *fe)
{
	size_t n = strlen(skipped);

	if (n + 4 < size)
		snprintf(skipped + n, size - n, "%s%s", n ? "; " : "", fe->msg);
}

int cnr_load_dir(const char *dir, const char *name, struct cnr_list **out, struct cnr_err *e)
{
	static const char *const lists[] = { ".conflist", NULL };
	static const char *const confs[] = { ".conf", ".json", NULL };
	char **files = NULL, skipped[sizeof(e->msg) - 128] = "";
	size_t n = 0, nconf = 0;
	struct cnr_list *l = NULL;
	int r;

	*out = NULL;
	for (int pass = 0; pass < 2 && !l; pass++) {
		r = cnr_dir_files(dir, pass ? confs : lists, &files, &n);
		if (r < 0)
			return cnr_fail(e, r, CNR_ERR_CONFIG, "cannot read %s: %s", dir,
					strerror(-r));
		nconf += n;
		for (size_t i = 0; i < n && !l; i++) {
			struct cnr_err fe = { 0 };
			struct cnr_list *c;

			if ((r = load_file(files[i], pass == 1, &c, &fe)) < 0) {
				/* out of memory is no bad file: the network is not "not found" */
				if (r == -ENOMEM) {
					if (e)
						*e = fe;
					cnr_free_files(files, n);
					return r;
				}
				note_skip(skipped, sizeof(skipped), &fe);
				continue;
			}
			if (strcmp(c->name, name)) {
				cnr_list_free(c);
				continue;
			}
			/* This file defines the network: its errors are the network's. */
			if (pass == 0 && !c->load_only_inlined &&
			    (r = add_dir_plugins(c, dir, e)) < 0) {
				cnr_list_free(c);
				cnr_free_files(files, n);
				return r;
			}
			if (json_array_size(c->plugins) == 0) {
				cnr_list_free(c);
				cnr_free_files(files, n);
				return cnr_fail(e, -EINVAL, CNR_ERR_CONFIG, "%s: no plugin configs found",
						files[i]);
			}
			l = c;
		}
		cnr_free_files(files, n);
	}
	if (!l) {
		if (!nconf)
			return cnr_fail(e, -ENOENT, CNR_ERR_NOT_FOUND,
					"no net configurations found in %s", dir);
		return cnr_fail(e, -ENOENT, CNR_ERR_NOT_FOUND,
				"no net configuration with name \"%s\" in %s%s%s%s", name, dir,
				*skipped ? " (skipped: " : "", skipped, *skipped ? ")" : "");
	}
	if (e) {
		e->code = 0;
		e->msg[0] = 0;
		if (*skipped)
			snprintf(e->msg, sizeof(e->msg), "skipped: %s", skipped);
	}
	*out = l;
	return 0;
}

int cnr_scan_dir(const char *dir, struct cnr_dir_entry **out, size_t *count, struct cnr_err *e)
{
	static const char *const lists[] = { ".conflist", NULL };
	static const char *const confs[] = { ".conf", ".json", NULL };
	struct cnr_dir_entry *v = NULL;
	size_t nv = 0;
	int r = 0;

	*out = NULL;
	*count = 0;
	for (int pass = 0; pass < 2 && r >= 0; pass++) {
		char **files = NULL;
		size_t n = 0;

		r = cnr_dir_files(dir, pass ? confs : lists, &files, &n);
		if (r < 0) {
			cnr_fail(e, r, CNR_ERR_CONFIG, "cannot read %s: %s", dir, strerror(-r));
			break;
		}
		if (n) {
			struct cnr_dir_entry *nb = realloc(v, (nv + n) * sizeof(*v));

			if (!nb) {
				cnr_free_files(files, n);
				r = cnr_fail(e, -ENOMEM, CNR_ERR_CONFIG, "out of memory");
				break;
			}
			v = nb;
		}
		for (size_t i = 0; i < n; i++) {
			struct cnr_dir_entry *d = &v[nv++];
			struct cnr_list *c = NULL;

			*d = (struct cnr_dir_entry){ .file = files[i], .shadowed_by = -1 };
			files[i] = NULL;
			d->err.plugin_index = -1;
			if (load_file(d->file, pass == 1, &c, &d->err) < 0)
				continue;
			/* as cnr_load_dir: the plugin files of <dir>/<name>/, then at least one plugin */
			if (pass == 0 && !c->load_only_inlined && add_dir_plugins(c, dir, &d->err) < 0) {
				cnr_list_free(c);
				continue;
			}
			if (json_array_size(c->plugins) == 0) {
				cnr_fail(&d->err, -EINVAL, CNR_ERR_CONFIG, "%s: no plugin configs found",
					 d->file);
				cnr_list_free(c);
				continue;
			}
			d->list = c;
			for (size_t k = 0; k + 1 < nv; k++)
				if (v[k].list && v[k].shadowed_by < 0 && !strcmp(v[k].list->name, c->name)) {
					d->shadowed_by = (int)k;
					break;
				}
		}
		cnr_free_files(files, n);
	}
	if (r < 0) {
		cnr_scan_free(v, nv);
		return r;
	}
	*out = v;
	*count = nv;
	return 0;
}

void cnr_scan_free(struct cnr_dir_entry *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++) {
		free(v[i].file);
		cnr_list_free(v[i].list);
	}
	free(v);
}

const char *cnr_list_name(const struct cnr_list *l)
{
	return l->name;
}

const char *cnr_list_version(const struct cnr_list *l)
{
	return l->version;
}

const char *cnr_list_file(const struct cnr_list *l)
{
	return l->file;
}

bool cnr_list_disable_check(const struct cnr_list *l)
{
	return l->disable_check;
}

bool cnr_list_disable_gc(const struct cnr_list *l)
{
	return l->disable_gc;
}

bool cnr_list_load_only_inlined(const struct cnr_list *l)
{
	return l->load_only_inlined;
}

size_t cnr_list_plugins(const struct cnr_list *l)
{
	return json_array_size(l->plugins);
}

const char *cnr_list_plugin_type(const struct cnr_list *l, size_t i)
{
	return json_string_value(json_object_get(json_array_get(l->plugins, i), "type"));
}

const char *cnr_list_bytes(const struct cnr_list *l, size_t *len)
{
	if (len)
		*len = l->nbytes;
	return l->bytes;
}
