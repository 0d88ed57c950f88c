// SPDX-License-Identifier: Apache-2.0
/*
 * tuning: a chained plugin that changes the container interface and its netns as the reference
 * does, key for key: sysctls under /proc/sys/net of the container netns (limited by the regular
 * expressions of /etc/cni/tuning/allowlist.conf when that file exists; "IFNAME" in a key names the
 * interface), and the interface's MAC address, MTU, promiscuous and all-multicast modes and
 * transmit queue length, from the configuration, CNI_ARGS MAC, runtimeConfig.mac and args.cni
 * (applied in that order). Before changing an attribute, ADD saves the original values of exactly
 * the attributes it changes to <dataDir>/<containerID>_<ifname>.json (the reference's file and
 * keys, so a host can switch implementations; written temp + fsync + rename); DEL puts them back
 * and removes the file. Sysctls are not restored (the netns dies with the container). A failed
 * ADD restores what it changed. DEL always succeeds: a vanished netns or interface just removes
 * the file. GC removes the files of stale attachments (nothing to restore without the netns).
 * The result is prevResult, with the new MAC on the interface.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cni/cni.h"
#include "cni/dupkeys.h"
#include "cni/render.h"
#include "netutil/iface.h"
#include "netutil/link_attrs.h"
#include "netutil/netutil.h"
#include "plugin/mac.h"

#define DEFAULT_DATA_DIR "/run/cni/tuning"
#define ALLOWLIST "/etc/cni/tuning/allowlist.conf"

struct tun_args {
	struct cni_kvv sysctl;
	bool sysctl_seen;
	char *mac;
	bool promisc, promisc_seen;
	int mtu;
	bool mtu_seen;
	bool allmulti, allmulti_seen;
	int txqlen;
	bool txqlen_seen;
};

struct tun_conf {
	char *data_dir;
	struct cni_kvv sysctl;
	char *mac;
	bool promisc;
	int mtu;
	bool allmulti, allmulti_seen;
	int txqlen;
	bool txqlen_seen;
	struct {
		char *mac;
	} rc;
	struct {
		struct tun_args cni;
	} args;

	/* derived by tun_validate() */
	uint8_t mac_bytes[6];
};

#define A(k, t, m, ...) CNI_FIELD(k, struct tun_args, t, m, __VA_ARGS__)
static const struct cni_field cni_args_fields[] = {
	A("sysctl", CNI_F_STRMAP, sysctl, CNI_SEEN(struct tun_args, sysctl_seen),
	  .help = "as sysctl, applied last"),
	A("mac", CNI_F_STR, mac, .help = "as mac, applied last"),
	A("promisc", CNI_F_BOOL, promisc, CNI_SEEN(struct tun_args, promisc_seen),
	  .help = "as promisc, applied last"),
	A("mtu", CNI_F_INT, mtu, CNI_SEEN(struct tun_args, mtu_seen),
	  .help = "as mtu, applied last"),
	A("allmulti", CNI_F_BOOL, allmulti, CNI_SEEN(struct tun_args, allmulti_seen),
	  .help = "as allmulti, applied last"),
	A("txQLen", CNI_F_INT, txqlen, CNI_SEEN(struct tun_args, txqlen_seen),
	  .help = "as txQLen, applied last"),
	CNI_FIELD_END,
};
static const struct cni_field args_fields[] = {
	{.key = "cni", .type = CNI_F_OBJ, .sub = cni_args_fields,
	  .help = "the args of the CNI conventions (the keys below)"},
	CNI_FIELD_END,
};
static const struct cni_field mac_fields[] = {
	{.key = "mac", .type = CNI_F_STR, .help = "capability mac: the interface's MAC address"},
	CNI_FIELD_END,
};

#define F(k, t, m, ...) CNI_FIELD(k, struct tun_conf, t, m, __VA_ARGS__)
static const struct cni_field fields[] = {
	F("dataDir", CNI_F_STR, data_dir,
	  .help = "where the original values are saved for DEL (default /run/cni/tuning)"),
	F("sysctl", CNI_F_STRMAP, sysctl,
	  .help = "sysctls under /proc/sys/net of the container (IFNAME: the interface)"),
	F("mac", CNI_F_STR, mac, .help = "MAC address of the interface"),
	F("promisc", CNI_F_BOOL, promisc, .help = "promiscuous mode on (false leaves it as it is)"),
	F("mtu", CNI_F_INT, mtu, .help = "MTU of the interface"),
	F("allmulti", CNI_F_BOOL, allmulti, CNI_SEEN(struct tun_conf, allmulti_seen),
	  .help = "all-multicast mode on or off"),
	F("txQLen", CNI_F_INT, txqlen, CNI_SEEN(struct tun_conf, txqlen_seen),
	  .help = "transmit queue length of the interface"),
	F("runtimeConfig", CNI_F_OBJ, rc, .sub = mac_fields,
	  .help = "the runtime's capability arguments (only mac is read)"),
	F("args", CNI_F_OBJ, args, .sub = args_fields,
	  .help = "the runtime's args (only args.cni is read)"),
	CNI_FIELD_END,
};

