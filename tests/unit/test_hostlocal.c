// SPDX-License-Identifier: Apache-2.0
/*
 * host-local's allocator and store without the dispatcher: range defaults and validation, the
 * overlap table, the round-robin iterator, and the store on a temporary directory (exact file
 * format, legacy files, whitespace, index rebuild when a foreign process changes the directory,
 * GC). No root needed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../plugins/ipam/host-local/hostlocal.h"
#include "tap.h"

static struct cni_ip ip(const char *s)
{
	struct cni_ip x;

	if (cni_ip_parse(s, &x))
		abort();
	return x;
}

static struct hl_range range(const char *subnet, const char *start, const char *end, const char *gw)
{
	struct hl_range r;

	memset(&r, 0, sizeof(r));
	if (subnet && cni_prefix_parse(subnet, &r.subnet))
		abort();
	if (start)
		r.start = ip(start);
	if (end)
		r.end = ip(end);
	if (gw)
		r.gw = ip(gw);
	return r;
}

static const char *str(const struct cni_ip *x)
{
	static char buf[4][CNI_IP_STRLEN];
	static int i;

	return cni_ip_str(x, buf[i++ % 4]);
}

static void test_defaults(void)
{
	struct cni_err e = {0};
	struct hl_range r = range("10.1.2.0/24", NULL, NULL, NULL);

	CHECK_INT(hl_range_canonicalize(&r, &e), 0);
	CHECK_STR(str(&r.start), "10.1.2.1");
	CHECK_STR(str(&r.end), "10.1.2.254");
	CHECK_STR(str(&r.gw), "10.1.2.1");

	r = range("10.1.2.0/30", NULL, NULL, NULL);
	CHECK_INT(hl_range_canonicalize(&r, &e), 0);
	CHECK_STR(str(&r.start), "10.1.2.1");
	CHECK_STR(str(&r.end), "10.1.2.2");

	r = range("fd00:1::/64", NULL, NULL, NULL);
	CHECK_INT(hl_range_canonicalize(&r, &e), 0);
	CHECK_STR(str(&r.start), "fd00:1::1");
	CHECK_STR(str(&r.end), "fd00:1::ffff:ffff:ffff:ffff");
	CHECK_STR(str(&r.gw), "fd00:1::1");

	r = range("10.1.2.0/24", "10.1.2.10", "10.1.2.20", "10.1.2.254");
	CHECK_INT(hl_range_canonicalize(&r, &e), 0);
	CHECK_STR(str(&r.start), "10.1.2.10");
	CHECK_STR(str(&r.end), "10.1.2.20");
	CHECK_STR(str(&r.gw), "10.1.2.254");
}

static void test_invalid(void)
{
	static const struct {
		const char *subnet, *start, *end, *msg;
	} t[] = {
	    {"10.1.2.3/24", NULL, NULL,
	     "Network has host bits set. For a subnet mask of length 24 the network address is "
	     "10.1.2.0"},
	    {"10.1.2.0/31", NULL, NULL, "Network 10.1.2.0/31 too small to allocate from"},
	    {"10.1.2.0/32", NULL, NULL, "Network 10.1.2.0/32 too small to allocate from"},
	    {"fd00::/127", NULL, NULL, "Network fd00::/127 too small to allocate from"},
	    {"fd00::/128", NULL, NULL, "Network fd00::/128 too small to allocate from"},
	    {"10.1.2.0/24", "10.1.3.1", NULL, "RangeStart 10.1.3.1 not in network 10.1.2.0/24"},
	    {"10.1.2.0/24", NULL, "10.1.3.1", "RangeEnd 10.1.3.1 not in network 10.1.2.0/24"},
	    /* start after end: the start check already sees the end, as the reference's does */
	    {"10.1.2.0/24", "10.1.2.50", "10.1.2.40",
	     "RangeStart 10.1.2.50 not in network 10.1.2.0/24"},
	    {"10.1.2.0/24", "fd00::1", NULL, "RangeStart fd00::1 not in network 10.1.2.0/24"},
	    {NULL, NULL, NULL, "missing subnet"},
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct cni_err e = {0};
		struct hl_range r = range(t[i].subnet, t[i].start, t[i].end, NULL);

		if (hl_range_canonicalize(&r, &e) == -EINVAL && !strcmp(e.msg, t[i].msg))
			TAP_OK(t[i].msg);
		else
			TAP_FAIL(t[i].msg, "got \"%s\"", e.msg);
	}
}

