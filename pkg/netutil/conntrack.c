// SPDX-License-Identifier: Apache-2.0
/*
 * ctnetlink, the few messages a host-port mapper needs: a dump of one family's conntrack table (filtered by
 * the kernel on protocol and original destination port when it supports CTA_FILTER, Linux 5.8,
 * and always filtered again here), then one IPCTNL_MSG_CT_DELETE per matching entry carrying its
 * original tuple and zone, sent as one burst with every ack read back. Creates nothing; an entry
 * that expired between dump and delete (ENOENT) is not an error.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>

#include "netutil/conntrack.h"
#include "netutil/internal.h"

/* The kernel's CTA_FILTER flag bits (nf_conntrack_netlink.c), not in the uapi headers. */
#define CT_FILTER_PROTO_NUM (1u << 3)
#define CT_FILTER_PROTO_DST_PORT (1u << 5)
#define CT_RECV 32768

struct ct_sock {
	struct mnl_socket *nl;
	uint32_t portid, seq;
};

/* The deletions to send: each a complete message, back to back. */
struct ct_batch {
	char *buf;
	size_t len, cap, n;
	uint32_t seq0;
};

struct ct_dump {
	uint8_t proto;
	uint16_t port; /* network order */
	int af;
	struct ct_sock *s;
	struct ct_batch *b;
	int err;
};

static struct nlmsghdr *ct_header(char *buf, uint16_t type, uint16_t flags, int af, uint32_t seq)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct nfgenmsg *nfg;

	nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nlh->nlmsg_seq = seq;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = (uint8_t)af;
	nfg->version = NFNETLINK_V0;
	nfg->res_id = 0;
	return nlh;
}

static const struct nlattr *nested(const struct nlattr *nest, uint16_t type)
{
	const struct nlattr *a;

	mnl_attr_for_each_nested(a, nest) {
		if (mnl_attr_get_type(a) == type)
			return a;
	}
	return NULL;
}

/* Queue a delete of the entry whose original tuple is @orig (and zone @zone, may be NULL). */
static int ct_queue_del(struct ct_dump *d, const struct nlattr *orig, const struct nlattr *zone)
{
	struct ct_batch *b = d->b;
	struct nlmsghdr *nlh;
	size_t need = 256 + orig->nla_len + (zone ? zone->nla_len : 0);

	if (b->cap - b->len < need) {
		size_t cap = b->cap ? b->cap * 2 : 16384;
		char *p;

		while (cap - b->len < need)
			cap *= 2;
		p = realloc(b->buf, cap);
		if (!p)
			return -ENOMEM;
		b->buf = p;
		b->cap = cap;
	}
	if (!b->n)
		b->seq0 = d->s->seq + 1;
	nlh = ct_header(b->buf + b->len, IPCTNL_MSG_CT_DELETE, NLM_F_ACK, d->af, ++d->s->seq);
	/* the tuple attribute as the kernel gave it, nested flag included */
	memcpy((char *)nlh + nlh->nlmsg_len, orig, orig->nla_len);
	nlh->nlmsg_len += MNL_ALIGN(orig->nla_len);
	if (zone) {
		memcpy((char *)nlh + nlh->nlmsg_len, zone, zone->nla_len);
		nlh->nlmsg_len += MNL_ALIGN(zone->nla_len);
	}
	b->len += MNL_ALIGN(nlh->nlmsg_len);
	b->n++;
	return 0;
}

static int ct_entry_cb(const struct nlmsghdr *nlh, void *arg)
{
	struct ct_dump *d = arg;
	const struct nlattr *a, *orig = NULL, *zone = NULL, *proto, *num, *dport;

	mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg)) {
		if (mnl_attr_get_type(a) == CTA_TUPLE_ORIG)
			orig = a;
		else if (mnl_attr_get_type(a) == CTA_ZONE)
			zone = a;
	}
	if (!orig || !(proto = nested(orig, CTA_TUPLE_PROTO)))
		return MNL_CB_OK;
	num = nested(proto, CTA_PROTO_NUM);
	dport = nested(proto, CTA_PROTO_DST_PORT);
	if (!num || !dport || mnl_attr_get_payload_len(num) < 1 ||
	    mnl_attr_get_payload_len(dport) < 2 || mnl_attr_get_u8(num) != d->proto ||
	    mnl_attr_get_u16(dport) != d->port)
		return MNL_CB_OK;
	if (!d->err)
		d->err = ct_queue_del(d, orig, zone);
	return MNL_CB_OK;
}

