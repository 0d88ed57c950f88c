// SPDX-License-Identifier: Apache-2.0
/*
 * iptables-legacy's filter table (see ipt_legacy.h) through libiptc, iptables' own library for
 * x_tables (libip4tc/libip6tc): it reads the table, keeps chains and jump offsets consistent and
 * writes the whole table back with IPT_SO_SET_REPLACE, as iptables-legacy does. What iptables'
 * extensions would build from the command line is built here: the entry with -s/-d and -p, the
 * tcp/udp/sctp port match (rev 0), conntrack --ctstate (rev 3, xt_conntrack_mtinfo3, what 1.8.9
 * picks on any kernel since 3.3), comment (rev 0) and the standard target, ACCEPT or a jump.
 * Kernel objects: rules and user chains of the legacy filter table; the table itself is never
 * created (a family without one is skipped). Idempotence is the callers' (fwd.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <libiptc/libip6tc.h>
#include <libiptc/libiptc.h>
#include <linux/netfilter/x_tables.h>
#include <linux/netfilter/xt_comment.h>
#include <linux/netfilter/xt_conntrack.h>
#include <linux/netfilter/xt_sctp.h>
#include <linux/netfilter/xt_tcpudp.h>

#include "nft/ipt_legacy.h"

#define TABLE "filter"
#define LOCK_FILE "/run/xtables.lock"
#define LOCK_WAIT_S 10 /* iptables -w waits for ever; a plugin answers within a bound */
#define TRIES 8	       /* snapshots redone when another writer changed the table meanwhile */

/* One family's libiptc, entries passed as void (struct ipt_entry or struct ip6t_entry). */
struct fam {
	size_t entry_size;
	struct xtc_handle *(*init)(const char *table);
	void (*free)(struct xtc_handle *h);
	int (*commit)(struct xtc_handle *h);
	int (*is_chain)(const char *chain, struct xtc_handle *const h);
	int (*create_chain)(const xt_chainlabel chain, struct xtc_handle *h);
	const char *(*get_policy)(const char *chain, struct xt_counters *c, struct xtc_handle *h);
	const void *(*first)(const char *chain, struct xtc_handle *h);
	const void *(*next)(const void *prev, struct xtc_handle *h);
	const char *(*target)(const void *e, struct xtc_handle *h);
	int (*check)(const xt_chainlabel chain, const void *e, unsigned char *mask,
		     struct xtc_handle *h);
	int (*insert)(const xt_chainlabel chain, const void *e, unsigned int n,
		      struct xtc_handle *h);
	int (*append)(const xt_chainlabel chain, const void *e, struct xtc_handle *h);
	int (*delete_num)(const xt_chainlabel chain, unsigned int n, struct xtc_handle *h);
	const char *(*strerror)(int err);
};

/* Typed wrappers: libiptc's v4 and v6 functions differ only in the entry type. */
#define FAM_WRAP(p, E)                                                                             \
	static const void *p##_first(const char *c, struct xtc_handle *h)                          \
	{                                                                                          \
		return p##_first_rule(c, h);                                                       \
	}                                                                                          \
	static const void *p##_next(const void *e, struct xtc_handle *h)                           \
	{                                                                                          \
		return p##_next_rule(e, h);                                                        \
	}                                                                                          \
	static const char *p##_target(const void *e, struct xtc_handle *h)                         \
	{                                                                                          \
		return p##_get_target(e, h);                                                       \
	}                                                                                          \
	static int p##_check(const xt_chainlabel c, const void *e, unsigned char *m,               \
			     struct xtc_handle *h)                                                 \
	{                                                                                          \
		return p##_check_entry(c, e, m, h);                                                \
	}                                                                                          \
	static int p##_insert(const xt_chainlabel c, const void *e, unsigned int n,                \
			      struct xtc_handle *h)                                                \
	{                                                                                          \
		return p##_insert_entry(c, e, n, h);                                               \
	}                                                                                          \
	static int p##_append(const xt_chainlabel c, const void *e, struct xtc_handle *h)          \
	{                                                                                          \
		return p##_append_entry(c, e, h);                                                  \
	}                                                                                          \
	static const struct fam p##_fam = {                                                        \
	    .entry_size = sizeof(E),                                                               \
	    .init = p##_init,                                                                      \
	    .free = p##_free,                                                                      \
	    .commit = p##_commit,                                                                  \
	    .is_chain = p##_is_chain,                                                              \
	    .create_chain = p##_create_chain,                                                      \
	    .get_policy = p##_get_policy,                                                          \
	    .first = p##_first,                                                                    \
	    .next = p##_next,                                                                      \
	    .target = p##_target,                                                                  \
	    .check = p##_check,                                                                    \
	    .insert = p##_insert,                                                                  \
	    .append = p##_append,                                                                  \
	    .delete_num = p##_delete_num_entry,                                                    \
	    .strerror = p##_strerror,                                                              \
	}
