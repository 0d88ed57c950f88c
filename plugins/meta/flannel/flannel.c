// SPDX-License-Identifier: Apache-2.0
/*
 * flannel: the meta plugin of flannel-io/cni-plugin. It turns flanneld's subnet.env (cluster
 * networks, this node's subnets, MTU, whether flanneld masquerades) into a delegate
 * configuration — bridge + host-local unless the "delegate" object says otherwise — and runs the
 * delegate. It creates no kernel object itself: the delegate does, in the namespace this plugin
 * runs in. Its only state is the rendered delegate configuration, saved before ADD as
 * <dataDir>/<containerID> (0600, temp + fsync + rename, the reference's layout: keyed by
 * container ID only) so that DEL replays exactly those bytes however subnet.env changed since.
 * DEL with no saved file succeeds; the file goes only once the delegate's DEL succeeded, so a
 * failed DEL can be retried. CHECK delegates with the saved configuration and the runtime's
 * prevResult; STATUS renders from subnet.env (code 50 while flanneld has not written it); GC
 * forwards the valid attachments to the delegate, then drops the saved configurations of this
 * network whose container ID no valid attachment names (beyond the reference, which has none).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cni/cni.h"
#include "cni/render.h"

#define DEFAULT_SUBNET_FILE "/run/flannel/subnet.env"
#define DEFAULT_DATA_DIR "/var/lib/cni/flannel"
#define MAX_FILE (1u << 20) /* subnet.env and saved configurations are a few hundred bytes */

struct flannel_conf {
	char *subnet_file;
	char *data_dir;
	char *cni_version; /* as given: the delegate gets it only when set, as upstream */
};

#define F(k, m, ...) CNI_FIELD(k, struct flannel_conf, CNI_F_STR, m, __VA_ARGS__)
static const struct cni_field fields[] = {
	F("subnetFile", subnet_file,
	  .help = "flanneld's subnet file (default /run/flannel/subnet.env)"),
	F("dataDir", data_dir,
	  .help = "the delegate configurations kept per container (default /var/lib/cni/flannel)"),
	F("cniVersion", cni_version, .help = "spec version, passed on to the delegate"),
	CNI_FIELD_END,
};

static void flannel_defaults(void *conf)
{
	struct flannel_conf *c = conf;

	c->subnet_file = DEFAULT_SUBNET_FILE;
	c->data_dir = DEFAULT_DATA_DIR;
}

/* ---- files ----------------------------------------------------------------------------------- */

/* A whole small file into the arena; -ENOENT untouched in @e so callers can tolerate it. */
static int read_file(const char *path, char **out, size_t *len, struct cni_err *e)
{
	size_t cap = 4096, n = 0;
	char *buf = cni_alloc(cap + 1);
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return errno == ENOENT ? -ENOENT
				       : cni_fail(e, -errno, CNI_ERR_IO, "open %s: %s", path,
						  strerror(errno));
	for (;;) {
		ssize_t r;

		if (n == cap) {
			if (cap >= MAX_FILE) {
				close(fd);
				return cni_fail(e, -EFBIG, CNI_ERR_IO, "%s is larger than %u bytes",
						path, MAX_FILE);
			}
			buf = cni_grow(buf, &cap, cap * 2 + 1, 1);
			cap--;
		}
		r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int err = -errno;

			close(fd);
			return cni_fail(e, err, CNI_ERR_IO, "read %s: %s", path, strerror(-err));
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 0;
}

/* mkdir -p with 0700 for what it creates, as Go's os.MkdirAll(dataDir, 0700). */
static int mkdir_p(const char *dir, struct cni_err *e)
{
	char *p = cni_strdup(dir);

	/* "" is mkdir(""): ENOENT, as Go's MkdirAll answers; never a read past its end */
	for (char *s = *p ? p + 1 : p;; s++) {
		char c = *s;

		if (c != '/' && c != '\0')
			continue;
		*s = '\0';
		if (mkdir(p, 0700) && errno != EEXIST)
			return cni_fail(e, -errno, CNI_ERR_IO, "mkdir %s: %s", p, strerror(errno));
		*s = c;
		if (!c)
			return 0;
	}
}

/* "<dir>/.<cid>.tmp": one name per container (the runtime never runs two operations of one at a
 * time), so a writer killed before its rename leaves a file its DEL knows. */
static char *tmp_path(const char *dir, const char *name)
{
	return cni_sprintf("%s/.%s.tmp", dir, name);
}

/* <dir>/<name> replaced atomically: a crash leaves the old file or the new one, never half. */
static int write_atomic(const char *dir, const char *name, const char *text, struct cni_err *e)
{
	char *path = cni_sprintf("%s/%s", dir, name);
	char *tmp = tmp_path(dir, name);
	size_t len = strlen(text), off = 0;
	int fd, dfd, r = 0;

	r = mkdir_p(dir, e);
	if (r)
		return r;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return cni_fail(e, -errno, CNI_ERR_IO, "open %s: %s", tmp, strerror(errno));
	while (off < len && r == 0) {
		ssize_t n = write(fd, text + off, len - off);

		if (n < 0 && errno != EINTR)
			r = -errno;
		else if (n > 0)
			off += (size_t)n;
	}
	if (r == 0 && fsync(fd))
		r = -errno;
	if (close(fd) && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, path))
		r = -errno;
	if (r) {
		unlink(tmp);
		return cni_fail(e, r, CNI_ERR_IO, "saving %s: %s", path, strerror(-r));
	}
	/* The rename itself must survive a crash before the delegate's ADD does its work. */
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return 0;
}

