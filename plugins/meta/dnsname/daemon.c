// SPDX-License-Identifier: Apache-2.0
/*
 * The dnsname resolver daemon: one process per host serving every container that a dnsname
 * network record names, from one epoll loop in the host netns.
 *
 * Identity by socket: each container netns gets its own listener, a UDP socket and a TCP listener
 * bound to 127.0.0.11:61053 (DN_RESOLVER_PORT) *inside that netns* (created by a short-lived helper
 * thread that setns()es, makes the sockets and exits; the loop thread never changes netns). A
 * socket stays in the netns it was made in, so the loop serves it from the host, and every query
 * that arrives on it comes from that container: its view is exactly the networks whose records name
 * that netns (matched by the netns inode). No source address is trusted, nothing depends on a
 * host-side gateway (macvlan/ipvlan work). A stateless nftables rewrite in the container netns maps
 * 127.0.0.11:53 to that port and back, so port 53 stays free: the container's own DNS server
 * binds the wildcard :53. The daemon adds it with the listener and deletes it with the listener
 * (also when it exits), so a netns' rewrite always points at a listener of the same build:
 * containers of an older build get it when a new daemon takes over, and an older daemon (port
 * 53 itself) finds none after a new one stopped.
 *
 * Answers: A, AAAA (ANY gives both) for names and aliases, short or under the network's domain;
 * PTR with one canonical name per address; any other type of a known name is NODATA with an SOA;
 * an unknown name under a domain is NXDOMAIN with an SOA; aa set, question echoed byte for byte.
 * Everything else is forwarded to the host's resolv.conf servers (watched with inotify) through a
 * few persistent UDP sockets with random IDs, trying the next server after 400 ms, retrying over
 * TCP when a reply is truncated, SERVFAIL when all fail, REFUSED beyond 1024 forwards in flight.
 * EDNS0: OPT parsed and answered (1232), BADVERS for versions > 0, TC when a reply exceeds the
 * requester's size. TCP: pipelined, 10 s idle timeout, bounded connections.
 *
 * Reload (inotify on the networks directory, SIGHUP, or "sync" on the control socket): every file
 * is parsed into a new immutable snapshot, listeners of new netns are opened, listeners no record
 * needs any more are closed, the snapshot pointer is swapped; unchanged sockets are untouched, so
 * no query is dropped. Start-up: pid file (flock'ed), control socket (or systemd's), readiness
 * byte on --ready-fd after the first load. SIGTERM/SIGINT: clean exit. With --exit-idle (how
 * the plugin starts it) it also exits once no network file is left, as aardvark-dns does.
 * The loop, signals, socket activation and pid file are pkg/daemon's (daemon/daemon.h). All
 * state is one struct dn_ctx, allocated by dn_daemon_main() and passed down: no globals.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <linux/sockios.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "daemon/daemon.h"
#include "dnsname.h"
#include "wire/dns_wire.h"
#include "dnsport.h"

#define FWD_MAX 1024		/* forwards in flight, shared fairly by the containers (fwd_room) */
#define FWD_TRY_MS 400		/* per upstream attempt */
#define FWD_TCP_MS 2000		/* TCP retry of a truncated reply */
#define FWD_ROUNDS 2		/* passes over the upstream list */
#define UP_MAX 3		/* resolv.conf servers used, as glibc */
#define UP_SOCKS 4		/* persistent UDP sockets per family */
#define CONN_MAX 512		/* TCP connections in total */
#define CONN_PER_LSN 32		/* TCP connections per container */
#define CONN_IDLE_MS 10000
#define CONN_PIPELINE 16	/* forwards in flight per TCP connection */
#define CONN_OUT_SOFT (64u << 10) /* queued answers beyond which no more queries are read */
#define CONN_OUT_MAX (256u << 10)  /* ... and beyond which a client that does not read is cut off */
#define CTL_MAX 32		/* control connections open at once; beyond, the oldest goes */
#define CTL_IDLE_MS 5000	/* for a control client to send its request */
#define VIEW_MAX 64		/* networks per container */
#define LSN_BUCKETS 1024
#define IDTAB 2048		/* query ID -> forward slot, open addressing; >= 2 x FWD_MAX */
/* at most half full: a probe always meets an empty slot, and soon */
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

/* ---- listeners, connections, forwards --------------------------------------------------------- */

struct lsn {
	uint64_t dev, ino;
	int udp, tcp;
	struct dmn_ev uev, tev;
	/* networks this netns sees (indexes into the snapshot): view_in until it is full, then a
	 * block that grows up to VIEW_MAX; a thousand listeners are mostly on one network each */
	uint16_t *view;
	uint16_t n_view, cap_view;
	uint16_t view_in[4];
	unsigned int nconn;
	unsigned int n_fwd; /* forwards in flight for this netns */
	bool keep;
	bool fresh; /* opened by the reload under way (its rewrite is new) */
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
	uint64_t deadline;
	int prev, next; /* deadline list */
	/* TCP retry */
	int tfd;
	struct dmn_ev tev;
	uint8_t *tbuf;
	size_t tlen, toff;
};

struct upstream {
	struct sockaddr_storage sa;
	socklen_t len;
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
	struct ctlc *prev, *next; /* by deadline (= by age), oldest first */
};

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
	struct upstream up[UP_MAX];
	int n_up;
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
};

static void logf_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logf_(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("dnsname: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint16_t rnd16(struct dn_ctx *d)
{
	uint16_t v;

	if (d->rnd_left < 2) {
		if (getrandom(d->rnd, sizeof(d->rnd), 0) != (ssize_t)sizeof(d->rnd)) {
			/* never expected after boot; still no predictable IDs from a fixed seed */
			for (size_t i = 0; i < sizeof(d->rnd); i++)
				d->rnd[i] ^= (uint8_t)(now_ms() * 2654435761u >> (i % 24));
		}
		d->rnd_left = sizeof(d->rnd);
	}
	d->rnd_left -= 2;
	memcpy(&v, d->rnd + d->rnd_left, 2);
	return v;
}

/*
 * Forwards by upstream query ID. IDs are random, so their low bits spread well; 4 KiB instead of a
 * 64 Ki-entry array whose pages random IDs would all touch. Removal shifts the entries after the
 * hole back (no tombstones), so a lookup stops at the first empty slot.
 */
static unsigned int id_home(uint16_t id)
{
	return id & (IDTAB - 1);
}

static int id_find(struct dn_ctx *d, uint16_t id)
{
	for (unsigned int h = id_home(id);; h = (h + 1) & (IDTAB - 1)) {
		unsigned int s = d->idtab[h];

		if (!s)
			return -1;
		if (d->fwd[s - 1].qid == id)
			return (int)s - 1;
	}
}

static void id_insert(struct dn_ctx *d, int i)
{
	unsigned int h = id_home(d->fwd[i].qid);

	while (d->idtab[h])
		h = (h + 1) & (IDTAB - 1);
	d->idtab[h] = (uint16_t)(i + 1);
}

static void id_remove(struct dn_ctx *d, int i)
{
	unsigned int h = id_home(d->fwd[i].qid), j;

	while (d->idtab[h] && d->idtab[h] != i + 1)
		h = (h + 1) & (IDTAB - 1);
	if (!d->idtab[h])
		return;
	for (j = h;;) {
		unsigned int k;

		j = (j + 1) & (IDTAB - 1);
		if (!d->idtab[j])
			break;
		k = id_home(d->fwd[d->idtab[j] - 1].qid);
		/* the entry at j may fill the hole at h unless its home is cyclically in (h, j] */
		if (h <= j ? (k <= h || k > j) : (k <= h && k > j)) {
			d->idtab[h] = d->idtab[j];
			h = j;
		}
	}
	d->idtab[h] = 0;
}

/* ---- snapshot building ------------------------------------------------------------------------ */

static uint32_t hash_str(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h;
}

static uint32_t hash_addr(const struct dn_addr *a)
{
	uint32_t h = 2166136261u;

	for (int i = 0; i < (a->family == AF_INET ? 4 : 16); i++)
		h = (h ^ a->a[i]) * 16777619u;
	return h;
}

static void snet_free(struct snet *n)
{
	free(n->name);
	dn_netfile_free(&n->f);
	free(n->hb);
	free(n->pb);
	free(n->he);
	free(n->pe);
}

static void snap_free(struct snap *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++)
		snet_free(&s->nets[i]);
	free(s->nets);
	free(s);
}

static int snet_index(struct snet *n)
{
	size_t names = 0, addrs = 0;

	for (size_t i = 0; i < n->f.n; i++) {
		names += n->f.recs[i].n_names;
		addrs += n->f.recs[i].n_addrs;
	}
	/* at most one entry per two buckets, each table sized by its own entries */
	for (n->nb = 16; n->nb < 2 * names; n->nb <<= 1)
		;
	for (n->nbp = 16; n->nbp < 2 * addrs; n->nbp <<= 1)
		;
	n->hb = calloc(n->nb, sizeof(uint32_t));
	n->pb = calloc(n->nbp, sizeof(uint32_t));
	n->he = calloc(names + 1, sizeof(*n->he));
	n->pe = calloc(addrs + 1, sizeof(*n->pe));
	if (!n->hb || !n->pb || !n->he || !n->pe)
		return -ENOMEM;
	for (size_t i = 0; i < n->f.n; i++) {
		const struct dn_rec *r = &n->f.recs[i];

		for (size_t k = 0; k < r->n_names; k++) {
			uint32_t b = hash_str(r->names[k]) & (uint32_t)(n->nb - 1);

			n->he[n->nhe] = (struct hent){r->names[k], (uint32_t)i, n->hb[b]};
			n->hb[b] = (uint32_t)++n->nhe;
		}
		/* PTR: the first record that claims an address names it */
		for (size_t k = 0; k < r->n_addrs && r->n_names; k++) {
			uint32_t b = hash_addr(&r->addrs[k]) & (uint32_t)(n->nbp - 1);

			n->pe[n->npe] = (struct pent){&r->addrs[k], (uint32_t)i, 0};
			/* append at the chain's end to keep file order */
			if (!n->pb[b]) {
				n->pb[b] = (uint32_t)++n->npe;
			} else {
				uint32_t j = n->pb[b];

				while (n->pe[j - 1].next)
					j = n->pe[j - 1].next;
				n->pe[j - 1].next = (uint32_t)++n->npe;
			}
		}
	}
	return 0;
}

/* One network file into a new entry of @s; false when @s cannot grow. */
static bool snap_add(struct dn_ctx *d, struct snap *s, size_t *cap, const char *name)
{
	struct snet n = {0};
	int r = dn_netfile_read(d->netsfd, name, &n.f, DN_READ_VERBOSE | DN_READ_SERVE);

	if (r == -EMFILE || r == -ENFILE || r == -ENOMEM) { /* ours, not the file's: keep the old */
		s->err = r;
		return false;
	}
	if (r)
		return true;
	n.name = strdup(name);
	if (!n.name || dns_name_from_text(n.f.domain, &n.zone) || snet_index(&n)) {
		snet_free(&n);
		return true;
	}
	n.dlen = strlen(n.f.domain);
	if (s->n == *cap) {
		void *v = realloc(s->nets, (*cap ? *cap * 2 : 8) * sizeof(*s->nets));

		if (!v) {
			snet_free(&n);
			s->err = -ENOMEM;
			return false;
		}
		s->nets = v;
		*cap = *cap ? *cap * 2 : 8;
	}
	s->nets[s->n++] = n;
	return true;
}

struct snap_fill {
	struct dn_ctx *d;
	struct snap *s;
	size_t cap;
};

static bool snap_fill_one(const char *name, void *arg)
{
	struct snap_fill *sf = arg;

	return sf->s->n < DN_MAX_NETS && snap_add(sf->d, sf->s, &sf->cap, name);
}

static struct snap *snap_load(struct dn_ctx *d)
{
	struct snap *s = calloc(1, sizeof(*s));
	struct snap_fill sf = {d, s, 0};
	int n;

	if (!s)
		return NULL;
	s->serial = ++d->snap_serial;
	n = dn_netfiles_each(d->netsfd, snap_fill_one, &sf);
	if (n < 0)
		s->err = n;
	s->files = n > 0 ? (size_t)n : 0;
	return s;
}

/* ---- listeners --------------------------------------------------------------------------------- */

struct mk {
	const char *path;
	uint64_t dev, ino;
	int udp, tcp, err;
	struct cni_err e; /* the rewrite's failure */
};

static int bind_resolver(int type)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(DN_RESOLVER_PORT)};
	int one = 1, fd;

	fd = socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	inet_pton(AF_INET, DN_RESOLVER_ADDR, &sa.sin_addr);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* 127.0.0.0/8 is local only once lo is up; bind now, serve when it is */
	setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    (type == SOCK_STREAM && listen(fd, 64))) {
		int r = -errno;

		close(fd);
		return r;
	}
	return fd;
}

