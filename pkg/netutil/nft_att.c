// SPDX-License-Identifier: Apache-2.0
/*
 * Attachments in chains every container shares (masq_checks, the firewall's containers chain):
 * their identity hash, their comment read back, and the markers that spare ADD a dump.
 *
 * An attachment's rules are found by their comment, which takes a dump of the whole chain, one
 * rule per container or more: an ADD that listed the chain would slow down as containers come.
 * ADD lists it only to replace what an earlier ADD of the same attachment left (the reference
 * does; the spec forbids a second ADD without a DEL between). A marker file per attachment and
 * network namespace, /run/cni/cnic/nft/<netns inode>.<kind>.<hash>, holding "<cid>\n<ifname>\n",
 * says that an earlier ADD may have left rules: ADD lists the chain only when the marker exists or
 * cannot be made. The marker is made before the rules and removed after them, so "no marker"
 * always means "no rules of ours". Rules another program wrote (the reference plugins) have no
 * marker: a second ADD of such an attachment adds its rules beside them, and DEL, which always
 * lists, removes both. A namespace inode is reused only once its namespace is gone; a marker left
 * by a dead namespace at most costs a later ADD its dump.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cni/hash.h"
#include "netutil/nft_internal.h"

#define MARK_DIR "/run/cni/cnic/nft"
#define MARK_PATH_MAX 96

char *nft_att_hash(char out[NFT_ATT_HASH_LEN + 1], const char *net, const char *ifname,
		   const char *cid)
{
	cni_sha512_hex(out, 16, net, NULL);
	out[16] = '-';
	cni_sha512_hex(out + 17, 16, ifname, ":", cid, NULL);
	return out;
}

char *nft_att_net_prefix(char out[18], const char *net)
{
	cni_sha512_hex(out, 16, net, NULL);
	out[16] = '-';
	out[17] = '\0';
	return out;
}

bool nft_att_parse(const char *comment, const char *net_prefix, char *ifname, size_t iflen,
		   const char **cid)
{
	const char *id = NULL, *ifp = NULL;
	char check[17];

	if (!comment || strncmp(comment, net_prefix, 17) || strlen(comment) < NFT_ATT_HASH_LEN)
		return false;
	/* the names are taken from the end: a network name may contain anything */
	for (const char *p = strstr(comment, ", id: "); p; p = strstr(p + 1, ", id: "))
		id = p;
	if (!id)
		return false;
	for (const char *p = strstr(comment, ", if: "); p && p < id; p = strstr(p + 1, ", if: "))
		ifp = p;
	if (!ifp || (size_t)(id - ifp - 6) >= iflen)
		return false;
	snprintf(ifname, iflen, "%.*s", (int)(id - ifp - 6), ifp + 6);
	/* a comment cut at 128 bytes does not hash back to its own prefix */
	cni_sha512_hex(check, 16, ifname, ":", id + 6, NULL);
	if (strncmp(check, comment + 17, 16))
		return false;
	*cid = id + 6;
	return true;
}

/* "<dir>/<netns inode>.<kind>.<hash>" of the calling thread's netns, or -errno. */
static int mark_path(char *buf, size_t len, const char *kind, const char *hash)
{
	struct stat st;

	if (stat("/proc/thread-self/ns/net", &st) < 0)
		return -errno;
	if ((size_t)snprintf(buf, len, MARK_DIR "/%lx.%s.%s", (unsigned long)st.st_ino, kind,
			     hash ? hash : "") >= len)
		return -ENAMETOOLONG;
	return 0;
}

static int mkdir_p(const char *dir)
{
	char path[sizeof(MARK_DIR)];

	memcpy(path, dir, sizeof(path));
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	return mkdir(path, 0700) < 0 && errno != EEXIST ? -errno : 0;
}

bool nft_att_mark(const char *kind, const char *hash, const char *cid, const char *ifname)
{
	char path[MARK_PATH_MAX], body[NFT_ATT_COMMENT_MAX * 2];
	int fd, n;
	bool ok;

	if (mark_path(path, sizeof(path), kind, hash) < 0)
		return false;
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 && errno == ENOENT && mkdir_p(MARK_DIR) == 0)
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return false;
	n = snprintf(body, sizeof(body), "%s\n%s\n", cid, ifname);
	ok = n > 0 && (size_t)n < sizeof(body) && write(fd, body, (size_t)n) == n;
	close(fd);
	if (!ok)
		unlink(path);
	return ok;
}

void nft_att_unmark(const char *kind, const char *hash)
{
	char path[MARK_PATH_MAX];

	if (mark_path(path, sizeof(path), kind, hash) == 0)
		unlink(path);
}

/* "<cid>\n<ifname>\n" of the marker @name in @dir into @cid and @ifname; false when unreadable. */
static bool mark_read(int dir, const char *name, char *cid, size_t cidlen, char *ifname,
		      size_t iflen)
{
	char body[NFT_ATT_COMMENT_MAX * 2 + 1], *nl, *end;
	int fd = openat(dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return false;
	n = read(fd, body, sizeof(body) - 1);
	close(fd);
	if (n <= 0)
		return false;
	body[n] = '\0';
	nl = strchr(body, '\n');
	end = nl ? strchr(nl + 1, '\n') : NULL;
	if (!end || (size_t)(nl - body) >= cidlen || (size_t)(end - nl - 1) >= iflen)
		return false;
	snprintf(cid, cidlen, "%.*s", (int)(nl - body), body);
	snprintf(ifname, iflen, "%.*s", (int)(end - nl - 1), nl + 1);
	return true;
}

void nft_att_mark_gc(const char *kind, const char *net, nu_nft_valid_fn valid, void *arg)
{
	char prefix[MARK_PATH_MAX], np[18], cid[NFT_ATT_COMMENT_MAX], ifname[NFT_ATT_COMMENT_MAX];
	const char *base;
	struct dirent *d;
	size_t plen;
	DIR *dir;

	if (mark_path(prefix, sizeof(prefix), kind, nft_att_net_prefix(np, net)) < 0)
		return;
	base = prefix + sizeof(MARK_DIR);
	plen = strlen(base);
	dir = opendir(MARK_DIR);
	if (!dir)
		return;
	while ((d = readdir(dir))) {
		if (strncmp(d->d_name, base, plen))
			continue;
		/* an unreadable marker stays: it only ever costs an ADD its dump */
		if (mark_read(dirfd(dir), d->d_name, cid, sizeof(cid), ifname, sizeof(ifname)) &&
		    !valid(arg, cid, ifname))
			unlinkat(dirfd(dir), d->d_name, 0);
	}
	closedir(dir);
}