/* ---- subnet.env ------------------------------------------------------------------------------ */

struct prefixes {
	struct cni_prefix *v;
	size_t n, cap;
};

struct subnet_env {
	struct prefixes nets, nets6; /* FLANNEL_NETWORK, FLANNEL_IPV6_NETWORK: de-duplicated */
	struct cni_prefix sn, sn6;   /* FLANNEL_SUBNET, FLANNEL_IPV6_SUBNET: family 0 when absent */
	unsigned long mtu;
	bool has_mtu, ipmasq, has_ipmasq;
};

/* Go's net.ParseCIDR: "addr/len", and the network it names (host bits dropped). */
static int parse_cidr(const char *s, struct cni_prefix *p)
{
	if (cni_prefix_parse(s, p))
		return -EINVAL;
	p->ip = cni_prefix_network(p);
	return 0;
}

static int parse_nets(const char *file, size_t line, const char *key, char *val,
		      struct prefixes *out, struct cni_err *e)
{
	char *save, *tok;

	*out = (struct prefixes){0};
	/* strsep, not strtok: an empty item ("a,,b", "") is an error, as in Go. */
	for (save = val; (tok = strsep(&save, ","));) {
		struct cni_prefix p;
		bool dup = false;

		if (parse_cidr(tok, &p))
			return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG,
					"%s:%zu: invalid CIDR address \"%s\" in %s", file, line,
					tok, key);
		for (size_t i = 0; i < out->n; i++)
			dup |= out->v[i].len == p.len && cni_ip_eq(&out->v[i].ip, &p.ip);
		if (dup)
			continue;
		out->v = cni_grow(out->v, &out->cap, out->n + 1, sizeof(p));
		out->v[out->n++] = p;
	}
	return 0;
}

static int parse_line(const char *file, size_t line, char *text, struct subnet_env *env,
		      struct cni_err *e)
{
	char *val = strchr(text, '=');
	const char *key = text;

	if (val)
		*val++ = '\0';
	if (strcmp(key, "FLANNEL_NETWORK") && strcmp(key, "FLANNEL_IPV6_NETWORK") &&
	    strcmp(key, "FLANNEL_SUBNET") && strcmp(key, "FLANNEL_IPV6_SUBNET") &&
	    strcmp(key, "FLANNEL_MTU") && strcmp(key, "FLANNEL_IPMASQ"))
		return 0; /* other lines (comments, other programs' keys) are not ours */
	if (!val) /* the reference panics here */
		return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG, "%s:%zu: %s has no value", file,
				line, key);
	if (!strcmp(key, "FLANNEL_NETWORK"))
		return parse_nets(file, line, key, val, &env->nets, e);
	if (!strcmp(key, "FLANNEL_IPV6_NETWORK"))
		return parse_nets(file, line, key, val, &env->nets6, e);
	if (!strcmp(key, "FLANNEL_SUBNET") || !strcmp(key, "FLANNEL_IPV6_SUBNET")) {
		if (parse_cidr(val, key[8] == 'S' ? &env->sn : &env->sn6))
			return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG,
					"%s:%zu: invalid CIDR address \"%s\" in %s", file, line,
					val, key);
		return 0;
	}
	if (!strcmp(key, "FLANNEL_MTU")) {
		char *end;

		/* strconv.ParseUint(s, 10, 32): digits only, no sign, no blanks. */
		errno = 0;
		env->mtu = *val >= '0' && *val <= '9' ? strtoul(val, &end, 10) : 0;
		if (*val < '0' || *val > '9' || *end || errno || env->mtu > 0xffffffffUL)
			return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG,
					"%s:%zu: invalid FLANNEL_MTU \"%s\"", file, line, val);
		env->has_mtu = true;
		return 0;
	}
	env->ipmasq = !strcmp(val, "true");
	env->has_ipmasq = true;
	return 0;
}