/* Runs on its own thread: enters the container netns, makes the two sockets, exits there. */
static void *mk_thread(void *arg)
{
	struct mk *m = arg;
	struct stat st;
	int fd;

	m->udp = m->tcp = -1;
	fd = open(m->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		m->err = -errno;
		return NULL;
	}
	if (fstat(fd, &st) || (uint64_t)st.st_dev != m->dev || (uint64_t)st.st_ino != m->ino) {
		m->err = -ESTALE; /* the path now names another netns (or none) */
		close(fd);
		return NULL;
	}
	if (setns(fd, CLONE_NEWNET)) {
		m->err = -errno;
		close(fd);
		return NULL;
	}
	close(fd);
	m->udp = bind_resolver(SOCK_DGRAM);
	if (m->udp < 0) {
		m->err = m->udp;
		return NULL;
	}
	m->tcp = bind_resolver(SOCK_STREAM);
	if (m->tcp < 0)
		m->err = m->tcp;
	else
		m->err = nu_nft_dnsport_add(DN_RESOLVER_ADDR, DN_RESOLVER_PORT, DN_REWRITE_OWNER,
					    &m->e);
	if (m->err) {
		close(m->udp);
		if (m->tcp >= 0)
			close(m->tcp);
		m->udp = m->tcp = -1;
	}
	return NULL;
}

/*
 * The port 53 rewrite of a listener's netns, added again (@add) or deleted, on a thread that
 * enters the netns of the listener's socket (SIOCGSKNS: the socket holds the netns, whatever
 * became of its path).
 */
struct rw {
	int sock;
	bool add;
	int err;
	struct cni_err e;
};

