// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer harness for dnsname's network files (plugins/meta/dnsname/records.c), read by every
 * plugin run and by the daemon at each reload. The reader is built with a 64-byte block so that
 * short inputs already cross block boundaries and grow the block for long lines. A file that
 * parses must survive a write and a second read unchanged (both ways of reading).
 * Build: clang -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Ipkg \
 *        tests/fuzz/fuzz_netfile.c -o fuzz_netfile
 * Corpus: tests/fuzz/corpus/netfile/
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define READ_BLOCK_TEST 64u
#include "../../plugins/meta/dnsname/records.c"

static int dir = -1;
static char path[] = "/dev/shm/cnic-fuzz-netfile.XXXXXX";

static void cleanup(void)
{
	unlinkat(dir, "in", 0);
	unlinkat(dir, "out", 0);
	rmdir(path);
}

static void same(const struct dn_netfile *a, const struct dn_netfile *b, bool serve)
{
	if (a->n != b->n || a->ttl != b->ttl || strcmp(a->domain, b->domain))
		abort();
	for (size_t i = 0; i < a->n; i++) {
		const struct dn_rec *x = &a->recs[i], *y = &b->recs[i];

		if (strcmp(x->netns, y->netns) || x->ns_dev != y->ns_dev ||
		    x->ns_ino != y->ns_ino || x->n_addrs != y->n_addrs ||
		    x->n_names != y->n_names ||
		    (serve ? *y->cid || *y->ifname
			   : strcmp(x->cid, y->cid) || strcmp(x->ifname, y->ifname)))
			abort();
		for (size_t k = 0; k < x->n_addrs; k++)
			if (x->addrs[k].family != y->addrs[k].family ||
			    memcmp(x->addrs[k].a, y->addrs[k].a,
				   x->addrs[k].family == AF_INET ? 4 : 16))
				abort();
		for (size_t k = 0; k < x->n_names; k++)
			if (strcmp(x->names[k], y->names[k]))
				abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dn_netfile f, g;
	int fd;

	if (dir < 0) {
		if (!mkdtemp(path) || (dir = open(path, O_RDONLY | O_DIRECTORY)) < 0)
			abort();
		atexit(cleanup);
	}
	fd = openat(dir, "in", O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, data, size) != (ssize_t)size)
		abort();
	close(fd);
	if (dn_netfile_read(dir, "in", &f, 0)) {
		if (!dn_netfile_read(dir, "in", &g, DN_READ_SERVE)) /* both readers agree */
			abort();
		return 0;
	}
	if (dn_netfile_read(dir, "in", &g, DN_READ_SERVE))
		abort();
	same(&f, &g, true);
	dn_netfile_free(&g);
	if (dn_netfile_write(dir, "out", &f))
		abort();
	if (!f.n) { /* no records: no file */
		if (dn_netfile_read(dir, "out", &g, 0) != -ENOENT)
			abort();
	} else {
		if (dn_netfile_read(dir, "out", &g, 0))
			abort();
		same(&f, &g, false);
		dn_netfile_free(&g);
	}
	dn_netfile_free(&f);
	return 0;
}