static void test_overlaps(void)
{
	static const struct {
		const char *a, *as, *ae, *b, *bs, *be;
		bool want;
	} t[] = {
	    {"10.0.0.0/24", NULL, NULL, "10.0.1.0/24", NULL, NULL, false},
	    {"10.0.0.0/24", NULL, NULL, "fd00::/64", NULL, NULL, false},
	    {"10.0.0.0/24", NULL, NULL, "10.0.0.0/24", NULL, NULL, true},
	    {"10.0.0.0/20", NULL, NULL, "10.0.1.0/24", NULL, NULL, true},
	    {"10.0.0.0/24", "10.0.0.1", "10.0.0.100", "10.0.0.0/24", "10.0.0.101", "10.0.0.200",
	     false},
	    {"10.0.0.0/24", "10.0.0.1", "10.0.0.100", "10.0.0.0/24", "10.0.0.100", "10.0.0.200",
	     true},
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct cni_err e = {0};
		struct hl_range a = range(t[i].a, t[i].as, t[i].ae, NULL);
		struct hl_range b = range(t[i].b, t[i].bs, t[i].be, NULL);
		char name[128];

		snprintf(name, sizeof(name), "overlap %s(%s) %s(%s) = %d", t[i].a,
			 t[i].as ? t[i].as : "", t[i].b, t[i].bs ? t[i].bs : "", t[i].want);
		if (hl_range_canonicalize(&a, &e) || hl_range_canonicalize(&b, &e)) {
			TAP_FAIL(name, "canonicalize: %s", e.msg);
			continue;
		}
		if (hl_range_overlaps(&a, &b) == t[i].want &&
		    hl_range_overlaps(&b, &a) == t[i].want)
			TAP_OK(name);
		else
			TAP_FAIL(name, "wrong");
	}
}

static void test_sets(void)
{
	struct hl_range mixed[] = {range("10.0.0.0/24", NULL, NULL, NULL),
				   range("fd00::/64", NULL, NULL, NULL)};
	struct hl_range over[] = {range("10.0.0.0/24", NULL, NULL, NULL),
				  range("10.0.0.0/25", NULL, NULL, NULL)};
	struct hl_set s = {mixed, 2}, empty = {NULL, 0};
	struct cni_err e = {0};
	char buf[256];

	CHECK_INT(hl_set_canonicalize(&s, &e), -EINVAL);
	CHECK_STR(e.msg, "mixed address families");
	s.r = over;
	CHECK_INT(hl_set_canonicalize(&s, &e), -EINVAL);
	CHECK_STR(e.msg, "subnets 10.0.0.1-10.0.0.254 and 10.0.0.1-10.0.0.126 overlap");
	CHECK_INT(hl_set_canonicalize(&empty, &e), -EINVAL);
	CHECK_STR(e.msg, "empty range set");
	over[1] = range("10.0.1.0/24", NULL, NULL, NULL);
	CHECK_INT(hl_set_canonicalize(&s, &e), 0);
	CHECK_STR(hl_set_str(&s, buf, sizeof(buf)), "10.0.0.1-10.0.0.254,10.0.1.1-10.0.1.254");
	CHECK(hl_set_range_for(&s, &(struct cni_ip){0}) == NULL);
	{
		struct cni_ip x = ip("10.0.1.7"), y = ip("10.0.2.7");

		CHECK(hl_set_range_for(&s, &x) == &over[1]);
		CHECK(hl_set_range_for(&s, &y) == NULL);
	}
}

/* Walk an iterator to the end; the sequence as text. */
static char *walk(const struct hl_set *s, const char *last, size_t max)
{
	static char out[4096];
	struct hl_iter it;
	struct cni_ip x, l;
	size_t n = 0, o = 0;

	if (last)
		l = ip(last);
	hl_iter_init(&it, s, last ? &l : NULL);
	out[0] = '\0';
	while (n++ < max && hl_iter_next(&it, &x, NULL))
		o += (size_t)snprintf(out + o, sizeof(out) - o, "%s%s", o ? " " : "", str(&x));
	return out;
}

