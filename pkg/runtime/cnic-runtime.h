/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libcnic-runtime: the runtime side of CNI in C, what Go's libcni gives kubelet, containerd and
 * podman. Read top to bottom:
 *
 *   1. Load a network by name from a configuration directory (cnr_load_dir) or from bytes
 *      (cnr_load_bytes), the way libcni reads /etc/cni/net.d.
 *   2. Describe the attachment in a struct cnr_rt (container id, netns, ifname, CNI_ARGS,
 *      capability arguments, where the plugins are, where the cache is).
 *   3. Run a verb over the plugin chain: cnr_add, cnr_check, cnr_del, cnr_status, cnr_gc.
 *   4. On failure, a struct cnr_err says which plugin of the chain failed, with its CNI code and
 *      message.
 *   5. Read a result as C structs (cnr_result_parse): interfaces, ips, routes, dns, whatever the
 *      spec version the plugin printed.
 *   6. Check a network before use (cnr_validate, libcni's ValidateNetworkList).
 *
 * Every function returns 0 (or a count) on success and a negative errno on failure, with the
 * human side of the failure in the caller's struct cnr_err. Nothing here is global: calls for
 * different containers may run at once from different threads or processes.
 *
 * Compatibility with libcni (github.com/containernetworking/cni/libcni), kept exactly:
 *   - Files: first every *.conflist of the directory, in byte order of their names, then every
 *     *.conf and *.json, also sorted. The first list of the requested name wins; a .conf/.json is
 *     promoted to a one-plugin list ({"cniVersion","name","plugins":[conf]}). Unless
 *     loadOnlyInlinedPlugins is true, a list's plugins are followed by the plugin files
 *     <dir>/<network>/ *.conf (sorted).
 *   - List keys: cniVersion, cniVersions (the highest version not above CNR_SPEC_VERSION among
 *     cniVersions and cniVersion), name, disableCheck, disableGC, loadOnlyInlinedPlugins (booleans
 *     or the strings "true"/"false", any case), plugins.
 *   - Each plugin receives its own object with "name" and "cniVersion" of the list set,
 *     "prevResult" (ADD: the previous plugin's result; CHECK, DEL: the cached result) and
 *     "runtimeConfig" holding those capability arguments whose key the plugin declares in
 *     "capabilities" with true (and no runtimeConfig key added when there are none).
 *   - ADD runs the plugins in order and caches the last result; CHECK (spec >= 0.4.0, skipped when
 *     disableCheck) runs them in order with the cached result; DEL runs them in reverse with the
 *     cached result (spec >= 0.4.0) and removes the cache file, also when there was none.
 *   - The cache file is <cache_dir>/results/<network>-<container id>-<ifname> (cache_dir defaults
 *     to /var/lib/cni), a JSON object {"kind":"cniCacheV1","containerId","config" (the list's
 *     bytes, base64),"ifName","networkName","netns","cniArgs" ([[k,v],...]),"capabilityArgs",
 *     "result"}, keys in that order, the optional ones left out when empty. Files written by
 *     libcni are read back, and libcni reads ours. Unlike libcni the file is written atomically
 *     (a temporary file in the same directory, fsync, rename), mode 0600 in a 0700 directory.
 *
 * Where this library differs on purpose, every difference is one a runtime can only gain from:
 *   - A directory with one unreadable or malformed file still serves the good ones (libcni stops
 *     at the first bad .conflist). The bad files are named in the error when the network is not
 *     found, and in cnr_err.msg (code 0) when it is found.
 *   - Plugins run with a clean environment: the CNI_* variables and PATH, plus what the caller
 *     lists in cnr_rt.env; never the caller's whole environment.
 *   - Each plugin run is bounded by cnr_rt.timeout_ms: at the deadline the plugin is killed
 *     (SIGKILL) and reaped, and the call fails with CNR_ERR_TIMEOUT. A plugin gets SIGKILL when
 *     the thread that runs it dies (PR_SET_PDEATHSIG): a killed runtime leaves no plugin running
 *     to race its next DEL.
 *   - Failures libcni ignores are errors: a DEL whose cache file cannot be removed fails
 *     (CNR_ERR_CACHE; its plugins' DEL ran, a retry is a DEL again); a cache file that cannot be
 *     read for a transient reason (EIO, ENOMEM, EMFILE, ENFILE, EINTR, EAGAIN) fails CHECK and
 *     DEL and is kept (libcni drops it as it drops one that does not parse, and the result is
 *     lost to every later DEL); a GC whose cache directory cannot be listed, or one of its files
 *     read, fails; a read or write of a plugin's pipes that fails is named.
 *
 *   - Versions, as libcni: a plugin's ADD result is passed on, cached and returned in the version
 *     the plugin printed (a result without "cniVersion" gets the list's; an unknown version is an
 *     error, CNR_ERR_OUTPUT); the cached result given to CHECK and DEL as prevResult is converted
 *     to the list's cniVersion first (cnr_result_convert: a CHECK fails when it cannot be, a DEL
 *     runs without it). A cache file from before cniCacheV1 (the result alone, libcni's legacy
 *     format) is read as that result. Every result passed on, cached, returned or converted has a
 *     "dns" object ({} when the plugin printed none), as Go's result types always marshal it;
 *     otherwise a result keeps the keys the plugin printed, in its order (libcni re-marshals it
 *     through Go's types, which drops keys they do not know and reorders the rest).
 */
#ifndef CNIC_RUNTIME_H
#define CNIC_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>

/* The highest CNI spec version this library runs (cniVersions entries above it are ignored). */
#define CNR_SPEC_VERSION "1.1.0"
/* The spec versions this library runs, oldest first: i = 0, 1, ... until NULL. */
const char *cnr_spec_version(size_t i);
/* Where libcni keeps its cache; cnr_rt.cache_dir NULL means this. */
#define CNR_DEFAULT_CACHE_DIR "/var/lib/cni"
/* cnr_rt.timeout_ms 0 means this (one plugin run). */
#define CNR_DEFAULT_TIMEOUT_MS 60000

/*
 * Codes of struct cnr_err. 1..999 are the CNI codes a plugin returned (its error object's "code");
 * the runtime's own failures are 1000 and up, so a caller can tell the two apart.
 */
enum {
	CNR_ERR_CONFIG = 1000,	  /* a configuration file or the given bytes are not usable */
	CNR_ERR_NOT_FOUND = 1001, /* no network of that name in the directory */
	CNR_ERR_PLUGIN_MISSING = 1002, /* the plugin's binary is not on the search path */
	CNR_ERR_EXEC = 1003,	       /* the plugin could not be run, or died by a signal */
	CNR_ERR_TIMEOUT = 1004,	       /* the plugin ran past timeout_ms and was killed */
	CNR_ERR_OUTPUT = 1005,	       /* the plugin printed something that is not a JSON object */
	CNR_ERR_CACHE = 1006,	       /* the result cache could not be read or written */
	CNR_ERR_ARGS = 1007,	       /* a bad container id, ifname, CNI_ARGS or capability args */
	CNR_ERR_UNSUPPORTED = 1008,    /* the verb is not in the list's spec version (CHECK < 0.4.0) */
};

struct cnr_err {
	int code;	   /* a CNI code (1..999) or CNR_ERR_*; 0: none */
	char plugin[64];   /* the failing plugin's "type", "" when no plugin was at fault */
	int plugin_index;  /* its position in the chain (0-based), -1 when none */
	char msg[1024];	   /* one line: what failed, with the plugin's msg */
	char details[1024]; /* the plugin's "details", or "" */
};

/* ---- 1. Loading a network ---------------------------------------------------------------- */

/* A loaded network configuration list; opaque, read with the accessors below. */
struct cnr_list;

/*
 * cnr_load_dir() - find the network @name in the configuration directory @dir.
 * @out receives a list to release with cnr_list_free(). Returns 0, or -ENOENT (CNR_ERR_NOT_FOUND:
 * no such network, also when @dir does not exist; the bad files skipped are named with their
 * problem in the message, since one of them may have been meant to define @name), a negative
 * errno with CNR_ERR_CONFIG when @dir cannot be read, or -EINVAL (CNR_ERR_CONFIG) when the file
 * that defines @name has no plugin at all or its plugin files (<dir>/<name>/) are bad. On success
 * e->msg lists the bad files that were skipped, if any (e->code stays 0).
 */
int cnr_load_dir(const char *dir, const char *name, struct cnr_list **out, struct cnr_err *e);

/*
 * cnr_load_bytes() - a list from the bytes of a .conflist (@promote false) or of a single
 * plugin's .conf (@promote true). @origin names the bytes in messages (a file name). Plugin
 * files of a subdirectory are not read here. Returns 0 or -EINVAL (CNR_ERR_CONFIG).
 */
int cnr_load_bytes(const char *buf, size_t len, bool promote, const char *origin,
		   struct cnr_list **out, struct cnr_err *e);

void cnr_list_free(struct cnr_list *l);

/* One file of a configuration directory, as cnr_scan_dir() found it. */
struct cnr_dir_entry {
	char *file;		/* its path */
	struct cnr_list *list;	/* the network it defines; NULL when the file is bad */
	int shadowed_by;	/* the entry that defines the same name first (it wins), or -1 */
	struct cnr_err err;	/* why the file is bad (list NULL): its message names the file */
};

/*
 * cnr_scan_dir() - every network file of @dir in libcni's order of precedence (the *.conflist
 * files sorted, then the *.conf and *.json sorted), each loaded as cnr_load_dir() would load it
 * (plugin files of <dir>/<name>/ included): what `cnitool ls` shows. @out receives @count
 * entries to release with cnr_scan_free(). A missing @dir has none. Returns 0, or a negative
 * errno with CNR_ERR_CONFIG when @dir cannot be read.
 */
int cnr_scan_dir(const char *dir, struct cnr_dir_entry **out, size_t *count, struct cnr_err *e);
void cnr_scan_free(struct cnr_dir_entry *v, size_t n);


const char *cnr_list_name(const struct cnr_list *l);
const char *cnr_list_version(const struct cnr_list *l); /* the effective cniVersion, may be "" */
const char *cnr_list_file(const struct cnr_list *l);	/* the file it came from, or @origin */
bool cnr_list_disable_check(const struct cnr_list *l);
bool cnr_list_disable_gc(const struct cnr_list *l);
bool cnr_list_load_only_inlined(const struct cnr_list *l);
size_t cnr_list_plugins(const struct cnr_list *l);
const char *cnr_list_plugin_type(const struct cnr_list *l, size_t i);
/* The bytes cached as "config": the file's bytes for a .conflist, the promoted list for a .conf. */
const char *cnr_list_bytes(const struct cnr_list *l, size_t *len);

/* ---- 2. The attachment --------------------------------------------------------------------- */

struct cnr_rt {
	const char *container_id; /* CNI_CONTAINERID: [A-Za-z0-9][A-Za-z0-9_.-]* */
	const char *netns;	  /* CNI_NETNS: a path (absolute, as libcni passes it) */
	const char *ifname;	  /* CNI_IFNAME */
	/* CNI_ARGS as pairs: args[2*i] = key, args[2*i+1] = value, nargs pairs. */
	const char *const *args;
	size_t nargs;
	/* Capability arguments: a JSON object text ({"portMappings":[...]}), or NULL. */
	const char *cap_args;
	/* Where plugins are looked for, in order: a ':'-separated list (CNI_PATH). */
	const char *path;
	const char *cache_dir;	/* NULL: CNR_DEFAULT_CACHE_DIR */
	int timeout_ms;		/* per plugin run; 0: CNR_DEFAULT_TIMEOUT_MS */
	/* Extra "KEY=VALUE" strings for the plugins' environment (NULL-terminated), or NULL. */
	const char *const *env;
};

/*
 * cnr_parse_cni_args() - split a CNI_ARGS string "K1=V1;K2=V2" the way cnitool does: every pair
 * exactly one '=' with a non-empty key and value. Writes pointers into @buf (modified in place)
 * to @kv (2 per pair, room for @max pairs). Returns the number of pairs or -EINVAL with the bad
 * pair in e->msg.
 */
int cnr_parse_cni_args(char *buf, const char **kv, size_t max, struct cnr_err *e);

/*
 * cnr_cnitool_container_id() - upstream cnitool's container id for a netns path: "cnitool-" and
 * the first 10 bytes of SHA-512(@netns_abs) in hex (28 characters). @netns_abs is the absolute
 * path as Go's filepath.Abs gives it. Returns @buf (size >= 29).
 */
char *cnr_cnitool_container_id(const char *netns_abs, char *buf, size_t size);

/* ---- 3. Running the chain --------------------------------------------------------------- */

/*
 * cnr_add() - ADD every plugin in order, each given the previous one's result as prevResult, and
 * cache the last result. @result (may be NULL) receives that result as JSON text (free()).
 * When a plugin fails nothing is cached and the earlier plugins are NOT undone: the caller runs
 * cnr_del(), as with libcni.
 */
int cnr_add(const struct cnr_list *l, const struct cnr_rt *rt, char **result, struct cnr_err *e);

/* cnr_check() - CHECK every plugin in order against the cached result. */
int cnr_check(const struct cnr_list *l, const struct cnr_rt *rt, struct cnr_err *e);

/*
 * cnr_del() - DEL every plugin in reverse order with the cached result, then remove the cache
 * file (and temporary files a killed cnr_cache_write() left of it). A missing cache is not an
 * error (DEL must succeed twice); if a plugin fails, the cache stays so that a later DEL can
 * retry; a cache file that cannot be removed fails the DEL (CNR_ERR_CACHE).
 */
int cnr_del(const struct cnr_list *l, const struct cnr_rt *rt, struct cnr_err *e);

/*
 * cnr_status() - STATUS every plugin in order (spec >= 1.1.0; a lower version succeeds without
 * running anything, as libcni). Only rt->path, timeout_ms and env are used.
 */
int cnr_status(const struct cnr_list *l, const struct cnr_rt *rt, struct cnr_err *e);

/*
 * cnr_gc() - libcni's GCNetworkList: DEL (with the cached netns, CNI_ARGS and capability
 * arguments) every cached attachment of this network that is not in @valid, then, for spec >=
 * 1.1.0, GC every plugin with "cni.dev/valid-attachments" set to @valid. @valid holds pairs
 * (container id, ifname): valid[2*i], valid[2*i+1], @nvalid of them; @valid NULL means none known
 * (every cached attachment is stale, and no valid-attachments key is sent, as libcni with nil
 * GCArgs). Nothing runs when disableGC. Every step runs; the first failure is reported. A cache
 * directory that cannot be listed fails it before anything runs (a missing one is empty). The
 * network's temporary cache files that do not parse and are over a minute old (a cnr_cache_write()
 * killed before it finished) are removed.
 */
int cnr_gc(const struct cnr_list *l, const struct cnr_rt *rt, const char *const *valid,
	   size_t nvalid, struct cnr_err *e);

/*
 * cnr_version_info() - run plugin @i with VERSION (stdin {"cniVersion":CNR_SPEC_VERSION}, only
 * CNI_COMMAND and CNI_PATH set) and give its answer, checked to hold a "supportedVersions" list
 * of strings, as JSON text in @out (free()).
 */
int cnr_version_info(const struct cnr_list *l, size_t i, const struct cnr_rt *rt, char **out,
		     struct cnr_err *e);

/* ---- Pieces, exported for runtimes that drive plugins themselves (and for the tests) -------- */

/*
 * cnr_plugin_conf() - the stdin of plugin @i: its object with name, cniVersion, @prev (a result
 * as JSON text, or NULL) and runtimeConfig from rt->cap_args injected. Returns malloc'd JSON text
 * or NULL (e says why).
 */
char *cnr_plugin_conf(const struct cnr_list *l, size_t i, const char *prev, const struct cnr_rt *rt,
		      struct cnr_err *e);

/*
 * cnr_cache_path() - the cache file of (network, rt->container_id, rt->ifname) into @buf.
 * Returns the length, or -ENAMETOOLONG / -EINVAL (an empty part).
 */
int cnr_cache_path(const char *network, const struct cnr_rt *rt, char *buf, size_t size);

/* cnr_cache_write() - write the cniCacheV1 file of an ADD of @l whose last result is @result. */
int cnr_cache_write(const struct cnr_list *l, const struct cnr_rt *rt, const char *result,
		    struct cnr_err *e);

/*
 * cnr_cache_read() - the "result" of the cniCacheV1 file of (@network, rt) as JSON text in
 * @result (NULL when there is no file), as cached (not converted). With @config non-NULL, the
 * cached "config" bytes (decoded, NUL-terminated) too. A JSON object that is not a cniCacheV1
 * record is a legacy cache file, the result alone (*@config stays NULL). Returns 0, or -EINVAL
 * when the file is not a JSON object or its "result" is not one.
 */
int cnr_cache_read(const char *network, const struct cnr_rt *rt, char **result, char **config,
		   struct cnr_err *e);

/*
 * cnr_result_convert() - a result (JSON text) as spec version @version wants it, with libcni's
 * rules (GetAsVersion): the result's own "cniVersion" (0.1.0 when absent) gives its shape;
 * converting to 0.1.0/0.2.0 keeps the first address of each family and fails ("cannot convert:
 * no valid IP addresses") without one; "dns" is always there ({} when absent), as Go marshals
 * it. *@out receives compact JSON text (free()). Returns 0 or -EINVAL (an unknown version:
 * CNR_ERR_OUTPUT for the result's, CNR_ERR_UNSUPPORTED for @version's or an impossible
 * conversion).
 */
int cnr_result_convert(const char *result, const char *version, char **out, struct cnr_err *e);

/* Remove the cache file and the temporary files a killed cnr_cache_write() left of it; a missing
 * one is success. */
int cnr_cache_remove(const char *network, const struct cnr_rt *rt);

/* ---- 5. Results as C structs ------------------------------------------------------------- */

/*
 * A result (cnr_add's JSON text, a cached one, or any plugin's) parsed into structs, the same for
 * every spec version: a 0.1.0/0.2.0 result ({"ip4":{...},"ip6":{...}}) gives its ip4 then its ip6
 * as ips[] (interface -1) and their routes in routes[]; a 0.3.x/0.4.0 result's "version" of each
 * ip is dropped (family says it); keys a version does not have stay at their "absent" values.
 * Every string is NUL-terminated, owned by the struct; absent strings are NULL.
 */
struct cnr_addr {
	int family;		/* AF_INET or AF_INET6 (<sys/socket.h>); 0: absent */
	unsigned char bytes[16]; /* network order: 4 bytes for AF_INET, 16 for AF_INET6 */
	int prefix;		/* the prefix length of a CIDR ("10.1.0.2/24": 24); -1 for a plain address */
	char text[64];		/* as in the result: "10.1.0.2/24", "fd00::1" */
};

struct cnr_interface {
	char *name;	   /* "name" (NULL when the result has none) */
	char *mac;	   /* "mac", or NULL */
	int mtu;	   /* "mtu" (1.1.0), 0 when absent */
	char *sandbox;	   /* "sandbox": the netns path of a container interface, NULL on the host */
	char *socket_path; /* "socketPath" (1.1.0), or NULL */
	char *pci_id;	   /* "pciID" (1.1.0), or NULL */
};

struct cnr_ip {
	struct cnr_addr address; /* "address": a CIDR, always present */
	struct cnr_addr gateway; /* "gateway" (prefix -1), family 0 when absent */
	int interface;		 /* "interface": an index into interfaces[], -1 when absent */
};

struct cnr_route {
	struct cnr_addr dst; /* "dst": a CIDR, always present */
	struct cnr_addr gw;  /* "gw", family 0 when absent (the default gateway of dst's family) */
	/* 1.1.0's optional keys, -1 when absent; scope is the kernel's number (RT_SCOPE_*) */
	int mtu, advmss, priority, table, scope;
};

struct cnr_dns {
	char **nameservers; /* NULL-terminated arrays, NULL when absent */
	char *domain;	    /* or NULL */
	char **search;
	char **options;
};

struct cnr_result {
	char cni_version[16]; /* the result's "cniVersion" (0.1.0 when it has none, as libcni) */
	struct cnr_interface *interfaces;
	size_t n_interfaces;
	struct cnr_ip *ips;
	size_t n_ips;
	struct cnr_route *routes;
	size_t n_routes;
	struct cnr_dns dns;
};

/*
 * cnr_result_parse() - @json (a result of any version cnr_spec_version() lists) into a struct
 * for *@out, released with cnr_result_free(). Returns 0, or -EINVAL with CNR_ERR_OUTPUT: not a
 * JSON object, an unknown cniVersion, or a key of the wrong type or an address that does not
 * parse (e->msg names the key and the value: "ips[1].address: \"10.0.0.300/24\" is not a CIDR").
 * An "interface" index outside interfaces[] is an error too.
 */
int cnr_result_parse(const char *json, struct cnr_result **out, struct cnr_err *e);
void cnr_result_free(struct cnr_result *r);

/* ---- 6. Validation ----------------------------------------------------------------------- */

/*
 * cnr_validate() - libcni's ValidateNetworkList: every plugin of @l is found on rt->path and
 * answers VERSION with a supportedVersions list holding the list's cniVersion (0.1.0 when it has
 * none). Unlike libcni, which joins every failure in one message, the first failing plugin is
 * the one named in @e (code, plugin, plugin_index as for the verbs; CNR_ERR_UNSUPPORTED when it
 * runs but does not support the version) and every failure is listed in e->msg ("; "-separated).
 * On success *@caps (may be NULL) receives the capabilities some plugin declares with true,
 * sorted, without duplicates, NULL-terminated (free each and the array; libcni gives them
 * unordered); returns their number. Only rt->path, timeout_ms and env are used.
 */
int cnr_validate(const struct cnr_list *l, const struct cnr_rt *rt, char ***caps,
		 struct cnr_err *e);

#endif
