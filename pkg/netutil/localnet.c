// SPDX-License-Identifier: Apache-2.0
/*
 * route_localnet of the interface the host routes an address through: looked up with one
 * RTM_GETROUTE and one RTM_GETLINK (libmnl, hand-built: libnl has no IFLA_INET_CONF accessor for
 * a single link), written through /proc/sys only when it is off (portmap's hostIP 127.0.0.1).
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <linux/ip.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>

#include <libmnl/libmnl.h>

#include "netutil/internal.h"

static int route_oif_cb(const struct nlmsghdr *nlh, void *arg)
{
	struct nlattr *a;

	if (nlh->nlmsg_type != RTM_NEWROUTE)
		return MNL_CB_OK;
	mnl_attr_for_each(a, nlh, sizeof(struct rtmsg)) {
		if (mnl_attr_get_type(a) == RTA_OIF && mnl_attr_validate(a, MNL_TYPE_U32) == 0)
			*(int *)arg = (int)mnl_attr_get_u32(a);
	}
	return MNL_CB_OK;
}

/* IPV4_DEVCONF_ROUTE_LOCALNET out of a link's IFLA_AF_SPEC / AF_INET / IFLA_INET_CONF. */
static int localnet_cb(const struct nlmsghdr *nlh, void *arg)
{
	struct nlattr *a, *b, *c;

	if (nlh->nlmsg_type != RTM_NEWLINK)
		return MNL_CB_OK;
	mnl_attr_for_each(a, nlh, sizeof(struct ifinfomsg)) {
		if (mnl_attr_get_type(a) != IFLA_AF_SPEC)
			continue;
		mnl_attr_for_each_nested(b, a) {
			if (mnl_attr_get_type(b) != AF_INET)
				continue;
			mnl_attr_for_each_nested(c, b) {
				const uint32_t *v = mnl_attr_get_payload(c);

				if (mnl_attr_get_type(c) == IFLA_INET_CONF &&
				    mnl_attr_get_payload_len(c) >= IPV4_DEVCONF_ROUTE_LOCALNET * 4)
					*(int *)arg = (int)v[IPV4_DEVCONF_ROUTE_LOCALNET - 1];
			}
		}
	}
	return MNL_CB_OK;
}

/*
 * route_localnet of link @oif read with one RTM_GETLINK (no /proc/sys lookup, see netconf.c for
 * what those cost with many containers): 0 / 1, or -1 when the kernel does not say. Setting it
 * over rtnetlink would be possible (IFLA_INET_CONF) but a SETLINK with IFLA_AF_SPEC also sends
 * NETDEV_CHANGE (a route cache flush, MLD reports, an RTM_NEWLINK to every listener), which the
 * sysctl write does not: it stays the writer, once per bridge.
 */
static int route_localnet_get(struct mnl_socket *nl, uint32_t portid, uint32_t seq, int oif)
{
	char buf[16384] __attribute__((aligned(NLMSG_ALIGNTO)));
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifinfomsg *ifi;
	ssize_t len;
	int v = -1;

	nlh->nlmsg_type = RTM_GETLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	nlh->nlmsg_seq = seq;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = oif;
	mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -1;
	len = mnl_socket_recvfrom(nl, buf, sizeof(buf));
	if (len < 0 || mnl_cb_run(buf, (size_t)len, seq, portid, localnet_cb, &v) < 0)
		return -1;
	return v;
}

int nu_route_localnet_enable(const struct cni_ip *ip, struct cni_err *e)
{
	char buf[8192] __attribute__((aligned(NLMSG_ALIGNTO)));
	char name[IF_NAMESIZE], key[64];
	struct mnl_socket *nl;
	struct nlmsghdr *nlh;
	struct rtmsg *rtm;
	uint32_t seq = 1, portid;
	int oif = 0, ret;

	nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!nl)
		return cni_fail(e, -errno, 0, "opening rtnetlink socket: %s", strerror(errno));
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		ret = -errno;
		mnl_socket_close(nl);
		return cni_fail(e, ret, 0, "binding rtnetlink socket: %s", strerror(-ret));
	}
	portid = mnl_socket_get_portid(nl);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETROUTE;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	nlh->nlmsg_seq = seq;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = ip->family;
	rtm->rtm_dst_len = (unsigned char)cni_ip_bits(ip);
	mnl_attr_put(nlh, RTA_DST, cni_ip_len(ip), ip->a);
	ret = mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0 ? -errno : 0;
	if (ret == 0) {
		int len = (int)mnl_socket_recvfrom(nl, buf, sizeof(buf));

		ret = len < 0 ? -errno : mnl_cb_run(buf, (size_t)len, seq, portid, route_oif_cb, &oif);
		if (ret < 0 && len >= 0)
			ret = -errno;
	}
	if (ret >= 0 && oif && route_localnet_get(nl, portid, ++seq, oif) == 1) {
		mnl_socket_close(nl);
		return 0; /* already on: the common case, every ADD after the first on a bridge */
	}
	mnl_socket_close(nl);
	/* unreachable: nothing to enable, as the reference (it logs nothing either) */
	if (ret == -ENETUNREACH || ret == -EHOSTUNREACH || (ret == 0 && !oif))
		return 0;
	if (ret < 0)
		return cni_fail(e, ret, 0, "looking up the route to the container: %s",
				strerror(-ret));
	if (!if_indextoname((unsigned int)oif, name))
		return 0;
	snprintf(key, sizeof(key), "net/ipv4/conf/%s/route_localnet", name);
	ret = nu_sysctl_set(-1, key, "1", e);
	if (ret < 0)
		return cni_wrap(e, ret, "unable to enable route_localnet");
	return 0;
}
