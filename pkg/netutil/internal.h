/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Private to pkg/netutil: the socket record and the request helpers every object file uses. A
 * request is an nl_msg built by the caller; nu__talk() sends it, waits for the ack and returns the
 * kernel's exact errno (recorded from the nlmsgerr, with its extended-ack text) rather than libnl's
 * lossy NLE_* translation. No kernel objects are created here.
 */
#ifndef NETUTIL_INTERNAL_H
#define NETUTIL_INTERNAL_H

#include <netlink/msg.h>
#include <netlink/netlink.h>

#include "netutil/netutil.h"

struct nu_nl {
	struct nl_sock *sk;
	int kerr;	  /* errno of the last NLMSG_ERROR, negative; 0 if none */
	char extack[256]; /* NLMSGERR_ATTR_MSG of that error, "" if none */
	bool strict;	  /* NETLINK_GET_STRICT_CHK accepted: kernel filters dumps */
};

/* Reset the recorded kernel error before a request. */
static inline void nu__reset(struct nu_nl *nl)
{
	nl->kerr = 0;
	nl->extack[0] = '\0';
}

/* Turn a libnl return value into 0 / -errno, preferring the errno the kernel sent. */
int nu__result(struct nu_nl *nl, int nlret);

/* Send @msg (freed here), wait for the ack. 0 or -errno. */
int nu__talk(struct nu_nl *nl, struct nl_msg *msg);

/*
 * Send the dump request @msg (not freed) and call @fn for every answer; a dump interrupted by a
 * concurrent change (NLM_F_DUMP_INTR) is restarted from scratch after @reset is called, at most a
 * few times. @fn returns 0 or -errno (the first error is returned once the dump is drained).
 */
int nu__dump(struct nu_nl *nl, struct nl_msg *msg, int (*fn)(struct nlmsghdr *nlh, void *arg),
	     void (*reset)(void *arg), void *arg);

/*
 * Record "<what>: <strerror>" plus " (<extack>)" when the kernel sent one, in @e (may be NULL).
 * Returns @err.
 */
int nu__fail(struct nu_nl *nl, struct cni_err *e, int err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Same for errors that did not come from netlink (no extack). @e may be NULL. */
int nu__failx(struct cni_err *e, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * A link's name for an error message: "\"eth0\"", or "#7" when it cannot be found. Costs one
 * RTM_GETLINK, so only for failure paths; keeps the recorded kernel error and extack.
 */
struct nu__label {
	char s[NU_IFNAMSIZ + 16];
};
struct nu__label nu__link_label(struct nu_nl *nl, int ifindex);
#define LINK(nl, ifindex) (nu__link_label((nl), (ifindex)).s)

/*
 * Send @chg (a libnl link object, may be NULL after a failed allocation: -ENOMEM) as a change of
 * link @ifindex: RTM_NEWLINK without NLM_F_CREATE. Consumes @chg. 0 or -errno, the kernel's
 * error and extack recorded in @nl.
 */
struct rtnl_link;
int nu__link_change(struct nu_nl *nl, int ifindex, struct rtnl_link *chg);

/* A payload attribute of at least @len bytes, or NULL. */
static inline struct nlattr *nu__attr(struct nlattr **tb, int type, int len)
{
	return tb[type] && nla_len(tb[type]) >= len ? tb[type] : NULL;
}

#endif
