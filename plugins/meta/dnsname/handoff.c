// SPDX-License-Identifier: Apache-2.0
/*
 * The upgrade without loss. A new daemon started with --takeover (what "dnsname restart" runs)
 * connects to the running one's control socket and asks "handoff". The old daemon sends, over
 * that connection (SCM_RIGHTS), its control socket and every listener's UDP and TCP sockets with
 * the netns (device, inode) each serves, and goes on serving. The new one adopts them as its
 * first reload finds the records naming those netns (no new socket, the port 53 rewrite is
 * already in place), starts reading them, then says "taken". Only then does the old daemon stop
 * reading them and release its pid file ("ok released"); it keeps its upstream sockets and its
 * TCP connections, answers the forwards in flight and the queries of its connections, and exits
 * once none is left (at most CONN_IDLE_MS later), leaving the sockets, the rewrites, the
 * control socket's path and the pid file to the new one. Queries that arrive meanwhile wait in
 * the shared sockets' queues: nothing is lost. If the new daemon dies before "taken", the old
 * one never stopped. The old daemon's --exit-idle carries over. A socket-activated (systemd)
 * daemon is not taken over: the new one would live outside its unit (systemctl restart it).
 *
 * From "handoff" to the end of the handoff the old daemon accepts no control client (they wait in
 * the shared socket's queue for the new one) and does not reload (a listener it made would not
 * be passed on); a "sync" of a client it had accepted is answered DN_CTL_AGAIN (the plugin asks
 * again, on a new connection). If the handoff fails, it accepts and reloads again. The new daemon
 * reloads once more after "ok released" (files written meanwhile).
 *
 * Messages: "handoff 2" -> "ok handoff N ACTIVATED EXIT_IDLE RESOLV_CONF" + [control socket],
 * then chunks of "DEV INO ADDR\n" lines + [udp, tcp, ...] (HO_CHUNK listeners each) until N;
 * "taken" -> "ok released". ADDR is the listener's resolver address (one per network of a
 * container on several: dnsname.h). A daemon of a build before the addresses answers "err
 * unknown request" to "handoff 2": the new one asks "handoff" instead, whose lines are "DEV
 * INO\n" (127.0.0.11, the only address such a daemon has). Asked "handoff" (a new daemon of such
 * a build: a downgrade), we send our 127.0.0.11 listeners alone: the others close with us, their
 * rewrites deleted (that build serves 127.0.0.11 for every network). The new daemon adopts
 * RESOLV_CONF unless it was given --resolv-conf (a daemon of a build before it sends none). A
 * daemon of a build before the handoff answers "err unknown request" to both: the new one says
 * so and exits.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon.h"

#define HO_CHUNK 100 /* listeners per message: 200 descriptors, under SCM_MAX_FD (253) */
#define HO_LINE 64   /* "DEV INO ADDR\n" */

union ho_cmsg {
	char buf[CMSG_SPACE(sizeof(int) * HO_CHUNK * 2)];
	struct cmsghdr align;
};

/* One message with @n descriptors, waiting (bounded) while the peer's queue is full. */
static int send_fds(int sock, const char *txt, size_t len, const int *fds, size_t n)
{
	for (;;) {
		struct pollfd pfd = {.fd = sock, .events = POLLOUT};
		int r = dmn_send_fds(sock, NULL, 0, txt, len, fds, n, MSG_DONTWAIT);

		if (r != -EINTR && r != -EAGAIN)
			return r;
		if (r == -EAGAIN && poll(&pfd, 1, 2000) <= 0)
			return -ETIMEDOUT;
	}
}

/* One message with up to @max descriptors (close-on-exec): its length, or -errno. */
static ssize_t recv_fds(int sock, char *txt, size_t cap, int *fds, size_t max, size_t *n,
			int timeout_ms)
{
	struct iovec iov = {.iov_base = txt, .iov_len = cap - 1};
	union ho_cmsg u;
	struct msghdr mh = {.msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = u.buf,
			    .msg_controllen = sizeof(u.buf)};
	struct pollfd pfd = {.fd = sock, .events = POLLIN};
	ssize_t r;

	*n = 0;
	r = poll(&pfd, 1, timeout_ms);
	if (r <= 0)
		return r ? -errno : -ETIMEDOUT;
	r = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	if (r < 0)
		return -errno;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		size_t k;

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < k; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
			if (*n < max)
				fds[(*n)++] = fd;
			else
				close(fd);
		}
	}
	if (mh.msg_flags & MSG_CTRUNC)
		return -EMSGSIZE;
	txt[r] = 0;
	return r;
}