static void *rw_thread(void *arg)
{
	struct rw *w = arg;
	int fd = ioctl(w->sock, SIOCGSKNS);

	if (fd < 0 || setns(fd, CLONE_NEWNET)) {
		w->err = cni_fail(&w->e, -errno, 0, "entering the listener's netns: %m");
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	close(fd);
	w->err = w->add ? nu_nft_dnsport_add(DN_RESOLVER_ADDR, DN_RESOLVER_PORT, DN_REWRITE_OWNER,
					     &w->e)
			: nu_nft_dnsport_del(&w->e);
	return NULL;
}

static int lsn_rewrite(struct dn_ctx *d, const struct lsn *l, bool add)
{
	struct rw w = {.sock = l->udp, .add = add};
	pthread_t t;

	if (pthread_create(&t, NULL, rw_thread, &w))
		return cni_fail(&w.e, -EAGAIN, 0, "cannot start a thread");
	pthread_join(t, NULL);
	if (w.err)
		snprintf(d->last_err, sizeof(d->last_err), "%s", w.e.msg);
	return w.err;
}

static struct lsn **lsn_slot(struct dn_ctx *d, uint64_t dev, uint64_t ino)
{
	struct lsn **p = &d->lsn[(ino ^ dev * 31) % LSN_BUCKETS];

	while (*p && ((*p)->dev != dev || (*p)->ino != ino))
		p = &(*p)->next;
	return p;
}

static struct lsn *lsn_find(struct dn_ctx *d, uint64_t dev, uint64_t ino)
{
	return *lsn_slot(d, dev, ino);
}

static struct lsn *lsn_open(struct dn_ctx *d, const struct dn_rec *r)
{
	struct mk m = {.path = r->netns, .dev = r->ns_dev, .ino = r->ns_ino};
	struct lsn *l;
	pthread_t t;

	if (pthread_create(&t, NULL, mk_thread, &m)) {
		snprintf(d->last_err, sizeof(d->last_err), "cannot start a thread");
		return NULL;
	}
	pthread_join(t, NULL);
	if (m.err) {
		snprintf(d->last_err, sizeof(d->last_err), "listener in %s: %s", r->netns,
			 m.e.msg[0] ? m.e.msg : strerror(-m.err));
		return NULL;
	}
	l = calloc(1, sizeof(*l));
	if (!l) {
		close(m.udp);
		close(m.tcp);
		return NULL;
	}
	l->dev = r->ns_dev;
	l->ino = r->ns_ino;
	l->view = l->view_in;
	l->cap_view = (uint16_t)(sizeof(l->view_in) / sizeof(l->view_in[0]));
	l->udp = m.udp;
	l->tcp = m.tcp;
	l->fresh = true;
	l->uev = (struct dmn_ev){EV_UDP, l};
	l->tev = (struct dmn_ev){EV_TCPL, l};
	dmn_loop_add(&d->loop, l->udp, &l->uev, EPOLLIN);
	dmn_loop_add(&d->loop, l->tcp, &l->tev, EPOLLIN);
	*lsn_slot(d, l->dev, l->ino) = l;
	d->n_lsn++;
	return l;
}

/* Add network @i to the view of @l (once); beyond VIEW_MAX, or out of memory, it stays unseen. */
static void lsn_view_add(struct lsn *l, uint16_t i)
{
	for (size_t v = 0; v < l->n_view; v++)
		if (l->view[v] == i)
			return;
	if (l->n_view == l->cap_view) {
		uint16_t cap = (uint16_t)(l->cap_view * 2), *v;

		if (l->cap_view >= VIEW_MAX)
			return;
		if (cap > VIEW_MAX)
			cap = VIEW_MAX;
		if (l->view == l->view_in)
			v = malloc(cap * sizeof(*v));
		else
			v = realloc(l->view, cap * sizeof(*v));
		if (!v)
			return;
		if (l->view == l->view_in)
			memcpy(v, l->view_in, sizeof(l->view_in));
		l->view = v;
		l->cap_view = cap;
	}
	l->view[l->n_view++] = i;
}

static void conn_close(struct dn_ctx *d, struct conn *c);
static void conn_kick(struct dn_ctx *d, struct conn *c);

static void lsn_close(struct dn_ctx *d, struct lsn *l)
{
	struct conn *c, *nx;

	for (c = d->conn_head; c; c = nx) {
		nx = c->next;
		if (c->l == l)
			conn_close(d, c);
	}
	for (int i = 0; i < FWD_MAX; i++)
		if (d->fwd[i].used && d->fwd[i].l == l)
			d->fwd[i].l = NULL;
	if (l->n_fwd)
		d->fwd_lsns--;
	/* no record names the netns any more (or we exit): its port 53 is its own again */
	if (lsn_rewrite(d, l, false))
		logf_("%s", d->last_err);
	close(l->udp);
	close(l->tcp);
	*lsn_slot(d, l->dev, l->ino) = l->next;
	d->n_lsn--;
	if (l->view != l->view_in)
		free(l->view);
	free(l);
}

/* ---- upstreams --------------------------------------------------------------------------------- */

static bool is_own_addr(struct dn_ctx *d, const struct sockaddr_storage *sa)
{
	struct in_addr own;

	/* Our address only exists where we listen: in the daemon's own netns only if a record
	 * names it (a daemon run inside a container). */
	if (sa->ss_family != AF_INET || !lsn_find(d, d->self_dev, d->self_ino))
		return false;
	inet_pton(AF_INET, DN_RESOLVER_ADDR, &own);
	return ((const struct sockaddr_in *)sa)->sin_addr.s_addr == own.s_addr;
}

static void load_resolv(struct dn_ctx *d)
{
	char line[512];
	FILE *f = fopen(d->resolv_conf, "re");
	int n = 0;

	if (!f) {
		logf_("cannot read %s: %m; forwarding disabled", d->resolv_conf);
		d->n_up = 0;
		return;
	}
	while (fgets(line, sizeof(line), f) && n < UP_MAX) {
		char *save = NULL, *k = strtok_r(line, " \t\r\n", &save);
		char *v = k ? strtok_r(NULL, " \t\r\n", &save) : NULL;
		struct upstream u = {0};
		char *zone;

		if (!k || !v || strcmp(k, "nameserver"))
			continue;
		zone = strchr(v, '%');
		if (zone)
			*zone++ = 0;
		if (inet_pton(AF_INET, v, &((struct sockaddr_in *)&u.sa)->sin_addr) == 1) {
			struct sockaddr_in *s = (struct sockaddr_in *)&u.sa;

			s->sin_family = AF_INET;
			s->sin_port = htons(53);
			u.len = sizeof(*s);
		} else if (inet_pton(AF_INET6, v, &((struct sockaddr_in6 *)&u.sa)->sin6_addr) == 1) {
			struct sockaddr_in6 *s = (struct sockaddr_in6 *)&u.sa;

			s->sin6_family = AF_INET6;
			s->sin6_port = htons(53);
			if (zone) {
				char *end;
				unsigned long id = strtoul(zone, &end, 10);

				s->sin6_scope_id = *end ? 0 : (uint32_t)id;
				if (*end) {
					char path[64];
					FILE *x;

					snprintf(path, sizeof(path), "/sys/class/net/%.16s/ifindex", zone);
					x = fopen(path, "re");
					if (x) {
						if (fscanf(x, "%u", &s->sin6_scope_id) != 1)
							s->sin6_scope_id = 0;
						fclose(x);
					}
				}
			}
			u.len = sizeof(*s);
		} else {
			continue;
		}
		if (is_own_addr(d, &u.sa))
			continue;
		d->up[n++] = u;
	}
	fclose(f);
	d->n_up = n;
}

static bool same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;

		return x->sin_addr.s_addr == y->sin_addr.s_addr && x->sin_port == y->sin_port;
	}
	const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;

	return !memcmp(&x->sin6_addr, &y->sin6_addr, 16) && x->sin6_port == y->sin6_port;
}

static int usock_get(struct dn_ctx *d, int family)
{
	int fi = family == AF_INET6, i = rnd16(d) % UP_SOCKS;

	if (d->usock[fi][i] < 0) {
		int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

		if (fd < 0)
			return -1;
		/* unbound: the kernel picks a random ephemeral port at the first send */
		d->usock[fi][i] = fd;
		d->uev[fi][i] = (struct dmn_ev){EV_UP, NULL};
		dmn_loop_add(&d->loop, fd, &d->uev[fi][i], EPOLLIN);
	}
	return d->usock[fi][i];
}

/* ---- replies ------------------------------------------------------------------------------------ */

struct dest {
	struct lsn *l; /* UDP: reply through l->udp to peer */
	const struct sockaddr_storage *peer;
	socklen_t plen;
	struct conn *conn; /* TCP */
};

static void conn_send(struct dn_ctx *d, struct conn *c, const uint8_t *msg, size_t len);

static void udp_flush(struct dn_ctx *d)
{
	for (unsigned int done = 0; done < d->B.nout;) {
		int n = sendmmsg(d->batch_fd, d->B.out + done, d->B.nout - done,
				 MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n <= 0)
			break; /* a full socket buffer drops the rest, as sendto() would */
		done += (unsigned int)n;
	}
	d->B.nout = 0;
	d->batch_fd = -1;
}

static void send_reply(struct dn_ctx *d, const struct dest *to, const uint8_t *msg, size_t len)
{
	if (to->conn) {
		conn_send(d, to->conn, msg, len);
	} else if (to->l && to->l->udp == d->batch_fd && d->B.nout < UDP_BATCH &&
		   len <= DNS_EDNS_CAP) {
		unsigned int i = d->B.nout++;

		memcpy(d->B.r[i], msg, len);
		d->B.iout[i] = (struct iovec){d->B.r[i], len};
		d->B.out[i].msg_hdr = (struct msghdr){.msg_name = (void *)to->peer,
						      .msg_namelen = to->plen,
						      .msg_iov = &d->B.iout[i],
						      .msg_iovlen = 1};
	} else if (to->l) {
		sendto(to->l->udp, msg, len, MSG_DONTWAIT | MSG_NOSIGNAL,
		       (const struct sockaddr *)to->peer, to->plen);
	}
}

/* Header + question (+ OPT): errors and truncated replies. */
static void send_short(struct dn_ctx *d, const struct dest *to, const struct dns_msg *q,
		       uint16_t flags, unsigned int rcode)
{
	uint8_t out[DNS_NAME_MAX + 64];
	struct dns_writer w;
	int len;

	dns_w_init(&w, out, sizeof(out), q->id,
		   (uint16_t)(DNS_F_QR | (q->flags & (0x7800 | DNS_F_RD | DNS_F_CD)) | flags |
			      DNS_F_RA | (rcode & 0xf)));
	if (q->q_end)
		dns_w_question(&w, &q->qname, q->qtype, q->qclass);
	if (q->edns)
		dns_w_opt(&w, DNS_EDNS_CAP, (uint16_t)rcode, false);
	len = dns_w_finish(&w);
	if (len > 0)
		send_reply(d, to, out, (size_t)len);
}

/* ---- local answers ------------------------------------------------------------------------------ */

struct match {
	const struct snet *net;
	const struct dn_rec *rec;
};

#define MATCH_MAX 256

struct lookup {
	struct match m[MATCH_MAX];
	size_t n;
	const struct snet *zone; /* the network whose domain the name falls under (SOA owner) */
	bool apex;
};

static void find_name(const struct snet *n, const char *name, struct lookup *lk)
{
	uint32_t j = n->hb[hash_str(name) & (uint32_t)(n->nb - 1)];

	for (; j; j = n->he[j - 1].next) {
		const struct hent *h = &n->he[j - 1];

		if (strcmp(h->name, name) || lk->n >= MATCH_MAX)
			continue;
		lk->m[lk->n++] = (struct match){n, &n->f.recs[h->rec]};
	}
}

static void lookup(struct dn_ctx *d, const struct lsn *l, const char *name, size_t len,
		   struct lookup *lk)
{
	lk->n = 0;
	lk->zone = NULL;
	lk->apex = false;
	for (size_t i = 0; i < l->n_view; i++) {
		const struct snet *n = &d->snap->nets[l->view[i]];

		if (len == n->dlen && !memcmp(name, n->f.domain, len)) {
			lk->apex = true;
			if (!lk->zone)
				lk->zone = n;
			continue;
		}
		if (len > n->dlen + 1 && name[len - n->dlen - 1] == '.' &&
		    !memcmp(name + len - n->dlen, n->f.domain, n->dlen)) {
			char label[DNS_TEXT_MAX];

			memcpy(label, name, len - n->dlen - 1);
			label[len - n->dlen - 1] = 0;
			if (!lk->zone)
				lk->zone = n;
			find_name(n, label, lk);
			continue;
		}
		find_name(n, name, lk);
	}
}