static const char *const args_keys[] = {"MAC", NULL};

/* The original values of the attributes ADD changes (the reference's configToRestore). */
struct backup {
	char *mac;
	bool promisc, promisc_seen;
	int mtu;
	bool allmulti, allmulti_seen;
	int txqlen;
	bool txqlen_seen;
};

#define K(k, t, m, ...) CNI_FIELD(k, struct backup, t, m, __VA_ARGS__)
static const struct cni_field backup_fields[] = {
	K("mac", CNI_F_STR, mac),
	K("promisc", CNI_F_BOOL, promisc, CNI_SEEN(struct backup, promisc_seen)),
	K("mtu", CNI_F_INT, mtu),
	K("allmulti", CNI_F_BOOL, allmulti, CNI_SEEN(struct backup, allmulti_seen)),
	K("txQLen", CNI_F_INT, txqlen, CNI_SEEN(struct backup, txqlen_seen)),
	CNI_FIELD_END,
};

/* args.cni.sysctl entries replace or join the top-level ones. */
static void merge_sysctl(struct cni_kvv *dst, const struct cni_kvv *src)
{
	struct cni_kv *v = cni_alloc((dst->n + src->n + 1) * sizeof(*v));
	size_t n = dst->n;

	memcpy(v, dst->v, dst->n * sizeof(*v));
	for (size_t i = 0; i < src->n; i++) {
		size_t j;

		for (j = 0; j < n && strcmp(v[j].key, src->v[i].key); j++)
			;
		v[j] = src->v[i];
		if (j == n)
			n++;
	}
	dst->v = v;
	dst->n = n;
}

static int tun_validate(struct cni_ctx *ctx, void *conf, struct cni_err *e)
{
	struct tun_conf *c = conf;
	const struct tun_args *a = &c->args.cni;
	struct pl_mac_keys k = {.runtime = c->rc.mac, .args = a->mac, .conf = c->mac};
	struct pl_mac m;
	int r;

	if (!c->data_dir || !*c->data_dir)
		c->data_dir = DEFAULT_DATA_DIR;
	if (a->sysctl_seen)
		merge_sysctl(&c->sysctl, &a->sysctl);
	if (a->promisc_seen)
		c->promisc = a->promisc;
	if (a->mtu_seen)
		c->mtu = a->mtu;
	if (a->allmulti_seen)
		c->allmulti = a->allmulti, c->allmulti_seen = true;
	if (a->txqlen_seen)
		c->txqlen = a->txqlen, c->txqlen_seen = true;
	/* the MAC: pl_mac_tuning's order (pkg/plugin/mac.c) */
	r = pl_mac_decide(&pl_mac_tuning, &k, &ctx->args, &m, e);
	if (r < 0)
		return r;
	c->mac = m.set ? (char *)m.text : NULL;
	memcpy(c->mac_bytes, m.addr, sizeof(m.addr));
	if (c->mtu < 0)
		return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG, "invalid mtu %d", c->mtu);
	if (c->txqlen_seen && c->txqlen < 0)
		return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG, "invalid txQLen %d", c->txqlen);
	return 0;
}

/* ---- sysctls ------------------------------------------------------------------------------------ */

/*
 * The reference's key to file: every dot becomes a slash, then the first "IFNAME" becomes the
 * interface name (which may hold dots: eth0.100); the path must stay under /proc/sys/net/.
 * Writes the slash form (relative to /proc/sys) to @out.
 */
static int sysctl_name(const char *key, const char *ifname, char *out, size_t len,
		       struct cni_err *e)
{
	char buf[512], *p;
	const char *at;
	size_t n;

