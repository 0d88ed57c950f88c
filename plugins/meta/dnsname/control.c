// SPDX-License-Identifier: Apache-2.0
/*
 * The control socket (SOCK_SEQPACKET, RUN_DIR/dnsname.sock or systemd's): "ping" answers the
 * number of listeners and the port; "sync [DEV INO [ADDR]]" reloads now and, for a container's
 * netns, says whether it has a listener on ADDR (127.0.0.11 when absent) and restores its port 53
 * rewrite; "port DEV INO [ADDR]" the port that listener serves (53 where the rewrite was
 * refused); "status" and "status json" the per-network counters (upstream.c); "handoff" and
 * "handoff 2" send our sockets to a new daemon (handoff.c), after which "sync" answers
 * DN_CTL_AGAIN. "ping" and "sync" replies end with DN_CTL_ADDRS (dnsname.h). One request per
 * connection (a handoff's confirmation but, on a connection off the list: handoff.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon.h"
#include "dlist.h"

/*
 * Control clients are served from the loop like any other: accepted non-blocking, answered when
 * their request comes, closed after CTL_IDLE_MS without one (a blocking read of a silent client
 * once stalled every container's lookups for a second per connection).
 */
void dn_ctlc_unlink(struct dn_ctx *d, struct ctlc *c)
{
	DL_UNLINK(d->ctl_head, d->ctl_tail, c);
	d->n_ctlc--;
}

void dn_ctlc_close(struct dn_ctx *d, struct ctlc *c)
{
	dn_ctlc_unlink(d, c);
	close(c->fd);
	free(c);
}

void dn_on_ctl(struct dn_ctx *d)
{
	for (int budget = 0; budget < 16; budget++) {
		int fd = accept4(d->ctl, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct ctlc *c;

		if (fd < 0 && (errno == EMFILE || errno == ENFILE)) {
			/* plugins first: an idle DNS client gives its descriptor up, or it is shed */
			if (d->conn_head && !d->conn_head->pending) {
				dn_conn_close(d, d->conn_head);
				continue;
			}
			if (dmn_accept_shed(d->ctl, &d->spare))
				continue;
		}
		if (fd < 0)
			return;
		if (d->n_ctlc >= CTL_MAX)
			dn_ctlc_close(d, d->ctl_head);
		c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		c->fd = fd;
		c->ev = (struct dmn_ev){EV_CTLC, c};
		c->deadline = dn_now_ms() + CTL_IDLE_MS;
		DL_APPEND(d->ctl_head, d->ctl_tail, c);
		d->n_ctlc++;
		dmn_loop_add(&d->loop, fd, &c->ev, EPOLLIN);
	}
}

/* A request's resolver address into @a (network order, never 0): 0 or -EINVAL. */
static int resolver_addr(const char *s, uint32_t *a)
{
	struct dn_rec r = {0};
	int e = dn_resolver_parse(s, &r.resolver);

	*a = dn_resolver_of(&r);
	return e;
}

void dn_on_ctlc(struct dn_ctx *d, struct ctlc *c)
{
	char req[128], reply[320];
	ssize_t n = recv(c->fd, req, sizeof(req) - 1, MSG_DONTWAIT);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n >= 0)
		req[n] = 0;
	if (c->handoff)
		return dn_handoff_reply(d, c, req, n);
	if (n <= 0)
		return dn_ctlc_close(d, c);
	if (!strcmp(req, "handoff") || !strcmp(req, "handoff 2")) {
		/* handoff.c: the sockets to a new daemon */
		return dn_handoff_give(d, c, req[7] != 0);
	} else if (!strcmp(req, "ping")) {
		snprintf(reply, sizeof(reply), "ok %zu listeners port %u" DN_CTL_ADDRS, d->n_lsn,
			 DN_RESOLVER_PORT);
	} else if (!strncmp(req, "port ", 5)) { /* the port of one netns' listener, no reload */
		unsigned long long dev, ino;
		char ra[32] = DN_RESOLVER_ADDR;
		uint32_t a;
		int k = sscanf(req, "port %llu %llu %31s", &dev, &ino, ra);
		struct lsn *l = k >= 2 && !resolver_addr(ra, &a) ? dn_lsn_find(d, dev, ino, a)
								   : NULL;

		if (l)
			snprintf(reply, sizeof(reply), "ok port %u", l->port);
		else
			snprintf(reply, sizeof(reply), "err no listener in that netns");
	} else if (!strncmp(req, "sync", 4) && (d->ho_give || d->handed || d->stored)) {
		/* our sockets are (being) handed over: a listener made now would not be passed on */
		snprintf(reply, sizeof(reply), DN_CTL_AGAIN "handing over to a new daemon");
	} else if (!strncmp(req, "sync", 4)) {
		unsigned long long dev, ino;
		char ra[32] = DN_RESOLVER_ADDR;
		uint32_t a = 0;
		int k = sscanf(req, "sync %llu %llu %31s", &dev, &ino, ra);
		bool one = k >= 2, bad = one && resolver_addr(ra, &a);
		struct lsn *l;

		dn_reload(d);
		l = one && !bad ? dn_lsn_find(d, dev, ino, a) : NULL;
		if (bad)
			snprintf(reply, sizeof(reply), "err invalid resolver address %s", ra);
		else if (one && !l)
			snprintf(reply, sizeof(reply),
				 "err no listener on %s in the container netns: %s", ra,
				 d->last_err[0] ? d->last_err : "no record names it");
		else if (l && !l->fresh &&
			 dn_lsn_rewrite(d, l, true)) /* an ADD again restores it */
			snprintf(reply, sizeof(reply), "err %s", d->last_err);
		else
			snprintf(reply, sizeof(reply), "ok port %u" DN_CTL_ADDRS,
				 l ? l->port : DN_RESOLVER_PORT);
	} else if (!strcmp(req, "status") || !strcmp(req, "status json")) {
		char *s = dn_status_render(d, req[6] != 0);

		if (s) {
			/* one message: a blocking send of a report larger than the socket buffer */
			int sz = (int)strlen(s) + 4096;
			int e = 0;

			setsockopt(c->fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
			if (send(c->fd, s, strlen(s), MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
				e = errno;
			free(s);
			if (!e)
				return dn_ctlc_close(d, c);
			/* over the socket's buffer (capped by net.core.wmem_max): say so, briefly */
			snprintf(reply, sizeof(reply), "err report too large (%zu networks): %s",
				 d->snap ? d->snap->n : 0, strerror(e));
		} else {
			snprintf(reply, sizeof(reply), "err out of memory");
		}
	} else {
		snprintf(reply, sizeof(reply), "err unknown request");
	}
	send(c->fd, reply, strlen(reply), MSG_NOSIGNAL | MSG_DONTWAIT);
	dn_ctlc_close(d, c);
}

void dn_ctl_timeouts(struct dn_ctx *d, uint64_t now)
{
	while (d->ctl_head && d->ctl_head->deadline <= now)
		dn_ctlc_close(d, d->ctl_head);
}

int dn_ctl_open(struct dn_ctx *d)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	const char *lfds = dmn_listen_fds();
	int fd;

	if (lfds && atoi(lfds) >= 1) {
		/* systemd socket activation (cni-dnsname.socket), and its fd store (fdstore.c) */
		fd = dn_fdstore_take(d, atoi(lfds));
		if (fd != -ENOTSOCK) {
			d->activated = fd >= 0;
			return fd;
		}
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