FAM_WRAP(iptc, struct ipt_entry);
FAM_WRAP(ip6tc, struct ip6t_entry);

struct ipt_legacy {
	int af;
	const struct fam *f;
	struct xtc_handle *h;
};

static const struct fam *fam_of(int af)
{
	return af == AF_INET ? &iptc_fam : &ip6tc_fam;
}

static const char *fam_name(int af)
{
	return af == AF_INET ? "ip" : "ip6";
}

bool ipt_legacy_exists(int af)
{
	const char *path =
	    af == AF_INET ? "/proc/net/ip_tables_names" : "/proc/net/ip6_tables_names";
	char buf[512];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;
	bool found = false;

	if (fd < 0)
		return false; /* no ip_tables module: no legacy table */
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	for (char *line = buf, *nl; n > 0 && line < buf + n && !found; line = nl + 1) {
		nl = strchr(line, '\n');
		if (!nl)
			nl = buf + n;
		found = nl - line == (ssize_t)strlen(TABLE) && !strncmp(line, TABLE, strlen(TABLE));
	}
	return found;
}

/* libiptc's errno, 0 meaning "version error" (its own words), as a negative errno. */
static int lib_err(void)
{
	return errno ? -errno : -EPROTO;
}

static int fail_err(struct ipt_legacy *t, int err, const char *op, const char *chain,
		    struct cni_err *e)
{
	return cni_fail(e, err, 0, "%s in %s legacy iptables filter %s: %s", op, fam_name(t->af),
			chain, t->f->strerror(-err));
}

/* The libiptc call just made failed: its errno. */
static int fail_op(struct ipt_legacy *t, const char *op, const char *chain, struct cni_err *e)
{
	return fail_err(t, lib_err(), op, chain, e);
}

/* ---- the xtables lock ------------------------------------------------------------------------ */

static volatile sig_atomic_t lock_expired;

static void on_alarm(int sig)
{
	(void)sig;
	lock_expired = 1;
}

/*
 * The lock every iptables takes around its read-modify-commit: the fd holding it, or -errno.
 * A held lock is waited for in flock() itself, interrupted by a timer after LOCK_WAIT_S (and
 * every 50 ms after that, should the first signal come before flock() blocks).
 */