/* ---- the old daemon ---------------------------------------------------------------------------
 */

/*
 * The handoff's connection is off the control clients' list (the oldest-first eviction of
 * CTL_MAX and the list's deadline order are theirs): its own deadline, d->ho_give.
 */
void dn_handoff_drop(struct dn_ctx *d)
{
	if (!d->ho_give)
		return;
	close(d->ho_give->fd);
	free(d->ho_give);
	d->ho_give = NULL;
}

/* The handoff did not happen: we accept control clients again and read what changed meanwhile. */
static void give_abort(struct dn_ctx *d)
{
	dn_handoff_drop(d);
	dmn_loop_add(&d->loop, d->ctl, &d->ctl_ev, EPOLLIN);
	dn_reload(d);
}

void dn_handoff_give(struct dn_ctx *d, struct ctlc *c, bool addrs)
{
	char head[PATH_MAX + 96], *txt = NULL, ra[16];
	int fds[HO_CHUNK * 2], r = 0;
	size_t k = 0, len = 0, n = 0;
	struct dn_rec dflt = {0};

	if (d->handed || d->stored || d->quit || d->ctl < 0 || d->ho_give) {
		send(c->fd, "err not serving", 15, MSG_NOSIGNAL | MSG_DONTWAIT);
		return dn_ctlc_close(d, c);
	}
	/*
	 * From now on no new control client (they wait in the socket's queue for whichever daemon
	 * serves after), and no reload (a listener made now would not be passed on): both come back
	 * if the handoff fails (give_abort).
	 */
	dmn_loop_del(&d->loop, d->ctl);
	dn_ctlc_unlink(d, c);
	d->ho_give = c;
	c->handoff = true;
	c->deadline = dn_now_ms() + HO_WAIT_MS;
	/* a new daemon of a build before the addresses gets our 127.0.0.11 listeners alone */
	for (size_t b = 0; b < LSN_BUCKETS; b++)
		for (struct lsn *l = d->lsn[b]; l; l = l->next) {
			l->given = addrs || l->addr == dn_resolver_of(&dflt);
			n += l->given;
		}
	snprintf(head, sizeof(head), "ok handoff %zu %d %d %s", n, d->activated, d->exit_idle,
		 d->resolv_conf);
	r = send_fds(c->fd, head, strlen(head), &d->ctl, 1);
	txt = malloc(HO_CHUNK * HO_LINE);
	if (!txt && !r)
		r = -ENOMEM;
	for (size_t b = 0; b < LSN_BUCKETS && !r; b++)
		for (struct lsn *l = d->lsn[b]; l && !r; l = l->next) {
			if (!l->given)
				continue;
			if (addrs)
				len += (size_t)snprintf(txt + len, HO_LINE, "%llu %llu %s\n",
							(unsigned long long)l->dev,
							(unsigned long long)l->ino,
							dn_resolver_text(l->addr, ra));
			else
				len += (size_t)snprintf(txt + len, HO_LINE, "%llu %llu\n",
							(unsigned long long)l->dev,
							(unsigned long long)l->ino);
			fds[k++] = l->udp;
			fds[k++] = l->tcp;
			if (k == HO_CHUNK * 2) {
				r = send_fds(c->fd, txt, len, fds, k);
				k = len = 0;
			}
		}
	if (k && !r)
		r = send_fds(c->fd, txt, len, fds, k);
	free(txt);
	if (r) {
		dn_logk(d, DN_LOG_HANDOFF, "handoff: sending the sockets: %s; still serving",
			strerror(-r));
		return give_abort(d);
	}
	dn_logk(d, DN_LOG_HANDOFF, "handoff: %zu of %zu listeners sent, waiting for the new daemon",
		n, d->n_lsn);
}

