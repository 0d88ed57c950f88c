// SPDX-License-Identifier: Apache-2.0
/*
 * dnsname: a chained meta plugin, configuration-compatible with containers/dnsname, that gives
 * containers on a network each other's names through cnic's own resolver daemon ("dnsname
 * daemon", this same binary; daemon.h). ADD records the container's names (CNI_ARGS
 * K8S_POD_NAME, runtimeConfig.aliases[<network>], args.cni.aliases) and prevResult's addresses
 * in the network's record file (replaced atomically under a flock), makes sure the daemon runs
 * (starting it with a readiness handshake) and has opened the container's listener - a socket
 * inside the container's netns on 127.0.0.11:61053 with the stateless nftables rewrite of
 * 127.0.0.11:53 to that port and back (plugins/meta/dnsname/nft.c: port 53 stays free for the
 * container), both the daemon's own (dnsname.h, DN_REWRITE_OWNER) - and returns prevResult with
 * 127.0.0.11 as nameserver and the domain as search domain. A container on several networks
 * gets one resolver address per network (the first keeps 127.0.0.11, the others the lowest free
 * 127.0.0.X: pick_resolver(), under the lock), its listener and rewrite on that address, and that
 * address as nameserver: the daemon forwards a query through the upstreams of the network whose
 * address it was asked at.
 * DEL removes the record (idempotent: absent file, record, netns or daemon are success); the
 * daemon closes the listener and deletes the rewrite of an address when no record names it in
 * that netns. CHECK verifies the record, the rewrite of its address when the daemon serves
 * another port than 53 (a daemon of an older build serves 53 itself), and asks the container's
 * resolver at that address, from inside its netns, for the container's own name. STATUS is 50 when the daemon
 * cannot be started or does not answer. GC drops records of attachments not in the valid list
 * (their addresses with them).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cni/cni.h"
#include "dnsname.h"
#include "wire/dns_wire.h"
#include "netutil/netutil.h"
#include "dnsport.h"

/* The "dns" capability (CNI conventions): what runtimes pass from their --dns options. */
struct dn_rc_dns {
	struct cni_strv servers, searches, options;
};

struct dn_rc {
	char *aliases; /* JSON text of the network name -> names map */
	struct dn_rc_dns dns;
};

struct dn_conf {
	char *domain;
	int ttl;
	char *run_dir;
	char *resolv_conf;
	struct cni_strv dns_servers; /* the network's upstreams */
	char *servers;		     /* ... normalised (dnsname.h), NULL: resolv.conf's */
	char *rc_servers;	     /* runtimeConfig.dns.servers normalised, NULL: none */
	bool bad_run_dir;	     /* DEL, GC, STATUS: runDir unusable, nothing to do */
	struct dn_rc rc;
	struct {
		struct {
			struct cni_strv aliases;
		} cni;
	} args;
};

static const struct cni_field rc_dns_fields[] = {
	{.key = "servers", .type = CNI_F_STRV, .off = offsetof(struct dn_rc_dns, servers),
	 .help = "the container's upstream servers (win over dnsServers)"},
	{.key = "searches", .type = CNI_F_STRV, .off = offsetof(struct dn_rc_dns, searches),
	 .help = "search domains added to the result's dns"},
	{.key = "options", .type = CNI_F_STRV, .off = offsetof(struct dn_rc_dns, options),
	 .help = "resolver options added to the result's dns"},
	CNI_FIELD_END,
};
static const struct cni_field rc_fields[] = {
	{.key = "aliases", .type = CNI_F_JSON, .off = offsetof(struct dn_rc, aliases),
	  .help = "capability aliases: {network name: [extra names of the container]}"},
	{.key = "dns", .type = CNI_F_OBJ, .sub = rc_dns_fields, .off = offsetof(struct dn_rc, dns),
	  .help = "capability dns: the container's upstream servers, searches and options"},
	CNI_FIELD_END,
};
static const struct cni_field cni_args_fields[] = {
	{.key = "aliases", .type = CNI_F_STRV, .off = 0,
	  .help = "extra names of the container on this network"},
	CNI_FIELD_END,
};
static const struct cni_field args_fields[] = {
	{.key = "cni", .type = CNI_F_OBJ, .sub = cni_args_fields, .off = 0,
	  .help = "the args of the CNI conventions (only aliases is read)"},
	CNI_FIELD_END,
};

#define F(k, t, m, ...) CNI_FIELD(k, struct dn_conf, t, m, __VA_ARGS__)
static const struct cni_field fields[] = {
	F("domainName", CNI_F_STR, domain,
	  .help = "domain of the network's names (default dns.podman)"),
	F("ttl", CNI_F_INT, ttl, .min = 0, .max = DN_MAX_TTL,
	  .help = "TTL of the local answers, seconds (default 0)"),
	F("runDir", CNI_F_STR, run_dir,
	  .help = "the daemon's record files and control socket (default /run/cni/dnsname)"),
	F("resolvConf", CNI_F_STR, resolv_conf,
	  .help = "upstream servers for other names when dnsServers is empty (default /etc/resolv.conf)"),
	F("dnsServers", CNI_F_STRV, dns_servers,
	  .help = "the network's upstream servers (IPv4/IPv6, optional port; at most 3)"),
	F("runtimeConfig", CNI_F_OBJ, rc, .sub = rc_fields,
	  .help = "the runtime's capability arguments (aliases and dns are read)"),
	F("args", CNI_F_OBJ, args, .sub = args_fields,
	  .help = "the runtime's args (only args.cni.aliases is read)"),
	CNI_FIELD_END,
};

