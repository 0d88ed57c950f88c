// SPDX-License-Identifier: Apache-2.0
/*
 * TCP clients of the listeners: accepted up to CONN_MAX in all and CONN_PER_LSN per container
 * (the longest idle one makes room), queries pipelined, answers queued with back-pressure,
 * closed after CONN_IDLE_MS without a query or a pending forward.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon.h"
#include "dlist.h"

/*
 * A connection reads queries while it has fewer than CONN_PIPELINE forwards in flight and less
 * than CONN_OUT_SOFT of answers queued; past either it is "blocked": queries already read wait in
 * its input buffer and the socket is not polled for input. What unblocks it (a forward's end, the
 * output drained) parses that buffer again: the socket may hold nothing new, so waiting for EPOLLIN
 * would leave those queries unanswered until the client sent more. A forward ends deep inside
 * the loop, so it only marks its connection (dn_conn_kick) and dn_conn_kicked(d) resumes it after
 * the batch of events.
 */
static void conn_touch(struct dn_ctx *d, struct conn *c)
{
	c->last = dn_now_ms();
	if (d->conn_tail == c)
		return;
	DL_UNLINK(d->conn_head, d->conn_tail, c);
	DL_APPEND(d->conn_head, d->conn_tail, c);
}

void dn_conn_kick(struct dn_ctx *d, struct conn *c)
{
	if (!c->kick) {
		c->kick = true;
		d->n_kick++;
	}
}

static bool conn_blocked(const struct conn *c)
{
	return c->dead || c->pending >= CONN_PIPELINE || c->out_len - c->out_off >= CONN_OUT_SOFT;
}

/* Nothing more to read, to answer or to send. */
static bool conn_done(const struct conn *c)
{
	return c->dead || (c->eof && !c->pending && !c->out_len && !c->in_len);
}

void dn_conn_close(struct dn_ctx *d, struct conn *c)
{
	for (int i = 0; i < FWD_MAX && c->pending; i++)
		if (d->fwd[i].used && d->fwd[i].conn == c) {
			d->fwd[i].conn = NULL;
			c->pending--;
		}
	if (c->kick)
		d->n_kick--;
	DL_UNLINK(d->conn_head, d->conn_tail, c);
	close(c->fd);
	c->l->nconn--;
	d->n_conn--;
	free(c->in);
	free(c->out);
	free(c);
}

static void conn_arm(struct dn_ctx *d, struct conn *c)
{
	dmn_loop_mod(&d->loop, c->fd, &c->ev,
		     (conn_blocked(c) || c->eof ? 0 : EPOLLIN) | (c->out_len ? EPOLLOUT : 0));
}

static void conn_flush(struct dn_ctx *d, struct conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n <= 0)
			break;
		c->out_off += (size_t)n;
	}
	if (c->out_off == c->out_len)
		c->out_off = c->out_len = 0;
	conn_arm(d, c);
}

void dn_conn_send(struct dn_ctx *d, struct conn *c, const uint8_t *msg, size_t len)
{
	uint8_t *o;

	if (c->dead)
		return;
	if (c->out_off) { /* what was sent makes room */
		memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
		c->out_len -= c->out_off;
		c->out_off = 0;
	}
	if (c->out_len + len + 2 > CONN_OUT_MAX) { /* a client that does not read: cut it off */
		c->dead = true;
		dn_conn_kick(d, c); /* closed after this batch: callers up the stack still use it */
		return;
	}
	o = realloc(c->out, c->out_len + len + 2);
	if (!o)
		return;
	c->out = o;
	o[c->out_len] = (uint8_t)(len >> 8);
	o[c->out_len + 1] = (uint8_t)len;
	memcpy(o + c->out_len + 2, msg, len);
	c->out_len += len + 2;
	conn_flush(d, c);
}

/* Answer the complete queries of the input buffer, as far as the connection is not blocked.
 * Returns false when the connection was closed. */
