// SPDX-License-Identifier: Apache-2.0
/*
 * Netlink sockets bound to a netns and the request/ack/dump plumbing on top of libnl. A socket is
 * created inside the target netns (setns, socket, setns back) and stays there, so the caller keeps
 * running in its own netns. The socket's error callback records the kernel's errno and
 * extended-ack message of every NLMSG_ERROR, because libnl 3.7 neither exposes extack nor keeps
 * the errno (it folds ENOENT and ESRCH into one NLE_OBJ_NOTFOUND, for instance). Creates no kernel
 * objects.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/netlink.h>
#include <linux/sockios.h>
#include <netlink/errno.h>
#include <netlink/handlers.h>
#include <netlink/socket.h>

#include "netutil/internal.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

int nu_errno_from_nl(int nle)
{
	static const int map[NLE_MAX + 1] = {
	    [NLE_SUCCESS] = 0,
	    [NLE_FAILURE] = EIO,
	    [NLE_INTR] = EINTR,
	    [NLE_BAD_SOCK] = EBADF,
	    [NLE_AGAIN] = EAGAIN,
	    [NLE_NOMEM] = ENOMEM,
	    [NLE_EXIST] = EEXIST,
	    [NLE_INVAL] = EINVAL,
	    [NLE_RANGE] = ERANGE,
	    [NLE_MSGSIZE] = EMSGSIZE,
	    [NLE_OPNOTSUPP] = EOPNOTSUPP,
	    [NLE_AF_NOSUPPORT] = EAFNOSUPPORT,
	    [NLE_OBJ_NOTFOUND] = ENOENT,
	    [NLE_NOATTR] = ENODATA,
	    [NLE_MISSING_ATTR] = EINVAL,
	    [NLE_AF_MISMATCH] = EAFNOSUPPORT,
	    [NLE_SEQ_MISMATCH] = EPROTO,
	    [NLE_MSG_OVERFLOW] = EOVERFLOW,
	    [NLE_MSG_TRUNC] = EMSGSIZE,
	    [NLE_NOADDR] = EADDRNOTAVAIL,
	    [NLE_SRCRT_NOSUPPORT] = EOPNOTSUPP,
	    [NLE_MSG_TOOSHORT] = EBADMSG,
	    [NLE_MSGTYPE_NOSUPPORT] = EOPNOTSUPP,
	    [NLE_OBJ_MISMATCH] = EINVAL,
	    [NLE_NOCACHE] = ENOENT,
	    [NLE_BUSY] = EBUSY,
	    [NLE_PROTO_MISMATCH] = EPROTONOSUPPORT,
	    [NLE_NOACCESS] = EACCES,
	    [NLE_PERM] = EPERM,
	    [NLE_PKTLOC_FILE] = ENOENT,
	    [NLE_PARSE_ERR] = EINVAL,
	    [NLE_NODEV] = ENODEV,
	    [NLE_IMMUTABLE] = EROFS,
	    [NLE_DUMP_INTR] = EINTR,
	    [NLE_ATTRSIZE] = EMSGSIZE,
	};
	int i = nle < 0 ? -nle : nle;

	if (i > NLE_MAX)
		return -EIO;
	return -map[i];
}

/*
 * Called by libnl for every NLMSG_ERROR with a non-zero error. The nlmsgerr sits right after its
 * nlmsghdr in the receive buffer; with NLM_F_ACK_TLVS the extended-ack attributes follow the
 * echoed request (only its header when NLM_F_CAPPED, which NETLINK_CAP_ACK asks for).
 */
static int err_cb(struct sockaddr_nl *who, struct nlmsgerr *err, void *arg)
{
	struct nlmsghdr *nlh = (struct nlmsghdr *)((char *)err - NLMSG_HDRLEN);
	struct nlattr *tb[NLMSGERR_ATTR_MAX + 1];
	struct nu_nl *nl = arg;
	size_t off, end;

	(void)who;
	nl->kerr = err->error < 0 ? err->error : -err->error;
	nl->extack[0] = '\0';
	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return NL_STOP;
	off = NLMSG_HDRLEN + sizeof(*err);
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		off += err->msg.nlmsg_len - NLMSG_HDRLEN;
	off = NLMSG_ALIGN(off);
	end = nlh->nlmsg_len;
	if (off >= end)
		return NL_STOP;
	if (nla_parse(tb, NLMSGERR_ATTR_MAX, (struct nlattr *)((char *)nlh + off), (int)(end - off),
		      NULL) < 0)
		return NL_STOP;
	/* bounded by the attribute's length: no trust in the kernel's NUL */
	if (tb[NLMSGERR_ATTR_MSG] && nla_len(tb[NLMSGERR_ATTR_MSG]) > 0)
		snprintf(nl->extack, sizeof(nl->extack), "%.*s", nla_len(tb[NLMSGERR_ATTR_MSG]),
			 (const char *)nla_data(tb[NLMSGERR_ATTR_MSG]));
	return NL_STOP;
}

static int sock_new(struct nu_nl *nl, int netns_fd, struct cni_err *e);

/*
 * After an exchange that failed on our side (a receive that failed with ENOBUFS or ENOMEM, a
 * reply cut short, an answer that made no sense) the socket may still hold answers nobody read,
 * and libnl takes whatever comes first as the answer to the next request: a link lookup then
 * gets the previous request's ack and no link. Replace the socket by a fresh one in the same
 * netns (SIOCGSKNS names it); failing that, drop whatever is queued: libnl's sequence check
 * then refuses the answers of later requests rather than mismatching them.
 */