static const char *const args_keys[] = {"K8S_POD_NAME", "K8S_POD_NAMESPACE",
					"K8S_POD_INFRA_CONTAINER_ID", "K8S_POD_UID", NULL};

static void dn_defaults(void *conf)
{
	struct dn_conf *c = conf;

	c->domain = DN_DOMAIN;
	c->run_dir = (char *)dn_run_dir_default();
	c->resolv_conf = "/etc/resolv.conf";
}

static int dn_validate(struct cni_ctx *ctx, void *conf, struct cni_err *e)
{
	struct dn_conf *c = conf;
	/* ADD and CHECK are strict. DEL, GC and STATUS clean up or report with what they can
	 * read: dnsname is last in a chain and libcni's DEL stops at the first error, so a DEL
	 * failing on a value here would leak the bridge's veth and the IPAM address. */
	bool strict = ctx->env.cmd == CNI_CMD_ADD || ctx->env.cmd == CNI_CMD_CHECK;

	if (!c->domain || !*c->domain)
		c->domain = DN_DOMAIN;
	if (c->domain[strlen(c->domain) - 1] == '.')
		c->domain = cni_sprintf("%.*s", (int)strlen(c->domain) - 1, c->domain);
	if (!dn_name_valid(c->domain) && !strict)
		c->domain = DN_DOMAIN; /* only an ADD writes it */
	if (!dn_name_valid(c->domain))
		return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG, "invalid domainName \"%s\"",
				c->domain);
	if (!c->run_dir || c->run_dir[0] != '/' || strlen(c->run_dir) > 80) {
		if (!strict) {
			c->bad_run_dir = true; /* no ADD recorded anything there */
			return 0;
		}
		return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG,
				"runDir must be an absolute path of at most 80 bytes");
	}
	if (!c->resolv_conf || c->resolv_conf[0] != '/') {
		if (!strict && ctx->env.cmd != CNI_CMD_STATUS)
			return 0; /* DEL and GC start no daemon */
		return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG,
				"resolvConf must be an absolute path");
	}
	if (!strict) /* the upstreams are written by ADD alone */
		return 0;
	if (c->dns_servers.n) {
		char buf[256];
		int r;

		if (c->dns_servers.n > DN_MAX_UPSTREAMS)
			return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG,
					"dnsServers: at most %d servers, got %zu", DN_MAX_UPSTREAMS,
					c->dns_servers.n);
		for (size_t i = 0; i < c->dns_servers.n; i++) {
			struct sockaddr_storage sa;
			unsigned int sl;
			const char *why;

			if (dn_upstream_parse(c->dns_servers.v[i], &sa, &sl))
				return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG,
						"invalid dnsServers \"%s\": an IPv4 or IPv6 address, "
						"with an optional port (1.2.3.4:53, [2001:db8::1]:53, "
						"fe80::1%%eth0 with a host interface)",
						c->dns_servers.v[i]);
			why = dn_upstream_unusable(&sa, false);
			if (why)
				return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG,
						"invalid dnsServers \"%s\": %s", c->dns_servers.v[i],
						why);
		}
		r = dn_upstreams_norm((const char *const *)c->dns_servers.v, c->dns_servers.n,
				      buf, sizeof(buf));
		if (r)
			return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG,
					"invalid dnsServers \"%s\"",
					r > 0 ? c->dns_servers.v[r - 1] : "");
		c->servers = cni_strdup(buf);
	}
	if (c->rc.dns.servers.n) {
		/* as glibc with nameserver lines: bad ones are skipped, the first
		 * DN_MAX_UPSTREAMS usable ones are used; none usable: the network's */
		const char *ok[DN_MAX_UPSTREAMS];
		size_t n = 0;
		char buf[256];

		for (size_t i = 0; i < c->rc.dns.servers.n && n < DN_MAX_UPSTREAMS; i++) {
			struct sockaddr_storage sa;
			unsigned int sl;

			if (!c->rc.dns.servers.v[i] ||
			    dn_upstream_parse(c->rc.dns.servers.v[i], &sa, &sl) ||
			    dn_upstream_unusable(&sa, true))
				continue;
			ok[n++] = c->rc.dns.servers.v[i];
		}
		if (n && !dn_upstreams_norm(ok, n, buf, sizeof(buf)))
			c->rc_servers = cni_strdup(buf);
	}
	return 0;
}

/* ---- helpers ------------------------------------------------------------------------------- */

/* @path with @mode, its missing ancestors 0755. */
static int mkdir_p(const char *path, mode_t mode)
{
	char buf[PATH_MAX];

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return -ENAMETOOLONG;
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(buf, 0755) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, mode) && errno != EEXIST)
		return -errno;
	return 0;
}

/*
 * The run directory and its networks/ made root's only (0700, as the dhcp daemon's state): the
 * record files name container ids, netns paths, names and addresses. A networks/ directory
 * left more open by an older version is tightened; the run directory itself is not (runDir may
 * name a directory we do not own), and holds nothing readable by others but fixed names.
 */
static int dirs_ensure(const char *run_dir, const char *nets)
{
	struct stat st;
	int r = mkdir_p(run_dir, 0700);

	if (r)
		return r;
	if (mkdir(nets, 0700) && errno != EEXIST)
		return -errno;
	if (stat(nets, &st))
		return -errno;
	if ((st.st_mode & 077) && chmod(nets, st.st_mode & 07700))
		return -errno;
	return 0;
}

static void fd_close(int *fd)
{
	if (*fd >= 0)
		close(*fd);
}
#define _fd_ __attribute__((cleanup(fd_close)))