/* The canonical name of an address in the requester's view, or false. */
static bool find_ptr(struct dn_ctx *d, const struct lsn *l, int family, const uint8_t *a,
		     struct dns_name *out, const struct snet **net)
{
	struct dn_addr key = {.family = family};

	memcpy(key.a, a, family == AF_INET ? 4 : 16);
	for (size_t i = 0; i < l->n_view; i++) {
		const struct snet *n = &d->snap->nets[l->view[i]];
		uint32_t j = n->pb[hash_addr(&key) & (uint32_t)(n->nbp - 1)];

		for (; j; j = n->pe[j - 1].next) {
			const struct pent *p = &n->pe[j - 1];
			char text[DNS_TEXT_MAX + 64];

			if (p->a->family != family || memcmp(p->a->a, a, family == AF_INET ? 4 : 16))
				continue;
			snprintf(text, sizeof(text), "%s.%s", n->f.recs[p->rec].names[0], n->f.domain);
			if (dns_name_from_text(text, out))
				continue;
			*net = n;
			return true;
		}
	}
	return false;
}

/*
 * Write the local answer for @q into @w, or return 0 when the name is not ours (forward it).
 * Returns 1 when an answer was written.
 */
static int answer_local(struct dn_ctx *d, const struct lsn *l, const struct dns_msg *q,
			struct dns_writer *w, uint8_t *out, size_t cap)
{
	char name[DNS_TEXT_MAX];
	struct lookup lk;
	uint16_t flags = DNS_F_QR | DNS_F_AA | DNS_F_RA | (q->flags & (DNS_F_RD | DNS_F_CD));
	uint32_t ttl = DN_MAX_TTL;
	int len = dns_name_to_lower_text(&q->qname, name);
	unsigned int rcode = DNS_RC_NOERROR;
	bool any = false;

	if (len <= 0 || (q->qclass != DNS_C_IN && q->qclass != DNS_C_ANY))
		return 0;
	if (q->qtype == DNS_T_PTR) {
		uint8_t a[16];
		int fam = dns_arpa_parse(&q->qname, a);
		struct dns_name target;
		const struct snet *n;

		if (fam && find_ptr(d, l, fam, a, &target, &n)) {
			dns_w_init(w, out, cap, q->id, flags);
			dns_w_question(w, &q->qname, q->qtype, q->qclass);
			dns_w_ptr(w, DNS_SEC_AN, DNS_HDR_LEN, n->f.ttl, &target);
			return 1;
		}
	}
	lookup(d, l, name, (size_t)len, &lk);
	if (!lk.n && !lk.apex && !lk.zone)
		return 0;
	if (!lk.n && !lk.apex)
		rcode = DNS_RC_NXDOMAIN;
	dns_w_init(w, out, cap, q->id, (uint16_t)(flags | rcode));
	dns_w_question(w, &q->qname, q->qtype, q->qclass);
	for (size_t i = 0; i < lk.n; i++) {
		const struct dn_rec *r = lk.m[i].rec;

		if (lk.m[i].net->f.ttl < ttl)
			ttl = lk.m[i].net->f.ttl;
		for (size_t k = 0; k < r->n_addrs; k++) {
			const struct dn_addr *a = &r->addrs[k];
			uint16_t t = a->family == AF_INET ? DNS_T_A : DNS_T_AAAA;
			bool dup = false;

			if (q->qtype != t && q->qtype != DNS_T_ANY)
				continue;
			/* the same address through two names or networks: once */
			for (size_t pi = 0; pi <= i && !dup; pi++)
				for (size_t pk = 0; pk < lk.m[pi].rec->n_addrs; pk++) {
					const struct dn_addr *b = &lk.m[pi].rec->addrs[pk];

					if (pi == i && pk == k)
						break;
					if (b->family == a->family && !memcmp(b->a, a->a, 16)) {
						dup = true;
						break;
					}
				}
			if (dup)
				continue;
			dns_w_rr(w, DNS_SEC_AN, NULL, DNS_HDR_LEN, t, DNS_C_IN, ttl, a->a,
				 a->family == AF_INET ? 4 : 16);
			any = true;
		}
	}
	if (lk.apex && q->qtype == DNS_T_SOA && !lk.n) {
		dns_w_soa(w, DNS_SEC_AN, &lk.zone->zone, lk.zone->f.ttl, d->snap->serial);
		any = true;
	}
	if (!any) {
		const struct snet *z = lk.zone ? lk.zone : lk.m[0].net;

		dns_w_soa(w, DNS_SEC_NS, &z->zone, z->f.ttl, d->snap->serial);
	}
	return 1;
}

/* ---- forwarding ----------------------------------------------------------------------------- */

static void fwd_unlink(struct dn_ctx *d, int i)
{
	struct fwd *f = &d->fwd[i];

	if (f->prev >= 0)
		d->fwd[f->prev].next = f->next;
	else if (d->fwd_head == i)
		d->fwd_head = f->next;
	if (f->next >= 0)
		d->fwd[f->next].prev = f->prev;
	else if (d->fwd_tail == i)
		d->fwd_tail = f->prev;
	f->prev = f->next = -1;
}

static void fwd_arm(struct dn_ctx *d, int i, uint64_t deadline)
{
	struct fwd *f = &d->fwd[i];

	fwd_unlink(d, i);
	f->deadline = deadline;
	/* deadlines are mostly increasing: walk back from the tail */
	int p = d->fwd_tail;

	while (p >= 0 && d->fwd[p].deadline > deadline)
		p = d->fwd[p].prev;
	f->prev = p;
	f->next = p >= 0 ? d->fwd[p].next : d->fwd_head;
	if (p >= 0)
		d->fwd[p].next = i;
	else
		d->fwd_head = i;
	if (f->next >= 0)
		d->fwd[f->next].prev = i;
	else
		d->fwd_tail = i;
}

static void fwd_tcp_close(struct dn_ctx *d, struct fwd *f)
{
	if (f->tfd >= 0) {
		dmn_loop_del(&d->loop, f->tfd);
		close(f->tfd);
		f->tfd = -1;
	}
	free(f->tbuf);
	f->tbuf = NULL;
}

static void fwd_free(struct dn_ctx *d, int i)
{
	struct fwd *f = &d->fwd[i];

	fwd_unlink(d, i);
	fwd_tcp_close(d, f);
	id_remove(d, i);
	if (f->conn) {
		f->conn->pending--;
		conn_kick(d, f->conn);
	}
	if (f->l && !--f->l->n_fwd)
		d->fwd_lsns--;
	free(f->q);
	memset(f, 0, sizeof(*f));
	f->prev = f->next = -1;
	f->tfd = -1;
	d->n_fwd--;
}

static struct dest fwd_dest(struct fwd *f)
{
	struct dest dst = {.conn = f->conn, .peer = &f->peer, .plen = f->plen};

	if (!f->tcp_client)
		dst.l = f->l;
	return dst;
}

static void fwd_fail(struct dn_ctx *d, int i)
{
	struct fwd *f = &d->fwd[i];
	struct dest dst = fwd_dest(f);
	struct dns_msg q = {.id = f->cid, .qname = f->qname, .qtype = f->qtype,
			    .qclass = f->qclass, .q_end = 1, .edns = f->client_edns};

	q.flags = (uint16_t)(f->q[2] << 8 | f->q[3]);
	if (dst.conn || dst.l)
		send_short(d, &dst, &q, 0, DNS_RC_SERVFAIL);
	fwd_free(d, i);
}

/* Send to the next upstream (or fail when every try is spent). */
static void fwd_next(struct dn_ctx *d, int i)
{
	struct fwd *f = &d->fwd[i];

	while (f->tries < d->n_up * FWD_ROUNDS) {
		struct upstream *u;
		int fd;

		f->srv = f->tries++ % d->n_up;
		u = &d->up[f->srv];
		fd = usock_get(d, u->sa.ss_family);
		if (fd < 0 || sendto(fd, f->q, f->qlen, MSG_DONTWAIT | MSG_NOSIGNAL,
				     (struct sockaddr *)&u->sa, u->len) < 0)
			continue;
		f->sent_mask |= 1u << f->srv;
		fwd_arm(d, i, now_ms() + FWD_TRY_MS);
		return;
	}
	fwd_fail(d, i);
}

/*
 * A slot for a forward of @l when every slot is taken. A container holding less than an even
 * share of the table (FWD_MAX / containers with forwards in flight, itself counted) takes the
 * slot of the oldest forward of one that holds more than it would then hold, whose client gets
 * SERVFAIL: a container that floods its resolver with names that never resolve holds every free
 * slot, but another one's lookups still get theirs. Returns false when @l is not below its share.
 */
static bool fwd_room(struct dn_ctx *d, const struct lsn *l)
{
	unsigned int mine = l->n_fwd, holders = d->fwd_lsns + (mine == 0);

	if (mine >= FWD_MAX / holders)
		return false;
	for (int i = d->fwd_head; i >= 0; i = d->fwd[i].next) {
		const struct lsn *o = d->fwd[i].l;

		if (!o || o->n_fwd > mine + 1) {
			fwd_fail(d, i);
			return true;
		}
	}
	return false;
}

