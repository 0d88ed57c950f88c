/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The CNI protocol, spec 1.1.0 and every older version: the environment, the network
 * configuration read from stdin, version negotiation, the result model and its encoders, error
 * objects, CNI_ARGS, IPAM delegation, and the one dispatcher every plugin's main() calls.
 *
 * Only pkg/cni knows JSON. A plugin describes its own configuration keys with a table of
 * struct cni_field; the dispatcher fills the plugin's plain C struct from stdin once, at the edge.
 * Memory handed out by this module (parsed configs, results) lives in a per-process arena that
 * the dispatcher releases at exit: plugins never free it.
 */
#ifndef CNI_CNI_H
#define CNI_CNI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "err.h"
#include "ip.h"

/* ---- versions ---------------------------------------------------------------------------- */

enum cni_version {
	CNI_V010,
	CNI_V020,
	CNI_V030,
	CNI_V031,
	CNI_V040,
	CNI_V100,
	CNI_V110,
	CNI_V_COUNT,
};
#define CNI_V_LATEST CNI_V110

/* "0.1.0" ... "1.1.0" */
const char *cni_version_str(enum cni_version v);

/* Exact match against the known versions: the enum value, or -1. */
int cni_version_lookup(const char *s);

/*
 * Compare two semantic version strings ("1.0.0" < "1.1.0"). Returns <0, 0, >0, or sets *bad
 * when either string is not a valid version.
 */
int cni_version_cmp(const char *a, const char *b, bool *bad);

/* ---- commands and environment ------------------------------------------------------------- */

enum cni_cmd {
	CNI_CMD_NONE,
	CNI_CMD_ADD,
	CNI_CMD_DEL,
	CNI_CMD_CHECK,
	CNI_CMD_STATUS,
	CNI_CMD_GC,
	CNI_CMD_VERSION,
};

const char *cni_cmd_str(enum cni_cmd c);

struct cni_env {
	enum cni_cmd cmd;
	const char *command;	  /* CNI_COMMAND as given */
	const char *container_id; /* CNI_CONTAINERID, NULL when unset */
	const char *netns;	  /* CNI_NETNS, NULL or "" when unset */
	const char *ifname;	  /* CNI_IFNAME */
	const char *args;	  /* CNI_ARGS */
	const char *path;	  /* CNI_PATH */
};

/* ---- memory --------------------------------------------------------------------------------- */

/*
 * Zeroed allocation from the process arena; never NULL. Out of memory, the allocation comes from
 * a reserve kept for that and the failure is remembered (naming the caller): the dispatcher turns
 * the verb into an error "out of memory" (an ADD undone). Only with the reserve spent too does
 * the process exit at once, with that error printed.
 */