static int xt_lock(struct cni_err *e)
{
	const char *path = getenv("XTABLES_LOCKFILE");
	struct sigaction sa = {.sa_handler = on_alarm}, old_sa;
	struct itimerval it = {.it_value = {LOCK_WAIT_S, 0}, .it_interval = {0, 50000}}, off = {0};
	int fd, r, err;

	if (!path || !*path)
		path = LOCK_FILE;
	fd = open(path, O_RDONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return cni_fail(e, -errno, 0, "opening the xtables lock %s: %s", path,
				strerror(errno));
	if (!flock(fd, LOCK_EX | LOCK_NB))
		return fd;
	err = errno;
	if (err == EWOULDBLOCK) {
		lock_expired = 0;
		sigemptyset(&sa.sa_mask);
		sigaction(SIGALRM, &sa, &old_sa); /* no SA_RESTART: flock() returns EINTR */
		setitimer(ITIMER_REAL, &it, NULL);
		while ((r = flock(fd, LOCK_EX)) && errno == EINTR && !lock_expired)
			;
		err = r ? errno : 0;
		setitimer(ITIMER_REAL, &off, NULL);
		sigaction(SIGALRM, &old_sa, NULL);
		if (!r)
			return fd;
	}
	close(fd);
	if (err == EINTR && lock_expired)
		return cni_fail(
		    e, -ETIMEDOUT, 0,
		    "the xtables lock %s is held by another iptables for more than %d s", path,
		    LOCK_WAIT_S);
	return cni_fail(e, -err, 0, "locking %s: %s", path, strerror(err));
}

/* ---- snapshots ------------------------------------------------------------------------------- */

int ipt_legacy_run(int af, bool write,
		   int (*fn)(struct ipt_legacy *t, void *arg, struct cni_err *e), void *arg,
		   struct cni_err *e)
{
	struct ipt_legacy t = {af, fam_of(af), NULL};
	int lock = -1, r = 0;

	if (!ipt_legacy_exists(af))
		return 1;
	if (write && (lock = xt_lock(e)) < 0)
		return lock;
	for (int i = 1;; i++) {
		t.h = t.f->init(TABLE);
		if (!t.h) {
			r = lib_err();
			if (r == -EAGAIN && i < TRIES)
				continue; /* the table changed size while it was read */
			r = r == -ENOENT ? 1 : fail_err(&t, r, "reading", "table", e);
			break;
		}
		r = fn(&t, arg, e);
		if (r > 0 && write && !t.f->commit(t.h)) {
			r = lib_err();
			t.f->free(t.h);
			if (r == -EAGAIN && i < TRIES)
				continue; /* a writer that does not take the lock came first */
			r = fail_err(&t, r, "committing", "table", e);
			break;
		}
		t.f->free(t.h);
		r = r < 0 ? r : 0;
		break;
	}
	if (lock >= 0)
		close(lock); /* releases the lock */
	return r;
}

const char *ipt_legacy_drops(struct ipt_legacy *t, const char *chain, bool *policy)
{
	struct xt_counters c;
	const char *p = t->f->get_policy(chain, &c, t->h), *what = NULL;
	const void *x, *last = NULL;

	*policy = p && !strcmp(p, "DROP");
	if (*policy)
		return p;
	for (x = t->f->first(chain, t->h); x; x = t->f->next(x, t->h))
		last = x;
	if (last)
		what = t->f->target(last, t->h);
	if (what && (!strcmp(what, "DROP") || !strcmp(what, "REJECT")))
		return what;
	return NULL;
}

bool ipt_legacy_has_chain(struct ipt_legacy *t, const char *chain)
{
	return t->f->is_chain(chain, t->h);
}

int ipt_legacy_new_chain(struct ipt_legacy *t, const char *chain, struct cni_err *e)
{
	if (!t->f->create_chain(chain, t->h))
		return fail_op(t, "creating chain", chain, e);
	return 0;
}

/* ---- rules ----------------------------------------------------------------------------------- */

/* Big enough for an ip6t_entry, comment, conntrack, sctp and a standard target (~1100 bytes). */
union entry_buf {
	struct ipt_entry v4;
	struct ip6t_entry v6;
	uint64_t align;
	unsigned char b[2048];
};

static uint16_t put_match(union entry_buf *u, uint16_t off, const char *name, uint8_t rev,
			  const void *data, size_t len)
{
	struct xt_entry_match m;
	uint16_t size = (uint16_t)(XT_ALIGN(sizeof(m)) + XT_ALIGN(len));

	/* copied in as bytes: the header's data[] is a flexible member */
	memset(&m, 0, sizeof(m));
	m.u.match_size = size;
	snprintf(m.u.user.name, sizeof(m.u.user.name), "%s", name);
	m.u.user.revision = rev;
	memcpy(u->b + off, &m, sizeof(m));
	memcpy(u->b + off + XT_ALIGN(sizeof(m)), data, len);
	return (uint16_t)(off + size);
}

/* -p <proto> -m <proto> --sport|--dport <port>, as libxt_tcp/udp/sctp initialise and parse it. */
static uint16_t put_port(union entry_buf *u, uint16_t off, const struct ipt_rule *r)
{
	union {
		struct xt_tcp tcp;
		struct xt_udp udp;
		struct xt_sctp_info sctp;
	} d;
	uint16_t *pts;

	memset(&d, 0, sizeof(d));
	if (r->proto == IPPROTO_SCTP) {
		for (int i = 0; i < XT_NUM_SCTP_FLAGS; i++)
			d.sctp.flag_info[i].chunktype = 0xff;
		d.sctp.flags = r->dport ? XT_SCTP_DEST_PORTS : XT_SCTP_SRC_PORTS;
		pts = r->dport ? d.sctp.dpts : d.sctp.spts;
		pts[0] = pts[1] = r->port;
		return put_match(u, off, "sctp", 0, &d.sctp, sizeof(d.sctp));
	}
	/* tcp and udp start alike: spts[2], dpts[2], both "any" unless given */
	d.tcp.spts[1] = d.tcp.dpts[1] = 0xffff;
	pts = r->dport ? d.tcp.dpts : d.tcp.spts;
	pts[0] = pts[1] = r->port;
	if (r->proto == IPPROTO_TCP)
		return put_match(u, off, "tcp", 0, &d.tcp, sizeof(d.tcp));
	return put_match(u, off, "udp", 0, &d.udp, sizeof(d.udp));
}

/* The entry iptables-legacy builds for @r: its size (next_offset), 0 when @r cannot be encoded. */
static uint16_t encode(int af, const struct ipt_rule *r, union entry_buf *u)
{
	uint16_t off = af == AF_INET ? sizeof(u->v4) : sizeof(u->v6);
	struct xt_standard_target tg;

	memset(u, 0, sizeof(*u));
	if (r->ip && r->ip->family != af)
		return 0;
	if (r->ip && af == AF_INET) {
		memcpy(r->dst ? &u->v4.ip.dst : &u->v4.ip.src, r->ip->a, 4);
		memset(r->dst ? &u->v4.ip.dmsk : &u->v4.ip.smsk, 0xff, 4);
	} else if (r->ip) {
		memcpy(r->dst ? &u->v6.ipv6.dst : &u->v6.ipv6.src, r->ip->a, 16);
		memset(r->dst ? &u->v6.ipv6.dmsk : &u->v6.ipv6.smsk, 0xff, 16);
	}
	if (r->proto && af == AF_INET) {
		u->v4.ip.proto = r->proto;
	} else if (r->proto) {
		u->v6.ipv6.proto = r->proto;
		u->v6.ipv6.flags |= IP6T_F_PROTO;
	}
	if (r->proto)
		off = put_port(u, off, r);
	if (r->ctstate) {
		struct xt_conntrack_mtinfo3 ct;

		memset(&ct, 0, sizeof(ct));
		ct.match_flags = XT_CONNTRACK_STATE;
		ct.state_mask = r->ctstate;
		off = put_match(u, off, "conntrack", 3, &ct, sizeof(ct));
	}
	if (r->comment) {
		struct xt_comment_info c;

		memset(&c, 0, sizeof(c));
		snprintf(c.comment, sizeof(c.comment), "%s", r->comment);
		off = put_match(u, off, "comment", 0, &c, sizeof(c));
	}
	/* the standard target named after the verdict or chain: libiptc maps it */
	memset(&tg, 0, sizeof(tg));
	tg.target.u.target_size = XT_ALIGN(sizeof(tg));
	snprintf(tg.target.u.user.name, sizeof(tg.target.u.user.name), "%s", r->target);
	memcpy(u->b + off, &tg, sizeof(tg));
	if (af == AF_INET) {
		u->v4.target_offset = off;
		u->v4.next_offset = (uint16_t)(off + XT_ALIGN(sizeof(tg)));
		return u->v4.next_offset;
	}
	u->v6.target_offset = off;
	u->v6.next_offset = (uint16_t)(off + XT_ALIGN(sizeof(tg)));
	return u->v6.next_offset;
}

int ipt_legacy_has(struct ipt_legacy *t, const char *chain, const struct ipt_rule *r,
		   struct cni_err *e)
{
	union entry_buf u;
	unsigned char mask[sizeof(u)];
	uint16_t n = encode(t->af, r, &u);

	if (!n)
		return cni_fail(e, -EINVAL, 0, "a %s rule for another family", fam_name(t->af));
	if (!t->f->is_chain(chain, t->h))
		return 0;
	memset(mask, 0xff, n); /* every byte compared, as `iptables -C` does */
	if (t->f->check(chain, &u, mask, t->h))
		return 1;
	return errno == ENOENT ? 0 : fail_op(t, "looking up a rule", chain, e);
}

int ipt_legacy_add(struct ipt_legacy *t, const char *chain, const struct ipt_rule *r, bool head,
		   struct cni_err *e)
{
	union entry_buf u;

	if (!encode(t->af, r, &u))
		return cni_fail(e, -EINVAL, 0, "a %s rule for another family", fam_name(t->af));
	if (!(head ? t->f->insert(chain, &u, 0, t->h) : t->f->append(chain, &u, t->h)))
		return fail_op(t, head ? "inserting a rule" : "appending a rule", chain, e);
	return 0;
}

/* The comment of an entry (read from the kernel), cut at XT_MAX_COMMENT_LEN - 1. */
static const char *entry_comment(const struct ipt_legacy *t, const void *x,
				 char out[XT_MAX_COMMENT_LEN])
{
	const unsigned char *b = x;
	uint16_t to = t->af == AF_INET ? ((const struct ipt_entry *)x)->target_offset
				       : ((const struct ip6t_entry *)x)->target_offset;

	for (size_t off = t->f->entry_size; off + sizeof(struct xt_entry_match) <= to;) {
		const struct xt_entry_match *m = (const struct xt_entry_match *)(b + off);

		if (m->u.match_size < sizeof(*m) || off + m->u.match_size > to)
			break;
		if (!strcmp(m->u.user.name, "comment") &&
		    m->u.match_size >= sizeof(*m) + sizeof(struct xt_comment_info)) {
			snprintf(out, XT_MAX_COMMENT_LEN, "%.*s", XT_MAX_COMMENT_LEN - 1,
				 ((const struct xt_comment_info *)m->data)->comment);
			return out;
		}
		off += m->u.match_size;
	}
	return NULL;
}

int ipt_legacy_del_owned(struct ipt_legacy *t, const char *chain,
			 bool (*match)(const char *comment, void *arg), void *arg,
			 struct cni_err *e)
{
	char comment[XT_MAX_COMMENT_LEN];
	int n = 0;

	if (!t->f->is_chain(chain, t->h))
		return 0;
	for (bool again = true; again;) {
		unsigned int i = 0;
		const void *x;

		again = false;
		for (x = t->f->first(chain, t->h); x; x = t->f->next(x, t->h), i++)
			if (match(entry_comment(t, x, comment), arg))
				break;
		if (!x)
			break;
		if (!t->f->delete_num(chain, i, t->h)) /* rule numbers from 0 here */
			return fail_op(t, "deleting a rule", chain, e);
		n++;
		again = true;
	}
	return n;
}