static void forward(struct dn_ctx *d, const struct dest *to, const uint8_t *msg, size_t len,
		    const struct dns_msg *q)
{
	struct lsn *l = to->conn ? to->conn->l : to->l;
	struct fwd *f;
	int i;

	if (!d->n_up)
		return send_short(d, to, q, 0, DNS_RC_SERVFAIL);
	if ((d->n_fwd >= FWD_MAX && !fwd_room(d, l)) ||
	    (to->conn && to->conn->pending >= CONN_PIPELINE * 4))
		return send_short(d, to, q, 0, DNS_RC_REFUSED);
	for (i = 0; i < FWD_MAX && d->fwd[i].used; i++)
		;
	if (i == FWD_MAX)
		return send_short(d, to, q, 0, DNS_RC_REFUSED);
	f = &d->fwd[i];
	f->q = malloc(len);
	if (!f->q)
		return send_short(d, to, q, 0, DNS_RC_SERVFAIL);
	f->used = true;
	d->n_fwd++;
	memcpy(f->q, msg, len);
	f->qlen = len;
	do
		f->qid = rnd16(d);
	while (id_find(d, f->qid) >= 0);
	id_insert(d, i);
	f->q[0] = (uint8_t)(f->qid >> 8);
	f->q[1] = (uint8_t)f->qid;
	f->cid = q->id;
	f->qname = q->qname;
	f->qtype = q->qtype;
	f->qclass = q->qclass;
	f->client_edns = q->edns;
	f->limit = dns_udp_limit(q);
	f->tcp_client = to->conn != NULL;
	f->conn = to->conn;
	if (f->conn)
		f->conn->pending++;
	f->l = l;
	if (!l->n_fwd++)
		d->fwd_lsns++;
	if (to->peer) {
		memcpy(&f->peer, to->peer, to->plen);
		f->plen = to->plen;
	}
	f->tfd = -1;
	f->prev = f->next = -1;
	fwd_next(d, i);
}

/* Relay an upstream reply to the requester: its ID restored, truncated to its size. */
static void fwd_deliver(struct dn_ctx *d, int i, uint8_t *msg, size_t len)
{
	struct fwd *f = &d->fwd[i];
	struct dest dst = fwd_dest(f);

	msg[0] = (uint8_t)(f->cid >> 8);
	msg[1] = (uint8_t)f->cid;
	if (!dst.conn && dst.l && len > f->limit) {
		struct dns_msg q = {.id = f->cid, .qname = f->qname, .qtype = f->qtype,
				    .qclass = f->qclass, .q_end = 1, .edns = f->client_edns};

		q.flags = (uint16_t)(msg[2] << 8 | msg[3]);
		send_short(d, &dst, &q, DNS_F_TC, DNS_RCODE(msg[3]));
	} else if (dst.conn || dst.l) {
		send_reply(d, &dst, msg, len);
	}
	fwd_free(d, i);
}