void nu__resync(struct nu_nl *nl)
{
	struct nl_sock *old = nl->sk;
	int fd = nl_socket_get_fd(old), ns, r = -1;
	char buf[512];

	ns = ioctl(fd, SIOCGSKNS);
	if (ns >= 0) {
		r = sock_new(nl, ns, NULL);
		close(ns);
	}
	if (r == 0) {
		nl_socket_free(old);
		return;
	}
	while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC) >= 0 || errno == EINTR)
		;
}

int nu__result(struct nu_nl *nl, int nlret)
{
	if (nlret >= 0)
		return 0;
	if (nl->kerr)
		return nl->kerr;
	nu__resync(nl);
	return nu_errno_from_nl(nlret);
}

int nu__talk(struct nu_nl *nl, struct nl_msg *msg)
{
	nu__reset(nl);
	/* nl_send_sync() frees the message and waits for the ack through the socket's callbacks */
	return nu__result(nl, nl_send_sync(nl->sk, msg));
}

struct dump_ctx {
	int (*fn)(struct nlmsghdr *nlh, void *arg);
	void *arg;
	int err;
};

static int dump_valid(struct nl_msg *msg, void *arg)
{
	struct dump_ctx *ctx = arg;
	int r;

	/* keep draining after a failure: a stopped dump would leave answers in the socket */
	if (ctx->err)
		return NL_SKIP;
	r = ctx->fn(nlmsg_hdr(msg), ctx->arg);
	if (r < 0)
		ctx->err = r;
	return NL_OK;
}

int nu__dump(struct nu_nl *nl, struct nl_msg *msg, int (*fn)(struct nlmsghdr *nlh, void *arg),
	     void (*reset)(void *arg), void *arg)
{
	struct dump_ctx ctx = {.fn = fn, .arg = arg};
	struct nl_cb *s_cb, *cb;
	int r = -NLE_DUMP_INTR;

	/* a private copy of the socket's callbacks (with err_cb) plus our VALID handler */
	s_cb = nl_socket_get_cb(nl->sk);
	cb = nl_cb_clone(s_cb);
	nl_cb_put(s_cb);
	if (!cb)
		return -ENOMEM;
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, dump_valid, &ctx);
	for (int attempt = 0; attempt < 5 && r == -NLE_DUMP_INTR; attempt++) {
		if (attempt && reset)
			reset(arg);
		ctx.err = 0;
		nu__reset(nl);
		nlmsg_hdr(msg)->nlmsg_seq = 0; /* a fresh sequence number for every attempt */
		r = nl_send_auto(nl->sk, msg);
		if (r >= 0)
			r = nl_recvmsgs(nl->sk, cb);
	}
	nl_cb_put(cb);
	if (r < 0)
		return nu__result(nl, r);
	return ctx.err;
}

/* A connected rtnetlink socket in the netns of @netns_fd (-1: ours) as @nl->sk. */
static int sock_new(struct nu_nl *nl, int netns_fd, struct cni_err *e)
{
	struct nl_sock *sk;
	int orig = -1, one = 1, r, fd, flags;

	sk = nl_socket_alloc();
	if (!sk)
		return nu__failx(e, -ENOMEM, "allocating netlink socket");
	if (netns_fd >= 0) {
		r = nu_netns_enter(netns_fd, &orig, e);
		if (r < 0) {
			nl_socket_free(sk);
			return r;
		}
	}
	r = nl_connect(sk, NETLINK_ROUTE);
	if (netns_fd >= 0)
		nu_netns_leave(orig);
	if (r < 0) {
		nl_socket_free(sk);
		return nu__failx(e, nu_errno_from_nl(r), "opening rtnetlink socket");
	}
	fd = nl_socket_get_fd(sk);
	/* libnl 3.7 passes SOCK_CLOEXEC (checked with strace); releases before 3.2.24 did not */
	flags = fcntl(fd, F_GETFD);
	if (flags >= 0 && !(flags & FD_CLOEXEC))
		fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
	/* extended acks since Linux 4.12, capped acks 4.3, strict dump checks 4.20; all optional */
	setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	nl->strict = !setsockopt(fd, SOL_NETLINK, NETLINK_GET_STRICT_CHK, &one, sizeof(one));
	nl_socket_enable_msg_peek(sk);
	nl_socket_modify_err_cb(sk, NL_CB_CUSTOM, err_cb, nl);
	nl->sk = sk;
	return 0;
}

int nu_nl_open(struct nu_nl **out, int netns_fd, struct cni_err *e)
{
	struct nu_nl *nl;
	int r;

	*out = NULL;
	nl = calloc(1, sizeof(*nl));
	if (!nl)
		return nu__failx(e, -ENOMEM, "allocating netlink socket");
	r = sock_new(nl, netns_fd, e);
	if (r < 0) {
		free(nl);
		return r;
	}
	*out = nl;
	return 0;
}

int nu_nl_open_netns(const char *path, int *netns_fd, struct nu_nl **nl, struct cni_err *e)
{
	int r = nu_netns_open(path, netns_fd, e);

	if (r < 0)
		return cni_wrap(e, r, "failed to open netns \"%s\"", path);
	return nu_nl_open(nl, *netns_fd, e);
}

void nu_nl_close(struct nu_nl *nl)
{
	if (!nl)
		return;
	nl_socket_free(nl->sk);
	free(nl);
}
