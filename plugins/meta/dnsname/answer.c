// SPDX-License-Identifier: Apache-2.0
/*
 * The query path: UDP queries read in batches (recvmmsg) with their answers sent in batches
 * (sendmmsg), each query parsed and answered from the snapshot when a network in the requester's
 * view owns the name (A, AAAA, ANY, PTR, SOA; NODATA and NXDOMAIN with an SOA), else forwarded
 * (forward.c). The path of a local answer stays in this one file so that it stays inlined.
 */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "daemon.h"

/* ---- replies ------------------------------------------------------------------------------------ */

static void udp_flush(struct dn_ctx *d)
{
	for (unsigned int done = 0; done < d->B.nout;) {
		int n = sendmmsg(d->batch_fd, d->B.out + done, d->B.nout - done,
				 MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n <= 0)
			break; /* a full socket buffer drops the rest, as sendto() would */
		done += (unsigned int)n;
	}
	d->B.nout = 0;
	d->batch_fd = -1;
}

void dn_send_reply(struct dn_ctx *d, const struct dest *to, const uint8_t *msg, size_t len)
{
	if (to->conn) {
		dn_conn_send(d, to->conn, msg, len);
	} else if (to->l && to->l->udp == d->batch_fd && d->B.nout < UDP_BATCH &&
		   len <= DNS_EDNS_CAP) {
		unsigned int i = d->B.nout++;

		memcpy(d->B.r[i], msg, len);
		d->B.iout[i] = (struct iovec){d->B.r[i], len};
		d->B.out[i].msg_hdr = (struct msghdr){.msg_name = (void *)to->peer,
						      .msg_namelen = to->plen,
						      .msg_iov = &d->B.iout[i],
						      .msg_iovlen = 1};
	} else if (to->l) {
		sendto(to->l->udp, msg, len, MSG_DONTWAIT | MSG_NOSIGNAL,
		       (const struct sockaddr *)to->peer, to->plen);
	}
}

/* Header + question (+ OPT): errors and truncated replies. */
void dn_send_short(struct dn_ctx *d, const struct dest *to, const struct dns_msg *q,
		   uint16_t flags, unsigned int rcode)
{
	uint8_t out[DNS_NAME_MAX + 64];
	struct dns_writer w;
	int len;

	dns_w_init(&w, out, sizeof(out), q->id,
		   (uint16_t)(DNS_F_QR | (q->flags & (0x7800 | DNS_F_RD | DNS_F_CD)) | flags |
			      DNS_F_RA | (rcode & 0xf)));
	if (q->q_end)
		dns_w_question(&w, &q->qname, q->qtype, q->qclass);
	if (q->edns)
		dns_w_opt(&w, DNS_EDNS_CAP, (uint16_t)rcode, false);
	len = dns_w_finish(&w);
	if (len > 0)
		dn_send_reply(d, to, out, (size_t)len);
}

/* ---- local answers ------------------------------------------------------------------------------ */

struct match {
	const struct snet *net;
	const struct dn_rec *rec;
};

#define MATCH_MAX 256

struct lookup {
	struct match m[MATCH_MAX];
	size_t n;
	const struct snet *zone; /* the network whose domain the name falls under (SOA owner) */
	bool apex;
};

static void find_name(const struct snet *n, const char *name, struct lookup *lk)
{
	uint32_t j = n->hb[dn_hash_str(name) & (uint32_t)(n->nb - 1)];

	for (; j; j = n->he[j - 1].next) {
		const struct hent *h = &n->he[j - 1];

		if (strcmp(h->name, name) || lk->n >= MATCH_MAX)
			continue;
		lk->m[lk->n++] = (struct match){n, &n->f.recs[h->rec]};
	}
}