/* Take the run directory's lock (created on demand) and open the networks directory. */
static int open_locked(const struct dn_conf *c, const char *lockname, int *lockfd, int *dirfd,
		       struct cni_err *e)
{
	char *p = cni_sprintf("%s/networks", c->run_dir);
	int r = dirs_ensure(c->run_dir, p);

	if (r)
		return cni_fail(e, r, CNI_ERR_IO, "creating %s: %s", p, strerror(-r));
	*lockfd = open(cni_sprintf("%s/%s", c->run_dir, lockname),
		       O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (*lockfd < 0 || flock(*lockfd, LOCK_EX))
		return cni_fail(e, -errno, CNI_ERR_IO, "locking %s/%s: %m", c->run_dir, lockname);
	if (dirfd) {
		*dirfd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (*dirfd < 0)
			return cni_fail(e, -errno, CNI_ERR_IO, "opening %s: %m", p);
	}
	return 0;
}

static const char *self_exe(void)
{
	static char buf[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);

	if (n <= 0)
		return NULL;
	buf[n] = 0;
	return buf;
}

/*
 * Start the daemon: double fork so it is nobody's child and in its own session, stdio away from
 * the runtime's pipes, and a readiness pipe: one byte means it loaded the records, bound its
 * control socket and opened every listener; EOF means it died (its stderr log says why).
 */
#define LOG_MAX (1 << 20) /* bytes of dnsname.log before it is rotated */

static int daemon_start(const struct dn_conf *c, struct cni_err *e)
{
	const char *exe = self_exe();
	char *log, *argv[] = {"dnsname",	  "daemon",	  "--run-dir",	 (char *)c->run_dir,
			      "--resolv-conf",	  (char *)c->resolv_conf,	 "--ready-fd",
			      "3",		  "--exit-idle",  NULL};
	int r;

	if (!exe)
		return cni_fail(e, -ENOENT, CNI_ERR_NOT_AVAILABLE, "cannot find own executable");
	log = cni_sprintf("%s/dnsname.log", c->run_dir);
	/*
	 * The log lives in /run (memory) and every start appends to it: past LOG_MAX a start makes
	 * it dnsname.log.1 (the one before goes). Only a starter renames it, under start.lock; a
	 * daemon on its way out may still write its last line, which follows the file.
	 */
	{
		struct stat st;

		if (!stat(log, &st) && st.st_size > LOG_MAX)
			rename(log, cni_sprintf("%s.1", log));
	}
	r = dn_daemon_spawn(exe, log, argv, 10000);
	if (r == -EHOSTDOWN)
		return cni_fail(e, r, CNI_ERR_NOT_AVAILABLE,
				"the dnsname daemon did not start (see %s)", log);
	if (r)
		return cni_fail(e, r, CNI_ERR_NOT_AVAILABLE, "starting the dnsname daemon: %s",
				strerror(-r));
	return 0;
}

/* Reachable daemon, started when needed (serialised by start.lock). */
static int daemon_ensure(const struct dn_conf *c, struct cni_err *e)
{
	_fd_ int lockfd = -1;
	char reply[256];
	int r;

	if (!dn_ctl(c->run_dir, "ping", reply, sizeof(reply), 3000))
		return 0;
	r = open_locked(c, "start.lock", &lockfd, NULL, e);
	if (r) {
		e->code = CNI_ERR_NOT_AVAILABLE;
		return r;
	}
	if (!dn_ctl(c->run_dir, "ping", reply, sizeof(reply), 3000))
		return 0;
	return daemon_start(c, e);
}

/* No daemon there, or one that closed our request unanswered on its way out (idle exit). */
static bool gone(int r)
{
	return r == -ECONNREFUSED || r == -ENOENT || r == -ECONNRESET || r == -EPIPE;
}

/*
 * The port a daemon's "ok ..." reply says it serves in the container netns: "port P" since the
 * daemon owns the port 53 rewrite; none is a daemon of an older build, which binds 53 itself.
 */
static unsigned int reply_port(const char *reply)
{
	const char *p = strstr(reply, " port ");
	unsigned int port;

	return p && sscanf(p, " port %u", &port) == 1 ? port : 53;
}

/* A daemon that serves each resolver address of a netns on its own (DN_CTL_ADDRS)? */
static bool reply_addrs(const char *reply)
{
	const char *p = strstr(reply, DN_CTL_ADDRS);

	return p && (!p[strlen(DN_CTL_ADDRS)] || p[strlen(DN_CTL_ADDRS)] == ' ');
}

/*
 * May an ADD pick a resolver address of its own (not 127.0.0.11)? Only when the daemon says it
 * serves them ("addrs"), or when none runs (the ADD starts one of this build). A daemon that does
 * not answer at once (a handoff under way: requests wait for the new daemon) gets 127.0.0.11,
 * which every build serves; the sync's reply is checked again after (dn_add()).
 */
static bool daemon_addrs(const struct dn_conf *c)
{
	char reply[256];
	int r = dn_ctl(c->run_dir, "ping", reply, sizeof(reply), 500);

	if (r)
		return r == -ECONNREFUSED || r == -ENOENT;
	return !strncmp(reply, "ok", 2) && reply_addrs(reply);
}

/*
 * Ask the daemon to reload; with a netns it answers once that netns has its listener on the
 * record's resolver address. *@addrs (when given): the daemon serves that address (a daemon of a
 * build before them serves 127.0.0.11 alone, for every network of the netns).
 */
static int daemon_sync(const struct dn_conf *c, const struct dn_rec *rec, bool start,
		       bool *addrs, struct cni_err *e)
{
	char req[96], reply[512], ra[16];
	int r;

	if (start) {
		r = daemon_ensure(c, e);
		if (r)
			return r;
	}
	if (rec)
		snprintf(req, sizeof(req), "sync %llu %llu %s", (unsigned long long)rec->ns_dev,
			 (unsigned long long)rec->ns_ino, dn_resolver_text(rec->resolver, ra));
	else
		snprintf(req, sizeof(req), "sync");
	r = dn_ctl(c->run_dir, req, reply, sizeof(reply), 10000);
	if (r && start && gone(r)) {
		/* it went idle and exited between our ping and this request: start a new one */
		r = daemon_ensure(c, e);
		if (r)
			return r;
		r = dn_ctl(c->run_dir, req, reply, sizeof(reply), 10000);
	}
	/* an old daemon handing over to a new one: the new one accepts a new connection */
	for (int i = 0; i < 3 && !r && !strncmp(reply, DN_CTL_AGAIN, strlen(DN_CTL_AGAIN)); i++)
		r = dn_ctl(c->run_dir, req, reply, sizeof(reply), 10000);
	if (r && !start && gone(r))
		return 0; /* no daemon: it reads every file when it starts */
	if (r)
		return cni_fail(e, r, CNI_ERR_NOT_AVAILABLE, "dnsname daemon: %s", strerror(-r));
	if (strncmp(reply, "ok", 2))
		return cni_fail(e, -EIO, CNI_ERR_NOT_AVAILABLE, "dnsname daemon: %s",
				strncmp(reply, "err ", 4) ? reply : reply + 4);
	if (addrs)
		*addrs = reply_addrs(reply);
	return 0;
}

/* The names of this attachment: pod name, runtime aliases for this network, args aliases. */
static int collect_names(struct cni_ctx *ctx, const struct dn_conf *c, struct dn_rec *rec,
			 struct cni_err *e)
{
	const char *pod = cni_args_get(&ctx->args, "K8S_POD_NAME");
	struct cni_strv rt = {0};
	char *cand[DN_MAX_NAMES * 3];
	size_t n = 0;

