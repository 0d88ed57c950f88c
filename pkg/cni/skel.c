// SPDX-License-Identifier: Apache-2.0
/*
 * The dispatcher: one process, one verb, one JSON document on stdout. It validates the
 * environment and stdin exactly as the reference library (skel) does, but before any work is
 * done, parses the configuration once into the plugin's struct, calls the verb's callback and
 * prints its result or error. A failed ADD that had allocated addresses gets IPAM DEL here, so
 * plugins only undo their own kernel work.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "about.h"
#include "internal.h"
#include "suite_id.h"

/*
 * Every plugin carries an ELF note naming the source tree it was built from, so a plugin that
 * delegates can tell that the IPAM binary CNI_PATH resolves to is one of ours, built from the same
 * sources, and run that code in-process instead of exec'ing it (delegate.c).
 */
__asm__(".pushsection .note.cnic,\"a\",@note\n"
	".balign 4\n"
	".long 5\n"		/* namesz: "cnic\0" */
	".long 16\n"		/* descsz: the suite id */
	".long 0x43494e43\n"	/* type */
	".asciz \"cnic\"\n"
	".balign 4\n"
	".ascii \"" CNIC_SUITE_ID "\"\n"
	".balign 4\n"
	".popsection\n");

/* ---- environment ------------------------------------------------------------------------------ */

static const char *env_get(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

static enum cni_cmd parse_cmd(const char *s)
{
	for (int c = CNI_CMD_ADD; c <= CNI_CMD_VERSION; c++)
		if (!strcmp(s, cni_cmd_str(c)))
			return c;
	return CNI_CMD_NONE;
}

/* Which variables each verb needs, as the reference skel enforces (CNI_PATH included). */
static int check_env(const struct cni_env *env, struct cni_err *e)
{
	static const struct {
		const char *name;
		unsigned int need; /* bit per command */
	} vars[] = {
		{"CNI_CONTAINERID", 1u << CNI_CMD_ADD | 1u << CNI_CMD_DEL | 1u << CNI_CMD_CHECK},
		{"CNI_NETNS", 1u << CNI_CMD_ADD | 1u << CNI_CMD_CHECK},
		{"CNI_IFNAME", 1u << CNI_CMD_ADD | 1u << CNI_CMD_DEL | 1u << CNI_CMD_CHECK},
		{"CNI_PATH", 1u << CNI_CMD_ADD | 1u << CNI_CMD_DEL | 1u << CNI_CMD_CHECK |
				     1u << CNI_CMD_STATUS | 1u << CNI_CMD_GC},
	};
	char missing[256] = "";

	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
		if (!(vars[i].need & (1u << env->cmd)) || env_get(vars[i].name))
			continue;
		if (missing[0])
			strcat(missing, ",");
		strcat(missing, vars[i].name);
	}
	if (missing[0])
		return cni_fail(e, -EINVAL, CNI_ERR_INVALID_ENV,
				"required env variables [%s] missing", missing);
	return 0;
}