static void lookup(struct dn_ctx *d, const struct lsn *l, const char *name, size_t len,
		   struct lookup *lk)
{
	lk->n = 0;
	lk->zone = NULL;
	lk->apex = false;
	for (size_t i = 0; i < l->n_view; i++) {
		const struct snet *n = &d->snap->nets[l->view[i]];

		if (len == n->dlen && !memcmp(name, n->f.domain, len)) {
			lk->apex = true;
			if (!lk->zone)
				lk->zone = n;
			continue;
		}
		if (len > n->dlen + 1 && name[len - n->dlen - 1] == '.' &&
		    !memcmp(name + len - n->dlen, n->f.domain, n->dlen)) {
			char label[DNS_TEXT_MAX];

			memcpy(label, name, len - n->dlen - 1);
			label[len - n->dlen - 1] = 0;
			if (!lk->zone)
				lk->zone = n;
			find_name(n, label, lk);
			continue;
		}
		find_name(n, name, lk);
	}
}

/* The canonical name of an address in the requester's view, or false. */
static bool find_ptr(struct dn_ctx *d, const struct lsn *l, int family, const uint8_t *a,
		     struct dns_name *out, const struct snet **net)
{
	struct dn_addr key = {.family = family};

	memcpy(key.a, a, family == AF_INET ? 4 : 16);
	for (size_t i = 0; i < l->n_view; i++) {
		const struct snet *n = &d->snap->nets[l->view[i]];
		uint32_t j = n->pb[dn_hash_addr(&key) & (uint32_t)(n->nbp - 1)];

		for (; j; j = n->pe[j - 1].next) {
			const struct pent *p = &n->pe[j - 1];
			char text[DNS_TEXT_MAX + 64];

			if (p->a->family != family || memcmp(p->a->a, a, family == AF_INET ? 4 : 16))
				continue;
			snprintf(text, sizeof(text), "%s.%s", n->f.recs[p->rec].names[0], n->f.domain);
			if (dns_name_from_text(text, out))
				continue;
			*net = n;
			return true;
		}
	}
	return false;
}

/*
 * Write the local answer for @q into @w, or return 0 when the name is not ours (forward it).
 * Returns 1 when an answer was written.
 */
static int answer_local(struct dn_ctx *d, const struct lsn *l, const struct dns_msg *q,
			struct dns_writer *w, uint8_t *out, size_t cap)
{
	char name[DNS_TEXT_MAX];
	struct lookup lk;
	uint16_t flags = DNS_F_QR | DNS_F_AA | DNS_F_RA | (q->flags & (DNS_F_RD | DNS_F_CD));
	uint32_t ttl = DN_MAX_TTL;
	int len = dns_name_to_lower_text(&q->qname, name);
	unsigned int rcode = DNS_RC_NOERROR;
	bool any = false;

	if (len <= 0 || (q->qclass != DNS_C_IN && q->qclass != DNS_C_ANY))
		return 0;
	if (q->qtype == DNS_T_PTR) {
		uint8_t a[16];
		int fam = dns_arpa_parse(&q->qname, a);
		struct dns_name target;
		const struct snet *n;

		if (fam && find_ptr(d, l, fam, a, &target, &n)) {
			dns_w_init(w, out, cap, q->id, flags);
			dns_w_question(w, &q->qname, q->qtype, q->qclass);
			dns_w_ptr(w, DNS_SEC_AN, DNS_HDR_LEN, n->f.ttl, &target);
			return 1;
		}
	}
	lookup(d, l, name, (size_t)len, &lk);
	if (!lk.n && !lk.apex && !lk.zone)
		return 0;
	if (!lk.n && !lk.apex)
		rcode = DNS_RC_NXDOMAIN;
	dns_w_init(w, out, cap, q->id, (uint16_t)(flags | rcode));
	dns_w_question(w, &q->qname, q->qtype, q->qclass);
	for (size_t i = 0; i < lk.n; i++) {
		const struct dn_rec *r = lk.m[i].rec;

		if (lk.m[i].net->f.ttl < ttl)
			ttl = lk.m[i].net->f.ttl;
		for (size_t k = 0; k < r->n_addrs; k++) {
			const struct dn_addr *a = &r->addrs[k];
			uint16_t t = a->family == AF_INET ? DNS_T_A : DNS_T_AAAA;
			bool dup = false;

			if (q->qtype != t && q->qtype != DNS_T_ANY)
				continue;
			/* the same address through two names or networks: once */
			for (size_t pi = 0; pi <= i && !dup; pi++)
				for (size_t pk = 0; pk < lk.m[pi].rec->n_addrs; pk++) {
					const struct dn_addr *b = &lk.m[pi].rec->addrs[pk];

					if (pi == i && pk == k)
						break;
					if (b->family == a->family && !memcmp(b->a, a->a, 16)) {
						dup = true;
						break;
					}
				}
			if (dup)
				continue;
			dns_w_rr(w, DNS_SEC_AN, NULL, DNS_HDR_LEN, t, DNS_C_IN, ttl, a->a,
				 a->family == AF_INET ? 4 : 16);
			any = true;
		}
	}
	if (lk.apex && q->qtype == DNS_T_SOA && !lk.n) {
		dns_w_soa(w, DNS_SEC_AN, &lk.zone->zone, lk.zone->f.ttl, d->snap->serial);
		any = true;
	}
	if (!any) {
		const struct snet *z = lk.zone ? lk.zone : lk.m[0].net;

		dns_w_soa(w, DNS_SEC_NS, &z->zone, z->f.ttl, d->snap->serial);
	}
	return 1;
}