	if (pod && *pod)
		cand[n++] = (char *)pod;
	if (c->rc.aliases && strcmp(c->rc.aliases, "null")) {
		struct cni_field f[] = {{.key = ctx->net.name, .type = CNI_F_STRV, .off = 0},
					CNI_FIELD_END};
		int r = cni_conf_parse(c->rc.aliases, strlen(c->rc.aliases), f, &rt, e);

		if (r)
			return cni_wrap(e, r, "runtimeConfig.aliases");
	}
	for (size_t i = 0; i < rt.n && n < DN_MAX_NAMES * 2; i++)
		cand[n++] = rt.v[i];
	for (size_t i = 0; i < c->args.cni.aliases.n && n < DN_MAX_NAMES * 3; i++)
		cand[n++] = c->args.cni.aliases.v[i];
	rec->names = cni_alloc(DN_MAX_NAMES * sizeof(char *));
	for (size_t i = 0; i < n; i++) {
		bool dup = false;

		if (!cand[i] || !*cand[i])
			continue;
		if (!dn_name_valid(cand[i]))
			return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG,
					"invalid DNS name \"%s\"", cand[i]);
		for (size_t k = 0; k < rec->n_names; k++)
			dup |= !strcasecmp(rec->names[k], cand[i]);
		if (dup)
			continue;
		if (rec->n_names == DN_MAX_NAMES)
			return cni_fail(e, -E2BIG, CNI_ERR_INVALID_CONFIG,
					"more than %d names for one container", DN_MAX_NAMES);
		rec->names[rec->n_names++] = cand[i];
	}
	return 0;
}

/*
 * The resolver addresses the other attachments of the container in netns (@dev, @ino) hold, in
 * @used (by the last byte of 127.0.0.X): its records in every network file but @self's. A
 * record of another container in that netns is of a dead one whose inode the kernel reused.
 */
struct used_scan {
	int dirfd;
	const char *self, *cid;
	uint64_t dev, ino;
	bool *used;
	int err;
	char bad[256]; /* the file whose read failed */
};

static void mark_used(const struct dn_netfile *f, const struct used_scan *u, const char *skip_if)
{
	for (size_t i = 0; i < f->n; i++) {
		const struct dn_rec *r = &f->recs[i];

		if (r->ns_dev != u->dev || r->ns_ino != u->ino || strcmp(r->cid, u->cid) ||
		    (skip_if && !strcmp(r->ifname, skip_if)))
			continue;
		u->used[((const uint8_t *)&(uint32_t){dn_resolver_of(r)})[3]] = true;
	}
}

static bool used_one(const char *name, void *arg)
{
	struct used_scan *u = arg;
	struct dn_netfile f;
	int r;

	if (!strcmp(name, u->self))
		return true;
	r = dn_netfile_read_ns(u->dirfd, name, &f, u->dev, u->ino); /* this netns' records */
	if (r == -ENOENT || r == -EINVAL || r == -EFBIG) /* gone, or not one we serve either */
		return true;
	if (r) {
		u->err = r;
		snprintf(u->bad, sizeof(u->bad), "%s", name);
		return false;
	}
	mark_used(&f, u, NULL);
	dn_netfile_free(&f);
	return true;
}

/*
 * The resolver address of attachment @add (netns, container id, ifname) on network @f: the one it
 * has there already (a repeated ADD), else the lowest 127.0.0.X from DN_RESOLVER_FIRST that no
 * other attachment of its container in that netns holds (the first network keeps 127.0.0.11).
 * The caller holds the run directory's lock: two ADDs cannot pick the same.
 */