static void test_iter(void)
{
	struct hl_range r1[] = {range("10.0.0.0/29", NULL, NULL, NULL)};
	struct hl_range r2[] = {range("10.0.0.0/29", NULL, NULL, NULL),
				range("10.0.1.0/30", NULL, NULL, NULL)};
	struct hl_range r3[] = {range("10.0.0.0/29", "10.0.0.0", "10.0.0.7", "10.0.0.3")};
	struct hl_range r6[] = {range("fd00::/126", NULL, NULL, NULL)};
	struct hl_set s1 = {r1, 1}, s2 = {r2, 2}, s3 = {r3, 1}, s6 = {r6, 1};
	struct cni_err e = {0};

	CHECK_INT(hl_set_canonicalize(&s1, &e), 0);
	CHECK_INT(hl_set_canonicalize(&s2, &e), 0);
	CHECK_INT(hl_set_canonicalize(&s3, &e), 0);
	CHECK_INT(hl_set_canonicalize(&s6, &e), 0);
	/* No last reserved: first range's start, gateway .1 skipped. */
	CHECK_STR(walk(&s1, NULL, 100), "10.0.0.2 10.0.0.3 10.0.0.4 10.0.0.5 10.0.0.6");
	/* From the middle, wrapping, the last reserved one tried last. */
	CHECK_STR(walk(&s1, "10.0.0.4", 100), "10.0.0.5 10.0.0.6 10.0.0.2 10.0.0.3 10.0.0.4");
	/* Last reserved at the end of a range: the next range's first address. */
	CHECK_STR(walk(&s2, "10.0.0.6", 100),
		  "10.0.1.2 10.0.0.2 10.0.0.3 10.0.0.4 10.0.0.5 10.0.0.6");
	/* Last reserved outside the set: from the start. */
	CHECK_STR(walk(&s2, "10.9.0.1", 100),
		  "10.0.0.2 10.0.0.3 10.0.0.4 10.0.0.5 10.0.0.6 10.0.1.2");
	/* Explicit start/end on network and broadcast: neither is handed out, nor the gateway. */
	CHECK_STR(walk(&s3, NULL, 100), "10.0.0.1 10.0.0.2 10.0.0.4 10.0.0.5 10.0.0.6");
	/* v6: the last address is usable. */
	CHECK_STR(walk(&s6, NULL, 100), "fd00::2 fd00::3");
}

/* ---- store ------------------------------------------------------------------------------------
 */

static char dir[256], netdir[300];

static char *slurp(const char *name)
{
	static char buf[4096];
	char path[600];
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/%s", netdir, name);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return NULL;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n < 0 ? 0 : n] = '\0';
	return buf;
}

static void put(const char *name, const char *content)
{
	char path[600];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", netdir, name);
	f = fopen(path, "w");
	fputs(content, f);
	fclose(f);
}

static void rm(const char *name)
{
	char path[600];

	snprintf(path, sizeof(path), "%s/%s", netdir, name);
	unlink(path);
}

static size_t owned(const char *cid, const char *ifname, bool legacy)
{
	struct hl_store st;
	struct hl_names n = {0};
	struct cni_err e = {0};
	size_t r;

	if (hl_store_open(&st, dir, "net", &e))
		return 999;
	if (hl_store_owned(&st, cid, ifname, legacy, &n, &e))
		r = 999;
	else
		r = n.n;
	hl_store_close(&st);
	hl_names_free(&n);
	return r;
}

static int reserve(const char *cid, const char *ifname, const char *addr, int set)
{
	struct hl_store st;
	struct cni_err e = {0};
	struct cni_ip x = ip(addr);
	int r;

	if (hl_store_open(&st, dir, "net", &e))
		return -1000;
	st.durable = false;
	r = hl_store_reserve(&st, cid, ifname, &x, set, &e);
	hl_store_close(&st);
	return r;
}

static int release(const char *cid, const char *ifname, size_t nsets)
{
	struct hl_store st;
	struct cni_err e = {0};
	int r;

	if (hl_store_open(&st, dir, "net", &e))
		return -1000;
	r = hl_store_release(&st, cid, ifname, nsets, &e);
	hl_store_close(&st);
	return r;
}

static bool trusted(void)
{
	struct hl_store st;
	struct cni_err e = {0};
	bool t;

	if (hl_store_open(&st, dir, "net", &e))
		return false;
	t = st.trusted;
	hl_store_close(&st);
	return t;
}

static bool valid_c1(void *arg, const char *cid, const char *ifname)
{
	(void)arg;
	return !strcmp(cid, "c1") && (!ifname || !strcmp(ifname, "eth0"));
}