	snprintf(buf, sizeof(buf), "%s", key);
	for (p = buf; *p; p++)
		if (*p == '.')
			*p = '/';
	at = strstr(buf, "IFNAME");
	if (at)
		n = (size_t)snprintf(out, len, "%.*s%s%s", (int)(at - buf), buf, ifname, at + 6);
	else
		n = (size_t)snprintf(out, len, "%s", buf);
	if (n >= len || strlen(key) >= sizeof(buf))
		return cni_fail(e, -ENAMETOOLONG, CNI_ERR_INVALID_CONFIG,
				"invalid net sysctl key: \"%s\"", key);
	/* filepath.Join cleans the path; a clean one under net/ has no empty, . or .. parts */
	for (p = out; *p;) {
		size_t l = strcspn(p, "/");

		if (l == 0 || (l == 1 && p[0] == '.') || (l == 2 && !strncmp(p, "..", 2)))
			return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG,
					"invalid net sysctl key: \"%s\"", key);
		p += l;
		if (*p == '/')
			p++;
	}
	if (strncmp(out, "net/", 4) || !out[4])
		return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG, "invalid net sysctl key: \"%s\"",
				out);
	return 0;
}

static char *trim(char *s)
{
	char *end;

	while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\v' || *s == '\f')
		s++;
	end = s + strlen(s);
	while (end > s && strchr(" \t\r\v\f\n", end[-1]))
		*--end = '\0';
	return s;
}

/*
 * Every sysctl key must match one line of the allowlist, when the file exists. The lines are
 * Go (RE2) regular expressions, unanchored; POSIX extended ones agree for what allowlists use
 * (anchors, classes, \. escapes, alternation).
 */
static int check_allowlist(const struct tun_conf *c, struct cni_err *e)
{
	FILE *f = fopen(ALLOWLIST, "re");
	char **pats = NULL, line[1024], list[768] = "";
	size_t n = 0, cap = 0, o = 0;
	int r = 0;

	if (!f) {
		if (errno == ENOENT)
			return 0;
		return cni_fail(e, -errno, CNI_ERR_IO, "reading %s: %s", ALLOWLIST, strerror(errno));
	}
	while (fgets(line, sizeof(line), f)) {
		char *t = trim(line);

		if (!*t)
			continue;
		pats = cni_grow(pats, &cap, n + 1, sizeof(*pats));
		pats[n++] = cni_strdup(t);
		if (o < sizeof(list))
			o += (size_t)snprintf(list + o, sizeof(list) - o, "%s%s", n > 1 ? " " : "", t);
	}
	fclose(f);
	for (size_t i = 0; r == 0 && i < c->sysctl.n; i++) {
		bool match = false;

		for (size_t j = 0; !match && r == 0 && j < n; j++) {
			regex_t re;

			if (regcomp(&re, pats[j], REG_EXTENDED | REG_NOSUB)) {
				r = cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG,
					     "invalid regular expression \"%s\" in %s", pats[j],
					     ALLOWLIST);
				break;
			}
			match = regexec(&re, c->sysctl.v[i].key, 0, NULL, 0) == 0;
			regfree(&re);
		}
		if (r == 0 && !match)
			r = cni_fail(e, -EPERM, CNI_ERR_INVALID_CONFIG,
				     "Sysctl %s is not allowed. Only the following sysctls are "
				     "allowed: [%s]",
				     c->sysctl.v[i].key, list);
	}
	return r;
}

static int check_dup_keys(struct cni_ctx *ctx, struct cni_err *e)
{
	char *dup;
	int r = cni_json_dup_key(ctx->stdin_buf, ctx->stdin_len, "sysctl", &dup);

	if (r > 0) {
		cni_detail(e, "%s", dup);
		return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG,
				"duplicated sysctl keys are not allowed");
	}
	return 0;
}

/* ---- the backup file ------------------------------------------------------------------------------ */

static char *backup_path(const struct cni_ctx *ctx)
{
	const struct tun_conf *c = ctx->conf;

	return cni_sprintf("%s/%s_%s.json", c->data_dir, ctx->env.container_id, ctx->env.ifname);
}

static bool changes_link(const struct tun_conf *c)
{
	return c->mac || c->mtu || c->promisc || c->allmulti_seen || c->txqlen_seen;
}

/* "<backup>.tmp": one name per attachment (the runtime never runs two operations of one at a
 * time), so a writer killed before its rename leaves a file its DEL knows. */
static char *tmp_path(const char *path)
{
	return cni_sprintf("%s.tmp", path);
}

