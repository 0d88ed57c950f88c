/* SPDX-License-Identifier: Apache-2.0 */
/*
 * delfloor: ways to take a link out of a "container" netns, timed against RTM_DELLINK (issue 20,
 * "DEL below the naive floor"). Root; the run is in a netns of its own ("host") with a second one
 * ("cont"); every link it makes lives in these namespaces (or in throwaway ones it makes).
 *
 *   cc -O2 -o build/delfloor bench/delfloor.c && build/delfloor [-n N] [-s veth|bridge|macvlan]
 *
 * Per iteration a fresh link is made in cont (a veth with its peer in host, enslaved to a bridge
 * for "bridge"; a macvlan over a dummy for "macvlan"), then one method, round-robin so that every
 * method sees the same load:
 *   del      RTM_DELLINK in cont, until the ack (the floor: what the plugins do)
 *   mvnew    unshare a new netns, move the link there (IFLA_NET_NS_FD), close it: cleanup_net
 *            destroys it in its worker
 *   mvpre    the same with a netns made before the clock starts
 *   grave    move into one long-lived netns with IFLA_GROUP 77 in the same message; every 10th
 *            run deletes the group with one RTM_DELLINK (timed apart: "grave-batch", per link)
 *   fork     a forked child sends RTM_DELLINK; the parent returns at the kernel's RTM_DELLINK
 *            notification in cont and one RTM_GETLINK of the index answering ENODEV (the child
 *            finishes the kernel's RCU wait alone; reaped outside the clock); "fork-ack" is
 *            when the child had its ack, from the same start
 *   forkpre  the same with the child forked before the clock starts, released through a pipe
 *   down     RTM_NEWLINK down, then RTM_DELLINK ("down-del": the delete alone)
 * Prints median, p10, p90 in ms per method.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef IFLA_NET_NS_FD
#define IFLA_NET_NS_FD 28
#endif

struct req {
	struct nlmsghdr h;
	struct ifinfomsg i;
	char buf[1024];
};

static int host_ns, cont_ns, grave_ns;
static unsigned seq = 1;

static void die(const char *w)
{
	perror(w);
	exit(2);
}

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static struct rtattr *put(struct req *r, int type, const void *d, int len)
{
	struct nlmsghdr *h = &r->h;
	struct rtattr *a = (struct rtattr *)((char *)r + NLMSG_ALIGN(h->nlmsg_len));

	a->rta_type = type;
	a->rta_len = RTA_LENGTH(len);
	if (len)
		memcpy(RTA_DATA(a), d, len);
	h->nlmsg_len = NLMSG_ALIGN(h->nlmsg_len) + RTA_ALIGN(a->rta_len);
	return a;
}

static void end(struct req *r, struct rtattr *a)
{
	a->rta_len = (char *)r + r->h.nlmsg_len - (char *)a;
}

static int nl_open(int ns, unsigned groups)
{
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK, .nl_groups = groups};
	int fd;

	if (ns >= 0 && setns(ns, CLONE_NEWNET) < 0)
		die("setns");
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		die("netlink");
	if (ns >= 0 && setns(host_ns, CLONE_NEWNET) < 0)
		die("setns host");
	return fd;
}

/* Sends and waits for the ack: 0 or -errno. */
static int talk(int fd, struct nlmsghdr *h)
{
	char buf[8192];

	h->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	h->nlmsg_seq = ++seq;
	if (send(fd, h, h->nlmsg_len, 0) < 0)
		return -errno;
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);

		if (n < 0)
			return -errno;
		for (struct nlmsghdr *r = (void *)buf; NLMSG_OK(r, n); r = NLMSG_NEXT(r, n))
			if (r->nlmsg_seq == h->nlmsg_seq && r->nlmsg_type == NLMSG_ERROR)
				return ((struct nlmsgerr *)NLMSG_DATA(r))->error;
	}
}

static void init(struct req *r, int type, int flags)
{
	memset(r, 0, sizeof(*r));
	r->h.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg));
	r->h.nlmsg_type = type;
	r->h.nlmsg_flags = flags;
	r->i.ifi_family = AF_UNSPEC;
}

static const char *shape = "veth";
static char hname[16];
static int hostfd, contfd;