void dn_handoff_reply(struct dn_ctx *d, struct ctlc *c, const char *req, ssize_t n)
{
	if (n <= 0 || strcmp(req, "taken")) {
		dn_logk(d, DN_LOG_HANDOFF,
			"handoff: the new daemon did not take over; still serving");
		return give_abort(d);
	}
	/* the new daemon reads the sockets now: we stop, and finish what we have (the control
	 * socket left our loop at "handoff") */
	dn_lsn_unwatch(d);
	if (d->pidfd >= 0)
		close(d->pidfd); /* the lock is the new daemon's to take */
	d->pidfd = -1;
	d->handed = true;
	d->exit_idle = false;
	d->idle_check = false;
	d->drain_until = dn_now_ms() + CONN_IDLE_MS;
	dn_logk(d, DN_LOG_HANDOFF,
		"handoff: taken over; finishing %u forwards and %u connections, then exiting",
		d->n_fwd, d->n_conn);
	send(c->fd, "ok released", 11, MSG_NOSIGNAL | MSG_DONTWAIT);
	dn_handoff_drop(d);
}

void dn_handoff_timeout(struct dn_ctx *d, uint64_t now)
{
	if (d->ho_give && now >= d->ho_give->deadline)
		dn_handoff_reply(d, d->ho_give, "", -1);
}

bool dn_handoff_drained(struct dn_ctx *d, uint64_t now)
{
	return d->handed && ((!d->n_fwd && !d->conn_head && !d->ctl_head) || now >= d->drain_until);
}

/* ---- the new daemon ---------------------------------------------------------------------------
 */

/* A connection to the running daemon with @req sent: 0, 1 when there is none, -errno. */
static int take_ask(struct dn_ctx *d, const struct sockaddr_un *sa, const char *req)
{
	int r;

	d->ho_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (d->ho_fd < 0)
		return -errno;
	if (connect(d->ho_fd, (const struct sockaddr *)sa, sizeof(*sa))) {
		r = -errno;
		close(d->ho_fd);
		d->ho_fd = -1;
		if (r == -ENOENT || r == -ECONNREFUSED)
			return 1; /* no daemon: nothing to take over */
		snprintf(d->last_err, sizeof(d->last_err), "connecting to %s: %s", sa->sun_path,
			 strerror(-r));
		return r;
	}
	if (send(d->ho_fd, req, strlen(req), MSG_NOSIGNAL) < 0)
		return -errno;
	return 0;
}