/*
 * Read and check subnet.env: 0 with *env filled, -ENOENT when the file does not exist, or
 * another negative errno. Every missing key is named in one message.
 */
static int load_subnet_env(const char *file, struct subnet_env *env, struct cni_err *e)
{
	char missing[256] = "", *text, *line, *save;
	size_t len, n = 0;
	int r;

	*env = (struct subnet_env){0};
	r = read_file(file, &text, &len, e);
	if (r == -ENOENT)
		return cni_fail(e, r, CNI_ERR_IO, "open %s: no such file or directory", file);
	if (r)
		return r;
	if (strlen(text) != len)
		return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG, "%s: NUL byte in the file",
				file);
	for (save = text; (line = strsep(&save, "\n"));) {
		size_t l = strlen(line);

		n++;
		if (l && line[l - 1] == '\r') /* bufio.ScanLines drops it too */
			line[l - 1] = '\0';
		r = parse_line(file, n, line, env, e);
		if (r)
			return r;
	}
#define MISSING(s) snprintf(missing + strlen(missing), sizeof(missing) - strlen(missing), \
			    "%s%s", missing[0] ? ", " : "", (s))
	if (!env->nets.n && !env->nets6.n)
		MISSING("FLANNEL_NETWORK, FLANNEL_IPV6_NETWORK");
	if (!env->sn.ip.family && !env->sn6.ip.family)
		MISSING("FLANNEL_SUBNET, FLANNEL_IPV6_SUBNET");
	if (!env->has_mtu)
		MISSING("FLANNEL_MTU");
	if (!env->has_ipmasq)
		MISSING("FLANNEL_IPMASQ");
#undef MISSING
	if (missing[0])
		return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG, "%s is missing %s", file,
				missing);
	return 0;
}

/* ---- the delegate configuration -------------------------------------------------------------- */

#define IF_ABSENT CNI_RENDER_IF_ABSENT

static const char *const gc_keys[] = {"cni.dev/valid-attachments", "cni.dev/attachments"};

/*
 * Render the delegate configuration from the input and subnet.env (read here: STATUS fails with
 * code 50 without it), key for key as upstream's cmdAdd/doCmdAdd/getDelegateIPAM. GC also
 * forwards the valid attachments. Returns 0 with the text and the delegate's type, or a
 * negative errno.
 */