static int pick_resolver(struct cni_ctx *ctx, int dirfd, const struct dn_netfile *f,
			 struct dn_rec *add, struct cni_err *e)
{
	bool used[256] = {0};
	struct used_scan u = {dirfd, ctx->net.name, add->cid, add->ns_dev, add->ns_ino, used, 0, ""};
	int had = -1, r;

	for (size_t i = 0; i < f->n; i++)
		if (!strcmp(f->recs[i].cid, add->cid) && !strcmp(f->recs[i].ifname, add->ifname) &&
		    f->recs[i].ns_dev == add->ns_dev && f->recs[i].ns_ino == add->ns_ino)
			had = ((const uint8_t *)&(uint32_t){dn_resolver_of(&f->recs[i])})[3];
	mark_used(f, &u, add->ifname);
	r = dn_netfiles_each(dirfd, used_one, &u);
	if (r < 0)
		return cni_fail(e, r, CNI_ERR_IO,
				"reading the directory %s/networks for the resolver address: %s",
				((const struct dn_conf *)ctx->conf)->run_dir, strerror(-r));
	if (u.err)
		return cni_fail(e, u.err, CNI_ERR_IO,
				"reading the record file %s/networks/%s for the resolver address: %s",
				((const struct dn_conf *)ctx->conf)->run_dir, u.bad, strerror(-u.err));
	for (int x = had >= 0 && !used[had] ? had : DN_RESOLVER_FIRST; x <= DN_RESOLVER_LAST; x++)
		if (!used[x] && !DN_RESOLVER_SKIP(x)) {
			char ip[16];

			snprintf(ip, sizeof(ip), "127.0.0.%d", x);
			return dn_resolver_parse(ip, &add->resolver);
		}
	/* the code of host-local's exhausted range (0: the runtime sees 999) */
	return cni_fail(e, -ENOSPC, 0,
			"network %s: no free resolver address (127.0.0.%d-%d) in netns %s "
			"of container %s",
			ctx->net.name, DN_RESOLVER_FIRST, DN_RESOLVER_LAST, ctx->env.netns, add->cid);
}

/*
 * Replace (or, with @add NULL, remove) the attachment's record in the network file. An ADD's
 * resolver address: with @pick, picked into @add->resolver (pick_resolver()); without, the one in
 * @add->resolver (0: DN_RESOLVER_ADDR, what a daemon of a build before the addresses serves).
 */
static int update_file(struct cni_ctx *ctx, const struct dn_conf *c, struct dn_rec *add,
		       bool pick, struct cni_err *e)
{
	_fd_ int lockfd = -1, dirfd = -1;
	struct dn_netfile f;
	int r;

	r = open_locked(c, "lock", &lockfd, &dirfd, e);
	if (r)
		return r;
	r = dn_netfile_read(dirfd, ctx->net.name, &f, 0);
	if (r == -ENOENT || (r == -EINVAL && add)) /* a broken file is rebuilt by the next ADD */
		r = 0, memset(&f, 0, sizeof(f));
	if (r)
		return cni_fail(e, r, CNI_ERR_IO, "reading the record file of network %s: %s",
				ctx->net.name, strerror(-r));
	/* only an ADD says what the network is: a DEL (maybe replayed with an older config)
	 * keeps the file's domain, TTL and upstreams */
	if (add) {
		free(f.domain);
		f.domain = strdup(c->domain);
		f.ttl = (unsigned int)c->ttl;
		free(f.servers);
		f.servers = c->servers ? strdup(c->servers) : NULL;
		r = pick ? pick_resolver(ctx, dirfd, &f, add, e) : 0;
		if (r) {
			dn_netfile_free(&f);
			return r;
		}
	}
	dn_netfile_remove(&f, ctx->env.container_id, ctx->env.ifname);
	if (add) {
		/* a netns identity is unique among live ones: another container's "cdns" line
		 * for this (dev, inode) is of a dead netns whose inode the kernel reused */
		for (size_t i = 0; i < f.n_cdns;) {
			const struct dn_cdns *o = &f.cdns[i];

			if (o->ns_dev == add->ns_dev && o->ns_ino == add->ns_ino &&
			    strcmp(o->cid, add->cid)) {
				dn_netfile_set_cdns(&f, &(struct dn_cdns){.cid = o->cid,
									  .ifname = o->ifname});
				continue;
			}
			i++;
		}
		r = dn_netfile_add(&f, add);
	}
	if (add && !r && c->rc_servers)
		r = dn_netfile_set_cdns(&f, &(struct dn_cdns){.cid = add->cid,
							      .ifname = add->ifname,
							      .servers = c->rc_servers,
							      .ns_dev = add->ns_dev,
							      .ns_ino = add->ns_ino});
	if (!r)
		r = dn_netfile_write(dirfd, ctx->net.name, &f);
	dn_netfile_free(&f);
	if (r)
		return cni_fail(e, r, CNI_ERR_IO, "writing the record file of network %s: %s",
				ctx->net.name, strerror(-r));
	return 0;
}

static int netns_id(const char *path, struct dn_rec *rec, struct cni_err *e)
{
	_fd_ int fd = -1;
	struct stat st;
	int r = nu_netns_open(path, &fd, e);

	if (r)
		return r;
	if (fstat(fd, &st))
		return cni_fail(e, -errno, CNI_ERR_INVALID_NETNS, "stat %s: %m", path);
	rec->ns_dev = st.st_dev;
	rec->ns_ino = st.st_ino;
	return 0;
}

