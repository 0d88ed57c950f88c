// SPDX-License-Identifier: Apache-2.0
/*
 * pkg/netutil against the real kernel, in two throwaway network namespaces held only as fds of
 * this process (a "container" and a "host"), so they and everything in them vanish when the test
 * exits, however it exits. The test itself stays in its original netns and never creates anything
 * there. Kernel state written through netutil is read back through a different path where one
 * exists (`ip -j` / `bridge -j` run inside the namespace). Needs root and unshare(CLONE_NEWNET);
 * without them every case is reported as skipped (the checks that need neither are
 * tests/unit/test_netutil.c's).
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/if.h>
#include <linux/ip.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>

#include "netutil/kind/macvlan.h"
#include "netutil/netutil.h"
#include "nstest.h"

static struct cni_err e;

/* fds without FD_CLOEXEC when the test started (inherited from whoever runs it) */
static bool inheritable_at_start[1024];

static void note_inheritable_fds(void)
{
	for (int fd = 0; fd < 1024; fd++) {
		int fl = fcntl(fd, F_GETFD);

		inheritable_at_start[fd] = fl >= 0 && !(fl & FD_CLOEXEC);
	}
}

/* Every fd netutil opened (sockets, netns, sysctl files) is close-on-exec from birth. */
static bool no_new_inheritable_fds(void)
{
	for (int fd = 0; fd < 1024; fd++) {
		int fl = fcntl(fd, F_GETFD);

		if (fl >= 0 && !(fl & FD_CLOEXEC) && !inheritable_at_start[fd]) {
			printf("# fd %d is not close-on-exec\n", fd);
			return false;
		}
	}
	return true;
}

static int ns_c = -1, ns_h = -1; /* container and host netns */
static char path_c[64];

static int mk_netns(int *fd)
{
	int orig = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC), r = 0;

	if (orig < 0)
		return -errno;
	if (unshare(CLONE_NEWNET) < 0) {
		r = -errno;
	} else {
		*fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
		if (*fd < 0)
			r = -errno;
		if (setns(orig, CLONE_NEWNET) < 0)
			abort();
	}
	close(orig);
	return r;
}

