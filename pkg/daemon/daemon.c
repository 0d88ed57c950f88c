// SPDX-License-Identifier: Apache-2.0
/*
 * The daemons' shared mechanics (daemon.h): the epoll loop, signals, socket activation, pid
 * files, the spare descriptor. libc only; nothing here knows DNS, DHCP or a plugin.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon/daemon.h"

/* ---- the loop -------------------------------------------------------------------------------- */

int dmn_loop_open(struct dmn_loop *l)
{
	l->ep = epoll_create1(EPOLL_CLOEXEC);
	return l->ep < 0 ? -errno : 0;
}

void dmn_loop_close(struct dmn_loop *l)
{
	if (l->ep >= 0)
		close(l->ep);
	l->ep = -1;
}

int dmn_loop_add(struct dmn_loop *l, int fd, struct dmn_ev *ev, uint32_t events)
{
	struct epoll_event e = {.events = events, .data.ptr = ev};

	return epoll_ctl(l->ep, EPOLL_CTL_ADD, fd, &e) ? -errno : 0;
}

int dmn_loop_mod(struct dmn_loop *l, int fd, struct dmn_ev *ev, uint32_t events)
{
	struct epoll_event e = {.events = events, .data.ptr = ev};

	return epoll_ctl(l->ep, EPOLL_CTL_MOD, fd, &e) ? -errno : 0;
}

void dmn_loop_del(struct dmn_loop *l, int fd)
{
	epoll_ctl(l->ep, EPOLL_CTL_DEL, fd, NULL);
}

int dmn_loop_turn(struct dmn_loop *l, int timeout_ms, int max, dmn_handler fn, void *arg)
{
	struct epoll_event evs[64];
	int n, i;

	if (max < 1 || max > 64)
		max = 64;
	n = epoll_wait(l->ep, evs, max, timeout_ms);
	if (n < 0)
		return -errno;
	for (i = 0; i < n; i++)
		if (fn(arg, evs[i].data.ptr, evs[i].events))
			return i + 1;
	return n;
}

/* ---- signals --------------------------------------------------------------------------------- */

int dmn_signals(const int *sigs, size_t n)
{
	sigset_t mask;
	int fd;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&mask);
	for (size_t i = 0; i < n; i++)
		sigaddset(&mask, sigs[i]);
	if (sigprocmask(SIG_BLOCK, &mask, NULL))
		return -errno;
	fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	return fd < 0 ? -errno : fd;
}

int dmn_signal_next(int sfd)
{
	struct signalfd_siginfo si;

	if (read(sfd, &si, sizeof(si)) != (ssize_t)sizeof(si))
		return 0;
	return (int)si.ssi_signo;
}

/* ---- socket activation ----------------------------------------------------------------------- */

const char *dmn_listen_fds(void)
{
	const char *pid = getenv("LISTEN_PID"), *nfds = getenv("LISTEN_FDS");

	if (!pid || !nfds || atol(pid) != (long)getpid())
		return NULL;
	return nfds;
}

int dmn_listen_take(int n)
{
	for (int fd = 3; fd < 3 + n; fd++) {
		fcntl(fd, F_SETFD, FD_CLOEXEC);
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	}
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	return 3;
}

char *dmn_listen_names(int n, const char **names)
{
	const char *v = getenv("LISTEN_FDNAMES");
	char *buf = strdup(v ? v : ""), *p = buf;

	for (int i = 0; i < n; i++) {
		names[i] = p ? p : "";
		if (p && (p = strchr(p, ':')))
			*p++ = 0;
	}
	return buf;
}

int dmn_send_fds(int sock, const void *to, socklen_t tolen, const char *txt, size_t len,
		 const int *fds, size_t n, int flags)
{
	struct iovec iov = {.iov_base = (void *)txt, .iov_len = len};
	struct msghdr mh = {.msg_name = (void *)to, .msg_namelen = tolen, .msg_iov = &iov,
			    .msg_iovlen = 1};
	union {
		char buf[CMSG_SPACE(sizeof(int) * DMN_MAX_FDS)];
		struct cmsghdr align;
	} u;

	if (n > DMN_MAX_FDS)
		return -EINVAL;
	if (n) {
		struct cmsghdr *cm;

		memset(&u, 0, sizeof(u));
		mh.msg_control = u.buf;
		mh.msg_controllen = CMSG_SPACE(n * sizeof(int));
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(n * sizeof(int));
		memcpy(CMSG_DATA(cm), fds, n * sizeof(int));
	}
	return sendmsg(sock, &mh, flags | MSG_NOSIGNAL) < 0 ? -errno : 0;
}

int dmn_notify(const char *state, const int *fds, size_t n)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t len;
	int fd, r;

	if (!path || (*path != '/' && *path != '@'))
		return 0;
	len = strlen(path);
	if (len >= sizeof(sa.sun_path))
		return -EINVAL;
	memcpy(sa.sun_path, path, len);
	if (*path == '@') /* abstract */
		sa.sun_path[0] = 0;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* the manager's queue may be full for a while (a thousand FDSTORE messages): bounded */
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &(struct timeval){.tv_sec = 2}, sizeof(struct timeval));
	r = dmn_send_fds(fd, &sa, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len), state,
			 strlen(state), fds, n, 0);
	close(fd);
	return r < 0 ? r : 1;
}

/* ---- pid files ------------------------------------------------------------------------------- */

int dmn_pidfile_lock(const char *path)
{
	struct stat st;
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

	if (fd < 0)
		return -errno;
	if (!fstat(fd, &st) && (st.st_mode & 077))
		fchmod(fd, 0600);
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		int r = -errno;

		close(fd);
		return r;
	}
	return fd;
}

int dmn_pidfile_put(int fd)
{
	if (ftruncate(fd, 0) || dprintf(fd, "%d\n", (int)getpid()) < 0)
		return -errno;
	return 0;
}

int dmn_pidfile_write(const char *path)
{
	char tmp[4200];
	FILE *f;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	f = fopen(tmp, "we");
	if (!f)
		return -errno;
	fprintf(f, "%d\n", (int)getpid());
	if (fflush(f) || fsync(fileno(f)) || fclose(f) || rename(tmp, path) < 0) {
		int r = -errno;

		unlink(tmp);
		return r;
	}
	return 0;
}

/* ---- descriptors ----------------------------------------------------------------------------- */

int dmn_spare_open(void)
{
	return open("/dev/null", O_RDONLY | O_CLOEXEC);
}

bool dmn_accept_shed(int lfd, int *spare)
{
	int fd;

	if (*spare < 0)
		return false;
	close(*spare);
	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (fd >= 0)
		close(fd);
	*spare = dmn_spare_open();
	return fd >= 0;
}
