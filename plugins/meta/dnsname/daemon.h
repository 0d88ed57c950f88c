/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The resolver daemon's internals (private to this folder): its limits, its state (struct
 * dn_ctx, one per process, passed to every function: no globals) and what its files call of
 * each other. The daemon is split by job, one file each:
 *   daemon.c    start-up, the loop and the dispatch of its events, signals, inotify, exit when idle
 *   snapshot.c  the network files read into an immutable snapshot with its name and address
 *               indexes; the reload that swaps it in and opens and closes listeners to match
 *   listen.c    per-container listeners: the sockets made inside the netns by a helper thread,
 *               the port 53 rewrite beside them, the table by netns, each one's view
 *   answer.c    the query path: UDP batches, parsing, local answers (lookup, answer_local) and
 *               replies; one file so that the path of a local answer stays inlined
 *   forward.c   the upstreams (resolv.conf) and forwarding: the query-ID table, retries, the TCP
 *               retry of a truncated reply, the fair share of the forward table
 *   tcp.c       TCP clients: pipelined connections, their buffers, back-pressure and timeouts
 *   upstream.c  upstream sets (resolv.conf's, a network's dnsServers, a container's
 *               runtimeConfig.dns) shared by reference, each listener's choice of one, the
 *               per-network counters and latency histograms, the "status" report
 *   cache.c     the cache of forwarded answers (cache.h: no daemon state, unit-tested alone)
 *   control.c   the control socket ("ping", "sync [DEV INO]", "port DEV INO", "status [json]",
 *               "handoff")
 *   handoff.c   the upgrade without loss: the listeners and the control socket handed to a new
 *               daemon (--takeover) over the control socket (SCM_RIGHTS), the old one's drain,
 *               and "dnsname restart"
 * A function called from another file carries the dn_ prefix and is declared here; the rest
 * stays static in its file.
 */
#ifndef DNSNAME_DAEMON_H
#define DNSNAME_DAEMON_H

#include <limits.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>

#include "cache.h"
#include "daemon/daemon.h"
#include "dnsname.h"
#include "ratelim.h"
#include "wire/dns_wire.h"

#define FWD_MAX 1024		/* forwards in flight, shared fairly by the listeners (fwd_room) */
#define FWD_TRY_MS 400		/* per upstream attempt */
#define FWD_TCP_MS 2000		/* TCP retry of a truncated reply */
#define FWD_ROUNDS 2		/* passes over the upstream list */
#define UP_MAX 3		/* resolv.conf servers used, as glibc */
#define UP_SOCKS 4		/* persistent UDP sockets per family */
#define CONN_MAX 512		/* TCP connections in total */
#define CONN_PER_LSN 32		/* TCP connections per listener (netns, address) */
#define CONN_IDLE_MS 10000
#define CONN_PIPELINE 16	/* forwards in flight per TCP connection */
#define CONN_OUT_SOFT (64u << 10) /* queued answers beyond which no more queries are read */
#define CONN_OUT_MAX (256u << 10)  /* ... and beyond which a client that does not read is cut off */
#define CTL_MAX 32		/* control connections open at once; beyond, the oldest goes */
#define CTL_IDLE_MS 5000	/* for a control client to send its request */
#define VIEW_MAX 64		/* networks per container */
#define DN_UDP_RCVBUF (2 << 20) /* a listener's UDP receive queue, bytes (listen.c) */
#define LSN_BUCKETS 1024
#define IDTAB 2048		/* query ID -> forward slot, open addressing; >= 2 x FWD_MAX */
/* at most half full: a probe always meets an empty slot, and soon */
_Static_assert(VIEW_MAX <= 64, "VIEW_MAX: one bit of struct lsn's own each");
_Static_assert(DN_RESOLVER_N <= VIEW_MAX,
	       "a netns has no more resolver addresses than a listener resolves networks");
_Static_assert(IDTAB >= 2 * FWD_MAX && !(IDTAB & (IDTAB - 1)),
	       "IDTAB: a power of two, at least 2 x FWD_MAX");

/* The kinds of the loop's events (struct dmn_ev of pkg/daemon). */
enum ev_type { EV_CTL, EV_CTLC, EV_SIG, EV_INO, EV_UDP, EV_TCPL, EV_CONN, EV_UP, EV_UPTCP };

/* ---- snapshot --------------------------------------------------------------------------------- */

struct hent {
	const char *name;
	uint32_t rec, next;
};

struct pent {
	const struct dn_addr *a;
	uint32_t rec, next;
};