/* Run argv inside netns @fd, stdout into @out. Returns the exit status, 127 if absent. */
static int run_in(int fd, char *out, size_t len, const char *const *argv)
{
	int p[2], st;
	size_t got = 0;
	pid_t pid;
	ssize_t n;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		if (setns(fd, CLONE_NEWNET) < 0)
			_exit(126);
		dup2(p[1], 1);
		dup2(null, 2);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(p[1]);
	while (got + 1 < len && (n = read(p[0], out + got, len - 1 - got)) > 0)
		got += n;
	out[got] = '\0';
	while (read(p[0], &st, sizeof(st)) > 0)
		;
	close(p[0]);
	if (pid < 0 || waitpid(pid, &st, 0) < 0)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The output of a command (`ip -j`, `bridge -j`) run in netns @fd contains @needle, or not. */
static void check_cmd(const char *name, int fd, const char *needle, bool want,
		      const char *const *argv)
{
	static char out[65536];
	int st = run_in(fd, out, sizeof(out), argv);

	if (st == 127) {
		TAP_SKIP(name, "%s not installed", argv[0]);
		return;
	}
	if (st != 0) {
		TAP_FAIL(name, "%s exited %d", argv[0], st);
		return;
	}
	if (!!strstr(out, needle) == want)
		TAP_OK(name);
	else
		TAP_FAIL(name, "%s \"%s\" in: %.400s", want ? "no" : "unexpected", needle, out);
}
#define CHECK_CMD(name, fd, needle, want, ...)                                                     \
	check_cmd(name, fd, needle, want, (const char *const[]){__VA_ARGS__, NULL})

static void test_netns(void)
{
	char tmp[] = "/tmp/cnic-test-XXXXXX";
	int fd = -1, tfd, orig;

	tfd = mkstemp(tmp);
	CHECK(tfd >= 0);
	CHECK_R(nu_netns_open(tmp, &fd, &e), -EINVAL);
	CHECK_MSG("unknown FS magic");
	CHECK_INT(fd, -1);
	unlink(tmp);
	close(tfd);
	CHECK_R(nu_netns_open("/nonexistent-cnic/netns", &fd, &e), -ENOENT);
	CHECK_MSG("does not exist");
	CHECK_R(nu_netns_open(path_c, &fd, &e), 0);
	CHECK(fd >= 0 && (fcntl(fd, F_GETFD) & FD_CLOEXEC));
	close(fd);
	CHECK_R(nu_netns_open("/proc/self/ns/net", &fd, &e), 0);
	close(fd);

	CHECK_INT(nu_netns_is_current("/proc/self/ns/net"), 1);
	CHECK_INT(nu_netns_is_current(path_c), 0);
	CHECK_INT(nu_netns_is_current("/nonexistent-cnic/netns"), -ENOENT);
	CHECK_R(nu_netns_enter(ns_c, &orig, &e), 0);
	CHECK_INT(nu_netns_is_current(path_c), 1);
	nu_netns_leave(orig);
	CHECK_INT(nu_netns_is_current(path_c), 0);
	CHECK(fcntl(orig, F_GETFD) < 0); /* leave closed it */
}

int main(void)
{
	_nu_nl_cleanup_ struct nu_nl *nl_c = NULL, *nl_h = NULL, *nl_root = NULL;
	static const uint8_t mac1[6] = {0x02, 0x11, 0x22, 0x33, 0x44, 0x55};
	static const uint8_t mac2[6] = {0x02, 0x66, 0x77, 0x88, 0x99, 0xaa};
	static const uint8_t mac3[6] = {0x02, 0xbb, 0xcc, 0xdd, 0xee, 0x01};
	struct nu_link_info ci, hi, bi, bi2, li;
	char host[NU_IFNAMSIZ] = "", host2[NU_IFNAMSIZ] = "", host3[NU_IFNAMSIZ], buf[256];
	struct nu_addr *addrs;
	struct nu_route *routes;
	size_t n;
	bool vlan_filtering;
	int r, hidx, eidx, mvm;

	note_inheritable_fds();

	if (geteuid() != 0) {
		TAP_SKIP("netutil", "kernel tests need root");
		return tap_done();
	}
	r = mk_netns(&ns_c);
	if (r == -EPERM || r == -ENOSYS || r == -EINVAL) {
		TAP_SKIP("netutil", "unshare(CLONE_NEWNET): %s", strerror(-r));
		return tap_done();
	}
	CHECK_INT(r, 0);
	CHECK_INT(mk_netns(&ns_h), 0);
	if (ns_c < 0 || ns_h < 0)
		return tap_done();
	snprintf(path_c, sizeof(path_c), "/proc/self/fd/%d", ns_c);

	test_netns();

	/* ---- sockets ---- */
	CHECK_R(nu_nl_open(&nl_c, ns_c, &e), 0);
	CHECK_R(nu_nl_open(&nl_h, ns_h, &e), 0);
	CHECK_R(nu_nl_open(&nl_root, -1, &e), 0);
	if (!nl_c || !nl_h || !nl_root)
		return tap_done();
	CHECK_INT(nu_netns_is_current("/proc/self/ns/net"), 1); /* still home */
	CHECK_INT(nu_link_index(nl_c, "lo"), 1);
	CHECK_INT(nu_link_index(nl_c, "nonexistent0"), -ENODEV);
	CHECK_INT(nu_link_index(nl_c, "bad/name"), -EINVAL);
	CHECK(no_new_inheritable_fds());

	/* ---- veth across two netns ---- */
	hidx = nu_veth_create(nl_c, "eth0", 1400, mac1, ns_h, host, &e);
	if (hidx > 0)
		TAP_OK("nu_veth_create eth0");
	else
		TAP_FAIL("nu_veth_create eth0", "%d: %s", hidx, e.msg);
	CHECK(strlen(host) == 12 && !strncmp(host, "veth", 4));
	CHECK_INT(nu_link_index(nl_h, host), hidx);
	CHECK_INT(nu_link_index(nl_c, host), -ENODEV);
	CHECK_INT(nu_link_index(nl_root, host), -ENODEV);
	CHECK_R(nu_link_get(nl_c, "eth0", 0, &ci, &e), 0);
	CHECK_STR(ci.kind, "veth");
	CHECK_INT(ci.mtu, 1400);
	CHECK(ci.mac_len == 6 && !memcmp(ci.mac, mac1, 6));
	CHECK_INT(ci.link, hidx);
	CHECK(ci.link_netnsid >= 0);
	CHECK(!(ci.flags & IFF_UP));
	CHECK_R(nu_link_get(nl_h, NULL, hidx, &hi, &e), 0);
	CHECK_STR(hi.name, host);
	CHECK_STR(hi.kind, "veth");
	CHECK_INT(hi.mtu, 1400);
	CHECK(hi.flags & IFF_UP);
	CHECK_INT(hi.link, ci.ifindex);
	snprintf(buf, sizeof(buf), "net/ipv6/conf/%s/accept_ra", host);
	{
		char v[16] = "";

		CHECK_R(nu_sysctl_get(ns_h, buf, v, sizeof(v), &e), 0);
		CHECK_STR(v, "0");
	}
	CHECK_CMD("ip reads the container veth", ns_c, "\"mtu\":1400", true, "ip", "-j", "link",
		  "show", "dev", "eth0");
	CHECK_CMD("ip reads the container mac", ns_c, "02:11:22:33:44:55", true, "ip", "-j", "link",
		  "show", "dev", "eth0");

	/* the container name collides: clear message, nothing left behind on the host */
	CHECK_R(nu_veth_create(nl_c, "eth0", 0, NULL, ns_h, host2, &e), -EEXIST);
	CHECK_MSG("container veth name \"eth0\"");
	CHECK_MSG("already exists");
	CHECK_MSG("File exists");
	CHECK_INT(nu_link_index(nl_h, host2), -ENODEV);
	/* an explicit host name collides */
	snprintf(host3, sizeof(host3), "%s", host);
	CHECK_R(nu_veth_create(nl_c, "eth9", 0, NULL, ns_h, host3, &e), -EEXIST);
	CHECK_MSG("host veth name");
	CHECK_INT(nu_link_index(nl_c, "eth9"), -ENODEV);
	CHECK_R(nu_veth_create(nl_c, "bad/name", 0, NULL, ns_h, host3, &e), -EINVAL);

	/* ---- sysctl in a netns, dot/slash names ---- */
	snprintf(host3, sizeof(host3), "hdot5");
	CHECK(nu_veth_create(nl_c, "e.5", 0, NULL, ns_h, host3, &e) > 0);
	CHECK_R(nu_sysctl_set(ns_c, "net.ipv4.conf.e/5.forwarding", "1", &e), 0);
	CHECK_R(nu_sysctl_get(ns_c, "net/ipv4/conf/e.5/forwarding", buf, sizeof(buf), &e), 0);
	CHECK_STR(buf, "1");
	CHECK_R(nu_sysctl_ensure(ns_c, "net.ipv4.conf.e/5.forwarding", "1", &e), 0);
	CHECK_R(nu_sysctl_ensure(ns_c, "net.ipv4.conf.e/5.forwarding", "0", &e), 1);
	CHECK_R(nu_sysctl_get(ns_c, "net.ipv4.conf.e/5.forwarding", buf, sizeof(buf), &e), 0);
	CHECK_STR(buf, "0");
	CHECK_R(nu_sysctl_get(-1, "net.ipv4.conf.e/5.forwarding", buf, sizeof(buf), &e), -ENOENT);
	CHECK_R(nu_sysctl_get(ns_h, "net.ipv4.conf.e/5.forwarding", buf, sizeof(buf), &e), -ENOENT);
	CHECK_R(nu_sysctl_get(ns_h, "net.ipv4.conf.hdot5.forwarding", buf, sizeof(buf), &e), 0);
	CHECK_R(nu_sysctl_set(ns_c, "net/../../etc/x", "1", &e), -EINVAL);
	CHECK_R(nu_link_del(nl_c, "e.5", &e), 0);
	CHECK_INT(nu_link_index(nl_h, "hdot5"), -ENODEV);

	/* ---- bridge in the host netns ---- */
	r = nu_bridge_ensure(nl_h, "cnitest0", 1400, true, true, &bi, &e);
	vlan_filtering = r != -EOPNOTSUPP;
	if (!vlan_filtering) {
		TAP_SKIP("bridge vlan_filtering", "kernel without CONFIG_BRIDGE_VLAN_FILTERING: %s",
			 e.msg);
		r = nu_bridge_ensure(nl_h, "cnitest0", 1400, false, true, &bi, &e);
	}
	CHECK_INT(r, 1);
	CHECK_STR(bi.kind, "bridge");
	CHECK_INT(bi.mtu, 1400);
	CHECK((bi.flags & IFF_UP) && (bi.flags & IFF_PROMISC));
	CHECK_R(nu_bridge_ensure(nl_h, "cnitest0", 1400, vlan_filtering, true, &bi2, &e), 0);
	CHECK_INT(bi2.ifindex, bi.ifindex);
	CHECK_R(nu_bridge_ensure(nl_h, host, 0, false, false, NULL, &e), -EEXIST);
	CHECK_MSG("already exists but is not a bridge");
	CHECK_CMD("ip reads the bridge", ns_h, "\"info_kind\":\"bridge\"", true, "ip", "-d", "-j",
		  "link", "show", "dev", "cnitest0");
	if (vlan_filtering)
		CHECK_CMD("bridge has vlan_filtering", ns_h, "\"vlan_filtering\":1", true, "ip",
			  "-d", "-j", "link", "show", "dev", "cnitest0");
	CHECK_R(nu_link_set_master(nl_h, hidx, bi.ifindex, &e), 0);
	CHECK_R(nu_link_get(nl_h, NULL, hidx, &hi, &e), 0);
	CHECK_INT(hi.master, bi.ifindex);
	CHECK_R(nu_bridge_port_set(nl_h, hidx, 1, 1, &e), 0);
	CHECK_CMD("port hairpin on", ns_h, "\"hairpin\":true", true, "ip", "-d", "-j", "link",
		  "show", "dev", host);
	CHECK_CMD("port isolated on", ns_h, "\"isolated\":true", true, "ip", "-d", "-j", "link",
		  "show", "dev", host);
	CHECK_R(nu_bridge_port_set(nl_h, hidx, -1, 0, &e), 0);
	CHECK_CMD("port hairpin kept", ns_h, "\"hairpin\":true", true, "ip", "-d", "-j", "link",
		  "show", "dev", host);
	CHECK_CMD("port isolated off", ns_h, "\"isolated\":false", true, "ip", "-d", "-j", "link",
		  "show", "dev", host);
	CHECK_R(nu_bridge_port_set(nl_h, hidx, -1, -1, &e), 0);
	CHECK_R(nu_bridge_port_set(nl_h, ci.ifindex + 1000, 1, -1, &e), -ENODEV);
	CHECK_R(nu_bridge_vlan_add(nl_h, hidx, 5000, false, false, false, &e), -EINVAL);
	r = nu_bridge_vlan_add(nl_h, hidx, 100, true, true, false, &e);
	if (r == -EOPNOTSUPP) {
		TAP_SKIP("bridge vlan add/del", "kernel without bridge VLAN support: %s", e.msg);
	} else {
		CHECK_INT(r, 0);
		CHECK_CMD("vlan 100 on port", ns_h,
			  "\"vlan\":100,\"flags\":[\"PVID\",\"Egress Untagged\"]", true, "bridge",
			  "-j", "vlan", "show", "dev", host);
		CHECK_R(nu_bridge_vlan_add(nl_h, bi.ifindex, 200, false, false, true, &e), 0);
		CHECK_CMD("vlan 200 on bridge", ns_h, "\"vlan\":200", true, "bridge", "-j", "vlan",
			  "show", "dev", "cnitest0");
		CHECK_R(nu_bridge_vlan_del(nl_h, hidx, 100, false, &e), 0);
		CHECK_R(nu_bridge_vlan_del(nl_h, hidx, 100, false, &e), 0);
		CHECK_CMD("vlan 100 gone", ns_h, "\"vlan\":100", false, "bridge", "-j", "vlan",
			  "show", "dev", host);
		CHECK_R(nu_bridge_vlan_del(nl_h, bi.ifindex, 200, true, &e), 0);
	}
	CHECK_R(nu_link_set_master(nl_h, hidx, 0, &e), 0);
	CHECK_R(nu_link_get(nl_h, NULL, hidx, &hi, &e), 0);
	CHECK_INT(hi.master, 0);

	/* ---- a veth born as a bridge port: enslaved and without IPv6 address before it is up ---- */
	{
		char port[NU_IFNAMSIZ] = "", bad[NU_IFNAMSIZ] = "", v[16] = "", dflt[16] = "";
		struct nu_link_info pi;
		int pidx = nu_veth_create_port(nl_c, "eth5", 0, NULL, ns_h, bi.ifindex, port, &e);

		if (pidx > 0)
			TAP_OK("nu_veth_create_port eth5");
		else
			TAP_FAIL("nu_veth_create_port eth5", "%d: %s", pidx, e.msg);
		CHECK_R(nu_link_get(nl_h, NULL, pidx, &pi, &e), 0);
		CHECK_INT(pi.master, bi.ifindex);
		CHECK(pi.flags & IFF_UP);
		CHECK_CMD("port veth: addr_gen_mode none", ns_h, "\"inet6_addr_gen_mode\":\"none\"",
			  true, "ip", "-d", "-j", "link", "show", "dev", port);
		CHECK_CMD("port veth: no IPv6 address", ns_h, "inet6", false, "ip", "-6", "addr",
			  "show", "dev", port);
		/* accept_ra is not written: it is the netns default */
		snprintf(buf, sizeof(buf), "net/ipv6/conf/%s/accept_ra", port);
		CHECK_R(nu_sysctl_get(ns_h, buf, v, sizeof(v), &e), 0);
		CHECK_R(nu_sysctl_get(ns_h, "net/ipv6/conf/default/accept_ra", dflt, sizeof(dflt), &e),
			0);
		CHECK_STR(v, dflt);
		CHECK_R(nu_link_del(nl_c, "eth5", &e), 0);
		CHECK_R(nu_veth_create_port(nl_c, "eth6", 0, NULL, ns_h, 0, bad, &e), -EINVAL);
		CHECK_MSG("invalid bridge index 0");
		/* no such master: the kernel's refusal, nothing left behind */
		r = nu_veth_create_port(nl_c, "eth6", 0, NULL, ns_h, ci.ifindex + 1000, bad, &e);
		CHECK(r < 0);
		CHECK_MSG("attaching link");
		CHECK_INT(nu_link_index(nl_c, "eth6"), -ENODEV);
		CHECK_INT(nu_link_index(nl_h, bad), -ENODEV);
		/* addr_gen_mode none on a down link: no link-local address once it is up */
		snprintf(bad, sizeof(bad), "hagm6");
		r = nu_veth_create(nl_c, "eth6", 0, NULL, ns_h, bad, &e);
		CHECK(r > 0);
		CHECK_R(nu_link_set_addr_gen_none(nl_c, nu_link_index(nl_c, "eth6"), &e), 0);
		CHECK_R(nu_link_set_up(nl_c, nu_link_index(nl_c, "eth6"), &e), 0);
		CHECK_CMD("addr_gen_mode none: no IPv6 address when up", ns_c, "inet6", false, "ip",
			  "-6", "addr", "show", "dev", "eth6");
		CHECK_CMD("addr_gen_mode none: the peer gets its link-local", ns_h, "fe80", true, "ip",
			  "-6", "addr", "show", "dev", bad);
		CHECK_R(nu_link_set_addr_gen_none(nl_c, 1000000, &e), -ENODEV);
		CHECK_R(nu_link_del(nl_c, "eth6", &e), 0);
	}

	/* ---- addresses ---- */
	eidx = nu_link_index(nl_c, "eth0");
	CHECK(eidx > 0);
	CHECK_R(nu_link_set_up(nl_c, eidx, &e), 0);
	{
		struct cni_prefix p4, p6;
		bool found4 = false, found6 = false;

		cni_prefix_parse("10.9.0.2/24", &p4);
		cni_prefix_parse("fd00:9::2/64", &p6);
		CHECK_R(nu_addr_add(nl_c, eidx, &p4, &e), 0);
		CHECK_R(nu_addr_add(nl_c, eidx, &p4, &e), -EEXIST);
		CHECK_MSG("10.9.0.2/24");
		CHECK_R(nu_addr_add(nl_c, eidx, &p6, &e), 0);
		CHECK_R(nu_addr_wait_settled(nl_c, eidx, 5000, &e), 0);
		CHECK_R(nu_addr_list(nl_c, eidx, AF_UNSPEC, &addrs, &n, &e), 0);
		for (size_t i = 0; i < n; i++) {
			if (addrs[i].prefix.len == 24 && cni_ip_eq(&addrs[i].prefix.ip, &p4.ip))
				found4 =
				    addrs[i].scope == RT_SCOPE_UNIVERSE && addrs[i].ifindex == eidx;
			if (addrs[i].prefix.len == 64 && cni_ip_eq(&addrs[i].prefix.ip, &p6.ip))
				found6 = !(addrs[i].flags & (IFA_F_TENTATIVE | IFA_F_DADFAILED));
		}
		free(addrs);
		CHECK(found4);
		CHECK(found6);
		CHECK_R(nu_addr_list(nl_c, ci.ifindex + 1000, AF_UNSPEC, &addrs, &n, &e), 0);
		CHECK(n == 0 && addrs == NULL);
		CHECK_CMD("ip reads the address and broadcast", ns_c,
			  "\"broadcast\":\"10.9.0.255\"", true, "ip", "-j", "addr", "show", "dev",
			  "eth0");

		/* ---- routes (while the addresses are there) ---- */
		struct nu_route r1 = {.oif = eidx, .table = 100, .scope = -1, .priority = 50};
		struct nu_route r1b,
		    r2 = {.oif = eidx, .scope = RT_SCOPE_LINK, .mtu = 1300, .advmss = 1260};
		struct nu_route r6 = {.oif = eidx, .scope = -1}, rbad = {.scope = -1};
		bool ok = false;

		cni_prefix_parse("10.10.0.0/16", &r1.dst);
		cni_ip_parse("10.9.0.1", &r1.gw);
		CHECK_R(nu_route_add(nl_c, &r1, &e), 0);
		CHECK_R(nu_route_add(nl_c, &r1, &e), -EEXIST);
		CHECK_R(nu_route_list(nl_c, AF_INET, 100, 0, &routes, &n, &e), 0);
		CHECK_INT(n, 1);
		if (n == 1) {
			CHECK(cni_ip_eq(&routes[0].dst.ip, &r1.dst.ip) && routes[0].dst.len == 16);
			CHECK(cni_ip_eq(&routes[0].gw, &r1.gw));
			CHECK_INT(routes[0].priority, 50);
			CHECK_INT(routes[0].table, 100);
			CHECK_INT(routes[0].scope, RT_SCOPE_UNIVERSE);
			CHECK_INT(routes[0].proto, RTPROT_BOOT);
			CHECK_INT(routes[0].oif, eidx);
		}
		free(routes);
		CHECK_R(nu_route_list(nl_c, AF_UNSPEC, 100, eidx, &routes, &n, &e), 0);
		CHECK_INT(n, 1);
		free(routes);
		CHECK_CMD("ip reads the table 100 route", ns_c, "\"metric\":50", true, "ip", "-j",
			  "route", "show", "table", "100");
		/* same destination, another gateway: allowed (no NLM_F_EXCL) */
		r1b = r1;
		cni_ip_parse("10.9.0.3", &r1b.gw);
		CHECK_R(nu_route_add(nl_c, &r1b, &e), 0);
		CHECK_R(nu_route_list(nl_c, AF_INET, 100, eidx, &routes, &n, &e), 0);
		CHECK_INT(n, 2);
		free(routes);

		cni_prefix_parse("10.11.0.0/16", &r2.dst);
		CHECK_R(nu_route_add(nl_c, &r2, &e), 0);
		CHECK_R(nu_route_list(nl_c, AF_INET, RT_TABLE_MAIN, eidx, &routes, &n, &e), 0);
		for (size_t i = 0; i < n; i++)
			if (cni_ip_eq(&routes[i].dst.ip, &r2.dst.ip))
				ok = routes[i].scope == RT_SCOPE_LINK && routes[i].mtu == 1300 &&
				     routes[i].advmss == 1260 && !routes[i].gw.family;
		free(routes);
		CHECK(ok);
		CHECK_CMD("ip reads mtu 1300", ns_c, "\"mtu\":1300", true, "ip", "-j", "route",
			  "show", "10.11.0.0/16");

		cni_prefix_parse("fd00:10::/64", &r6.dst);
		cni_ip_parse("fd00:9::1", &r6.gw);
		CHECK_R(nu_route_add(nl_c, &r6, &e), 0);
		CHECK_R(nu_route_list(nl_c, AF_INET6, 0, eidx, &routes, &n, &e), 0);
		ok = false;
		for (size_t i = 0; i < n; i++)
			if (cni_ip_eq(&routes[i].dst.ip, &r6.dst.ip) && routes[i].dst.len == 64)
				ok = cni_ip_eq(&routes[i].gw, &r6.gw) &&
				     routes[i].table == RT_TABLE_MAIN && routes[i].priority == 1024;
		free(routes);
		CHECK(ok);

		/* the kernel's extended ack reaches the message */
		cni_prefix_parse("10.12.0.0/16", &rbad.dst);
		cni_ip_parse("192.0.2.1", &rbad.gw);
		CHECK_R(nu_route_add(nl_c, &rbad, &e), -ENETUNREACH);
		CHECK_MSG("Nexthop has invalid gateway");
		CHECK_MSG("adding route 10.12.0.0/16 via 192.0.2.1");

		CHECK_R(nu_route_del(nl_c, &r1, &e), 0);
		CHECK_R(nu_route_del(nl_c, &r1, &e), 0);
		CHECK_R(nu_route_list(nl_c, AF_INET, 100, 0, &routes, &n, &e), 0);
		CHECK(n == 1 && cni_ip_eq(&routes[0].gw, &r1b.gw));
		free(routes);
		CHECK_R(nu_route_del(nl_c, &r1b, &e), 0);
		/* a delete with scope/protocol/metrics unset matches the link-scope route */
		r2.scope = -1;
		r2.mtu = r2.advmss = 0;
		CHECK_R(nu_route_del(nl_c, &r2, &e), 0);
		CHECK_R(nu_route_del(nl_c, &r2, &e), 0);
		CHECK_R(nu_route_del(nl_c, &r6, &e), 0);
		CHECK_R(nu_route_del(nl_c, &r6, &e), 0);
		CHECK_R(nu_route_list(nl_c, AF_INET, 100, 0, &routes, &n, &e), 0);
		CHECK_INT(n, 0);
		free(routes);

		CHECK_R(nu_addr_del(nl_c, eidx, &p4, &e), 0);
		CHECK_R(nu_addr_del(nl_c, eidx, &p4, &e), 0);
		CHECK_R(nu_addr_del(nl_c, eidx, &p6, &e), 0);
		CHECK_R(nu_addr_del(nl_c, eidx, &p6, &e), 0);
		CHECK_R(nu_addr_list(nl_c, eidx, AF_INET, &addrs, &n, &e), 0);
		CHECK_INT(n, 0);
		free(addrs);
	}

	/* ---- duplicate address detection failure ---- */
	{
		char dadh[NU_IFNAMSIZ] = "dadh";
		struct cni_prefix p;
		int didx, hd;

		cni_prefix_parse("fd00:d::1/64", &p);
		hd = nu_veth_create(nl_c, "dad0", 0, NULL, ns_h, dadh, &e);
		CHECK(hd > 0);
		/* carrier first, so that the host side's DAD runs (and ends) before ours starts */
		didx = nu_link_index(nl_c, "dad0");
		CHECK_R(nu_link_set_up(nl_c, didx, &e), 0);
		CHECK_R(nu_addr_add(nl_h, hd, &p, &e), 0);
		CHECK_R(nu_addr_wait_settled(nl_h, hd, 5000, &e), 0);
		CHECK_R(nu_addr_list(nl_h, hd, AF_INET6, &addrs, &n, &e), 0);
		CHECK(n >= 1 && !(addrs[0].flags & IFA_F_TENTATIVE));
		free(addrs);
		CHECK_R(nu_addr_add(nl_c, didx, &p, &e), 0);
		CHECK_R(nu_addr_wait_settled(nl_c, didx, 5000, &e), -EADDRINUSE);
		CHECK_MSG("fd00:d::1/64");
		CHECK_R(nu_link_del(nl_c, "dad0", &e), 0);
	}

	/* ---- macvlan on a veth master moved into the host netns ---- */
	{
		char mvp[NU_IFNAMSIZ] = "mvp";

		CHECK(nu_veth_create(nl_c, "mvm", 0, NULL, ns_c, mvp, &e) > 0);
		CHECK_R(nu_link_set_netns(nl_c, nu_link_index(nl_c, "mvm"), ns_h, &e), 0);
		CHECK_INT(nu_link_index(nl_c, "mvm"), -ENODEV);
		mvm = nu_link_index(nl_h, "mvm");
		CHECK(mvm > 0);
		struct nu_macvlan_spec mv = {
		    .link = {.name = "mvtmp0", .master = mvm, .mtu = 1400, .mac = mac2, .netns_fd = ns_c},
		    .mode = MACVLAN_MODE_BRIDGE,
		    .bcqueuelen = 100,
		};

		CHECK_R(nu_macvlan_create(nl_h, &mv, &e), 0);
		CHECK_INT(nu_link_index(nl_h, "mvtmp0"), -ENODEV);
		CHECK_R(nu_link_get(nl_c, "mvtmp0", 0, &li, &e), 0);
		CHECK_STR(li.kind, "macvlan");
		CHECK_INT(li.mtu, 1400);
		CHECK(li.mac_len == 6 && !memcmp(li.mac, mac2, 6));
		CHECK_CMD("macvlan mode and bcqueuelen", ns_c, "\"bcqueuelen\":100", true, "ip",
			  "-d", "-j", "link", "show", "dev", "mvtmp0");
		CHECK_CMD("macvlan mode bridge", ns_c, "\"mode\":\"bridge\"", true, "ip", "-d",
			  "-j", "link", "show", "dev", "mvtmp0");
		mv = (struct nu_macvlan_spec){
		    .link = {.name = "mvtmp0", .master = mvm, .netns_fd = ns_c},
		    .mode = MACVLAN_MODE_BRIDGE,
		};
		CHECK_R(nu_macvlan_create(nl_h, &mv, &e), -EEXIST);
		mv.link.name = "mvtmp1";
		mv.link.master = 99999;
		CHECK_R(nu_macvlan_create(nl_h, &mv, &e), -ENODEV);

		/* ---- link changes ---- */
		CHECK_R(nu_link_rename(nl_c, li.ifindex, "net1", &e), 0);
		CHECK_INT(nu_link_index(nl_c, "net1"), li.ifindex);
		CHECK_R(nu_link_rename(nl_c, li.ifindex, "eth0", &e), -EEXIST);
		CHECK_MSG("renaming link");
		CHECK_R(nu_link_set_mtu(nl_c, li.ifindex, 1300, &e), 0);
		CHECK_R(nu_link_set_mac(nl_c, li.ifindex, mac3, 6, &e), 0);
		CHECK_R(nu_link_set_up(nl_c, li.ifindex, &e), 0);
		CHECK_R(nu_link_get(nl_c, NULL, li.ifindex, &li, &e), 0);
		CHECK_STR(li.name, "net1");
		CHECK_INT(li.mtu, 1300);
		CHECK(!memcmp(li.mac, mac3, 6));
		CHECK(li.flags & IFF_UP);
		CHECK_CMD("ip reads the new mtu", ns_c, "\"mtu\":1300", true, "ip", "-j", "link",
			  "show", "dev", "net1");
		CHECK_R(nu_link_set_down(nl_c, li.ifindex, &e), 0);
		CHECK_R(nu_link_get(nl_c, "net1", 0, &li, &e), 0);
		CHECK(!(li.flags & IFF_UP));
		CHECK_R(nu_link_set_mtu(nl_c, li.ifindex, 100000, &e), -EINVAL);
		CHECK(strlen(e.msg) > 0);
		/* IPv4 device settings over rtnetlink, read back through the sysctl */
		CHECK_R(nu_sysctl_get(ns_c, "net/ipv4/conf/net1/arp_notify", buf, sizeof(buf), &e), 0);
		CHECK_STR(buf, "0");
		CHECK_R(nu_link_set_inet_conf(nl_c, li.ifindex, IPV4_DEVCONF_ARP_NOTIFY, 1, &e), 0);
		CHECK_R(nu_sysctl_get(ns_c, "net/ipv4/conf/net1/arp_notify", buf, sizeof(buf), &e), 0);
		CHECK_STR(buf, "1");
		CHECK_R(nu_link_set_inet_conf(nl_c, li.ifindex, 9999, 1, &e), -EINVAL);
		CHECK_MSG("IPv4 device setting 9999 out of range");

		/* ---- deletion is idempotent ---- */
		CHECK_R(nu_link_del(nl_c, "net1", &e), 0);
		CHECK_R(nu_link_del(nl_c, "net1", &e), 0);
		CHECK_R(nu_link_del_index(nl_c, li.ifindex, &e), 0);
		CHECK_R(nu_link_del_index(nl_h, mvm, &e), 0);
		CHECK_INT(nu_link_index(nl_h, "mvp"), -ENODEV);
		CHECK_R(nu_link_get(nl_c, "net1", 0, &li, &e), -ENODEV);
		CHECK_MSG("net1");
	}
	CHECK_R(nu_link_del(nl_c, "eth0", &e), 0);
	CHECK_R(nu_link_del(nl_c, "eth0", &e), 0);
	CHECK_INT(nu_link_index(nl_h, host), -ENODEV);
	CHECK_R(nu_link_del(nl_h, "cnitest0", &e), 0);

	CHECK(no_new_inheritable_fds());
	close(ns_c);
	close(ns_h);
	return tap_done();
}