int dn_handoff_take(struct dn_ctx *d)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char txt[HO_CHUNK * HO_LINE + 1];
	int fds[HO_CHUNK * 2], act, idle, end = 0;
	size_t n, want, nf;
	ssize_t r;

	d->ho_fd = -1;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/dnsname.sock", d->run_dir);
	r = take_ask(d, &sa, "handoff 2");
	if (r)
		return (int)r;
	r = recv_fds(d->ho_fd, txt, sizeof(txt), fds, 1, &nf, HO_WAIT_MS);
	if (r >= 0 && !nf && !strcmp(txt, "err unknown request")) {
		/* a daemon of a build before the resolver addresses: 127.0.0.11 alone */
		close(d->ho_fd);
		d->ho_fd = -1;
		r = take_ask(d, &sa, "handoff");
		if (r)
			return (int)r;
		r = recv_fds(d->ho_fd, txt, sizeof(txt), fds, 1, &nf, HO_WAIT_MS);
	}
	if (r >= 0 && (sscanf(txt, "ok handoff %zu %d %d%n", &want, &act, &idle, &end) != 3 ||
		       nf != 1)) {
		for (size_t i = 0; i < nf; i++)
			close(fds[i]);
		snprintf(d->last_err, sizeof(d->last_err),
			 "the running daemon cannot hand its sockets over (%s): an older build? "
			 "stop it, then start this one",
			 txt);
		return -EPROTO;
	}
	if (r < 0) {
		snprintf(d->last_err, sizeof(d->last_err), "handoff from %s: %s", sa.sun_path,
			 strerror((int)-r));
		return (int)r;
	}
	if (act) {
		/* a new daemon of ours would live outside the unit, which would see its main
		 * process exit: systemd restarts its own (the old one never stopped: no "taken") */
		close(fds[0]);
		snprintf(
		    d->last_err, sizeof(d->last_err),
		    "the running daemon is systemd's (socket-activated): use systemctl restart "
		    "cni-dnsname");
		return -EPERM;
	}
	d->ctl = fds[0];
	d->activated = act;
	/* its upstreams (a plugin-started daemon's are its network's resolvConf), unless ours were
	 * given; a daemon of a build before this sends none */
	if (!d->resolv_given && txt[end] == ' ' && txt[end + 1] == '/') {
		snprintf(d->resolv_buf, sizeof(d->resolv_buf), "%s", txt + end + 1);
		d->resolv_conf = d->resolv_buf;
	}
	d->exit_idle = d->exit_idle || idle;
	d->adopt = calloc(want ? want : 1, sizeof(*d->adopt));
	if (!d->adopt)
		return -ENOMEM;
	for (n = 0; n < want;) {
		char *p = txt;

		r = recv_fds(d->ho_fd, txt, sizeof(txt), fds, HO_CHUNK * 2, &nf, HO_WAIT_MS);
		if (r <= 0 || nf % 2) {
			for (size_t i = 0; i < nf; i++)
				close(fds[i]);
			snprintf(d->last_err, sizeof(d->last_err),
				 "handoff: listener %zu of %zu: %s", n, want,
				 r < 0 ? strerror((int)-r) : "malformed message");
			return r < 0 ? (int)r : -EPROTO;
		}
		for (size_t i = 0; i < nf; i += 2) {
			unsigned long long dev = 0, ino = 0;
			struct dn_rec ar = {0};
			char ra[32] = DN_RESOLVER_ADDR;
			int used = 0, more = 0;

			/* "DEV INO ADDR\n", or "DEV INO\n" from a build before the addresses */
			if (n == want || sscanf(p, "%llu %llu%n", &dev, &ino, &used) != 2 ||
			    (p[used] == ' ' && sscanf(p + used, " %31s%n", ra, &more) != 1) ||
			    dn_resolver_parse(ra, &ar.resolver)) {
				close(fds[i]);
				close(fds[i + 1]);
				continue;
			}
			p += used + more;
			p += *p == '\n';
			d->adopt[n++] = (struct dn_adopt){dev, ino, dn_resolver_of(&ar), fds[i],
							  fds[i + 1]};
			d->n_adopt = n;
		}
	}
	return 0;
}

bool dn_handoff_adopt(struct dn_ctx *d, uint64_t dev, uint64_t ino, uint32_t addr, int *udp,
		      int *tcp)
{
	for (size_t i = 0; i < d->n_adopt; i++)
		if (d->adopt[i].udp >= 0 && d->adopt[i].dev == dev && d->adopt[i].ino == ino &&
		    d->adopt[i].addr == addr) {
			struct dn_adopt *a = &d->adopt[i];
			int fds[2] = {a->udp, a->tcp};
			char ra[16], got[16] = "?";

			/* the name (handoff line, fd store name) says the address: the sockets must
			 * be bound to it, or they serve another address under this one's name */
			for (int k = 0; k < 2; k++) {
				struct sockaddr_in sa = {0};
				socklen_t len = sizeof(sa);

				if (getsockname(fds[k], (struct sockaddr *)&sa, &len) ||
				    sa.sin_family != AF_INET || sa.sin_addr.s_addr != addr) {
					if (sa.sin_family == AF_INET)
						inet_ntop(AF_INET, &sa.sin_addr, got, sizeof(got));
					dn_logk(d, DN_LOG_HANDOFF,
						"adopting the listener of netns %llu:%llu on %s: its "
						"socket is bound to %s; closed, a new one made",
						(unsigned long long)dev, (unsigned long long)ino,
						dn_resolver_text(addr, ra), got);
					close(a->udp);
					close(a->tcp);
					a->udp = a->tcp = -2; /* never adopted, nothing to release */
					return false;
				}
			}
			*udp = a->udp;
			*tcp = a->tcp;
			a->udp = a->tcp = -1;
			return true;
		}
	return false;
}