static int check_env(struct cni_ctx *ctx, struct cni_err *e)
{
	if (!dn_token_valid(ctx->env.container_id) || !dn_token_valid(ctx->env.ifname))
		return cni_fail(e, -EINVAL, CNI_ERR_INVALID_ENV,
				"container ID and interface name must not hold spaces or commas");
	if (!dn_token_valid(ctx->net.name) || ctx->net.name[0] == '.')
		return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG,
				"network name \"%s\" cannot name a record file", ctx->net.name);
	return 0;
}

/* ADD and CHECK: prevResult, then check_env(). */
static int check_chained(struct cni_ctx *ctx, struct cni_err *e)
{
	if (!ctx->net.prev)
		return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG, "Required prevResult missing");
	return check_env(ctx, e);
}

/*
 * CHECK of the port 53 rewrite in the container's netns: the daemon's (dnsname.h), for the port
 * the running daemon serves; none to check when that is 53 (a daemon of an older build) or when
 * no daemon answers (the probe reports that). @ra: the record's resolver address, made
 * DN_RESOLVER_ADDR when the daemon is of a build that serves that one alone.
 */
static int rewrite_check(struct cni_ctx *ctx, const struct dn_conf *c, char ra[16],
			 struct cni_err *e)
{
	_fd_ int nsfd = -1;
	char reply[256];
	unsigned int port;
	int orig, r;

	if (dn_ctl(c->run_dir, "ping", reply, sizeof(reply), 3000) || strncmp(reply, "ok", 2))
		return 0;
	if (!reply_addrs(reply)) {
		strcpy(ra, DN_RESOLVER_ADDR);
	} else {
		/* the record's address is the one the ADD announced: its result lists it (the
		 * default, 127.0.0.11, is served by every build whatever a result says) */
		bool listed = !strcmp(ra, DN_RESOLVER_ADDR);

		for (size_t i = 0; i < ctx->net.prev->dns.nameservers.n && !listed; i++)
			listed = !strcmp(ctx->net.prev->dns.nameservers.v[i], ra);
		if (!listed)
			return cni_fail(e, -ENOENT, 0,
					"container %s: prevResult dns.nameservers lacks %s, its "
					"resolver address on network %s",
					ctx->env.container_id, ra, ctx->net.name);
	}
	port = reply_port(reply);
	if (port == 53)
		return 0;
	r = nu_netns_open(ctx->env.netns, &nsfd, e);
	if (r)
		return r;
	{
		/* this netns' listener may serve port 53 itself, where the kernel refused the
		 * rewrite (a user namespace: listen.c); a daemon without "port" says "err" */
		struct stat st;
		char req[80];

		if (!fstat(nsfd, &st)) {
			snprintf(req, sizeof(req), "port %llu %llu %s", (unsigned long long)st.st_dev,
				 (unsigned long long)st.st_ino, ra);
			if (!dn_ctl(c->run_dir, req, reply, sizeof(reply), 3000) &&
			    !strncmp(reply, "ok", 2) && reply_port(reply) == 53)
				return 0;
		}
	}
	r = nu_netns_enter(nsfd, &orig, e);
	if (r)
		return r;
	r = nu_nft_dnsport_check(ra, (uint16_t)port, DN_REWRITE_OWNER, e);
	nu_netns_leave(orig);
	return r;
}

/* ---- ADD ------------------------------------------------------------------------------------- */

/* @v followed by the strings of @more it does not hold yet. */
static char **strv_merge(const struct cni_strv *v, const struct cni_strv *more, size_t *n)
{
	char **out = cni_alloc((v->n + more->n + 1) * sizeof(char *));
	size_t k = 0;

	for (size_t i = 0; i < v->n; i++)
		out[k++] = v->v[i];
	for (size_t i = 0; i < more->n; i++) {
		bool dup = false;

		for (size_t j = 0; j < k && !dup; j++)
			dup = !strcmp(out[j], more->v[i]);
		if (!dup)
			out[k++] = more->v[i];
	}
	*n = k;
	return out;
}

static char **strv_prepend(const struct cni_strv *v, const char *first, size_t *n)
{
	char **out = cni_alloc((v->n + 1) * sizeof(char *));
	size_t k = 0;

	out[k++] = cni_strdup(first);
	for (size_t i = 0; i < v->n; i++)
		if (strcmp(v->v[i], first))
			out[k++] = v->v[i];
	*n = k;
	return out;
}

