// SPDX-License-Identifier: Apache-2.0
/*
 * host-local's disk store. It owns <dataDir>/<network>/ and keeps the reference plugin's layout
 * byte for byte, so a host can switch between the Go plugin and this one with live allocations
 * in either direction:
 *   lock                   empty; flock(LOCK_EX) on it around every operation
 *   <ip>                   one reservation, created O_EXCL, "<containerID>\r\n<ifname>"
 *                          (legacy files hold only the container ID)
 *   last_reserved_ip.<i>   the last address handed out from range set i
 * The reference reads every file on every call. We add an attachment index so ADD, DEL and CHECK
 * cost O(1) in the number of live allocations:
 *   .cnic-i-<16 hex>       a hash bucket, named by FNV-1a 64 of "<cid>\r\n<ifname>" (legacy: of
 *                          "<cid>"), listing "a <cid> <ifname> <file>" / "l <cid> <file>" lines
 *                          under a "cnic-index 1" header
 *   .cnic-stamp            "cnic-stamp 1 <sec> <nsec>": the directory's mtime when we last
 *                          left it consistent
 * Both are invisible to the Go plugin: it walks the directory and compares each file's trimmed
 * content with "<cid>\r\n<ifname>" or "<cid>", which can contain no space, while ours always do;
 * their names do not parse as IPs.
 *
 * Trust: under the lock, the index is used only when the directory's mtime equals the stamp.
 * Any foreign create/unlink (the Go plugin, an admin, a crash of ours half-way) changes the
 * mtime, and the next operation rebuilds the whole index with one scan. At the end of each of our
 * mutating operations we set the directory's mtime 1 ns back (futimens) and stamp that value:
 * a later real change sets the mtime to "now", which is after it, so even a foreign change in the
 * same timestamp tick as ours is seen. Residual race: when futimens is refused (not owner
 * without CAP_FOWNER) or the filesystem rounds timestamps, a foreign change in the same tick as
 * our last one goes unnoticed; a file the index misses then shows up in the next rebuild (any
 * foreign change later, or GC). It can never cause a double allocation: reservations are O_EXCL
 * on the address's file, whatever the index says. Index entries are hints: a reservation's
 * content is always read back before it is reported or deleted, and a wrong hint means rebuild.
 *
 * Idempotence: releasing what is not there succeeds; the index is rewritten whole per bucket
 * (temp + rename), and the stamp, written in place last, is the commit point.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hostlocal.h"

#define LAST_PREFIX "last_reserved_ip."
#define MAX_FILE (64u * 1024)
#define INDEX_HEADER "cnic-index 1\n"

static void closep(int *fd)
{
	if (*fd >= 0)
		close(*fd);
}
#define _cleanup_close_ __attribute__((cleanup(closep)))

static void freep(void *p)
{
	free(*(void **)p);
}
#define _cleanup_free_ __attribute__((cleanup(freep)))

/* ---- small file helpers -------------------------------------------------------------------- */

static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Whole file into a malloc'd NUL-terminated buffer. 0, -ENOENT, -EFBIG or another errno. */
static int read_file(int dirfd, const char *name, char **out, size_t *outlen)
{
	_cleanup_close_ int fd =
	    openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	size_t len = 0, cap = 256;
	char *buf;
	struct stat st;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st))
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	buf = malloc(cap + 1);
	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t n;

		if (len == cap) {
			char *nb;

			if (cap >= MAX_FILE) {
				free(buf);
				return -EFBIG;
			}
			cap *= 4;
			nb = realloc(buf, cap + 1);
			if (!nb) {
				free(buf);
				return -ENOMEM;
			}
			buf = nb;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int r = -errno;

			free(buf);
			return r;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	*out = buf;
	if (outlen)
		*outlen = len;
	return 0;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* Go's strings.TrimSpace on ASCII, in place. */
static char *trim(char *s)
{
	char *end;

	while (is_space(*s))
		s++;
	end = s + strlen(s);
	while (end > s && is_space(end[-1]))
		*--end = '\0';
	return s;
}

/* A token that can live in an index line: non-empty, no whitespace or control bytes. */
static bool token_ok(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || *s == 0x7f)
			return false;
	return true;
}

