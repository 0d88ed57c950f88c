// SPDX-License-Identifier: Apache-2.0
/*
 * The daemon's start, the same for the plugin (plugin.c) and "dnsname restart" (handoff.c):
 * nobody's child, its own session, stdio away from the caller's, a log, and a readiness pipe on
 * fd 3 (--ready-fd 3).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dnsname.h"

/* @fd moved above 3 (so the dup2s onto 0..3 below cannot overwrite it), close-on-exec. */
static int above3(int fd)
{
	int nfd;

	if (fd < 0 || fd > 3)
		return fd;
	nfd = fcntl(fd, F_DUPFD_CLOEXEC, 4);
	close(fd);
	return nfd;
}

int dn_daemon_spawn(const char *exe, const char *log, char *const argv[], int timeout_ms)
{
	int p[2], status, r;
	struct pollfd pfd;
	char byte;
	pid_t pid;
	ssize_t n;

	if (pipe2(p, O_CLOEXEC))
		return -errno;
	pid = fork();
	if (pid < 0) {
		r = -errno;
		close(p[0]);
		close(p[1]);
		return r;
	}
	if (pid == 0) {
		int w, nul, lg;

		setsid();
		if (fork() != 0)
			_exit(0);
		/* with stdio closed, pipe2 and open return 0..3: each would be lost (or, on fd 3,
		 * keep its close-on-exec) in the dup2s below */
		w = above3(p[1]);
		nul = above3(open("/dev/null", O_RDWR | O_CLOEXEC));
		lg = above3(open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
		if (nul < 0 || w < 0)
			_exit(1);
		dup2(nul, 0);
		dup2(nul, 1);
		dup2(lg >= 0 ? lg : nul, 2);
		dup2(w, 3); /* w > 3: dup2 clears close-on-exec on fd 3 */
		/* a runtime run as a systemd unit passes its own: this daemon is not that unit's */
		unsetenv("NOTIFY_SOCKET");
		unsetenv("FDSTORE");
		unsetenv("LISTEN_PID");
		unsetenv("LISTEN_FDS");
		unsetenv("LISTEN_FDNAMES");
		execv(exe, argv);
		_exit(127);
	}
	close(p[1]);
	waitpid(pid, &status, 0);
	pfd = (struct pollfd){.fd = p[0], .events = POLLIN};
	n = poll(&pfd, 1, timeout_ms) > 0 ? read(p[0], &byte, 1) : -1;
	close(p[0]);
	return n == 1 ? 0 : -EHOSTDOWN;
}