static void fwd_tcp_start(struct dn_ctx *d, int i)
{
	struct fwd *f = &d->fwd[i];
	struct upstream *u = &d->up[f->srv];

	f->tfd = socket(u->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	f->tbuf = malloc(2 + 65535);
	if (f->tfd < 0 || !f->tbuf ||
	    (connect(f->tfd, (struct sockaddr *)&u->sa, u->len) && errno != EINPROGRESS)) {
		fwd_tcp_close(d, f);
		return fwd_next(d, i);
	}
	f->tcp_up = true;
	f->tbuf[0] = (uint8_t)(f->qlen >> 8);
	f->tbuf[1] = (uint8_t)f->qlen;
	memcpy(f->tbuf + 2, f->q, f->qlen);
	f->tlen = f->qlen + 2;
	f->toff = 0;
	f->treading = false;
	f->tev = (struct dmn_ev){EV_UPTCP, (void *)(intptr_t)i};
	dmn_loop_add(&d->loop, f->tfd, &f->tev, EPOLLOUT);
	fwd_arm(d, i, now_ms() + FWD_TCP_MS);
}

/* A reply we can accept: matching ID, sent by a server we asked, echoing our question. */
static int fwd_match(struct dn_ctx *d, const uint8_t *msg, size_t len,
		     const struct sockaddr_storage *from, struct dns_msg *m)
{
	int i;

	if (dns_msg_parse(msg, len, false, m) || !(m->flags & DNS_F_QR))
		return -1;
	i = id_find(d, m->id);
	if (i < 0 || !d->fwd[i].used || d->fwd[i].tcp_up)
		return -1;
	if (from) {
		bool ok = false;

		for (int s = 0; s < d->n_up; s++)
			ok |= (d->fwd[i].sent_mask & (1u << s)) && same_addr(from, &d->up[s].sa);
		if (!ok)
			return -1;
	}
	if (!m->q_end || m->qtype != d->fwd[i].qtype || m->qclass != d->fwd[i].qclass ||
	    !dns_name_eq(&m->qname, &d->fwd[i].qname))
		return -1;
	return i;
}

static void on_upstream_udp(struct dn_ctx *d, int fd)
{
	for (int budget = 0; budget < 64; budget++) {
		struct sockaddr_storage from;
		socklen_t fl = sizeof(from);
		ssize_t n =
		    recvfrom(fd, d->buf, 65535, MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
		struct dns_msg m;
		int i;

		if (n < 0)
			return;
		i = fwd_match(d, d->buf, (size_t)n, &from, &m);
		if (i < 0)
			continue;
		if (m.flags & DNS_F_TC) {
			/* the server has more: ask it again over TCP ourselves */
			for (int s = 0; s < d->n_up; s++)
				if (same_addr(&from, &d->up[s].sa))
					d->fwd[i].srv = s;
			fwd_tcp_start(d, i);
			continue;
		}
		if ((DNS_RCODE(m.flags) == DNS_RC_SERVFAIL ||
		     DNS_RCODE(m.flags) == DNS_RC_REFUSED) &&
		    d->fwd[i].tries < d->n_up) {
			fwd_next(d, i);
			continue;
		}
		fwd_deliver(d, i, d->buf, (size_t)n);
	}
}

static void fwd_tcp_fail(struct dn_ctx *d, int i)
{
	fwd_tcp_close(d, &d->fwd[i]);
	d->fwd[i].tcp_up = false;
	fwd_next(d, i);
}

static void on_upstream_tcp(struct dn_ctx *d, int i, uint32_t events)
{
	struct fwd *f = &d->fwd[i];
	size_t want;
	ssize_t n;

	if (!f->used || f->tfd < 0)
		return; /* closed earlier in this batch */
	if (!f->treading) {
		if (events & (EPOLLERR | EPOLLHUP))
			return fwd_tcp_fail(d, i);
		n = send(f->tfd, f->tbuf + f->toff, f->tlen - f->toff, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno != EAGAIN)
			return fwd_tcp_fail(d, i);
		if (n > 0)
			f->toff += (size_t)n;
		if (f->toff == f->tlen) {
			f->treading = true;
			f->toff = 0;
			dmn_loop_mod(&d->loop, f->tfd, &f->tev, EPOLLIN);
		}
		return;
	}
	n = recv(f->tfd, f->tbuf + f->toff, 2 + 65535 - f->toff, MSG_DONTWAIT);
	if (n < 0 && errno == EAGAIN)
		return;
	if (n <= 0)
		return fwd_tcp_fail(d, i);
	f->toff += (size_t)n;
	if (f->toff < 2)
		return;
	want = (size_t)(f->tbuf[0] << 8 | f->tbuf[1]);
	if (f->toff < want + 2)
		return;
	{
		struct dns_msg m;

		f->tcp_up = false;
		if (fwd_match(d, f->tbuf + 2, want, NULL, &m) != i)
			return fwd_tcp_fail(d, i);
		memcpy(d->buf, f->tbuf + 2, want);
		fwd_deliver(d, i, d->buf, want);
	}
}

static void fwd_timeouts(struct dn_ctx *d, uint64_t now)
{
	while (d->fwd_head >= 0 && d->fwd[d->fwd_head].deadline <= now) {
		int i = d->fwd_head;

		if (d->fwd[i].tcp_up) {
			fwd_tcp_close(d, &d->fwd[i]);
			d->fwd[i].tcp_up = false;
		}
		fwd_next(d, i);
	}
}

/* ---- queries --------------------------------------------------------------------------------- */

static void handle_query(struct dn_ctx *d, struct lsn *l, const struct dest *to, const uint8_t *msg,
			 size_t len)
{
	uint8_t out[65535];
	struct dns_writer w;
	struct dns_msg q;
	size_t cap;
	int n;

	if (dns_msg_parse(msg, len, true, &q) || (q.flags & DNS_F_QR))
		return; /* not even a header, or a reply: silence */
	if (q.rcode) {
		if (q.rcode == DNS_RC_FORMERR)
			q.edns = false; /* the OPT itself may be what is broken */
		return send_short(d, to, &q, 0, q.rcode);
	}
	cap = to->conn ? sizeof(out) : dns_udp_limit(&q);
	if (!answer_local(d, l, &q, &w, out, cap))
		return forward(d, to, msg, len, &q);
	if (q.edns)
		dns_w_opt(&w, DNS_EDNS_CAP, 0, false);
	n = dns_w_finish(&w);
	if (n < 0) /* too large for the requester: TC, it retries over TCP */
		return send_short(d, to, &q, DNS_F_TC | DNS_F_AA, DNS_RCODE(w.buf[3]));
	send_reply(d, to, out, (size_t)n);
}

static void on_udp(struct dn_ctx *d, struct lsn *l)
{
	/* at most 64 queries per wakeup, so that one busy listener cannot starve the others */
	for (int round = 0; round < 64 / UDP_BATCH; round++) {
		int n;

		for (int i = 0; i < UDP_BATCH; i++) {
			d->B.iin[i] = (struct iovec){d->B.q[i], sizeof(d->B.q[i])};
			d->B.in[i].msg_hdr = (struct msghdr){.msg_name = &d->B.peer[i],
							     .msg_namelen = sizeof(d->B.peer[i]),
							     .msg_iov = &d->B.iin[i],
							     .msg_iovlen = 1};
		}
		n = recvmmsg(l->udp, d->B.in, UDP_BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			return;
		d->batch_fd = l->udp;
		for (int i = 0; i < n; i++) {
			struct dest to = {
			    .l = l, .peer = &d->B.peer[i], .plen = d->B.in[i].msg_hdr.msg_namelen};

			if (!(d->B.in[i].msg_hdr.msg_flags & MSG_TRUNC))
				handle_query(d, l, &to, d->B.q[i], d->B.in[i].msg_len);
		}
		udp_flush(d);
		if (n < UDP_BATCH)
			return;
	}
}

/* ---- TCP clients ---------------------------------------------------------------------------- */

/*
 * A connection reads queries while it has fewer than CONN_PIPELINE forwards in flight and less
 * than CONN_OUT_SOFT of answers queued; past either it is "blocked": queries already read wait in
 * its input buffer and the socket is not polled for input. What unblocks it (a forward's end, the
 * output drained) parses that buffer again: the socket may hold nothing new, so waiting for EPOLLIN
 * would leave those queries unanswered until the client sent more. A forward ends deep inside
 * the loop, so it only marks its connection (conn_kick) and conn_kicked(d) resumes it after the
 * batch of events.
 */
static void conn_touch(struct dn_ctx *d, struct conn *c)
{
	c->last = now_ms();
	if (d->conn_tail == c)
		return;
	/* unlink */
	if (c->prev)
		c->prev->next = c->next;
	else
		d->conn_head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	/* append */
	c->prev = d->conn_tail;
	c->next = NULL;
	if (d->conn_tail)
		d->conn_tail->next = c;
	else
		d->conn_head = c;
	d->conn_tail = c;
}

static void conn_kick(struct dn_ctx *d, struct conn *c)
{
	if (!c->kick) {
		c->kick = true;
		d->n_kick++;
	}
}

static bool conn_blocked(const struct conn *c)
{
	return c->dead || c->pending >= CONN_PIPELINE || c->out_len - c->out_off >= CONN_OUT_SOFT;
}

/* Nothing more to read, to answer or to send. */
static bool conn_done(const struct conn *c)
{
	return c->dead || (c->eof && !c->pending && !c->out_len && !c->in_len);
}

static void conn_close(struct dn_ctx *d, struct conn *c)
{
	for (int i = 0; i < FWD_MAX && c->pending; i++)
		if (d->fwd[i].used && d->fwd[i].conn == c) {
			d->fwd[i].conn = NULL;
			c->pending--;
		}
	if (c->kick)
		d->n_kick--;
	if (c->prev)
		c->prev->next = c->next;
	else
		d->conn_head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		d->conn_tail = c->prev;
	close(c->fd);
	c->l->nconn--;
	d->n_conn--;
	free(c->in);
	free(c->out);
	free(c);
}

static void conn_arm(struct dn_ctx *d, struct conn *c)
{
	dmn_loop_mod(&d->loop, c->fd, &c->ev,
		     (conn_blocked(c) || c->eof ? 0 : EPOLLIN) | (c->out_len ? EPOLLOUT : 0));
}

static void conn_flush(struct dn_ctx *d, struct conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n <= 0)
			break;
		c->out_off += (size_t)n;
	}
	if (c->out_off == c->out_len)
		c->out_off = c->out_len = 0;
	conn_arm(d, c);
}

static void conn_send(struct dn_ctx *d, struct conn *c, const uint8_t *msg, size_t len)
{
	uint8_t *o;

	if (c->dead)
		return;
	if (c->out_off) { /* what was sent makes room */
		memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
		c->out_len -= c->out_off;
		c->out_off = 0;
	}
	if (c->out_len + len + 2 > CONN_OUT_MAX) { /* a client that does not read: cut it off */
		c->dead = true;
		conn_kick(d, c); /* closed after this batch: callers up the stack still use it */
		return;
	}
	o = realloc(c->out, c->out_len + len + 2);
	if (!o)
		return;
	c->out = o;
	o[c->out_len] = (uint8_t)(len >> 8);
	o[c->out_len + 1] = (uint8_t)len;
	memcpy(o + c->out_len + 2, msg, len);
	c->out_len += len + 2;
	conn_flush(d, c);
}

/* Answer the complete queries of the input buffer, as far as the connection is not blocked.
 * Returns false when the connection was closed. */
static bool conn_parse(struct dn_ctx *d, struct conn *c)
{
	size_t off = 0;

	while (!conn_blocked(c) && c->in_len - off >= 2) {
		size_t mlen = (size_t)(c->in[off] << 8 | c->in[off + 1]);
		struct dest to = {.conn = c};

		if (mlen < DNS_HDR_LEN) {
			conn_close(d, c);
			return false;
		}
		if (c->in_len - off < mlen + 2)
			break;
		handle_query(d, c->l, &to, c->in + off + 2, mlen);
		off += mlen + 2;
	}
	if (off) {
		memmove(c->in, c->in + off, c->in_len - off);
		c->in_len -= off;
	}
	if (c->eof && !conn_blocked(c))
		c->in_len = 0; /* a partial message at EOF: dropped, never retried */
	conn_arm(d, c);
	return true;
}

/* Returns false when the connection was closed. */
static bool conn_read(struct dn_ctx *d, struct conn *c)
{
	ssize_t n;

	if (c->eof || conn_blocked(c))
		return conn_parse(d, c);
	/* not blocked: what is buffered is less than one message, so at least a byte fits */
	if (c->in_cap - c->in_len < 4096 && c->in_cap < 2 + 65535) {
		size_t cap = c->in_cap ? c->in_cap * 2 : 1024;
		uint8_t *v;

		if (cap > 2 + 65535)
			cap = 2 + 65535;
		v = realloc(c->in, cap);
		if (!v) {
			conn_close(d, c);
			return false;
		}
		c->in = v;
		c->in_cap = cap;
	}
	n = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return true;
	if (n < 0) { /* reset: nobody left to answer */
		conn_close(d, c);
		return false;
	}
	if (n == 0)
		c->eof = true; /* the queries read so far are still answered */
	c->in_len += (size_t)n;
	conn_touch(d, c);
	return conn_parse(d, c);
}

static void on_tcp_accept(struct dn_ctx *d, struct lsn *l)
{
	for (int budget = 0; budget < 16; budget++) {
		int fd = accept4(l->tcp, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct conn *c;

		if (fd < 0 && (errno == EMFILE || errno == ENFILE) &&
		    dmn_accept_shed(l->tcp, &d->spare))
			continue;
		if (fd < 0)
			return;
		if (d->n_conn >= CONN_MAX && d->conn_head && !d->conn_head->pending)
			conn_close(d, d->conn_head); /* the longest idle one makes room */
		if (d->n_conn >= CONN_MAX || l->nconn >= CONN_PER_LSN ||
		    !(c = calloc(1, sizeof(*c)))) {
			close(fd);
			continue;
		}
		c->fd = fd;
		c->l = l;
		c->ev = (struct dmn_ev){EV_CONN, c};
		l->nconn++;
		d->n_conn++;
		c->prev = d->conn_tail;
		if (d->conn_tail)
			d->conn_tail->next = c;
		else
			d->conn_head = c;
		d->conn_tail = c;
		c->last = now_ms();
		dmn_loop_add(&d->loop, fd, &c->ev, EPOLLIN);
	}
}

static void on_conn(struct dn_ctx *d, struct conn *c, uint32_t events)
{
	if (events & (EPOLLHUP | EPOLLERR)) /* reset, or shut down both ways: no one to answer */
		return conn_close(d, c);
	if (events & EPOLLOUT)
		conn_flush(d, c);
	/* input, or output drained below CONN_OUT_SOFT: the queries held back go on */
	if (!((events & EPOLLIN) ? conn_read(d, c) : conn_parse(d, c)))
		return;
	if (conn_done(c))
		conn_close(d, c);
}

/* Resume the connections whose forwards ended (or that were cut off) in this turn of the loop. */
static void conn_kicked(struct dn_ctx *d)
{
	struct conn *c, *nx;

	for (c = d->conn_head; c && d->n_kick; c = nx) {
		nx = c->next; /* resuming c closes at most c */
		if (!c->kick)
			continue;
		c->kick = false;
		d->n_kick--;
		if (!conn_done(c) && !conn_parse(d, c))
			continue;
		if (conn_done(c))
			conn_close(d, c);
	}
}

static void conn_timeouts(struct dn_ctx *d, uint64_t now)
{
	struct conn *c, *nx;

	for (c = d->conn_head; c && c->last + CONN_IDLE_MS <= now; c = nx) {
		nx = c->next;
		if (c->pending)
			conn_touch(d, c); /* waiting for us, not idle: looked at again later */
		else
			conn_close(d, c);
	}
}

/* ---- reload ----------------------------------------------------------------------------------- */

static void reload(struct dn_ctx *d)
{
	struct snap *s = snap_load(d), *old;

	if (!s) {
		logf_("reload: out of memory, keeping the old records");
		return;
	}
	if (s->err && d->snap) { /* fds or memory ran out: closing every listener would be worse */
		snprintf(d->last_err, sizeof(d->last_err), "reading the network files: %s",
			 strerror(-s->err));
		logf_("reload: %s, keeping the old records", d->last_err);
		snap_free(s);
		return;
	}
	d->last_err[0] = 0;
	for (size_t b = 0; b < LSN_BUCKETS; b++)
		for (struct lsn *l = d->lsn[b]; l; l = l->next) {
			l->keep = false;
			l->fresh = false;
			l->n_view = 0;
		}
	for (size_t i = 0; i < s->n; i++) {
		for (size_t k = 0; k < s->nets[i].f.n; k++) {
			const struct dn_rec *r = &s->nets[i].f.recs[k];
			struct lsn *l = lsn_find(d, r->ns_dev, r->ns_ino);

			if (!l) {
				l = lsn_open(d, r);
				if (!l)
					continue;
			}
			l->keep = true;
			lsn_view_add(l, (uint16_t)i);
		}
	}
	for (size_t b = 0; b < LSN_BUCKETS; b++) {
		struct lsn *l = d->lsn[b], *nx;

		for (; l; l = nx) {
			nx = l->next;
			if (!l->keep)
				lsn_close(d, l);
		}
	}
	old = d->snap;
	d->snap = s;
	snap_free(old);
	d->idle_check = d->exit_idle && !s->files;
	malloc_trim(0); /* the old snapshot's pages back to the kernel, not kept as free heap */
}

/* ---- exit when idle ------------------------------------------------------------------------- */

/*
 * With --exit-idle (the plugin starts the daemon so), the last network file gone means nothing
 * to serve: exit. Plugins start a daemon only under start.lock, so the decision is taken under
 * it too (not waited for: a plugin holding it is about to talk to us, and we try again in a
 * second) after a last look at the directory; the control socket goes first, so that a plugin
 * that comes now fails fast and starts a new daemon once we are gone (its sync retries once).
 */
static void idle_exit(struct dn_ctx *d)
{
	char path[PATH_MAX + 32];
	int fd;

	snprintf(path, sizeof(path), "%s/start.lock", d->run_dir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB)) {
		if (fd >= 0)
			close(fd);
		return; /* d->idle_check stays: again at the next turn of the loop */
	}
	d->idle_check = false;
	if (dn_netfiles_any(d->netsfd) != 0) { /* a file, or an unreadable directory: stay */
		close(fd); /* a file came: inotify brings the reload */
		return;
	}
	logf_("no network left: exiting");
	dmn_loop_del(&d->loop, d->ctl);
	close(d->ctl);
	d->ctl = -1;
	snprintf(path, sizeof(path), "%s/dnsname.sock", d->run_dir);
	unlink(path);
	d->idle_lock = fd;
	d->quit = true;
}

/* ---- control ---------------------------------------------------------------------------------- */

/*
 * Control clients are served from the loop like any other: accepted non-blocking, answered when
 * their request comes, closed after CTL_IDLE_MS without one (a blocking read of a silent client
 * once stalled every container's lookups for a second per connection).
 */
static void ctlc_close(struct dn_ctx *d, struct ctlc *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		d->ctl_head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		d->ctl_tail = c->prev;
	close(c->fd);
	d->n_ctlc--;
	free(c);
}

static void on_ctl(struct dn_ctx *d)
{
	for (int budget = 0; budget < 16; budget++) {
		int fd = accept4(d->ctl, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct ctlc *c;

		if (fd < 0 && (errno == EMFILE || errno == ENFILE)) {
			/* plugins first: an idle DNS client gives its descriptor up, or it is shed */
			if (d->conn_head && !d->conn_head->pending) {
				conn_close(d, d->conn_head);
				continue;
			}
			if (dmn_accept_shed(d->ctl, &d->spare))
				continue;
		}
		if (fd < 0)
			return;
		if (d->n_ctlc >= CTL_MAX)
			ctlc_close(d, d->ctl_head);
		c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		c->fd = fd;
		c->ev = (struct dmn_ev){EV_CTLC, c};
		c->deadline = now_ms() + CTL_IDLE_MS;
		c->prev = d->ctl_tail;
		if (d->ctl_tail)
			d->ctl_tail->next = c;
		else
			d->ctl_head = c;
		d->ctl_tail = c;
		d->n_ctlc++;
		dmn_loop_add(&d->loop, fd, &c->ev, EPOLLIN);
	}
}

static void on_ctlc(struct dn_ctx *d, struct ctlc *c)
{
	char req[128], reply[320];
	ssize_t n = recv(c->fd, req, sizeof(req) - 1, MSG_DONTWAIT);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0)
		return ctlc_close(d, c);
	req[n] = 0;
	if (!strcmp(req, "ping")) {
		snprintf(reply, sizeof(reply), "ok %zu listeners port %u", d->n_lsn,
			 DN_RESOLVER_PORT);
	} else if (!strncmp(req, "sync", 4)) {
		unsigned long long dev, ino;
		bool one = sscanf(req, "sync %llu %llu", &dev, &ino) == 2;
		struct lsn *l;

		reload(d);
		l = one ? lsn_find(d, dev, ino) : NULL;
		if (one && !l)
			snprintf(reply, sizeof(reply), "err no listener in the container netns: %s",
				 d->last_err[0] ? d->last_err : "no record names it");
		else if (l && !l->fresh && lsn_rewrite(d, l, true)) /* an ADD again restores it */
			snprintf(reply, sizeof(reply), "err %s", d->last_err);
		else
			snprintf(reply, sizeof(reply), "ok port %u", DN_RESOLVER_PORT);
	} else {
		snprintf(reply, sizeof(reply), "err unknown request");
	}
	send(c->fd, reply, strlen(reply), MSG_NOSIGNAL | MSG_DONTWAIT);
	ctlc_close(d, c);
}

static void ctl_timeouts(struct dn_ctx *d, uint64_t now)
{
	while (d->ctl_head && d->ctl_head->deadline <= now)
		ctlc_close(d, d->ctl_head);
}

static void on_inotify(struct dn_ctx *d)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool nets = false, resolv = false;
	ssize_t n;

	while ((n = read(d->ino, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n;) {
			struct inotify_event *ie = (struct inotify_event *)p;

			if (ie->wd == d->wd_nets && ie->len && ie->name[0] != '.')
				nets = true;
			if (ie->wd == d->wd_resolv && ie->len && !strcmp(ie->name, d->resolv_base))
				resolv = true;
			p += sizeof(*ie) + ie->len;
		}
	}
	if (nets)
		reload(d);
	if (resolv)
		load_resolv(d);
}

static void on_signal(struct dn_ctx *d)
{
	int sig;

	while ((sig = dmn_signal_next(d->sig))) {
		if (sig == SIGHUP) {
			reload(d);
			load_resolv(d);
		} else {
			d->quit = true;
		}
	}
}

/* ---- start-up and the loop ------------------------------------------------------------------ */

static int ctl_open(struct dn_ctx *d)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	const char *lfds = dmn_listen_fds();
	int fd;

	if (lfds && atoi(lfds) >= 1) {
		d->activated = true;
		return dmn_listen_take(1); /* systemd socket activation (cni-dnsname.socket) */
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/dnsname.sock", d->run_dir);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	unlink(sa.sun_path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || chmod(sa.sun_path, 0600) ||
	    listen(fd, 64)) {
		int r = -errno;

		close(fd);
		return r;
	}
	return fd;
}

