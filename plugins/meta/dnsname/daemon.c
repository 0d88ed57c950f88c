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
 * 53 itself) finds none after a new one stopped. Except under systemd with --fd-store
 * (fdstore.c): a stop cannot be told from a restart there, so the rewrites stay with the
 * listeners in systemd's store, and after a systemctl stop until the next start.
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
 * byte on --ready-fd (and READY=1 to $NOTIFY_SOCKET) after the first load. SIGTERM/SIGINT:
 * clean exit (with --fd-store: the listeners to systemd's store first, fdstore.c). With --exit-idle (how
 * the plugin starts it) it also exits once no network file is left, as aardvark-dns does.
 * The loop, signals, socket activation and pid file are pkg/daemon's (daemon/daemon.h). All
 * state is one struct dn_ctx, allocated by dn_daemon_main() and passed down: no globals.
 *
 * This file is the start-up, the loop and the dispatch of its events, signals, inotify and the
 * exit when idle; each other job has a file of this folder over daemon.h, which lists them.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cni/about.h"
#include "cni/cni.h"
#include "daemon.h"
#include "daemon/flags.h"

void dn_logf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("dnsname: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

void dn_logk(struct dn_ctx *d, enum dn_logkind k, const char *fmt, ...)
{
	uint32_t dropped;
	va_list ap;

	if (!dn_rl_admit(&d->logrl[k], dn_now_ms(), &dropped))
		return;
	if (dropped)
		fprintf(stderr, "dnsname: suppressed %u messages\n", dropped);
	va_start(ap, fmt);
	fputs("dnsname: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
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
	dn_logf("no network left: exiting");
	dmn_loop_del(&d->loop, d->ctl);
	close(d->ctl);
	d->ctl = -1;
	snprintf(path, sizeof(path), "%s/dnsname.sock", d->run_dir);
	unlink(path);
	d->idle_lock = fd;
	d->quit = true;
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
	if (d->handed || d->stored)
		return; /* the sockets are the new daemon's: a reload here would close them */
	if (nets && !d->ho_give) /* handing them over: the new daemon reads the files (or, if
				  * the handoff fails, we do again: handoff.c) */
		dn_reload(d);
	if (resolv)
		dn_load_resolv(d);
}

static void on_signal(struct dn_ctx *d)
{
	int sig;

	while ((sig = dmn_signal_next(d->sig))) {
		if (sig == SIGHUP && (d->handed || d->stored)) {
			continue;
		} else if (sig != SIGHUP && dn_fdstore_give(d)) {
			continue; /* we drain, then exit (a second signal: at once) */
		} else if (sig == SIGHUP) {
			if (!d->ho_give)
				dn_reload(d);
			dn_load_resolv(d);
		} else {
			d->quit = true;
		}
	}
}

/* ---- start-up and the loop ------------------------------------------------------------------ */

/*
 * The pid file locked for our life (dmn_pidfile_lock) and our pid written in it: 0, or 1. With
 * @tries > 1 (after a takeover: the old daemon closed it before its release), a lock still held
 * is tried again every 20 ms.
 */
static int pid_take(struct dn_ctx *d, int tries)
{
	char path[PATH_MAX + 32];
	int r;

	snprintf(path, sizeof(path), "%s/dnsname.pid", d->run_dir);
	d->pidfd = dmn_pidfile_lock(path);
	while (d->pidfd == -EWOULDBLOCK && --tries > 0) {
		nanosleep(&(struct timespec){.tv_nsec = 20 * 1000000}, NULL);
		d->pidfd = dmn_pidfile_lock(path);
	}
	if (d->pidfd == -EWOULDBLOCK) {
		dn_logf("another daemon holds %s", path);
		return 1;
	}
	if (d->pidfd < 0) {
		errno = -d->pidfd;
		dn_logf("cannot open %s: %m", path);
		return 1;
	}
	r = dmn_pidfile_put(d->pidfd);
	if (r) {
		errno = -r;
		dn_logf("cannot write %s: %m", path);
	}
	return 0;
}

/*
 * The daemon's flags (both styles: daemon/flags.h). DMN_FLAGS_RUN; or _HELP/_VERSION, printed;
 * or -EINVAL, said on stderr with the flag.
 */
static int dn_flags(struct dn_ctx *d, int argc, char **argv, int *ready, bool *takeover)
{
	const char *fd = NULL, *idle = NULL, *take = NULL, *store = NULL, *env;
	const struct dmn_flag flags[] = {
		{"run-dir", "DIR", "the networks' record files and the control socket (default "
				   DN_RUN_DIR ")", &d->run_dir},
		{"resolv-conf", "FILE", "the upstream servers for names not of a network (default "
					"/etc/resolv.conf, watched)", &d->resolv_conf},
		{"ready-fd", "FD", "write one byte there once the records are loaded", &fd},
		{"exit-idle", NULL, "exit once no network file is left (how the plugin starts it)",
		 &idle},
		{"takeover", NULL, "take the sockets over from the running daemon (dnsname restart)",
		 &take},
		{"fd-store", NULL, "on stop, leave the listeners in systemd's fd store for the next "
				   "daemon (the unit's FileDescriptorStoreMax=)", &store},
		{NULL},
	};
	char err[256], *end;
	int r = dmn_flags_parse(flags, argc, argv, err, sizeof(err));
	long v;

	if (r == DMN_FLAGS_RUN && fd) {
		errno = 0;
		v = strtol(fd, &end, 10);
		if (errno || end == fd || *end || v < 0 || v > INT_MAX) {
			snprintf(err, sizeof(err), "flag -ready-fd: \"%s\" is not a descriptor", fd);
			r = -EINVAL;
		} else {
			*ready = (int)v;
		}
	}
	if (r == DMN_FLAGS_RUN) {
		d->exit_idle = dmn_flag_true(idle);
		*takeover = dmn_flag_true(take);
		/* systemd 254 and later say the store is on; 252 (Debian 12) does not: the flag */
		env = getenv("FDSTORE");
		d->fdstore = (dmn_flag_true(store) || (env && atoi(env) > 0)) &&
			     getenv("NOTIFY_SOCKET");
	}
	if (r == DMN_FLAGS_HELP)
		r = dmn_flags_usage(stdout, "dnsname daemon [flags]   (the resolver of the dnsname "
					    "plugin's networks)", flags) ? -EIO : r;
	else if (r == DMN_FLAGS_VERSION)
		r = cni_print_version(dn_plugin.name, (int)dn_plugin.min_version) ? -EIO : r;
	else if (r < 0)
		fprintf(stderr, "dnsname daemon: %s (see dnsname daemon --help)\n", err);
	return r;
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
		dn_on_ctl(d);
		break;
	case EV_CTLC:
		dn_on_ctlc(d, ev->owner);
		break;
	case EV_SIG:
		on_signal(d);
		break;
	case EV_INO:
		on_inotify(d);
		break;
	case EV_UDP:
		dn_on_udp(d, ev->owner);
		break;
	case EV_TCPL:
		dn_on_tcp_accept(d, ev->owner);
		break;
	case EV_CONN:
		dn_on_conn(d, ev->owner, events);
		break;
	case EV_UP:
		for (int f = 0; f < 2; f++)
			for (int k = 0; k < UP_SOCKS; k++)
				if (ev == &d->uev[f][k])
					dn_on_upstream_udp(d, d->usock[f][k]);
		break;
	case EV_UPTCP:
		dn_on_upstream_tcp(d, (int)(intptr_t)ev->owner, events);
		break;
	}
	return type == EV_CTL || type == EV_CTLC || type == EV_SIG || type == EV_INO ||
	       type == EV_CONN || type == EV_TCPL;
}

int dn_daemon_main(int argc, char **argv)
{
	char path[PATH_MAX + 32];
	static const int sigs[] = {SIGTERM, SIGINT, SIGHUP};
	int ready = -1, keep = 2, r, took = 1, status = 0;
	bool takeover = false;
	struct stat st;
	/* zero pages until used (the forward table and the UDP batch are most of it) */
	struct dn_ctx *d = calloc(1, sizeof(*d));

	if (!d)
		return 1;
	d->run_dir = dn_run_dir_default();
	d->pidfd = -1;
	d->ho_fd = -1;
	for (int k = 0; k < DN_LOG_KINDS; k++)
		dn_rl_init(&d->logrl[k], DN_LOG_RATE, DN_LOG_BURST);
	d->batch_fd = -1;
	d->idle_lock = -1;
	d->spare = -1;
	d->loop.ep = -1;
	r = dn_flags(d, argc, argv, &ready, &takeover);
	d->resolv_given = d->resolv_conf != NULL;
	if (!d->resolv_conf)
		d->resolv_conf = "/etc/resolv.conf";
	if (r != DMN_FLAGS_RUN) {
		free(d);
		return r == -EINVAL ? 2 : r < 0 ? 1 : 0;
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
	if (d->netsfd < 0) {
		dn_logf("cannot open %s: %m", d->run_dir);
		return 1;
	}
	if (takeover) { /* the running daemon's sockets, before anything of ours (handoff.c) */
		took = dn_handoff_take(d);
		if (took < 0) { /* the old daemon serves on: what we received goes */
			dn_logf("takeover: %s", d->last_err);
			dn_adopt_release(d, false);
			if (d->ho_fd >= 0)
				close(d->ho_fd);
			free(d);
			return 1;
		}
	}
	/* taking over, the old daemon releases the pid file once we serve (dn_handoff_confirm) */
	if (took > 0 && pid_take(d, 1))
		return 1;
	if (!stat("/proc/self/ns/net", &st)) {
		d->self_dev = st.st_dev;
		d->self_ino = st.st_ino;
	}
	/*
	 * Untouched zero pages until used (half a megabyte of forward slots): an unused slot is all
	 * zeros, and dn_forward() sets the fields whose "none" is -1.
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
	if (took > 0)
		d->ctl = dn_ctl_open(d);
	if (r < 0 || d->sig < 0 || d->ino < 0 || d->ctl < 0) {
		if (d->ctl < 0 || d->sig < 0 || r < 0)
			errno = d->ctl < 0 ? -d->ctl : d->sig < 0 ? -d->sig : -r;
		dn_logf("start-up failed: %m");
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
	dn_reload(d);
	dn_load_resolv(d);
	dn_fdstore_confirm(d);
	if (!took && dn_handoff_confirm(d)) {
		/* the old daemon never stopped (or has the sockets still): leave as a handed-over
		 * daemon does, its rewrites, control socket and pid file untouched */
		dn_logf("takeover: %s", d->last_err);
		d->handed = d->quit = true;
		status = 1;
	} else if (!took) {
		/* released: we are the one serving now, pid file or not (a second at most) */
		if (pid_take(d, 50))
			dn_logf("takeover: serving without the pid file's lock");
		dn_reload(d); /* files written while the old daemon no longer reloaded */
		dn_logf("took over from the daemon before");
	}
	dn_logf("serving %zu networks, %zu containers, %d upstreams", d->snap->n, d->n_lsn,
		d->resolv_ups ? d->resolv_ups->n : 0);
	if (ready >= 0 && !status) {
		if (write(ready, "1", 1) != 1)
			dn_logf("readiness pipe: %m");
		close(ready);
	}
	if (!status && dmn_notify("READY=1", NULL, 0) < 0)
		dn_logf("notify socket: %m");

	while (!d->quit) {
		uint64_t now = dn_now_ms(), next = now + 60000;
		int timeout;

		if (d->fwd_head >= 0 && d->fwd[d->fwd_head].deadline < next)
			next = d->fwd[d->fwd_head].deadline;
		if (d->conn_head && d->conn_head->last + CONN_IDLE_MS < next)
			next = d->conn_head->last + CONN_IDLE_MS;
		if (d->ctl_head && d->ctl_head->deadline < next)
			next = d->ctl_head->deadline;
		if (d->ho_give && d->ho_give->deadline < next)
			next = d->ho_give->deadline;
		if (d->idle_check && now + 1000 < next)
			next = now + 1000;
		if ((d->handed || d->stored) && d->drain_until < next)
			next = d->drain_until;
		timeout = next > now && !d->n_kick ? (int)(next - now) : 0;
		dmn_loop_turn(&d->loop, timeout, 64, on_event, d);
		now = dn_now_ms();
		dn_fwd_timeouts(d, now);
		dn_conn_kicked(d);
		dn_conn_timeouts(d, now);
		dn_ctl_timeouts(d, now);
		dn_handoff_timeout(d, now);
		if (d->idle_check && !d->ho_give) /* the control socket is being handed over */
			idle_exit(d);
		if (dn_handoff_drained(d, now) || dn_fdstore_drained(d, now))
			d->quit = true;
	}

	/* clean exit: everything closed and freed (valgrind-clean) */
	while (d->ctl_head)
		dn_ctlc_close(d, d->ctl_head);
	dn_handoff_drop(d);
	for (size_t b = 0; b < LSN_BUCKETS; b++)
		while (d->lsn[b])
			dn_lsn_close(d, d->lsn[b]);
	for (int i = 0; i < FWD_MAX; i++)
		if (d->fwd[i].used)
			dn_fwd_free(d, i);
	for (int f = 0; f < 2; f++)
		for (int i = 0; i < UP_SOCKS; i++)
			if (d->usock[f][i] >= 0)
				close(d->usock[f][i]);
	dn_ups_cleanup(d);
	dn_snap_free(d->snap);
	free(d->fwd);
	snprintf(path, sizeof(path), "%s/dnsname.sock", d->run_dir);
	if (d->ctl >= 0 && !d->activated && !d->handed)
		unlink(path);
	snprintf(path, sizeof(path), "%s/dnsname.pid", d->run_dir);
	if (!d->handed) /* else the new daemon's */
		unlink(path);
	if (d->ctl >= 0)
		close(d->ctl);
	dmn_loop_close(&d->loop);
	close(d->sig);
	close(d->ino);
	close(d->netsfd);
	if (d->spare >= 0)
		close(d->spare);
	if (d->pidfd >= 0)
		close(d->pidfd);
	dn_logf(d->handed   ? "stopped (handed over)"
		: d->stored ? "stopped (listeners in the fd store)"
			    : "stopped");
	if (d->idle_lock >= 0)
		close(d->idle_lock); /* a plugin waiting to start a daemon may now */
	free(d);
	return status;
}