/* Temp + fsync + rename: a reader sees the whole file or none. */
static int write_file(const char *dir, const char *path, const char *text, struct cni_err *e)
{
	char *tmp = tmp_path(path);
	size_t len = strlen(text), off = 0;
	int fd, r = 0;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		char *p = cni_strdup(dir);

		/* mkdir -p */
		for (char *s = p + 1; *s; s++) {
			if (*s != '/')
				continue;
			*s = '\0';
			if (mkdir(p, 0700) < 0 && errno != EEXIST)
				break;
			*s = '/';
		}
		if (mkdir(dir, 0700) < 0 && errno != EEXIST)
			return cni_fail(e, -errno, CNI_ERR_IO,
					"failed to create backup directory %s: %s", dir,
					strerror(errno));
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return cni_fail(e, -errno, CNI_ERR_IO, "failed to save file %s: %s", path,
				strerror(errno));
	while (r == 0 && off < len) {
		ssize_t n = write(fd, text + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			r = -errno;
		else
			off += (size_t)n;
	}
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	close(fd);
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0) {
		unlink(tmp);
		return cni_fail(e, r, CNI_ERR_IO, "failed to save file %s: %s", path, strerror(-r));
	}
	return 0;
}

/* Only the attributes being changed, with their current values. */
static int backup_save(struct cni_ctx *ctx, const struct nu_link_info *li,
		       const struct nu_link_attrs *la, struct cni_err *e)
{
	const struct tun_conf *c = ctx->conf;
	_cni_render_cleanup_ struct cni_render *r = NULL;
	char mac[3 * 32];
	int ret;

	ret = cni_render_new(&r, "{}", 2, e);
	if (ret == 0 && c->mac)
		ret = cni_render_set_str(r, NULL, "mac", nu_mac_str(li->mac, li->mac_len, mac), 0,
					 e);
	if (ret >= 0 && c->promisc)
		ret = cni_render_set_bool(r, NULL, "promisc", li->flags & IFF_PROMISC, 0, e);
	if (ret >= 0 && c->mtu)
		ret = cni_render_set_int(r, NULL, "mtu", li->mtu, 0, e);
	if (ret >= 0 && c->allmulti_seen)
		ret = cni_render_set_bool(r, NULL, "allmulti", la->allmulti, 0, e);
	if (ret >= 0 && c->txqlen_seen)
		ret = cni_render_set_int(r, NULL, "txQLen", la->txqlen, 0, e);
	if (ret < 0)
		return ret;
	return write_file(c->data_dir, backup_path(ctx), cni_render_text(r), e);
}

/* -ENOENT when there is no backup; -EINVAL for one that does not parse. */
static int backup_load(const char *path, struct backup *b, struct cni_err *e)
{
	char buf[4096];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	memset(b, 0, sizeof(*b));
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return -EIO;
	buf[n] = '\0';
	return cni_conf_parse(buf, (size_t)n, backup_fields, b, e) < 0 ? -EINVAL : 0;
}

/* Put every saved attribute back, in the reference's order; all are tried. */
static int restore(struct nu_nl *nl, int ifindex, const struct backup *b, struct cni_err *e)
{
	uint8_t mac[6];
	int r, first = 0;

	if (b->mtu && (r = nu_link_set_mtu(nl, ifindex, (unsigned int)b->mtu, e)) < 0)
		first = first ? first : r;
	if (b->mac && *b->mac) {
		r = nu_mac_parse(b->mac, mac);
		if (r == 0)
			r = nu_link_set_mac(nl, ifindex, mac, 6, e);
		if (r < 0)
			first = first ? first : r;
	}
	if (b->promisc_seen && (r = nu_link_set_promisc(nl, ifindex, b->promisc, e)) < 0)
		first = first ? first : r;
	if (b->allmulti_seen && (r = nu_link_set_allmulti(nl, ifindex, b->allmulti, e)) < 0)
		first = first ? first : r;
	if (b->txqlen_seen &&
	    (r = nu_link_set_txqlen(nl, ifindex, (unsigned int)b->txqlen, e)) < 0)
		first = first ? first : r;
	return first;
}

/* ---- verbs ---------------------------------------------------------------------------------------- */

static int apply(struct cni_ctx *ctx, struct nu_nl *nl, int ifindex, struct cni_err *e)
{
	const struct tun_conf *c = ctx->conf;
	int r = 0;

	if (c->mac)
		r = nu_link_set_mac(nl, ifindex, c->mac_bytes, 6, e);
	if (r == 0 && c->promisc)
		r = nu_link_set_promisc(nl, ifindex, true, e);
	if (r == 0 && c->mtu)
		r = nu_link_set_mtu(nl, ifindex, (unsigned int)c->mtu, e);
	if (r == 0 && c->allmulti_seen)
		r = nu_link_set_allmulti(nl, ifindex, c->allmulti, e);
	if (r == 0 && c->txqlen_seen)
		r = nu_link_set_txqlen(nl, ifindex, (unsigned int)c->txqlen, e);
	return r;
}

