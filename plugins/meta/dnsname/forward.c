// SPDX-License-Identifier: Apache-2.0
/*
 * Forwarding to the upstreams of the requester's set (upstream.c: a container's or network's own,
 * else the nameservers of resolv.conf, at most three, as glibc; never our own address), answers
 * from the cache when it has them (cache.c, keyed by the set) and kept there when they come, a few persistent unbound UDP sockets per family, a random query ID per
 * forward found again through an open-addressing table, the next server after FWD_TRY_MS, a TCP
 * retry of a truncated reply, SERVFAIL when every try failed, and the forward table shared fairly
 * among the containers when it is full (fwd_room).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon.h"

static uint16_t rnd16(struct dn_ctx *d)
{
	uint16_t v;

	if (d->rnd_left < 2) {
		if (getrandom(d->rnd, sizeof(d->rnd), 0) != (ssize_t)sizeof(d->rnd)) {
			/* never expected after boot; still no predictable IDs from a fixed seed */
			for (size_t i = 0; i < sizeof(d->rnd); i++)
				d->rnd[i] ^= (uint8_t)(dn_now_ms() * 2654435761u >> (i % 24));
		}
		d->rnd_left = sizeof(d->rnd);
	}
	d->rnd_left -= 2;
	memcpy(&v, d->rnd + d->rnd_left, 2);
	return v;
}

/*
 * Forwards by upstream query ID. IDs are random, so their low bits spread well; 4 KiB instead of a
 * 64 Ki-entry array whose pages random IDs would all touch. Removal shifts the entries after the
 * hole back (no tombstones), so a lookup stops at the first empty slot.
 */
static unsigned int id_home(uint16_t id)
{
	return id & (IDTAB - 1);
}

static int id_find(struct dn_ctx *d, uint16_t id)
{
	for (unsigned int h = id_home(id);; h = (h + 1) & (IDTAB - 1)) {
		unsigned int s = d->idtab[h];

		if (!s)
			return -1;
		if (d->fwd[s - 1].qid == id)
			return (int)s - 1;
	}
}

static void id_insert(struct dn_ctx *d, int i)
{
	unsigned int h = id_home(d->fwd[i].qid);

	while (d->idtab[h])
		h = (h + 1) & (IDTAB - 1);
	d->idtab[h] = (uint16_t)(i + 1);
}

static void id_remove(struct dn_ctx *d, int i)
{
	unsigned int h = id_home(d->fwd[i].qid), j;

	while (d->idtab[h] && d->idtab[h] != i + 1)
		h = (h + 1) & (IDTAB - 1);
	if (!d->idtab[h])
		return;
	for (j = h;;) {
		unsigned int k;

		j = (j + 1) & (IDTAB - 1);
		if (!d->idtab[j])
			break;
		k = id_home(d->fwd[d->idtab[j] - 1].qid);
		/* the entry at j may fill the hole at h unless its home is cyclically in (h, j] */
		if (h <= j ? (k <= h || k > j) : (k <= h && k > j)) {
			d->idtab[h] = d->idtab[j];
			h = j;
		}
	}
	d->idtab[h] = 0;
}

/* ---- upstreams --------------------------------------------------------------------------------- */

static bool is_own_addr(struct dn_ctx *d, const struct sockaddr_storage *sa)
{
	/* Our addresses only exist where we listen: in the daemon's own netns only if a record
	 * names it (a daemon run inside a container). */
	return sa->ss_family == AF_INET &&
	       dn_lsn_find(d, d->self_dev, d->self_ino,
			   ((const struct sockaddr_in *)sa)->sin_addr.s_addr);
}

