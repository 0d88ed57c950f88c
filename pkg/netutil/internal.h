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

/*
 * Make the socket usable again after an exchange failed on our side (answers may be left
 * unread): a fresh socket in the same netns, or at worst an emptied one. nu__result() calls it
 * for every failure that is not the kernel's own error answer.
 */
void nu__resync(struct nu_nl *nl);

/* RTM_GETLINK by @ifindex or @name: the link (put it with rtnl_link_put) after its ack; -errno. */
struct rtnl_link;
int nu__link_kernel(struct nu_nl *nl, int ifindex, const char *name, struct rtnl_link **out);

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
/*
 * Close a NETLINK_NETFILTER socket (nftables or conntrack) without waiting for the kernel's
 * deferred destruction of committed transactions: parked until exit, then released by a kernel
 * worker (nfnl.c).
 */
struct mnl_socket;
void nu__nfnl_close(struct mnl_socket *nl);

struct rtnl_link;
int nu__link_change(struct nu_nl *nl, int ifindex, struct rtnl_link *chg);

/* An nl_msg freed when it goes out of scope (set it to NULL once it is handed on). */
static inline void nu__msg_free(struct nl_msg **m)
{
	if (*m)
		nlmsg_free(*m);
}
#define _msg_cleanup_ __attribute__((cleanup(nu__msg_free)))

/*
 * An exclusive RTM_NEWLINK (NLM_F_CREATE | NLM_F_EXCL) of a link created by hand (macvlan,
 * ipvlan, vlan, dummy, vrf): libnl lacks attributes these need (IFLA_IPVLAN_FLAGS, say), and
 * IFLA_NET_NS_FD makes the link born in the container netns.
 */
struct nu__newlink {
	struct nl_msg *msg;
	struct nlattr *li, *data;
	const char *kind, *name;
	int master;
	int err;   /* of nu__newlink_start(), returned by nu__newlink_send() */
	bool full; /* an attribute did not fit */
};

/*
 * nu__newlink_start() - begin the request for a link of @kind as @s says (nu_link_spec). A
 * failure, -EINVAL (a bad name), -ENOMEM or -EMSGSIZE with "creating <kind> ..." in @e, is kept
 * in @m->err for nu__newlink_send() and returned.
 */
int nu__newlink_start(struct nu__newlink *m, const char *kind, const struct nu_link_spec *s,
		      struct cni_err *e);

/*
 * nu__newlink_put() - a kind attribute (IFLA_INFO_DATA, opened by the first one) of @len bytes;
 * one that does not fit makes nu__newlink_send() fail. _u16/_u32: the usual sizes.
 */
void nu__newlink_put(struct nu__newlink *m, int type, const void *data, int len);
static inline void nu__newlink_u16(struct nu__newlink *m, int type, uint16_t v)
{
	nu__newlink_put(m, type, &v, sizeof(v));
}
static inline void nu__newlink_u32(struct nu__newlink *m, int type, uint32_t v)
{
	nu__newlink_put(m, type, &v, sizeof(v));
}

/*
 * nu__newlink_send() - close the nests and send; @m's message is freed either way. A failed
 * nu__newlink_start() is its error; an attribute that did not fit is -EMSGSIZE without sending.
 * A kernel error is recorded as "creating <kind> \"<name>\"[ <detail>][ on link <master>]"
 * (@detail may be NULL). Returns 0 or -errno.
 */
int nu__newlink_send(struct nu_nl *nl, struct nu__newlink *m, const char *detail,
		     struct cni_err *e);

/*
 * nu__getlink() - one RTM_GETLINK of link @name whose answer goes to @fn (as nu__dump()), which
 * sets *@found when it took the link's answer. Returns 0, -ENODEV when there is no such link, or
 * -errno, with "looking up link ..." in @e.
 */
int nu__getlink(struct nu_nl *nl, const char *name, int (*fn)(struct nlmsghdr *nlh, void *arg),
		void *arg, const bool *found, struct cni_err *e);

/*
 * nu__link_data_get() - one RTM_GETLINK of link @name; when its IFLA_INFO_KIND is @kind, @fn is
 * called with its IFLA_INFO_DATA parsed up to @maxtype (< 32; every entry NULL when it has
 * none). Returns 0, -ENODEV when the link is absent, -EMEDIUMTYPE ("link \"<name>\" is not
 * <a_kind>") when it is of another kind, or -errno, with @e filled.
 */
int nu__link_data_get(struct nu_nl *nl, const char *name, const char *kind, const char *a_kind,
		      int maxtype, void (*fn)(struct nlattr **d, void *arg), void *arg,
		      struct cni_err *e);

/*
 * nu__push() - appends one element of @elem bytes to the growing array whose pointer is at
 * @vecp (a `T **`), holding *@n of *@cap; the capacity doubles, from @first. Returns the new
 * element (*@n counts it), or NULL when out of memory (the array as it was). The dumps'
 * collector. The element is not zeroed: the caller's memset of a constant size is inlined, one
 * of a variable size here would be a call (and a larger binary).
 */
void *nu__push(void *vecp, size_t *n, size_t *cap, size_t elem, size_t first);

/* A payload attribute of at least @len bytes, or NULL. */
static inline struct nlattr *nu__attr(struct nlattr **tb, int type, int len)
{
	return tb[type] && nla_len(tb[type]) >= len ? tb[type] : NULL;
}

#endif