/*
 * Owner of a reservation from its trimmed content: "<cid>\r\n<ifname>" or legacy "<cid>"
 * (*ifname NULL). False for anything else (empty files after a crash, foreign files).
 */
static bool parse_owner(char *content, char **cid, char **ifname)
{
	char *sep = strstr(content, "\r\n");

	*cid = content;
	*ifname = NULL;
	if (sep) {
		*sep = '\0';
		*ifname = sep + 2;
		return token_ok(*cid) && cni_ifname_valid(*ifname);
	}
	return token_ok(content);
}

/* The file still holds exactly this owner (the reference's comparison). */
static bool owner_matches(int dirfd, const char *name, const char *cid, const char *ifname)
{
	_cleanup_free_ char *buf = NULL;
	char *c, *i;

	if (read_file(dirfd, name, &buf, NULL))
		return false;
	if (!parse_owner(trim(buf), &c, &i))
		return false;
	if (strcmp(c, cid))
		return false;
	return ifname ? i && !strcmp(i, ifname) : !i;
}

void hl_names_free(struct hl_names *n)
{
	for (size_t i = 0; i < n->n; i++)
		free(n->v[i]);
	free(n->v);
	memset(n, 0, sizeof(*n));
}

static int names_add(struct hl_names *n, const char *s)
{
	if (n->n == n->cap) {
		size_t cap = n->cap ? n->cap * 2 : 8;
		char **v = realloc(n->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		n->v = v;
		n->cap = cap;
	}
	n->v[n->n] = strdup(s);
	if (!n->v[n->n])
		return -ENOMEM;
	n->n++;
	return 0;
}

/* ---- the index ------------------------------------------------------------------------------- */

struct entry {
	uint64_t key;
	char *cid;
	char *ifname; /* NULL: legacy */
	char *name;
};

struct entries {
	struct entry *v;
	size_t n, cap;
};

static void entries_free(struct entries *es)
{
	for (size_t i = 0; i < es->n; i++) {
		free(es->v[i].cid);
		free(es->v[i].ifname);
		free(es->v[i].name);
	}
	free(es->v);
	memset(es, 0, sizeof(*es));
}

static uint64_t owner_key(const char *cid, const char *ifname)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	const char *p;

	for (p = cid; *p; p++)
		h = (h ^ (unsigned char)*p) * 0x100000001b3ULL;
	if (ifname) {
		for (p = "\r\n"; *p; p++)
			h = (h ^ (unsigned char)*p) * 0x100000001b3ULL;
		for (p = ifname; *p; p++)
			h = (h ^ (unsigned char)*p) * 0x100000001b3ULL;
	}
	return h;
}

static void bucket_name(uint64_t key, char buf[32])
{
	snprintf(buf, 32, HL_INDEX_PREFIX "%016" PRIx64, key);
}