void dn_load_resolv(struct dn_ctx *d)
{
	char line[512];
	FILE *f = fopen(d->resolv_conf, "re");
	struct upset *set = calloc(1, sizeof(*set));
	int n = 0;

	if (!set) {
		dn_logf("reading %s: out of memory, keeping its old servers", d->resolv_conf);
		return;
	}
	set->refs = 1;
	if (!d->cache)
		d->cache = dc_new(DC_ENTRIES, DC_BYTES); /* none: no caching, still forwarding */
	if (!f) {
		dn_logk(d, DN_LOG_RESOLV, "cannot read %s: %m; forwarding disabled", d->resolv_conf);
		set->id = ++d->set_serial;
		dn_ups_put(d, d->resolv_ups); /* its cached answers go when its last forward ends */
		d->resolv_ups = set;
		return;
	}
	while (fgets(line, sizeof(line), f) && n < UP_MAX) {
		char *save = NULL, *k = strtok_r(line, " \t\r\n", &save);
		char *v = k ? strtok_r(NULL, " \t\r\n", &save) : NULL;
		struct upstream u = {0};
		char *zone;

		if (!k || !v || strcmp(k, "nameserver"))
			continue;
		zone = strchr(v, '%');
		if (zone)
			*zone++ = 0;
		if (inet_pton(AF_INET, v, &((struct sockaddr_in *)&u.sa)->sin_addr) == 1) {
			struct sockaddr_in *s = (struct sockaddr_in *)&u.sa;

			s->sin_family = AF_INET;
			s->sin_port = htons(53);
			u.len = sizeof(*s);
		} else if (inet_pton(AF_INET6, v, &((struct sockaddr_in6 *)&u.sa)->sin6_addr) == 1) {
			struct sockaddr_in6 *s = (struct sockaddr_in6 *)&u.sa;

			s->sin6_family = AF_INET6;
			s->sin6_port = htons(53);
			if (zone)
				s->sin6_scope_id = dn_zone_index(zone);
			u.len = sizeof(*s);
		} else {
			continue;
		}
		if (is_own_addr(d, &u.sa))
			continue;
		set->up[n++] = u;
	}
	fclose(f);
	set->n = n;
	/* the same servers (SIGHUP, a rewrite of the same text): the same set and its cache */
	if (d->resolv_ups && d->resolv_ups->n == n) {
		bool same = true;

		for (int i = 0; i < n && same; i++)
			same = d->resolv_ups->up[i].len == set->up[i].len &&
			       !memcmp(&d->resolv_ups->up[i].sa, &set->up[i].sa, set->up[i].len);
		if (same) {
			free(set);
			return;
		}
	}
	set->id = ++d->set_serial;
	dn_ups_put(d, d->resolv_ups); /* its cached answers go when its last forward ends */
	d->resolv_ups = set;
}

static bool same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;

		return x->sin_addr.s_addr == y->sin_addr.s_addr && x->sin_port == y->sin_port;
	}
	const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;

	return !memcmp(&x->sin6_addr, &y->sin6_addr, 16) && x->sin6_port == y->sin6_port;
}

static int usock_get(struct dn_ctx *d, int family)
{
	int fi = family == AF_INET6, i = rnd16(d) % UP_SOCKS;

	if (d->usock[fi][i] < 0) {
		int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

		if (fd < 0)
			return -1;
		/* unbound: the kernel picks a random ephemeral port at the first send */
		d->usock[fi][i] = fd;
		d->uev[fi][i] = (struct dmn_ev){EV_UP, NULL};
		dmn_loop_add(&d->loop, fd, &d->uev[fi][i], EPOLLIN);
	}
	return d->usock[fi][i];
}

/* ---- forwarding ----------------------------------------------------------------------------- */

static void fwd_unlink(struct dn_ctx *d, int i)
{
	struct fwd *f = &d->fwd[i];

	if (f->prev >= 0)
		d->fwd[f->prev].next = f->next;
	else if (d->fwd_head == i)
		d->fwd_head = f->next;
	if (f->next >= 0)
		d->fwd[f->next].prev = f->prev;
	else if (d->fwd_tail == i)
		d->fwd_tail = f->prev;
	f->prev = f->next = -1;
}

static void fwd_arm(struct dn_ctx *d, int i, uint64_t deadline)
{
	struct fwd *f = &d->fwd[i];

	fwd_unlink(d, i);
	f->deadline = deadline;
	/* deadlines are mostly increasing: walk back from the tail */
	int p = d->fwd_tail;

	while (p >= 0 && d->fwd[p].deadline > deadline)
		p = d->fwd[p].prev;
	f->prev = p;
	f->next = p >= 0 ? d->fwd[p].next : d->fwd_head;
	if (p >= 0)
		d->fwd[p].next = i;
	else
		d->fwd_head = i;
	if (f->next >= 0)
		d->fwd[f->next].prev = i;
	else
		d->fwd_tail = i;
}

static void fwd_tcp_close(struct dn_ctx *d, struct fwd *f)
{
	if (f->tfd >= 0) {
		dmn_loop_del(&d->loop, f->tfd);
		close(f->tfd);
		f->tfd = -1;
	}
	free(f->tbuf);
	f->tbuf = NULL;
}