static int dn_add(struct cni_ctx *ctx, struct cni_result *res, struct cni_err *e)
{
	struct dn_conf *c = ctx->conf;
	struct dn_addr addrs[DN_MAX_ADDRS];
	struct dn_rec rec = {.addrs = addrs};
	char ra[16];
	bool addrs_served = false;
	int r;

	r = check_chained(ctx, e);
	if (r)
		return r;
	if (!ctx->env.netns || !*ctx->env.netns || !dn_token_valid(ctx->env.netns))
		return cni_fail(e, -EINVAL, CNI_ERR_INVALID_NETNS, "invalid CNI_NETNS");
	rec.cid = (char *)ctx->env.container_id;
	rec.ifname = (char *)ctx->env.ifname;
	rec.netns = (char *)ctx->env.netns;
	r = netns_id(ctx->env.netns, &rec, e);
	if (r)
		return r;
	for (size_t i = 0; i < ctx->net.prev->n_ips && rec.n_addrs < DN_MAX_ADDRS; i++) {
		const struct cni_ip *ip = &ctx->net.prev->ips[i].address.ip;

		rec.addrs[rec.n_addrs].family = ip->family;
		memcpy(rec.addrs[rec.n_addrs].a, ip->a, 16);
		rec.n_addrs++;
	}
	r = collect_names(ctx, c, &rec, e);
	if (r)
		return r;
	/* the address written is the address announced: one of its own only from a daemon
	 * that serves it (a daemon of a build before the addresses serves 127.0.0.11 alone) */
	r = update_file(ctx, c, &rec, daemon_addrs(c), e);
	if (r)
		return r;
	r = daemon_sync(c, &rec, true, &addrs_served, e);
	if (!r && !addrs_served && rec.resolver) {
		/* an older daemon answered the sync (a handoff to it, a restart in between) */
		rec.resolver = 0;
		r = update_file(ctx, c, &rec, false, e);
		if (!r)
			r = daemon_sync(c, &rec, true, NULL, e);
	}
	if (r) {
		struct cni_err e2 = {0};

		if (!update_file(ctx, c, NULL, false, &e2))
			daemon_sync(c, NULL, false, NULL, &e2);
		return r;
	}
	*res = *ctx->net.prev;
	/* this network's own address */
	res->dns.nameservers.v = strv_prepend(&ctx->net.prev->dns.nameservers,
					      dn_resolver_text(rec.resolver, ra),
					      &res->dns.nameservers.n);
	res->dns.search.v = strv_prepend(&ctx->net.prev->dns.search, c->domain, &res->dns.search.n);
	/* the runtime's --dns-search and --dns-option (the "dns" capability) after prevResult's */
	if (c->rc.dns.searches.n) {
		struct cni_strv s = res->dns.search;

		res->dns.search.v = strv_merge(&s, &c->rc.dns.searches, &res->dns.search.n);
	}
	if (c->rc.dns.options.n) {
		struct cni_strv o = res->dns.options;

		res->dns.options.v = strv_merge(&o, &c->rc.dns.options, &res->dns.options.n);
	}
	return 0;
}

/* ---- DEL, GC, STATUS ------------------------------------------------------------------------- */

static int dn_del(struct cni_ctx *ctx, struct cni_err *e)
{
	struct dn_conf *c = ctx->conf;
	int r = check_env(ctx, e);

	if (r || c->bad_run_dir)
		return r;
	r = update_file(ctx, c, NULL, false, e);
	if (r)
		return r;
	return daemon_sync(c, NULL, false, NULL, e);
}

static int dn_gc(struct cni_ctx *ctx, struct cni_err *e)
{
	struct dn_conf *c = ctx->conf;
	_fd_ int lockfd = -1, dirfd = -1;
	struct dn_netfile f;
	bool dirty = false;
	size_t k = 0;
	int r;

	if (!dn_token_valid(ctx->net.name) || c->bad_run_dir)
		return 0;
	r = open_locked(c, "lock", &lockfd, &dirfd, e);
	if (r)
		return r;
	r = dn_netfile_read(dirfd, ctx->net.name, &f, 0);
	if (r == -ENOENT)
		return 0;
	if (r)
		return cni_fail(e, r, CNI_ERR_IO, "reading the record file of network %s: %s",
				ctx->net.name, strerror(-r));
	for (size_t i = 0; i < f.n; i++) {
		if (!cni_attachment_valid(ctx, f.recs[i].cid, f.recs[i].ifname)) {
			dn_rec_free(&f.recs[i]);
			continue;
		}
		f.recs[k++] = f.recs[i];
	}
	/* a container's own upstreams by the same test (the writer also drops those of no record) */
	for (size_t i = 0; i < f.n_cdns;) {
		const struct dn_cdns *o = &f.cdns[i];

		if (!cni_attachment_valid(ctx, o->cid, o->ifname)) {
			dn_netfile_set_cdns(&f, &(struct dn_cdns){.cid = o->cid, .ifname = o->ifname});
			dirty = true;
			continue;
		}
		i++;
	}
	if (k != f.n || dirty) {
		f.n = k;
		r = dn_netfile_write(dirfd, ctx->net.name, &f);
	}
	dn_netfile_free(&f);
	if (r)
		return cni_fail(e, r, CNI_ERR_IO, "writing the record file of network %s: %s",
				ctx->net.name, strerror(-r));
	close(lockfd);
	lockfd = -1;
	return daemon_sync(c, NULL, false, NULL, e);
}