static int entries_add(struct entries *es, uint64_t key, const char *cid, const char *ifname,
		       const char *name)
{
	struct entry *x;

	if (es->n == es->cap) {
		size_t cap = es->cap ? es->cap * 2 : 16;
		struct entry *v = realloc(es->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		es->v = v;
		es->cap = cap;
	}
	x = &es->v[es->n];
	x->key = key;
	x->cid = strdup(cid);
	x->ifname = ifname ? strdup(ifname) : NULL;
	x->name = strdup(name);
	es->n++;
	if (!x->cid || !x->name || (ifname && !x->ifname))
		return -ENOMEM;
	return 0;
}

/* Parse a bucket file. A missing bucket is empty; a malformed one is -EBADMSG (rebuild). */
static int bucket_load(struct hl_store *s, uint64_t key, struct entries *es)
{
	_cleanup_free_ char *buf = NULL;
	char name[32], *line, *next;
	int r;

	bucket_name(key, name);
	r = read_file(s->dirfd, name, &buf, NULL);
	if (r == -ENOENT)
		return 0;
	if (r)
		return r;
	if (strncmp(buf, INDEX_HEADER, strlen(INDEX_HEADER)))
		return -EBADMSG;
	for (line = buf + strlen(INDEX_HEADER); *line; line = next) {
		char *tok[4], *save = NULL;
		int n = 0;

		next = strchr(line, '\n');
		if (!next)
			return -EBADMSG; /* torn write */
		*next++ = '\0';
		for (char *t = strtok_r(line, " ", &save); t && n < 4;
		     t = strtok_r(NULL, " ", &save))
			tok[n++] = t;
		if (n == 4 && !strcmp(tok[0], "a"))
			r = entries_add(es, key, tok[1], tok[2], tok[3]);
		else if (n == 3 && !strcmp(tok[0], "l"))
			r = entries_add(es, key, tok[1], NULL, tok[2]);
		else
			return -EBADMSG;
		if (r)
			return r;
	}
	return 0;
}

/* Write entries [from, to) as bucket @key (all of one key), or remove it when empty. */
static int bucket_store(struct hl_store *s, uint64_t key, const struct entry *v, size_t n)
{
	char name[32], tmp[64];
	size_t len = strlen(INDEX_HEADER), o;
	_cleanup_free_ char *buf = NULL;
	_cleanup_close_ int fd = -1;
	int r;

	bucket_name(key, name);
	s->dirty = true;
	if (!n) {
		if (unlinkat(s->dirfd, name, 0) && errno != ENOENT)
			return -errno;
		return 0;
	}
	for (size_t i = 0; i < n; i++)
		len += strlen(v[i].cid) + (v[i].ifname ? strlen(v[i].ifname) : 0) +
		       strlen(v[i].name) + 8;
	buf = malloc(len + 1);
	if (!buf)
		return -ENOMEM;
	o = (size_t)sprintf(buf, "%s", INDEX_HEADER);
	for (size_t i = 0; i < n; i++) {
		if (v[i].ifname)
			o += (size_t)sprintf(buf + o, "a %s %s %s\n", v[i].cid, v[i].ifname,
					     v[i].name);
		else
			o += (size_t)sprintf(buf + o, "l %s %s\n", v[i].cid, v[i].name);
	}
	snprintf(tmp, sizeof(tmp), HL_TMP_PREFIX "%d-%u", (int)getpid(), s->tmp_seq++);
	fd = openat(s->dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	r = write_all(fd, buf, o);
	if (!r && renameat(s->dirfd, tmp, s->dirfd, name))
		r = -errno;
	if (r)
		unlinkat(s->dirfd, tmp, 0);
	return r;
}

static int cmp_entry(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;

	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return strcmp(x->name, y->name);
}

static bool is_ours(const char *name)
{
	return !strncmp(name, ".cnic-", 6);
}

static bool is_bookkeeping(const char *name)
{
	return !strcmp(name, "lock") || !strncmp(name, LAST_PREFIX, strlen(LAST_PREFIX)) ||
	       is_ours(name);
}

/*
 * One pass over the directory: @each is called for every regular file that is not ours, the
 * lock or a last_reserved_ip file, with its trimmed content parsed into an owner (ok false when
 * the content is no owner). Index and temp files are collected into @ours.
 */
static int scan(struct hl_store *s,
		int (*each)(struct hl_store *s, const char *name, bool ok, const char *cid,
			    const char *ifname, void *arg),
		void *arg, struct hl_names *ours)
{
	int fd = dup(s->dirfd), r = 0;
	struct dirent *de;
	DIR *d;

	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		r = -errno;
		close(fd);
		return r;
	}
	rewinddir(d);
	while ((errno = 0, de = readdir(d))) {
		_cleanup_free_ char *buf = NULL;
		char *cid = NULL, *ifname = NULL;
		bool ok;

		if (de->d_type != DT_REG && de->d_type != DT_UNKNOWN)
			continue;
		if (is_bookkeeping(de->d_name)) {
			if (ours &&
			    (!strncmp(de->d_name, HL_INDEX_PREFIX, strlen(HL_INDEX_PREFIX)) ||
			     !strncmp(de->d_name, HL_TMP_PREFIX, strlen(HL_TMP_PREFIX)))) {
				r = names_add(ours, de->d_name);
				if (r)
					break;
			}
			continue;
		}
		if (!token_ok(de->d_name))
			continue; /* cannot be listed in the index; the reference never names so */
		r = read_file(s->dirfd, de->d_name, &buf, NULL);
		if (r == -ENOENT || r == -EINVAL || r == -EFBIG || r == -ELOOP) {
			r = 0;
			continue;
		}
		if (r)
			break;
		ok = parse_owner(trim(buf), &cid, &ifname);
		r = each(s, de->d_name, ok, cid, ifname, arg);
		if (r)
			break;
	}
	if (!r && errno)
		r = -errno;
	closedir(d);
	return r;
}

static int collect(struct hl_store *s, const char *name, bool ok, const char *cid,
		   const char *ifname, void *arg)
{
	(void)s;
	if (!ok)
		return 0;
	return entries_add(arg, owner_key(cid, ifname), cid, ifname, name);
}

int hl_store_rebuild(struct hl_store *s, struct cni_err *e)
{
	struct entries es = {0};
	struct hl_names old = {0};
	int r;

	r = scan(s, collect, &es, &old);
	if (r)
		goto out;
	/* Drop every old bucket first: what the scan found is the whole truth. */
	s->dirty = true;
	for (size_t i = 0; i < old.n; i++)
		if (unlinkat(s->dirfd, old.v[i], 0) && errno != ENOENT) {
			r = -errno;
			goto out;
		}
	if (es.n)
		qsort(es.v, es.n, sizeof(*es.v), cmp_entry);
	for (size_t i = 0, j; i < es.n; i = j) {
		for (j = i + 1; j < es.n && es.v[j].key == es.v[i].key; j++)
			;
		r = bucket_store(s, es.v[i].key, &es.v[i], j - i);
		if (r)
			goto out;
	}
	s->trusted = true;
out:
	entries_free(&es);
	hl_names_free(&old);
	if (r)
		return cni_fail(e, r, 0, "rebuilding the allocation index: %s", strerror(-r));
	return 0;
}

static int ensure_index(struct hl_store *s, struct cni_err *e)
{
	return s->trusted ? 0 : hl_store_rebuild(s, e);
}

/* Add or remove one entry of a bucket (remove: @name NULL removes all of the owner's). */
static int index_update(struct hl_store *s, const char *cid, const char *ifname, const char *add,
			const char *remove_name, bool remove_all)
{
	uint64_t key = owner_key(cid, ifname);
	struct entries es = {0};
	size_t w = 0;
	int r;

	r = bucket_load(s, key, &es);
	if (r)
		goto out;
	for (size_t i = 0; i < es.n; i++) {
		struct entry *x = &es.v[i];
		bool mine = !strcmp(x->cid, cid) &&
			    (ifname ? x->ifname && !strcmp(x->ifname, ifname) : !x->ifname);
		bool drop = mine && (remove_all || (remove_name && !strcmp(x->name, remove_name)) ||
				     (add && !strcmp(x->name, add)));

		if (drop) {
			free(x->cid);
			free(x->ifname);
			free(x->name);
			continue;
		}
		es.v[w++] = *x;
	}
	es.n = w;
	if (add) {
		r = entries_add(&es, key, cid, ifname, add);
		if (r)
			goto out;
	}
	r = bucket_store(s, key, es.v, es.n);
out:
	entries_free(&es);
	if (r)
		s->trusted = false; /* the next operation rebuilds */
	return r;
}

/* ---- stamp --------------------------------------------------------------------------------------
 */

static bool stamp_matches(struct hl_store *s)
{
	_cleanup_free_ char *buf = NULL;
	long long sec;
	long nsec;
	struct stat st;

	if (read_file(s->dirfd, HL_STAMP_NAME, &buf, NULL))
		return false;
	if (sscanf(buf, "cnic-stamp 1 %lld %ld", &sec, &nsec) != 2)
		return false;
	if (fstat(s->dirfd, &st))
		return false;
	return st.st_mtim.tv_sec == sec && st.st_mtim.tv_nsec == nsec;
}

static void stamp_write(struct hl_store *s)
{
	_cleanup_close_ int fd = -1;
	struct timespec ts[2];
	struct stat st;
	char buf[64];
	int n;

	/* Created first (it changes the directory), then read the mtime, then write it. */
	fd = openat(s->dirfd, HL_STAMP_NAME, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 || fstat(s->dirfd, &st))
		return;
	ts[0].tv_sec = 0;
	ts[0].tv_nsec = UTIME_OMIT;
	ts[1] = st.st_mtim;
	if (ts[1].tv_nsec > 0) {
		ts[1].tv_nsec--;
	} else {
		ts[1].tv_sec--;
		ts[1].tv_nsec = 999999999;
	}
	/* Read back what the filesystem stored (it may round). */
	if (futimens(s->dirfd, ts) || fstat(s->dirfd, &st))
		return;
	n = snprintf(buf, sizeof(buf), "cnic-stamp 1 %020lld %09ld\n", (long long)st.st_mtim.tv_sec,
		     (long)st.st_mtim.tv_nsec);
	/* In place, never create or rename: that would move the mtime again. */
	if (pwrite(fd, buf, (size_t)n, 0) == n)
		(void)!ftruncate(fd, n);
}

/* ---- open / close -------------------------------------------------------------------------------
 */

static int mkdir_p(const char *path, mode_t mode)
{
	char buf[PATH_MAX];
	size_t len = strlen(path);

	if (len == 0 || len >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, len + 1);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, mode) && errno != EEXIST)
		return -errno;
	return 0;
}