void dn_fwd_free(struct dn_ctx *d, int i)
{
	struct fwd *f = &d->fwd[i];

	fwd_unlink(d, i);
	fwd_tcp_close(d, f);
	id_remove(d, i);
	if (f->conn) {
		f->conn->pending--;
		dn_conn_kick(d, f->conn);
	}
	if (f->l && !--f->l->n_fwd)
		d->fwd_lsns--;
	dn_ups_put(d, f->ups);
	free(f->q);
	memset(f, 0, sizeof(*f));
	f->prev = f->next = -1;
	f->tfd = -1;
	d->n_fwd--;
}

static struct dest fwd_dest(struct fwd *f)
{
	struct dest dst = {.conn = f->conn, .peer = &f->peer, .plen = f->plen};

	if (!f->tcp_client)
		dst.l = f->l;
	return dst;
}

static void fwd_fail(struct dn_ctx *d, int i)
{
	struct fwd *f = &d->fwd[i];
	struct dest dst = fwd_dest(f);
	struct dns_msg q = {.id = f->cid, .qname = f->qname, .qtype = f->qtype,
			    .qclass = f->qclass, .q_end = 1, .edns = f->client_edns};

	q.flags = (uint16_t)(f->q[2] << 8 | f->q[3]);
	if (f->st)
		f->st->errors++;
	if (dst.conn || dst.l)
		dn_send_short(d, &dst, &q, 0, DNS_RC_SERVFAIL);
	dn_fwd_free(d, i);
}

/* Send to the next upstream (or fail when every try is spent). */
static void fwd_next(struct dn_ctx *d, int i)
{
	struct fwd *f = &d->fwd[i];

	while (f->tries < f->ups->n * FWD_ROUNDS) {
		struct upstream *u;
		int fd;

		f->srv = f->tries++ % f->ups->n;
		u = &f->ups->up[f->srv];
		fd = usock_get(d, u->sa.ss_family);
		if (fd < 0 || sendto(fd, f->q, f->qlen, MSG_DONTWAIT | MSG_NOSIGNAL,
				     (struct sockaddr *)&u->sa, u->len) < 0)
			continue;
		f->sent_mask |= 1u << f->srv;
		fwd_arm(d, i, dn_now_ms() + FWD_TRY_MS);
		return;
	}
	fwd_fail(d, i);
}

/*
 * A slot for a forward of @l when every slot is taken. A container holding less than an even
 * share of the table (FWD_MAX / containers with forwards in flight, itself counted) takes the
 * slot of the oldest forward of one that holds more than it would then hold, whose client gets
 * SERVFAIL: a container that floods its resolver with names that never resolve holds every free
 * slot, but another one's lookups still get theirs. Returns false when @l is not below its share.
 */
static bool fwd_room(struct dn_ctx *d, const struct lsn *l)
{
	unsigned int mine = l->n_fwd, holders = d->fwd_lsns + (mine == 0);

	if (mine >= FWD_MAX / holders)
		return false;
	for (int i = d->fwd_head; i >= 0; i = d->fwd[i].next) {
		const struct lsn *o = d->fwd[i].l;

		if (!o || o->n_fwd > mine + 1) {
			fwd_fail(d, i);
			return true;
		}
	}
	return false;
}

