// SPDX-License-Identifier: Apache-2.0
/*
 * Per-container listeners: a UDP socket and a TCP listener on ADDR:61053 inside each container
 * netns that a record names, for each resolver address its records name (127.0.0.11, and one
 * more per further network of a container on several: dnsname.h), made by a short-lived helper
 * thread that enters the netns (the loop thread never changes netns), with the nftables rewrite
 * of ADDR:53 to them beside them; the rewrite is deleted with the listener. Listeners are found
 * by the netns' device and inode and their address (one hash chain holds all of a netns); each
 * carries its view (the networks of the snapshot that name its netns: every address of a netns
 * resolves all of them) and which of them own its address (their upstreams: upstream.c).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <linux/sockios.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon.h"
#include "dnsport.h"

struct mk {
	const char *path;
	uint64_t dev, ino;
	uint32_t addr;
	int udp, tcp, err;
	uint16_t port;
	struct cni_err e; /* the rewrite's failure */
};

static int bind_resolver(int type, uint32_t addr, uint16_t port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
	int one = 1, rcvbuf = DN_UDP_RCVBUF, fd;

	fd = socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	sa.sin_addr.s_addr = addr;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* 127.0.0.0/8 is local only once lo is up; bind now, serve when it is */
	setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof(one));
	/*
	 * A deeper UDP queue than rmem_default's ~200 datagrams: a burst while the loop is not
	 * scheduled (a loaded host) or a restart's handoff waits in it instead of being dropped
	 * (charged only while queued). FORCE needs CAP_NET_ADMIN, which the daemon has; without
	 * it rmem_max caps the plain request.
	 */
	if (type == SOCK_DGRAM && setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf,
					     sizeof(rcvbuf)))
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
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
	char ra[16];
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
	m->port = DN_RESOLVER_PORT;
again:
	m->udp = bind_resolver(SOCK_DGRAM, m->addr, m->port);
	if (m->udp < 0) {
		m->err = m->udp;
		return NULL;
	}
	m->tcp = bind_resolver(SOCK_STREAM, m->addr, m->port);
	if (m->tcp < 0)
		m->err = m->tcp;
	else if (m->port == DN_RESOLVER_PORT)
		m->err = nu_nft_dnsport_add(dn_resolver_text(m->addr, ra), DN_RESOLVER_PORT,
					    DN_REWRITE_OWNER, &m->e);
	if (m->err == -EPERM && m->port == DN_RESOLVER_PORT) {
		/*
		 * A netns of a user namespace whose kernel refuses payload rewrites there (rootless,
		 * seen on 6.18): serve ADDR:53 itself, as builds before the rewrite did (the
		 * container's own server cannot then bind the wildcard :53). The rewrite's batch is
		 * one transaction: nothing of it is left.
		 */
		close(m->udp);
		close(m->tcp);
		m->port = 53;
		m->err = 0;
		m->e.msg[0] = 0;
		goto again;
	}
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
	uint32_t addr;
	bool add, whole;
	int err;
	struct cni_err e;
};