/* Makes "c0" in cont; returns its ifindex there. */
static int make(void)
{
	struct req r;
	struct rtattr *li, *data, *peer;
	int fd = cont_ns;

	init(&r, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
	put(&r, IFLA_IFNAME, "c0", 3);
	put(&r, IFLA_NET_NS_FD, &fd, 4);
	if (!strcmp(shape, "macvlan")) {
		int m = if_nametoindex("d0");

		put(&r, IFLA_LINK, &m, 4);
	}
	li = put(&r, IFLA_LINKINFO, NULL, 0);
	if (!strcmp(shape, "macvlan")) {
		unsigned mode = MACVLAN_MODE_BRIDGE;

		put(&r, IFLA_INFO_KIND, "macvlan", 8);
		data = put(&r, IFLA_INFO_DATA, NULL, 0);
		put(&r, IFLA_MACVLAN_MODE, &mode, 4);
		end(&r, data);
	} else {
		put(&r, IFLA_INFO_KIND, "veth", 5);
		data = put(&r, IFLA_INFO_DATA, NULL, 0);
		peer = put(&r, 1 /* VETH_INFO_PEER */, NULL, 0);
		r.h.nlmsg_len += sizeof(struct ifinfomsg);
		put(&r, IFLA_IFNAME, hname, strlen(hname) + 1);
		if (!strcmp(shape, "bridge")) {
			int b = if_nametoindex("br0");

			put(&r, IFLA_MASTER, &b, 4);
		}
		end(&r, peer);
		end(&r, data);
	}
	end(&r, li);
	int e = talk(hostfd, &r.h);
	if (e)
		errno = -e, die("make");
	/* up, as a container's eth0 is */
	init(&r, RTM_NEWLINK, 0);
	put(&r, IFLA_IFNAME, "c0", 3);
	r.i.ifi_flags = r.i.ifi_change = IFF_UP;
	if ((e = talk(contfd, &r.h)))
		errno = -e, die("up");
	if (strcmp(shape, "macvlan")) {
		init(&r, RTM_NEWLINK, 0);
		put(&r, IFLA_IFNAME, hname, strlen(hname) + 1);
		r.i.ifi_flags = r.i.ifi_change = IFF_UP;
		if ((e = talk(hostfd, &r.h)))
			errno = -e, die("up h0");
	}
	setns(cont_ns, CLONE_NEWNET);
	int idx = if_nametoindex("c0");
	setns(host_ns, CLONE_NEWNET);
	return idx;
}

static int del_name(int fd, const char *name, int group)
{
	struct req r;

	init(&r, RTM_DELLINK, 0);
	if (name)
		put(&r, IFLA_IFNAME, name, strlen(name) + 1);
	if (group)
		put(&r, IFLA_GROUP, &group, 4);
	return talk(fd, &r.h);
}

static int move1(int fd, int ifindex, const char *name, int nsfd, int group)
{
	struct req r;

	init(&r, RTM_NEWLINK, 0);
	r.i.ifi_index = ifindex;
	if (name)
		put(&r, IFLA_IFNAME, name, strlen(name) + 1);
	put(&r, IFLA_NET_NS_FD, &nsfd, 4);
	if (group)
		put(&r, IFLA_GROUP, &group, 4);
	return talk(fd, &r.h);
}

/* Moves c0 and, for a veth, its peer (the host end would stay behind until the worker runs). */
static int move(int ifindex, int nsfd, int group)
{
	int e = move1(contfd, ifindex, "gc%d", nsfd, group);

	if (!e && strcmp(shape, "macvlan")) {
		int h = if_nametoindex(hname);

		e = move1(hostfd, h, "gh%d", nsfd, group);
	}
	return e;
}

static int new_ns(void)
{
	int fd;

	if (unshare(CLONE_NEWNET) < 0)
		die("unshare");
	fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(host_ns, CLONE_NEWNET) < 0)
		die("new ns");
	return fd;
}

static int gone(int ifindex)
{
	struct req r;

	init(&r, RTM_GETLINK, 0);
	r.i.ifi_index = ifindex;
	return talk(contfd, &r.h) == -ENODEV;
}

/* fork: the notification socket is opened before the child runs. */
static int mon = -1, peer_before, peer_after;

