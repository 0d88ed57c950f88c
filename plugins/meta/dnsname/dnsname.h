/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dnsname: the chained plugin and its resolver daemon (one binary, "dnsname daemon"). This header
 * is what the two share: the run directory layout, the per-network record files and the control
 * protocol.
 *
 * Run directory (default /run/cni/dnsname):
 *   networks/<network>   one file per CNI network, replaced atomically (temp + fsync + rename);
 *                        removed when its last record goes
 *   lock                 flock held by plugins while they read-modify-write a network file
 *   start.lock           flock held by a plugin while it starts the daemon, and by a daemon
 *                        from its decision to exit when idle to its exit
 *   dnsname.pid          the daemon's pid, flock'ed by the daemon for its whole life
 *   dnsname.sock         the control socket (SOCK_SEQPACKET): "ping", "sync [DEV INO]",
 *                        "port DEV INO", "handoff" (daemon's control.c, handoff.c);
 *                        replies "ok ... port P" or "err MESSAGE"
 *
 * Network file, one line each, fields separated by single spaces:
 *   cnic-dnsname 1
 *   domain <domain>
 *   ttl <seconds>
 *   rec <container id> <ifname> <netns path> <netns dev> <netns inode> <ips|-> <names|->
 *   servers <upstreams>                        (the network's dnsServers; absent: resolv.conf)
 *   cdns <container id> <ifname> <netns dev> <netns inode> <upstreams>   (runtimeConfig.dns)
 *   addr <container id> <ifname> <netns dev> <netns inode> <127.0.0.X>    (the announced resolver)
 * ips and names are comma separated; names[0] is the canonical name of the record (PTR).
 * Upstreams are comma separated, each "1.2.3.4:53" or "[2001:db8::1]:53" (dn_upstreams_norm()).
 * "addr" is the resolver address announced to the attachment when it is not DN_RESOLVER_ADDR: a
 * container on several networks gets one address per network (the first keeps 127.0.0.11), so
 * the daemon tells by the address a query came to which network it asked on. A record without
 * one is at DN_RESOLVER_ADDR (every record of a build before it).
 * A daemon or plugin of a build before them skips "servers", "cdns" and "addr" lines (unknown
 * keys): it serves every network of the netns on 127.0.0.11 alone.
 */
#ifndef DNSNAME_H
#define DNSNAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DN_RUN_DIR "/run/cni/dnsname"
#define DN_DOMAIN "dns.podman"
#define DN_RESOLVER_ADDR "127.0.0.11" /* announced in every container netns, port 53 */
/*
 * The addresses of a netns' further networks: 127.0.0.DN_RESOLVER_FIRST (DN_RESOLVER_ADDR) up to
 * 127.0.0.DN_RESOLVER_LAST, the lowest free one for each new network of the netns.
 */
#define DN_RESOLVER_FIRST 11
/* Skipped: systemd-resolved's stub addresses, 127.0.0.53 and 127.0.0.54, maybe the container's */
#define DN_RESOLVER_SKIP(x) ((x) == 53 || (x) == 54)
/* A listener resolves at most VIEW_MAX (64, daemon.h) networks: no more addresses than that (64
 * from 11, the two skipped ones aside), so a 65th network of a netns is the ADD's named error,
 * not names that vanish */
#define DN_RESOLVER_N 64
#define DN_RESOLVER_LAST (DN_RESOLVER_FIRST + DN_RESOLVER_N + 2 - 1)
/*
 * The port the listener binds on DN_RESOLVER_ADDR: the plugin's nftables rules in the container
 * netns rewrite port 53 to it and back (nu_nft_dnsport_add()), so port 53 stays free for the
 * container's own wildcard binds. Outside the default ephemeral range (32768-60999).
 */
#define DN_RESOLVER_PORT 61053
/*
 * The daemon owns the rewrite: it adds it in every netns where it opens a listener (in the
 * helper thread that makes the sockets), again at each "sync DEV INO" of that netns, and deletes
 * it where it closes one, on its exit too. Its counter in the table is "att-" DN_REWRITE_OWNER.
 * Its control replies say the port it serves ("ok port 61053", "ok N listeners port 61053"); a
 * daemon of a build before the rewrite answers a bare "ok" and serves port 53 itself.
 */
#define DN_REWRITE_OWNER "dnsname-daemon"
#define DN_MAX_NAMES 64		      /* names per record */
#define DN_MAX_ADDRS 16		      /* addresses per record */
#define DN_MAX_RECS 8192	      /* records per network */
#define DN_MAX_FILE (8u << 20)	      /* bytes of one network file */
#define DN_MAX_NETS 4096	      /* network files */
#define DN_MAX_TTL 86400

struct dn_addr {
	int family; /* AF_INET, AF_INET6 */
	uint8_t a[16];
};

/*
 * One attachment. A record of a dn_netfile owns one block (@mem) that holds its strings, its
 * addresses and its name vector, names in lower case: the daemon keeps a thousand of them per
 * snapshot, two snapshots during a reload. A record built by a caller (mem NULL) only points.
 */
struct dn_rec {
	char *cid, *ifname, *netns;
	uint64_t ns_dev, ns_ino;
	uint32_t resolver; /* the announced resolver address (network order), 0: DN_RESOLVER_ADDR */
	struct dn_addr *addrs;
	size_t n_addrs;
	char **names;
	size_t n_names;
	void *mem;
};

/* A container's own upstreams (runtimeConfig.dns.servers), by attachment and netns. */
struct dn_cdns {
	char *cid, *ifname, *servers;
	uint64_t ns_dev, ns_ino;
};

struct dn_netfile {
	char *domain; /* lower case, no trailing dot */
	unsigned int ttl;
	struct dn_rec *recs;
	size_t n, cap;
	char *servers; /* the network's upstreams (normalised text), NULL: resolv.conf */
	struct dn_cdns *cdns;
	size_t n_cdns;
};

#define DN_MAX_UPSTREAMS 3 /* as glibc's resolv.conf */

/*
 * dn_upstreams_norm() - @n addresses ("1.2.3.4", "1.2.3.4:5353", "2001:db8::1",
 * "[2001:db8::1]:53") into the file's normalised text (@out, @cap bytes). Returns 0, or the index
 * + 1 of the first invalid one (-1 - index when there are more than DN_MAX_UPSTREAMS).
 */
int dn_upstreams_norm(const char *const *addrs, size_t n, char *out, size_t cap);

/*
 * dn_upstream_parse() - one normalised or user-given address into @sa: 0 or -EINVAL. A
 * link-local IPv6 address may carry a zone ("fe80::1%eth0", "[fe80::1%2]:53"): a host interface
 * (dn_zone_index()); one that names no interface is -EINVAL.
 */
struct sockaddr_storage;
int dn_upstream_parse(const char *s, struct sockaddr_storage *sa, unsigned int *salen);

/* The interface index of a zone (a number, or a host interface name), 0 when none. */
unsigned int dn_zone_index(const char *zone);

/*
 * dn_upstream_unusable() - why the daemon cannot forward to @sa (it sends from the host netns):
 * DN_RESOLVER_ADDR (itself), a link-local address without a zone, and, for a server the
 * @container named (runtimeConfig.dns: its own view), a loopback address (127.0.0.0/8, ::1). A
 * network's dnsServers may name a host loopback resolver (127.0.0.53). NULL when usable.
 */
const char *dn_upstream_unusable(const struct sockaddr_storage *sa, bool container);

/*
 * dn_resolver_parse() - "127.0.0.X" (X from DN_RESOLVER_FIRST to DN_RESOLVER_LAST, not
 * DN_RESOLVER_SKIP) into @a
 * (network order, 0 for DN_RESOLVER_ADDR itself): 0 or -EINVAL.
 */
int dn_resolver_parse(const char *s, uint32_t *a);
/* dn_resolver_of() - the address (network order) a record's attachment asks: never 0. */
uint32_t dn_resolver_of(const struct dn_rec *r);
/* dn_resolver_text() - @a (network order, 0: DN_RESOLVER_ADDR) as text into @buf (16 bytes). */
const char *dn_resolver_text(uint32_t a, char buf[16]);

/* Add (replacing) or, with @servers NULL, drop the container's own upstreams. 0 or -ENOMEM. */
int dn_netfile_set_cdns(struct dn_netfile *f, const struct dn_cdns *c);

/*
 * dn_name_valid() - a host name we serve: labels of [A-Za-z0-9_-], 1..63 bytes, <= 253 bytes in
 * all, and not "-" (a file's "no names").
 */
bool dn_name_valid(const char *s);

/* dn_token_valid() - a field that fits in the file: non-empty, no whitespace or commas. */
bool dn_token_valid(const char *s);

#define DN_READ_VERBOSE 1u /* a malformed file's line number on stderr */
#define DN_READ_SERVE 2u   /* only what the resolver serves: cid and ifname left empty */

/*
 * dn_netfile_read() - parse the file @name of directory @dirfd (@flags: DN_READ_*). -ENOENT when
 * absent, -EINVAL for a malformed file, -EFBIG over DN_MAX_FILE.
 */
int dn_netfile_read(int dirfd, const char *name, struct dn_netfile *f, unsigned int flags);

/*
 * dn_netfile_read_ns() - dn_netfile_read() of the records (and "addr" lines) of netns (@dev,
 * @ino) alone: a "rec" or "addr" line whose netns fields name another is not parsed (the
 * plugin's resolver address picker reads every network file on each ADD). A malformed line of
 * another netns goes unnoticed.
 */
int dn_netfile_read_ns(int dirfd, const char *name, struct dn_netfile *f, uint64_t dev,
		       uint64_t ino);

/*
 * dn_netfile_write() - replace the file atomically (temp file, fsync, rename, fsync of the
 * directory); with no records the file is removed instead. The caller holds the run directory's
 * lock: temporary files of this network left by killed writers are removed first (and other
 * networks' whose writer is gone). Returns 0 or -errno.
 */
int dn_netfile_write(int dirfd, const char *name, const struct dn_netfile *f);

void dn_netfile_free(struct dn_netfile *f);
void dn_rec_free(struct dn_rec *r);

/* Append a copy of @r (strings duplicated). Returns 0 or -ENOMEM / -E2BIG. */
int dn_netfile_add(struct dn_netfile *f, const struct dn_rec *r);

/* Remove records matching (@cid, @ifname); returns how many went. */
size_t dn_netfile_remove(struct dn_netfile *f, const char *cid, const char *ifname);

/*
 * dn_netfiles_each() - call @fn with the name of every network file of directory @dirfd (names
 * starting with a dot are temporary files: skipped) until @fn returns false. Returns how many
 * names @fn saw, or -errno when the directory cannot be read.
 */
int dn_netfiles_each(int dirfd, bool (*fn)(const char *name, void *arg), void *arg);

/* dn_netfiles_any() - 1 when directory @dirfd holds a network file (malformed or not), 0, -errno. */
int dn_netfiles_any(int dirfd);

/* The daemon ("dnsname daemon ARGS"): returns the process exit status. */
int dn_daemon_main(int argc, char **argv);
/* "dnsname status [--json] [--run-dir DIR]" (status.c): returns the process exit status. */
int dn_status_main(int argc, char **argv);
/* The plugin's table (plugin.c): its name and spec versions for the daemon's --version too. */
struct cni_plugin;
extern const struct cni_plugin dn_plugin;

/*
 * dn_ctl() - one request on the control socket of @run_dir with a reply (bounded by @timeout_ms)
 * into @reply. Returns 0, -ECONNREFUSED / -ENOENT when no daemon listens, other -errno.
 */
int dn_ctl(const char *run_dir, const char *req, char *reply, size_t len, int timeout_ms);

/*
 * dn_run_dir_default() - the run directory when none is given, the same for the plugin (runDir)
 * and the daemon (--run-dir): DN_RUN_DIR, or $XDG_RUNTIME_DIR/cni/dnsname when /run/cni cannot
 * be written (a rootless runtime that does not remap /run) and XDG_RUNTIME_DIR is an absolute
 * path short enough (runDir's 80 bytes). One buffer for the process.
 */
const char *dn_run_dir_default(void);

/* "dnsname restart" (handoff.c): a new daemon takes the running one's sockets over. */
int dn_restart_main(int argc, char **argv);

/*
 * dn_daemon_spawn() - start @exe with @argv (which passes "--ready-fd 3") as a daemon (spawn.c):
 * double fork, its own session, stdin and stdout /dev/null, stderr appended to @log, the write end
 * of a readiness pipe on fd 3. 0 once the daemon wrote its byte there (within @timeout_ms),
 * -EHOSTDOWN when it did not (it died: its log says why), other -errno (pipe, fork).
 */
int dn_daemon_spawn(const char *exe, const char *log, char *const argv[], int timeout_ms);

/*
 * The control reply prefix of a request the daemon cannot serve now but another will: an old
 * daemon handing its sockets to a new one answers "sync" so; ask again (a new connection, which
 * the new daemon accepts).
 */
#define DN_CTL_AGAIN "err again: "

/*
 * A word of the "ping" and "sync" replies of a daemon that serves each resolver address of a
 * netns on its own listener ("sync DEV INO ADDR", "port DEV INO ADDR"; ADDR absent: 127.0.0.11).
 * A daemon of a build before it reads "sync DEV INO" alone and serves 127.0.0.11 for every
 * network: the plugin then announces 127.0.0.11.
 */
#define DN_CTL_ADDRS " addrs"

#endif