struct snet {
	char *name;
	struct dn_netfile f;
	struct dns_name zone;
	size_t dlen;
	uint32_t *hb, *pb; /* bucket heads, index + 1 */
	struct hent *he;
	struct pent *pe;
	size_t nb, nbp, nhe, npe; /* buckets of hb and pb (powers of two), entries of he and pe */
};

struct snap {
	struct snet *nets;
	size_t n;
	size_t files; /* entries of the directory, malformed ones included */
	uint32_t serial;
	int err; /* -errno: the directory or a file could not be read for want of fds or memory */
};

/* ---- upstream sets, counters ------------------------------------------------------------------ */

struct upstream {
	struct sockaddr_storage sa;
	socklen_t len;
};

/*
 * A list of upstreams: resolv.conf's (d->resolv_ups) or one named by a network file (its text,
 * interned in d->sets). Held by the listeners that use it and by the forwards in flight through
 * it, so a change of a network's upstreams loses no query; its cached answers go with it.
 */
struct upset {
	uint32_t id; /* the cache's key, never reused */
	unsigned int refs;
	int n;
	struct upstream up[UP_MAX];
	char *text; /* NULL: resolv.conf's */
	struct upset *next;
};

#define HIST_N 112 /* latency buckets: 4 per power of two of microseconds, up to 2^28 us */

/* A network's counters (by name: they outlive reloads). */
struct nstat {
	char *name;
	uint64_t queries, forwarded, hits, errors;
	uint32_t hist[HIST_N];
	bool keep;
	struct nstat *next;
};

/* ---- listeners, connections, forwards --------------------------------------------------------- */

struct lsn {
	uint64_t dev, ino;
	uint32_t addr; /* the resolver address it serves (network order), one per network of a
			* container on several (dnsname.h) */
	int udp, tcp;
	struct dmn_ev uev, tev;
	/* networks this netns sees (indexes into the snapshot): view_in until it is full, then a
	 * block that grows up to VIEW_MAX; a thousand listeners are mostly on one network each */
	uint16_t *view;
	uint16_t n_view, cap_view;
	uint16_t view_in[4];
	uint64_t own; /* bit v: view[v] owns the address (its records are at it): its upstreams */
	unsigned int nconn;
	unsigned int n_fwd; /* forwards in flight for this listener */
	uint16_t port;	    /* DN_RESOLVER_PORT behind the rewrite, or 53 where none is allowed */
	bool keep;
	bool fresh; /* opened by the reload under way (its rewrite is new) */
	bool given; /* sent by the handoff under way (a new daemon of an older build gets
		     * 127.0.0.11's alone: handoff.c) */
	struct upset *ups; /* its upstreams; NULL: resolv.conf's */
	struct nstat *st;  /* the counters it adds to (the network of its upstreams, or its first) */
	struct lsn *next; /* hash chain */
};

struct conn {
	struct dmn_ev ev;
	int fd;
	struct lsn *l;
	uint8_t *in, *out;
	size_t in_len, in_cap, out_len, out_off;
	unsigned int pending;
	uint64_t last;
	bool eof, dead, kick;
	struct conn *prev, *next; /* by last activity, oldest first */
};

struct fwd {
	bool used, tcp_client, client_edns, tcp_up, treading;
	uint16_t qid, cid;
	struct lsn *l;
	struct sockaddr_storage peer;
	socklen_t plen;
	struct conn *conn;
	uint8_t *q;
	size_t qlen, limit;
	struct dns_name qname;
	uint16_t qtype, qclass;
	int srv, tries;
	unsigned int sent_mask;
	struct upset *ups; /* a reference */
	struct nstat *st;
	uint8_t cbits;	  /* DC_B_* of the question */
	uint64_t start_us;
	uint64_t deadline;
	int prev, next; /* deadline list */
	/* TCP retry */
	int tfd;
	struct dmn_ev tev;
	uint8_t *tbuf;
	size_t tlen, toff;
};

/*
 * UDP queries and the answers made while reading them move in batches: one recvmmsg() and one
 * sendmmsg() for up to UDP_BATCH queries instead of a recvfrom() and a sendto() each. A query
 * larger than a slot (only EDNS options could make one) is dropped; answers to forwarded queries
 * leave one by one, when the upstream's reply comes.
 */
#define UDP_BATCH 16
#define UDP_QSLOT 4096
struct udp_batch {
	struct mmsghdr in[UDP_BATCH], out[UDP_BATCH];
	struct iovec iin[UDP_BATCH], iout[UDP_BATCH];
	struct sockaddr_storage peer[UDP_BATCH];
	uint8_t q[UDP_BATCH][UDP_QSLOT];
	uint8_t r[UDP_BATCH][DNS_EDNS_CAP];
	unsigned int nout;
};