static void wait_dellink(int ifindex)
{
	char buf[16384];

	for (;;) {
		struct pollfd p = {.fd = mon, .events = POLLIN};

		if (poll(&p, 1, 5000) <= 0)
			die("no RTM_DELLINK in 5 s");
		ssize_t n = recv(mon, buf, sizeof(buf), 0);
		if (n < 0)
			die("recv mon");
		for (struct nlmsghdr *h = (void *)buf; NLMSG_OK(h, n); h = NLMSG_NEXT(h, n))
			if (h->nlmsg_type == RTM_DELLINK &&
			    ((struct ifinfomsg *)NLMSG_DATA(h))->ifi_index == ifindex)
				return;
	}
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

enum { DEL, MVNEW, MVPRE, GRAVE, FORK, DOWN, FORKPRE, NM, BATCH = NM, FORKACK, DOWNDEL, NR };
static const char *names[] = {"del",  "mvnew",	 "mvpre",	"grave",    "fork",
			      "down", "forkpre", "grave-batch", "fork-ack", "down-del"};

int main(int argc, char **argv)
{
	int n = 100, c;
	double *t[NR];
	int cnt[NR] = {0}, pending = 0, children = 0;

	while ((c = getopt(argc, argv, "n:s:")) != -1)
		if (c == 'n')
			n = atoi(optarg);
		else
			shape = optarg;
	for (int m = 0; m < NR; m++)
		t[m] = calloc(n + 1, sizeof(double));
	int pp[2], gp[2];

	if (pipe(pp) < 0 || pipe(gp) < 0 || unshare(CLONE_NEWNET) < 0)
		die("unshare host");
	host_ns = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	cont_ns = new_ns();
	grave_ns = new_ns();
	hostfd = nl_open(-1, 0);
	contfd = nl_open(cont_ns, 0);
	if (!strcmp(shape, "bridge") &&
	    system("ip link add br0 type bridge && ip link set br0 up") != 0)
		die("br0");
	if (!strcmp(shape, "macvlan") &&
	    system("ip link add d0 type veth peer d1 && ip link set d0 up") != 0)
		die("d0");
	for (int i = 0; i < n * NM; i++) {
		snprintf(hname, sizeof(hname), "h%d", i);
		int m = i % NM, idx = make(), e = 0, pre = -1;
		if (getenv("DELFLOOR_DEBUG"))
			fprintf(stderr, "i=%d m=%d idx=%d\n", i, m, idx);
		double t0;

		if (m == MVPRE)
			pre = new_ns();
		pid_t pre_child = -1;
		if (m == FORK || m == FORKPRE)
			mon = nl_open(cont_ns, RTMGRP_LINK);
		if (m == FORKPRE) {
			pre_child = fork();
			if (pre_child < 0)
				die("fork");
			if (pre_child == 0) {
				char go;
				int fd = nl_open(cont_ns, 0);

				if (read(gp[0], &go, 1) != 1)
					_exit(1);
				_exit(del_name(fd, "c0", 0) ? 1 : 0);
			}
			children++;
		}
		t0 = now();
		switch (m) {
		case DEL:
			e = del_name(contfd, "c0", 0);
			break;
		case MVNEW: {
			int fd = new_ns();

			e = move(idx, fd, 0);
			close(fd);
			break;
		}
		case MVPRE:
			e = move(idx, pre, 0);
			close(pre);
			break;
		case GRAVE:
			e = move(idx, grave_ns, 77);
			break;
		case DOWN: {
			struct req r;

			init(&r, RTM_NEWLINK, 0);
			r.i.ifi_index = idx;
			r.i.ifi_change = IFF_UP;
			e = talk(contfd, &r.h);
			t[DOWNDEL][cnt[DOWNDEL]] = now();
			if (!e)
				e = del_name(contfd, "c0", 0);
			t[DOWNDEL][cnt[DOWNDEL]] = now() - t[DOWNDEL][cnt[DOWNDEL]];
			cnt[DOWNDEL]++;
			break;
		}
		case FORKPRE:
			if (write(gp[1], "g", 1) != 1)
				die("go");
			wait_dellink(idx);
			if (strcmp(shape, "macvlan") && if_nametoindex(hname))
				peer_before++;
			if (!gone(idx))
				e = -EEXIST;
			if (strcmp(shape, "macvlan") && if_nametoindex(hname))
				peer_after++;
			break;
		case FORK: {
			pid_t p = fork();

			if (p < 0)
				die("fork");
			if (p == 0) {
				int r = del_name(nl_open(cont_ns, 0), "c0", 0);
				double ta = now();

				if (write(pp[1], &ta, sizeof(ta)) != sizeof(ta))
					r = 1;
				_exit(r ? 1 : 0);
			}
			children++;
			wait_dellink(idx);
			if (!gone(idx))
				e = -EEXIST;
			break;
		}
		}
		double dt = now() - t0;
		if (e)
			errno = -e, die(names[m]);
		t[m][cnt[m]++] = dt;
		if (m == FORKPRE) {
			close(mon);
			while (children) {
				int st;
				if (wait(&st) < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
					die("child");
				children--;
			}
		}
		if (m == FORK) {
			double ta;

			close(mon);
			if (read(pp[0], &ta, sizeof(ta)) != sizeof(ta))
				die("pipe");
			t[FORKACK][cnt[FORKACK]++] = ta - t0;
			while (children) {
				int st;
				if (wait(&st) < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
					die("child");
				children--;
			}
		}
		if (m == GRAVE && ++pending == 10) {
			int gfd = nl_open(grave_ns, 0);

			t0 = now();
			e = del_name(gfd, NULL, 77);
			t[BATCH][cnt[BATCH]++] = (now() - t0) / pending;
			if (e)
				errno = -e, die("grave batch");
			close(gfd);
			pending = 0;
		}
	}
	printf("shape=%s n=%d\n%-12s %8s %8s %8s %8s\n", shape, n, "method", "median", "p10", "p90",
	       "x_del");
	double base = 0;
	for (int m = 0; m < NR; m++) {
		int k = cnt[m];

		if (!k)
			continue;
		qsort(t[m], k, sizeof(double), cmp);
		double med = t[m][k / 2];
		if (m == DEL)
			base = med;
		printf("%-12s %8.3f %8.3f %8.3f %8.2f\n", names[m], med, t[m][k / 10],
		       t[m][k * 9 / 10], med / base);
	}
	printf("forkpre: host end still there at the notification %d times, after RTM_GETLINK %d\n",
	       peer_before, peer_after);
	return 0;
}