/*
 * What ADD and CHECK start with: the configuration's checks (the allowlist for ADD only, as the
 * reference), prevResult, and the container's netns opened into *@netns_fd.
 */
static int open_chained(struct cni_ctx *ctx, int *netns_fd, struct cni_err *e)
{
	int r = check_dup_keys(ctx, e);

	if (r == 0 && ctx->env.cmd == CNI_CMD_ADD)
		r = check_allowlist(ctx->conf, e);
	if (r < 0)
		return r;
	if (!ctx->net.prev)
		return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG, "Required prevResult missing");
	r = nu_netns_open(ctx->env.netns, netns_fd, e);
	if (r < 0)
		return cni_wrap(e, r, "failed to open netns \"%s\"", ctx->env.netns);
	return 0;
}

static int tun_add(struct cni_ctx *ctx, struct cni_result *res, struct cni_err *e)
{
	const struct tun_conf *c = ctx->conf;
	_nu_nl_cleanup_ struct nu_nl *nl = NULL;
	_nu_fd_cleanup_ int netns_fd = -1;
	struct nu_link_info li;
	struct nu_link_attrs la;
	char name[512];
	int r;

	r = open_chained(ctx, &netns_fd, e);
	if (r < 0)
		return r;
	for (size_t i = 0; i < c->sysctl.n; i++) {
		r = sysctl_name(c->sysctl.v[i].key, ctx->env.ifname, name, sizeof(name), e);
		if (r == 0)
			r = nu_sysctl_set(netns_fd, name, c->sysctl.v[i].value, e);
		if (r < 0)
			return r;
	}
	*res = *ctx->net.prev;
	if (!changes_link(c))
		return 0;
	r = nu_nl_open(&nl, netns_fd, e);
	if (r == 0)
		r = nu_link_get(nl, ctx->env.ifname, 0, &li, e);
	if (r == 0)
		r = nu_link_attrs_get(nl, li.ifindex, &la, e);
	if (r == 0)
		r = backup_save(ctx, &li, &la, e);
	if (r < 0)
		return r;
	r = apply(ctx, nl, li.ifindex, e);
	if (r < 0) {
		struct backup b;

		if (backup_load(backup_path(ctx), &b, NULL) == 0)
			restore(nl, li.ifindex, &b, NULL);
		unlink(backup_path(ctx));
		return r;
	}
	if (c->mac) {
		res->ifaces = cni_result_copy(ctx->net.prev)->ifaces; /* the input stays as it was */
		for (size_t i = 0; i < res->n_ifaces; i++)
			if (res->ifaces[i].name && !strcmp(res->ifaces[i].name, ctx->env.ifname))
				res->ifaces[i].mac = cni_strdup(c->mac);
	}
	return 0;
}

static int tun_del(struct cni_ctx *ctx, struct cni_err *e)
{
	_nu_nl_cleanup_ struct nu_nl *nl = NULL;
	_nu_fd_cleanup_ int netns_fd = -1;
	const char *path = backup_path(ctx);
	struct cni_err ignored = {0};
	struct backup b;
	int r, ifindex;

	(void)e;
	unlink(tmp_path(path)); /* left by an ADD killed while saving */
	r = backup_load(path, &b, &ignored);
	if (r == -ENOENT)
		return 0;
	if (r == 0 && ctx->env.netns && nu_netns_open(ctx->env.netns, &netns_fd, &ignored) == 0 &&
	    nu_nl_open(&nl, netns_fd, &ignored) == 0 &&
	    (ifindex = nu_link_index(nl, ctx->env.ifname)) > 0 &&
	    restore(nl, ifindex, &b, &ignored) < 0) {
		/* as the reference: DEL succeeds, the file stays for a later DEL (or GC) */
		fprintf(stderr, "tuning: restoring %s: %s\n", ctx->env.ifname, ignored.msg);
		return 0;
	}
	/* restored, or nothing left to restore (no netns, no link, unreadable file) */
	unlink(path);
	return 0;
}