static bool conn_parse(struct dn_ctx *d, struct conn *c)
{
	size_t off = 0;

	while (!conn_blocked(c) && c->in_len - off >= 2) {
		size_t mlen = (size_t)(c->in[off] << 8 | c->in[off + 1]);
		struct dest to = {.conn = c};

		if (mlen < DNS_HDR_LEN) {
			dn_conn_close(d, c);
			return false;
		}
		if (c->in_len - off < mlen + 2)
			break;
		dn_handle_query(d, c->l, &to, c->in + off + 2, mlen);
		off += mlen + 2;
	}
	if (off) {
		memmove(c->in, c->in + off, c->in_len - off);
		c->in_len -= off;
	}
	if (c->eof && !conn_blocked(c))
		c->in_len = 0; /* a partial message at EOF: dropped, never retried */
	conn_arm(d, c);
	return true;
}

/* Returns false when the connection was closed. */
static bool conn_read(struct dn_ctx *d, struct conn *c)
{
	ssize_t n;

	if (c->eof || conn_blocked(c))
		return conn_parse(d, c);
	/* not blocked: what is buffered is less than one message, so at least a byte fits */
	if (c->in_cap - c->in_len < 4096 && c->in_cap < 2 + 65535) {
		size_t cap = c->in_cap ? c->in_cap * 2 : 1024;
		uint8_t *v;

		if (cap > 2 + 65535)
			cap = 2 + 65535;
		v = realloc(c->in, cap);
		if (!v) {
			dn_conn_close(d, c);
			return false;
		}
		c->in = v;
		c->in_cap = cap;
	}
	n = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return true;
	if (n < 0) { /* reset: nobody left to answer */
		dn_conn_close(d, c);
		return false;
	}
	if (n == 0)
		c->eof = true; /* the queries read so far are still answered */
	c->in_len += (size_t)n;
	conn_touch(d, c);
	return conn_parse(d, c);
}

void dn_on_tcp_accept(struct dn_ctx *d, struct lsn *l)
{
	for (int budget = 0; budget < 16; budget++) {
		int fd = accept4(l->tcp, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct conn *c;

		if (fd < 0 && (errno == EMFILE || errno == ENFILE) &&
		    dmn_accept_shed(l->tcp, &d->spare))
			continue;
		if (fd < 0)
			return;
		if (d->n_conn >= CONN_MAX && d->conn_head && !d->conn_head->pending)
			dn_conn_close(d, d->conn_head); /* the longest idle one makes room */
		if (d->n_conn >= CONN_MAX || l->nconn >= CONN_PER_LSN ||
		    !(c = calloc(1, sizeof(*c)))) {
			close(fd);
			continue;
		}
		c->fd = fd;
		c->l = l;
		c->ev = (struct dmn_ev){EV_CONN, c};
		l->nconn++;
		d->n_conn++;
		DL_APPEND(d->conn_head, d->conn_tail, c);
		c->last = dn_now_ms();
		dmn_loop_add(&d->loop, fd, &c->ev, EPOLLIN);
	}
}

void dn_on_conn(struct dn_ctx *d, struct conn *c, uint32_t events)
{
	if (events & (EPOLLHUP | EPOLLERR)) /* reset, or shut down both ways: no one to answer */
		return dn_conn_close(d, c);
	if (events & EPOLLOUT)
		conn_flush(d, c);
	/* input, or output drained below CONN_OUT_SOFT: the queries held back go on */
	if (!((events & EPOLLIN) ? conn_read(d, c) : conn_parse(d, c)))
		return;
	if (conn_done(c))
		dn_conn_close(d, c);
}

/* Resume the connections whose forwards ended (or that were cut off) in this turn of the loop. */
void dn_conn_kicked(struct dn_ctx *d)
{
	struct conn *c, *nx;

	for (c = d->conn_head; c && d->n_kick; c = nx) {
		nx = c->next; /* resuming c closes at most c */
		if (!c->kick)
			continue;
		c->kick = false;
		d->n_kick--;
		if (!conn_done(c) && !conn_parse(d, c))
			continue;
		if (conn_done(c))
			dn_conn_close(d, c);
	}
}

void dn_conn_timeouts(struct dn_ctx *d, uint64_t now)
{
	struct conn *c, *nx;

	for (c = d->conn_head; c && c->last + CONN_IDLE_MS <= now; c = nx) {
		nx = c->next;
		if (c->pending)
			conn_touch(d, c); /* waiting for us, not idle: looked at again later */
		else
			dn_conn_close(d, c);
	}
}