void dn_forward(struct dn_ctx *d, const struct dest *to, const uint8_t *msg, size_t len,
		const struct dns_msg *q)
{
	struct lsn *l = to->conn ? to->conn->l : to->l;
	struct upset *ups = dn_ups_of(d, l);
	unsigned int bits = (q->edns ? DC_B_EDNS : 0) | (q->edns_do ? DC_B_DO : 0) |
			    (q->flags & DNS_F_CD ? DC_B_CD : 0) | (q->flags & DNS_F_RD ? DC_B_RD : 0);
	struct fwd *f;
	int i;

	if (!ups || !ups->n)
		return dn_send_short(d, to, q, 0, DNS_RC_SERVFAIL);
	if (d->cache && (size_t)q->qname.len + DNS_HDR_LEN <= len) {
		uint8_t out[DC_MSG_MAX];
		struct dc_key k;
		size_t n;

		dc_key_make(&k, ups->id, &q->qname, q->qtype, q->qclass, bits);
		n = dc_get(d->cache, &k, q->id, out, sizeof(out), dn_now_ms());
		if (n) {
			if (l && l->st)
				l->st->hits++;
			/* the question as the client wrote it (its case: 0x20 clients compare) */
			memcpy(out + DNS_HDR_LEN, msg + DNS_HDR_LEN, q->qname.len);
			if (!to->conn && n > dns_udp_limit(q)) {
				struct dns_msg tq = *q;

				tq.flags = (uint16_t)(out[2] << 8 | out[3]);
				return dn_send_short(d, to, &tq, DNS_F_TC, DNS_RCODE(out[3]));
			}
			return dn_send_reply(d, to, out, n);
		}
	}
	if ((d->n_fwd >= FWD_MAX && !fwd_room(d, l)) ||
	    (to->conn && to->conn->pending >= CONN_PIPELINE * 4))
		return dn_send_short(d, to, q, 0, DNS_RC_REFUSED);
	for (i = 0; i < FWD_MAX && d->fwd[i].used; i++)
		;
	if (i == FWD_MAX)
		return dn_send_short(d, to, q, 0, DNS_RC_REFUSED);
	f = &d->fwd[i];
	f->q = malloc(len);
	if (!f->q)
		return dn_send_short(d, to, q, 0, DNS_RC_SERVFAIL);
	f->used = true;
	d->n_fwd++;
	memcpy(f->q, msg, len);
	f->qlen = len;
	do
		f->qid = rnd16(d);
	while (id_find(d, f->qid) >= 0);
	id_insert(d, i);
	f->q[0] = (uint8_t)(f->qid >> 8);
	f->q[1] = (uint8_t)f->qid;
	f->cid = q->id;
	f->qname = q->qname;
	f->qtype = q->qtype;
	f->qclass = q->qclass;
	f->client_edns = q->edns;
	f->limit = dns_udp_limit(q);
	f->tcp_client = to->conn != NULL;
	f->conn = to->conn;
	if (f->conn)
		f->conn->pending++;
	f->l = l;
	if (!l->n_fwd++)
		d->fwd_lsns++;
	f->ups = ups;
	ups->refs++;
	f->st = l->st;
	if (f->st)
		f->st->forwarded++;
	f->cbits = (uint8_t)bits;
	f->start_us = dn_now_us();
	if (to->peer) {
		memcpy(&f->peer, to->peer, to->plen);
		f->plen = to->plen;
	}
	f->tfd = -1;
	f->prev = f->next = -1;
	fwd_next(d, i);
}

/* Relay an upstream reply to the requester: its ID restored, truncated to its size. */
static void fwd_deliver(struct dn_ctx *d, int i, uint8_t *msg, size_t len)
{
	struct fwd *f = &d->fwd[i];
	struct dest dst = fwd_dest(f);

	if (d->cache) {
		struct dc_key k;

		dc_key_make(&k, f->ups->id, &f->qname, f->qtype, f->qclass, f->cbits);
		dc_put(d->cache, &k, msg, len, dn_now_ms());
	}
	dn_stat_latency(f->st, dn_now_us() - f->start_us);
	msg[0] = (uint8_t)(f->cid >> 8);
	msg[1] = (uint8_t)f->cid;
	if (!dst.conn && dst.l && len > f->limit) {
		struct dns_msg q = {.id = f->cid, .qname = f->qname, .qtype = f->qtype,
				    .qclass = f->qclass, .q_end = 1, .edns = f->client_edns};

		q.flags = (uint16_t)(msg[2] << 8 | msg[3]);
		dn_send_short(d, &dst, &q, DNS_F_TC, DNS_RCODE(msg[3]));
	} else if (dst.conn || dst.l) {
		dn_send_reply(d, &dst, msg, len);
	}
	dn_fwd_free(d, i);
}