int hl_store_open(struct hl_store *s, const char *datadir, const char *net, struct cni_err *e)
{
	char path[PATH_MAX];
	int r;

	memset(s, 0, sizeof(*s));
	s->dirfd = s->lockfd = -1;
	s->durable = true;
	if (snprintf(path, sizeof(path), "%s/%s", datadir, net) >= (int)sizeof(path))
		return cni_fail(e, -ENAMETOOLONG, 0, "data directory path too long");
	r = mkdir_p(path, 0755);
	if (r)
		return cni_fail(e, r, 0, "mkdir %s: %s", path, strerror(-r));
	s->dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->dirfd < 0)
		return cni_fail(e, -errno, 0, "open %s: %s", path, strerror(errno));
	s->lockfd = openat(s->dirfd, "lock", O_RDONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (s->lockfd < 0) {
		r = -errno;
		hl_store_close(s);
		return cni_fail(e, r, 0, "open %s/lock: %s", path, strerror(-r));
	}
	while (flock(s->lockfd, LOCK_EX)) {
		if (errno == EINTR)
			continue;
		r = -errno;
		hl_store_close(s);
		return cni_fail(e, r, 0, "lock %s/lock: %s", path, strerror(-r));
	}
	s->trusted = stamp_matches(s);
	return 0;
}