#define cni_alloc(size) cni__alloc((size), __func__)
#define cni_strdup(s) cni__strdup((s), __func__)
#define cni_sprintf(...) cni__sprintf(__func__, __VA_ARGS__)
/* Grow an arena array of elem-sized items to hold at least want items; returns the array. */
#define cni_grow(arr, cap, want, elem) cni__grow((arr), (cap), (want), (elem), __func__)
void *cni__alloc(size_t size, const char *who);
char *cni__strdup(const char *s, const char *who);
char *cni__sprintf(const char *who, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void *cni__grow(void *arr, size_t *cap, size_t want, size_t elem, const char *who);
/* The first allocation the heap refused: its caller and size; NULL when none was. */
const char *cni_arena_oom(size_t *size);
/* Releases every arena allocation (the dispatcher calls it before exit). */
void cni_arena_release(void);

/* ---- configuration schema ------------------------------------------------------------------ */

struct cni_strv {
	char **v;
	size_t n;
};

struct cni_vec {
	void *v;
	size_t n;
};

struct cni_kv {
	char *key;
	char *value;
};

struct cni_kvv {
	struct cni_kv *v;
	size_t n;
};

enum cni_ftype {
	CNI_F_STR,	/* char *, NULL when absent or null */
	CNI_F_BOOL,	/* bool */
	CNI_F_INT,	/* int, bounded by [min, max] when min < max (else by int's range) */
	CNI_F_I64,	/* long long, bounded by [min, max] when min < max */
	CNI_F_IP,	/* struct cni_ip */
	CNI_F_PREFIX,	/* struct cni_prefix, "addr/len" required */
	CNI_F_IPPREFIX, /* struct cni_prefix, "addr" or "addr/len" */
	CNI_F_STRV,	/* struct cni_strv */
	CNI_F_OBJ,	/* nested object: fields in .sub, stored at .off */
	CNI_F_ARRAY,	/* struct cni_vec of .elem_size items, each parsed by .sub[0] */
	CNI_F_STRMAP,	/* struct cni_kvv: object of string values, keys kept case-sensitive */
	CNI_F_JSON,	/* char *: the value re-encoded as compact JSON text */
};

enum {
	CNI_FF_REQUIRED = 1 << 0, /* absent or null: CNI_ERR_INVALID_CONFIG naming the key */
	CNI_FF_NONEMPTY = 1 << 1, /* strings and arrays: empty is an error too */
};

struct cni_field {
	const char *key;
	enum cni_ftype type;
	size_t off;
	const struct cni_field *sub; /* OBJ: NULL-key-terminated table; ARRAY: element descriptor */
	size_t elem_size;
	long long min, max;
	size_t seen; /* offsetof(bool flag) + 1 set when the key is present; 0 = not tracked */
	unsigned int flags;
	void (*init)(void *elem); /* ARRAY: defaults of each element before it is parsed */
	/*
	 * One line for --help: what the key means (defaults, units, the reference's semantics).
	 * Every key of a plugin's table has one (tests/unit/test_version.sh); an ARRAY's element
	 * descriptor needs none.
	 */
	const char *help;
};

#define CNI_FIELD(k, t, type_, member, ...)                                                        \
	{                                                                                          \
		.key = (k), .type = (type_), .off = offsetof(t, member), __VA_ARGS__              \
	}
#define CNI_SEEN(t, member) .seen = offsetof(t, member) + 1
#define CNI_FIELD_END {.key = NULL}

/*
 * cni_conf_parse() - fill @dst from the JSON text @json using @fields, at path @where (used in
 * error messages, e.g. "ipam"). Keys match case-insensitively (exact match preferred), unknown
 * keys are ignored, the last of duplicate keys wins, wrong types are CNI_ERR_DECODE naming the
 * key. Returns 0 or a negative errno with @e filled.
 */
int cni_conf_parse(const char *json, size_t len, const struct cni_field *fields, void *dst,
		   struct cni_err *e);

/*
 * cni_help_fields() - --help's key lines of @fields (and of the tables under them) on @out, each
 * path prefixed with @prefix: "  <path>  <type and bounds>  <.help>". With @out NULL, only
 * counts. The number of keys in *@keys (unless NULL). Returns how many keys have no .help.
 */
int cni_help_fields(FILE *out, const struct cni_field *fields, const char *prefix, int *keys);

/* ---- results --------------------------------------------------------------------------------- */

struct cni_iface {
	char *name;
	char *mac;
	int mtu;
	char *sandbox;
	char *socket_path;
	char *pci_id;
};

struct cni_ipcfg {
	struct cni_prefix address; /* address with its subnet's prefix length */
	struct cni_ip gateway;	   /* family 0 when absent */
	int iface;		   /* index into interfaces, -1 when absent */
};

struct cni_route {
	struct cni_prefix dst;
	struct cni_ip gw; /* family 0 when absent */
	int mtu, advmss, priority;
	int table; /* -1 when absent */
	int scope; /* -1 when absent */
};

struct cni_dns {
	struct cni_strv nameservers;
	char *domain;
	struct cni_strv search;
	struct cni_strv options;
};

struct cni_result {
	struct cni_iface *ifaces;
	size_t n_ifaces, cap_ifaces;
	struct cni_ipcfg *ips;
	size_t n_ips, cap_ips;
	struct cni_route *routes;
	size_t n_routes, cap_routes;
	struct cni_dns dns;
};

struct cni_result *cni_result_new(void);
/* Append helpers: return the new element's index; the element is zeroed with iface/table/scope -1. */
int cni_result_add_iface(struct cni_result *r, const char *name, const char *mac,
			 const char *sandbox);
int cni_result_add_ip(struct cni_result *r, const struct cni_prefix *addr,
		      const struct cni_ip *gw, int iface);
struct cni_route *cni_result_add_route(struct cni_result *r, const struct cni_prefix *dst,
				       const struct cni_ip *gw);
/*
 * cni_result_add_ips() - append every address of @src to @r, attached to interface @iface (an
 * index into @r's interfaces; -1: none), and every route of @src as it is. DNS is left alone.
 */
void cni_result_add_ips(struct cni_result *r, const struct cni_result *src, int iface);
/*
 * cni_result_addrs() - the addresses of @res on interface @iface (-1: every address), in the arena
 * (room for one more), their number in *@n.
 */
struct cni_prefix *cni_result_addrs(const struct cni_result *res, int iface, size_t *n);
/*
 * cni_result_iface() - the first interface of @res named @name in sandbox @sandbox (NULL: on the
 * host, with no or an empty sandbox), its index in *@idx unless @idx is NULL; NULL when none is.
 */
const struct cni_iface *cni_result_iface(const struct cni_result *res, const char *name,
					 const char *sandbox, int *idx);
struct cni_ctx;
/*
 * cni_prev_container_iface() - CHECK's look-up of the container's interface (CNI_IFNAME in
 * CNI_NETNS) in prevResult: *@out, its index in *@idx. Returns 0, -EINVAL ("Required prevResult
 * missing", invalid config) or -ENOENT (not in prevResult), with @e filled.
 */
int cni_prev_container_iface(const struct cni_ctx *ctx, const struct cni_iface **out, int *idx,
			     struct cni_err *e);
/*
 * cni_one_addr_per_family() - an IPAM config's check that a result before spec 0.3.0 can hold
 * its @nv4 IPv4 and @nv6 IPv6 addresses (one per family at most). Returns 0, or -EINVAL
 * (invalid config: "CNI version @version does not support more than 1 address per family").
 */
int cni_one_addr_per_family(const struct cni_ctx *ctx, size_t nv4, size_t nv6,
			    const char *version, struct cni_err *e);
/* Deep copy into the arena. */
struct cni_result *cni_result_copy(const struct cni_result *r);
bool cni_dns_empty(const struct cni_dns *d);

/*
 * cni_result_encode() - the result as version @v wants it, with the Go library's conversion
 * rules (0.1.0/0.2.0: first address per family, routes under their family; error "cannot
 * convert: no valid IP addresses" when there is none). Returns arena text (4-space indented, no
 * trailing newline) or NULL with @e filled.
 */
char *cni_result_encode(const struct cni_result *r, enum cni_version v, struct cni_err *e);

/* cni_result_decode() - parse a result of any version (shape-detected). NULL with @e filled. */
struct cni_result *cni_result_decode(const char *json, size_t len, struct cni_err *e);

/* ARRAY element descriptors for the shapes every plugin shares ({dst, gw, mtu, ...} routes). */
extern const struct cni_field cni_route_elem;
extern const struct cni_field cni_dns_fields[]; /* OBJ table of a struct cni_dns */

/* ---- CNI_ARGS ------------------------------------------------------------------------------ */

/*
 * cni_args_parse() - split "K1=V1;K2=V2" into pairs. Each pair must be exactly K=V
 * ("invalid CNI_ARGS pair" otherwise). When @known is given, a key not in it is an error unless
 * IgnoreUnknown is 1/true/True. Returns 0 or -EINVAL with @e filled (code CNI_ERR_INVALID_ENV).
 */
int cni_args_parse(const char *s, const char *const *known, struct cni_kvv *out,
		   struct cni_err *e);
/* Value of a key (case-sensitive), NULL when absent. */
const char *cni_args_get(const struct cni_kvv *args, const char *key);

/* ---- the common network configuration ------------------------------------------------------ */

struct cni_attachment {
	char *container_id;
	char *ifname;
};

struct cni_netconf {
	enum cni_version version;
	char *version_str; /* as given; "0.1.0" when absent */
	char *name;
	char *type;
	char *ipam_type;	    /* NULL when there is no ipam or an empty one */
	struct cni_dns dns;	    /* the plugin-level "dns" key */
	bool dns_seen;		    /* the "dns" key was present (even empty) */
	struct cni_result *prev;    /* prevResult, NULL when absent */
	struct cni_vec valid_atts;  /* GC: struct cni_attachment items */
	bool valid_atts_seen;	    /* either GC key was present and not null */
};

/* ---- plugins and the dispatcher ------------------------------------------------------------ */

struct cni_ctx;

/*
 * Flags of struct cni_plugin: STATUS and GC delegated to IPAM by the dispatcher, as the
 * reference's main plugins do, when the configuration has an ipam section (none: nothing asked).
 */
enum {
	CNI_PLUGIN_IPAM_STATUS = 1 << 0, /* STATUS: .status (if any), then, if ready, IPAM STATUS */
	CNI_PLUGIN_IPAM_GC = 1 << 1,	 /* GC without .gc: IPAM GC with the same configuration */
};
#define CNI_PLUGIN_IPAM_VERBS (CNI_PLUGIN_IPAM_STATUS | CNI_PLUGIN_IPAM_GC)

struct cni_plugin {
	const char *name;
	enum cni_version min_version;	  /* oldest spec version supported (default 0.1.0) */
	const struct cni_field *fields;	  /* the plugin's own keys (top level) */
	size_t conf_size;		  /* size of the struct they fill */
	void (*conf_defaults)(void *conf);
	/* Bounds and cross-key rules after parsing; CNI_ERR_INVALID_CONFIG naming key and value. */
	int (*conf_validate)(struct cni_ctx *ctx, void *conf, struct cni_err *e);
	const char *const *args_keys; /* CNI_ARGS keys understood, NULL-terminated; NULL = none read */
	int (*add)(struct cni_ctx *ctx, struct cni_result *res, struct cni_err *e);
	int (*del)(struct cni_ctx *ctx, struct cni_err *e);
	int (*check)(struct cni_ctx *ctx, struct cni_err *e);
	int (*status)(struct cni_ctx *ctx, struct cni_err *e);
	int (*gc)(struct cni_ctx *ctx, struct cni_err *e);
	unsigned int flags; /* CNI_PLUGIN_* */
	/*
	 * Delegates linked into this binary (host-local, static): when CNI_PATH resolves a delegate
	 * of that name to a binary of the same cnic build, it runs here without an exec.
	 */
	const struct cni_plugin *const *inproc;
	const void *ops; /* the plugin's own table, for callbacks shared by a family (pkg/plugin) */
	const char *help; /* --help's paragraph: what the plugin does, in a few lines */
};

/*
 * The parts of a struct cni_plugin most tables write alike: CNI_CONF, the plugin's own keys and
 * the struct they fill; CNI_VERBS, the three verbs every plugin has, named <prefix>_add,
 * <prefix>_del and <prefix>_check; CNI_INPROC_IPAM, the IPAM plugins run in-process.
 */
#define CNI_CONF(keys, type) .fields = (keys), .conf_size = sizeof(type)
#define CNI_VERBS(prefix) .add = prefix##_add, .del = prefix##_del, .check = prefix##_check
#define CNI_INPROC_IPAM                                                                            \
	.inproc = (const struct cni_plugin *const[]){&cni_hostlocal_plugin, &cni_static_plugin, NULL}

/* The IPAM plugins, for .inproc (their code lives in build/libipam.a). */
extern const struct cni_plugin cni_hostlocal_plugin;
extern const struct cni_plugin cni_static_plugin;

struct cni_ctx {
	const struct cni_plugin *plugin;
	struct cni_env env;
	struct cni_netconf net;
	struct cni_kvv args; /* parsed CNI_ARGS (only when the plugin declares args_keys) */
	void *conf;	     /* the plugin's struct, conf_size bytes */
	const char *stdin_buf;
	size_t stdin_len;
	/* Set by cni_ipam_add() so a failing ADD releases the addresses (dispatcher runs IPAM DEL). */
	bool ipam_added;
};

/*
 * cni_main() - the whole life of a plugin process: validate the environment, read and parse
 * stdin, negotiate the version, call the verb's callback and print exactly one JSON document on
 * stdout (a result or an error object). Returns the process exit status.
 */
int cni_main(const struct cni_plugin *p, int argc, char **argv);

/*
 * cni_print_help() - a plugin's --help on stdout: usage, the environment, its CNI_ARGS keys, every
 * key of its tables (cni_help_fields()), the spec versions. Returns the exit status (0, or 1
 * when stdout could not be written).
 */
int cni_print_help(const struct cni_plugin *p);

/*
 * cni_main_plugin - the plugin's table, for the main() of libcni.a (pkg/cni/main.c): a plugin
 * defines it and writes no main() of its own.
 */
extern const struct cni_plugin cni_main_plugin;

/*
 * cni_prev_iface() - CHECK's container interface: the interface of prevResult named CNI_IFNAME
 * whose sandbox is CNI_NETNS, in *@out. Returns 0; -EINVAL (code 7, "Required prevResult
 * missing") without prevResult; -ENOENT when no interface matches.
 */
int cni_prev_iface(const struct cni_ctx *ctx, const struct cni_iface **out, struct cni_err *e);

/*
 * The one interface-name rule of every layer (pkg/cni/ifname.c): the reference's (not empty, at
 * most CNI_IFNAME_MAX bytes, not "." or "..", no '/', ':' or Unicode whitespace), the kernel's
 * (no byte 0xa0) and no control characters. cni_ifname_problem() gives the reference's message
 * (code CNI_ERR_INVALID_ENV for CNI_IFNAME), NULL for a usable name.
 */
#define CNI_IFNAME_MAX 15
const char *cni_ifname_problem(const char *name);
bool cni_ifname_valid(const char *name);

/*
 * True when (container_id, ifname) is in the GC valid-attachments list; with @ifname NULL, when
 * any attachment of the container is.
 */
bool cni_attachment_valid(const struct cni_ctx *ctx, const char *container_id, const char *ifname);
/*
 * cni_gc_dir() - GC of a plugin's files in @dir: each entry whose name does not start with a dot
 * (a running ADD's temp file) and for which @stale(@ctx, @dir, name) says so is removed. An
 * absent @dir holds nothing. Returns 0, or the first failure after trying every entry (CNI_ERR_IO:
 * "@open_verb <dir>: <error>" or "removing <dir>/<name>: <error>").
 */
int cni_gc_dir(const struct cni_ctx *ctx, const char *dir, const char *open_verb,
	       bool (*stale)(const struct cni_ctx *ctx, const char *dir, const char *name),
	       struct cni_err *e);

/* ---- IPAM delegation ------------------------------------------------------------------------- */

/*
 * cni_delegate() - run plugin @type (found in CNI_PATH; a name with '/' is refused) with
 * CNI_COMMAND=@cmd, the same environment and @stdin_json (NULL: this process's stdin bytes).
 * On ADD the delegate's result is decoded into *@out. A delegate error object is propagated
 * into @e with its code. Returns 0 or a negative errno.
 */
int cni_delegate(struct cni_ctx *ctx, const char *type, enum cni_cmd cmd, const char *stdin_json,
		 struct cni_result **out, struct cni_err *e);

/* IPAM verbs on ctx->net.ipam_type. ADD marks ctx->ipam_added so a failed ADD is undone. */
int cni_ipam_add(struct cni_ctx *ctx, struct cni_result **out, struct cni_err *e);
int cni_ipam_del(struct cni_ctx *ctx, struct cni_err *e);
int cni_ipam_check(struct cni_ctx *ctx, struct cni_err *e);
int cni_ipam_status(struct cni_ctx *ctx, struct cni_err *e);
int cni_ipam_gc(struct cni_ctx *ctx, struct cni_err *e);

/*
 * cni_ipam_add_addrs() - cni_ipam_add() where a result without any address is -EINVAL ("IPAM
 * plugin returned missing IP config"); *@out is set either way once IPAM answered.
 */
int cni_ipam_add_addrs(struct cni_ctx *ctx, struct cni_result **out, struct cni_err *e);

/*
 * cni_ipam_add_ips() - cni_ipam_add_addrs(), then IPAM's addresses into @res on interface @iface
 * and its routes (cni_result_add_ips()). *@ipam, when @ipam is not NULL, gets IPAM's own result
 * (its DNS, say). Returns 0 or a negative errno; after a failure the dispatcher releases IPAM.
 */
int cni_ipam_add_ips(struct cni_ctx *ctx, struct cni_result *res, int iface,
		     struct cni_result **ipam, struct cni_err *e);

#endif
