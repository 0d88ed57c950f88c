// SPDX-License-Identifier: Apache-2.0
/*
 * dnsname's network files without the plugin or the daemon: write and read back, the block reader
 * (a line longer than a block, lines split across blocks, no final newline, empty lines), the
 * daemon's reading (no container ID or ifname kept), malformed files. No root needed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../plugins/meta/dnsname/dnsname.h"
#include "tap.h"

/* 63 bytes, the longest DNS label: names are cut from it with %.Ns */
#define LABEL63 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"

static int dir;

static void put(const char *name, const char *text)
{
	int fd = openat(dir, name, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		abort();
	close(fd);
}

/* A record line: a container ID and a netns path of the given lengths, @names names of 237 bytes.
 */
static char *long_rec(size_t cid_len, size_t ns_len, int names)
{
	size_t cap = cid_len + ns_len + (size_t)names * 240 + 128, n = 0;
	char *s = malloc(cap);

	if (!s)
		abort();
	n += (size_t)snprintf(s, cap, "rec %0*d eth0 /%0*d 1 2 10.0.0.9 ", (int)cid_len, 7,
			      (int)ns_len - 1, 8);
	for (int i = 0; i < names; i++)
		n += (size_t)snprintf(s + n, cap - n, "%sn%02d-%.50s.%.60s.%.60s.%.60s",
				      i ? "," : "", i, LABEL63, LABEL63, LABEL63, LABEL63);
	return s;
}

static void test_roundtrip(void)
{
	struct dn_addr a[2] = {{AF_INET, {10, 0, 0, 2}}, {AF_INET6, {0xfd, 0, [15] = 2}}};
	char *names[] = {"Web", "alias1"};
	struct dn_rec r = {.cid = "c1",
			   .ifname = "eth0",
			   .netns = "/run/netns/a",
			   .ns_dev = 4,
			   .ns_ino = 4026532000ull,
			   .addrs = a,
			   .n_addrs = 2,
			   .names = names,
			   .n_names = 2};
	struct dn_netfile f = {.domain = "dns.podman", .ttl = 5}, g;

	CHECK_INT(dn_netfile_add(&f, &r), 0);
	r.cid = "c2";
	r.n_addrs = 0;
	CHECK_INT(dn_netfile_add(&f, &r), 0);
	f.domain = NULL;
	CHECK_INT(dn_netfile_write(dir, "net1", &f), 0);
	CHECK_INT(dn_netfile_read(dir, "net1", &g, 0), 0);
	CHECK_INT(g.n, 2);
	CHECK_STR(g.domain, "dns.podman"); /* none given: the writer puts the default */
	CHECK_INT(g.ttl, 5);
	CHECK_STR(g.recs[0].cid, "c1");
	CHECK_STR(g.recs[0].ifname, "eth0");
	CHECK_STR(g.recs[0].netns, "/run/netns/a");
	CHECK_INT(g.recs[0].ns_ino, 4026532000ull);
	CHECK_INT(g.recs[0].n_addrs, 2);
	CHECK(g.recs[0].addrs[1].family == AF_INET6 && g.recs[0].addrs[1].a[15] == 2);
	CHECK_STR(g.recs[0].names[0], "web"); /* names are kept in lower case */
	CHECK_INT(g.recs[1].n_addrs, 0);
	CHECK_INT(dn_netfile_remove(&g, "c1", "eth0"), 1);
	CHECK_STR(g.recs[0].cid, "c2");
	dn_netfile_free(&g);
	/* what the daemon keeps: no container ID, no ifname */
	CHECK_INT(dn_netfile_read(dir, "net1", &g, DN_READ_SERVE), 0);
	CHECK_STR(g.recs[0].cid, "");
	CHECK_STR(g.recs[0].ifname, "");
	CHECK_STR(g.recs[0].netns, "/run/netns/a");
	CHECK_STR(g.recs[1].names[1], "alias1");
	dn_netfile_free(&g);
	for (size_t i = 0; i < f.n; i++)
		dn_rec_free(&f.recs[i]);
	free(f.recs);
	/* no records: the file goes */
	f = (struct dn_netfile){0};
	CHECK_INT(dn_netfile_write(dir, "net1", &f), 0);
	CHECK_INT(dn_netfile_read(dir, "net1", &g, 0), -ENOENT);
}

static void test_blocks(void)
{
	/* 13 KB, then 25 KB: longer than a 16 KiB block */
	char *l1 = long_rec(64, 30, 55), *l2 = long_rec(4000, 4000, DN_MAX_NAMES), *text;
	struct dn_netfile g;
	size_t n = 0, cap = 200000;

	text = malloc(cap);
	if (!text)
		abort();
	n += (size_t)snprintf(text + n, cap - n, "cnic-dnsname 1\n\ndomain Example.TEST\nttl 9\n");
	/* short lines up to a block boundary, then lines that cross it */
	for (int i = 0; n < 16000; i++)
		n += (size_t)snprintf(text + n, cap - n, "rec s%d eth0 /n 1 %d 10.1.%d.%d s%d\n", i,
				      i, i / 250, i % 250 + 1, i);
	n += (size_t)snprintf(text + n, cap - n, "%s\n\n%s\nfuture-key 1\n", l1, l2);
	/* the last line without a newline */
	n += (size_t)snprintf(text + n, cap - n, "rec last eth0 /n 1 2 10.9.9.9 last");
	put("net2", text);
	CHECK_INT(dn_netfile_read(dir, "net2", &g, DN_READ_SERVE), 0);
	CHECK(g.n > 300);
	CHECK_STR(g.domain, "example.test");
	CHECK_INT(g.ttl, 9);
	CHECK_STR(g.recs[0].names[0], "s0");
	CHECK(strlen(l1) > 12000 && strlen(l2) > 16384 + 4096);
	CHECK_INT(g.recs[g.n - 3].n_names, 55);
	CHECK_INT(g.recs[g.n - 2].n_names, DN_MAX_NAMES);
	CHECK_INT(strlen(g.recs[g.n - 2].netns), 4000);
	CHECK_INT(strlen(g.recs[g.n - 2].names[DN_MAX_NAMES - 1]), 237);
	CHECK_STR(g.recs[g.n - 1].names[0], "last");
	CHECK_INT(g.recs[g.n - 1].addrs[0].a[3], 9);
	dn_netfile_free(&g);
	free(l1);
	free(l2);
	free(text);
}

static void test_malformed(void)
{
	struct dn_netfile g;

	put("bad1", "cnic-dnsname 2\n");
	CHECK_INT(dn_netfile_read(dir, "bad1", &g, 0), -EINVAL);
	put("bad2", "cnic-dnsname 1\nrec a eth0 /n 1 2 10.0.0.300 x\n");
	CHECK_INT(dn_netfile_read(dir, "bad2", &g, 0), -EINVAL);
	put("bad3", "cnic-dnsname 1\nrec a eth0 /n 1 2 10.0.0.3 bad..name\n");
	CHECK_INT(dn_netfile_read(dir, "bad3", &g, 0), -EINVAL);
	put("bad4", "cnic-dnsname 1\nrec a eth0 /n 1 2 10.0.0.3\n");
	CHECK_INT(dn_netfile_read(dir, "bad4", &g, 0), -EINVAL);
	CHECK(g.n == 0 && !g.recs && !g.domain); /* nothing left to free on failure */
	/* "-" stands for "none" in a file: no name may be just that (older files' "-x" still read)
	 */
	CHECK(!dn_name_valid("-") && dn_name_valid("-x") && dn_name_valid("a-.b-c_d"));
	put("bad5", "cnic-dnsname 1\nrec a eth0 /n 1 2 10.0.0.3 x,-\n");
	CHECK_INT(dn_netfile_read(dir, "bad5", &g, 0), -EINVAL);
	/* a NUL byte anywhere in a line: not a file we wrote */
	{
		static const char nul[] = "cnic-dnsname 1\nrec a eth0 /n 1 2 10.0.0.3 ab\0c\n";
		int fd = openat(dir, "bad6", O_WRONLY | O_CREAT | O_TRUNC, 0644);

		if (fd < 0 || write(fd, nul, sizeof(nul) - 1) != (ssize_t)sizeof(nul) - 1)
			abort();
		close(fd);
		CHECK_INT(dn_netfile_read(dir, "bad6", &g, 0), -EINVAL);
	}
	/* a line longer than any we write grows no buffer past 64 KiB */
	{
		char *t = long_rec(40000, 40000, 1);

		put("bad7", t);
		free(t);
		CHECK_INT(dn_netfile_read(dir, "bad7", &g, 0), -EFBIG);
	}
	/* no domain line: the default */
	put("nodomain", "cnic-dnsname 1\nrec a eth0 /n 1 2 10.0.0.3 x\n");
	CHECK_INT(dn_netfile_read(dir, "nodomain", &g, 0), 0);
	CHECK_STR(g.domain, "dns.podman");
	dn_netfile_free(&g);
	put("empty", "");
	CHECK_INT(dn_netfile_read(dir, "empty", &g, 0), 0);
	CHECK_INT(g.n, 0);
	dn_netfile_free(&g);
}

struct seen {
	int n;
	bool stopped, after_stop; /* a call after the one that said stop */
};

static bool count_name(const char *name, void *arg)
{
	struct seen *s = arg;

	s->after_stop |= s->stopped;
	s->n++;
	s->stopped = !strcmp(name, "stop");
	return !s->stopped;
}

/* The directory walk: dot files (a writer's temporary files) are not network files. */
static void test_each(void)
{
	struct seen s = {0};

	CHECK_INT(dn_netfiles_any(dir), 0);
	put(".net1.123.tmp", "x");
	CHECK_INT(dn_netfiles_any(dir), 0);
	put("a", "x");
	put("b", "x");
	CHECK_INT(dn_netfiles_any(dir), 1);
	CHECK_INT(dn_netfiles_each(dir, count_name, &s), 2);
	CHECK_INT(s.n, 2);
	put("stop", "x");
	s = (struct seen){0};
	CHECK_INT(dn_netfiles_each(dir, count_name, &s), s.n);
	CHECK(s.stopped && !s.after_stop); /* nothing after the name that said stop */
	for (const char *const *f = (const char *const[]){".net1.123.tmp", "a", "b", "stop", NULL};
	     *f; f++)
		unlinkat(dir, *f, 0);
	CHECK_INT(dn_netfiles_each(-1, count_name, &s), -EBADF);
}

/* #21: upstreams normalised and checked; the "servers" and "cdns" lines written, read back,
 * dropped with their record; broken ones ignored, not the file. */
static void test_upstreams(void)
{
	char out[256];
	struct dn_netfile f = {0}, g;
	struct dn_addr a = {.family = AF_INET, .a = {10, 0, 0, 2}};
	char *names[] = {"web"};
	struct dn_rec r = {.cid = "c1", .ifname = "eth0", .netns = "/run/netns/x", .ns_dev = 4,
			   .ns_ino = 5, .addrs = &a, .n_addrs = 1, .names = names, .n_names = 1};

	CHECK_INT(dn_upstreams_norm((const char *const[]){"1.2.3.4", "1.2.3.4:5353",
							  "2001:db8::1"},
				    3, out, sizeof(out)),
		  0);
	CHECK_STR(out, "1.2.3.4:53,1.2.3.4:5353,[2001:db8::1]:53");
	CHECK_INT(dn_upstreams_norm((const char *const[]){"[2001:DB8::1]:54"}, 1, out, sizeof(out)),
		  0);
	CHECK_STR(out, "[2001:db8::1]:54");
	CHECK_INT(dn_upstreams_norm((const char *const[]){"1.2.3.4", "1.2.3"}, 2, out, sizeof(out)),
		  2);
	for (const char *const *b = (const char *const[]){"", "1.2.3.4:", "1.2.3.4:0",
							  "1.2.3.4:65536", "[1.2.3.4]:53",
							  "2001:db8::1]:53", "[2001:db8::1]53",
							  "host.example", "1.2.3.4:53:53", " 1.2.3.4",
							  NULL};
	     *b; b++) {
		char name[64];

		snprintf(name, sizeof(name), "upstream \"%s\" rejected", *b);
		if (dn_upstreams_norm(b, 1, out, sizeof(out)) == 1)
			TAP_OK(name);
		else
			TAP_FAIL(name, "accepted as %s", out);
	}
	CHECK_INT(dn_upstreams_norm((const char *const[]){"1.1.1.1", "1.1.1.2", "1.1.1.3",
							  "1.1.1.4"},
				    4, out, sizeof(out)),
		  -4);

	f.domain = strdup("dns.podman");
	f.servers = strdup("198.18.0.1:53,[::1]:5353");
	CHECK_INT(dn_netfile_add(&f, &r), 0);
	CHECK_INT(dn_netfile_set_cdns(&f, &(struct dn_cdns){.cid = "c1", .ifname = "eth0",
							     .servers = "127.0.0.62:53",
							     .ns_dev = 4, .ns_ino = 5}),
		  0);
	CHECK_INT(dn_netfile_write(dir, "ups", &f), 0);
	CHECK_INT(dn_netfile_read(dir, "ups", &g, DN_READ_SERVE), 0);
	CHECK_STR(g.servers, "198.18.0.1:53,[::1]:5353");
	CHECK_INT(g.n_cdns, 1);
	CHECK(g.n_cdns == 1 && g.cdns[0].ns_dev == 4 && g.cdns[0].ns_ino == 5 &&
	      !strcmp(g.cdns[0].servers, "127.0.0.62:53"));
	dn_netfile_free(&g);
	/* the record's DEL takes its own upstreams with it */
	CHECK_INT(dn_netfile_remove(&f, "c1", "eth0"), 1);
	CHECK_INT(f.n_cdns, 0);
	dn_netfile_free(&f);
	/* broken lines: ignored, the records still served */
	put("upsbad", "cnic-dnsname 1\ndomain d\nttl 5\nservers 1.2.3.4:99999\n"
		      "cdns c1 eth0 4 5 nope\ncdns short\n"
		      "rec c1 eth0 /run/netns/x 4 5 10.0.0.2 web\n");
	CHECK_INT(dn_netfile_read(dir, "upsbad", &g, 0), 0);
	CHECK(g.n == 1 && !g.servers && !g.n_cdns);
	dn_netfile_free(&g);
	unlinkat(dir, "ups", 0);
	unlinkat(dir, "upsbad", 0);
}

/*
 * A "cdns" line counts only with a record of the same attachment in the same netns: stale ones
 * (a container gone without DEL, its netns inode reused) are neither served nor written back.
 */
static void test_cdns_stale(void)
{
	struct dn_netfile f = {0}, g;
	struct dn_addr a = {.family = AF_INET, .a = {10, 0, 0, 2}};
	char *names[] = {"web"}, text[1024];
	struct dn_rec r = {.cid = "c1", .ifname = "eth0", .netns = "/run/netns/x", .ns_dev = 4,
			   .ns_ino = 5, .addrs = &a, .n_addrs = 1, .names = names, .n_names = 1};
	int fd;
	ssize_t n;

	put("cdns1", "cnic-dnsname 1\ndomain d\nttl 5\n"
		     "cdns c0 eth0 4 5 198.18.0.9:53\n" /* before its record: still matched */
		     "rec c0 eth0 /run/netns/x 4 5 10.0.0.9 old\n"
		     "rec c1 eth0 /run/netns/y 4 6 10.0.0.2 web\n"
		     "cdns c1 eth0 4 6 198.18.0.1:53\n"
		     "cdns c2 eth0 4 6 198.18.0.2:53\n" /* no record of c2 */
		     "cdns c1 eth1 4 6 198.18.0.3:53\n" /* no record of c1 on eth1 */
		     "cdns c1 eth0 4 7 198.18.0.4:53\n"); /* replaces c1/eth0: another netns */
	for (unsigned int flags = 0; flags <= DN_READ_SERVE; flags += DN_READ_SERVE) {
		CHECK_INT(dn_netfile_read(dir, "cdns1", &g, flags), 0);
		CHECK_INT(g.n, 2);
		CHECK_INT(g.n_cdns, 1);
		CHECK(g.n_cdns == 1 && !strcmp(g.cdns[0].servers, "198.18.0.9:53"));
		dn_netfile_free(&g);
	}
	/* the writer drops a line of no record */
	f.domain = strdup("d");
	CHECK_INT(dn_netfile_add(&f, &r), 0);
	CHECK_INT(dn_netfile_set_cdns(&f, &(struct dn_cdns){.cid = "c1", .ifname = "eth0",
							     .servers = "198.18.0.1:53",
							     .ns_dev = 4, .ns_ino = 5}),
		  0);
	CHECK_INT(dn_netfile_set_cdns(&f, &(struct dn_cdns){.cid = "c9", .ifname = "eth0",
							     .servers = "198.18.0.7:53",
							     .ns_dev = 4, .ns_ino = 5}),
		  0);
	CHECK_INT(dn_netfile_write(dir, "cdns2", &f), 0);
	fd = openat(dir, "cdns2", O_RDONLY);
	n = fd >= 0 ? read(fd, text, sizeof(text) - 1) : -1;
	if (fd >= 0)
		close(fd);
	text[n > 0 ? n : 0] = 0;
	CHECK(strstr(text, "cdns c1 eth0 4 5 198.18.0.1:53\n") != NULL);
	CHECK(strstr(text, "c9") == NULL);
	dn_netfile_free(&f);
	unlinkat(dir, "cdns1", 0);
	unlinkat(dir, "cdns2", 0);
}

/* Zones on link-local IPv6 upstreams; what the daemon cannot forward to (it sends from the host). */
static void test_upstream_policy(void)
{
	struct sockaddr_storage sa;
	unsigned int sl, lo = if_nametoindex("lo");
	char out[256];

	CHECK(lo > 0);
	CHECK_INT(dn_upstream_parse("fe80::1%lo", &sa, &sl), 0);
	CHECK(sa.ss_family == AF_INET6 && ((struct sockaddr_in6 *)&sa)->sin6_scope_id == lo);
	CHECK(dn_upstream_unusable(&sa, false) == NULL);
	CHECK_INT(dn_upstream_parse("[fe80::1%1]:5353", &sa, &sl), 0);
	CHECK(((struct sockaddr_in6 *)&sa)->sin6_scope_id == 1 &&
	      ntohs(((struct sockaddr_in6 *)&sa)->sin6_port) == 5353);
	CHECK_INT(dn_upstream_parse("fe80::1%cnicnosuch0", &sa, &sl), -EINVAL);
	CHECK_INT(dn_upstream_parse("2001:db8::1%lo", &sa, &sl), -EINVAL);
	CHECK_INT(dn_upstream_parse("1.2.3.4%lo", &sa, &sl), -EINVAL);
	CHECK_INT(dn_upstream_parse("fe80::1%", &sa, &sl), -EINVAL);
	CHECK_INT(dn_upstreams_norm((const char *const[]){"fe80::1%lo", "[FE80::2%lo]:54"}, 2, out,
				    sizeof(out)),
		  0);
	CHECK_STR(out, "[fe80::1%lo]:53,[fe80::2%lo]:54");
	/* the normalised text reads back (a file's servers line) */
	put("zone", "cnic-dnsname 1\ndomain d\nttl 5\nservers [fe80::1%lo]:53\n"
		    "rec c1 eth0 /run/netns/x 4 5 10.0.0.2 web\n");
	{
		struct dn_netfile g;

		CHECK_INT(dn_netfile_read(dir, "zone", &g, DN_READ_SERVE), 0);
		CHECK_STR(g.servers ? g.servers : "(none)", "[fe80::1%lo]:53");
		dn_netfile_free(&g);
	}
	unlinkat(dir, "zone", 0);
	/* a container's own loopback is not the host's; 127.0.0.11 is the resolver itself; a
	 * network's dnsServers may name a host loopback resolver */
	static const struct {
		const char *addr;
		bool network_ok, container_ok;
	} u[] = {
		{"127.0.0.1", true, false},	     {"127.0.0.53:53", true, false},
		{"127.0.0.11", false, false},	     {"[::ffff:127.0.0.11]:53", false, false},
		{"[::ffff:127.0.0.1]:53", true, false}, {"::1", true, false},
		{"fe80::1", false, false},	     {"198.18.0.1", true, true},
		{"[2001:db8::1]:53", true, true},    {"128.0.0.1", true, true},
	};
	for (size_t i = 0; i < sizeof(u) / sizeof(u[0]); i++) {
		char name[128];

		snprintf(name, sizeof(name), "upstream \"%s\": network %s, container %s", u[i].addr,
			 u[i].network_ok ? "usable" : "refused",
			 u[i].container_ok ? "usable" : "skipped");
		if (dn_upstream_parse(u[i].addr, &sa, &sl))
			TAP_FAIL(name, "does not parse");
		else if (!dn_upstream_unusable(&sa, false) != u[i].network_ok ||
			 !dn_upstream_unusable(&sa, true) != u[i].container_ok)
			TAP_FAIL(name, "network %s, container %s",
				 dn_upstream_unusable(&sa, false) ?: "usable",
				 dn_upstream_unusable(&sa, true) ?: "usable");
		else
			TAP_OK(name);
	}
}

/*
 * "addr" lines (a container's resolver address on a network, dnsname.h): written after the
 * records for those not at 127.0.0.11, read back onto their record (plugin's and daemon's
 * reading), dropped with their record, ignored when malformed or out of 127.0.0.11-254, or
 * without a record (another ifname, another netns); a file with them read by the reader's
 * unknown-key rule (what a build before them does) keeps its records.
 */
#define CHECK_NAMED(name, cond)                                                                    \
	do {                                                                                       \
		if (cond)                                                                          \
			TAP_OK(name);                                                              \
		else                                                                               \
			TAP_FAIL(name, "false");                                                   \
	} while (0)

static void test_resolver_addr(void)
{
	char *names[] = {"a"};
	struct dn_rec r = {.cid = "c1", .ifname = "eth1", .netns = "/n", .ns_dev = 4, .ns_ino = 77,
			   .names = names, .n_names = 1};
	struct dn_netfile f = {.domain = "dns.podman"}, g;
	char buf[512], ra[16];
	uint32_t a = 1;
	ssize_t n;
	int fd;

	CHECK_INT(dn_resolver_parse("127.0.0.11", &a), 0);
	CHECK_INT(a, 0); /* the default: no line */
	CHECK_INT(dn_resolver_parse("127.0.0.12", &a), 0);
	CHECK_STR(dn_resolver_text(a, ra), "127.0.0.12");
	CHECK_STR(dn_resolver_text(0, ra), "127.0.0.11");
	CHECK(dn_resolver_of(&(struct dn_rec){0}) == htonl(0x7f00000b));
	for (const char *const *bad = (const char *const[]){"127.0.0.10", "127.0.0.255", "127.0.1.12",
							    "10.0.0.12", "127.0.0.012x", "::1", "",
							    "127.0.0.77", "127.0.0.254",
							    "127.0.0.53", "127.0.0.54", NULL};
	     *bad; bad++) {
		char nm[64];

		snprintf(nm, sizeof(nm), "resolver address \"%s\" refused", *bad);
		CHECK_NAMED(nm, dn_resolver_parse(*bad, &a) == -EINVAL);
	}
	/* 64 addresses (a listener's VIEW_MAX networks): 11 to 76 but 53 and 54 */
	CHECK_INT(dn_resolver_parse("127.0.0.76", &a), 0);
	CHECK_INT(dn_resolver_parse("127.0.0.52", &a), 0);
	CHECK_INT(dn_resolver_parse("127.0.0.55", &a), 0);
	{
		int k = 0;

		for (int x = DN_RESOLVER_FIRST; x <= DN_RESOLVER_LAST; x++)
			k += !DN_RESOLVER_SKIP(x);
		CHECK_INT(k, DN_RESOLVER_N);
		CHECK_INT(k, 64);
	}
	r.resolver = htonl(0x7f00000c);
	CHECK_INT(dn_netfile_add(&f, &r), 0);
	r.cid = "c2";
	r.ifname = "eth0";
	r.ns_ino = 78;
	r.resolver = 0;
	CHECK_INT(dn_netfile_add(&f, &r), 0);
	CHECK_INT(dn_netfile_write(dir, "addr1", &f), 0);
	fd = openat(dir, "addr1", O_RDONLY);
	n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
	if (fd >= 0)
		close(fd);
	buf[n > 0 ? n : 0] = 0;
	CHECK_NAMED("addr line written for 127.0.0.12",
		    strstr(buf, "\naddr c1 eth1 4 77 127.0.0.12\n"));
	CHECK_NAMED("one addr line (none for 127.0.0.11)",
		    strstr(buf, "\naddr ") && !strstr(strstr(buf, "\naddr ") + 1, "\naddr "));
	for (unsigned int fl = 0; fl <= DN_READ_SERVE; fl += DN_READ_SERVE) {
		CHECK_INT(dn_netfile_read(dir, "addr1", &g, fl), 0);
		CHECK_INT(g.n, 2);
		CHECK(g.recs[0].resolver == htonl(0x7f00000c));
		CHECK_INT(g.recs[1].resolver, 0);
		dn_netfile_free(&g);
	}
	/* the record goes, its addr line with it */
	CHECK_INT(dn_netfile_remove(&f, "c1", "eth1"), 1);
	CHECK_INT(dn_netfile_write(dir, "addr1", &f), 0);
	CHECK_INT(dn_netfile_read(dir, "addr1", &g, 0), 0);
	CHECK_INT(g.n, 1);
	CHECK_INT(g.recs[0].resolver, 0);
	dn_netfile_free(&g);
	for (size_t i = 0; i < f.n; i++)
		dn_rec_free(&f.recs[i]);
	free(f.recs);
	/* by hand: a bad address, one of another netns, another ifname, a short line, a good one
	 * before its record (any order is read), the last of two for one record wins */
	put("addr2", "cnic-dnsname 1\n"
		     "addr c1 eth0 4 77 127.0.0.13\n"
		     "rec c1 eth0 /n 4 77 10.0.0.1 a\n"
		     "rec c1 eth1 /n 4 77 10.0.1.1 a\n"
		     "rec c9 eth0 /n 4 90 10.0.2.1 b\n"
		     "addr c1 eth1 4 77 127.0.0.300\n"
		     "addr c1 eth1 4 78 127.0.0.14\n"
		     "addr c1 eth2 4 77 127.0.0.15\n"
		     "addr c9 eth0 4 90\n"
		     "addr c9 eth0 4 90 127.0.0.16 x\n"
		     "addr c1 eth0 4 77 127.0.0.17\n");
	for (unsigned int fl = 0; fl <= DN_READ_SERVE; fl += DN_READ_SERVE) {
		CHECK_INT(dn_netfile_read(dir, "addr2", &g, fl), 0);
		CHECK_INT(g.n, 3);
		CHECK_STR(dn_resolver_text(g.recs[0].resolver, ra), "127.0.0.17");
		CHECK_STR(dn_resolver_text(g.recs[1].resolver, ra), "127.0.0.11");
		CHECK_STR(dn_resolver_text(g.recs[2].resolver, ra), "127.0.0.11");
		dn_netfile_free(&g);
	}
	/* a line of an unknown key is skipped by every reader (a build before "addr" reads this
	 * file as its records alone): the same rule, shown on a key newer than ours */
	put("addr3", "cnic-dnsname 1\nrec c1 eth0 /n 4 77 10.0.0.1 a\naddr2 c1 eth0 4 77 x\n");
	CHECK_INT(dn_netfile_read(dir, "addr3", &g, 0), 0);
	CHECK_INT(g.n, 1);
	dn_netfile_free(&g);
}

/* dn_netfile_read_ns(): one netns' records and addr lines, the same as a full read keeps of them */
static void test_read_ns(void)
{
	struct dn_netfile g, h;
	char ra[16];
	size_t k = 0;

	put("ns1", "cnic-dnsname 1\n"
		   "domain dns.podman\n"
		   "rec c1 eth0 /n 4 77 10.0.0.1 a\n"
		   "rec c2 eth0 /m 4 78 10.0.0.2 b\n"
		   "rec c1 eth1 /n 4 77 10.0.1.1 a\n"
		   "rec c3 eth0 /o 4 770 10.0.0.3 c\n"
		   "rec c4 eth0 /p 44 77 10.0.0.4 d\n"
		   "addr c1 eth1 4 77 127.0.0.12\n"
		   "addr c2 eth0 4 78 127.0.0.13\n"
		   "cdns c2 eth0 4 78 192.0.2.1:53\n");
	CHECK_INT(dn_netfile_read(dir, "ns1", &g, 0), 0);
	CHECK_INT(dn_netfile_read_ns(dir, "ns1", &h, 4, 77), 0);
	CHECK_INT(g.n, 5);
	CHECK_INT(h.n, 2);
	for (size_t i = 0; i < g.n; i++) {
		if (g.recs[i].ns_dev != 4 || g.recs[i].ns_ino != 77)
			continue;
		CHECK_NAMED("read_ns: the same record, in order",
			    k < h.n && !strcmp(g.recs[i].cid, h.recs[k].cid) &&
				!strcmp(g.recs[i].ifname, h.recs[k].ifname) &&
				g.recs[i].resolver == h.recs[k].resolver);
		k++;
	}
	CHECK_INT(k, 2);
	CHECK_STR(dn_resolver_text(h.recs[1].resolver, ra), "127.0.0.12");
	CHECK_STR(h.domain, "dns.podman");
	dn_netfile_free(&g);
	dn_netfile_free(&h);
	CHECK_INT(dn_netfile_read_ns(dir, "ns1", &h, 4, 78), 0);
	CHECK_INT(h.n, 1);
	CHECK_STR(dn_resolver_text(h.recs[0].resolver, ra), "127.0.0.13");
	dn_netfile_free(&h);
	CHECK_INT(dn_netfile_read_ns(dir, "ns1", &h, 5, 77), 0);
	CHECK_INT(h.n, 0);
	dn_netfile_free(&h);
	/* a malformed line of this netns is an error still; one of another netns is not read */
	put("ns2", "cnic-dnsname 1\nrec c1 eth0 /n 4 77 10.0.0.1 a\nrec c9 eth0 /n 4 90 bad,ip a\n");
	CHECK_INT(dn_netfile_read(dir, "ns2", &g, 0), -EINVAL);
	CHECK_INT(dn_netfile_read_ns(dir, "ns2", &h, 4, 77), 0);
	CHECK_INT(h.n, 1);
	dn_netfile_free(&h);
	CHECK_INT(dn_netfile_read_ns(dir, "ns2", &h, 4, 90), -EINVAL);
	CHECK_INT(dn_netfile_read_ns(dir, "absent", &h, 4, 77), -ENOENT);
	/* a line too short to name a netns is parsed, and refused */
	put("ns3", "cnic-dnsname 1\nrec c1 eth0 /n 4\n");
	CHECK_INT(dn_netfile_read_ns(dir, "ns3", &h, 4, 77), -EINVAL);
}

int main(void)
{
	char path[] = "/tmp/cnic-dnsrec.XXXXXX";

	if (!mkdtemp(path) || (dir = open(path, O_RDONLY | O_DIRECTORY)) < 0)
		return 1;
	test_each();
	test_roundtrip();
	test_blocks();
	test_malformed();
	test_upstreams();
	test_cdns_stale();
	test_upstream_policy();
	test_resolver_addr();
	test_read_ns();
	for (const char *const *n =
		 (const char *const[]){"net2", "bad1", "bad2", "bad3", "bad4", "bad5", "bad6",
				       "bad7", "nodomain", "empty", "addr1", "addr2", "addr3", "ns1",
				       "ns2", "ns3", NULL};
	     *n; n++)
		unlinkat(dir, *n, 0);
	rmdir(path);
	return tap_done();
}