static void *rw_thread(void *arg)
{
	struct rw *w = arg;
	int fd = ioctl(w->sock, SIOCGSKNS);
	char ra[16];

	if (fd < 0 || setns(fd, CLONE_NEWNET)) {
		w->err = cni_fail(&w->e, -errno, 0, "entering the listener's netns: %m");
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	close(fd);
	dn_resolver_text(w->addr, ra);
	w->err = w->add ? nu_nft_dnsport_add(ra, DN_RESOLVER_PORT, DN_REWRITE_OWNER, &w->e)
			: nu_nft_dnsport_del(ra, w->whole, &w->e);
	return NULL;
}

static struct lsn **lsn_bucket(struct dn_ctx *d, uint64_t dev, uint64_t ino)
{
	return &d->lsn[(ino ^ dev * 31) % LSN_BUCKETS];
}

int dn_lsn_rewrite(struct dn_ctx *d, const struct lsn *l, bool add)
{
	struct rw w = {.sock = l->udp, .addr = l->addr, .add = add, .whole = true};
	pthread_t t;

	if (l->port == 53)
		return 0; /* served on port 53 itself: no rewrite (mk_thread) */
	/* the netns' last listener deletes the table, another one its own address's chain; after
	 * a handoff the table is the new daemon's */
	w.whole = !d->handed;
	for (const struct lsn *o = *lsn_bucket(d, l->dev, l->ino); o && w.whole; o = o->next)
		w.whole = o == l || o->dev != l->dev || o->ino != l->ino;
	if (pthread_create(&t, NULL, rw_thread, &w))
		return cni_fail(&w.e, -EAGAIN, 0, "cannot start a thread");
	pthread_join(t, NULL);
	if (w.err)
		snprintf(d->last_err, sizeof(d->last_err), "%s", w.e.msg);
	return w.err;
}

static struct lsn **lsn_slot(struct dn_ctx *d, uint64_t dev, uint64_t ino, uint32_t addr)
{
	struct lsn **p = lsn_bucket(d, dev, ino);

	while (*p && ((*p)->dev != dev || (*p)->ino != ino || (*p)->addr != addr))
		p = &(*p)->next;
	return p;
}

struct lsn *dn_lsn_find(struct dn_ctx *d, uint64_t dev, uint64_t ino, uint32_t addr)
{
	return *lsn_slot(d, dev, ino, addr);
}

void dn_lsn_view_ns(struct dn_ctx *d, uint64_t dev, uint64_t ino, uint16_t i)
{
	for (struct lsn *l = *lsn_bucket(d, dev, ino); l; l = l->next)
		if (l->dev == dev && l->ino == ino)
			dn_lsn_view_add(l, i, false);
}

struct lsn *dn_lsn_open(struct dn_ctx *d, const struct dn_rec *r)
{
	struct mk m = {.path = r->netns, .dev = r->ns_dev, .ino = r->ns_ino,
		       .addr = dn_resolver_of(r)};
	struct lsn *l;
	pthread_t t;
	char ra[16];

	if (d->n_adopt && dn_handoff_adopt(d, r->ns_dev, r->ns_ino, m.addr, &m.udp, &m.tcp)) {
		/* the old daemon's (handoff.c): its rewrite is in place */
	} else if (pthread_create(&t, NULL, mk_thread, &m)) {
		snprintf(d->last_err, sizeof(d->last_err), "cannot start a thread");
		return NULL;
	} else {
		pthread_join(t, NULL);
	}
	if (m.err) {
		snprintf(d->last_err, sizeof(d->last_err), "listener on %s in %s: %s",
			 dn_resolver_text(m.addr, ra), r->netns, m.e.msg[0] ? m.e.msg : strerror(-m.err));
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
	l->addr = m.addr;
	l->view = l->view_in;
	l->cap_view = (uint16_t)(sizeof(l->view_in) / sizeof(l->view_in[0]));
	l->udp = m.udp;
	l->tcp = m.tcp;
	l->port = m.port;
	if (!l->port) { /* adopted (handoff.c): the port it is bound to */
		struct sockaddr_in sa;
		socklen_t len = sizeof(sa);

		l->port = !getsockname(l->udp, (struct sockaddr *)&sa, &len) ? ntohs(sa.sin_port)
									   : DN_RESOLVER_PORT;
	}
	l->fresh = true;
	l->uev = (struct dmn_ev){EV_UDP, l};
	l->tev = (struct dmn_ev){EV_TCPL, l};
	dmn_loop_add(&d->loop, l->udp, &l->uev, EPOLLIN);
	dmn_loop_add(&d->loop, l->tcp, &l->tev, EPOLLIN);
	*lsn_slot(d, l->dev, l->ino, l->addr) = l;
	d->n_lsn++;
	return l;
}

/*
 * Add network @i to the view of @l (once), as an owner of its address with @own; beyond
 * VIEW_MAX, or out of memory, it stays unseen.
 */
void dn_lsn_view_add(struct lsn *l, uint16_t i, bool own)
{
	for (size_t v = 0; v < l->n_view; v++)
		if (l->view[v] == i) {
			l->own |= (uint64_t)own << v;
			return;
		}
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
	l->own |= (uint64_t)own << l->n_view;
	l->view[l->n_view++] = i;
}

void dn_lsn_unwatch(struct dn_ctx *d)
{
	for (size_t b = 0; b < LSN_BUCKETS; b++)
		for (struct lsn *l = d->lsn[b]; l; l = l->next) {
			dmn_loop_del(&d->loop, l->udp);
			dmn_loop_del(&d->loop, l->tcp);
		}
}

void dn_lsn_close(struct dn_ctx *d, struct lsn *l)
{
	struct conn *c, *nx;

	for (c = d->conn_head; c; c = nx) {
		nx = c->next;
		if (c->l == l)
			dn_conn_close(d, c);
	}
	for (int i = 0; i < FWD_MAX; i++)
		if (d->fwd[i].used && d->fwd[i].l == l)
			d->fwd[i].l = NULL;
	if (l->n_fwd)
		d->fwd_lsns--;
	/* no record names the netns any more (or we exit): its port 53 is its own again, unless
	 * the listener is a new daemon's now (handoff.c) or in systemd's fd store (fdstore.c) */
	if ((!d->handed || !l->given) && !d->stored && dn_lsn_rewrite(d, l, false))
		dn_logk(d, DN_LOG_LSN, "%s", d->last_err);
	close(l->udp);
	close(l->tcp);
	dn_ups_put(d, l->ups);
	*lsn_slot(d, l->dev, l->ino, l->addr) = l->next;
	d->n_lsn--;
	if (l->view != l->view_in)
		free(l->view);
	free(l);
}