static bool name_ok(const char *s)
{
	if (!s || !((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9')))
		return false;
	for (s++; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_' || *s == '.' || *s == '-'))
			return false;
	return true;
}

static int check_ids(const struct cni_env *env, struct cni_err *e)
{
	const char *ifn = env->ifname, *why;

	if (env->cmd != CNI_CMD_ADD && env->cmd != CNI_CMD_DEL && env->cmd != CNI_CMD_CHECK)
		return 0;
	if (!env->container_id)
		return cni_fail(e, -EINVAL, CNI_ERR_UNKNOWN_CONTAINER, "missing containerID");
	if (!name_ok(env->container_id)) {
		cni_detail(e, "%s", env->container_id);
		return cni_fail(e, -EINVAL, CNI_ERR_INVALID_ENV, "invalid characters in containerID");
	}
	why = cni_ifname_problem(ifn);
	if (why)
		return cni_fail(e, -EINVAL, CNI_ERR_INVALID_ENV, "%s", why);
	return 0;
}

/* CNI_NETNS naming our own netns would configure the host itself: refuse before any work. */
static int check_own_netns(const struct cni_env *env, struct cni_err *e)
{
	const char *ov = getenv("CNI_NETNS_OVERRIDE");
	struct stat a, b;

	if (env->cmd != CNI_CMD_ADD && env->cmd != CNI_CMD_DEL && env->cmd != CNI_CMD_CHECK)
		return 0;
	if (!env->netns || (ov && (!strcmp(ov, "1") || !strcasecmp(ov, "true"))))
		return 0;
	if (stat(env->netns, &a) || stat("/proc/self/ns/net", &b))
		return 0; /* a missing netns is the verb's business (DEL succeeds) */
	if (a.st_dev == b.st_dev && a.st_ino == b.st_ino)
		return cni_fail(e, -EINVAL, CNI_ERR_INVALID_NETNS,
				"plugin's netns and netns from CNI_NETNS should not be the same");
	return 0;
}

/* ---- stdin -------------------------------------------------------------------------------------- */

static int read_stdin(struct cni_ctx *ctx, struct cni_err *e)
{
	size_t cap = 4096, len = 0;
	char *buf = cni_alloc(cap + 1);

	for (;;) {
		ssize_t n;

		if (len == cap) {
			/* One byte past the bound tells "too large" from "exactly the bound". */
			if (cap > CNI_MAX_INPUT)
				return cni_fail(e, -EFBIG, CNI_ERR_IO,
						"error reading from stdin: configuration larger than %u bytes",
						CNI_MAX_INPUT);
			size_t ncap = cap * 2 > CNI_MAX_INPUT ? CNI_MAX_INPUT + 1 : cap * 2;
			char *nbuf = cni_alloc(ncap + 1);

			memcpy(nbuf, buf, len);
			buf = nbuf;
			cap = ncap;
		}
		n = read(STDIN_FILENO, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return cni_fail(e, -errno, CNI_ERR_IO, "error reading from stdin: %s",
					strerror(errno));
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	ctx->stdin_buf = buf;
	ctx->stdin_len = len;
	return 0;
}

/* ---- version negotiation ------------------------------------------------------------------------ */

static void supported_list(const struct cni_plugin *p, char *buf, size_t len)
{
	size_t o = 0;

	for (int v = p->min_version; v < CNI_V_COUNT && o < len; v++)
		o += (size_t)snprintf(buf + o, len - o, "%s\"%s\"", o ? " " : "", cni_version_str(v));
}

static int negotiate(struct cni_ctx *ctx, json_t *root, struct cni_err *e)
{
	const struct cni_plugin *p = ctx->plugin;
	json_t *v = cni_json_get(root, "cniVersion"), *list = cni_json_get(root, "cniVersions");
	const char *s = NULL;
	char sup[128];
	int ver;

	if (v && !json_is_string(v) && !json_is_null(v))
		return cni_fail(e, -EINVAL, CNI_ERR_DECODE,
				"error unmarshall network config: cniVersion must be a string");
	s = json_string_value(v);
	if ((!s || !*s) && json_is_array(list)) {
		/* No cniVersion from the runtime: the highest version both sides know. */
		size_t i;
		json_t *item;
		int best = -1;

		json_array_foreach(list, i, item)
		{
			int x = cni_version_lookup(json_string_value(item));

			if (x > best && x >= (int)p->min_version)
				best = x;
		}
		if (best >= 0)
			s = cni_version_str(best);
	}
	if (!s || !*s)
		s = "0.1.0";
	ctx->net.version_str = cni_strdup(s);
	ver = cni_version_lookup(s);
	if (ver < 0 || ver < (int)p->min_version) {
		supported_list(p, sup, sizeof(sup));
		cni_detail(e, "config is \"%s\", plugin supports [%s]", s, sup);
		return cni_fail(e, -ENOTSUP, CNI_ERR_INCOMPATIBLE_VERSION,
				"incompatible CNI versions");
	}
	ctx->net.version = ver;
	if (ctx->env.cmd == CNI_CMD_CHECK && ver < CNI_V040)
		return cni_fail(e, -ENOTSUP, CNI_ERR_INCOMPATIBLE_VERSION,
				"config version does not allow CHECK");
	if ((ctx->env.cmd == CNI_CMD_GC || ctx->env.cmd == CNI_CMD_STATUS) && ver < CNI_V110)
		return cni_fail(e, -ENOTSUP, CNI_ERR_INCOMPATIBLE_VERSION,
				"config version does not allow %s", cni_cmd_str(ctx->env.cmd));
	return 0;
}

/* ---- the common configuration ----------------------------------------------------------------- */

static const struct cni_field att_fields[] = {
	CNI_FIELD("containerID", struct cni_attachment, CNI_F_STR, container_id),
	CNI_FIELD("ifname", struct cni_attachment, CNI_F_STR, ifname),
	CNI_FIELD_END,
};
static const struct cni_field att_elem = {
	.type = CNI_F_OBJ, .sub = att_fields,
};

static int parse_netconf(struct cni_ctx *ctx, json_t *root, struct cni_err *e)
{
	static const struct cni_field fields[] = {
		CNI_FIELD("name", struct cni_netconf, CNI_F_STR, name),
		CNI_FIELD("type", struct cni_netconf, CNI_F_STR, type),
		CNI_FIELD("dns", struct cni_netconf, CNI_F_OBJ, dns, .sub = cni_dns_fields,
			  CNI_SEEN(struct cni_netconf, dns_seen)),
		CNI_FIELD_END,
	};
	struct cni_netconf *n = &ctx->net;
	json_t *ipam, *prev, *atts;
	int r;

	r = cni_fields_parse(root, fields, n, "", e);
	if (r)
		return r;
	if (!n->name || !*n->name)
		return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG, "missing network name");
	if (!name_ok(n->name)) {
		cni_detail(e, "%s", n->name);
		return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG,
				"invalid characters found in network name");
	}
	ipam = cni_json_get(root, "ipam");
	if (ipam && !json_is_null(ipam)) {
		json_t *t = cni_json_get(ipam, "type");

		if (!json_is_object(ipam) || (t && !json_is_string(t) && !json_is_null(t)))
			return cni_fail(e, -EINVAL, CNI_ERR_DECODE,
					"cannot unmarshal \"ipam\": must be an object with a string \"type\"");
		if (json_string_length(t))
			n->ipam_type = cni_strdup(json_string_value(t));
	}
	prev = cni_json_get(root, "prevResult");
	if (prev && !json_is_null(prev)) {
		n->prev = cni_result_from_json(prev, e);
		if (!n->prev)
			return cni_wrap(e, -EINVAL, "could not parse prevResult");
	}
	atts = json_object_get(root, "cni.dev/valid-attachments");
	if (!atts)
		atts = json_object_get(root, "cni.dev/attachments");
	if (atts && !json_is_null(atts)) {
		struct cni_field f = {.key = "cni.dev/valid-attachments",
				      .type = CNI_F_ARRAY,
				      .sub = &att_elem,
				      .elem_size = sizeof(struct cni_attachment)};

		struct cni_field table[] = {f, CNI_FIELD_END};
		json_t *holder = json_pack("{sO}", f.key, atts);

		r = cni_fields_parse(holder, table, &n->valid_atts, "", e);
		json_decref(holder);
		if (r)
			return r;
		n->valid_atts_seen = true;
	}
	return 0;
}

int cni_prev_iface(const struct cni_ctx *ctx, const struct cni_iface **out, struct cni_err *e)
{
	const struct cni_result *prev = ctx->net.prev;

	if (!prev)
		return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG, "Required prevResult missing");
	for (size_t i = 0; i < prev->n_ifaces; i++)
		if (prev->ifaces[i].name && !strcmp(prev->ifaces[i].name, ctx->env.ifname) &&
		    prev->ifaces[i].sandbox && !strcmp(prev->ifaces[i].sandbox, ctx->env.netns)) {
			*out = &prev->ifaces[i];
			return 0;
		}
	return cni_fail(e, -ENOENT, 0, "Sandbox in prevResult doesn't match configured netns: %s",
			ctx->env.netns);
}

bool cni_attachment_valid(const struct cni_ctx *ctx, const char *container_id, const char *ifname)
{
	const struct cni_attachment *a = ctx->net.valid_atts.v;

	for (size_t i = 0; i < ctx->net.valid_atts.n; i++)
		if (a[i].container_id && !strcmp(a[i].container_id, container_id) &&
		    (!ifname || (a[i].ifname && !strcmp(a[i].ifname, ifname))))
			return true;
	return false;
}

int cni_gc_dir(const struct cni_ctx *ctx, const char *dir, const char *open_verb,
	       bool (*stale)(const struct cni_ctx *ctx, const char *dir, const char *name),
	       struct cni_err *e)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int first = 0;

	if (!d)
		return errno == ENOENT ? 0
				       : cni_fail(e, -errno, CNI_ERR_IO, "%s %s: %s", open_verb, dir,
						  strerror(errno));
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || !stale(ctx, dir, de->d_name))
			continue;
		if (unlink(cni_sprintf("%s/%s", dir, de->d_name)) < 0 && errno != ENOENT && !first) {
			first = -errno;
			cni_fail(e, first, CNI_ERR_IO, "removing %s/%s: %s", dir, de->d_name,
				 strerror(errno));
		}
	}
	closedir(d);
	return first;
}