static int render_delegate(struct cni_ctx *ctx, char **text, char **type, struct cni_err *e)
{
	static const char *const refused[] = {"name", "ipam"};
	const struct flannel_conf *c = ctx->conf;
	_cni_render_cleanup_ struct cni_render *d = NULL;
	struct cni_prefix subnets[2];
	struct cni_route *routes;
	enum cni_render_kind kind;
	size_t n_sub = 0, n_rt = 0;
	struct subnet_env senv;
	const struct subnet_env *env = &senv;
	bool gc = ctx->env.cmd == CNI_CMD_GC;
	int r = load_subnet_env(c->subnet_file, &senv, e);

	if (r && ctx->env.cmd == CNI_CMD_STATUS) {
		char *why = cni_strdup(e->msg);

		return cni_fail(e, r, CNI_ERR_NOT_AVAILABLE, "flannel is not ready: %s", why);
	}
	if (r)
		return cni_wrap(e, r, "loadFlannelSubnetEnv failed");
	r = cni_render_new(&d, ctx->stdin_buf, ctx->stdin_len, e);
	if (r)
		return r;
	r = cni_render_base(d, "delegate", e);
	if (r)
		return cni_wrap(e, r, "failed to load netconf");
	/* Upstream's checks, on the map's exact keys. */
	kind = cni_render_kind(d, NULL, "type");
	if (kind != CNI_RK_ABSENT && kind != CNI_RK_STRING)
		return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG,
				"'delegate' dictionary, if present, "
				"must have (string) 'type' field");
	for (size_t i = 0; i < 2; i++)
		if (cni_render_kind(d, NULL, refused[i]) != CNI_RK_ABSENT)
			return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG,
					"'delegate' dictionary must not have '%s' field, "
					"it'll be set by flannel",
					refused[i]);

	r = cni_render_copy(d, NULL, "runtimeConfig", "runtimeConfig", CNI_RENDER_OBJECT, e);
	if (r >= 0)
		r = cni_render_set_str(d, NULL, "name", ctx->net.name, 0, e);
	if (r >= 0)
		r = cni_render_set_str(d, NULL, "type", "bridge", IF_ABSENT, e);
	if (r >= 0) /* if flanneld does not masquerade, the delegate must */
		r = cni_render_set_bool(d, NULL, "ipMasq", !env->ipmasq, IF_ABSENT, e);
	if (r >= 0)
		r = cni_render_set_int(d, NULL, "mtu", (long long)env->mtu, IF_ABSENT, e);
	*type = cni_render_str(d, NULL, "type");
	if (r >= 0 && !strcmp(*type, "bridge"))
		r = cni_render_set_bool(d, NULL, "isGateway", true, IF_ABSENT, e);
	if (r >= 0 && c->cni_version && *c->cni_version)
		r = cni_render_set_str(d, NULL, "cniVersion", c->cni_version, 0, e);
	if (r < 0)
		return r;

	if (env->sn.ip.family)
		subnets[n_sub++] = env->sn;
	if (env->sn6.ip.family)
		subnets[n_sub++] = env->sn6;
	routes = cni_alloc((env->nets.n + env->nets6.n + 1) * sizeof(*routes));
	for (size_t i = 0; i < env->nets.n + env->nets6.n; i++) {
		const struct cni_prefix *dst =
			i < env->nets.n ? &env->nets.v[i] : &env->nets6.v[i - env->nets.n];

		routes[n_rt++] = (struct cni_route){.dst = *dst, .table = -1, .scope = -1};
	}
	r = cni_render_copy(d, NULL, "ipam", "ipam", CNI_RENDER_OBJECT, e);
	if (r >= 0)
		r = cni_render_set_str(d, "ipam", "type", "host-local", IF_ABSENT, e);
	if (r >= 0) /* replaced: the node's subnets are the only ones flanneld leased to us */
		r = cni_render_set_ranges(d, "ipam", "ranges", subnets, n_sub, 0, e);
	if (r >= 0)
		r = cni_render_append_routes(d, "ipam", "routes", routes, n_rt, e);
	if (r < 0)
		return cni_wrap(e, r, "failed to assemble Delegate IPAM");

	for (size_t i = 0; gc && i < sizeof(gc_keys) / sizeof(gc_keys[0]); i++)
		if ((r = cni_render_copy(d, NULL, gc_keys[i], gc_keys[i], 0, e)) < 0)
			return r;
	*text = cni_render_text(d);
	return *text ? 0 : cni_fail(e, -ENOMEM, CNI_ERR_INTERNAL, "rendering the delegate");
}

/* A saved configuration and its delegate type; -ENOENT when there is none. */
static int load_saved(struct cni_ctx *ctx, struct cni_render **d, char **text, char **type,
		      struct cni_err *e)
{
	const struct flannel_conf *c = ctx->conf;
	char *path = cni_sprintf("%s/%s", c->data_dir, ctx->env.container_id);
	size_t len;
	int r;

	r = read_file(path, text, &len, e);
	if (r)
		return r;
	r = cni_render_new(d, ctx->stdin_buf, ctx->stdin_len, e);
	if (r)
		return r;
	r = cni_render_load(*d, *text, len, e);
	if (r)
		return cni_wrap(e, r, "%s", path);
	*type = cni_render_str(*d, NULL, "type");
	return 0;
}

/* ---- verbs ----------------------------------------------------------------------------------- */

static int flannel_add(struct cni_ctx *ctx, struct cni_result *res, struct cni_err *e)
{
	const struct flannel_conf *c = ctx->conf;
	struct cni_result *dres = NULL;
	char *text, *type;
	int r;

	r = render_delegate(ctx, &text, &type, e);
	if (r)
		return r;
	/* Saved first: whatever the delegate does from here on, DEL can undo it. */
	r = write_atomic(c->data_dir, ctx->env.container_id, text, e);
	if (r)
		return r;
	r = cni_delegate(ctx, type, CNI_CMD_ADD, text, &dres, e);
	if (r)
		return cni_wrap(e, r, "failed to delegate add");
	*res = *dres;
	return 0;
}