void dn_adopt_release(struct dn_ctx *d, bool unrewrite)
{
	/* the port is the socket's own: one serving :53 itself (no rewrite allowed there,
	 * listen.c) has none to delete */
	for (size_t i = 0; i < d->n_adopt; i++) {
		struct sockaddr_in sa;
		socklen_t len = sizeof(sa);
		struct lsn tmp = {.udp = d->adopt[i].udp, .dev = d->adopt[i].dev,
				  .ino = d->adopt[i].ino, .addr = d->adopt[i].addr};

		if (tmp.udp < 0)
			continue;
		if (unrewrite && !getsockname(tmp.udp, (struct sockaddr *)&sa, &len)) {
			tmp.port = ntohs(sa.sin_port);
			if (dn_lsn_rewrite(d, &tmp, false))
				dn_logk(d, DN_LOG_LSN, "%s", d->last_err);
		}
		close(d->adopt[i].udp);
		close(d->adopt[i].tcp);
	}
	free(d->adopt);
	d->adopt = NULL;
	d->n_adopt = 0;
}

int dn_handoff_confirm(struct dn_ctx *d)
{
	/* a partial first reload may have missed records that name live netns: keep their rewrites */
	bool partial = !d->snap || d->snap->err;
	char reply[64];
	size_t nf;
	int fd;
	ssize_t r;

	if (send(d->ho_fd, "taken", 5, MSG_NOSIGNAL) < 0) {
		r = -errno;
	} else {
		r = recv_fds(d->ho_fd, reply, sizeof(reply), &fd, 0, &nf, HO_WAIT_MS);
		if (r >= 0 && strcmp(reply, "ok released"))
			r = -EPROTO;
	}
	close(d->ho_fd);
	d->ho_fd = -1;
	/* the old daemon still reads them until "ok released" (without it, it serves on) */
	dn_adopt_release(d, r >= 0 && !partial);
	if (r < 0)
		snprintf(d->last_err, sizeof(d->last_err), "handoff: the old daemon's release: %s",
			 strerror((int)-r));
	return r < 0 ? (int)r : 0;
}

/* ---- dnsname restart --------------------------------------------------------------------------
 */

int dn_restart_main(int argc, char **argv)
{
	const char *run_dir = dn_run_dir_default(), *resolv = NULL;
	char exe[PATH_MAX], log[PATH_MAX + 32];
	char *av[] = {"dnsname", "daemon", "--takeover", "--run-dir", NULL, "--ready-fd", "3",
		      "--resolv-conf", NULL, NULL};
	ssize_t n;
	int r;

	for (int i = 1; i < argc; i++) {
		if (i + 1 < argc && !strcmp(argv[i], "--run-dir")) {
			run_dir = argv[++i];
		} else if (i + 1 < argc && !strcmp(argv[i], "--resolv-conf")) {
			resolv = argv[++i];
		} else {
			fprintf(stderr,
				"usage: dnsname restart [--run-dir DIR] [--resolv-conf FILE]\n");
			return 2;
		}
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0) {
		fprintf(stderr, "dnsname restart: /proc/self/exe: %m\n");
		return 1;
	}
	exe[n] = 0;
	snprintf(log, sizeof(log), "%s/dnsname.log", run_dir);
	av[4] = (char *)run_dir;
	/* without --resolv-conf the new daemon keeps the running one's (dn_handoff_take) */
	if (resolv)
		av[8] = (char *)resolv;
	else
		av[7] = NULL;
	r = dn_daemon_spawn(exe, log, av, 30000);
	if (r == -EHOSTDOWN) {
		fprintf(stderr, "dnsname restart: the new daemon did not start (see %s)\n", log);
		return 1;
	}
	if (r) {
		fprintf(stderr, "dnsname restart: starting the new daemon: %s\n", strerror(-r));
		return 1;
	}
	printf("dnsname: the new daemon serves (%s)\n", exe);
	return 0;
}