static int tun_check(struct cni_ctx *ctx, struct cni_err *e)
{
	const struct tun_conf *c = ctx->conf;
	_nu_nl_cleanup_ struct nu_nl *nl = NULL;
	_nu_fd_cleanup_ int netns_fd = -1;
	struct nu_link_info li;
	struct nu_link_attrs la;
	char name[512], cur[256], mac[3 * 32];
	int r;

	r = open_chained(ctx, &netns_fd, e);
	if (r < 0)
		return r;
	for (size_t i = 0; i < c->sysctl.n; i++) {
		const char *want = c->sysctl.v[i].value;

		r = sysctl_name(c->sysctl.v[i].key, ctx->env.ifname, name, sizeof(name), e);
		if (r == 0)
			r = nu_sysctl_get(netns_fd, name, cur, sizeof(cur), e);
		if (r < 0)
			return r;
		if (strcmp(cur, want))
			return cni_fail(e, -EINVAL, 0,
					"Error: Tuning configured value of /proc/sys/%s is %s, "
					"current value is %s",
					name, want, cur);
	}
	r = nu_nl_open(&nl, netns_fd, e);
	if (r == 0 && nu_link_get(nl, ctx->env.ifname, 0, &li, NULL) < 0)
		r = cni_fail(e, -ENODEV, 0, "Cannot find container link %s", ctx->env.ifname);
	if (r == 0)
		r = nu_link_attrs_get(nl, li.ifindex, &la, e);
	if (r < 0)
		return r;
	nu_mac_str(li.mac, li.mac_len, mac);
	if (c->mac && (li.mac_len != 6 || memcmp(li.mac, c->mac_bytes, 6)))
		return cni_fail(e, -EINVAL, 0,
				"Error: Tuning configured Ethernet of %s is %s, current value is %s",
				ctx->env.ifname, c->mac, mac);
	if (c->promisc != !!(li.flags & IFF_PROMISC))
		return cni_fail(e, -EINVAL, 0,
				"Error: Tuning link %s configured promisc is %s, current value is %s",
				ctx->env.ifname, c->promisc ? "true" : "false",
				li.flags & IFF_PROMISC ? "on" : "off");
	if (c->mtu && (unsigned int)c->mtu != li.mtu)
		return cni_fail(e, -EINVAL, 0,
				"Error: Tuning configured MTU of %s is %d, current value is %u",
				ctx->env.ifname, c->mtu, li.mtu);
	if (c->allmulti_seen && c->allmulti != la.allmulti)
		return cni_fail(e, -EINVAL, 0,
				"Error: Tuning configured all-multicast mode of %s is %s, current "
				"value is %s",
				ctx->env.ifname, c->allmulti ? "true" : "false",
				la.allmulti ? "true" : "false");
	if (c->txqlen_seen && (unsigned int)c->txqlen != la.txqlen)
		return cni_fail(e, -EINVAL, 0,
				"Error: Tuning configured Transmit Queue Length of %s is %d, current "
				"value is %u",
				ctx->env.ifname, c->txqlen, la.txqlen);
	return 0;
}

/* "<cid>_<ifname>.json": container IDs and interface names may both hold '_', so every split
 * is tried; the file is stale when no split names a valid attachment. A killed writer's
 * temporary file ("<cid>_<ifname>.json.tmp", ".tmp<pid>" before) goes with its attachment. */
static bool backup_valid(const struct cni_ctx *ctx, const char *file)
{
	size_t len = strlen(file), d = len;
	char *base;

	while (d && isdigit((unsigned char)file[d - 1]))
		d--;
	if (d > 4 && !memcmp(file + d - 4, ".tmp", 4))
		len = d - 4;
	if (len <= 5 || memcmp(file + len - 5, ".json", 5))
		return true; /* not ours */
	base = cni_strdup(file);
	base[len - 5] = '\0';
	for (char *u = strchr(base, '_'); u; u = strchr(u + 1, '_')) {
		bool ok;

		*u = '\0';
		ok = cni_attachment_valid(ctx, base, u + 1);
		*u = '_';
		if (ok)
			return true;
	}
	return !strchr(base, '_'); /* no split at all: not a backup name */
}

static bool backup_stale(const struct cni_ctx *ctx, const char *dir, const char *file)
{
	(void)dir;
	return !backup_valid(ctx, file);
}

static int tun_gc(struct cni_ctx *ctx, struct cni_err *e)
{
	const struct tun_conf *c = ctx->conf;

	return cni_gc_dir(ctx, c->data_dir, "reading", backup_stale, e);
}

const struct cni_plugin cni_main_plugin = {
	.name = "tuning",
	CNI_CONF(fields, struct tun_conf),
	.conf_validate = tun_validate,
	.args_keys = args_keys,
	CNI_VERBS(tun),
	.gc = tun_gc,
};