/* Any network file (malformed ones too) under @c's run directory? */
static bool any_network(const struct dn_conf *c)
{
	_fd_ int fd = open(cni_sprintf("%s/networks", c->run_dir),
			   O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	return fd >= 0 && dn_netfiles_any(fd) > 0;
}

/*
 * Ready when the daemon answers or starts. With nothing to serve, a daemon started now would
 * exit again at once (--exit-idle), and runtimes poll STATUS every few seconds: only what a start
 * needs is checked (the run directory, our own executable), nothing is started.
 */
static int dn_status(struct cni_ctx *ctx, struct cni_err *e)
{
	struct dn_conf *c = ctx->conf;
	int r;

	if (c->bad_run_dir)
		return cni_fail(e, -EINVAL, CNI_ERR_NOT_AVAILABLE,
				"runDir must be an absolute path of at most 80 bytes");
	if (!any_network(c)) {
		char *p = cni_sprintf("%s/networks", c->run_dir);

		r = dirs_ensure(c->run_dir, p);
		if (r)
			return cni_fail(e, r, CNI_ERR_NOT_AVAILABLE, "creating %s: %s", p,
					strerror(-r));
		if (!self_exe())
			return cni_fail(e, -ENOENT, CNI_ERR_NOT_AVAILABLE,
					"cannot find own executable");
		return 0;
	}
	r = daemon_ensure(c, e);
	if (r)
		e->code = CNI_ERR_NOT_AVAILABLE;
	return r;
}

/* ---- CHECK ----------------------------------------------------------------------------------- */

/* One query to @ra:53 (through the rewrite) from inside the container's netns; 0 when answered
 * as expected. */
static int probe(const char *netns, const char *ra, const char *name, uint16_t qtype,
		 struct cni_err *e)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(53)};
	_fd_ int nsfd = -1, sk = -1;
	uint8_t q[300], a[1500];
	struct dns_writer w;
	struct dns_name qn;
	struct dns_msg m;
	uint16_t id;
	int orig, r, len;
	ssize_t n;

	r = nu_netns_open(netns, &nsfd, e);
	if (r)
		return r;
	r = nu_netns_enter(nsfd, &orig, e);
	if (r)
		return r;
	sk = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	nu_netns_leave(orig);
	if (sk < 0)
		return cni_fail(e, -errno, 0, "socket in the container netns: %m");
	if (dns_name_from_text(name, &qn))
		return cni_fail(e, -EINVAL, 0, "bad name %s", name);
	id = (uint16_t)(getpid() ^ time(NULL));
	dns_w_init(&w, q, sizeof(q), id, DNS_F_RD);
	dns_w_question(&w, &qn, qtype, DNS_C_IN);
	len = dns_w_finish(&w);
	inet_pton(AF_INET, ra, &sa.sin_addr);
	setsockopt(sk, SOL_SOCKET, SO_RCVTIMEO, &(struct timeval){.tv_sec = 2}, sizeof(struct timeval));
	for (int tries = 0; tries < 2; tries++) {
		if (sendto(sk, q, (size_t)len, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0)
			return cni_fail(e, -errno, 0, "sending a query to %s: %m", ra);
		n = recv(sk, a, sizeof(a), 0);
		if (n < 0)
			continue;
		if (dns_msg_parse(a, (size_t)n, false, &m) || m.id != id)
			continue;
		if (!(m.flags & DNS_F_AA) || DNS_RCODE(m.flags) != DNS_RC_NOERROR)
			return cni_fail(e, -ENOENT, 0, "the resolver does not know %s (rcode %d)",
					name, DNS_RCODE(m.flags));
		if (qtype != DNS_T_SOA && m.ancount == 0)
			return cni_fail(e, -ENOENT, 0, "the resolver has no address for %s", name);
		return 0;
	}
	return cni_fail(e, -ETIMEDOUT, CNI_ERR_NOT_AVAILABLE,
			"the resolver at %s does not answer in the container", ra);
}

static int dn_check(struct cni_ctx *ctx, struct cni_err *e)
{
	struct dn_conf *c = ctx->conf;
	_fd_ int lockfd = -1, dirfd = -1;
	struct dn_netfile f;
	char name[300], ra[16] = DN_RESOLVER_ADDR;
	uint16_t qtype = DNS_T_SOA;
	bool found = false;
	int r;

	r = check_chained(ctx, e);
	if (r)
		return r;
	r = open_locked(c, "lock", &lockfd, &dirfd, e);
	if (r)
		return r;
	r = dn_netfile_read(dirfd, ctx->net.name, &f, 0);
	if (r)
		return cni_fail(e, r, 0, "no record file for network %s: %s", ctx->net.name,
				strerror(-r));
	snprintf(name, sizeof(name), "%s", c->domain);
	for (size_t i = 0; i < f.n && !found; i++) {
		const struct dn_rec *rec = &f.recs[i];

		if (strcmp(rec->cid, ctx->env.container_id) || strcmp(rec->ifname, ctx->env.ifname))
			continue;
		found = true;
		dn_resolver_text(rec->resolver, ra);
		for (size_t k = 0; k < ctx->net.prev->n_ips; k++) {
			const struct cni_ip *ip = &ctx->net.prev->ips[k].address.ip;
			bool have = false;

			for (size_t j = 0; j < rec->n_addrs; j++)
				have |= rec->addrs[j].family == ip->family &&
					!memcmp(rec->addrs[j].a, ip->a, cni_ip_len(ip));
			if (!have)
				r = cni_fail(e, -ENOENT, 0, "address of prevResult not recorded");
		}
		if (rec->n_names) {
			snprintf(name, sizeof(name), "%s.%s", rec->names[0], c->domain);
			qtype = rec->n_addrs && rec->addrs[0].family == AF_INET6 ? DNS_T_AAAA
										 : DNS_T_A;
			if (!rec->n_addrs)
				qtype = DNS_T_SOA;
		}
	}
	dn_netfile_free(&f);
	close(lockfd);
	lockfd = -1;
	if (!found)
		return cni_fail(e, -ENOENT, 0, "container %s has no record on network %s",
				ctx->env.container_id, ctx->net.name);
	if (r)
		return r;
	r = rewrite_check(ctx, c, ra, e);
	if (r)
		return r;
	return probe(ctx->env.netns, ra, name, qtype, e);
}

const struct cni_plugin dn_plugin = {
	.name = "dnsname",
	.help = "Chained: the container's names and addresses for the network's resolver, a daemon\n"
		"the plugin starts when needed (dnsname daemon --help).",
	.min_version = CNI_V010,
	CNI_CONF(fields, struct dn_conf),
	.conf_defaults = dn_defaults,
	.conf_validate = dn_validate,
	.args_keys = args_keys,
	CNI_VERBS(dn),
	.status = dn_status,
	.gc = dn_gc,
};

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "daemon"))
		return dn_daemon_main(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "status"))
		return dn_status_main(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "restart"))
		return dn_restart_main(argc - 1, argv + 1);
	return cni_main(&dn_plugin, argc, argv);
}