static void fwd_tcp_start(struct dn_ctx *d, int i)
{
	struct fwd *f = &d->fwd[i];
	struct upstream *u = &f->ups->up[f->srv];

	f->tfd = socket(u->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	f->tbuf = malloc(2 + 65535);
	if (f->tfd < 0 || !f->tbuf ||
	    (connect(f->tfd, (struct sockaddr *)&u->sa, u->len) && errno != EINPROGRESS)) {
		fwd_tcp_close(d, f);
		return fwd_next(d, i);
	}
	f->tcp_up = true;
	f->tbuf[0] = (uint8_t)(f->qlen >> 8);
	f->tbuf[1] = (uint8_t)f->qlen;
	memcpy(f->tbuf + 2, f->q, f->qlen);
	f->tlen = f->qlen + 2;
	f->toff = 0;
	f->treading = false;
	f->tev = (struct dmn_ev){EV_UPTCP, (void *)(intptr_t)i};
	dmn_loop_add(&d->loop, f->tfd, &f->tev, EPOLLOUT);
	fwd_arm(d, i, dn_now_ms() + FWD_TCP_MS);
}

/* A reply we can accept: matching ID, sent by a server we asked, echoing our question. */
static int fwd_match(struct dn_ctx *d, const uint8_t *msg, size_t len,
		     const struct sockaddr_storage *from, struct dns_msg *m)
{
	int i;

	if (dns_msg_parse(msg, len, false, m) || !(m->flags & DNS_F_QR))
		return -1;
	i = id_find(d, m->id);
	if (i < 0 || !d->fwd[i].used || d->fwd[i].tcp_up)
		return -1;
	if (from) {
		bool ok = false;

		for (int s = 0; s < d->fwd[i].ups->n; s++)
			ok |= (d->fwd[i].sent_mask & (1u << s)) &&
			      same_addr(from, &d->fwd[i].ups->up[s].sa);
		if (!ok)
			return -1;
	}
	if (!m->q_end || m->qtype != d->fwd[i].qtype || m->qclass != d->fwd[i].qclass ||
	    !dns_name_eq(&m->qname, &d->fwd[i].qname))
		return -1;
	return i;
}

void dn_on_upstream_udp(struct dn_ctx *d, int fd)
{
	for (int budget = 0; budget < 64; budget++) {
		struct sockaddr_storage from;
		socklen_t fl = sizeof(from);
		ssize_t n =
		    recvfrom(fd, d->buf, 65535, MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
		struct dns_msg m;
		int i;

		if (n < 0)
			return;
		i = fwd_match(d, d->buf, (size_t)n, &from, &m);
		if (i < 0)
			continue;
		if (m.flags & DNS_F_TC) {
			/* the server has more: ask it again over TCP ourselves */
			for (int s = 0; s < d->fwd[i].ups->n; s++)
				if (same_addr(&from, &d->fwd[i].ups->up[s].sa))
					d->fwd[i].srv = s;
			fwd_tcp_start(d, i);
			continue;
		}
		if ((DNS_RCODE(m.flags) == DNS_RC_SERVFAIL ||
		     DNS_RCODE(m.flags) == DNS_RC_REFUSED) &&
		    d->fwd[i].tries < d->fwd[i].ups->n) {
			fwd_next(d, i);
			continue;
		}
		fwd_deliver(d, i, d->buf, (size_t)n);
	}
}

static void fwd_tcp_fail(struct dn_ctx *d, int i)
{
	fwd_tcp_close(d, &d->fwd[i]);
	d->fwd[i].tcp_up = false;
	fwd_next(d, i);
}

void dn_on_upstream_tcp(struct dn_ctx *d, int i, uint32_t events)
{
	struct fwd *f = &d->fwd[i];
	size_t want;
	ssize_t n;

	if (!f->used || f->tfd < 0)
		return; /* closed earlier in this batch */
	if (!f->treading) {
		if (events & (EPOLLERR | EPOLLHUP))
			return fwd_tcp_fail(d, i);
		n = send(f->tfd, f->tbuf + f->toff, f->tlen - f->toff, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno != EAGAIN)
			return fwd_tcp_fail(d, i);
		if (n > 0)
			f->toff += (size_t)n;
		if (f->toff == f->tlen) {
			f->treading = true;
			f->toff = 0;
			dmn_loop_mod(&d->loop, f->tfd, &f->tev, EPOLLIN);
		}
		return;
	}
	n = recv(f->tfd, f->tbuf + f->toff, 2 + 65535 - f->toff, MSG_DONTWAIT);
	if (n < 0 && errno == EAGAIN)
		return;
	if (n <= 0)
		return fwd_tcp_fail(d, i);
	f->toff += (size_t)n;
	if (f->toff < 2)
		return;
	want = (size_t)(f->tbuf[0] << 8 | f->tbuf[1]);
	if (f->toff < want + 2)
		return;
	{
		struct dns_msg m;

		f->tcp_up = false;
		if (fwd_match(d, f->tbuf + 2, want, NULL, &m) != i)
			return fwd_tcp_fail(d, i);
		memcpy(d->buf, f->tbuf + 2, want);
		fwd_deliver(d, i, d->buf, want);
	}
}

void dn_fwd_timeouts(struct dn_ctx *d, uint64_t now)
{
	while (d->fwd_head >= 0 && d->fwd[d->fwd_head].deadline <= now) {
		int i = d->fwd_head;

		if (d->fwd[i].tcp_up) {
			fwd_tcp_close(d, &d->fwd[i]);
			d->fwd[i].tcp_up = false;
		}
		fwd_next(d, i);
	}
}