/* ---- queries --------------------------------------------------------------------------------- */

void dn_handle_query(struct dn_ctx *d, struct lsn *l, const struct dest *to, const uint8_t *msg,
		     size_t len)
{
	uint8_t out[65535];
	struct dns_writer w;
	struct dns_msg q;
	size_t cap;
	int n;

	if (dns_msg_parse(msg, len, true, &q) || (q.flags & DNS_F_QR))
		return; /* not even a header, or a reply: silence */
	if (l && l->st)
		l->st->queries++;
	if (q.rcode) {
		if (q.rcode == DNS_RC_FORMERR)
			q.edns = false; /* the OPT itself may be what is broken */
		return dn_send_short(d, to, &q, 0, q.rcode);
	}
	cap = to->conn ? sizeof(out) : dns_udp_limit(&q);
	if (!answer_local(d, l, &q, &w, out, cap))
		return dn_forward(d, to, msg, len, &q);
	if (q.edns)
		dns_w_opt(&w, DNS_EDNS_CAP, 0, false);
	n = dns_w_finish(&w);
	if (n < 0) /* too large for the requester: TC, it retries over TCP */
		return dn_send_short(d, to, &q, DNS_F_TC | DNS_F_AA, DNS_RCODE(w.buf[3]));
	dn_send_reply(d, to, out, (size_t)n);
}

void dn_on_udp(struct dn_ctx *d, struct lsn *l)
{
	/* at most 64 queries per wakeup, so that one busy listener cannot starve the others */
	for (int round = 0; round < 64 / UDP_BATCH; round++) {
		int n;

		for (int i = 0; i < UDP_BATCH; i++) {
			d->B.iin[i] = (struct iovec){d->B.q[i], sizeof(d->B.q[i])};
			d->B.in[i].msg_hdr = (struct msghdr){.msg_name = &d->B.peer[i],
							     .msg_namelen = sizeof(d->B.peer[i]),
							     .msg_iov = &d->B.iin[i],
							     .msg_iovlen = 1};
		}
		n = recvmmsg(l->udp, d->B.in, UDP_BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			return;
		d->batch_fd = l->udp;
		for (int i = 0; i < n; i++) {
			struct dest to = {
			    .l = l, .peer = &d->B.peer[i], .plen = d->B.in[i].msg_hdr.msg_namelen};

			if (!(d->B.in[i].msg_hdr.msg_flags & MSG_TRUNC))
				dn_handle_query(d, l, &to, d->B.q[i], d->B.in[i].msg_len);
		}
		udp_flush(d);
		if (n < UDP_BATCH)
			return;
	}
}
