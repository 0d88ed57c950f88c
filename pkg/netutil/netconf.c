// SPDX-License-Identifier: Apache-2.0
/*
 * Forwarding, read over rtnetlink. RTM_GETNETCONF for NETCONFA_IFINDEX_ALL answers what
 * net.ipv4.ip_forward (the same value as conf/all/forwarding) and net.ipv6.conf.all.forwarding
 * hold, without a /proc/sys lookup. Such a lookup runs in ref-walk mode (__d_lookup under perf:
 * sysctl dentries refuse RCU walk), and its "net" component is compared, a lock pair each, with
 * the "net" directory of every netns whose sysctls were ever opened (one dentry per netns, one
 * hash chain, the oldest last): every sysctl open in the host costs O(containers), 0.1-0.2 ms
 * with a few hundred. A write still goes through /proc/sys, once per host.
 */
#include <errno.h>
#include <linux/netconf.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include "netutil/internal.h"

struct netconf_fwd {
	int32_t fwd;
	bool found;
};

static int netconf_parse(struct nlmsghdr *nlh, void *arg)
{
	struct nlattr *tb[NETCONFA_MAX + 1];
	struct netconf_fwd *nf = arg;
	struct nlattr *a;

	if (nlh->nlmsg_type != RTM_NEWNETCONF ||
	    nlmsg_parse(nlh, sizeof(struct netconfmsg), tb, NETCONFA_MAX, NULL) < 0)
		return 0;
	a = nu__attr(tb, NETCONFA_IFINDEX, sizeof(int32_t));
	if (!a || nla_get_s32(a) != NETCONFA_IFINDEX_ALL)
		return 0;
	a = nu__attr(tb, NETCONFA_FORWARDING, sizeof(int32_t));
	if (a) {
		nf->fwd = nla_get_s32(a);
		nf->found = true;
	}
	return 0;
}

/* The "all" forwarding of @family: 0 / 1, or -errno when the kernel does not say. */
static int netconf_forwarding(struct nu_nl *nl, int family)
{
	struct netconfmsg ncm = {.ncm_family = (uint8_t)family};
	struct netconf_fwd nf = {0};
	_msg_cleanup_ struct nl_msg *msg = nlmsg_alloc_simple(RTM_GETNETCONF, 0);
	int r;

	if (!msg || nlmsg_append(msg, &ncm, sizeof(ncm), NLMSG_ALIGNTO) < 0 ||
	    nla_put_s32(msg, NETCONFA_IFINDEX, NETCONFA_IFINDEX_ALL) < 0)
		return -ENOMEM;
	r = nu__dump(nl, msg, netconf_parse, NULL, &nf);
	if (r == 0) /* the ack behind the answer, whatever the answer held */
		r = nu__result(nl, nl_wait_for_ack(nl->sk));
	if (r < 0)
		return r;
	return nf.found ? nf.fwd != 0 : -ENODATA;
}

int nu_ip_forward_enable(struct nu_nl *nl, int family, struct cni_err *e)
{
	int r;

	if (family == AF_INET || family == AF_UNSPEC) {
		if (!nl || netconf_forwarding(nl, AF_INET) != 1) {
			r = nu_sysctl_ensure(-1, "net/ipv4/ip_forward", "1", e);
			if (r < 0)
				return r;
		}
	}
	if (family == AF_INET6 || family == AF_UNSPEC) {
		if (!nl || netconf_forwarding(nl, AF_INET6) != 1) {
			r = nu_sysctl_ensure(-1, "net/ipv6/conf/all/forwarding", "1", e);
			/* a kernel without IPv6 has nothing to forward */
			if (r == -ENOENT && family == AF_UNSPEC && e)
				cni_err_clear(e);
			else if (r < 0)
				return r;
		}
	}
	return 0;
}
