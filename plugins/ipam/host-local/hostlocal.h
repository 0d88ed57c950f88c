/* SPDX-License-Identifier: Apache-2.0 */
/*
 * host-local's two halves, split so the unit tests can link them without main(): the allocator
 * (alloc.c: ranges, range sets, their validation and the round-robin iterator; pure, no I/O) and
 * the store (store.c: the reference plugin's on-disk layout under <dataDir>/<network>/ plus our
 * attachment index, all under flock). No JSON here: main.c fills these structs from the
 * dispatcher's field tables.
 */
#ifndef HOSTLOCAL_H
#define HOSTLOCAL_H

#include <stdbool.h>
#include <stddef.h>

#include "cni/cni.h"

/* ---- allocator ------------------------------------------------------------------------------- */

struct hl_range {
	struct cni_prefix subnet; /* family 0 when the key was absent */
	struct cni_ip start, end, gw;
};

/* A range set: one address is handed out per set. Same layout as struct cni_vec. */
struct hl_set {
	struct hl_range *r;
	size_t n;
};

/*
 * hl_range_canonicalize() - check a range and fill its defaults as the reference does: subnet a
 * network address and at least /30 (/126), gateway default network+1, start default network+1,
 * end default broadcast-1 (v4) or the last address (v6), start and end inside the subnet and
 * start <= end. Returns 0 or -EINVAL with @e's message (no code).
 */
int hl_range_canonicalize(struct hl_range *r, struct cni_err *e);

/* ip is of the range's family, inside its subnet and in [start, end]. */
bool hl_range_contains(const struct hl_range *r, const struct cni_ip *ip);

/* Either range holds the other's start or end (the reference's definition). */
bool hl_range_overlaps(const struct hl_range *a, const struct hl_range *b);

/*
 * An address never handed out from this range: the gateway, the subnet's network address and,
 * for IPv4, its broadcast address (the reference only avoids them by default start/end).
 */
bool hl_range_reserved(const struct hl_range *r, const struct cni_ip *ip);

/* Canonicalize every range, one family, no overlap inside the set. 0 or -EINVAL with @e. */
int hl_set_canonicalize(struct hl_set *s, struct cni_err *e);
/* The range of @s holding @ip, or NULL. */
const struct hl_range *hl_set_range_for(const struct hl_set *s, const struct cni_ip *ip);
bool hl_set_overlaps(const struct hl_set *a, const struct hl_set *b);
/* "start-end,start-end" into buf; returns buf. */
char *hl_set_str(const struct hl_set *s, char *buf, size_t len);
int hl_set_family(const struct hl_set *s);

/*
 * Round-robin iteration over a set, the reference's order: start right after @last when it lies
 * in the set (else at the first range's start), walk each range to its end, wrap to the next
 * range, stop when back at the first address tried. Reserved addresses are skipped.
 */
struct hl_iter {
	const struct hl_set *set;
	size_t idx;
	struct cni_ip cur, first;
	bool have_cur, have_first;
};

void hl_iter_init(struct hl_iter *it, const struct hl_set *s, const struct cni_ip *last);
/* Next candidate and its range; false when the set has been walked once. */
bool hl_iter_next(struct hl_iter *it, struct cni_ip *ip, const struct hl_range **r);

/* ---- store -------------------------------------------------------------------------------------
 */

/*
 * One open network directory, locked. Every function below must be called between
 * hl_store_open() and hl_store_close(). Names handed out are the file names of reservations
 * (canonical IP text for ours and the reference's).
 */
struct hl_store {
	int dirfd;
	int lockfd;
	bool trusted; /* the attachment index matches the directory */
	bool dirty;   /* we changed the directory: restamp on close */
	bool sync;    /* a reservation was made: fsync the directory on close */
	bool durable; /* fsync reservations (default true) */
	unsigned int tmp_seq;
};

struct hl_names {
	char **v;
	size_t n, cap;
};

void hl_names_free(struct hl_names *n);

/*
 * hl_store_open() - create <datadir>/<net> (0755, as the reference) and its lock file, take the
 * exclusive flock and decide whether the index can be trusted. Returns 0 or a negative errno
 * with @e filled.
 */
int hl_store_open(struct hl_store *s, const char *datadir, const char *net, struct cni_err *e);

/* Restamp the index when the directory changed, release the lock, close. Never fails. */
void hl_store_close(struct hl_store *s);

/*
 * hl_store_reserve() - create the reservation file for @ip with O_EXCL, content
 * "<cid>\r\n<ifname>", record it as last_reserved_ip.<set> and in the index.
 * Returns 1 reserved, 0 already taken, or a negative errno with @e filled.
 */
int hl_store_reserve(struct hl_store *s, const char *cid, const char *ifname,
		     const struct cni_ip *ip, int set, struct cni_err *e);

/* Undo one hl_store_reserve() of this call (content verified). 0 or a negative errno. */
int hl_store_unreserve(struct hl_store *s, const char *cid, const char *ifname,
		       const struct cni_ip *ip);

/* last_reserved_ip.<set>: 0 with *ip set, or -ENOENT / -EINVAL when absent or unreadable. */
int hl_store_last_reserved(struct hl_store *s, int set, struct cni_ip *ip);

/* last_reserved_ip.<set> as raw text (arena), NULL when absent: for hl_store_last_restore(). */
char *hl_store_last_raw(struct hl_store *s, int set);
/* Put last_reserved_ip.<set> back to @text (NULL: remove it). 0 or a negative errno. */
int hl_store_last_restore(struct hl_store *s, int set, const char *text);

/*
 * hl_store_owned() - file names held by the attachment (exact files, plus legacy files holding
 * only @cid when @legacy), appended to @out. 0 or a negative errno with @e.
 */
int hl_store_owned(struct hl_store *s, const char *cid, const char *ifname, bool legacy,
		   struct hl_names *out, struct cni_err *e);

/*
 * hl_store_release() - the reference's DEL, once per range set: remove every file of
 * (@cid, @ifname); when a pass finds none, remove the legacy files of @cid. Returns the number
 * of files removed or a negative errno with @e (removal continues past errors).
 */
int hl_store_release(struct hl_store *s, const char *cid, const char *ifname, size_t nsets,
		     struct cni_err *e);

/* True when a reservation file for @ip exists. */
bool hl_store_taken(struct hl_store *s, const struct cni_ip *ip);

/*
 * hl_store_gc() - remove every reservation (a file named by an IP) whose owner @valid rejects;
 * @ifname is NULL for legacy files. Reports every failure in @e and continues. Returns the number
 * removed or a negative errno.
 */
int hl_store_gc(struct hl_store *s, bool (*valid)(void *arg, const char *cid, const char *ifname),
		void *arg, struct cni_err *e);

/* Rebuild the index from a full scan (tests use it; operations do it when needed). */
int hl_store_rebuild(struct hl_store *s, struct cni_err *e);

#define HL_INDEX_PREFIX ".cnic-i-"
#define HL_STAMP_NAME ".cnic-stamp"
#define HL_TMP_PREFIX ".cnic-tmp-"

#endif