void hl_store_close(struct hl_store *s)
{
	if (s->dirfd >= 0) {
		if (s->sync && s->durable)
			fsync(s->dirfd);
		if (s->dirty && s->trusted)
			stamp_write(s);
		close(s->dirfd);
	}
	if (s->lockfd >= 0)
		close(s->lockfd); /* releases the flock */
	s->dirfd = s->lockfd = -1;
}

/* ---- operations ---------------------------------------------------------------------------------
 */

int hl_store_last_reserved(struct hl_store *s, int set, struct cni_ip *ip)
{
	_cleanup_free_ char *buf = NULL;
	char name[64];
	int r;

	snprintf(name, sizeof(name), LAST_PREFIX "%d", set);
	r = read_file(s->dirfd, name, &buf, NULL);
	if (r)
		return r;
	/* The reference writes it without a newline; tolerate one. */
	return cni_ip_parse(trim(buf), ip);
}

char *hl_store_last_raw(struct hl_store *s, int set)
{
	_cleanup_free_ char *buf = NULL;
	char name[64];

	snprintf(name, sizeof(name), LAST_PREFIX "%d", set);
	if (read_file(s->dirfd, name, &buf, NULL))
		return NULL;
	return cni_strdup(buf);
}

int hl_store_last_restore(struct hl_store *s, int set, const char *text)
{
	_cleanup_close_ int fd = -1;
	char name[64];

	snprintf(name, sizeof(name), LAST_PREFIX "%d", set);
	if (!text) {
		if (unlinkat(s->dirfd, name, 0) && errno != ENOENT)
			return -errno;
		s->dirty = true;
		return 0;
	}
	fd = openat(s->dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return -errno;
	return write_all(fd, text, strlen(text));
}

bool hl_store_taken(struct hl_store *s, const struct cni_ip *ip)
{
	char name[CNI_IP_STRLEN];

	return !faccessat(s->dirfd, cni_ip_str(ip, name), F_OK, AT_SYMLINK_NOFOLLOW);
}

/*
 * Create reservation @name holding @content, or find it taken. The file is written unnamed
 * (O_TMPFILE) and then linked in, which fails with EEXIST when the address is taken: a crash can
 * never leave an empty reservation that no DEL would match. Filesystems without O_TMPFILE get
 * the reference's create-then-write. Returns 1 reserved, 0 taken, or -errno.
 */
static int reserve_atomic(struct hl_store *s, const char *name, const char *content)
{
	_cleanup_close_ int fd = -1;
	char proc[64];
	int r;

	fd = openat(s->dirfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0 && errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
		return -errno;
	if (fd >= 0) {
		r = write_all(fd, content, strlen(content));
		if (!r && s->durable && fdatasync(fd))
			r = -errno;
		if (r)
			return r;
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
		if (linkat(AT_FDCWD, proc, s->dirfd, name, AT_SYMLINK_FOLLOW) == 0) {
			s->dirty = true;
			s->sync = true;
			return 1;
		}
		if (errno == EEXIST)
			return 0;
		if (errno != ENOENT) /* no /proc: fall back */
			return -errno;
		closep(&fd);
	}
	fd = openat(s->dirfd, name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return errno == EEXIST ? 0 : -errno;
	s->dirty = true;
	r = write_all(fd, content, strlen(content));
	if (!r && s->durable && fdatasync(fd))
		r = -errno;
	if (r) {
		unlinkat(s->dirfd, name, 0);
		return r;
	}
	s->sync = true;
	return 1;
}

int hl_store_reserve(struct hl_store *s, const char *cid, const char *ifname,
		     const struct cni_ip *ip, int set, struct cni_err *e)
{
	char name[CNI_IP_STRLEN], last[64], *content;
	_cleanup_close_ int fd = -1;
	int r;

	r = ensure_index(s, e);
	if (r)
		return r;
	cni_ip_str(ip, name);
	content = cni_sprintf("%s\r\n%s", cid, ifname);
	r = reserve_atomic(s, name, content);
	if (r == 0)
		return 0; /* taken */
	if (r < 0)
		return cni_fail(e, r, 0, "reserving %s: %s", name, strerror(-r));
	s->sync = true;
	r = index_update(s, cid, ifname, name, NULL, false);
	if (r) {
		unlinkat(s->dirfd, name, 0);
		return cni_fail(e, r, 0, "indexing %s: %s", name, strerror(-r));
	}
	/* The reference rewrites it on every reservation (never created with O_EXCL). */
	snprintf(last, sizeof(last), LAST_PREFIX "%d", set);
	closep(&fd);
	fd = openat(s->dirfd, last, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0 || write_all(fd, name, strlen(name))) {
		r = -errno;
		hl_store_unreserve(s, cid, ifname, ip);
		return cni_fail(e, r, 0, "writing %s: %s", last, strerror(-r));
	}
	return 1;
}

int hl_store_unreserve(struct hl_store *s, const char *cid, const char *ifname,
		       const struct cni_ip *ip)
{
	char name[CNI_IP_STRLEN];

	cni_ip_str(ip, name);
	if (!owner_matches(s->dirfd, name, cid, ifname))
		return -ENOENT;
	if (unlinkat(s->dirfd, name, 0) && errno != ENOENT)
		return -errno;
	s->dirty = true;
	return index_update(s, cid, ifname, NULL, name, false);
}

/*
 * Names of an owner from its bucket, each read back. A hint that does not hold means the index
 * is wrong: rebuild once and look again.
 */
static int owned_one(struct hl_store *s, const char *cid, const char *ifname, struct hl_names *out,
		     struct cni_err *e)
{
	for (int pass = 0;; pass++) {
		struct entries es = {0};
		size_t start = out->n;
		bool stale = false;
		int r;

		r = ensure_index(s, e);
		if (r)
			return r;
		r = bucket_load(s, owner_key(cid, ifname), &es);
		for (size_t i = 0; !r && i < es.n; i++) {
			struct entry *x = &es.v[i];

			if (strcmp(x->cid, cid) ||
			    (ifname ? !x->ifname || strcmp(x->ifname, ifname) : !!x->ifname))
				continue; /* a hash neighbour */
			if (!owner_matches(s->dirfd, x->name, cid, ifname))
				stale = true;
			else
				r = names_add(out, x->name);
		}
		entries_free(&es);
		if (r == -EBADMSG)
			stale = true;
		else if (r)
			return cni_fail(e, r, 0, "reading the allocation index: %s", strerror(-r));
		if (!stale || pass > 0)
			return 0;
		while (out->n > start)
			free(out->v[--out->n]);
		s->trusted = false;
	}
}

int hl_store_owned(struct hl_store *s, const char *cid, const char *ifname, bool legacy,
		   struct hl_names *out, struct cni_err *e)
{
	int r = owned_one(s, cid, ifname, out, e);

	if (!r && legacy)
		r = owned_one(s, cid, NULL, out, e);
	return r;
}

static int release_owner(struct hl_store *s, const char *cid, const char *ifname, int *count,
			 struct cni_err *e)
{
	struct hl_names names = {0};
	int r, ret = 0;

	r = owned_one(s, cid, ifname, &names, e);
	if (r)
		return r;
	for (size_t i = 0; i < names.n; i++) {
		if (unlinkat(s->dirfd, names.v[i], 0) && errno != ENOENT) {
			r = -errno;
			if (!ret)
				cni_fail(e, r, 0, "releasing %s: %s", names.v[i], strerror(-r));
			else
				cni_err_append(e, "releasing %s: %s", names.v[i], strerror(-r));
			ret = r;
			/* its index entry stays: the retry of this DEL must find the file again */
			free(names.v[i]);
			names.v[i] = NULL;
			continue;
		}
		s->dirty = true;
		(*count)++;
	}
	r = 0;
	if (names.n && !ret)
		r = index_update(s, cid, ifname, NULL, NULL, true);
	for (size_t i = 0; ret && !r && i < names.n; i++)
		if (names.v[i])
			r = index_update(s, cid, ifname, NULL, names.v[i], false);
	if (r && !ret)
		ret = cni_fail(e, r, 0, "updating the allocation index: %s", strerror(-r));
	else if (r)
		cni_err_append(e, "updating the allocation index: %s", strerror(-r));
	hl_names_free(&names);
	return ret;
}

int hl_store_release(struct hl_store *s, const char *cid, const char *ifname, size_t nsets,
		     struct cni_err *e)
{
	int count = 0, r;

	/*
	 * The reference runs "release exact, else legacy" once per range set: with two or more
	 * sets the second pass finds no exact file left and removes the legacy ones too.
	 */
	r = release_owner(s, cid, ifname, &count, e);
	if (r)
		return r;
	if (count == 0 || nsets > 1)
		r = release_owner(s, cid, NULL, &count, e);
	return r ? r : count;
}

struct gc_arg {
	bool (*valid)(void *arg, const char *cid, const char *ifname);
	void *arg;
	struct cni_err *e;
	int removed, err;
};

static int gc_each(struct hl_store *s, const char *name, bool ok, const char *cid,
		   const char *ifname, void *arg)
{
	struct gc_arg *g = arg;
	struct cni_ip ip;
	char canon[CNI_IP_STRLEN];

	/* Only reservations: files named by an address. Foreign files are left alone. */
	if (cni_ip_parse(name, &ip) || strcmp(cni_ip_str(&ip, canon), name))
		return 0;
	if (ok && g->valid(g->arg, cid, ifname))
		return 0;
	if (unlinkat(s->dirfd, name, 0) && errno != ENOENT) {
		int r = -errno;

		if (!g->err)
			cni_fail(g->e, r, 0, "releasing %s: %s", name, strerror(-r));
		else
			cni_err_append(g->e, "releasing %s: %s", name, strerror(-r));
		g->err = r;
		return 0;
	}
	s->dirty = true;
	g->removed++;
	return 0;
}

int hl_store_gc(struct hl_store *s, bool (*valid)(void *arg, const char *cid, const char *ifname),
		void *arg, struct cni_err *e)
{
	struct gc_arg g = {.valid = valid, .arg = arg, .e = e};
	struct cni_err re = {0};
	int r;

	r = scan(s, gc_each, &g, NULL);
	if (r)
		return cni_fail(e, r, 0, "scanning the data directory: %s", strerror(-r));
	s->trusted = false;
	r = hl_store_rebuild(s, &re);
	if (r) {
		if (!g.err)
			cni_fail(e, r, 0, "%s", re.msg);
		else
			cni_err_append(e, "%s", re.msg);
		return r;
	}
	return g.err ? g.err : g.removed;
}