/* ---- output ------------------------------------------------------------------------------------- */

static void put_json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static void print_error_plain(const struct cni_ctx *ctx, const struct cni_err *e)
{
	printf("{\n    \"cniVersion\": ");
	put_json_string(ctx->net.version_str ? ctx->net.version_str : cni_version_str(CNI_V_LATEST));
	printf(",\n    \"code\": %u,\n    \"msg\": ", e->code ? e->code : CNI_ERR_INTERNAL);
	put_json_string(e->msg);
	if (e->details[0]) {
		printf(",\n    \"details\": ");
		put_json_string(e->details);
	}
	printf("\n}");
}

static void print_error(const struct cni_ctx *ctx, int r, struct cni_err *e)
{
	json_t *o = json_object();
	char *s;

	if (!e->msg[0])
		snprintf(e->msg, sizeof(e->msg), "%s", strerror(r < 0 ? -r : EIO));
	json_object_set_new(o, "cniVersion",
			    json_string(ctx->net.version_str ? ctx->net.version_str
							     : cni_version_str(CNI_V_LATEST)));
	json_object_set_new(o, "code", json_integer(e->code ? e->code : CNI_ERR_INTERNAL));
	json_object_set_new(o, "msg", json_string(e->msg));
	if (e->details[0])
		json_object_set_new(o, "details", json_string(e->details));
	s = json_dumps(o, JSON_INDENT(4) | JSON_PRESERVE_ORDER);
	if (s)
		fputs(s, stdout);
	else /* out of memory: the same object by hand */
		print_error_plain(ctx, e);
	free(s);
	json_decref(o);
}

