// SPDX-License-Identifier: Apache-2.0
/*
 * `dhcp daemon`: one epoll loop in the host netns serving the plugin's requests on a unix socket
 * (hostprefix + socketpath, default /run/cni/dhcp.sock, mode 0600, parent made 0700; or the one
 * socket systemd passes) and driving one DHCP client per attachment (client.c). Leases are kept
 * in the state dir (store.c) and resumed at start, so a restart loses nothing. SIGTERM/SIGINT stop
 * the loop without releasing any lease; pending ADDs are answered with an error. The daemon owns
 * no kernel objects of its own besides its socket file and pidfile, which it removes at exit.
 * Idempotence: ADD of a live attachment returns its lease; DEL and GC of unknown ones succeed.
 * The loop, signals, socket activation and pidfile are pkg/daemon's (daemon/daemon.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "cni/about.h"
#include "cni/cni.h"
#include "daemon.h"
#include "daemon/daemon.h"
#include "daemon/flags.h"

static struct dmn_loop dhcp_loop = {.ep = -1};
int dhcp_epfd = -1; /* dhcp_loop's, for client.c */
const char *dhcp_hostprefix = "";
const char *dhcp_statedir = DHCP_DEFAULT_STATEDIR;
struct dhcp_client *dhcp_clients;

struct dhcp_conn {
	struct dmn_ev ev;
	struct dhcp_conn *next;
	int fd;
	uint8_t *buf;
	size_t len, want;
	struct dhcp_client *client; /* the ADD this connection waits for */
	long long deadline;	    /* boot ms: the whole request by then, or closed */
};

static struct dhcp_conn *dhcp_conns;
static uint32_t dhcp_idle_ms = 30000; /* -idletimeout */
/* A descriptor kept for the day they run out (EMFILE): closed to accept and drop a connection. */
static int dhcp_spare_fd = -1;
static long long dhcp_accept_resume; /* boot ms: listening paused until then; 0: not paused */
static uint32_t dhcp_def_timeout = 10000, dhcp_def_resend_max = 62000,
		dhcp_def_resend_timeout = 208000;
static bool dhcp_def_broadcast;

long long dhcp_boot_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

