// SPDX-License-Identifier: Apache-2.0
/*
 * sysctls under /proc/sys, in any netns. A /proc/sys/net file belongs to the netns of the process
 * that opens it, so the file is opened inside the target netns and read or written after coming
 * back. Names follow the reference plugins: dots or slashes, swapped when the first separator is
 * a dot. Writes nothing unless asked; nu_sysctl_ensure() writes only on a difference.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "netutil/internal.h"

int nu_sysctl_path(const char *name, char *buf, size_t len)
{
	static const char root[] = "/proc/sys/";
	size_t n = strlen(name), dot = strcspn(name, "."), slash = strcspn(name, "/");
	bool swap = dot < slash;
	char *p, *comp;

	if (!n || sizeof(root) - 1 + n + 1 > len)
		return n ? -ENAMETOOLONG : -EINVAL;
	memcpy(buf, root, sizeof(root) - 1);
	p = buf + sizeof(root) - 1;
	for (size_t i = 0; i <= n; i++) {
		char c = name[i];

		if (swap && c == '.')
			c = '/';
		else if (swap && c == '/')
			c = '.';
		p[i] = c;
	}
	/* the name may come from a config file: no way out of /proc/sys */
	for (comp = p; *comp;) {
		size_t l = strcspn(comp, "/");

		if (l == 0 || (l == 1 && comp[0] == '.') || (l == 2 && !strncmp(comp, "..", 2)))
			return -EINVAL;
		comp += l;
		if (*comp == '/' && *++comp == '\0')
			return -EINVAL;
	}
	return 0;
}

/* Open a sysctl file of the netns of @netns_fd. */
static int sysctl_open(int netns_fd, const char *name, int flags, struct cni_err *e)
{
	char path[512];
	int orig, fd, r;

	r = nu_sysctl_path(name, path, sizeof(path));
	if (r < 0)
		return nu__failx(e, r, "invalid sysctl name \"%s\"", name);
	if (netns_fd >= 0) {
		r = nu_netns_enter(netns_fd, &orig, e);
		if (r < 0)
			return r;
	}
	fd = open(path, flags | O_CLOEXEC | O_NOCTTY);
	r = fd < 0 ? -errno : fd;
	if (netns_fd >= 0)
		nu_netns_leave(orig);
	if (r < 0)
		return nu__failx(e, r, "opening sysctl %s", path);
	return fd;
}

int nu_sysctl_get(int netns_fd, const char *name, char *buf, size_t len, struct cni_err *e)
{
	_nu_fd_cleanup_ int fd = -1;
	ssize_t n;

	if (!len)
		return -EINVAL;
	fd = sysctl_open(netns_fd, name, O_RDONLY, e);
	if (fd < 0)
		return fd;
	do
		n = read(fd, buf, len - 1);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return nu__failx(e, -errno, "reading sysctl %s", name);
	buf[n] = '\0';
	if (n > 0 && buf[n - 1] == '\n')
		buf[n - 1] = '\0';
	return 0;
}

int nu_sysctl_set(int netns_fd, const char *name, const char *value, struct cni_err *e)
{
	_nu_fd_cleanup_ int fd = -1;
	size_t len = strlen(value);
	ssize_t n;

	fd = sysctl_open(netns_fd, name, O_WRONLY, e);
	if (fd < 0)
		return fd;
	/* a sysctl takes one write(); a short write means the value was not taken */
	do
		n = write(fd, value, len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return nu__failx(e, -errno, "writing \"%s\" to sysctl %s", value, name);
	if ((size_t)n != len)
		return nu__failx(e, -EIO, "writing \"%s\" to sysctl %s", value, name);
	return 0;
}

int nu_sysctl_ensure(int netns_fd, const char *name, const char *value, struct cni_err *e)
{
	char cur[256];
	size_t vlen = strlen(value);
	int r;

	r = nu_sysctl_get(netns_fd, name, cur, sizeof(cur), e);
	if (r < 0)
		return r;
	if (!strcmp(cur, value) || (vlen && value[vlen - 1] == '\n' &&
				    !strncmp(cur, value, vlen - 1) && cur[vlen - 1] == '\0'))
		return 0;
	r = nu_sysctl_set(netns_fd, name, value, e);
	return r < 0 ? r : 1;
}
