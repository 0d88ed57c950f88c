/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A link deletion that returns once the kernel has taken the link out of its netns, not once it
 * has freed it (issue 20). RTM_DELLINK answers after unregister_netdevice_many() has run under
 * the RTNL lock (close, unlist, NETDEV_UNREGISTER: addresses, routes, bridge port, the
 * RTM_DELLINK notification) AND after netdev_run_todo() has waited, lock released, for an RCU
 * barrier and the last references: that wait is half of the time or more under load. Here a
 * forked child sends the request and waits for the ack; the caller returns at the kernel's
 * RTM_DELLINK notification for the link, sent from the locked part after the protocols have
 * dropped it. bench/delfloor.c measures it against the other ways tried.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <netlink/route/link.h>

#include "internal.h"

/* Bound of the wait for the kernel (it is a few grace periods; a stuck kernel is an error). */
#define DEFER_WAIT_MS 30000

static int raw_socket(unsigned groups)
{
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK, .nl_groups = groups};
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);

	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int r = -errno;

		close(fd);
		return r;
	}
	return fd;
}

/* The child: RTM_DELLINK of @ifindex in its netns; 0 or -errno. */
static int child_del(int ifindex)
{
	struct {
		struct nlmsghdr h;
		struct ifinfomsg i;
	} req = {
	    .h = {.nlmsg_len = sizeof(req),
		  .nlmsg_type = RTM_DELLINK,
		  .nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK,
		  .nlmsg_seq = 1},
	    .i = {.ifi_family = AF_UNSPEC, .ifi_index = ifindex},
	};
	char buf[1024];
	int fd = raw_socket(0);

	if (fd < 0)
		return fd;
	if (send(fd, &req, sizeof(req), 0) < 0)
		return -errno;
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);

		if (n < 0)
			return -errno;
		for (struct nlmsghdr *h = (void *)buf; NLMSG_OK(h, n); h = NLMSG_NEXT(h, n))
			if (h->nlmsg_type == NLMSG_ERROR && h->nlmsg_seq == 1)
				return ((struct nlmsgerr *)NLMSG_DATA(h))->error;
	}
}

/*
 * The child's files: only @keep (>= 3) stays open, stdin/out/err become /dev/null: the pipes the
 * runtime reads must see their EOF when the caller exits, and a lock the caller holds must not
 * outlive it.
 */
static void child_files(int keep)
{
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);

	for (int fd = 0; fd < 3; fd++)
		if (null >= 0)
			dup2(null, fd);
	if (keep > 3)
		close_range(3, keep - 1, 0);
	close_range(keep + 1, ~0U, 0);
}

static _Noreturn void child(int netns_fd, int ifindex, int w)
{
	int r = setns(netns_fd, CLONE_NEWNET) < 0 ? -errno : 0;

	/* the caller stops reading at the notification: its pipe may be closed when we answer */
	signal(SIGPIPE, SIG_IGN);
	w = fcntl(w, F_DUPFD, 3);
	if (w < 0)
		_exit(1);
	child_files(w);
	if (r == 0)
		r = child_del(ifindex);
	if (write(w, &r, sizeof(r)) < 0) {
		/* nobody listens any more */
	}
	_exit(r == 0 || r == -ENODEV ? 0 : 1);
}

static long ms_left(const struct timespec *end)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (end->tv_sec - t.tv_sec) * 1000 + (end->tv_nsec - t.tv_nsec) / 1000000;
}

/* 1 when the notifications in @mon say @ifindex was deleted, 0 if not yet, -errno. */
static int saw_dellink(int mon, int ifindex)
{
	char buf[8192];
	ssize_t n = recv(mon, buf, sizeof(buf), MSG_DONTWAIT);

	if (n < 0)
		return errno == EAGAIN ? 0 : -errno;
	for (struct nlmsghdr *h = (void *)buf; NLMSG_OK(h, n); h = NLMSG_NEXT(h, n))
		if (h->nlmsg_type == RTM_DELLINK &&
		    h->nlmsg_len >= NLMSG_LENGTH(sizeof(struct ifinfomsg)) &&
		    ((struct ifinfomsg *)NLMSG_DATA(h))->ifi_index == ifindex)
			return 1;
	return 0;
}

/*
 * Waits for the RTM_DELLINK notification of @ifindex on @mon or the child's answer on @rd.
 * 0 when the link is out of its netns, -errno of the kernel's refusal, -ECHILD when the child
 * ended without an answer, -ETIMEDOUT.
 */
static int wait_gone(struct nu_nl *nl, int mon, int rd, int ifindex)
{
	struct timespec end;

	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += DEFER_WAIT_MS / 1000;
	for (;;) {
		struct pollfd p[2] = {{.fd = mon, .events = POLLIN}, {.fd = rd, .events = POLLIN}};
		long left = ms_left(&end);
		int r;

		if (left <= 0)
			return -ETIMEDOUT;
		r = poll(p, 2, (int)left);
		if (r < 0 && errno != EINTR)
			return -errno;
		if (r <= 0)
			continue;
		if (p[0].revents) {
			r = saw_dellink(mon, ifindex);
			if (r == 1)
				return 0;
			/* lost notifications (ENOBUFS): ask the kernel */
			if (r < 0) {
				struct rtnl_link *l = NULL;

				r = nu__link_kernel(nl, ifindex, NULL, &l);
				if (l)
					rtnl_link_put(l);
				if (r == -ENODEV)
					return 0;
			}
		}
		if (p[1].revents) {
			ssize_t n = read(rd, &r, sizeof(r));

			if (n < 0 && errno == EINTR)
				continue;
			if (n != sizeof(r))
				return -ECHILD;
			return r == -ENODEV ? 0 : r;
		}
	}
}

int nu_link_del_deferred(struct nu_nl *nl, int netns_fd, const char *name, struct cni_err *e)
{
	int ifindex, orig = -1, mon, p[2], r;
	pid_t pid;

	if (!nu_ifname_valid(name))
		return nu__failx(e, -EINVAL, "deleting link: invalid name \"%s\"",
				 name ? name : "");
	ifindex = nu_link_index(nl, name);
	if (ifindex <= 0)
		return 0;
	/* subscribed before the request exists: the notification cannot be missed */
	r = nu_netns_enter(netns_fd, &orig, e);
	if (r < 0)
		return r;
	mon = raw_socket(RTMGRP_LINK);
	nu_netns_leave(orig);
	if (mon < 0 || pipe2(p, O_CLOEXEC) < 0) {
		if (mon >= 0)
			close(mon);
		return nu_link_del(nl, name, e);
	}
	pid = fork();
	if (pid == 0)
		child(netns_fd, ifindex, p[1]);
	close(p[1]);
	r = pid < 0 ? -ECHILD : wait_gone(nl, mon, p[0], ifindex);
	close(p[0]);
	close(mon);
	if (r == -ECHILD) /* no child, or one that died: do it here */
		return nu_link_del_index(nl, ifindex, e);
	if (r < 0)
		return nu__failx(e, r, "deleting link \"%s\" (#%d)%s", name, ifindex,
				 r == -ETIMEDOUT ? ": the kernel did not remove it in 30 s" : "");
	return 0;
}
