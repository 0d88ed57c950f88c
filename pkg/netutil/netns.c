// SPDX-License-Identifier: Apache-2.0
/*
 * Network namespace handles: opening a CNI_NETNS path with the checks the reference plugins make
 * (the file must live on nsfs or procfs), entering a netns and coming back, and telling whether a
 * path is our own netns. Creates no kernel objects; every fd is close-on-exec and the fd of the
 * netns we left is closed as soon as we are back.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <linux/magic.h>

#include "netutil/internal.h"

#ifndef NSFS_MAGIC
#define NSFS_MAGIC 0x6e736673
#endif

/* The calling thread's netns: plugins are single-threaded, but thread-self is the exact one. */
#define SELF_NETNS "/proc/thread-self/ns/net"

int nu_netns_open(const char *path, int *fd, struct cni_err *e)
{
	struct statfs sfs;
	int r, nfd;

	*fd = -1;
	/* O_NONBLOCK: a FIFO or a device must not block the open before the check below */
	nfd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (nfd < 0) {
		r = -errno;
		if (r == -ENOENT)
			return nu__failx(e, r, "netns path \"%s\" does not exist", path);
		return nu__failx(e, r, "opening netns \"%s\"", path);
	}
	if (fstatfs(nfd, &sfs) < 0) {
		r = -errno;
		close(nfd);
		return nu__failx(e, r, "statfs of netns \"%s\"", path);
	}
	if ((unsigned long)sfs.f_type != NSFS_MAGIC &&
	    (unsigned long)sfs.f_type != PROC_SUPER_MAGIC) {
		close(nfd);
		return nu__failx(e, -EINVAL, "unknown FS magic on \"%s\": %lx", path,
				 (unsigned long)sfs.f_type);
	}
	*fd = nfd;
	return 0;
}

int nu_netns_enter(int fd, int *orig_fd, struct cni_err *e)
{
	int orig, r;

	*orig_fd = -1;
	orig = open(SELF_NETNS, O_RDONLY | O_CLOEXEC);
	if (orig < 0)
		return nu__failx(e, -errno, "opening the current netns");
	if (setns(fd, CLONE_NEWNET) < 0) {
		r = -errno;
		close(orig);
		return nu__failx(e, r, "entering netns");
	}
	*orig_fd = orig;
	return 0;
}

void nu_netns_leave(int orig_fd)
{
	static const char msg[] = "{\"code\":999,\"msg\":\"cannot return to the original network "
				  "namespace: setns failed\"}\n";

	/* ENOMEM is transient: try again a few times. Never go on in the wrong netns: an error
	 * object and exit 1 (not abort(): the runtime gets an answer, not a core dump). */
	for (int i = 0; setns(orig_fd, CLONE_NEWNET) < 0; i++)
		if (i == 8) {
			if (write(STDOUT_FILENO, msg, sizeof(msg) - 1) < 0)
				_exit(1);
			_exit(1);
		}
	close(orig_fd);
}

int nu_netns_is_current(const char *path)
{
	struct stat a, b;

	if (stat(path, &a) < 0)
		return -errno;
	if (stat(SELF_NETNS, &b) < 0)
		return -errno;
	return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

int nu_netns_temp(int *fd, struct cni_err *e)
{
	int orig, nfd, r;

	*fd = -1;
	orig = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (orig < 0)
		return nu__failx(e, -errno, "opening the current netns");
	if (unshare(CLONE_NEWNET) < 0) {
		r = -errno;
		close(orig);
		return nu__failx(e, r, "creating a temporary netns");
	}
	nfd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	r = nfd < 0 ? -errno : 0;
	nu_netns_leave(orig); /* aborts rather than stay in the wrong netns */
	if (r < 0)
		return nu__failx(e, r, "opening the temporary netns");
	*fd = nfd;
	return 0;
}