static int usage(void)
{
	fprintf(stderr, "usage: dnsname daemon [--run-dir DIR] [--resolv-conf FILE] "
			"[--ready-fd FD] [--exit-idle]\n");
	return 2;
}

/*
 * One event of the loop. A reload or a closed connection may free what later events of the batch
 * point at (the event itself included): true after those, the batch ends there; they are
 * level-triggered and come back at the next wait.
 */
static bool on_event(void *arg, struct dmn_ev *ev, uint32_t events)
{
	struct dn_ctx *d = arg;
	enum ev_type type = (enum ev_type)ev->kind;

	switch (type) {
	case EV_CTL:
		on_ctl(d);
		break;
	case EV_CTLC:
		on_ctlc(d, ev->owner);
		break;
	case EV_SIG:
		on_signal(d);
		break;
	case EV_INO:
		on_inotify(d);
		break;
	case EV_UDP:
		on_udp(d, ev->owner);
		break;
	case EV_TCPL:
		on_tcp_accept(d, ev->owner);
		break;
	case EV_CONN:
		on_conn(d, ev->owner, events);
		break;
	case EV_UP:
		for (int f = 0; f < 2; f++)
			for (int k = 0; k < UP_SOCKS; k++)
				if (ev == &d->uev[f][k])
					on_upstream_udp(d, d->usock[f][k]);
		break;
	case EV_UPTCP:
		on_upstream_tcp(d, (int)(intptr_t)ev->owner, events);
		break;
	}
	return type == EV_CTL || type == EV_CTLC || type == EV_SIG || type == EV_INO ||
	       type == EV_CONN || type == EV_TCPL;
}