/* A control connection waiting for its request: one message, one reply, closed. */
struct ctlc {
	struct dmn_ev ev;
	int fd;
	uint64_t deadline;
	bool handoff; /* our sockets were sent on it: "taken" (or its end) comes next */
	struct ctlc *prev, *next; /* by deadline (= by age), oldest first */
};

/* A listener received from the daemon we take over, until a record claims it (dn_lsn_open). */
struct dn_adopt {
	uint64_t dev, ino;
	uint32_t addr; /* network order; from a build before the addresses: 127.0.0.11 */
	int udp, tcp;
};

/* The kinds of log lines, each with its own token bucket (ratelim.h). */
enum dn_logkind { DN_LOG_RELOAD, DN_LOG_LSN, DN_LOG_RESOLV, DN_LOG_HANDOFF, DN_LOG_KINDS };
#define DN_LOG_RATE 5	/* lines per second per kind, after ... */
#define DN_LOG_BURST 20 /* ... a burst of that many */
#define HO_WAIT_MS 10000 /* for the new daemon to confirm it serves (then we stop reading) */

/*
 * The daemon's whole state: one per process, made by dn_daemon_main() and passed to every
 * function that reads or changes it (no globals).
 */
struct dn_ctx {
	const char *run_dir, *resolv_conf;
	struct dmn_loop loop;
	int ctl, sig, ino, wd_nets, wd_resolv, netsfd;
	char resolv_base[NAME_MAX + 1];
	struct snap *snap;
	struct lsn *lsn[LSN_BUCKETS];
	size_t n_lsn;
	struct conn *conn_head, *conn_tail;
	unsigned int n_conn, n_kick;
	struct ctlc *ctl_head, *ctl_tail;
	unsigned int n_ctlc;
	struct fwd *fwd;
	uint16_t idtab[IDTAB]; /* fwd index + 1, at the ID's home or after it (linear probing) */
	int fwd_head, fwd_tail;
	unsigned int n_fwd, fwd_lsns; /* forwards in flight, listeners that have some */
	struct upset *resolv_ups; /* resolv.conf's (a reference) */
	struct upset *sets;	  /* the networks' and containers' sets in use */
	uint32_t set_serial;
	struct dcache *cache;
	struct nstat *stats;
	int usock[2][UP_SOCKS];
	struct dmn_ev uev[2][UP_SOCKS];
	struct dmn_ev ctl_ev, sig_ev, ino_ev;
	uint8_t rnd[256];
	size_t rnd_left;
	uint64_t self_dev, self_ino;
	char last_err[256];
	bool quit;
	bool exit_idle;  /* --exit-idle (not with systemd's socket: systemd starts us again) */
	bool activated;  /* the control socket is systemd's */
	bool idle_check; /* a reload left no network file */
	int idle_lock;	 /* start.lock, held from the decision to exit to the exit */
	int spare;	 /* /dev/null, given up to shed a connection when descriptors run out */
	uint8_t buf[65536 + 2];
	struct udp_batch B;
	int batch_fd;	      /* the listener whose batch is open, -1 when none */
	uint32_t snap_serial; /* of the last snapshot loaded */
	int pidfd;	      /* the locked pid file, -1 once handed over */
	/* the upgrade (handoff.c): the new daemon's side ... */
	struct dn_adopt *adopt;
	size_t n_adopt;
	int ho_fd; /* our connection to the old daemon, -1 when none */
	/* ... and the old one's: its sockets are the new one's, it finishes what it has */
	struct ctlc *ho_give; /* the handoff under way: its connection (off the ctl_head list) */
	bool handed;
	/* systemd's fd store (fdstore.c): --fd-store given, the listeners came from it (until the
	 * first reload), they were given to it (we stop) */
	bool fdstore, from_store, stored;
	uint64_t drain_until;
	bool resolv_given;	      /* --resolv-conf given: not the old daemon's */
	char resolv_buf[PATH_MAX]; /* the old daemon's resolv_conf */
	struct dn_rl logrl[DN_LOG_KINDS];
};

/* Where a reply goes: a UDP peer through its listener's socket, or a TCP connection. */
struct dest {
	struct lsn *l; /* UDP: reply through l->udp to peer */
	const struct sockaddr_storage *peer;
	socklen_t plen;
	struct conn *conn; /* TCP */
};

/* ---- helpers of several files ------------------------------------------------------------------ */