/*
 * Everything written to stdout reached it: a result the runtime never reads is a failure (the
 * reference's skel exits 1 and says so on stderr; like it, we undo nothing).
 */
static int stdout_done(const char *what)
{
	int err = 0;

	if (fflush(stdout) == EOF || ferror(stdout))
		err = errno ? errno : EIO;
	if (!err)
		return 0;
	fprintf(stderr, "writing the %s to stdout: %s\n", what, strerror(err));
	return -err;
}

static void print_version(const struct cni_plugin *p)
{
	/* The spec echoes the input version; we answer with the newest we speak, as libcni expects. */
	printf("{\"cniVersion\":\"%s\",\"supportedVersions\":[", cni_version_str(CNI_V_LATEST));
	for (int v = p->min_version; v < CNI_V_COUNT; v++)
		printf("%s\"%s\"", v == (int)p->min_version ? "" : ",", cni_version_str(v));
	printf("]}\n");
}

static void print_about(const struct cni_plugin *p)
{
	fprintf(stderr, "CNI %s plugin (cnic)\nCNI protocol versions supported:", p->name);
	for (int v = p->min_version; v < CNI_V_COUNT; v++)
		fprintf(stderr, "%s %s", v == (int)p->min_version ? "" : ",", cni_version_str(v));
	fputc('\n', stderr);
}

/* ---- the verbs ---------------------------------------------------------------------------------- */

/* The arena served an allocation from its reserve: whatever came of the verb, it is this error. */
static int oom_fail(struct cni_err *e)
{
	size_t size;
	const char *who = cni_arena_oom(&size);

	return cni_fail(e, -ENOMEM, CNI_ERR_INTERNAL, "out of memory: %s: %zu bytes", who, size);
}

/*
 * Run the verb of an already loaded context. For ADD, *@text receives the encoded result; a
 * failed ADD has its IPAM allocation released here, and an ADD whose result cannot be expressed
 * in the requested version (an L2 result at 0.2.0) is undone with the plugin's own DEL.
 */
int cni__run_verb(struct cni_ctx *ctx, char **text, struct cni_err *e)
{
	const struct cni_plugin *p = ctx->plugin;
	struct cni_result *res;
	int r;

	switch (ctx->env.cmd) {
	case CNI_CMD_ADD:
		if (!p->add)
			return cni_fail(e, -ENOTSUP, CNI_ERR_INVALID_ENV, "unknown CNI_COMMAND: ADD");
		res = cni_result_new();
		r = p->add(ctx, res, e);
		if (r >= 0) {
			*text = cni_result_encode(res, ctx->net.version, e);
			if (*text && !cni_arena_oom(NULL))
				return 0;
			*text = NULL;
			if (p->del) {
				struct cni_err ignored = {0};

				p->del(ctx, &ignored);
			}
			r = cni_arena_oom(NULL) ? oom_fail(e) : -EINVAL;
		}
		if (ctx->ipam_added) {
			struct cni_err ignored = {0};

			cni_ipam_del(ctx, &ignored);
		}
		return r;
	case CNI_CMD_DEL:
		return p->del ? p->del(ctx, e) : 0;
	case CNI_CMD_CHECK:
		return p->check ? p->check(ctx, e) : 0;
	case CNI_CMD_STATUS:
		r = p->status ? p->status(ctx, e) : 0;
		if (r >= 0 && (p->flags & CNI_PLUGIN_IPAM_STATUS) && ctx->net.ipam_type)
			r = cni_ipam_status(ctx, e);
		return r;
	case CNI_CMD_GC:
		if (p->gc)
			return p->gc(ctx, e);
		return (p->flags & CNI_PLUGIN_IPAM_GC) && ctx->net.ipam_type ? cni_ipam_gc(ctx, e)
									     : 0;
	default:
		return cni_fail(e, -EINVAL, CNI_ERR_INVALID_ENV, "unknown CNI_COMMAND: %s",
				ctx->env.command);
	}
}