/* Dump, optionally with the kernel-side filter. 0 or -errno. */
static int ct_dump(struct ct_dump *d, bool filter)
{
	char buf[CT_RECV] __attribute__((aligned(NLMSG_ALIGNTO)));
	uint32_t seq = ++d->s->seq;
	struct nlmsghdr *nlh = ct_header(buf, IPCTNL_MSG_CT_GET, NLM_F_DUMP, d->af, seq);
	int ret;

	if (filter) {
		struct nlattr *f, *t, *p;

		t = mnl_attr_nest_start(nlh, CTA_TUPLE_ORIG);
		p = mnl_attr_nest_start(nlh, CTA_TUPLE_PROTO);
		mnl_attr_put_u8(nlh, CTA_PROTO_NUM, d->proto);
		mnl_attr_put_u16(nlh, CTA_PROTO_DST_PORT, d->port);
		mnl_attr_nest_end(nlh, p);
		mnl_attr_nest_end(nlh, t);
		f = mnl_attr_nest_start(nlh, CTA_FILTER);
		mnl_attr_put_u32(nlh, CTA_FILTER_ORIG_FLAGS,
				 CT_FILTER_PROTO_NUM | CT_FILTER_PROTO_DST_PORT);
		mnl_attr_put_u32(nlh, CTA_FILTER_REPLY_FLAGS, 0);
		mnl_attr_nest_end(nlh, f);
	}
	if (mnl_socket_sendto(d->s->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	do {
		int len = (int)mnl_socket_recvfrom(d->s->nl, buf, sizeof(buf));

		if (len < 0)
			return -errno;
		ret = mnl_cb_run(buf, (size_t)len, seq, d->s->portid, ct_entry_cb, d);
	} while (ret > 0);
	if (ret < 0)
		return -errno;
	return d->err;
}

/* Send the deletions, read every ack: the number deleted, or the first real error. */
static int ct_send(struct ct_sock *s, struct ct_batch *b)
{
	char buf[CT_RECV] __attribute__((aligned(NLMSG_ALIGNTO)));
	size_t acks = 0, off = 0;
	int deleted = 0, ret = 0;

	/* in slices, so the acks of one slice always fit the receive buffer */
	while (off < b->len) {
		size_t end = off, n = 0;

		while (end < b->len && n < 64) {
			end += MNL_ALIGN(((struct nlmsghdr *)(b->buf + end))->nlmsg_len);
			n++;
		}
		if (mnl_socket_sendto(s->nl, b->buf + off, end - off) < 0)
			return -errno;
		for (size_t got = 0; got < n;) {
			int len = (int)mnl_socket_recvfrom(s->nl, buf, sizeof(buf));
			const struct nlmsghdr *nlh;

			if (len < 0)
				return -errno;
			for (nlh = (const struct nlmsghdr *)buf; mnl_nlmsg_ok(nlh, len);
			     nlh = mnl_nlmsg_next(nlh, &len)) {
				const struct nlmsgerr *err = mnl_nlmsg_get_payload(nlh);

				if (nlh->nlmsg_type != NLMSG_ERROR || nlh->nlmsg_pid != s->portid)
					continue;
				got++;
				acks++;
				if (!err->error)
					deleted++;
				else if (err->error != -ENOENT && !ret)
					ret = err->error;
			}
		}
		off = end;
	}
	(void)acks;
	return ret < 0 ? ret : deleted;
}

int nu_conntrack_del_dport(int af, uint8_t proto, uint16_t port, struct cni_err *e)
{
	struct ct_sock s = { 0 };
	struct ct_batch b = { 0 };
	struct ct_dump d = { .proto = proto, .port = htons(port), .af = af, .s = &s, .b = &b };
	int ret;

	s.nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	if (!s.nl)
		return cni_fail(e, -errno, 0, "opening ctnetlink socket: %s", strerror(errno));
	if (mnl_socket_bind(s.nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		ret = -errno;
		goto out;
	}
	s.portid = mnl_socket_get_portid(s.nl);
	s.seq = (uint32_t)time(NULL);
	ret = ct_dump(&d, true);
	if (ret == -EINVAL || ret == -EOPNOTSUPP) {
		/* a kernel without CTA_FILTER: the whole table, filtered here */
		b.len = b.n = 0;
		d.err = 0;
		ret = ct_dump(&d, false);
	}
	if (ret == 0 && b.n)
		ret = ct_send(&s, &b);
out:
	nu__nfnl_close(s.nl);
	free(b.buf);
	/* no conntrack in this kernel: nothing to flush */
	if (ret == -EPROTONOSUPPORT || ret == -ENOENT)
		return 0;
	if (ret < 0)
		return cni_fail(e, ret, 0, "deleting conntrack entries of %s port %u: %s",
				proto == 17 ? "udp" : "l4", port, strerror(-ret));
	return ret;
}