long long dhcp_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void dhcp_log(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "dhcp: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

void dhcp_client_unlink(struct dhcp_client *c)
{
	for (struct dhcp_client **pp = &dhcp_clients; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			return;
		}
}

static struct dhcp_client *dhcp_find(const char *cid, const char *network, const char *ifname)
{
	for (struct dhcp_client *c = dhcp_clients; c; c = c->next)
		if (!strcmp(c->cid, cid) && !strcmp(c->network, network) &&
		    !strcmp(c->ifname, ifname))
			return c;
	return NULL;
}

/* ---- connections -------------------------------------------------------------------------- */

static void dhcp_conn_close(struct dhcp_conn *k)
{
	for (struct dhcp_conn **pp = &dhcp_conns; *pp; pp = &(*pp)->next)
		if (*pp == k) {
			*pp = k->next;
			break;
		}
	if (k->client && k->client->waiter == k)
		k->client->waiter = NULL;
	dmn_loop_del(&dhcp_loop, k->fd);
	close(k->fd);
	free(k->buf);
	free(k);
}

/* Write a finished reply and close the connection (one exchange per connection). */
static void dhcp_reply(struct dhcp_conn *k, struct dhcp_buf *b)
{
	size_t off = 0;

	if (dhcp_buf_finish(b) == 0) {
		while (off < b->len) {
			ssize_t n = send(k->fd, b->p + off, b->len - off, MSG_NOSIGNAL);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			off += (size_t)n;
		}
	}
	dhcp_buf_free(b);
	dhcp_conn_close(k);
}

static void dhcp_reply_err(struct dhcp_conn *k, int err, const char *msg)
{
	struct dhcp_buf b;

	dhcp_buf_init(&b);
	dhcp_put_u32(&b, DHCP_T_ERRNO, (uint32_t)err);
	dhcp_put_str(&b, DHCP_T_MESSAGE, msg);
	dhcp_reply(k, &b);
}

static void dhcp_reply_lease(struct dhcp_conn *k, const struct dhcp_client *c)
{
	const struct dhcp_lease_info *l = &c->lease;
	uint8_t a[5];
	struct dhcp_buf b;

	dhcp_buf_init(&b);
	dhcp_put_u32(&b, DHCP_T_ERRNO, 0);
	memcpy(a, l->addr, 4);
	a[4] = l->mask_len;
	dhcp_put(&b, DHCP_T_ADDR, a, 5);
	if (l->has_gw)
		dhcp_put(&b, DHCP_T_GATEWAY, l->gw, 4);
	for (size_t i = 0; i < l->n_routes; i++) {
		uint8_t r[9];

		memcpy(r, l->routes[i].dst, 4);
		r[4] = l->routes[i].len;
		memcpy(r + 5, l->routes[i].gw, 4);
		dhcp_put(&b, DHCP_T_ROUTE, r, 9);
	}
	dhcp_put_u32(&b, DHCP_T_LEASE, l->lease_secs);
	dhcp_reply(k, &b);
}

void dhcp_answer(struct dhcp_client *c, int err, const char *msg)
{
	struct dhcp_conn *k = c->waiter;

	if (!k)
		return;
	c->waiter = NULL;
	k->client = NULL;
	if (err)
		dhcp_reply_err(k, err, msg);
	else
		dhcp_reply_lease(k, c);
}

/* No control character (a line break would forge lines of the lease file). */
static bool dhcp_text_ok(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

static void dhcp_do_add(struct dhcp_conn *k, const struct dhcp_request *rq)
{
	struct dhcp_client *c = dhcp_find(rq->cid, rq->network, rq->ifname);
	char msg[1024];
	int r;

	if (!rq->netns[0] || rq->netns[0] != '/')
		return dhcp_reply_err(k, EINVAL, "dhcp: ADD needs an absolute netns path");
	if (!rq->ifname[0] || !rq->cid[0])
		return dhcp_reply_err(k, EINVAL, "dhcp: ADD needs a container id and an ifname");
	if (!dhcp_text_ok(rq->cid) || !dhcp_text_ok(rq->network) || !dhcp_text_ok(rq->ifname) ||
	    !dhcp_text_ok(rq->netns))
		return dhcp_reply_err(k, EINVAL, "dhcp: control characters in the container id, "
						 "network name, ifname or netns path");
	if (!cni_ifname_valid(rq->ifname)) { /* the rule of the dispatcher and host-local's store */
		char m[160];
		snprintf(m, sizeof(m), "dhcp: ifname \"%s\": %s", rq->ifname, cni_ifname_problem(rq->ifname));
		return dhcp_reply_err(k, EINVAL, m);
	}
	if (c) {
		if (dhcp_client_live(c) && !strcmp(c->netns, rq->netns))
			return dhcp_reply_lease(k, c);
		if (c->waiter)
			return dhcp_reply_err(k, EBUSY,
					      "dhcp: an ADD for this attachment is in progress");
		if (strcmp(c->netns, rq->netns)) {
			/* The same attachment in another netns: the old lease belongs to nothing. */
			dhcp_client_forget(c, "ADD from another netns");
			c = NULL;
		} else {
			/* Lost and being re-acquired: wait for it within this ADD's timeout. */
			c->waiter = k;
			k->client = c;
			c->deadline = dhcp_boot_ms() + c->timeout_ms;
			return;
		}
	}
	c = dhcp_client_new(rq, dhcp_def_timeout, dhcp_def_resend_max, dhcp_def_resend_timeout,
			    dhcp_def_broadcast);
	if (!c)
		return dhcp_reply_err(k, ENOMEM, "dhcp: out of memory");
	r = dhcp_client_start(c, msg, sizeof(msg));
	if (r) {
		dhcp_client_free(c);
		return dhcp_reply_err(k, -r, msg);
	}
	c->next = dhcp_clients;
	dhcp_clients = c;
	c->waiter = k;
	k->client = c;
}

static void dhcp_do_del(struct dhcp_conn *k, const struct dhcp_request *rq)
{
	struct dhcp_client *c = dhcp_find(rq->cid, rq->network, rq->ifname);
	struct dhcp_buf b;

	if (c) {
		if (c->waiter)
			dhcp_answer(c, ECANCELED, "dhcp: the attachment was deleted");
		dhcp_client_release(c);
		dhcp_client_forget(c, NULL);
	}
	dhcp_buf_init(&b);
	dhcp_put_u32(&b, DHCP_T_ERRNO, 0);
	dhcp_reply(k, &b);
}

static void dhcp_do_check(struct dhcp_conn *k, const struct dhcp_request *rq)
{
	struct dhcp_client *c = dhcp_find(rq->cid, rq->network, rq->ifname);
	char msg[512];

	if (c && dhcp_client_live(c))
		return dhcp_reply_lease(k, c);
	snprintf(msg, sizeof(msg), "dhcp: no live lease for %s/%s/%s", rq->cid, rq->network,
		 rq->ifname);
	dhcp_reply_err(k, ENOENT, msg);
}

static void dhcp_do_gc(struct dhcp_conn *k, const struct dhcp_request *rq)
{
	struct dhcp_client *c = dhcp_clients, *next;
	struct dhcp_buf b;

	for (; c; c = next) {
		next = c->next;
		if (strcmp(c->network, rq->network) || dhcp_request_valid(rq, c->cid, c->ifname))
			continue;
		if (c->waiter)
			continue; /* an ADD in progress is not garbage yet */
		dhcp_log("%s/%s/%s: not in the valid attachments; released by GC", c->cid,
			 c->network, c->ifname);
		dhcp_client_release(c);
		dhcp_client_forget(c, NULL);
	}
	dhcp_buf_init(&b);
	dhcp_put_u32(&b, DHCP_T_ERRNO, 0);
	dhcp_reply(k, &b);
}

static void dhcp_handle(struct dhcp_conn *k)
{
	struct dhcp_request *rq = malloc(sizeof(*rq));
	struct dhcp_buf b;
	int r;

	if (!rq)
		return dhcp_reply_err(k, ENOMEM, "dhcp: out of memory");
	r = dhcp_request_decode(k->buf + 4, k->len - 4, rq);
	if (r) {
		free(rq);
		return dhcp_reply_err(k, -r, "dhcp: malformed request");
	}
	/* The request is answered before the buffer goes: GC reads VALID entries from it. */
	switch (rq->verb) {
	case DHCP_V_ADD:
		dhcp_do_add(k, rq);
		break;
	case DHCP_V_DEL:
		dhcp_do_del(k, rq);
		break;
	case DHCP_V_CHECK:
		dhcp_do_check(k, rq);
		break;
	case DHCP_V_GC:
		dhcp_do_gc(k, rq);
		break;
	case DHCP_V_STATUS:
		dhcp_buf_init(&b);
		dhcp_put_u32(&b, DHCP_T_ERRNO, 0);
		dhcp_reply(k, &b);
		break;
	default:
		dhcp_reply_err(k, EOPNOTSUPP, "dhcp: unknown request");
		break;
	}
	free(rq);
}

static void dhcp_conn_read(struct dhcp_conn *k)
{
	for (;;) {
		ssize_t n;

		if (k->client) {
			/* Waiting for a lease: the only thing to notice is the plugin going away. */
			uint8_t x;

			n = recv(k->fd, &x, 1, MSG_DONTWAIT);
			if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
				dhcp_conn_close(k);
			return;
		}
		if (k->len == k->want) {
			uint8_t *nb;
			size_t len;

			if (k->want > 4)
				return dhcp_handle(k);
			len = (size_t)k->buf[0] << 24 | (size_t)k->buf[1] << 16 |
			      (size_t)k->buf[2] << 8 | k->buf[3];
			if (len > DHCP_PROTO_MAX || len < 5)
				return dhcp_conn_close(k);
			nb = realloc(k->buf, 4 + len);
			if (!nb)
				return dhcp_conn_close(k);
			k->buf = nb;
			k->want = 4 + len;
			continue;
		}
		n = read(k->fd, k->buf + k->len, k->want - k->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0)
			return dhcp_conn_close(k);
		k->len += (size_t)n;
	}
}

/*
 * Out of descriptors, the listener stays readable: a level-triggered loop would spin on it.
 * Drop the waiting connections with the spare descriptor; without one, stop listening until
 * the loop's next turn (at most a second later, see dhcp_daemon_main()).
 */
static bool dhcp_accept_emfile(int lfd)
{
	static long long logged;
	long long now = dhcp_boot_ms();

	if (now - logged > 10000) {
		dhcp_log("out of file descriptors: dropping connections");
		logged = now;
	}
	if (dhcp_spare_fd < 0) {
		dhcp_spare_fd = dmn_spare_open();
		if (dhcp_spare_fd < 0) {
			dmn_loop_del(&dhcp_loop, lfd);
			dhcp_accept_resume = now + 1000;
			return false;
		}
	}
	return dmn_accept_shed(lfd, &dhcp_spare_fd);
}

static void dhcp_accept(int lfd)
{
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		struct dhcp_conn *k;
		int r;

		if (fd < 0 && (errno == EMFILE || errno == ENFILE) && dhcp_accept_emfile(lfd))
			continue;
		if (fd < 0)
			return;
		k = calloc(1, sizeof(*k));
		if (k)
			k->buf = malloc(4);
		if (!k || !k->buf) {
			free(k);
			close(fd);
			return;
		}
		k->ev = (struct dmn_ev){.kind = DHCP_EV_CONN, .owner = k};
		k->fd = fd;
		k->want = 4;
		k->deadline = dhcp_boot_ms() + dhcp_idle_ms;
		k->next = dhcp_conns;
		dhcp_conns = k;
		/* unwatched, the plugin would wait for an answer until the idle timeout */
		r = dmn_loop_add(&dhcp_loop, fd, &k->ev, EPOLLIN | EPOLLRDHUP);
		if (r) {
			dhcp_log("watching a connection: %s", strerror(-r));
			dhcp_conn_close(k);
			return;
		}
	}
}

/*
 * Close the connections that have not sent their whole request in time (an ADD waiting for its
 * lease is bounded by its own timeout). Returns the epoll timeout until the next deadline.
 */
static int dhcp_conn_sweep(void)
{
	long long now = dhcp_boot_ms(), next = -1;

	for (struct dhcp_conn *k = dhcp_conns, *nk; k; k = nk) {
		nk = k->next;
		if (k->client)
			continue;
		if (k->deadline <= now) {
			dhcp_conn_close(k);
			continue;
		}
		if (next < 0 || k->deadline - now < next)
			next = k->deadline - now;
	}
	if (dhcp_accept_resume && (next < 0 || next > dhcp_accept_resume - now))
		next = dhcp_accept_resume > now ? dhcp_accept_resume - now : 0;
	return next > 0x7fffffff ? 0x7fffffff : (int)next;
}

/* ---- start-up ------------------------------------------------------------------------------ */

static int dhcp_mkdir_p(const char *path, mode_t mode)
{
	char buf[4096];
	size_t n = strlen(path);

	if (n >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, n + 1);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* The listening socket: systemd's (LISTEN_FDS=1) or our own at @path. fd or -errno. */
static int dhcp_listen(const char *path, bool *activated)
{
	const char *nfds = dmn_listen_fds();
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char dir[4096];
	mode_t old;
	int fd, r;

	*activated = false;
	if (nfds) {
		if (strcmp(nfds, "1")) {
			dhcp_log("socket activation passed %s sockets; exactly one expected", nfds);
			return -EINVAL;
		}
		*activated = true;
		return dmn_listen_take(1);
	}
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	snprintf(dir, sizeof(dir), "%s", path);
	if (strrchr(dir, '/') && strrchr(dir, '/') != dir) {
		*strrchr(dir, '/') = '\0';
		r = dhcp_mkdir_p(dir, 0700);
		if (r)
			return r;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	/* A socket file nobody answers on is a leftover of a crash; a live one is another daemon. */
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 || errno == EAGAIN) {
		close(fd);
		dhcp_log("another daemon is listening on %s", path);
		return -EADDRINUSE;
	}
	close(fd);
	unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	old = umask(0177);
	r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (r < 0 || chmod(path, 0600) < 0 || listen(fd, 128) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

static void dhcp_resume_one(struct dhcp_client *c)
{
	if (dhcp_find(c->cid, c->network, c->ifname)) {
		dhcp_client_free(c);
		return;
	}
	c->next = dhcp_clients;
	dhcp_clients = c;
	dhcp_log("%s/%s/%s: resuming lease of %u.%u.%u.%u/%u", c->cid, c->network, c->ifname,
		 c->lease.addr[0], c->lease.addr[1], c->lease.addr[2], c->lease.addr[3],
		 c->lease.mask_len);
	dhcp_client_resume(c);
}

/* A duration flag's text (Go's: "10s", "1m30s", "500ms") into *@out ms; false if it is not one. */
static bool dhcp_dur_flag(const char *v, uint32_t *out)
{
	long long ms = dhcp_duration_ms(v);

	if (ms <= 0 || ms > 0xffffffffLL)
		return false;
	*out = (uint32_t)ms;
	return true;
}

struct dhcp_turn {
	int lfd, sfd;
	bool stop;
};

/*
 * One event of the loop. A handler may free an object whose event is later in this batch (DEL
 * frees a client): true after each one that can, the batch ends and the loop polls again.
 */
static bool dhcp_on_event(void *arg, struct dmn_ev *ev, uint32_t events)
{
	struct dhcp_turn *t = arg;
	int sig;

	(void)events;
	switch (ev->kind) {
	case DHCP_EV_LISTEN:
		dhcp_accept(t->lfd);
		return false;
	case DHCP_EV_SIGNAL:
		while ((sig = dmn_signal_next(t->sfd)))
			dhcp_log("signal %d: shutting down, leases kept", sig);
		t->stop = true;
		return true;
	case DHCP_EV_CONN:
		dhcp_conn_read(ev->owner);
		break;
	case DHCP_EV_PKT:
		dhcp_client_on_packet(ev->owner);
		break;
	case DHCP_EV_TIMER:
		dhcp_client_on_timer(ev->owner);
		break;
	}
	return true;
}

/*
 * The daemon's flags (the reference's names, both styles: daemon/flags.h). Returns DMN_FLAGS_RUN;
 * or _HELP/_VERSION, printed; or -EINVAL, said on stderr with the flag.
 */
static int dhcp_flags(int argc, char **argv, const char **socketpath, const char **pidfile)
{
	const char *broadcast = NULL, *dur[4] = {NULL};
	uint32_t *const dur_dst[4] = {&dhcp_def_timeout, &dhcp_def_resend_max,
				      &dhcp_def_resend_timeout, &dhcp_idle_ms};
	static const char *const dur_name[4] = {"timeout", "resendmax", "resendtimeout",
						"idletimeout"};
	const struct dmn_flag flags[] = {
		{"socketpath", "PATH", "the plugin's unix socket, under -hostprefix "
				       "(default " DHCP_DEFAULT_SOCKET ")", socketpath},
		{"pidfile", "FILE", "write the daemon's pid there (default: none)", pidfile},
		{"hostprefix", "PREFIX", "prefix of the socket, the state dir and every CNI_NETNS "
					 "(the daemon in a container with the host's / there)",
		 &dhcp_hostprefix, true},
		{"statedir", "DIR", "leases kept across restarts, under -hostprefix (default "
				    DHCP_DEFAULT_STATEDIR ")", &dhcp_statedir},
		{"broadcast", NULL, "ask servers to broadcast their replies (BOOTP broadcast flag) "
				    "for every lease", &broadcast},
		{"timeout", "DURATION", "one DHCP exchange's timeout, unless the network sets "
					"ipam.timeout (default 10s)", &dur[0]},
		{"resendmax", "DURATION", "longest wait between retransmissions, unless the "
					  "network sets ipam.resendMax (default 62s)", &dur[1]},
		{"resendtimeout", "DURATION", "give up acquiring a lease after this long, unless the "
					      "network sets ipam.resendTimeout (default 208s)",
		 &dur[2]},
		{"idletimeout", "DURATION", "close a plugin connection that has not sent its whole "
					    "request by then (default 30s)", &dur[3]},
		{NULL},
	};
	char err[256];
	int r = dmn_flags_parse(flags, argc, argv, err, sizeof(err));

	for (int i = 0; r == DMN_FLAGS_RUN && i < 4; i++)
		if (dur[i] && !dhcp_dur_flag(dur[i], dur_dst[i])) {
			snprintf(err, sizeof(err), "flag -%s: \"%s\" is not a duration (10s, 1m30s)",
				 dur_name[i], dur[i]);
			r = -EINVAL;
		}
	if (r == DMN_FLAGS_RUN && broadcast)
		dhcp_def_broadcast = dmn_flag_true(broadcast);
	if (r == DMN_FLAGS_HELP)
		r = dmn_flags_usage(stdout, "dhcp daemon [flags]   (the DHCP client daemon the dhcp "
					    "plugin talks to)", flags) ? -EIO : r;
	else if (r == DMN_FLAGS_VERSION)
		r = cni_print_version(dhcp_cni_plugin.name, (int)dhcp_cni_plugin.min_version) ? -EIO : r;
	else if (r < 0)
		fprintf(stderr, "dhcp daemon: %s (see dhcp daemon --help)\n", err);
	return r;
}

int dhcp_daemon_main(int argc, char **argv)
{
	static const int sigs[] = {SIGTERM, SIGINT};
	const char *socketpath = DHCP_DEFAULT_SOCKET, *pidfile = NULL;
	char sockfull[4096 + 256], statefull[4096 + 256];
	struct dmn_ev lev = {.kind = DHCP_EV_LISTEN}, sev = {.kind = DHCP_EV_SIGNAL};
	struct dhcp_turn t = {0};
	bool activated;
	int lfd, sfd, r;

	r = dhcp_flags(argc, argv, &socketpath, &pidfile);
	if (r != DMN_FLAGS_RUN)
		return r == -EINVAL ? 2 : r < 0 ? 1 : 0;
	snprintf(sockfull, sizeof(sockfull), "%s%s", dhcp_hostprefix, socketpath);
	snprintf(statefull, sizeof(statefull), "%s%s", dhcp_hostprefix, dhcp_statedir);
	dhcp_statedir = statefull;

	/* Blocked before any helper thread exists: they inherit the mask, signalfd gets them all. */
	sfd = dmn_signals(sigs, sizeof(sigs) / sizeof(sigs[0]));
	r = sfd < 0 ? sfd : dmn_loop_open(&dhcp_loop);
	if (r < 0) {
		dhcp_log("signalfd/epoll: %s", strerror(-r));
		return 1;
	}
	dhcp_epfd = dhcp_loop.ep;
	r = dhcp_mkdir_p(dhcp_statedir, 0700);
	if (r) {
		dhcp_log("state dir %s: %s", dhcp_statedir, strerror(-r));
		return 1;
	}
	lfd = dhcp_listen(sockfull, &activated);
	if (lfd < 0) {
		dhcp_log("listening on %s: %s", sockfull, strerror(-lfd));
		return 1;
	}
	if (pidfile && (r = dmn_pidfile_write(pidfile))) {
		dhcp_log("pidfile %s: %s", pidfile, strerror(-r));
		return 1;
	}
	if ((r = dmn_loop_add(&dhcp_loop, lfd, &lev, EPOLLIN)) ||
	    (r = dmn_loop_add(&dhcp_loop, sfd, &sev, EPOLLIN))) {
		dhcp_log("epoll_ctl: %s", strerror(-r));
		return 1;
	}
	t.lfd = lfd;
	t.sfd = sfd;
	r = dhcp_store_load(dhcp_resume_one);
	if (r)
		dhcp_log("reading %s: %s", dhcp_statedir, strerror(-r));
	dhcp_log("listening on %s%s, leases in %s", sockfull,
		 activated ? " (socket activation)" : "", dhcp_statedir);

	dhcp_spare_fd = dmn_spare_open();
	while (!t.stop) {
		int n;

		if (dhcp_accept_resume && dhcp_boot_ms() >= dhcp_accept_resume)
			dhcp_accept_resume = dmn_loop_add(&dhcp_loop, lfd, &lev, EPOLLIN)
						 ? dhcp_boot_ms() + 1000 /* try again */
						 : 0;
		/* the sweep first: no event of this batch can name a connection it closes */
		n = dmn_loop_turn(&dhcp_loop, dhcp_conn_sweep(), 32, dhcp_on_event, &t);
		if (n == -EINTR)
			continue;
		if (n < 0) {
			dhcp_log("epoll_wait: %s", strerror(-n));
			break;
		}
	}

	while (dhcp_conns) {
		struct dhcp_conn *k = dhcp_conns;

		if (k->client)
			dhcp_answer(k->client, ESHUTDOWN, "dhcp: the daemon is shutting down");
		else
			dhcp_conn_close(k);
	}
	while (dhcp_clients) {
		struct dhcp_client *c = dhcp_clients;

		dhcp_clients = c->next;
		dhcp_client_free(c);
	}
	close(lfd);
	if (dhcp_spare_fd >= 0)
		close(dhcp_spare_fd);
	if (!activated)
		unlink(sockfull);
	if (pidfile)
		unlink(pidfile);
	close(sfd);
	dmn_loop_close(&dhcp_loop);
	dhcp_epfd = -1;
	return 0;
}