/* Parse ctx->stdin_buf into the common netconf and the plugin's struct, and validate both. */
int cni__load_conf(struct cni_ctx *ctx, struct cni_err *e)
{
	const struct cni_plugin *p = ctx->plugin;
	json_t *root;
	int r;

	root = cni_json_load(ctx->stdin_buf, ctx->stdin_len, "error unmarshall network config", e);
	if (!root)
		return -EINVAL;
	if (!json_is_object(root)) {
		json_decref(root);
		return cni_fail(e, -EINVAL, CNI_ERR_DECODE,
				"error unmarshall network config: not a JSON object");
	}
	r = parse_netconf(ctx, root, e);
	if (!r)
		r = negotiate(ctx, root, e);
	if (!r && ctx->env.cmd == CNI_CMD_NONE)
		r = cni_fail(e, -EINVAL, CNI_ERR_INVALID_ENV, "unknown CNI_COMMAND: %s",
			     ctx->env.command);
	if (!r) {
		ctx->conf = cni_alloc(p->conf_size ? p->conf_size : 1);
		if (p->conf_defaults)
			p->conf_defaults(ctx->conf);
		if (p->fields)
			r = cni_fields_parse(root, p->fields, ctx->conf, "", e);
	}
	json_decref(root);
	if (r)
		return r;
	if (p->args_keys) {
		r = cni_args_parse(ctx->env.args, p->args_keys, &ctx->args, e);
		if (r)
			return r;
	}
	if (p->conf_validate)
		return p->conf_validate(ctx, ctx->conf, e);
	return 0;
}

static int dispatch(struct cni_ctx *ctx, char **text, struct cni_err *e)
{
	int r;

	r = check_env(&ctx->env, e);
	if (!r)
		r = read_stdin(ctx, e);
	if (!r)
		r = check_ids(&ctx->env, e);
	if (!r)
		r = cni__load_conf(ctx, e);
	if (!r)
		r = check_own_netns(&ctx->env, e);
	if (!r && cni_arena_oom(NULL))
		r = oom_fail(e);
	if (!r)
		r = cni__run_verb(ctx, text, e);
	if (r >= 0 && cni_arena_oom(NULL)) /* an ADD was undone in cni__run_verb already */
		r = oom_fail(e);
	return r;
}

/*
 * jansson seeds its hash function when the first object is made, from /dev/urandom (a path
 * lookup, open, read, close on every plugin run): the same entropy from one getrandom() call.
 * Failing that, jansson seeds itself as before.
 */
static void seed_json(void)
{
	uint32_t seed;

	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) == sizeof(seed) && seed)
		json_object_seed(seed);
}

int cni_main(const struct cni_plugin *p, int argc, char **argv)
{
	struct cni_ctx ctx = {.plugin = p};
	struct cni_err e = {0};
	const char *cmd = env_get("CNI_COMMAND");
	char *text = NULL;
	int r;

	/* No runtime passes arguments (libcni runs the plugin with argv[0] alone). */
	if (argc > 1 && !strcmp(argv[1], "--version"))
		return cni_print_version(p->name, (int)p->min_version);
	if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")))
		return cni_print_help(p);
	if (!cmd) {
		print_about(p);
		return 0;
	}
	ctx.env.command = cmd;
	ctx.env.cmd = parse_cmd(cmd);
	if (ctx.env.cmd == CNI_CMD_VERSION) {
		errno = 0;
		print_version(p);
		return stdout_done("version") < 0 ? 1 : 0;
	}
	seed_json();
	ctx.env.container_id = env_get("CNI_CONTAINERID");
	ctx.env.netns = env_get("CNI_NETNS");
	ctx.env.ifname = env_get("CNI_IFNAME");
	ctx.env.args = env_get("CNI_ARGS");
	ctx.env.path = env_get("CNI_PATH");

	r = dispatch(&ctx, &text, &e);
	errno = 0;
	if (r < 0) {
		print_error(&ctx, r, &e);
		stdout_done("error");
	} else {
		if (text)
			fputs(text, stdout);
		r = stdout_done("result");
	}
	cni_arena_release();
	return r < 0 ? 1 : 0;
}