int dn_daemon_main(int argc, char **argv)
{
	char path[PATH_MAX + 32];
	static const int sigs[] = {SIGTERM, SIGINT, SIGHUP};
	int ready = -1, pidfd, keep = 2, r;
	struct stat st;
	/* zero pages until used (the forward table and the UDP batch are most of it) */
	struct dn_ctx *d = calloc(1, sizeof(*d));

	if (!d)
		return 1;
	d->run_dir = DN_RUN_DIR;
	d->batch_fd = -1;
	d->idle_lock = -1;
	d->spare = -1;
	d->loop.ep = -1;
	d->resolv_conf = "/etc/resolv.conf";
	for (int i = 1; i < argc; i++) {
		if (i + 1 < argc && !strcmp(argv[i], "--run-dir"))
			d->run_dir = argv[++i];
		else if (i + 1 < argc && !strcmp(argv[i], "--resolv-conf"))
			d->resolv_conf = argv[++i];
		else if (i + 1 < argc && !strcmp(argv[i], "--ready-fd"))
			ready = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--exit-idle"))
			d->exit_idle = true;
		else
			return usage();
	}
	if (getenv("LISTEN_FDS"))
		keep = 2 + atoi(getenv("LISTEN_FDS"));
	if (ready > keep)
		keep = ready;
	/* Nothing inherited survives but stdio, the readiness pipe and systemd's sockets. */
	for (int fd = keep + 1; fd < 1024; fd++)
		close(fd);
	if (ready >= 0)
		fcntl(ready, F_SETFD, FD_CLOEXEC);
	{
		/* two sockets per container: the soft limit (often 1024) would cap us near 500 */
		struct rlimit rl;

		if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
			rl.rlim_cur = rl.rlim_max;
			setrlimit(RLIMIT_NOFILE, &rl);
		}
	}
	d->spare = dmn_spare_open();
	/*
	 * A fixed mmap threshold: glibc's dynamic one rises to the largest block ever freed, after
	 * which every reload's file buffer and tables come from the heap and fragment it (measured
	 * with 1000 containers and 20 reloads: peak RSS 3.5 -> 3.2 MB, settled 3.5 -> 2.7 MB).
	 */
	mallopt(M_MMAP_THRESHOLD, 64 << 10);
	/* before any thread: they inherit the mask */
	d->sig = dmn_signals(sigs, sizeof(sigs) / sizeof(sigs[0]));

	snprintf(path, sizeof(path), "%s/networks", d->run_dir);
	/* root's only, as the plugin makes them (networks/ of an older version tightened) */
	mkdir(d->run_dir, 0700);
	mkdir(path, 0700);
	d->netsfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d->netsfd >= 0 && !fstat(d->netsfd, &st) && (st.st_mode & 077))
		fchmod(d->netsfd, st.st_mode & 07700);
	snprintf(path, sizeof(path), "%s/dnsname.pid", d->run_dir);
	pidfd = dmn_pidfile_lock(path);
	if (d->netsfd < 0 || (pidfd < 0 && pidfd != -EWOULDBLOCK)) {
		if (d->netsfd >= 0)
			errno = -pidfd;
		logf_("cannot open %s: %m", d->run_dir);
		return 1;
	}
	if (pidfd < 0) {
		logf_("another daemon holds %s", path);
		return 1;
	}
	r = dmn_pidfile_put(pidfd);
	if (r) {
		errno = -r;
		logf_("cannot write %s: %m", path);
	}
	if (!stat("/proc/self/ns/net", &st)) {
		d->self_dev = st.st_dev;
		d->self_ino = st.st_ino;
	}
	/*
	 * Untouched zero pages until used (half a megabyte of forward slots): an unused slot is all
	 * zeros, and forward(d) sets the fields whose "none" is -1.
	 */
	d->fwd = calloc(FWD_MAX, sizeof(*d->fwd));
	if (!d->fwd)
		return 1;
	d->fwd_head = d->fwd_tail = -1;
	for (int f = 0; f < 2; f++)
		for (int i = 0; i < UP_SOCKS; i++)
			d->usock[f][i] = -1;
	r = dmn_loop_open(&d->loop);
	d->ino = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	d->ctl = ctl_open(d);
	if (r < 0 || d->sig < 0 || d->ino < 0 || d->ctl < 0) {
		if (d->ctl < 0 || d->sig < 0 || r < 0)
			errno = d->ctl < 0 ? -d->ctl : d->sig < 0 ? -d->sig : -r;
		logf_("start-up failed: %m");
		return 1;
	}
	if (d->activated)
		d->exit_idle = false; /* its socket is systemd's: not ours to unlink */
	snprintf(path, sizeof(path), "%s/networks", d->run_dir);
	d->wd_nets = inotify_add_watch(d->ino, path,
				       IN_MOVED_TO | IN_CLOSE_WRITE | IN_DELETE | IN_MOVED_FROM);
	{
		char dir[PATH_MAX];
		char *slash;

		snprintf(dir, sizeof(dir), "%s", d->resolv_conf);
		slash = strrchr(dir, '/');
		snprintf(d->resolv_base, sizeof(d->resolv_base), "%s", slash ? slash + 1 : dir);
		if (slash)
			*slash = 0;
		/* the directory: resolv.conf is usually replaced by rename, not rewritten */
		d->wd_resolv = inotify_add_watch(d->ino, slash && *dir ? dir : "/",
						 IN_MOVED_TO | IN_CLOSE_WRITE | IN_CREATE);
	}
	d->ctl_ev = (struct dmn_ev){EV_CTL, NULL};
	d->sig_ev = (struct dmn_ev){EV_SIG, NULL};
	d->ino_ev = (struct dmn_ev){EV_INO, NULL};
	dmn_loop_add(&d->loop, d->ctl, &d->ctl_ev, EPOLLIN);
	dmn_loop_add(&d->loop, d->sig, &d->sig_ev, EPOLLIN);
	dmn_loop_add(&d->loop, d->ino, &d->ino_ev, EPOLLIN);
	reload(d);
	load_resolv(d);
	logf_("serving %zu networks, %zu containers, %d upstreams", d->snap->n, d->n_lsn, d->n_up);
	if (ready >= 0) {
		if (write(ready, "1", 1) != 1)
			logf_("readiness pipe: %m");
		close(ready);
	}

	while (!d->quit) {
		uint64_t now = now_ms(), next = now + 60000;
		int timeout;

		if (d->fwd_head >= 0 && d->fwd[d->fwd_head].deadline < next)
			next = d->fwd[d->fwd_head].deadline;
		if (d->conn_head && d->conn_head->last + CONN_IDLE_MS < next)
			next = d->conn_head->last + CONN_IDLE_MS;
		if (d->ctl_head && d->ctl_head->deadline < next)
			next = d->ctl_head->deadline;
		if (d->idle_check && now + 1000 < next)
			next = now + 1000;
		timeout = next > now && !d->n_kick ? (int)(next - now) : 0;
		dmn_loop_turn(&d->loop, timeout, 64, on_event, d);
		now = now_ms();
		fwd_timeouts(d, now);
		conn_kicked(d);
		conn_timeouts(d, now);
		ctl_timeouts(d, now);
		if (d->idle_check)
			idle_exit(d);
	}

	/* clean exit: everything closed and freed (valgrind-clean) */
	while (d->ctl_head)
		ctlc_close(d, d->ctl_head);
	for (size_t b = 0; b < LSN_BUCKETS; b++)
		while (d->lsn[b])
			lsn_close(d, d->lsn[b]);
	for (int i = 0; i < FWD_MAX; i++)
		if (d->fwd[i].used)
			fwd_free(d, i);
	for (int f = 0; f < 2; f++)
		for (int i = 0; i < UP_SOCKS; i++)
			if (d->usock[f][i] >= 0)
				close(d->usock[f][i]);
	snap_free(d->snap);
	free(d->fwd);
	snprintf(path, sizeof(path), "%s/dnsname.sock", d->run_dir);
	if (d->ctl >= 0 && !d->activated)
		unlink(path);
	snprintf(path, sizeof(path), "%s/dnsname.pid", d->run_dir);
	unlink(path);
	if (d->ctl >= 0)
		close(d->ctl);
	dmn_loop_close(&d->loop);
	close(d->sig);
	close(d->ino);
	close(d->netsfd);
	if (d->spare >= 0)
		close(d->spare);
	close(pidfd);
	logf_("stopped");
	if (d->idle_lock >= 0)
		close(d->idle_lock); /* a plugin waiting to start a daemon may now */
	free(d);
	return 0;
}
