/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the two daemons (dnsname's resolver, dhcp's lease daemon) share: the epoll loop over
 * tagged events, signals through a signalfd, systemd socket activation, the pid file, and the
 * spare descriptor that sheds a connection when descriptors run out. libc alone (build/
 * libdaemon.a, linked by those two binaries only); each daemon keeps its own state and policy.
 *
 * The loop is level-triggered. A handler that may free what a later event of the same batch
 * points at (a closed connection, a reload) ends the batch: those events come back at the next
 * wait, so no event is ever handed over with a dangling owner and no free has to be deferred.
 */
#ifndef DAEMON_DAEMON_H
#define DAEMON_DAEMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* What an epoll registration points at: the daemon's kind (its own enum) and the object. */
struct dmn_ev {
	int kind;
	void *owner;
};

struct dmn_loop {
	int ep; /* the epoll descriptor, -1 when closed */
};

/* Opens the loop (close-on-exec). 0 or -errno. */
int dmn_loop_open(struct dmn_loop *l);
void dmn_loop_close(struct dmn_loop *l);
/* Watches @fd for @events; epoll hands @ev back. 0 or -errno. */
int dmn_loop_add(struct dmn_loop *l, int fd, struct dmn_ev *ev, uint32_t events);
int dmn_loop_mod(struct dmn_loop *l, int fd, struct dmn_ev *ev, uint32_t events);
void dmn_loop_del(struct dmn_loop *l, int fd);

/*
 * Returns true when the handler may have freed what a later event of the batch names (or the
 * loop is to stop): the batch ends there.
 */
typedef bool (*dmn_handler)(void *arg, struct dmn_ev *ev, uint32_t events);

/*
 * One turn: waits up to @timeout_ms (-1: no bound) for at most @max events (1..64) and hands
 * them to @fn in order until it returns true. The number of events handed over, or -errno of
 * the wait (-EINTR included).
 */
int dmn_loop_turn(struct dmn_loop *l, int timeout_ms, int max, dmn_handler fn, void *arg);

/*
 * Ignores SIGPIPE, blocks the @n signals of @sigs (call it before any thread is made: threads
 * inherit the mask, so the signalfd gets every one) and returns a signalfd for them
 * (close-on-exec, non-blocking), or -errno.
 */
int dmn_signals(const int *sigs, size_t n);
/* The next signal pending on @sfd, 0 when none is. */
int dmn_signal_next(int sfd);

/*
 * systemd socket activation: the LISTEN_FDS value when LISTEN_PID names this process, else
 * NULL (the caller decides how many sockets it accepts).
 */
const char *dmn_listen_fds(void);
/*
 * Takes the @n sockets systemd passed from descriptor 3 on: close-on-exec and non-blocking, and
 * LISTEN_PID, LISTEN_FDS, LISTEN_FDNAMES unset. Returns the first one (3).
 */
int dmn_listen_take(int n);
/*
 * The names systemd gave the @n passed sockets (LISTEN_FDNAMES: a socket unit's
 * FileDescriptorName=, or the FDNAME= one was stored under): @names[i] the i-th, "" where none
 * was given. Returns the buffer they point into (free() it), NULL when out of memory. Call it
 * before dmn_listen_take(), which unsets the variable.
 */
char *dmn_listen_names(int n, const char **names);

/*
 * One message (@txt, @len bytes) on @sock, to @to (@tolen bytes; NULL, 0: connected), with the
 * @n descriptors @fds (SCM_RIGHTS; at most DMN_MAX_FDS, the kernel's SCM_MAX_FD), MSG_NOSIGNAL
 * added to @flags. 0 or -errno.
 */
#define DMN_MAX_FDS 253
int dmn_send_fds(int sock, const void *to, socklen_t tolen, const char *txt, size_t len,
		 const int *fds, size_t n, int flags);
/*
 * One message to the service manager ($NOTIFY_SOCKET, sd_notify(3)'s protocol): @state
 * ("READY=1", "FDSTORE=1\nFDNAME=x", ...) with the @n descriptors @fds (SCM_RIGHTS). 1 when
 * sent, 0 when no manager listens (no NOTIFY_SOCKET), or -errno.
 */
int dmn_notify(const char *state, const int *fds, size_t n);

/*
 * The pid file of a daemon that holds it for its life: opened without following a symlink,
 * mode 0600 (a looser one is tightened), flock'ed. The descriptor (keep it open: the lock goes
 * with it), -EWOULDBLOCK when a live process holds it, or -errno. A stale file, whose holder is
 * gone, is taken over. Then dmn_pidfile_put() writes the pid.
 */
int dmn_pidfile_lock(const char *path);
/* Rewrites the locked pid file @fd with this process's pid. 0 or -errno. */
int dmn_pidfile_put(int fd);
/* A pid file written once, not locked: temp file, fsync, rename over @path. 0 or -errno. */
int dmn_pidfile_write(const char *path);

/*
 * Out of descriptors (EMFILE, ENFILE) with a connection waiting on listener @lfd, the listener
 * stays readable and a level-triggered loop would spin. The spare descriptor *@spare (an open
 * /dev/null) is given up to accept that connection and close it at once (the client sees it
 * closed, not a hang), then taken again. False when there is no spare or the accept failed.
 */
bool dmn_accept_shed(int lfd, int *spare);
/* Opens a spare descriptor for dmn_accept_shed() (/dev/null): the descriptor or -1. */
int dmn_spare_open(void);

#endif