void dn_logf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* One line for an event of kind @k, through its token bucket (a burst, then DN_LOG_RATE/s). */
void dn_logk(struct dn_ctx *d, enum dn_logkind k, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static inline uint64_t dn_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The hash of names and addresses, the same for the snapshot's indexes and their lookups. */
static inline uint32_t dn_hash_str(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h;
}

static inline uint32_t dn_hash_addr(const struct dn_addr *a)
{
	uint32_t h = 2166136261u;

	for (int i = 0; i < (a->family == AF_INET ? 4 : 16); i++)
		h = (h ^ a->a[i]) * 16777619u;
	return h;
}

/* ---- snapshot.c --------------------------------------------------------------------------------- */

void dn_snap_free(struct snap *s);
/*
 * dn_reload() - read every network file into a new snapshot, open the listeners of new netns,
 * close those no record needs any more, swap the snapshot in. On a failure of ours (fds, memory)
 * the old snapshot stays and d->last_err says why.
 */
void dn_reload(struct dn_ctx *d);

/* ---- listen.c ----------------------------------------------------------------------------------- */

/* A listener and its rewrite in the netns of record @r, or NULL (d->last_err says why). */
struct lsn *dn_lsn_open(struct dn_ctx *d, const struct dn_rec *r);
/* Close @l: its connections, its forwards' link to it, its rewrite, its sockets. */
void dn_lsn_close(struct dn_ctx *d, struct lsn *l);
/* No listener read any more (a handoff's or the fd store's drain): queries wait in their queues. */
void dn_lsn_unwatch(struct dn_ctx *d);
struct lsn *dn_lsn_find(struct dn_ctx *d, uint64_t dev, uint64_t ino, uint32_t addr);
void dn_lsn_view_add(struct lsn *l, uint16_t i, bool own);
/* Network @i into the view of every listener of netns (@dev, @ino) (not as an owner). */
void dn_lsn_view_ns(struct dn_ctx *d, uint64_t dev, uint64_t ino, uint16_t i);
/*
 * The port 53 rewrite of @l's address added again (@add) or deleted (the netns' whole table when
 * no other listener of d's serves that netns): 0 or -errno (d->last_err).
 */
int dn_lsn_rewrite(struct dn_ctx *d, const struct lsn *l, bool add);

/* ---- answer.c ----------------------------------------------------------------------------------- */

void dn_on_udp(struct dn_ctx *d, struct lsn *l);
/* One query from the netns of @l: answered here, or forwarded (dn_forward()). */
void dn_handle_query(struct dn_ctx *d, struct lsn *l, const struct dest *to, const uint8_t *msg,
		     size_t len);
void dn_send_reply(struct dn_ctx *d, const struct dest *to, const uint8_t *msg, size_t len);
void dn_send_short(struct dn_ctx *d, const struct dest *to, const struct dns_msg *q,
		   uint16_t flags, unsigned int rcode);

/* ---- forward.c ---------------------------------------------------------------------------------- */

/* The upstreams from resolv.conf (none: forwarding answers SERVFAIL). */
void dn_load_resolv(struct dn_ctx *d);
void dn_forward(struct dn_ctx *d, const struct dest *to, const uint8_t *msg, size_t len,
		const struct dns_msg *q);
void dn_fwd_free(struct dn_ctx *d, int i);
void dn_on_upstream_udp(struct dn_ctx *d, int fd);
void dn_on_upstream_tcp(struct dn_ctx *d, int i, uint32_t events);
void dn_fwd_timeouts(struct dn_ctx *d, uint64_t now);

/* ---- upstream.c --------------------------------------------------------------------------------- */

static inline uint64_t dn_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* Parse resolv.conf-style or dnsServers text into @u (at most UP_MAX). */
struct upset *dn_ups_new(struct dn_ctx *d, const char *text);
void dn_ups_put(struct dn_ctx *d, struct upset *u);
/* The upstreams a query of @l goes to. */
static inline struct upset *dn_ups_of(struct dn_ctx *d, const struct lsn *l)
{
	return l && l->ups ? l->ups : d->resolv_ups;
}
/* After a reload: each listener's upstream set and counters (the snapshot d->snap). */
void dn_ups_assign(struct dn_ctx *d);
void dn_stat_latency(struct nstat *st, uint64_t us);
/* The "status" report into a malloc'ed string (text, or JSON with @json). */
char *dn_status_render(struct dn_ctx *d, bool json);
void dn_ups_cleanup(struct dn_ctx *d);

/* ---- tcp.c -------------------------------------------------------------------------------------- */

void dn_on_tcp_accept(struct dn_ctx *d, struct lsn *l);
void dn_on_conn(struct dn_ctx *d, struct conn *c, uint32_t events);
/* Queue a reply on @c (the connection may be marked dead: closed after the batch). */
void dn_conn_send(struct dn_ctx *d, struct conn *c, const uint8_t *msg, size_t len);
/* Mark @c to be resumed (or closed) after the batch of events: dn_conn_kicked(). */
void dn_conn_kick(struct dn_ctx *d, struct conn *c);
void dn_conn_kicked(struct dn_ctx *d);
void dn_conn_close(struct dn_ctx *d, struct conn *c);
void dn_conn_timeouts(struct dn_ctx *d, uint64_t now);

/* ---- control.c ---------------------------------------------------------------------------------- */

/* The control socket: systemd's (d->activated) or RUN_DIR/dnsname.sock. Returns it or -errno. */
int dn_ctl_open(struct dn_ctx *d);
void dn_on_ctl(struct dn_ctx *d);
void dn_on_ctlc(struct dn_ctx *d, struct ctlc *c);
void dn_ctlc_close(struct dn_ctx *d, struct ctlc *c);
/* @c off the list of control clients (it is the handoff's now), still open. */
void dn_ctlc_unlink(struct dn_ctx *d, struct ctlc *c);
void dn_ctl_timeouts(struct dn_ctx *d, uint64_t now);

/* ---- fdstore.c ---------------------------------------------------------------------------------- */

/*
 * The @n sockets systemd passed: the control socket (returned, or -ENOTSOCK when none is) and
 * the listeners stored by the daemon before (d->adopt, d->from_store). -errno.
 */
int dn_fdstore_take(struct dn_ctx *d, int n);
/* After the first reload: systemd drops the stored listeners; those no record claimed close. */
void dn_fdstore_confirm(struct dn_ctx *d);
/* Told to stop: the listeners to the store, true when all went (then we drain and exit). */
bool dn_fdstore_give(struct dn_ctx *d);
/* The drain after dn_fdstore_give() is over (idle connections closed on the way). */
bool dn_fdstore_drained(struct dn_ctx *d, uint64_t now);

/* ---- handoff.c ---------------------------------------------------------------------------------- */

/* "handoff" (@addrs: "handoff 2") on control connection @c: our sockets sent to the new daemon,
 * the control socket out of our loop, @c d->ho_give (or, when they could not be sent, @c closed
 * and we serve on). */
void dn_handoff_give(struct dn_ctx *d, struct ctlc *c, bool addrs);
/* The next message on a handoff connection: "taken" starts our drain; anything else, or its end,
 * leaves us serving as before. */
void dn_handoff_reply(struct dn_ctx *d, struct ctlc *c, const char *req, ssize_t n);
/* The handoff's connection past its deadline (HO_WAIT_MS): as if the new daemon died. */
void dn_handoff_timeout(struct dn_ctx *d, uint64_t now);
/* The handoff's connection closed and forgotten (at exit). */
void dn_handoff_drop(struct dn_ctx *d);
/* True once the old daemon is done draining (or its bound passed): it exits. */
bool dn_handoff_drained(struct dn_ctx *d, uint64_t now);
/*
 * The new daemon's side (--takeover): asks the running daemon for its sockets. The control
 * socket (d->ctl set, d->activated and d->exit_idle as the old one had them) and the listeners
 * (d->adopt) are ours then; 1 when there was no daemon to take over (start as usual), 0, or
 * -errno (d->last_err says why).
 */
int dn_handoff_take(struct dn_ctx *d);
/* A received listener for netns (@dev, @ino) and resolver address @addr, moved to *@udp and
 * *@tcp: true when there was one. */
bool dn_handoff_adopt(struct dn_ctx *d, uint64_t dev, uint64_t ino, uint32_t addr, int *udp,
		      int *tcp);
/*
 * After the first reload: "taken" is sent and the old daemon's release awaited (then its pid
 * file is ours to lock); the received listeners no record claims are closed, their rewrites
 * deleted only after the release and a complete reload. 0 or -errno.
 */
int dn_handoff_confirm(struct dn_ctx *d);
/*
 * The received listeners no record claimed (d->adopt, from a handoff or systemd's store)
 * closed, their rewrites deleted when @unrewrite (not while the old daemon may still serve
 * them, nor after a partial first reload); d->adopt freed.
 */
void dn_adopt_release(struct dn_ctx *d, bool unrewrite);

#endif
