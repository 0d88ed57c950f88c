/* SPDX-License-Identifier: Apache-2.0 */
/*
 * nu_link_del_deferred() against the kernel (issue 20): when it returns, the container's link is
 * gone from its netns and its veth peer from the bridge; the same name and address work again
 * at once; over 200 cycles no link, file or child is left (the function makes no netns and
 * mounts nothing: /proc/self/mountinfo is the host's, others' mounts move it). Its time and
 * nu_link_del()'s, one after the other on the same shape, are printed as a note (the load decides
 * them).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cni/ip.h"
#include "netutil/netutil.h"
#include "nstest.h"

#define CYCLES 200

static struct cni_err e;

static int count_dir(const char *path)
{
	DIR *d = opendir(path);
	int n = 0;

	if (!d)
		return -1;
	for (struct dirent *de; (de = readdir(d));)
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

static double now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int cmpd(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/*
 * The files of our running children: each may hold stdin/out/err (/dev/null), its answer pipe
 * and its netlink socket, nothing else. Returns how many extra files were seen (0 is good).
 */
static int children_extra_files(int *seen)
{
	char path[128], line[4096], link[256];
	int extra = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%d/children", (int)getpid());
	f = fopen(path, "r");
	if (!f || !fgets(line, sizeof(line), f)) {
		if (f)
			fclose(f);
		return 0;
	}
	fclose(f);
	for (char *s = strtok(line, " \n"); s; s = strtok(NULL, " \n")) {
		DIR *d;

		snprintf(path, sizeof(path), "/proc/%s/fd", s);
		d = opendir(path);
		if (!d)
			continue;
		(*seen)++;
		for (struct dirent *de; (de = readdir(d));) {
			char fp[400];
			ssize_t n;

			if (de->d_name[0] == '.')
				continue;
			snprintf(fp, sizeof(fp), "%s/%s", path, de->d_name);
			n = readlink(fp, link, sizeof(link) - 1);
			if (n < 0)
				continue;
			link[n] = '\0';
			if (atoi(de->d_name) < 3
				? strcmp(link, "/dev/null") != 0
				: strncmp(link, "pipe:", 5) && strncmp(link, "socket:", 7))
				extra++;
		}
		closedir(d);
	}
	return extra;
}

int main(void)
{
	_nu_nl_cleanup_ struct nu_nl *nl_c = NULL, *nl_h = NULL;
	struct nu_link_info br;
	struct cni_prefix p;
	double t_def[CYCLES / 2], t_del[CYCLES / 2];
	int ns_c = -1, ns_h = -1, orig, fds0, bad_gone = 0, bad_peer = 0, bad_addr = 0,
	    bad_create = 0, bad_ret = 0, extra = 0, seen = 0, nd = 0, nn = 0;
	char host[NU_IFNAMSIZ];

	if (geteuid() != 0) {
		TAP_SKIP("linkdefer", "kernel tests need root");
		return tap_done();
	}
	/* host: a netns of our own; container: another one, held by an fd */
	orig = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (unshare(CLONE_NEWNET) < 0) {
		TAP_SKIP("linkdefer", "unshare(CLONE_NEWNET): %s", strerror(errno));
		return tap_done();
	}
	ns_h = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	CHECK(unshare(CLONE_NEWNET) == 0);
	ns_c = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	CHECK(setns(ns_h, CLONE_NEWNET) == 0);
	close(orig);
	CHECK_R(nu_nl_open(&nl_c, ns_c, &e), 0);
	CHECK_R(nu_nl_open(&nl_h, ns_h, &e), 0);
	if (!nl_c || !nl_h)
		return tap_done();
	CHECK(nu_bridge_ensure(nl_h, "br0", 0, false, false, &br, &e) >= 0);
	CHECK(cni_prefix_parse("10.99.0.2/24", &p) == 0);

	CHECK_R(nu_link_del_deferred(nl_c, ns_c, "eth0", &e), 0); /* missing: success */
	CHECK_R(nu_link_del_deferred(nl_c, ns_c, "bad/name", &e), -EINVAL);
	CHECK_MSG("invalid name");

	fds0 = count_dir("/proc/self/fd");
	for (int i = 0; i < CYCLES; i++) {
		int cidx, hidx, r;
		struct nu_addr *a = NULL;
		size_t n = 0;
		double t0;

		host[0] = '\0';
		hidx = nu_veth_create(nl_c, "eth0", 0, NULL, ns_h, host, &e);
		cidx = nu_link_index(nl_c, "eth0");
		if (hidx <= 0 || cidx <= 0 || nu_link_set_master(nl_h, hidx, br.ifindex, &e) ||
		    nu_link_set_up(nl_c, cidx, &e) || nu_addr_add(nl_c, cidx, &p, &e)) {
			bad_create++; /* the same name and address again, right after a deferred DEL
				       */
			fprintf(stderr, "# cycle %d: %s\n", i, e.msg);
			break;
		}
		t0 = now_ms();
		r = i % 2 ? nu_link_del(nl_c, "eth0", &e)
			  : nu_link_del_deferred(nl_c, ns_c, "eth0", &e);
		if (i % 2)
			t_del[nn++] = now_ms() - t0;
		else
			t_def[nd++] = now_ms() - t0;
		bad_ret += r != 0;
		if (i % 2 == 0 && i < 20)
			extra += children_extra_files(&seen);
		bad_gone += nu_link_index(nl_c, "eth0") != -ENODEV ||
			    nu_link_get(nl_c, NULL, cidx, &(struct nu_link_info){0}, &e) != -ENODEV;
		bad_peer += nu_link_index(nl_h, host) != -ENODEV;
		if (nu_addr_list(nl_c, 0, AF_INET, &a, &n, &e) == 0)
			for (size_t k = 0; k < n; k++)
				bad_addr += cni_ip_eq(&a[k].prefix.ip, &p.ip);
		free(a);
	}
	CHECK_INT(bad_create, 0);
	CHECK_INT(bad_ret, 0);
	CHECK_INT(bad_gone, 0);
	CHECK_INT(bad_peer, 0);
	CHECK_INT(bad_addr, 0);
	CHECK_INT(extra, 0);
	if (seen)
		TAP_OK("children inspected while they ran keep only /dev/null, a pipe, a socket");
	else
		TAP_SKIP("children's files", "every child had exited when looked at");
	CHECK_INT(count("ip -o link show master br0 | wc -l"), 0);
	/* every child ends on its own and exits 0 */
	{
		int st, kids = 0, bad = 0;

		while (wait(&st) > 0) {
			kids++;
			bad += !WIFEXITED(st) || WEXITSTATUS(st);
		}
		CHECK_INT(kids, CYCLES / 2);
		CHECK_INT(bad, 0);
	}
	CHECK_INT(count("ip -o link show | wc -l"), 2); /* lo, br0 */
	CHECK(setns(ns_c, CLONE_NEWNET) == 0);
	CHECK_INT(count("ip -o link show | wc -l"), 1); /* lo */
	CHECK(setns(ns_h, CLONE_NEWNET) == 0);
	CHECK_INT(count_dir("/proc/self/fd"), fds0);
	if (nd && nn) {
		qsort(t_def, nd, sizeof(double), cmpd);
		qsort(t_del, nn, sizeof(double), cmpd);
		printf(
		    "# deferred: median %.2f ms, p90 %.2f; nu_link_del: median %.2f ms, p90 %.2f "
		    "(%d each, alternated)\n",
		    t_def[nd / 2], t_def[nd * 9 / 10], t_del[nn / 2], t_del[nn * 9 / 10], nd);
	}
	return tap_done();
}