static int flannel_del(struct cni_ctx *ctx, struct cni_err *e)
{
	const struct flannel_conf *c = ctx->conf;
	_cni_render_cleanup_ struct cni_render *d = NULL;
	char *text = NULL, *type = NULL;
	int r;

	unlink(tmp_path(c->data_dir, ctx->env.container_id)); /* left by an ADD killed while saving */
	r = load_saved(ctx, &d, &text, &type, e);
	if (r == -ENOENT)
		return 0; /* never added, or already deleted */
	if (r && text) {
		/* Upstream's rule: an unreadable saved config is no reason to fail DEL. GC keeps
		 * no use for it either but leaves it, as it cannot tell whose it is. */
		fprintf(stderr, "flannel: ignoring the saved configuration: %s\n", e->msg);
		cni_err_clear(e);
		return 0;
	}
	if (r)
		return r;
	/* The exact saved bytes, not a re-rendering: subnet.env may have changed or vanished. */
	r = cni_delegate(ctx, type, CNI_CMD_DEL, text, NULL, e);
	if (r)
		return r;
	if (unlink(cni_sprintf("%s/%s", c->data_dir, ctx->env.container_id)) && errno != ENOENT)
		fprintf(stderr, "flannel: removing the saved configuration: %s\n", strerror(errno));
	return 0;
}

static int flannel_check(struct cni_ctx *ctx, struct cni_err *e)
{
	const struct flannel_conf *c = ctx->conf;
	_cni_render_cleanup_ struct cni_render *d = NULL;
	char *text = NULL, *type = NULL;
	int r;

	r = load_saved(ctx, &d, &text, &type, e);
	if (r == -ENOENT)
		return cni_fail(e, r, CNI_ERR_UNKNOWN_CONTAINER,
				"no saved delegate configuration for container %s in %s",
				ctx->env.container_id, c->data_dir);
	if (r)
		return r;
	/* The runtime's version: prevResult is written in it. */
	if ((r = cni_render_copy(d, NULL, "prevResult", "prevResult", 0, e)) < 0 ||
	    (c->cni_version && *c->cni_version &&
	     (r = cni_render_set_str(d, NULL, "cniVersion", c->cni_version, 0, e)) < 0))
		return r;
	text = cni_render_text(d);
	return cni_delegate(ctx, type, CNI_CMD_CHECK, text, NULL, e);
}

/* No (complete) subnet.env: flanneld is not up yet, no ADD can succeed. */
static int flannel_status(struct cni_ctx *ctx, struct cni_err *e)
{
	char *text, *type;
	int r = render_delegate(ctx, &text, &type, e);

	return r ? r : cni_delegate(ctx, type, CNI_CMD_STATUS, text, NULL, e);
}

/*
 * Saved configurations are per container ID (the reference's layout), so one is stale when no
 * valid attachment, whatever its ifname, names its container. Only files of this network are
 * judged: the default dataDir is shared by every flannel network on the node.
 */
static bool saved_stale(const struct cni_ctx *ctx, const char *dir, const char *file)
{
	_cni_render_cleanup_ struct cni_render *d = NULL;
	char *path, *text, *name;
	struct cni_err one = {0};
	struct stat st;
	size_t len;

	if (cni_attachment_valid(ctx, file, NULL))
		return false;
	path = cni_sprintf("%s/%s", dir, file);
	if (lstat(path, &st) || !S_ISREG(st.st_mode))
		return false;
	if (read_file(path, &text, &len, &one) ||
	    cni_render_new(&d, ctx->stdin_buf, ctx->stdin_len, &one) ||
	    cni_render_load(d, text, len, &one))
		return false; /* not ours to judge */
	name = cni_render_str(d, NULL, "name");
	return name && !strcmp(name, ctx->net.name);
}

static int flannel_gc(struct cni_ctx *ctx, struct cni_err *e)
{
	const struct flannel_conf *c = ctx->conf;
	char *text, *type;
	int r;

	r = render_delegate(ctx, &text, &type, e);
	if (r)
		return r;
	/* The delegate first: a saved configuration stays as long as DEL may still need it. */
	r = cni_delegate(ctx, type, CNI_CMD_GC, text, NULL, e);
	if (r)
		return r;
	return cni_gc_dir(ctx, c->data_dir, "opendir", saved_stale, e);
}

const struct cni_plugin cni_main_plugin = {
	.name = "flannel",
	CNI_CONF(fields, struct flannel_conf),
	.conf_defaults = flannel_defaults,
	CNI_VERBS(flannel),
	.status = flannel_status,
	.gc = flannel_gc,
};