static void test_store(void)
{
	struct hl_store st;
	struct cni_err e = {0};
	struct cni_ip last;
	char *s;

	snprintf(dir, sizeof(dir), "/tmp/cnic-hl-unit-XXXXXX");
	if (!mkdtemp(dir)) {
		TAP_FAIL("mkdtemp", "%s", strerror(errno));
		return;
	}
	snprintf(netdir, sizeof(netdir), "%s/net", dir);

	CHECK_INT(reserve("c1", "eth0", "10.0.0.2", 0), 1);
	CHECK_INT(reserve("c2", "eth0", "10.0.0.2", 0), 0);
	s = slurp("10.0.0.2");
	CHECK(s && !strcmp(s, "c1\r\neth0"));
	CHECK_STR(slurp("last_reserved_ip.0"), "10.0.0.2");
	CHECK(slurp("lock") != NULL);
	CHECK(trusted());
	CHECK_INT(owned("c1", "eth0", false), 1);
	CHECK_INT(owned("c1", "eth1", true), 0);

	/* A foreign reservation (the Go plugin) appears: the stamp no longer matches. */
	put("10.0.0.3", "c1\r\neth1\n  ");
	CHECK(!trusted());
	CHECK_INT(owned("c1", "eth1", false), 1);
	CHECK(trusted());
	/* ...and disappears. */
	rm("10.0.0.3");
	CHECK(!trusted());
	CHECK_INT(owned("c1", "eth1", false), 0);

	/* Stale hint while the stamp matches (content rewritten in place): verified, rebuilt. */
	put("10.0.0.2", "c9\r\neth0");
	CHECK_INT(owned("c1", "eth0", false), 0);
	CHECK_INT(owned("c9", "eth0", false), 1);
	/* In-place rewrites do not move the mtime: seen when the hint of c9 fails. */
	put("10.0.0.2", "c1\r\neth0");
	CHECK_INT(owned("c9", "eth0", false), 0);
	CHECK_INT(owned("c1", "eth0", false), 1);

	/* Legacy files: found with legacy lookups, released when nothing exact matches. */
	put("10.0.0.4", "c3");
	CHECK_INT(owned("c3", "eth0", true), 1);
	CHECK_INT(owned("c3", "eth0", false), 0);
	CHECK_INT(reserve("c3", "eth0", "10.0.0.5", 0), 1);
	CHECK_INT(release("c3", "eth0", 1), 1); /* exact only: the legacy file stays */
	CHECK(slurp("10.0.0.4") != NULL);
	CHECK_INT(release("c3", "eth0", 1), 1); /* nothing exact left: legacy goes */
	CHECK(slurp("10.0.0.4") == NULL);
	CHECK_INT(release("c3", "eth0", 1), 0); /* unknown: success */

	/* Two range sets: the reference's second pass releases legacy files too. */
	put("10.0.0.4", "c3");
	CHECK_INT(reserve("c3", "eth0", "10.0.0.5", 0), 1);
	CHECK_INT(release("c3", "eth0", 2), 2);

	/* last_reserved_ip tolerates whitespace. */
	put("last_reserved_ip.1", "10.0.0.9\n");
	if (!hl_store_open(&st, dir, "net", &e)) {
		CHECK_INT(hl_store_last_reserved(&st, 1, &last), 0);
		CHECK_STR(str(&last), "10.0.0.9");
		CHECK_INT(hl_store_last_reserved(&st, 7, &last), -ENOENT);
		hl_store_close(&st);
	}

	/* GC: c1/eth0 valid; c2's reservation, a legacy c4 and an empty file are released. */
	CHECK_INT(reserve("c2", "eth0", "10.0.0.6", 0), 1);
	put("10.0.0.7", "c4");
	put("10.0.0.8", "");
	put("10.0.0.10", "c1");
	put("notes", "c2\r\neth0");
	if (!hl_store_open(&st, dir, "net", &e)) {
		CHECK_INT(hl_store_gc(&st, valid_c1, NULL, &e), 3);
		hl_store_close(&st);
	}
	CHECK(slurp("10.0.0.2") != NULL);
	CHECK(slurp("10.0.0.10") != NULL);
	CHECK(slurp("10.0.0.6") == NULL);
	CHECK(slurp("10.0.0.7") == NULL);
	CHECK(slurp("10.0.0.8") == NULL);
	CHECK(slurp("notes") != NULL); /* not named by an address: not ours to judge */
	CHECK(slurp("lock") != NULL);
	CHECK(slurp("last_reserved_ip.0") != NULL);
	CHECK(trusted());
	CHECK_INT(release("c1", "eth0", 1), 1);
	CHECK_INT(release("c1", "eth0", 1), 1); /* now the legacy 10.0.0.10 */
	rm("notes");
	rm("last_reserved_ip.1");
	CHECK_INT(owned("c2", "eth0", false), 0); /* the foreign removal forces a rebuild */
	{
		char cmd[700];

		/* Only bookkeeping is left. */
		snprintf(cmd, sizeof(cmd),
			 "test \"$(ls -A %s | grep -v -e '^lock$' -e '^last_reserved_ip\\.' -e "
			 "'^\\.cnic-stamp$')\" = ''",
			 netdir);
		if (system(cmd) != 0) {
			snprintf(cmd, sizeof(cmd), "ls -lA %s >&2; head %s/.cnic-i* >&2", netdir,
				 netdir);
			TAP_FAIL("only bookkeeping left", "see stderr");
			(void)!system(cmd);
		} else {
			TAP_OK("only bookkeeping left");
		}
		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		CHECK(system(cmd) == 0);
	}
}

int main(void)
{
	test_defaults();
	test_invalid();
	test_overlaps();
	test_sets();
	test_iter();
	test_store();
	cni_arena_release();
	return tap_done();
}
